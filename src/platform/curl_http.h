// libcurl implementation of HttpClient: connection reuse (a pool of easy handles sharing a
// connection cache), many transfers in parallel (curl multi), Range requests, ETag/If-None-Match
// and Last-Modified caching on disk, retries with exponential backoff and full jitter on
// timeouts, connection errors, 5xx and 429 (honouring Retry-After), errors naming the URL with
// credentials and query signatures redacted.
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
};

class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpOptions options = {});
  ~CurlHttpClient() override;
  Result<HttpResponse> Send(const HttpRequest& request) override;
  std::vector<Result<HttpResponse>> SendAll(const std::vector<HttpRequest>& requests,
                                            int parallelism = 16) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry
