// HttpClient: the HTTP interface used by the resolver (channels, indexes) and the store (S3).
// The real implementation (libcurl, connection reuse, curl multi, retries, conditional caching)
// is src/platform/curl_http.h. Tests inject faults by wrapping it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/status.h"

namespace ferry {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;

  // Request body: either `body` (in memory) or a region of a file (for large uploads and
  // multipart parts: streamed, never loaded whole).
  std::string body;
  std::string body_file;
  uint64_t body_file_offset = 0;
  std::optional<uint64_t> body_file_length;  // default: to the end of the file

  // Byte range [first, last] (inclusive), sent as "Range: bytes=first-last".
  // last = nullopt means "to the end".
  std::optional<std::pair<uint64_t, std::optional<uint64_t>>> range;

  // When set, the response body is streamed to `sink` instead of buffered in
  // HttpResponse::body. Returning a non-ok status aborts the transfer with that status.
  // If the transfer is retried, `on_restart` is called first (the sink must discard what it
  // received); a streamed request without on_restart is not retried once bytes have arrived.
  std::function<Status(std::string_view chunk)> sink;
  std::function<Status()> on_restart;

  // Conditional-request cache: keep the body with its ETag / Last-Modified in the client's cache
  // directory, revalidate with If-None-Match / If-Modified-Since, and serve the cached body on 304
  // (HttpResponse::from_cache = true). Only for GET without range and without sink.
  bool use_cache = false;

  int max_attempts = 5;  // retries on timeouts, connection errors, 5xx and 429
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(15)};
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  // names lower-cased
  std::string body;     // empty when a sink was used
  bool from_cache = false;
  int attempts = 1;

  // First header with this (lower-case) name, or "".
  std::string Header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Performs one request, with retries. A response with any HTTP status (404, 412, ...) is a
  // success at this level; errors are transport failures after retries (kNetwork) with the
  // URL in the message (credentials and query signatures redacted), or a sink error.
  // Thread-safe.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;

  // Performs many requests in parallel (at most `parallelism` at once) over reused connections.
  // Results are in the order of `requests`. Thread-safe. The default sends them one after
  // another (for clients without parallelism, e.g. test fakes).
  virtual std::vector<Result<HttpResponse>> SendAll(const std::vector<HttpRequest>& requests,
                                                    int parallelism = 16) {
    std::vector<Result<HttpResponse>> out;
    out.reserve(requests.size());
    for (const auto& r : requests) out.push_back(Send(r));
    return out;
  }
};

// Returns `url` with userinfo and sensitive query parameters (X-Amz-Signature, X-Amz-Credential,
// Signature, token, ...) replaced by "REDACTED". Use it in every message that names a URL.
std::string RedactUrl(std::string_view url);

}  // namespace ferry
