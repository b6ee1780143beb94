// libcurl implementation of HttpClient. See curl_http.h for the behaviour.
//
// Design: every call (Send or SendAll) runs its own curl multi handle on the calling thread;
// all easy handles are taken from a pool and attached to one CURLSH that shares the connection
// cache, DNS cache and TLS sessions, so connections are reused across calls and threads.
// Retries are scheduled inside the multi loop (a waiting list ordered by time), so one slow
// backoff never blocks the other transfers of a SendAll.
#include "src/platform/curl_http.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "src/digest.h"
#include "src/platform/posix_fs.h"

namespace ferry {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxErrorBody = 1 << 20;       // non-2xx bodies kept for sink requests
constexpr uint64_t kMaxReserve = 256ull << 20;  // never trust Content-Length beyond this
constexpr long kBufferSize = 256 * 1024;
constexpr char kCacheMagic[] = "ferry-http-cache 1\n";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Value of the first caller header with this name (case-insensitive), or nullopt.
std::optional<std::string> FindHeader(const HttpHeaders& headers, std::string_view lower_name) {
  for (const auto& [k, v] : headers)
    if (Lower(k) == lower_name) return v;
  return std::nullopt;
}

bool IsUpload(const HttpRequest& r) {
  return !r.body.empty() || !r.body_file.empty() || r.method == "PUT" || r.method == "POST" ||
         r.method == "PATCH";
}

bool IsRetryableCurl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SEND_FAIL_REWIND:
      return true;
    default:
      return false;
  }
}

bool IsRetryableStatus(long code) {
  if (code == 408 || code == 429) return true;
  return code >= 500 && code <= 599 && code != 501 && code != 505;
}

// Secrets that must never appear in a message: the URL's userinfo parts and the values of
// credential-like headers and query parameters.
std::vector<std::string> Secrets(const HttpRequest& r) {
  std::vector<std::string> out;
  const std::string& url = r.url;
  auto scheme = url.find("://");
  if (scheme != std::string::npos) {
    size_t host = scheme + 3;
    size_t path = url.find_first_of("/?#", host);
    size_t at = url.rfind('@', path == std::string::npos ? url.size() : path);
    if (at != std::string::npos && at >= host) {
      std::string userinfo = url.substr(host, at - host);
      out.push_back(userinfo);
      size_t colon = userinfo.find(':');
      if (colon != std::string::npos) {
        out.push_back(userinfo.substr(0, colon));
        out.push_back(userinfo.substr(colon + 1));
      }
    }
  }
  auto q = url.find('?');
  if (q != std::string::npos) {
    // Every query value that RedactUrl hides.
    std::string_view query(url);
    query.remove_prefix(q + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view part = query.substr(0, amp);
      size_t eq = part.find('=');
      if (eq != std::string_view::npos) {
        std::string probe = "http://h/?" + std::string(part);
        if (RedactUrl(probe) != probe) out.emplace_back(part.substr(eq + 1));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  static const char* kSecretHeaders[] = {"authorization", "proxy-authorization", "cookie",
                                         "x-amz-security-token", "x-api-key"};
  for (const auto& [k, v] : r.headers) {
    std::string lk = Lower(k);
    for (const char* s : kSecretHeaders)
      if (lk == s && !v.empty()) {
        out.push_back(v);
        // "AWS4-HMAC-SHA256 Credential=..., Signature=..." and "Bearer tok": hide the parts too.
        size_t sp = v.find(' ');
        if (sp != std::string::npos) out.push_back(v.substr(sp + 1));
      }
  }
  // Longest first so that a prefix does not leave the rest of a longer secret behind.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  out.erase(std::remove_if(out.begin(), out.end(), [](const auto& s) { return s.size() < 3; }),
            out.end());
  return out;
}

std::string Scrub(std::string msg, const HttpRequest& r) {
  // The raw URL first (it would otherwise be hidden piecewise), then each secret.
  auto replace_all = [&msg](const std::string& from, const std::string& to) {
    if (from.empty() || from == to) return;
    for (size_t p = msg.find(from); p != std::string::npos; p = msg.find(from, p + to.size()))
      msg.replace(p, from.size(), to);
  };
  replace_all(r.url, RedactUrl(r.url));
  for (const auto& s : Secrets(r)) replace_all(s, "REDACTED");
  return msg;
}

// Parses Retry-After (delta seconds or an HTTP date) into milliseconds from now.
std::optional<int64_t> ParseRetryAfter(const std::string& value) {
  std::string_view v = Trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return int64_t{1} << 40;
    return std::stoll(std::string(v)) * 1000;
  }
  time_t t = curl_getdate(std::string(v).c_str(), nullptr);
  if (t < 0) return std::nullopt;
  int64_t delta = static_cast<int64_t>(t) - static_cast<int64_t>(std::time(nullptr));
  return std::max<int64_t>(0, delta) * 1000;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::User("writing " + path + ": " + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Cache entry metadata (the JSON line after the magic).
struct CacheMeta {
  std::string etag;
  std::string last_modified;
  HttpHeaders headers;
  uint64_t body_size = 0;
  uint64_t body_offset = 0;  // where the body starts in the file
  uint64_t body_crc32 = 0;
};

std::optional<CacheMeta> ReadCacheMeta(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  // The header (magic + JSON line) is small; read up to 64 KiB to find it.
  std::string head(64 * 1024, '\0');
  ssize_t n = ::pread(fd, head.data(), head.size(), 0);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  head.resize(static_cast<size_t>(n));
  const size_t magic_len = sizeof(kCacheMagic) - 1;
  if (head.compare(0, magic_len, kCacheMagic) != 0) return std::nullopt;
  size_t nl = head.find('\n', magic_len);
  if (nl == std::string::npos) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(head.begin() + magic_len, head.begin() + nl, nullptr,
                                           /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  CacheMeta meta;
  try {
    meta.etag = j.value("etag", "");
    meta.last_modified = j.value("last_modified", "");
    meta.body_size = j.at("body_size").get<uint64_t>();
    meta.body_crc32 = j.at("body_crc32").get<uint64_t>();
    for (const auto& h : j.at("headers"))
      meta.headers.emplace_back(h.at(0).get<std::string>(), h.at(1).get<std::string>());
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  meta.body_offset = nl + 1;
  if (meta.etag.empty() && meta.last_modified.empty()) return std::nullopt;
  return meta;
}

uint64_t BodyCrc32(std::string_view body) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t off = 0;
  while (off < body.size()) {
    uInt n = static_cast<uInt>(std::min<size_t>(body.size() - off, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data() + off), n);
    off += n;
  }
  return crc;
}

// Reads the body of a cache entry; nullopt if it is missing or does not match `meta` (size and
// crc32).
std::optional<std::string> ReadCacheBody(const std::string& path, const CacheMeta& meta) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  if (::fstat(fd, &st) != 0 ||
      static_cast<uint64_t>(st.st_size) != meta.body_offset + meta.body_size) {
    ::close(fd);
    return std::nullopt;
  }
  std::string body(meta.body_size, '\0');
  size_t done = 0;
  while (done < body.size()) {
    ssize_t n = ::pread(fd, body.data() + done, body.size() - done,
                        static_cast<off_t>(meta.body_offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return std::nullopt;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (BodyCrc32(body) != meta.body_crc32) return std::nullopt;
  return body;
}

// RAII for the per-request file descriptor of a body_file upload.
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct MultiFree {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};

enum class BodyMode { kUnknown, kSink, kBuffer, kErrorBuffer };

// One request's state across its attempts.
struct Job {
  const HttpRequest* req = nullptr;
  size_t index = 0;  // position in the caller's request list
  CURL* easy = nullptr;
  std::unique_ptr<curl_slist, SlistFree> headers;
  char errbuf[CURL_ERROR_SIZE] = {0};
  int attempts = 0;
  Clock::time_point not_before{};

  // Per attempt.
  HttpResponse resp;
  BodyMode mode = BodyMode::kUnknown;
  uint64_t sink_bytes = 0;
  Status sink_status;
  Status upload_status;

  // Upload source: req->body, or a region of `file`.
  bool upload = false;
  Fd file;
  uint64_t up_offset = 0;
  uint64_t up_length = 0;
  uint64_t up_pos = 0;

  // Cache.
  bool cacheable = false;
  std::string cache_path;
  std::optional<CacheMeta> cache_meta;
  bool sent_validators = false;
  bool bypass_validators = false;
};

size_t HeaderCallback(char* data, size_t size, size_t nitems, void* userdata) {
  auto* job = static_cast<Job*>(userdata);
  size_t len = size * nitems;
  std::string_view line = Trim(std::string_view(data, len));
  if (line.substr(0, 5) == "HTTP/") {  // a new response (after 100-continue or a redirect)
    job->resp.headers.clear();
    job->mode = BodyMode::kUnknown;
    return len;
  }
  size_t colon = line.find(':');
  if (line.empty() || colon == std::string_view::npos || colon == 0) return len;
  job->resp.headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                 std::string(Trim(line.substr(colon + 1))));
  return len;
}

size_t WriteCallback(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* job = static_cast<Job*>(userdata);
  size_t len = size * nmemb;
  if (job->mode == BodyMode::kUnknown) {
    long code = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &code);
    bool ok = code >= 200 && code < 300;
    if (job->req->sink) {
      job->mode = ok ? BodyMode::kSink : BodyMode::kErrorBuffer;
    } else {
      job->mode = BodyMode::kBuffer;
      curl_off_t cl = -1;
      curl_easy_getinfo(job->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
      // 64 bytes of slack: parsers that need padding after the text (simdjson) can then use
      // the body in place instead of copying it.
      if (cl > 0 && static_cast<uint64_t>(cl) <= kMaxReserve)
        job->resp.body.reserve(static_cast<size_t>(cl) + 64);
    }
  }
  switch (job->mode) {
    case BodyMode::kSink: {
      Status st = job->req->sink(std::string_view(data, len));
      if (!st.ok()) {
        job->sink_status = std::move(st);
        return 0;  // aborts with CURLE_WRITE_ERROR
      }
      job->sink_bytes += len;
      return len;
    }
    case BodyMode::kErrorBuffer: {
      size_t room = kMaxErrorBody - std::min(kMaxErrorBody, job->resp.body.size());
      job->resp.body.append(data, std::min(room, len));
      return len;
    }
    default:
      job->resp.body.append(data, len);
      return len;
  }
}

size_t ReadCallback(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* job = static_cast<Job*>(userdata);
  size_t want = static_cast<size_t>(std::min<uint64_t>(size * nitems, job->up_length - job->up_pos));
  if (want == 0) return 0;
  if (job->file.fd >= 0) {
    ssize_t n;
    do {
      n = ::pread(job->file.fd, buffer, want, static_cast<off_t>(job->up_offset + job->up_pos));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      job->upload_status = Status::User(
          "reading request body " + job->req->body_file + " at offset " +
          std::to_string(job->up_offset + job->up_pos) + ": " +
          (n < 0 ? std::string(std::strerror(errno)) : std::string("file is shorter than expected")));
      return CURL_READFUNC_ABORT;
    }
    job->up_pos += static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }
  std::memcpy(buffer, job->req->body.data() + job->up_pos, want);
  job->up_pos += want;
  return want;
}

int SeekCallback(void* userdata, curl_off_t offset, int origin) {
  auto* job = static_cast<Job*>(userdata);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > job->up_length)
    return CURL_SEEKFUNC_CANTSEEK;
  job->up_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

std::once_flag g_curl_init;

}  // namespace

struct CurlHttpClient::Impl {
  CurlHttpOptions opts;
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;

  std::mutex pool_mu;
  std::vector<CURL*> pool;

  std::mutex rng_mu;
  std::mt19937_64 rng{std::random_device{}()};
  std::atomic<uint64_t> tmp_counter{0};

  explicit Impl(CurlHttpOptions o) : opts(std::move(o)) {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Impl::LockShare);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Impl::UnlockShare);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~Impl() {
    for (CURL* e : pool) curl_easy_cleanup(e);
    pool.clear();
    curl_share_cleanup(share);
  }

  static void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* userptr) {
    static_cast<Impl*>(userptr)->share_locks[static_cast<size_t>(data)].lock();
  }
  static void UnlockShare(CURL*, curl_lock_data data, void* userptr) {
    static_cast<Impl*>(userptr)->share_locks[static_cast<size_t>(data)].unlock();
  }

  CURL* AcquireEasy() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!pool.empty()) {
        CURL* e = pool.back();
        pool.pop_back();
        curl_easy_reset(e);
        return e;
      }
    }
    return curl_easy_init();
  }

  void ReleaseEasy(CURL* e) {
    if (e == nullptr) return;
    std::lock_guard<std::mutex> lock(pool_mu);
    if (pool.size() < 64) {
      pool.push_back(e);
      return;
    }
    curl_easy_cleanup(e);
  }

  int64_t BackoffMs(int attempt_done) {
    int64_t cap = opts.base_backoff_ms;
    for (int i = 1; i < attempt_done && cap < opts.max_backoff_ms; ++i) cap *= 2;
    cap = std::min<int64_t>(cap, opts.max_backoff_ms);
    if (cap <= 0) return 0;
    std::lock_guard<std::mutex> lock(rng_mu);
    return std::uniform_int_distribution<int64_t>(0, cap)(rng);
  }

  std::string CachePath(const HttpRequest& r) {
    std::string accept = FindHeader(r.headers, "accept").value_or("");
    return JoinPath(opts.cache_dir, Sha256Hex(r.url + "\n" + accept) + ".http");
  }

  // Stores body + validators + headers in one file, atomically. Failures are ignored by the
  // caller (a cache that cannot be written only costs a later download).
  Status StoreCache(const Job& job) {
    const HttpResponse& resp = job.resp;
    std::string etag = resp.Header("etag");
    std::string last_modified = resp.Header("last-modified");
    if (etag.empty() && last_modified.empty()) {
      ::unlink(job.cache_path.c_str());
      return Status::Ok();
    }
    nlohmann::json meta = {{"url", RedactUrl(job.req->url)},
                           {"etag", etag},
                           {"last_modified", last_modified},
                           {"body_size", resp.body.size()},
                           {"body_crc32", BodyCrc32(resp.body)},
                           {"headers", nlohmann::json::array()}};
    for (const auto& [k, v] : resp.headers) meta["headers"].push_back({k, v});
    std::string head = kCacheMagic + meta.dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace) + "\n";
    PosixFileSystem fs;
    FERRY_RETURN_IF_ERROR(fs.CreateDirs(opts.cache_dir));
    std::string tmp = job.cache_path + ".tmp." + std::to_string(::getpid()) + "." +
                      std::to_string(tmp_counter.fetch_add(1));
    Fd fd;
    fd.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd.fd < 0) return Status::User("creating " + tmp + ": " + std::strerror(errno));
    Status st = WriteAll(fd.fd, head, tmp);
    if (st.ok()) st = WriteAll(fd.fd, resp.body, tmp);
    // Entries carry their body's size and crc32 and are checked when read, so small ones (index
    // pages: hundreds per resolve) skip fsync; big ones (repodata) are made durable.
    const bool durable = resp.body.size() > (1u << 20);
    if (st.ok() && durable && ::fsync(fd.fd) != 0)
      st = Status::User("fsync " + tmp + ": " + std::strerror(errno));
    if (st.ok() && ::rename(tmp.c_str(), job.cache_path.c_str()) != 0)
      st = Status::User("rename " + tmp + ": " + std::strerror(errno));
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
    return durable ? PosixFsyncDir(opts.cache_dir) : Status::Ok();
  }

  // Prepares the job once (before its first attempt): upload source, cache entry.
  Status Prepare(Job& job) {
    const HttpRequest& r = *job.req;
    job.upload = IsUpload(r) && r.method != "GET" && r.method != "HEAD";
    if (!r.body_file.empty()) {
      if (!r.body.empty())
        return Status::Usage("HTTP request to " + RedactUrl(r.url) +
                             " has both an in-memory body and a body file");
      job.upload = true;
      job.file.fd = ::open(r.body_file.c_str(), O_RDONLY | O_CLOEXEC);
      if (job.file.fd < 0)
        return Status::User("opening request body " + r.body_file + ": " + std::strerror(errno));
      struct stat st;
      if (::fstat(job.file.fd, &st) != 0)
        return Status::User("stat " + r.body_file + ": " + std::strerror(errno));
      uint64_t size = static_cast<uint64_t>(st.st_size);
      uint64_t length = r.body_file_length.value_or(size >= r.body_file_offset
                                                        ? size - r.body_file_offset
                                                        : 0);
      if (r.body_file_offset > size || length > size - r.body_file_offset)
        return Status::User("request body " + r.body_file + ": region [" +
                            std::to_string(r.body_file_offset) + ", " +
                            std::to_string(r.body_file_offset + length) +
                            ") is beyond the end of the file (" + std::to_string(size) +
                            " bytes)");
      job.up_offset = r.body_file_offset;
      job.up_length = length;
    } else if (job.upload) {
      job.up_length = r.body.size();
    }
    job.cacheable = r.use_cache && !opts.cache_dir.empty() && r.method == "GET" && !r.range &&
                    !r.sink && !FindHeader(r.headers, "range") &&
                    !FindHeader(r.headers, "if-none-match") &&
                    !FindHeader(r.headers, "if-modified-since");
    if (job.cacheable) job.cache_path = CachePath(r);
    return Status::Ok();
  }

  // Starts one attempt: configures a pooled easy handle and adds it to `multi`.
  Status StartAttempt(Job& job, CURLM* multi) {
    const HttpRequest& r = *job.req;
    ++job.attempts;
    job.resp = HttpResponse();
    job.mode = BodyMode::kUnknown;
    job.sink_bytes = 0;
    job.sink_status = Status::Ok();
    job.upload_status = Status::Ok();
    job.up_pos = 0;
    job.errbuf[0] = '\0';
    job.sent_validators = false;

    CURL* e = AcquireEasy();
    if (e == nullptr) return Status::Network("curl_easy_init failed for " + RedactUrl(r.url));
    job.easy = e;
    curl_easy_setopt(e, CURLOPT_SHARE, share);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &job);
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job.errbuf);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, opts.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
    if (opts.stall_timeout_ms > 0) {
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                       std::max(1L, static_cast<long>(opts.stall_timeout_ms / 1000)));
    }
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kBufferSize);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &HeaderCallback);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &job);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &WriteCallback);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &job);

    if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (job.upload) {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, kBufferSize);
      curl_easy_setopt(e, CURLOPT_READFUNCTION, &ReadCallback);
      curl_easy_setopt(e, CURLOPT_READDATA, &job);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &SeekCallback);
      curl_easy_setopt(e, CURLOPT_SEEKDATA, &job);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(job.up_length));
      if (r.method != "PUT") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else if (r.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }

    curl_slist* list = nullptr;
    auto add = [&list](const std::string& line) {
      curl_slist* next = curl_slist_append(list, line.c_str());
      if (next != nullptr) list = next;
    };
    for (const auto& [k, v] : r.headers) add(v.empty() ? k + ";" : k + ": " + v);
    if (r.range && !FindHeader(r.headers, "range")) {
      std::string range = "Range: bytes=" + std::to_string(r.range->first) + "-";
      if (r.range->second) range += std::to_string(*r.range->second);
      add(range);
    }
    if (job.upload) {
      if (!FindHeader(r.headers, "content-type")) add("Content-Type: application/octet-stream");
      if (!FindHeader(r.headers, "expect")) add("Expect:");
    }
    if (job.cacheable && !job.bypass_validators) {
      job.cache_meta = ReadCacheMeta(job.cache_path);
      if (job.cache_meta) {
        if (!job.cache_meta->etag.empty()) add("If-None-Match: " + job.cache_meta->etag);
        if (!job.cache_meta->last_modified.empty())
          add("If-Modified-Since: " + job.cache_meta->last_modified);
        job.sent_validators = true;
      }
    }
    job.headers.reset(list);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);

    CURLMcode mc = curl_multi_add_handle(multi, e);
    if (mc != CURLM_OK) {
      job.easy = nullptr;
      ReleaseEasy(e);
      return Status::Network(r.method + " " + RedactUrl(r.url) + ": " + curl_multi_strerror(mc));
    }
    return Status::Ok();
  }

  enum class Next { kDone, kRetry, kRequeue };

  // Decides what follows a finished attempt. kDone stores the result in `out`.
  Next EndAttempt(Job& job, CURLcode rc, std::optional<Result<HttpResponse>>& out) {
    const HttpRequest& r = *job.req;
    long code = 0;
    curl_easy_getinfo(job.easy, CURLINFO_RESPONSE_CODE, &code);
    job.headers.reset();
    std::string what = r.method + " " + RedactUrl(r.url);
    int max_attempts = std::max(1, r.max_attempts);

    if (!job.sink_status.ok()) {
      out = job.sink_status;
      return Next::kDone;
    }
    if (!job.upload_status.ok()) {
      out = job.upload_status.WithContext(what);
      return Next::kDone;
    }

    int64_t delay_ms = -1;  // >= 0: retry after this long
    if (rc != CURLE_OK) {
      std::string detail = job.errbuf[0] != '\0' ? std::string(job.errbuf)
                                                  : std::string(curl_easy_strerror(rc));
      bool restartable = job.sink_bytes == 0 || static_cast<bool>(r.on_restart);
      if (IsRetryableCurl(rc) && restartable && job.attempts < max_attempts) {
        delay_ms = BackoffMs(job.attempts);
      } else {
        std::string msg = what + ": " + detail;
        if (job.sink_bytes > 0 && !r.on_restart && IsRetryableCurl(rc))
          msg += " (after " + std::to_string(job.sink_bytes) +
                 " streamed bytes; not retried without on_restart)";
        msg += " (after " + std::to_string(job.attempts) +
               (job.attempts == 1 ? " attempt)" : " attempts)");
        out = Status::Network(Scrub(msg, r));
        return Next::kDone;
      }
    } else if (IsRetryableStatus(code) && job.attempts < max_attempts) {
      delay_ms = BackoffMs(job.attempts);
      if (auto ra = ParseRetryAfter(job.resp.Header("retry-after")))
        delay_ms = std::max<int64_t>(delay_ms, std::min<int64_t>(*ra, opts.max_retry_after_ms));
    }

    if (delay_ms >= 0) {
      if (r.on_restart) {
        Status st = r.on_restart();
        if (!st.ok()) {
          out = st;
          return Next::kDone;
        }
      }
      job.not_before = Clock::now() + std::chrono::milliseconds(delay_ms);
      return Next::kRetry;
    }

    job.resp.status = code;
    job.resp.attempts = job.attempts;
    if (code == 304 && job.sent_validators) {
      std::optional<std::string> body = ReadCacheBody(job.cache_path, *job.cache_meta);
      if (!body) {
        // The entry vanished or changed under us: ask again without validators.
        job.bypass_validators = true;
        --job.attempts;
        return Next::kRequeue;
      }
      HttpResponse cached;
      cached.status = 200;
      cached.headers = job.cache_meta->headers;
      cached.body = std::move(*body);
      cached.from_cache = true;
      cached.attempts = job.attempts;
      out = std::move(cached);
      return Next::kDone;
    }
    if (job.cacheable && code == 200) (void)StoreCache(job);
    out = std::move(job.resp);
    return Next::kDone;
  }

  std::vector<Result<HttpResponse>> Run(const std::vector<const HttpRequest*>& requests,
                                        int parallelism) {
    parallelism = std::max(1, parallelism);
    const size_t n = requests.size();
    std::vector<std::optional<Result<HttpResponse>>> results(n);
    std::vector<std::unique_ptr<Job>> jobs(n);
    std::deque<Job*> ready;
    std::vector<Job*> waiting;
    size_t remaining = n;

    for (size_t i = 0; i < n; ++i) {
      jobs[i] = std::make_unique<Job>();
      jobs[i]->req = requests[i];
      jobs[i]->index = i;
      Status st = Prepare(*jobs[i]);
      if (!st.ok()) {
        results[i] = st;
        --remaining;
      } else {
        ready.push_back(jobs[i].get());
      }
    }
    auto index_of = [](Job* j) { return j->index; };

    std::unique_ptr<CURLM, MultiFree> multi(curl_multi_init());
    curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS,
                      static_cast<long>(std::max(opts.max_idle_connections, parallelism)));
    int active = 0;

    while (remaining > 0) {
      auto now = Clock::now();
      // Due retries go first: they are older work.
      for (auto it = waiting.begin(); it != waiting.end();) {
        if ((*it)->not_before <= now) {
          ready.push_front(*it);
          it = waiting.erase(it);
        } else {
          ++it;
        }
      }
      while (active < parallelism && !ready.empty()) {
        Job* j = ready.front();
        ready.pop_front();
        Status st = StartAttempt(*j, multi.get());
        if (!st.ok()) {
          results[index_of(j)] = st;
          --remaining;
        } else {
          ++active;
        }
      }
      if (active > 0) {
        int running = 0;
        curl_multi_perform(multi.get(), &running);
        int queued = 0;
        while (CURLMsg* m = curl_multi_info_read(multi.get(), &queued)) {
          if (m->msg != CURLMSG_DONE) continue;
          CURL* e = m->easy_handle;
          CURLcode rc = m->data.result;
          Job* j = nullptr;
          curl_easy_getinfo(e, CURLINFO_PRIVATE, &j);
          curl_multi_remove_handle(multi.get(), e);
          --active;
          std::optional<Result<HttpResponse>> out;
          Next next = EndAttempt(*j, rc, out);
          j->easy = nullptr;
          ReleaseEasy(e);
          switch (next) {
            case Next::kDone:
              results[index_of(j)] = std::move(*out);
              --remaining;
              break;
            case Next::kRetry:
              waiting.push_back(j);
              break;
            case Next::kRequeue:
              ready.push_front(j);
              break;
          }
        }
      }
      if (remaining == 0) break;
      // Wait for socket activity, curl's own timers, or the next due retry.
      int64_t wait_ms = 1000;
      if (!ready.empty() && active < parallelism) wait_ms = 0;
      for (Job* j : waiting) {
        auto d = std::chrono::duration_cast<std::chrono::milliseconds>(j->not_before - Clock::now());
        wait_ms = std::min<int64_t>(wait_ms, std::max<int64_t>(0, d.count()));
      }
      if (wait_ms > 0 || active > 0)
        curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(wait_ms), nullptr);
    }

    std::vector<Result<HttpResponse>> out;
    out.reserve(n);
    for (auto& r : results) out.push_back(std::move(*r));
    return out;
  }
};

CurlHttpClient::CurlHttpClient(CurlHttpOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

CurlHttpClient::~CurlHttpClient() = default;

Result<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  auto results = impl_->Run({&request}, 1);
  return std::move(results.front());
}

std::vector<Result<HttpResponse>> CurlHttpClient::SendAll(const std::vector<HttpRequest>& requests,
                                                          int parallelism) {
  std::vector<const HttpRequest*> ptrs;
  ptrs.reserve(requests.size());
  for (const auto& r : requests) ptrs.push_back(&r);
  return impl_->Run(ptrs, parallelism);
}

}  // namespace ferry
