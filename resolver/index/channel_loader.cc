#include "resolver/index/channel_loader.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

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
  // Maps the first `size` bytes of an open file (which stays owned by the caller).
  static std::shared_ptr<MappedFile> FromFd(int fd, size_t size) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return nullptr;
    return std::shared_ptr<MappedFile>(new MappedFile(p, size));
  }
  ~MappedFile() { ::munmap(data_, size_); }
  std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

 private:
  MappedFile(void* d, size_t n) : data_(d), size_(n) {}
  void* data_;
  size_t size_;
};

// The parsed cache of one subdir: one file per subdir URL (a new ETag replaces the file).
std::string CachePath(const std::string& cache_dir, const std::string& base) {
  if (cache_dir.empty()) return "";
  return JoinPath(cache_dir, Sha256Hex("ferry-repodata-cache\n" + base) + ".frd");
}

// The key of a parsed cache: the file's URL and the validators it was made from.
std::string CacheKey(const std::string& url, const std::string& v1, const std::string& v2) {
  return "ferry-repodata 2\n" + url + "\n" + v1 + "\n" + v2;
}

struct ParsedKey {
  std::string url, v1, v2;
};
std::optional<ParsedKey> SplitKey(const std::string& key) {
  ParsedKey k;
  std::string_view rest = key;
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    size_t nl = i < 3 ? rest.find('\n') : rest.size();
    if (nl == std::string_view::npos) return std::nullopt;
    parts[i] = rest.substr(0, nl);
    rest.remove_prefix(std::min(rest.size(), nl + 1));
  }
  if (parts[0] != "ferry-repodata 2") return std::nullopt;
  k.url = parts[1];
  k.v1 = parts[2];
  k.v2 = parts[3];
  return k;
}

// The cache file mapped with the key it was saved with, or nothing (missing, not a cache file,
// other version).
struct CacheFile {
  std::shared_ptr<MappedFile> mapped;
  std::string key;
};
std::optional<CacheFile> OpenCache(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto mapped = MappedFile::Open(path);
  if (!mapped) return std::nullopt;
  auto key = SubdirIndex::CacheKeyOf(mapped->view());
  if (!key.ok()) return std::nullopt;
  return CacheFile{std::move(mapped), std::move(key).value()};
}

// The index of a cache file whose key is `key`; an error (logged as info) if it is damaged.
Result<std::unique_ptr<SubdirIndex>> FromCacheFile(CacheFile file, const std::string& key,
                                                   const SubdirIndex::Origin& origin,
                                                   Reporter& reporter) {
  std::string_view view = file.mapped->view();
  auto idx = SubdirIndex::FromCacheView(std::move(file.mapped), view, origin, key);
  if (!idx.ok()) reporter.Info(idx.status().message() + "; re-reading the repodata");
  return idx;
}

// writev(2) of all `pieces`, handling short writes and EINTR.
Status WritePieces(int fd, const std::string& path, const std::vector<std::string_view>& pieces,
                   std::vector<struct iovec>* iov) {
  iov->clear();
  for (std::string_view p : pieces) {
    if (!p.empty()) iov->push_back({const_cast<char*>(p.data()), p.size()});
  }
  size_t i = 0;
  while (i < iov->size()) {
    int cnt = static_cast<int>(std::min<size_t>(iov->size() - i, IOV_MAX));
    ssize_t n = ::writev(fd, &(*iov)[i], cnt);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::User("write " + path + ": " + std::strerror(errno));
    size_t left = static_cast<size_t>(n);  // a short write can end inside a piece
    while (i < iov->size() && left >= (*iov)[i].iov_len) left -= (*iov)[i++].iov_len;
    if (left > 0) {
      (*iov)[i].iov_base = static_cast<char*>((*iov)[i].iov_base) + left;
      (*iov)[i].iov_len -= left;
    }
  }
  return Status::Ok();
}

// A cache file being made: a temp file beside its final path, published by rename without
// fsync (the cache is verified when read: size, footer, CRC-32Cs; see
// docs/formats/repodata-cache.md), removed if not published. A download streams the (decoded)
// repodata body straight into it, so the document exists once, in the page cache: the index is
// built over a mapping of the file (by a StreamIndexer while the body arrives) and only the index
// is appended.
class CacheWriter {
 public:
  static Result<std::unique_ptr<CacheWriter>> Create(FileSystem& fs, const std::string& path) {
    FERRY_RETURN_IF_ERROR(fs.CreateDirs(DirName(path)));
    RemoveAbandoned(fs, path);
    static std::atomic<uint64_t> counter{0};
    std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                      std::to_string(counter.fetch_add(1));
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::User("open " + tmp + ": " + std::strerror(errno));
    return std::unique_ptr<CacheWriter>(new CacheWriter(fd, tmp, path));
  }
  ~CacheWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!published_) ::unlink(tmp_.c_str());
  }
  // Temp files of this cache file left by a process that died (e.g. interrupted during a
  // download: hundreds of MB) are removed; those of live processes are left alone.
  static void RemoveAbandoned(FileSystem& fs, const std::string& path) {
    auto names = fs.ListDir(DirName(path));
    if (!names.ok()) return;
    const std::string prefix = BaseName(path) + ".tmp-";
    for (const std::string& name : *names) {
      if (name.compare(0, prefix.size(), prefix) != 0) continue;
      long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
      if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
      if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        (void)fs.RemoveAll(JoinPath(DirName(path), name));
      }
    }
  }
  Status Append(const std::vector<std::string_view>& pieces) {
    FERRY_RETURN_IF_ERROR(Flush());
    Status s = WritePieces(fd_, tmp_, pieces, &iov_);
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
    for (std::string_view p : pieces) size_ += p.size();
    return s;
  }
  // Appends through a 1 MiB buffer: a download hands over 16 KiB chunks, and one write(2) per
  // chunk costs more than copying them. Bytes reach the file (and size()) when the buffer fills,
  // and before anything else is done with the file.
  Status AppendBuffered(std::string_view chunk) {
    if (buf_.size() + chunk.size() > kBuffer) FERRY_RETURN_IF_ERROR(Flush());
    if (chunk.size() >= kBuffer) return Append(chunk);
    if (buf_.capacity() < kBuffer) buf_.reserve(kBuffer);
    buf_.append(chunk);
    return Status::Ok();
  }
  Status Flush() {
    if (buf_.empty()) return Status::Ok();
    Status s = WritePieces(fd_, tmp_, {buf_}, &iov_);
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
    size_ += buf_.size();
    buf_.clear();
    return s;
  }
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }  // bytes in the file
  // A write failed (disk full, I/O error).
  bool failed() const { return failed_; }
  Status Append(std::string_view piece) { return Append(std::vector<std::string_view>{piece}); }
  // Starts over (a retried download).
  Status Restart() {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) {
      return Status::User("truncate " + tmp_ + ": " + std::strerror(errno));
    }
    size_ = 0;
    buf_.clear();
    return Status::Ok();
  }
  // Ends the body (the whole file so far): appends the 64 zero bytes of padding that follow it
  // in a cache file. Returns the body's size.
  Result<uint64_t> EndBody() {
    FERRY_RETURN_IF_ERROR(Flush());
    const uint64_t size = size_;
    static const std::string padding(kPadding, '\0');
    FERRY_RETURN_IF_ERROR(Append(padding));
    return size;
  }
  // Maps [0, size) of the file (read-only, shared: it sees what is appended later). The mapping
  // outlives this object (and the file's removal).
  Result<std::shared_ptr<MappedFile>> Map(uint64_t size) {
    auto mapped = MappedFile::FromFd(fd_, size);
    if (!mapped) return Status::User("mmap " + tmp_ + ": " + std::strerror(errno));
    return mapped;
  }
  static constexpr size_t kPadding = 64;
  Status Publish() {
    FERRY_RETURN_IF_ERROR(Flush());
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Status::User("close " + tmp_ + ": " + std::strerror(errno));
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      return Status::User("rename " + tmp_ + " -> " + path_ + ": " + std::strerror(errno));
    }
    published_ = true;
    return Status::Ok();
  }

 private:
  CacheWriter(int fd, std::string tmp, std::string path)
      : fd_(fd), tmp_(std::move(tmp)), path_(std::move(path)) {}
  int fd_;
  std::string tmp_, path_;
  bool published_ = false;
  bool failed_ = false;
  uint64_t size_ = 0;
  static constexpr size_t kBuffer = 1 << 20;
  std::string buf_;
  std::vector<struct iovec> iov_;
};

// Indexes a body while it downloads into a CacheWriter's file, on its own thread: the file is
// mapped with room to grow (address space only; the pages are the page cache's), and the thread
// scans what has been written so far, so the index is ready shortly after the last byte.
class StreamIndexer {
 public:
  // Null when the file cannot be mapped (the body is then indexed after the download).
  static std::unique_ptr<StreamIndexer> Start(CacheWriter& w, const SubdirIndex::Origin& origin) {
    auto map = w.Map(kReserve);
    if (!map.ok()) return nullptr;
    return std::unique_ptr<StreamIndexer>(new StreamIndexer(std::move(map).value(), origin));
  }
  ~StreamIndexer() { Stop(); }
  // The writer has appended: the file now holds `written` bytes of the body.
  void Advance(uint64_t written) {
    // Wakes the thread once per step, not per chunk (a wake-up is a context switch).
    if (written < signalled_ + kStep) return;
    signalled_ = written;
    {
      std::lock_guard<std::mutex> lock(mu_);
      written_ = written;
    }
    cv_.notify_one();
  }
  // The body is complete: [0, size) followed by CacheWriter::kPadding bytes of padding. The
  // index keeps the mapping alive. Null if the body outgrew the mapping.
  Result<std::unique_ptr<SubdirIndex>> Finish(uint64_t size, Reporter& reporter) {
    Stop();
    if (size + CacheWriter::kPadding > kReserve) return std::unique_ptr<SubdirIndex>();
    return builder_.Finish(map_, size, size + CacheWriter::kPadding, reporter);
  }

 private:
  // Address space reserved for a body (no memory is committed for it).
  static constexpr uint64_t kReserve = uint64_t{1} << 36;
  StreamIndexer(std::shared_ptr<MappedFile> map, const SubdirIndex::Origin& origin)
      : map_(std::move(map)), builder_(map_->view().data(), origin) {
    thread_ = std::thread([this] { Run(); });
  }
  void Run() {
    uint64_t fed = 0;
    for (;;) {
      uint64_t target;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || written_ > fed; });
        if (stop_) return;
        target = std::min(written_, kReserve);
      }
      if (!builder_.Feed(target).ok()) return;  // the error comes back from Finish
      fed = target;
    }
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  static constexpr uint64_t kStep = 512 * 1024;  // scan in steps of at least this many bytes
  std::shared_ptr<MappedFile> map_;
  SubdirIndex::Builder builder_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t written_ = 0;
  uint64_t signalled_ = 0;  // the writer's side: `written` at the last wake-up
  bool stop_ = false;
  std::thread thread_;
};

// Writes the whole cache (document + index) of an index built in memory.
void WriteCache(FileSystem& fs, const std::string& path, const std::string& key,
                const SubdirIndex& idx, Reporter& reporter) {
  if (path.empty()) return;
  auto w = CacheWriter::Create(fs, path);
  Status s = w.ok() ? Status::Ok() : w.status();
  if (s.ok()) {
    s = idx.SerializeCacheTo(key, [&](const std::vector<std::string_view>& pieces) {
      return (*w)->Append(pieces);
    });
  }
  if (s.ok()) s = (*w)->Publish();
  if (!s.ok()) reporter.Warn("could not write the repodata cache: " + s.message());
}

// Streams a zstd body through the decoder into a CacheWriter.
class ZstdToFile {
 public:
  ZstdToFile() : ctx_(ZSTD_createDCtx()), buf_(1 << 20, '\0') {}
  ~ZstdToFile() { ZSTD_freeDCtx(ctx_); }
  Status Feed(std::string_view data, CacheWriter& out, const std::string& what) {
    if (!ctx_) return Status::User(what + ": out of memory");
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
      last_ = ZSTD_decompressStream(ctx_, &o, &in);
      if (ZSTD_isError(last_)) {
        return Status::User(what + ": corrupt zstd data (" + ZSTD_getErrorName(last_) + ")");
      }
      if (o.pos > 0) FERRY_RETURN_IF_ERROR(out.Append(std::string_view(buf_.data(), o.pos)));
      if (in.pos == in.size && o.pos < o.size) break;
    }
    fed_ = true;
    return Status::Ok();
  }
  void Reset() {
    ZSTD_DCtx_reset(ctx_, ZSTD_reset_session_only);
    last_ = 0;
    fed_ = false;
  }
  Status Finish(const std::string& what) const {
    if (!fed_ || last_ != 0) return Status::User(what + ": truncated zstd data");
    return Status::Ok();
  }

 private:
  ZSTD_DCtx* ctx_;
  std::string buf_;
  size_t last_ = 0;
  bool fed_ = false;
};

Result<std::unique_ptr<SubdirIndex>> Load(const std::string& channel_url,
                                          const std::string& subdir, HttpClient& http,
                                          FileSystem& fs, const std::string& cache_dir,
                                          Reporter& reporter, LoadStats* stats, bool use_cache,
                                          bool cache_in_background);

// After a damaged block shows up in a cache-backed index: drop the file and load again without
// reading the cache (the fresh index is cached again).
void SetReloader(SubdirIndex* idx, const std::string& channel_url, const std::string& subdir,
                 HttpClient& http, FileSystem& fs, const std::string& cache_dir,
                 Reporter& reporter) {
  idx->set_reloader([channel_url, subdir, &http, &fs, cache_dir, &reporter] {
    (void)fs.RemoveAll(CachePath(cache_dir, channel_url + "/" + subdir + "/"));
    LoadStats ignored;
    return Load(channel_url, subdir, http, fs, cache_dir, reporter, &ignored, false, false);
  });
}

Result<std::unique_ptr<SubdirIndex>> Load(const std::string& channel_url,
                                          const std::string& subdir, HttpClient& http,
                                          FileSystem& fs, const std::string& cache_dir,
                                          Reporter& reporter, LoadStats* stats, bool use_cache,
                                          bool cache_in_background) {
  const std::string base = channel_url + "/" + subdir + "/";
  SubdirIndex::Origin origin{channel_url, subdir, "repodata.json"};
  const std::string cache_path = CachePath(cache_dir, base);
  std::optional<CacheFile> cache = use_cache ? OpenCache(cache_path) : std::nullopt;
  auto cached = [&](const std::string& key) -> std::unique_ptr<SubdirIndex> {
    if (!cache || cache->key != key) return nullptr;
    auto idx = FromCacheFile(std::move(*cache), key, origin, reporter);
    cache.reset();
    if (!idx.ok()) return nullptr;
    stats->from_parsed_cache = true;
    SetReloader(idx->get(), channel_url, subdir, http, fs, cache_dir, reporter);
    return std::move(idx).value();
  };

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
    std::string key = CacheKey(base + origin.file, std::to_string(st->size),
                               std::to_string(st->mtime_sec) + "." +
                                   std::to_string(st->mtime_nsec));
    if (auto idx = cached(key)) {
      stats->bytes = idx->record_count();
      return idx;
    }
    FERRY_ASSIGN_OR_RETURN(std::string bytes, fs.ReadFile(dir + "/" + origin.file));
    if (zst) {
      FERRY_ASSIGN_OR_RETURN(bytes, ZstdDecompress(bytes, "channel " + channel_url + ", file " +
                                                              subdir + "/" + origin.file));
    }
    stats->bytes = bytes.size();
    FERRY_ASSIGN_OR_RETURN(auto idx, SubdirIndex::FromJson(std::move(bytes), origin, reporter));
    WriteCache(fs, cache_path, key, *idx, reporter);
    return idx;
  }

  if (!StartsWith(channel_url, "http://") && !StartsWith(channel_url, "https://")) {
    return Status::User("channel " + channel_url +
                        ": unsupported URL (expected http://, https:// or file://)");
  }
  // GET base + file. With a cache dir, a 200 body goes straight (decoded if .zst) into a new
  // cache file, `*writer`; else it is kept in the response.
  bool cache_write_failed = false;
  auto send = [&](const std::string& file, const HttpHeaders& headers,
                  std::unique_ptr<CacheWriter>* writer,
                  std::unique_ptr<StreamIndexer>* stream) -> Result<HttpResponse> {
    const std::string what = "channel " + RedactUrl(channel_url) + ", file " + subdir + "/" + file;
    HttpRequest req;
    req.url = base + file;
    req.headers = headers;
    writer->reset();
    stream->reset();
    SubdirIndex::Origin stream_origin = origin;
    stream_origin.file = file;
    bool to_file = !cache_path.empty();
    for (;;) {
      std::unique_ptr<CacheWriter> w;
      std::unique_ptr<StreamIndexer> indexer;
      ZstdToFile zstd;
      const bool zst = file == "repodata.json.zst";
      req.sink = nullptr;
      req.on_restart = nullptr;
      if (to_file) {
        auto created = CacheWriter::Create(fs, cache_path);
        if (created.ok()) {
          w = std::move(created).value();
          indexer = StreamIndexer::Start(*w, stream_origin);
          req.sink = [&](std::string_view chunk) -> Status {
            FERRY_RETURN_IF_ERROR(zst ? zstd.Feed(chunk, *w, what) : w->AppendBuffered(chunk));
            if (indexer) indexer->Advance(w->size());
            return Status::Ok();
          };
          req.on_restart = [&]() -> Status {
            // What was scanned is gone: stop the indexer before the file shrinks under its
            // mapping, and start over.
            indexer.reset();
            zstd.Reset();
            FERRY_RETURN_IF_ERROR(w->Restart());
            indexer = StreamIndexer::Start(*w, stream_origin);
            return Status::Ok();
          };
        } else {
          reporter.Warn("could not write the repodata cache: " + created.status().message());
        }
      }
      auto r = http.Send(req);
      if (r.ok() && w) {
        Status flushed = w->Flush();  // the last buffered bytes
        if (!flushed.ok()) r = flushed;
      }
      if (!r.ok() && w && w->failed()) {
        // The disk, not the data: download again into memory, without a cache.
        reporter.Warn("could not write the repodata cache: " + r.status().message());
        to_file = false;
        cache_write_failed = true;
        continue;
      }
      if (!r.ok()) {
        if (r.status().code() == Code::kUser) return r.status();  // e.g. corrupt zstd data
        return Status(r.status().code(), "channel " + RedactUrl(channel_url) +
                                             " is unreachable (" + subdir + "/" + file +
                                             "): " + r.status().message());
      }
      // (A client that ignored the sink left the body in the response: the in-memory path.)
      if (w && r->status == 200 && r->body.empty()) {
        if (zst) FERRY_RETURN_IF_ERROR(zstd.Finish(what));
        *writer = std::move(w);
        *stream = std::move(indexer);
      }
      return r;
    }
  };
  auto key_of = [&](const std::string& file, const HttpResponse& r) -> std::string {
    std::string etag = r.Header("etag");
    std::string modified = r.Header("last-modified");
    if (etag.empty() && modified.empty()) return "";  // nothing to revalidate with: no cache
    return CacheKey(base + file, etag, modified);
  };

  // Warm: revalidate the file the cache was made from with the cache's own validators; a 304
  // reads nothing but the cache's name directory.
  HttpResponse resp;
  std::string file;
  std::unique_ptr<CacheWriter> writer;  // the 200 body, when streamed into a new cache file
  std::unique_ptr<StreamIndexer> stream;  // its index, made while it downloaded
  if (cache) {
    std::optional<ParsedKey> k = SplitKey(cache->key);
    if (k && StartsWith(k->url, base) &&
        (k->url.substr(base.size()) == "repodata.json.zst" ||
         k->url.substr(base.size()) == "repodata.json")) {
      file = k->url.substr(base.size());
      origin.file = file;
      HttpHeaders validators;
      if (!k->v1.empty()) validators.emplace_back("If-None-Match", k->v1);
      if (!k->v2.empty()) validators.emplace_back("If-Modified-Since", k->v2);
      FERRY_ASSIGN_OR_RETURN(resp, send(file, validators, &writer, &stream));
      std::string key = cache->key;
      if (resp.status == 304) {
        stats->http_not_modified = true;
        if (auto idx = cached(key)) return idx;
        resp = HttpResponse();  // damaged cache: download again below
      } else if (resp.status == 200 && key_of(file, resp) == key) {
        // A server that ignores conditional requests: same validators, same content.
        stats->http_not_modified = true;
        if (auto idx = cached(key)) return idx;
      } else if (resp.status != 200) {
        resp = HttpResponse();  // e.g. the file went away: look again from the start
      }
    }
  }
  cache.reset();
  if (resp.status != 200) {
    for (const char* f : {"repodata.json.zst", "repodata.json"}) {
      FERRY_ASSIGN_OR_RETURN(auto r, send(f, {}, &writer, &stream));
      if (r.status == 404 || r.status == 403 || r.status == 410) continue;
      if (r.status != 200) {
        return Status::Network("channel " + RedactUrl(channel_url) + ", file " + subdir + "/" + f +
                               ": HTTP " + std::to_string(r.status));
      }
      file = f;
      resp = std::move(r);
      break;
    }
  }
  if (resp.status != 200) {
    return Status::User("channel " + RedactUrl(channel_url) + " has no " + subdir +
                        "/repodata.json (HTTP 404)");
  }
  origin.file = file;
  if (resp.from_cache) stats->http_not_modified = true;
  const std::string key = key_of(file, resp);
  if (writer) {
    // The body is in the new cache file, indexed while it came (or now, in place): append the
    // index, publish.
    FERRY_ASSIGN_OR_RETURN(const uint64_t size, writer->EndBody());
    stats->bytes = size;
    std::unique_ptr<SubdirIndex> idx;
    if (stream) {
      FERRY_ASSIGN_OR_RETURN(idx, stream->Finish(size, reporter));
    }
    if (!idx) {
      const uint64_t capacity = size + CacheWriter::kPadding;
      FERRY_ASSIGN_OR_RETURN(auto mapped, writer->Map(capacity));
      std::string_view json = mapped->view().substr(0, size);
      FERRY_ASSIGN_OR_RETURN(idx, SubdirIndex::FromJsonView(std::move(mapped), json, capacity,
                                                            origin, reporter));
    }
    if (!key.empty()) {
      SubdirIndex* index = idx.get();
      auto finish = [index, key, w = std::shared_ptr<CacheWriter>(std::move(writer)), &reporter] {
        Status s = index->SerializeIndexTo(key, [&](const std::vector<std::string_view>& pieces) {
          return w->Append(pieces);
        });
        if (s.ok()) s = w->Publish();
        if (!s.ok()) reporter.Warn("could not write the repodata cache: " + s.message());
      };
      // The index is complete: the caller may use it while its cache file is finished.
      if (cache_in_background) {
        index->RunInBackground(std::move(finish));
      } else {
        finish();
      }
    }
    return idx;
  }
  std::string bytes = std::move(resp.body);
  resp = HttpResponse();
  if (file == "repodata.json.zst") {
    FERRY_ASSIGN_OR_RETURN(bytes, ZstdDecompress(bytes, "channel " + RedactUrl(channel_url) +
                                                            ", file " + subdir + "/" + file));
  }
  stats->bytes = bytes.size();
  FERRY_ASSIGN_OR_RETURN(auto idx, SubdirIndex::FromJson(std::move(bytes), origin, reporter));
  if (!key.empty() && !cache_write_failed) WriteCache(fs, cache_path, key, *idx, reporter);
  return idx;
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

Result<std::unique_ptr<SubdirIndex>> LoadSubdir(const std::string& channel_url,
                                                const std::string& subdir, HttpClient& http,
                                                FileSystem& fs, const std::string& cache_dir,
                                                Reporter& reporter, LoadStats* stats,
                                                bool cache_in_background) {
  LoadStats local;
  return Load(NormalizeChannelUrl(channel_url), subdir, http, fs, cache_dir, reporter,
              stats ? stats : &local, true, cache_in_background);
}

}  // namespace ferry::resolver
