#include "src/http.h"

#include <algorithm>
#include <cctype>

namespace ferry {

std::string HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return "";
}

static std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // userinfo: scheme://user:pass@host
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto host_start = scheme + 3;
    auto path_start = out.find_first_of("/?#", host_start);
    auto at = out.rfind('@', path_start == std::string::npos ? out.size() : path_start);
    if (at != std::string::npos && at >= host_start) {
      out.replace(host_start, at - host_start, "REDACTED");
    }
  }
  auto q = out.find('?');
  if (q == std::string::npos) return out;
  std::string result = out.substr(0, q + 1);
  std::string query = out.substr(q + 1);
  size_t pos = 0;
  bool first = true;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    std::string part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = part.find('=');
    std::string key = Lower(part.substr(0, eq));
    static const char* kSecret[] = {"x-amz-signature", "x-amz-credential", "x-amz-security-token",
                                    "signature", "sig", "token", "access_token", "password",
                                    "awsaccesskeyid", "key", "secret"};
    bool secret = std::any_of(std::begin(kSecret), std::end(kSecret),
                              [&](const char* s) { return key == s; });
    if (!first) result += "&";
    first = false;
    result += secret && eq != std::string::npos ? part.substr(0, eq) + "=REDACTED" : part;
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return result;
}

}  // namespace ferry
