// LocalStore: the content-addressed local cache under FERRY_HOME (docs/formats/store.md).
//
//   <root>/blobs/sha256/<2>/<sha256>   package files exactly as published, named by their sha256
//   <root>/pkgs/<sha256>/              extracted packages; "<dir>/.ferry-complete" is written last
//   <root>/envs/<env-id>/              materialized environments (staging dir + rename)
//   <root>/manifests/<env-id>.json     v1 manifests (store/manifest.h) of known environments
//   <root>/locks/                      advisory flock(2) lock files (per digest, per env)
//   <root>/tmp/                        temp files and staging dirs "<hint>.<owner>.<n>"
//   <root>/index.sqlite                SQLite index (WAL): blobs, packages, envs, references,
//                                      counters; PRAGMA user_version = schema version
//
// Trust rules: a blob file exists at its final path only after its bytes were hashed and matched
// its name (temp file + fsync + rename); the index records only blobs that are verified and
// present. Open() drops index rows whose files have vanished and removes temp files left by dead
// processes. A file at a final path without an index row (a crash between rename and insert) is
// re-hashed before it is trusted.
//
// Concurrency: many processes may use one store. Writers serialize per digest / per env with
// LockBlob / LockEnv (flock on files under locks/, released when the guard is destroyed or the
// process dies). A LocalStore object is thread-safe (one SQLite connection behind a mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "src/status.h"

struct sqlite3;

namespace ferry::store {

// Version of the on-disk layout + SQLite schema (PRAGMA user_version). See store.md.
inline constexpr int kLocalStoreSchemaVersion = 1;

// RAII exclusive advisory lock (flock) on a lock file. Move-only. Releasing happens in the
// destructor; the kernel releases it too if the process dies.
class FileLock {
 public:
  FileLock() = default;
  ~FileLock();
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Blocks until the exclusive lock on `path` (created if missing) is held. kUser on I/O error.
  static Result<FileLock> Acquire(const std::string& path);
  // Shared (reader) lock: many holders at once, excludes Acquire.
  static Result<FileLock> AcquireShared(const std::string& path);
  // Like Acquire but never blocks: nullopt if another holder has it.
  static Result<std::optional<FileLock>> TryAcquire(const std::string& path);
  bool held() const { return fd_ >= 0; }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct StoreStats {
  uint64_t blob_count = 0;
  uint64_t blob_bytes = 0;
  uint64_t package_count = 0;  // extracted packages (complete)
  uint64_t package_bytes = 0;
  uint64_t env_count = 0;       // materialized environments
  uint64_t manifest_count = 0;  // known environments (manifests)
  uint64_t hits = 0;            // blobs requested and already present
  uint64_t misses = 0;          // blobs that had to be downloaded / added
};

struct CorruptEntry {
  std::string path;
  std::string reason;  // "sha256 mismatch: expected X, got Y", "size mismatch", "missing", ...
};

struct PruneResult {
  uint64_t envs_removed = 0;
  uint64_t blobs_removed = 0;
  uint64_t packages_removed = 0;
  uint64_t bytes_freed = 0;
};

class LocalStore {
 public:
  // Opens (creating if needed) the store at `root`: directories, SQLite index (WAL,
  // busy_timeout), schema migrations up to kLocalStoreSchemaVersion; drops index rows whose files
  // are missing and temp files of dead owners (see NewTempPath). kUser if the root cannot be created or the
  // index is from a newer ferry; kIntegrity if the index is not a valid SQLite database.
  static Result<std::unique_ptr<LocalStore>> Open(const std::string& root);
  ~LocalStore();
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  const std::string& root() const { return root_; }

  // ---- blobs (package files named by sha256) ----
  // Final path of a blob, whether or not it exists. `sha256` must be 64 lower-case hex.
  std::string BlobPath(const std::string& sha256) const;
  // True if the blob is present and trusted: an index row and a file of the recorded size. A
  // file without a row is re-hashed and adopted (or removed if it does not match). Never errors:
  // an unreadable blob is "not present".
  bool HasBlob(const std::string& sha256);
  // Verifies that the file at `src_path` has exactly `size` bytes and this sha256, then publishes
  // it at BlobPath: by rename when `src_path` is under root()/tmp (the file is consumed), by a
  // copy into a temp file beside the final path (fsync + rename) otherwise. Then records it in
  // the index. Mismatch: kIntegrity naming both digests; the source (if consumed) is removed and
  // nothing is published. Idempotent: an existing verified blob is left as is.
  Status AddBlobFromFile(const std::string& src_path, const std::string& sha256, uint64_t size);
  // Publishes a file under root()/tmp that the caller has ALREADY verified (e.g. a download the
  // ObjectStore re-hashed against `sha256`); only the size is re-checked. Consumes the file.
  Status AdoptVerifiedBlob(const std::string& tmp_path, const std::string& sha256, uint64_t size);

  // A fresh path under root()/tmp (same file system as the blobs) named
  // "<hint>.<owner>.<n>", where <owner> = "<pid>-<random>" identifies this LocalStore instance,
  // which holds locks/owner-<owner>.lock while it lives; nothing is created. Open() and Prune()
  // remove temp paths whose owner lock is free (the owner died, in any PID namespace).
  std::string NewTempPath(const std::string& hint);

  // ---- manifests ----
  // Atomically writes manifests/<env-id>.json and records the env with its blob references.
  // The caller has validated the manifest (store/manifest.h).
  Status PutManifest(const std::string& env_id, const std::string& json,
                     const std::vector<std::string>& blob_sha256s);
  // The stored manifest text, or nullopt if unknown. kUser on read errors.
  Result<std::optional<std::string>> GetManifest(const std::string& env_id);
  // env-ids with a manifest, sorted.
  Result<std::vector<std::string>> ListManifests();

  // ---- extracted packages and materialized environments (for the materializer) ----
  std::string PackageDir(const std::string& sha256) const;  // pkgs/<sha256>
  // True if PackageDir(sha256)/.ferry-complete exists.
  bool IsPackageExtracted(const std::string& sha256) const;
  // Writes the completion marker (last step of an extraction) and records the package.
  Status MarkPackageExtracted(const std::string& sha256, uint64_t bytes);
  // Extracts the verified blob `sha256` (published as `filename`, whose suffix selects the
  // format) into PackageDir(sha256) exactly once across processes: under LockBlob, a leftover
  // incomplete dir is removed, the package is extracted (store/materialize/extract.h) into a
  // staging dir, renamed into place, and the completion marker is written last. Returns
  // PackageDir. kUser if the blob is not in the store; ExtractPackage's errors otherwise.
  Result<std::string> EnsurePackageExtracted(const std::string& sha256,
                                             const std::string& filename);
  std::string EnvDir(const std::string& env_id) const;  // envs/<env-id>
  // A fresh staging directory path under root()/tmp for building EnvDir / PackageDir, to be
  // renamed into place while holding the matching lock. Not created.
  std::string NewStagingDir(const std::string& hint) { return NewTempPath(hint); }
  // Records that EnvDir(env_id) is complete (after the staging rename).
  Status MarkEnvMaterialized(const std::string& env_id);

  // ---- locking ----
  // Exclusive per-blob / per-env locks (flock on locks/blob-<sha>.lock, locks/env-<id>.lock).
  // Blocks until held. Acquire several in sorted order to avoid deadlocks.
  Result<FileLock> LockBlob(const std::string& sha256);
  Result<FileLock> LockEnv(const std::string& env_id);

  // Shared store-wide lock held by every operation that adds data (pull, push, import) for its
  // whole duration; Prune takes it exclusively, so it never removes a blob that an operation has
  // added but not yet referenced from a manifest.
  Result<FileLock> LockForWrite();

  // ---- bookkeeping ----
  // Updates last_used of these blobs/packages/envs to now (ignores unknown ones).
  Status RecordUse(const std::vector<std::string>& blob_sha256s, const std::string& env_id = "");
  // Adds to the hit / miss counters shown by `cache info`.
  Status RecordHits(uint64_t hits, uint64_t misses);
  Result<StoreStats> Stats();

  // Removes unreferenced data. An environment (manifest + materialized dir) is removed when it
  // was last used before now - older_than (no older_than: environments are kept) and is not in
  // `keep_env_ids`. Then every blob / extracted package that no remaining environment references
  // and that was last used before the cutoff (no older_than: any time) is removed. Stale temp
  // files of dead processes are removed too. Takes the matching locks while deleting.
  Result<PruneResult> Prune(std::optional<std::chrono::seconds> older_than,
                            const std::set<std::string>& keep_env_ids);

  // Re-hashes every file under blobs/ and checks index rows against files. Returns the corrupt
  // or missing entries (empty = clean). With `repair`, corrupt files are removed and their rows
  // dropped so the next fetch downloads them again.
  Result<std::vector<CorruptEntry>> Verify(bool repair);

 private:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}
  Status Init();
  Status Migrate();
  Status Exec(const std::string& sql);
  Status InsertBlobRow(const std::string& sha256, uint64_t size);
  Status DeleteBlobRow(const std::string& sha256);
  std::optional<uint64_t> BlobRowSize(const std::string& sha256);
  Status Publish(const std::string& tmp_path, const std::string& sha256, uint64_t size);
  void CleanStaleTemps();

  std::string root_;
  std::string owner_token_;  // "<pid>-<random hex>", in every temp name of this instance
  FileLock owner_lock_;      // held for the instance's life: its temp files are in use
  sqlite3* db_ = nullptr;
  std::mutex mu_;  // guards db_
};

}  // namespace ferry::store
