// `fetch` as a function: ENV reference -> a materialized prefix on this machine. Shared by
// `ferry fetch` and `ferry run` (and anything else that needs an environment to exist).
#pragma once

#include <string>

#include "cli/context.h"
#include "src/status.h"

namespace ferry::cli {

struct FetchOptions {
  std::string env;       // ENV: lock file path, env-id / 8+ hex prefix, or NAME[:TAG] with @{VAR}
  std::string step;      // --step: selects an environment of a lock file (step, name or id)
  std::string platform;  // environment platform to select in a lock (default: this machine's)
  std::string prefix;    // --prefix: where to materialize (default FERRY_HOME/envs/<env-id>)
};

struct FetchStats {
  std::string env_id;
  bool warm = false;             // the prefix already existed: nothing was done
  uint64_t packages = 0;
  uint64_t blobs_downloaded = 0;
  uint64_t packages_extracted = 0;
  uint64_t files_linked = 0;
};

// Makes the environment exist and returns its absolute prefix:
//  1. resolves `opts.env` (a path to an existing file is a lock file, or a `resolve --json`
//     document; else store::ResolveEnvRef with the local store and the remote store of
//     ctx.config.store_url, if any);
//  2. warm path: when the prefix already holds this env-id, returns at once (no SQLite, no
//     network for lock files and full env-ids);
//  3. otherwise plans (store/materialize/plan.h), makes the blobs local (remote store pull when
//     configured and the environment was pushed, else the lock URLs through ctx.http, every
//     digest verified), extracts missing packages in parallel (once per digest, across
//     processes), links the prefix atomically (store/materialize/link.h) under the env lock.
// Errors carry the SPEC exit codes: kUser (unknown env, wrong platform), kIntegrity (digest
// mismatch, unsafe package), kNetwork (downloads). Safe to run concurrently from many processes.
Result<std::string> FetchEnvironment(Context& ctx, const FetchOptions& opts,
                                     FetchStats* stats = nullptr);

// This machine's conda platform ("linux-64", "linux-aarch64", "osx-arm64", ...).
std::string HostPlatform();

}  // namespace ferry::cli
