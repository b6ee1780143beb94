// PyPI index access for the resolver: project pages from one or more simple-API indexes, fetched
// in parallel, revalidated with ETag (HttpRequest::use_cache), and the rule that a project is taken
// from the FIRST index that has it (no silent mixing across indexes, which protects against
// dependency confusion) unless mixing is explicitly allowed.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resolver/pypi/simple_index.h"
#include "src/fs.h"
#include "src/http.h"
#include "src/reporter.h"

namespace ferry::resolver::pypi {

struct IndexOptions {
  std::vector<std::string> index_urls;  // primary first, then extra indexes
  // false (default): a project comes from the first index that has it.
  // true: files of all indexes that have the project are merged (like pip's
  // --extra-index-url / uv's --index-strategy unsafe-best-match).
  bool merge_indexes = false;
};

class IndexClient {
 public:
  // All references are borrowed and must outlive the client. Not thread-safe.
  IndexClient(HttpClient& http, FileSystem& fs, Reporter& reporter, IndexOptions options);

  // Fetches the pages of `names` (PEP 503-normalized) that are not loaded yet, in parallel.
  // Errors: unreachable index after retries (kNetwork) or malformed page (kUser), naming the
  // index and project.
  Status Prefetch(const std::vector<std::string>& names);

  // The page of `name` (fetching it if needed); nullptr when no index has the project.
  Result<const ProjectPage*> Page(const std::string& name);

  // Index URL the project was taken from ("" when not found or not loaded).
  std::string SourceIndex(const std::string& name) const;

  int requests() const { return requests_; }

 private:
  HttpRequest PageRequest(const std::string& index_url, const std::string& name) const;

  HttpClient& http_;
  FileSystem& fs_;
  Reporter& reporter_;
  IndexOptions options_;
  struct Entry {
    std::optional<ProjectPage> page;  // nullopt: no index has it
    std::string source;
  };
  std::map<std::string, Entry> pages_;
  int requests_ = 0;
};

}  // namespace ferry::resolver::pypi
