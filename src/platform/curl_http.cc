// Placeholder until the libcurl client lands (issue 2, HTTP work item).
#include "src/platform/curl_http.h"

namespace ferry {
struct CurlHttpClient::Impl {};
CurlHttpClient::CurlHttpClient(CurlHttpOptions) : impl_(std::make_unique<Impl>()) {}
CurlHttpClient::~CurlHttpClient() = default;
Result<HttpResponse> CurlHttpClient::Send(const HttpRequest& r) {
  return Status::Network("HTTP is not implemented yet: " + RedactUrl(r.url));
}
std::vector<Result<HttpResponse>> CurlHttpClient::SendAll(const std::vector<HttpRequest>& rs, int) {
  std::vector<Result<HttpResponse>> out;
  for (const auto& r : rs) out.push_back(Send(r));
  return out;
}
}  // namespace ferry
