#include "resolver/index/channel_loader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "src/digest.h"

namespace ferry::resolver {
namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A read-only private mapping of a whole file (the parsed cache): a warm load touches only the
// name directory and the blocks of the names the solver reaches. One RAII owner per mapping.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    struct stat st;
    if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
      ::close(fd);
      return nullptr;
    }
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return nullptr;
    return std::shared_ptr<MappedFile>(new MappedFile(p, static_cast<size_t>(st.st_size)));
  }
  ~MappedFile() { ::munmap(data_, size_); }
  std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

 private:
  MappedFile(void* d, size_t n) : data_(d), size_(n) {}
  void* data_;
  size_t size_;
};

// Uses the parsed cache when `key` is non-empty and a valid entry exists.
Result<std::unique_ptr<SubdirIndex>> TryCache(FileSystem& fs, const std::string& cache_dir,
                                              const std::string& key,
                                              const SubdirIndex::Origin& origin,
                                              Reporter& reporter) {
  if (cache_dir.empty() || key.empty()) return Status::User("no cache");
  std::string path = JoinPath(cache_dir, Sha256Hex(key) + ".frd");
  auto st = fs.Stat(path);
  if (!st.ok() || !st->exists) return Status::User("no cache");
  Result<std::unique_ptr<SubdirIndex>> idx = Status::User("unread");
  if (auto mapped = MappedFile::Open(path)) {
    std::string_view view = mapped->view();
    idx = SubdirIndex::FromCacheView(std::move(mapped), view, origin, key);
  } else {
    auto bytes = fs.ReadFile(path);
    if (!bytes.ok()) return bytes.status();
    idx = SubdirIndex::FromCache(std::move(bytes).value(), origin, key);
  }
  if (!idx.ok()) reporter.Info(idx.status().message() + "; re-reading the repodata");
  return idx;
}

void WriteCache(FileSystem& fs, const std::string& cache_dir, const std::string& key,
                const SubdirIndex& idx, Reporter& reporter) {
  if (cache_dir.empty() || key.empty()) return;
  Status s = fs.CreateDirs(cache_dir);
  if (s.ok()) {
    s = fs.WriteFileAtomic(JoinPath(cache_dir, Sha256Hex(key) + ".frd"), idx.SerializeCache(key));
  }
  if (!s.ok()) reporter.Warn("could not write the repodata cache: " + s.message());
}

}  // namespace

std::string NormalizeChannelUrl(std::string_view url) {
  std::string u(url);
  if (!u.empty() && u[0] == '/') u = "file://" + u;
  while (u.size() > 1 && u.back() == '/' && !(u.size() >= 3 && u.compare(u.size() - 3, 3, "://") == 0)) {
    u.pop_back();
  }
  return u;
}

Result<std::string> ZstdDecompress(std::string_view data, const std::string& what) {
  std::string out;
  unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size != ZSTD_CONTENTSIZE_ERROR && size != ZSTD_CONTENTSIZE_UNKNOWN &&
      size < (8ULL << 30)) {
    out.reserve(size + 64);
  }
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (!ctx) return Status::User(what + ": out of memory");
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t last = 0;
  std::string chunk(1 << 20, '\0');
  // Decode until every frame is complete (`last == 0`) and all input is consumed, or until the
  // decoder can make no more progress (input exhausted mid-frame: truncated).
  for (;;) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    last = ZSTD_decompressStream(ctx, &o, &in);
    if (ZSTD_isError(last)) {
      std::string err = ZSTD_getErrorName(last);
      ZSTD_freeDCtx(ctx);
      return Status::User(what + ": corrupt zstd data (" + err + ")");
    }
    out.append(chunk.data(), o.pos);
    if (in.pos == in.size && (last == 0 || o.pos < o.size)) break;
  }
  ZSTD_freeDCtx(ctx);
  if (last != 0) return Status::User(what + ": truncated zstd data");
  return out;
}

Result<std::unique_ptr<SubdirIndex>> LoadSubdir(const std::string& channel_url_in,
                                                const std::string& subdir, HttpClient& http,
                                                FileSystem& fs, const std::string& cache_dir,
                                                Reporter& reporter, LoadStats* stats) {
  LoadStats local;
  if (!stats) stats = &local;
  const std::string channel_url = NormalizeChannelUrl(channel_url_in);
  const std::string base = channel_url + "/" + subdir + "/";
  SubdirIndex::Origin origin{channel_url, subdir, "repodata.json"};

  if (StartsWith(channel_url, "file://")) {
    std::string dir = channel_url.substr(7) + "/" + subdir;
    bool zst = false;
    auto st = fs.Stat(dir + "/repodata.json");
    if (!st.ok()) return st.status();
    if (!st->exists) {
      st = fs.Stat(dir + "/repodata.json.zst");
      if (!st.ok()) return st.status();
      if (!st->exists) {
        return Status::User("channel " + channel_url + " has no " + subdir +
                            "/repodata.json (looked in " + dir + ")");
      }
      zst = true;
      origin.file = "repodata.json.zst";
    }
    std::string key = "ferry-repodata 1\n" + base + origin.file + "\n" +
                      std::to_string(st->size) + "\n" + std::to_string(st->mtime_sec);
    auto cached = TryCache(fs, cache_dir, key, origin, reporter);
    if (cached.ok()) {
      stats->from_parsed_cache = true;
      stats->bytes = (*cached)->record_count();
      return cached;
    }
    FERRY_ASSIGN_OR_RETURN(std::string bytes, fs.ReadFile(dir + "/" + origin.file));
    if (zst) {
      FERRY_ASSIGN_OR_RETURN(bytes, ZstdDecompress(bytes, "channel " + channel_url + ", file " +
                                                              subdir + "/" + origin.file));
    }
    stats->bytes = bytes.size();
    FERRY_ASSIGN_OR_RETURN(auto idx, SubdirIndex::FromJson(std::move(bytes), origin, reporter));
    WriteCache(fs, cache_dir, key, *idx, reporter);
    return idx;
  }

  if (!StartsWith(channel_url, "http://") && !StartsWith(channel_url, "https://")) {
    return Status::User("channel " + channel_url +
                        ": unsupported URL (expected http://, https:// or file://)");
  }
  HttpResponse resp;
  bool zst = true;
  for (const char* file : {"repodata.json.zst", "repodata.json"}) {
    HttpRequest req;
    req.url = base + file;
    req.use_cache = true;
    auto r = http.Send(req);
    if (!r.ok()) {
      return Status(r.status().code(), "channel " + RedactUrl(channel_url) + " is unreachable (" +
                                           subdir + "/" + file + "): " + r.status().message());
    }
    if (r->status == 404 || r->status == 403 || r->status == 410) {
      zst = false;
      continue;
    }
    if (r->status != 200) {
      return Status::Network("channel " + RedactUrl(channel_url) + ", file " + subdir + "/" +
                             file + ": HTTP " + std::to_string(r->status));
    }
    origin.file = file;
    resp = std::move(r).value();
    break;
  }
  if (resp.status != 200) {
    return Status::User("channel " + RedactUrl(channel_url) + " has no " + subdir +
                        "/repodata.json (HTTP 404)");
  }
  stats->http_not_modified = resp.from_cache;
  std::string etag = resp.Header("etag");
  std::string modified = resp.Header("last-modified");
  std::string key;
  if (!etag.empty() || !modified.empty()) {
    key = "ferry-repodata 1\n" + base + origin.file + "\n" + etag + "\n" + modified;
  }
  auto cached = TryCache(fs, cache_dir, key, origin, reporter);
  if (cached.ok()) {
    stats->from_parsed_cache = true;
    return cached;
  }
  std::string bytes = std::move(resp.body);
  if (zst) {
    FERRY_ASSIGN_OR_RETURN(bytes, ZstdDecompress(bytes, "channel " + RedactUrl(channel_url) +
                                                            ", file " + subdir + "/" +
                                                            origin.file));
  }
  stats->bytes = bytes.size();
  FERRY_ASSIGN_OR_RETURN(auto idx, SubdirIndex::FromJson(std::move(bytes), origin, reporter));
  WriteCache(fs, cache_dir, key, *idx, reporter);
  return idx;
}

}  // namespace ferry::resolver
