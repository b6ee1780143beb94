// Moving environments between the local store and a remote ObjectStore (SPEC.md §5), publishing
// names, and resolving ENV references. Layout and documents: store/manifest.h,
// docs/formats/store.md.
//
// Ordering guarantees (a reader never sees a dangling reference):
//   push:  blobs  ->  manifest (v1/envs/<id>.json)  ->  req-id pointer (v1/reqs/<platform>/<req>)
//   alias: manifest must already exist remotely  ->  name pointer (v1/names/<NAME>/<TAG>)
//   pull:  every blob downloaded and re-hashed  ->  published into the local store  ->  manifest
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "src/http.h"
#include "src/lock/lock.h"
#include "src/reporter.h"
#include "src/status.h"
#include "store/local/local_store.h"
#include "store/manifest.h"
#include "store/remote/object_store.h"

namespace ferry::store {

struct SyncOptions {
  int parallelism = 8;           // concurrent blob transfers
  Reporter* reporter = nullptr;  // progress (bytes); nullptr = NullReporter()
  // Called with a blob's sha256 as soon as that blob is verified and published in the local
  // store (only for blobs this call transferred), from a transfer thread, while other transfers
  // continue: the materializer extracts it meanwhile (store/materialize/prepare.h). Must be
  // thread-safe and return quickly. Setting it also makes Pull publish blob by blob (see Pull).
  std::function<void(const std::string& sha256)> on_blob_ready;
  // Pull only: called once with the validated manifest before any blob is downloaded, on the
  // calling thread (e.g. to plan which packages to extract as their blobs arrive).
  std::function<void(const EnvManifest& manifest)> on_manifest;
};

struct TransferStats {
  uint64_t blobs_total = 0;        // distinct blobs the environments need
  uint64_t blobs_transferred = 0;  // uploaded (push) / downloaded (pull, fetch-from-urls)
  uint64_t bytes_transferred = 0;
  uint64_t manifests_written = 0;  // push: manifests newly created on the remote
};

// Makes every package file of `packages` present in the local store: packages already there are
// hits; the others are downloaded from their lock URL (http(s) through `http`, file:// and plain
// paths read directly), hashed while streaming and checked against the lock's sha256 and size
// (mismatch: kIntegrity naming the file and URL, nothing kept), then published, each as soon as
// its own bytes are verified (opts.on_blob_ready is called then). Parallel.
// HTTP errors: kNetwork naming the (redacted) URL. Thread-safe with other processes.
Result<TransferStats> FetchBlobsFromUrls(const std::vector<LockedPackage>& packages,
                                         LocalStore& local, HttpClient& http,
                                         const SyncOptions& opts);

// Uploads environments to `remote`, idempotently. Every package blob must already be in `local`
// (kUser listing the missing files otherwise; see FetchBlobsFromUrls). Lists v1/blobs/sha256/ once
// (batched existence check), re-hashes each local blob it uploads (a corrupt local blob is
// kIntegrity and is not uploaded), uploads the missing ones in parallel with their sha256 (so the
// server verifies too), then writes each manifest with a conditional create (an existing valid
// manifest is kept), then the req-id pointer of each environment with a non-empty req_id.
// Also records the manifests in the local store. Safe to run concurrently with other pushers.
Result<TransferStats> Push(const std::vector<LockedEnvironment>& envs, LocalStore& local,
                           ObjectStore& remote, const SyncOptions& opts);

// Makes environment `env_id` complete in the local store: its manifest and every blob. Uses the
// local manifest if there is a valid one, else downloads v1/envs/<env-id>.json (validated:
// kIntegrity if corrupt or for another env). Missing blobs are downloaded in parallel into
// temp files and re-hashed. Without opts.on_blob_ready, only when ALL arrived intact are they
// published and the manifest recorded: any mismatch is kIntegrity and nothing from this pull is
// kept. With opts.on_blob_ready (pipelined extraction), each blob is published and announced as
// soon as its own bytes are verified; a mismatch is kIntegrity, that blob is never published,
// no temp file is left and the manifest is not recorded (blobs already verified stay in the
// store, unreferenced, until pruned). Serialized per env across processes (LockEnv): concurrent
// pulls of one env download once and all succeed.
// `remote` may be null (then only a complete local environment succeeds; kUser otherwise).
// Returns the manifest; `stats` (optional) receives counts.
Result<EnvManifest> Pull(const std::string& env_id, LocalStore& local, ObjectStore* remote,
                         const SyncOptions& opts, TransferStats* stats = nullptr);

// Publishes NAME:TAG -> env_id in `remote`. The manifest must exist remotely (kUser "push it
// first" otherwise). Mutable tags (latest/candidate/stable) are overwritten; other tags are
// created with a conditional write: if the tag exists and points elsewhere, kUser "tag is
// immutable"; if it already points to env_id, Ok (idempotent).
Status Alias(const std::string& env_id, const EnvName& name, ObjectStore& remote);

// Resolves an ENV reference (lock paths are handled by the CLI) to a 64-hex env-id:
//  - @{VAR} references are substituted first (unset variable: kUser naming it);
//  - 64 hex: returned as is;
//  - 8-63 lower-case hex: a unique prefix among local manifests, else among the remote's
//    v1/envs/ listing; several matches are kUser listing the candidates; no match falls through
//    to a name lookup;
//  - NAME[:TAG]: read v1/names/<NAME>/<TAG> from `remote` (kUsage if `remote` is null; kUser if
//    the name does not exist; kIntegrity if the pointer is corrupt).
// `local` and `remote` may be null.
Result<std::string> ResolveEnvRef(const std::string& ref, LocalStore* local, ObjectStore* remote);

}  // namespace ferry::store
