// Fetching a wheel's core metadata without downloading the wheel:
//   1. a local cache keyed by the wheel's sha256;
//   2. PEP 658/714 "<url>.metadata" when the index advertises it (its sha256 verified);
//   3. otherwise HTTP Range requests: the zip's tail (end of central directory), the central
//      directory, then only the METADATA member (inflated with zlib);
//   4. only then a full download (sha256 verified against the index).
// Requests of many files proceed in parallel rounds through HttpClient::SendAll, so a cold
// resolve is bounded by round trips, not by their sum.
#pragma once

#include <string>
#include <vector>

#include "resolver/pypi/core_metadata.h"
#include "resolver/pypi/simple_index.h"
#include "src/fs.h"
#include "src/http.h"
#include "src/status.h"

namespace ferry::resolver::pypi {

// Which path produced the metadata (for tests and -v output).
enum class MetadataSource { kCache, kMetadataFile, kRange, kFullDownload };

struct FetchedMetadata {
  CoreMetadata metadata;
  std::string raw;  // the METADATA text
  MetadataSource source = MetadataSource::kCache;
};

class WheelMetadataFetcher {
 public:
  // `http` and `fs` are borrowed. `cache_dir` may be empty (no cache). Thread-compatible: one FetchAll at
  // a time per instance.
  WheelMetadataFetcher(HttpClient& http, FileSystem& fs, std::string cache_dir);

  // One result per file, in order. Errors name the index file URL (redacted). A file that is not
  // a wheel is kUser ("... is an sdist: building sdists is not supported yet").
  std::vector<Result<FetchedMetadata>> FetchAll(const std::vector<IndexFile>& files);

  // Counters since construction (for tests and benchmarks).
  int http_requests() const { return http_requests_; }

 private:
  HttpClient& http_;
  FileSystem& fs_;
  std::string cache_dir_;
  int http_requests_ = 0;
};

// Extracts "<dist>.dist-info/METADATA" from a whole wheel held in memory. Pure.
Result<std::string> ExtractMetadataFromWheelBytes(std::string_view zip_bytes,
                                                  std::string_view origin);

}  // namespace ferry::resolver::pypi
