// file:///path remote store: a directory (typically a shared file system) with the same
// semantics as the S3 backend.
#pragma once

#include <string>

#include "store/remote/object_store.h"

namespace ferry::store {

// Every publish is atomic: the bytes go to a temp file ".ferry-tmp-*" in the destination
// directory, are fsynced, verified against PutOptions::sha256, then renamed into place (or,
// for if_none_match, hard-linked with link(2), which fails with EEXIST instead of replacing —
// the O_EXCL equivalent for a whole file), and the directory is fsynced. Temp files are never
// listed. Keys are validated: no empty, "." or ".." segments, no leading '/'.
// Thread-safe and safe for many processes on the same directory.
class FileObjectStore : public ObjectStore {
 public:
  // `root` is an absolute directory path; it is created on the first write.
  explicit FileObjectStore(std::string root);

  std::string Describe() const override;
  Result<std::optional<std::string>> Get(const std::string& key) override;
  Status Download(const std::string& key, const std::string& dest_path,
                  const std::optional<std::string>& expected_sha256) override;
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override;
  Status PutFile(const std::string& key, const std::string& path, const PutOptions& opts) override;
  Result<std::optional<uint64_t>> Head(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;

  const std::string& root() const { return root_; }

 private:
  Result<std::string> PathOf(const std::string& key) const;
  std::string root_;
};

// Validates an object key (shared by the backends): non-empty, no leading/trailing '/', no
// empty, "." or ".." segments, only [A-Za-z0-9._~/-]. kUser naming the key otherwise.
Status ValidateObjectKey(const std::string& key);

// Copies `src_fd` (from its current offset) into a new temp file next to `dest_path`, hashing
// as it goes, verifies against `expected_sha256` (kIntegrity on mismatch, temp removed),
// fsyncs and renames into place. Used by file:// Download. Exposed for the S3 backend's tests.
Status CopyVerifiedAtomic(int src_fd, const std::string& src_name, const std::string& dest_path,
                          const std::optional<std::string>& expected_sha256);

// mkdir -p. Ok if it exists; kUser naming the directory otherwise.
Status MakeDirs(const std::string& dir);

// fsync(2) of a directory (after a rename into it). kUser naming the directory on failure.
Status FsyncDirectory(const std::string& dir);

// A fresh temp-file path in the same directory as `dest` (".ferry-tmp-<pid>-<n>"); these names
// are never listed by FileObjectStore and are rejected as keys.
std::string TempPathNextTo(const std::string& dest);

}  // namespace ferry::store
