// ferry cache info | prune [--older-than DAYS] | verify [--repair] | pull ENV...: the local store
// (FERRY_HOME). `cache pull` downloads environments (manifest + package files, verified) into the
// local store without materializing them (warming a node's cache; used by bench/store_bench.sh).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "store/local/local_store.h"
#include "store/manifest.h"
#include "store/remote/object_store.h"
#include "store/sync.h"

namespace ferry::cli {

namespace {

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

Status RunInfo(Context& ctx) {
  FERRY_ASSIGN_OR_RETURN(auto local, store::LocalStore::Open(ctx.config.ferry_home));
  FERRY_ASSIGN_OR_RETURN(store::StoreStats st, local->Stats());
  uint64_t requests = st.hits + st.misses;
  double hit_rate = requests ? static_cast<double>(st.hits) / static_cast<double>(requests) : 0.0;
  if (ctx.opts.json) {
    nlohmann::ordered_json j;
    j["ferry_home"] = local->root();
    j["schema_version"] = store::kLocalStoreSchemaVersion;
    j["blobs"] = {{"count", st.blob_count}, {"bytes", st.blob_bytes}};
    j["packages"] = {{"count", st.package_count}, {"bytes", st.package_bytes}};
    j["environments"] = {{"manifests", st.manifest_count}, {"materialized", st.env_count}};
    j["blob_hits"] = st.hits;
    j["blob_misses"] = st.misses;
    j["hit_rate"] = hit_rate;
    std::cout << j.dump() << std::endl;
    return Status::Ok();
  }
  std::cout << "local store:            " << local->root() << "\n"
            << "package files (blobs):  " << st.blob_count << " (" << HumanBytes(st.blob_bytes)
            << ")\n"
            << "extracted packages:     " << st.package_count << " ("
            << HumanBytes(st.package_bytes) << ")\n"
            << "environments:           " << st.manifest_count << " known, " << st.env_count
            << " materialized\n"
            << "blob hits / misses:     " << st.hits << " / " << st.misses;
  if (requests) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " (hit rate %.1f%%)", 100.0 * hit_rate);
    std::cout << buf;
  }
  std::cout << std::endl;
  return Status::Ok();
}

Status RunPrune(Context& ctx, double older_than_days, bool have_older_than) {
  FERRY_ASSIGN_OR_RETURN(auto local, store::LocalStore::Open(ctx.config.ferry_home));
  std::optional<std::chrono::seconds> older;
  if (have_older_than) {
    if (older_than_days < 0) return Status::Usage("--older-than must be >= 0 days");
    older = std::chrono::seconds(static_cast<int64_t>(older_than_days * 86400.0));
  }
  FERRY_ASSIGN_OR_RETURN(store::PruneResult r, local->Prune(older, {}));
  if (ctx.opts.json) {
    nlohmann::ordered_json j;
    j["environments_removed"] = r.envs_removed;
    j["blobs_removed"] = r.blobs_removed;
    j["packages_removed"] = r.packages_removed;
    j["bytes_freed"] = r.bytes_freed;
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << "removed " << r.envs_removed << " environment(s), " << r.blobs_removed
              << " package file(s), " << r.packages_removed << " extracted package(s); freed "
              << HumanBytes(r.bytes_freed) << std::endl;
  }
  return Status::Ok();
}

Status RunVerify(Context& ctx, bool repair) {
  FERRY_ASSIGN_OR_RETURN(auto local, store::LocalStore::Open(ctx.config.ferry_home));
  FERRY_ASSIGN_OR_RETURN(std::vector<store::CorruptEntry> bad, local->Verify(repair));
  // Manifests must parse and match their file names.
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> ids, local->ListManifests());
  for (const auto& id : ids) {
    std::string path = local->root() + "/manifests/" + id + ".json";
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> text, local->GetManifest(id));
    if (!text) continue;
    Result<store::EnvManifest> m = store::ParseEnvManifest(*text, path, id);
    if (!m.ok()) {
      bad.push_back({path, m.status().message()});
      if (repair) (void)ctx.fs->RemoveAll(path);
    }
  }
  if (ctx.opts.json) {
    nlohmann::ordered_json j;
    j["ok"] = bad.empty();
    j["repaired"] = repair && !bad.empty();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& b : bad) list.push_back({{"path", b.path}, {"reason", b.reason}});
    j["corrupt"] = list;
    std::cout << j.dump() << std::endl;
  } else {
    for (const auto& b : bad) std::cout << "corrupt: " << b.path << ": " << b.reason << std::endl;
    if (bad.empty()) std::cout << "ok: every package file matches its sha256" << std::endl;
  }
  if (!bad.empty()) {
    std::string msg = std::to_string(bad.size()) + " corrupt entr" +
                      (bad.size() == 1 ? "y" : "ies") + " in the local store " + local->root();
    msg += repair ? " (removed; fetch again to restore them)"
                  : " (run 'ferry cache verify --repair' to drop them)";
    std::cerr << "ferry: error: " << msg << std::endl;
    ctx.exit_code = 3;
  }
  return Status::Ok();
}

Status RunPull(Context& ctx, const std::vector<std::string>& refs) {
  FERRY_ASSIGN_OR_RETURN(auto local, store::LocalStore::Open(ctx.config.ferry_home));
  std::unique_ptr<store::ObjectStore> remote;
  if (!ctx.config.store_url.empty()) {
    FERRY_ASSIGN_OR_RETURN(remote, store::OpenObjectStore(ctx.config.store_url, *ctx.http));
  }
  store::SyncOptions opts;
  opts.reporter = ctx.reporter.get();
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& ref : refs) {
    FERRY_ASSIGN_OR_RETURN(std::string id, store::ResolveEnvRef(ref, local.get(), remote.get()));
    store::TransferStats st;
    FERRY_RETURN_IF_ERROR(store::Pull(id, *local, remote.get(), opts, &st).status());
    list.push_back({{"env_id", id},
                    {"blobs_total", st.blobs_total},
                    {"blobs_downloaded", st.blobs_transferred},
                    {"bytes_downloaded", st.bytes_transferred}});
    if (!ctx.opts.json) std::cout << id << std::endl;
  }
  if (ctx.opts.json) std::cout << nlohmann::ordered_json{{"environments", list}}.dump() << std::endl;
  return Status::Ok();
}

}  // namespace

void RegisterCache(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("cache", "Local store: info, prune, verify");
  sub->require_subcommand(1);

  auto* info = sub->add_subcommand("info", "Sizes, counts and hit rates of the local store");
  info->callback([&ctx] {
    Status s = RunInfo(ctx);
    ctx.exit_code = s.ok() ? 0 : ReportError(ctx, s);
  });

  auto days = std::make_shared<double>(0);
  auto* prune = sub->add_subcommand(
      "prune", "Remove package files no environment references (and old environments)");
  auto* older = prune->add_option("--older-than", *days,
                                  "Also remove environments not used for DAYS days, and only "
                                  "remove data unused for that long");
  prune->callback([&ctx, days, older] {
    Status s = RunPrune(ctx, *days, older->count() > 0);
    ctx.exit_code = s.ok() ? 0 : ReportError(ctx, s);
  });

  auto repair = std::make_shared<bool>(false);
  auto* verify = sub->add_subcommand(
      "verify", "Re-hash every package file; report corruption (exit 3)");
  verify->add_flag("--repair", *repair, "Remove corrupt entries so they are fetched again");
  verify->callback([&ctx, repair] {
    Status s = RunVerify(ctx, *repair);
    if (!s.ok()) ctx.exit_code = ReportError(ctx, s);
  });

  auto refs = std::make_shared<std::vector<std::string>>();
  auto* pull = sub->add_subcommand(
      "pull", "Download environments into the local store (verified) without materializing");
  pull->add_option("ENV", *refs, "env-id (or 8+ hex prefix) or NAME[:TAG]")->required();
  pull->callback([&ctx, refs] {
    Status s = RunPull(ctx, *refs);
    ctx.exit_code = s.ok() ? 0 : ReportError(ctx, s);
  });
}

}  // namespace ferry::cli
