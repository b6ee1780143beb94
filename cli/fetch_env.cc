#include "cli/fetch_env.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "src/lock/lock_file.h"
#include "store/local/local_store.h"
#include "store/manifest.h"
#include "store/materialize/link.h"
#include "store/materialize/plan.h"
#include "store/materialize/prepare.h"
#include "store/remote/object_store.h"
#include "store/sync.h"

namespace ferry::cli {

namespace {

bool IsHex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string Absolute(const std::string& p) {
  std::error_code ec;
  auto a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

// True if `prefix` is a finished environment for env_id (conda-meta/ferry.json written by link).
bool EnvReady(const std::string& prefix, const std::string& env_id) {
  std::ifstream in(prefix + "/conda-meta/ferry.json");
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  return j.is_object() && j.value("env_id", std::string()) == env_id;
}

// Reads a lock file (or a `resolve --json` document) and selects one environment.
Result<LockedEnvironment> EnvFromFile(FileSystem& fs, const std::string& path,
                                      const FetchOptions& opts) {
  FERRY_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));
  auto lock = lock::ParseLock(text, path);
  if (lock.ok()) {
    std::string platform = opts.platform;
    if (platform.empty()) {
      // Prefer this machine's platform when the lock has several.
      std::string host = HostPlatform();
      for (const auto& e : lock->environments)
        if (e.platform == host) platform = host;
    }
    auto env = lock::FindEnvironment(*lock, opts.step, platform);
    if (!env.ok()) return env.status();
    return **env;
  }
  // `ferry resolve --json` output / a single environment object.
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("environments") &&
      j["environments"].is_array() && j["environments"].size() == 1)
    return store::ParseSpecEnvironmentJson(j["environments"][0].dump(), path);
  if (!j.is_discarded() && j.is_object() && j.contains("packages"))
    return store::ParseSpecEnvironmentJson(text, path);
  return lock.status();
}

// Fast lookup of an env-id prefix among materialized environments (no SQLite).
std::string UniqueEnvDirMatch(const std::string& envs_dir, const std::string& hex_prefix) {
  std::string found;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(envs_dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.size() == 64 && n.rfind(hex_prefix, 0) == 0) {
      if (!found.empty()) return "";  // ambiguous: let the store explain
      found = n;
    }
  }
  return found;
}

}  // namespace

std::string HostPlatform() {
  struct utsname u;
  std::string os = "linux", arch = "64";
  if (::uname(&u) == 0) {
    std::string m = u.machine;
    std::string s = u.sysname;
    if (s == "Darwin") os = "osx";
    if (m == "x86_64")
      arch = "64";
    else if (m == "aarch64")
      arch = os == "osx" ? "arm64" : "aarch64";
    else if (m == "arm64")
      arch = "arm64";
    else if (m == "ppc64le")
      arch = "ppc64le";
  }
  return os + "-" + arch;
}

Result<std::string> FetchEnvironment(Context& ctx, const FetchOptions& opts, FetchStats* stats) {
  FetchStats local_stats;
  FetchStats& st = stats ? *stats : local_stats;
  Reporter& rep = ctx.reporter ? *ctx.reporter : NullReporter();
  if (ctx.config.ferry_home.empty()) return Status::User("FERRY_HOME is not set and no default");
  const std::string home = Absolute(ctx.config.ferry_home);
  std::string user_prefix = opts.prefix.empty() ? "" : Absolute(opts.prefix);
  auto prefix_for = [&](const std::string& env_id) {
    return user_prefix.empty() ? home + "/envs/" + env_id : user_prefix;
  };

  // 1. Resolve ENV to an environment (lock) or an env-id.
  std::optional<LockedEnvironment> env;
  std::string env_id;
  struct stat sb;
  if (::stat(opts.env.c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) {
    FERRY_ASSIGN_OR_RETURN(LockedEnvironment e, EnvFromFile(*ctx.fs, opts.env, opts));
    env_id = e.env_id;
    env = std::move(e);
  } else if (!opts.step.empty()) {
    return Status::Usage("--step selects an environment of a lock file, but '" + opts.env +
                         "' is not a file");
  } else if (opts.env.size() == 64 && IsHex(opts.env)) {
    env_id = opts.env;
  } else if (opts.env.size() >= 8 && opts.env.size() < 64 && IsHex(opts.env)) {
    env_id = UniqueEnvDirMatch(home + "/envs", opts.env);  // may stay empty
  }
  st.env_id = env_id;

  // 2. Warm path.
  if (!env_id.empty() && EnvReady(prefix_for(env_id), env_id)) {
    st.warm = true;
    return prefix_for(env_id);
  }

  // 3. Cold path: the stores.
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<store::LocalStore> local, store::LocalStore::Open(home));
  std::unique_ptr<store::ObjectStore> remote;
  if (!ctx.config.store_url.empty()) {
    FERRY_ASSIGN_OR_RETURN(remote, store::OpenObjectStore(ctx.config.store_url, *ctx.http));
  }
  // Prepare, pipelined: packages missing from the store are extracted by a small worker pool as
  // soon as their blobs are verified and published, while the other downloads continue.
  std::optional<store::ExtractPipeline> pipeline;
  bool blobs_missing = false;  // a package to extract has no local blob yet
  auto start_pipeline = [&](const LockedEnvironment& e) {
    store::MaterializePlan plan = store::PlanMaterialize(
        e, [&](const LockedPackage& p) { return local->IsPackageExtracted(p.sha256); });
    std::vector<LockedPackage> todo;
    for (size_t i : plan.missing) todo.push_back(e.packages[i]);
    int threads = 0;  // default: the pipeline's own choice
    if (const char* t = std::getenv("FERRY_EXTRACT_THREADS")) threads = std::atoi(t);
    pipeline.emplace(*local, todo, threads, &rep);
    for (const auto& p : todo) {  // blobs already local: extract at once
      if (local->HasBlob(p.sha256)) {
        pipeline->BlobReady(p.sha256);
      } else {
        blobs_missing = true;
      }
    }
  };
  store::SyncOptions sync;
  sync.reporter = &rep;
  sync.on_blob_ready = [&pipeline](const std::string& sha) {
    if (pipeline) pipeline->BlobReady(sha);
  };
  if (!env) {
    if (env_id.empty()) {
      FERRY_ASSIGN_OR_RETURN(env_id, store::ResolveEnvRef(opts.env, local.get(), remote.get()));
      st.env_id = env_id;
      if (EnvReady(prefix_for(env_id), env_id)) {
        st.warm = true;
        return prefix_for(env_id);
      }
    }
    sync.on_manifest = [&](const store::EnvManifest& m) {
      if (m.env.platform.empty() || m.env.platform == HostPlatform()) start_pipeline(m.env);
    };
    store::TransferStats ts;
    FERRY_ASSIGN_OR_RETURN(store::EnvManifest m,
                           store::Pull(env_id, *local, remote.get(), sync, &ts));
    st.blobs_downloaded = ts.blobs_transferred;
    env = std::move(m.env);
  } else {
    if (env->platform.empty() || env->platform == HostPlatform()) start_pipeline(*env);
    // A lock: blobs from the remote store if it has this environment, else from the lock URLs.
    // Only packages not yet extracted need their blob (a warm store downloads nothing).
    if (blobs_missing) {
      bool pulled = false;
      if (remote) {
        store::TransferStats ts;
        auto m = store::Pull(env_id, *local, remote.get(), sync, &ts);
        if (m.ok()) {
          pulled = true;
          st.blobs_downloaded = ts.blobs_transferred;
        } else if (m.status().code() == Code::kIntegrity) {
          return m.status();
        } else {
          rep.Info("remote store does not have " + env_id.substr(0, 12) + " (" +
                   m.status().message() + "); downloading from the lock URLs");
        }
      }
      if (!pulled) {
        FERRY_ASSIGN_OR_RETURN(store::TransferStats ts,
                               store::FetchBlobsFromUrls(env->packages, *local, *ctx.http, sync));
        st.blobs_downloaded = ts.blobs_transferred;
      }
    }
    // Record the manifest so `cache prune` knows this environment references its blobs (once:
    // an identical manifest is already recorded).
    store::EnvManifest m = store::MakeEnvManifest(*env);
    std::string text = store::SerializeEnvManifest(m);
    auto existing = local->GetManifest(env_id);
    if (!existing.ok() || !*existing || **existing != text) {
      std::vector<std::string> shas;
      for (const auto& b : m.blobs) shas.push_back(b.sha256);
      FERRY_RETURN_IF_ERROR(local->PutManifest(env_id, text, shas));
    }
  }
  if (!env->platform.empty() && env->platform != HostPlatform())
    return Status::User("environment " + env_id.substr(0, 12) + " is for " + env->platform +
                        "; this machine is " + HostPlatform());
  st.packages = env->packages.size();
  if (!pipeline) start_pipeline(*env);  // (a local manifest with no Pull callback: defensive)
  FERRY_RETURN_IF_ERROR(pipeline->Finish());
  st.packages_extracted = pipeline->extracted();

  // Link under the env lock (concurrent fetches of one env link once).
  const std::string prefix = prefix_for(env_id);
  FERRY_ASSIGN_OR_RETURN(store::FileLock env_lock, local->LockEnv(env_id));
  if (EnvReady(prefix, env_id)) return prefix;
  std::vector<store::LinkPackage> pkgs;
  for (const auto& p : env->packages) pkgs.push_back({p, local->PackageDir(p.sha256)});
  store::LinkOptions lo;
  lo.env_id = env_id;
  lo.command = "ferry fetch " + opts.env;
  if (const char* m = std::getenv("FERRY_LINK_MODE")) {
    std::string mode = m;
    if (mode == "copy")
      lo.mode = store::LinkMode::kCopy;
    else if (mode == "reflink" || mode == "clone")
      lo.mode = store::LinkMode::kReflink;
  }
  if (user_prefix.empty()) lo.staging_dir = local->NewStagingDir("env-" + env_id.substr(0, 12));
  FERRY_ASSIGN_OR_RETURN(store::LinkStats ls, store::LinkEnvironment(pkgs, prefix, lo));
  st.files_linked = ls.files;
  if (user_prefix.empty()) FERRY_RETURN_IF_ERROR(local->MarkEnvMaterialized(env_id));
  std::vector<std::string> shas;
  for (const auto& p : env->packages) shas.push_back(p.sha256);
  (void)local->RecordUse(shas, env_id);
  return prefix;
}

}  // namespace ferry::cli
