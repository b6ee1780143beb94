#include "store/remote/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "src/digest.h"

namespace ferry::store {

std::string UriEncode(std::string_view s, bool encode_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses inner runs of whitespace to one space (SigV4 "Trimall").
std::string TrimAll(std::string_view v) {
  std::string out;
  bool in_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

}  // namespace

SigV4Signed SignV4(const SigV4Request& req, const AwsCredentials& creds, std::string_view region,
                   std::string_view service, std::string_view amz_date) {
  SigV4Signed out;
  out.headers = req.headers;
  out.headers.emplace_back("x-amz-date", std::string(amz_date));
  out.headers.emplace_back("x-amz-content-sha256", req.payload_sha256);
  if (!creds.session_token.empty())
    out.headers.emplace_back("x-amz-security-token", creds.session_token);

  // name -> values in order of appearance (repeated headers are joined with ',').
  std::map<std::string, std::string> canon;
  canon["host"] = TrimAll(req.host);
  for (const auto& [name, value] : out.headers) {
    std::string n = Lower(TrimAll(name));
    auto it = canon.find(n);
    if (it == canon.end() || n == "host") {
      canon[n] = TrimAll(value);
    } else {
      it->second += "," + TrimAll(value);
    }
  }
  std::string canonical_headers, signed_headers;
  for (const auto& [n, v] : canon) {
    canonical_headers += n + ":" + v + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += n;
  }
  out.query_string = CanonicalQueryString(req.query);
  out.canonical_request = req.method + "\n" + (req.path.empty() ? "/" : req.path) + "\n" +
                          out.query_string + "\n" + canonical_headers + "\n" + signed_headers +
                          "\n" + req.payload_sha256;

  std::string date(amz_date.substr(0, 8));
  std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" +
                       Sha256Hex(out.canonical_request);
  std::string k = HmacSha256("AWS4" + creds.secret_access_key, date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  k = HmacSha256(k, "aws4_request");
  out.signature = ToHex(HmacSha256(k, out.string_to_sign));
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
                      ",SignedHeaders=" + signed_headers + ",Signature=" + out.signature;
  out.headers.emplace_back("Authorization", out.authorization);
  return out;
}

std::string AmzDateNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace ferry::store
