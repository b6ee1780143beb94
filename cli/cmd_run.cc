// ferry run ENV [--step S] [--] CMD [ARG...]: fetch, then exec CMD inside the environment with
// PATH, CONDA_PREFIX and activation variables set (store/materialize/activate.h). The exit
// status is CMD's own, because ferry replaces itself with CMD (execvp).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/fetch_env.h"
#include "store/materialize/activate.h"

extern char** environ;

namespace ferry::cli {

namespace {

// The command part of `ferry [global flags] run [run options] ENV [--] CMD...`, read from
// /proc/self/cmdline so that CMD's arguments reach it exactly as typed. Empty if unavailable.
std::vector<std::string> CommandFromArgv(const std::string& env) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  if (!in) return {};
  std::vector<std::string> args;
  std::string a;
  while (std::getline(in, a, '\0')) args.push_back(a);
  size_t i = 1;
  auto is_global = [](const std::string& x) {
    return x == "--json" || x == "-v" || x == "--verbose" || x == "-q" || x == "--quiet";
  };
  while (i < args.size() && args[i] != "run") ++i;
  bool env_seen = false;
  for (size_t j = i + 1; j < args.size(); ++j) {
    const std::string& x = args[j];
    if (x == "--") return std::vector<std::string>(args.begin() + j + 1, args.end());
    if (x == "--step" || x == "--platform" || x == "--prefix") {
      ++j;
      continue;
    }
    if (x.rfind("--step=", 0) == 0 || x.rfind("--platform=", 0) == 0 ||
        x.rfind("--prefix=", 0) == 0 || is_global(x))
      continue;
    if (!env_seen && x == env) {
      env_seen = true;
      continue;
    }
    return std::vector<std::string>(args.begin() + j, args.end());
  }
  return {};
}

}  // namespace

void RegisterRun(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "run", "Fetch an environment, then run CMD inside it (exit status is CMD's)");
  auto opts = std::make_shared<FetchOptions>();
  sub->add_option("ENV", opts->env, "Lock file path, env-id (or prefix), or NAME[:TAG]")
      ->required();
  sub->add_option("--step", opts->step, "Step (or environment name / id) of a lock file");
  sub->add_option("--platform", opts->platform, "Platform to select in a lock file");
  sub->add_option("--prefix", opts->prefix, "Materialize here instead of FERRY_HOME/envs/<env-id>");
  auto cmd_args = std::make_shared<std::vector<std::string>>();
  sub->add_option("CMD", *cmd_args, "Command and its arguments (after --)");
  sub->prefix_command();  // everything after the command name is the command's, not ferry's
  sub->fallthrough(false);
  sub->footer("Example: ferry run ferry.lock --step train -- python train.py");
  sub->callback([&ctx, opts, sub, cmd_args] {
    // CLI11 may reorder a command's own options; take the command verbatim from argv.
    std::vector<std::string> cmd = CommandFromArgv(opts->env);
    if (cmd.empty()) {
      cmd = *cmd_args;
      for (const auto& r : sub->remaining()) cmd.push_back(r);
      if (!cmd.empty() && cmd.front() == "--") cmd.erase(cmd.begin());
    }
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
    char** saved = environ;
    environ = envp.data();  // execvp searches the new PATH and passes this environment
    ::execvp(argv[0], argv.data());
    int err = errno;
    environ = saved;  // envp dies with this scope
    std::fprintf(stderr, "ferry: error: run: cannot execute '%s': %s\n", argv[0],
                 std::strerror(err));
    ctx.exit_code = err == ENOENT ? 127 : 126;  // what a shell reports
  });
}

}  // namespace ferry::cli
