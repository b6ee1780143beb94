// Fetching conda channel subdirs: http(s):// channels through HttpClient (repodata.json.zst first,
// repodata.json when the .zst is 404), file:// channels through FileSystem. The indexed form is
// kept in a binary cache under `cache_dir` (FERRY_HOME/repodata-cache, one file per subdir URL)
// tagged with the file's URL + ETag/Last-Modified (file://: URL + size + mtime). That cache is
// the only copy kept: a warm load revalidates with the cache's own validators (If-None-Match /
// If-Modified-Since) and on 304 reads nothing but the cache's name directory; a changed ETag
// downloads and indexes again and replaces the cache.
#pragma once

#include <memory>
#include <string>

#include "resolver/index/repodata.h"
#include "src/fs.h"
#include "src/http.h"
#include "src/reporter.h"
#include "src/status.h"

namespace ferry::resolver {

// "https://host/ch/" -> "https://host/ch"; "/abs/path" -> "file:///abs/path". Other inputs
// unchanged.
std::string NormalizeChannelUrl(std::string_view url);

struct LoadStats {
  bool from_parsed_cache = false;
  bool http_not_modified = false;
  uint64_t bytes = 0;  // repodata bytes (uncompressed) indexed or loaded
};

// Loads `<channel_url>/<subdir>/repodata.json[.zst]`. Errors name the channel and file:
// unreachable channel (kNetwork), HTTP error status or missing file (kUser/kNetwork), broken or
// truncated repodata (kUser). A missing `noarch`... is the caller's decision: a 404 for both
// files is kUser "channel X has no <subdir>/repodata.json". `cache_dir` may be empty (no cache).
// A cache-backed index may re-read the subdir later if a damaged cache block shows up (see
// SubdirIndex::set_reloader), so `http`, `fs` and `reporter` must outlive the returned index.
// With `cache_in_background`, a downloaded subdir's cache file is finished on another thread
// while the caller uses the index (SubdirIndex::RunInBackground): it is complete once the index
// is destroyed. Without, it is complete when LoadSubdir returns.
Result<std::unique_ptr<SubdirIndex>> LoadSubdir(const std::string& channel_url,
                                                const std::string& subdir, HttpClient& http,
                                                FileSystem& fs, const std::string& cache_dir,
                                                Reporter& reporter, LoadStats* stats = nullptr,
                                                bool cache_in_background = false);

// Decompresses a zstd frame sequence; kUser on corrupt input (named by `what`).
Result<std::string> ZstdDecompress(std::string_view data, const std::string& what);

}  // namespace ferry::resolver
