// One registration function per command (one file per command: cli/cmd_<name>.cc).
// Each adds its subcommand to `app`; the callback runs the command and sets ctx.exit_code.
#pragma once

namespace CLI {
class App;
}

namespace ferry::cli {
struct Context;

void RegisterResolve(CLI::App& app, Context& ctx);
void RegisterShow(CLI::App& app, Context& ctx);
void RegisterPush(CLI::App& app, Context& ctx);
void RegisterAlias(CLI::App& app, Context& ctx);
void RegisterFetch(CLI::App& app, Context& ctx);
void RegisterRun(CLI::App& app, Context& ctx);
void RegisterCompose(CLI::App& app, Context& ctx);
void RegisterExportImport(CLI::App& app, Context& ctx);
void RegisterCache(CLI::App& app, Context& ctx);
void RegisterVerify(CLI::App& app, Context& ctx);
void RegisterSpec(CLI::App& app, Context& ctx);

}  // namespace ferry::cli
