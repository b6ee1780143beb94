// s3://bucket/prefix remote store for any S3-compatible service (AWS, radosgw, MinIO ...),
// signed with our own SigV4 signer, over the HttpClient interface.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "store/remote/aws_config.h"
#include "store/remote/object_store.h"

namespace ferry::store {

struct S3Options {
  AwsConfig config;
  std::string bucket;
  std::string prefix;  // without leading/trailing '/'; may be empty

  int list_page_size = 1000;                   // max-keys per ListObjectsV2 page (1..1000)
  uint64_t multipart_threshold = 64ull << 20;  // PutFile: single PUT below this size
  uint64_t part_size = 16ull << 20;            // multipart part size (>= 5 MiB)
  uint64_t download_chunk = 8ull << 20;        // ranged GET size for Download
  int parallelism = 8;                         // concurrent part uploads / ranged GETs
};

// Parses "s3://bucket/some/prefix" into bucket and prefix. kUsage if malformed (no bucket,
// invalid bucket name, characters outside [A-Za-z0-9._~/-] in the prefix).
Status ParseS3Url(const std::string& url, std::string* bucket, std::string* prefix);

// Contracts are those of ObjectStore. In addition:
// - Every request carries x-amz-content-sha256 with the real SHA-256 of its body (for PutFile
//   the caller's PutOptions::sha256 when given), so the server verifies what it stores; a
//   mismatch (XAmzContentSHA256Mismatch/BadDigest) is kIntegrity.
// - Put/PutFile with if_none_match send "If-None-Match: *"; 412 is kUser "... already exists".
// - PutFile uses multipart upload (parallel parts, each with its own sha256) from
//   multipart_threshold; a failed multipart upload is aborted.
// - Download: a first ranged GET of download_chunk bytes (its Content-Range gives the size and
//   its ETag the version, so small objects take one round trip), then parallel ranged GETs of
//   the rest (If-Match the ETag), all written with pwrite at their offsets into a temp file next
//   to dest_path; fsync, re-hash, rename. A mismatch is kIntegrity and nothing is left behind.
// - HTTP errors name the operation, the redacted URL, the status and the S3 error code:
//   credentials problems (SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied, expired
//   tokens) and missing buckets are kUser with a hint; 5xx/429 after retries are kNetwork.
//   Secrets and tokens never appear in messages.
// Thread-safe: requests are signed per call; web-identity credentials are refreshed under a
// mutex 5 minutes before they expire.
class S3ObjectStore : public ObjectStore {
 public:
  // `http` is borrowed and must outlive the store.
  S3ObjectStore(S3Options options, HttpClient& http);

  std::string Describe() const override;
  Result<std::optional<std::string>> Get(const std::string& key) override;
  Status Download(const std::string& key, const std::string& dest_path,
                  const std::optional<std::string>& expected_sha256) override;
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override;
  Status PutFile(const std::string& key, const std::string& path, const PutOptions& opts) override;
  Result<std::optional<uint64_t>> Head(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;

  // Creates the bucket (PUT /bucket). Ok if it already exists and is ours. For tests/setup.
  Status CreateBucket();
  // Deletes one object (DELETE). Ok if it does not exist. For tests/maintenance.
  Status Delete(const std::string& key);

  const S3Options& options() const { return options_; }

 private:
  struct Target {
    std::string url;
    std::string host;
    std::string path;
  };
  Target TargetFor(const std::string& object_key) const;  // "" = the bucket itself
  std::string FullKey(const std::string& key) const;
  Result<AwsCredentials> Credentials();
  // A signed request for `object_key` ("" = bucket) with the given query and headers.
  Result<HttpRequest> Signed(const std::string& method, const std::string& object_key,
                             const std::vector<std::pair<std::string, std::string>>& query,
                             HttpHeaders headers, const std::string& payload_sha256);
  Status ErrorFrom(const std::string& op, const HttpRequest& req, const HttpResponse& resp) const;
  Status MultipartUpload(const std::string& key, const std::string& path, uint64_t size,
                         const PutOptions& opts);

  S3Options options_;
  HttpClient& http_;
  std::string scheme_;     // "http" / "https"
  std::string host_;       // host[:port] as sent in Host (default port omitted)
  std::string base_path_;  // endpoint path prefix, usually ""
  bool path_style_;

  std::mutex creds_mu_;
  AwsCredentials creds_;
  std::chrono::system_clock::time_point creds_expiration_{};
  bool creds_temporary_ = false;
};

}  // namespace ferry::store
