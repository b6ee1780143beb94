// ObjectStore: the remote store backends (SPEC.md §5) behind one small interface.
// Implementations: file:///path (file_object_store.h) and s3://bucket/prefix (s3_object_store.h).
// Keys are relative to the store root ("v1/blobs/sha256/ab/ab12..."), always '/'-separated and
// made of [A-Za-z0-9._~/-] plus ':' is NOT allowed (names are validated before they get here).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/http.h"
#include "src/status.h"

namespace ferry::store {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

struct PutOptions {
  // If set, the backend checks the body against it (S3: x-amz-content-sha256, so the server
  // verifies integrity too; file://: re-hash before the rename).
  std::optional<std::string> sha256;
  // Conditional create (S3: If-None-Match: *). If the key exists the put fails with
  // kUser and a message containing "already exists"; nothing is overwritten.
  bool if_none_match = false;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Human-readable root ("s3://bucket/prefix", "file:///path"), never with credentials.
  virtual std::string Describe() const = 0;

  // Reads a whole small object (manifests, pointers). nullopt when it does not exist.
  virtual Result<std::optional<std::string>> Get(const std::string& key) = 0;

  // Streams an object to a local file path, atomically (temp + rename), using parallel ranged
  // GETs (8-16 MB) for large objects. Missing parent directories of `dest_path` are created. If expected_sha256 is given, the bytes are re-hashed and
  // a mismatch is kIntegrity with nothing left at `dest`. Not-found is kUser naming the key.
  virtual Status Download(const std::string& key, const std::string& dest_path,
                          const std::optional<std::string>& expected_sha256) = 0;

  // Uploads a small in-memory object (manifest, pointer).
  virtual Status Put(const std::string& key, std::string_view data, const PutOptions& opts) = 0;

  // Uploads a local file (blobs); large files use multipart upload with parallel parts.
  virtual Status PutFile(const std::string& key, const std::string& path,
                         const PutOptions& opts) = 0;

  // Size if the object exists, nullopt otherwise.
  virtual Result<std::optional<uint64_t>> Head(const std::string& key) = 0;

  // Every object whose key starts with `prefix` (paginated internally), sorted by key.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
};

// Opens "s3://bucket/prefix" or "file:///path". S3 settings come from the standard AWS variables
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION/AWS_DEFAULT_REGION,
// AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL, AWS_PROFILE + ~/.aws/credentials, web identity).
// `http` is borrowed and must outlive the store. Unknown scheme: kUsage.
Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& url, HttpClient& http);

}  // namespace ferry::store
