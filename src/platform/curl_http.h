// libcurl implementation of HttpClient: connection reuse (a pool of easy handles sharing a
// connection cache), many transfers in parallel (curl multi), Range requests, ETag/If-None-Match
// and Last-Modified caching on disk, retries with exponential backoff and full jitter on
// timeouts, connection errors, 5xx and 429 (honouring Retry-After), errors naming the URL with
// credentials and query signatures redacted.
//
// Behaviour beyond the HttpClient contract (src/http.h):
// - Methods: GET, HEAD (no body is read), PUT/POST/PATCH/DELETE/... . A request with a body
//   (`body` or `body_file`) or with method PUT/POST/PATCH is sent as an upload with a
//   Content-Length; the body is streamed from memory or from the file region with pread, never
//   copied. "Content-Type: application/octet-stream" is added unless the caller set a
//   Content-Type; "Expect: 100-continue" is suppressed unless the caller set Expect.
//   A missing or short body file is a kUser error naming the file.
// - Sinks: only the body of a 2xx response goes to `sink`. Bodies of other statuses (error
//   documents, 5xx pages of retried attempts) are buffered in HttpResponse::body (at most 1 MiB)
//   so the caller can report them; the sink never sees them.
// - Range: the caller must check for 206: a server that ignores Range answers 200 with the whole
//   body. Other range forms (suffix "bytes=-N") can be sent as a literal "Range" header.
// - Retries: on timeouts, connection/transport errors, 408, 429 and 5xx except 501/505, up to
//   request.max_attempts attempts in total. Wait before attempt n+1: uniform random in
//   [0, min(max_backoff_ms, base_backoff_ms * 2^(n-1))] (full jitter), or Retry-After (seconds
//   or an HTTP date) when larger, capped at max_retry_after_ms. When the attempts run out on a
//   retryable status, that response is returned (not an error). HttpResponse::attempts counts
//   the attempts made.
// - Cache (use_cache with a cache_dir, GET without range and sink): one file per (URL, Accept)
//   under cache_dir named sha256(url + "\n" + accept) + ".http", holding the validators, the
//   response headers and the body, written atomically (temp, fsync, rename). A 304 answer to
//   our If-None-Match / If-Modified-Since returns status 200, the cached headers and body, and
//   from_cache = true. A 200 without validators deletes the entry. A corrupt entry is ignored.
//   Format: "ferry-http-cache 1\n" + one line of JSON {url (redacted), etag, last_modified,
//   headers, body_size} + "\n" + the body bytes.
// - Redirects are followed (at most 10, http/https only); only http and https URLs are allowed.
// - Errors: kNetwork "<METHOD> <redacted url>: <curl error> (after N attempts)"; credentials from
//   the URL and Authorization-like header values never appear in a message.
#pragma once

#include <memory>
#include <string>

#include "src/http.h"

namespace ferry {

struct CurlHttpOptions {
  std::string cache_dir;  // for HttpRequest::use_cache; empty disables the cache
  std::string user_agent = "ferry/0.1";
  int base_backoff_ms = 200;   // first retry waits up to this (full jitter), doubling each time
  int max_backoff_ms = 10000;
  int max_retry_after_ms = 30000;  // a server's Retry-After is honoured up to this
  int max_idle_connections = 64;   // idle connections kept open for reuse (all hosts together)
  // A transfer that moves no bytes for this long is aborted (and retried) even before
  // HttpRequest::timeout; 0 disables.
  int stall_timeout_ms = 60000;
};

class CurlHttpClient : public HttpClient {
 public:
  // Never fails; libcurl is initialised once per process on first construction.
  explicit CurlHttpClient(CurlHttpOptions options = {});
  // All Send/SendAll calls must have returned.
  ~CurlHttpClient() override;
  // See HttpClient. Thread-safe: concurrent calls share connections and the DNS cache.
  Result<HttpResponse> Send(const HttpRequest& request) override;
  // See HttpClient. parallelism < 1 is treated as 1. The requests (and their sinks) must stay
  // valid until the call returns; sinks of different requests may be called from this thread
  // in any interleaving, never concurrently.
  std::vector<Result<HttpResponse>> SendAll(const std::vector<HttpRequest>& requests,
                                            int parallelism = 16) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry
