// ferry resolve: conda specs + channels -> a lock (SPEC.md §2/§3).
//   ferry resolve --conda SPEC... --channel URL... --platform P [-o LOCK] [--json]
// Flow files, requirement files, lock reuse and PyPI are added by their issues.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/context.h"
#include "resolver/conda_resolver.h"
#include "src/lock/lock.h"
#include "src/lock/lock_file.h"
#include "src/specs/platform.h"

namespace ferry::cli {
namespace {

struct ResolveArgs {
  std::vector<std::string> conda;
  std::vector<std::string> channels;
  std::vector<std::string> platforms;
  std::vector<std::string> virtual_packages;  // "__cuda=12.2"
  std::string python;
  std::string output = "ferry.lock";
};

int RunResolve(Context& ctx, const ResolveArgs& args) {
  if (args.conda.empty()) {
    return ReportError(ctx, Status::Usage("nothing to resolve: give --conda SPEC"));
  }
  RequirementSet base;
  base.conda = args.conda;
  base.channels = args.channels.empty() ? ctx.config.channels : args.channels;
  base.python = args.python;
  base.virtual_overrides = specs::OverridesFromEnvironment();
  for (const auto& v : args.virtual_packages) {
    auto eq = v.find('=');
    if (eq == std::string::npos || v.compare(0, 2, "__") != 0) {
      return ReportError(ctx, Status::Usage("--virtual-package expects __NAME=VERSION, got '" + v +
                                            "'"));
    }
    base.virtual_overrides[v.substr(0, eq)] = v.substr(eq + 1);
  }
  std::vector<std::string> platforms = args.platforms;
  if (platforms.empty()) {
    auto host = specs::DetectHost();
    platforms.push_back(host.platform ? specs::PlatformName(*host.platform) : "linux-64");
  }

  lock::LockFile lock_file;
  const std::string cache_dir = ctx.config.ferry_home + "/repodata-cache";
  for (const auto& platform : platforms) {
    RequirementSet req = base;
    req.platform = platform;
    auto outcome = resolver::ResolveConda(req, *ctx.http, *ctx.fs, cache_dir, *ctx.reporter);
    if (!outcome.ok()) return ReportError(ctx, outcome.status());
    if (!outcome->solved) {
      std::string message = "the request for " + platform + " is unsolvable:\n" +
                            outcome->explanation;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return ReportError(ctx, Status::User(message), "unsolvable");
    }
    ctx.reporter->Info("resolved " + platform + ": load " +
                       std::to_string(outcome->stats.load_seconds) + " s, solve " +
                       std::to_string(outcome->stats.solve_seconds) + " s, " +
                       std::to_string(outcome->stats.records_materialized) + " records, " +
                       std::to_string(outcome->stats.decisions) + " decisions, " +
                       std::to_string(outcome->stats.conflicts) + " conflicts");
    LockedEnvironment env;
    env.platform = platform;
    env.requirements = req;
    env.packages = std::move(outcome->packages);
    env.req_id = ComputeReqId(req);
    env.env_id = ComputeEnvId(platform, env.packages);
    lock_file.environments.push_back(std::move(env));
  }

  Status st = ctx.fs->WriteFileAtomic(args.output, lock::WriteLock(lock_file));
  if (!st.ok()) return ReportError(ctx, st.WithContext("writing " + args.output));
  if (ctx.opts.json) {
    std::cout << lock::ToSpecJson(lock_file);
  } else {
    for (const auto& env : lock_file.environments) {
      std::cout << env.platform << "  env " << env.env_id.substr(0, 12) << "  "
                << env.packages.size() << " packages\n";
      for (const auto& p : env.packages) {
        std::cout << "  " << p.name << " " << p.version << " " << p.build << "  " << p.filename
                  << "\n";
      }
    }
    if (!ctx.opts.quiet) std::cerr << "wrote " << args.output << "\n";
  }
  return 0;
}

}  // namespace

void RegisterResolve(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ResolveArgs>();
  auto* sub = app.add_subcommand("resolve", "Resolve requirements into a lock file");
  sub->add_option("--conda", args->conda, "Conda match spec (repeatable)");
  sub->add_option("--channel,-c", args->channels,
                  "Conda channel URL, highest priority first (default: FERRY_CHANNELS)");
  sub->add_option("--platform", args->platforms, "Target platform, e.g. linux-64 (repeatable)");
  sub->add_option("--python", args->python, "Python version X.Y for the environment");
  sub->add_option("--virtual-package", args->virtual_packages,
                  "Virtual package override, e.g. __glibc=2.28 or __cuda=12.2 (repeatable)");
  sub->add_option("-o,--output", args->output, "Lock file to write (default ferry.lock)");
  sub->callback([&ctx, args] { ctx.exit_code = RunResolve(ctx, *args); });
}

}  // namespace ferry::cli
