// ferry run ENV [--step S] [--] CMD [ARG...]: fetch, then exec CMD inside the environment with
// PATH, CONDA_PREFIX and activation variables set (store/materialize/activate.h). The exit
// status is CMD's own, because ferry replaces itself with CMD (execvp).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/fetch_env.h"
#include "store/materialize/activate.h"

extern char** environ;

namespace ferry::cli {

void RegisterRun(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "run", "Fetch an environment, then run CMD inside it (exit status is CMD's)");
  auto opts = std::make_shared<FetchOptions>();
  sub->add_option("ENV", opts->env, "Lock file path, env-id (or prefix), or NAME[:TAG]")
      ->required();
  sub->add_option("--step", opts->step, "Step (or environment name / id) of a lock file");
  sub->add_option("--platform", opts->platform, "Platform to select in a lock file");
  sub->add_option("--prefix", opts->prefix, "Materialize here instead of FERRY_HOME/envs/<env-id>");
  sub->prefix_command();  // everything after ENV (and an optional --) is the command
  sub->footer("Example: ferry run ferry.lock --step train -- python train.py");
  sub->callback([&ctx, opts, sub] {
    std::vector<std::string> cmd = sub->remaining();
    if (!cmd.empty() && cmd.front() == "--") cmd.erase(cmd.begin());
    if (cmd.empty()) {
      ctx.exit_code = ReportError(ctx, Status::Usage("run: missing CMD (ferry run ENV -- CMD ...)"));
      return;
    }
    auto prefix = FetchEnvironment(ctx, *opts);
    if (!prefix.ok()) {
      ctx.exit_code = ReportError(ctx, prefix.status());
      return;
    }
    auto env = store::ActivatedEnvironment(*prefix, store::CurrentEnvironment());
    if (!env.ok()) {
      ctx.exit_code = ReportError(ctx, env.status());
      return;
    }
    std::vector<std::string> env_strs;
    env_strs.reserve(env->size());
    for (const auto& [k, v] : *env) env_strs.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& e : env_strs) envp.push_back(e.data());
    envp.push_back(nullptr);
    for (auto& a : cmd) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    std::fflush(stderr);
    environ = envp.data();  // execvp searches the new PATH and passes this environment
    ::execvp(argv[0], argv.data());
    int err = errno;
    std::fprintf(stderr, "ferry: error: run: cannot execute '%s': %s\n", argv[0],
                 std::strerror(err));
    ctx.exit_code = err == ENOENT ? 127 : 126;  // what a shell reports
  });
}

}  // namespace ferry::cli
