// ferry fetch ENV [--prefix DIR] [--step S] [--platform P]: make the environment exist here and
// print its prefix (SPEC.md §2). The work is FetchEnvironment (cli/fetch_env.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/fetch_env.h"

namespace ferry::cli {

void RegisterFetch(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "fetch", "Make an environment exist on this machine (download, verify, extract, link) and "
               "print its prefix");
  auto opts = std::make_shared<FetchOptions>();
  sub->add_option("ENV", opts->env,
                  "Lock file path, env-id (or 8+ hex prefix), or NAME[:TAG] (@{VAR} expanded)")
      ->required();
  sub->add_option("--prefix", opts->prefix, "Materialize here instead of FERRY_HOME/envs/<env-id>");
  sub->add_option("--step", opts->step, "Step (or environment name / id) of a lock file");
  sub->add_option("--platform", opts->platform, "Platform to select in a lock file");
  sub->callback([&ctx, opts] {
    FetchStats stats;
    auto prefix = FetchEnvironment(ctx, *opts, &stats);
    if (!prefix.ok()) {
      ctx.exit_code = ReportError(ctx, prefix.status());
      return;
    }
    if (ctx.opts.json) {
      nlohmann::json j = {{"prefix", *prefix},
                          {"env_id", stats.env_id},
                          {"warm", stats.warm},
                          {"packages", stats.packages},
                          {"blobs_downloaded", stats.blobs_downloaded},
                          {"packages_extracted", stats.packages_extracted},
                          {"files_linked", stats.files_linked}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("%s\n", prefix->c_str());
    }
    ctx.exit_code = 0;
  });
}

}  // namespace ferry::cli
