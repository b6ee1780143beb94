// Placeholder: the command is registered so the CLI lists it; its issue replaces this file.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/context.h"

namespace ferry::cli {

void RegisterPush(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("push", "(not implemented yet)");
  sub->allow_extras();
  sub->callback([&ctx] {
    ctx.exit_code = ReportError(ctx, Status::Usage("'push' is not implemented yet"));
  });
}

}  // namespace ferry::cli
