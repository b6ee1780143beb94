// ferry push [LOCK] [--step S]: upload every environment of a lock to the remote store
// (SPEC.md §2): package blobs first (fetched from their lock URLs into the local store when they
// are not there yet), then manifests, then req-id pointers. Idempotent.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/publish.h"
#include "src/lock/lock_file.h"
#include "store/manifest.h"

namespace ferry::cli {

namespace {

struct PushArgs {
  std::string lock_path = "ferry.lock";
  std::string step;
};

Result<std::vector<LockedEnvironment>> SelectEnvironments(Context& ctx, const PushArgs& args) {
  FERRY_ASSIGN_OR_RETURN(std::string bytes, ctx.fs->ReadFile(args.lock_path));
  FERRY_ASSIGN_OR_RETURN(lock::LockFile lf, lock::ParseLock(bytes, args.lock_path));
  std::vector<LockedEnvironment> envs;
  if (args.step.empty()) {
    envs = lf.environments;
  } else {
    for (const auto& e : lf.environments)
      if (std::find(e.steps.begin(), e.steps.end(), args.step) != e.steps.end()) envs.push_back(e);
    if (envs.empty()) {
      FERRY_ASSIGN_OR_RETURN(const LockedEnvironment* one,
                             lock::FindEnvironment(lf, args.step, ""));
      envs.push_back(*one);
    }
  }
  if (envs.empty()) return Status::User(args.lock_path + " has no environments to push");
  return envs;
}

Status RunPush(Context& ctx, const PushArgs& args) {
  if (ctx.config.store_url.empty()) return Publish(ctx, {}, "push").status();
  FERRY_ASSIGN_OR_RETURN(std::vector<LockedEnvironment> envs, SelectEnvironments(ctx, args));
  FERRY_ASSIGN_OR_RETURN(PublishResult published, Publish(ctx, envs, "push"));
  const store::TransferStats& pushed = published.pushed;

  if (ctx.opts.json) {
    nlohmann::ordered_json j;
    j["store"] = published.store;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& e : envs) {
      nlohmann::ordered_json o;
      o["env_id"] = e.env_id;
      o["req_id"] = e.req_id;
      o["platform"] = e.platform;
      o["steps"] = e.steps;
      o["manifest"] = store::ManifestKey(e.env_id);
      list.push_back(o);
    }
    j["environments"] = list;
    j["blobs_total"] = pushed.blobs_total;
    j["blobs_uploaded"] = pushed.blobs_transferred;
    j["bytes_uploaded"] = pushed.bytes_transferred;
    j["manifests_written"] = pushed.manifests_written;
    j["blobs_fetched_from_urls"] = published.fetched.blobs_transferred;
    std::cout << j.dump() << std::endl;
  } else {
    for (const auto& e : envs)
      std::cout << e.env_id.substr(0, 12) << "  " << e.platform << "  "
                << lock::EnvironmentLabel(e) << std::endl;
    if (!ctx.opts.quiet)
      std::cerr << "pushed " << envs.size() << " environment(s) to " << published.store
                << ": uploaded " << pushed.blobs_transferred << " of " << pushed.blobs_total
                << " package files (" << pushed.bytes_transferred << " bytes)" << std::endl;
  }
  return Status::Ok();
}

}  // namespace

void RegisterPush(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<PushArgs>();
  auto* sub = app.add_subcommand(
      "push", "Upload the environments of a lock to the remote store (FERRY_STORE)");
  sub->add_option("LOCK", args->lock_path, "Lock file (default: ferry.lock)");
  sub->add_option("--step", args->step, "Only the environment of this step");
  sub->callback([&ctx, args] {
    Status s = RunPush(ctx, *args);
    ctx.exit_code = s.ok() ? 0 : ReportError(ctx, s);
  });
}

}  // namespace ferry::cli
