// ferry export ENV... -o FILE / ferry import FILE: one self-contained bundle (manifests + package
// blobs, docs/formats/bundle.md) for CI caches and air-gapped hosts. Import verifies everything
// before adding anything; a corrupt bundle is exit 3 with nothing kept.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "src/lock/lock_file.h"
#include "store/bundle.h"
#include "store/local/local_store.h"
#include "store/manifest.h"
#include "store/remote/object_store.h"
#include "store/sync.h"

namespace ferry::cli {

namespace {

struct ExportArgs {
  std::vector<std::string> envs;
  std::string output;
  std::string step;
};

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status RunExport(Context& ctx, const ExportArgs& args) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<store::LocalStore> local,
                         store::LocalStore::Open(ctx.config.ferry_home));
  std::unique_ptr<store::ObjectStore> remote;
  if (!ctx.config.store_url.empty()) {
    FERRY_ASSIGN_OR_RETURN(remote, store::OpenObjectStore(ctx.config.store_url, *ctx.http));
  }
  store::SyncOptions opts;
  opts.reporter = ctx.reporter.get();
  std::vector<std::string> env_ids;
  for (const auto& ref : args.envs) {
    if (IsRegularFile(ref)) {
      // A lock file: its environments come from the local store, the remote, or the lock URLs.
      FERRY_ASSIGN_OR_RETURN(std::string bytes, ctx.fs->ReadFile(ref));
      FERRY_ASSIGN_OR_RETURN(lock::LockFile lf, lock::ParseLock(bytes, ref));
      std::vector<const LockedEnvironment*> selected;
      if (args.step.empty()) {
        for (const auto& e : lf.environments) selected.push_back(&e);
      } else {
        FERRY_ASSIGN_OR_RETURN(const LockedEnvironment* e,
                               lock::FindEnvironment(lf, args.step, ""));
        selected.push_back(e);
      }
      for (const auto* e : selected) {
        FERRY_RETURN_IF_ERROR(
            store::FetchBlobsFromUrls(e->packages, *local, *ctx.http, opts).status());
        store::EnvManifest m = store::MakeEnvManifest(*e);
        std::vector<std::string> refs;
        for (const auto& b : m.blobs) refs.push_back(b.sha256);
        FERRY_RETURN_IF_ERROR(
            local->PutManifest(e->env_id, store::SerializeEnvManifest(m), refs));
        env_ids.push_back(e->env_id);
      }
      continue;
    }
    FERRY_ASSIGN_OR_RETURN(std::string id, store::ResolveEnvRef(ref, local.get(), remote.get()));
    FERRY_RETURN_IF_ERROR(store::Pull(id, *local, remote.get(), opts).status());
    env_ids.push_back(id);
  }
  FERRY_ASSIGN_OR_RETURN(store::BundleStats st,
                         store::ExportBundle(env_ids, *local, args.output, *ctx.reporter));
  if (ctx.opts.json) {
    nlohmann::ordered_json j;
    j["bundle"] = args.output;
    j["environments"] = st.env_ids;
    j["blobs"] = st.blobs;
    j["bytes"] = st.bytes;
    std::cout << j.dump() << std::endl;
  } else {
    for (const auto& id : st.env_ids) std::cout << id << std::endl;
    if (!ctx.opts.quiet)
      std::cerr << "wrote " << args.output << ": " << st.env_ids.size() << " environment(s), "
                << st.blobs << " package files (" << st.bytes << " bytes)" << std::endl;
  }
  return Status::Ok();
}

Status RunImport(Context& ctx, const std::string& file) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<store::LocalStore> local,
                         store::LocalStore::Open(ctx.config.ferry_home));
  FERRY_ASSIGN_OR_RETURN(store::BundleStats st, store::ImportBundle(file, *local, *ctx.reporter));
  if (ctx.opts.json) {
    nlohmann::ordered_json j;
    j["bundle"] = file;
    j["environments"] = st.env_ids;
    j["blobs"] = st.blobs;
    j["blobs_added"] = st.blobs_added;
    j["bytes"] = st.bytes;
    std::cout << j.dump() << std::endl;
  } else {
    for (const auto& id : st.env_ids) std::cout << id << std::endl;
    if (!ctx.opts.quiet)
      std::cerr << "imported " << st.env_ids.size() << " environment(s) from " << file << ": "
                << st.blobs_added << " new of " << st.blobs << " package files" << std::endl;
  }
  return Status::Ok();
}

}  // namespace

void RegisterExportImport(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ExportArgs>();
  auto* ex = app.add_subcommand(
      "export", "Write environments (manifests + package files) to one bundle file");
  ex->add_option("ENV", args->envs, "Lock file, env-id (or 8+ hex prefix) or NAME[:TAG]")
      ->required();
  ex->add_option("-o,--output", args->output, "Bundle file to write")->required();
  ex->add_option("--step", args->step, "With a lock file: only this step's environment");
  ex->callback([&ctx, args] {
    Status s = RunExport(ctx, *args);
    ctx.exit_code = s.ok() ? 0 : ReportError(ctx, s);
  });

  auto file = std::make_shared<std::string>();
  auto* im = app.add_subcommand(
      "import", "Add the environments of a bundle file to the local store (verifies everything)");
  im->add_option("FILE", *file, "Bundle written by ferry export")->required();
  im->callback([&ctx, file] {
    Status s = RunImport(ctx, *file);
    ctx.exit_code = s.ok() ? 0 : ReportError(ctx, s);
  });
}

}  // namespace ferry::cli
