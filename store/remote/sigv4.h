// AWS Signature Version 4 (header-based) for S3, over OpenSSL HMAC-SHA256.
// Reference: "Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/http.h"

namespace ferry::store {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials (STS, web identity)

  bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
};

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ are kept, every other byte
// becomes %XX (upper-case hex). '/' is kept unless `encode_slash` (paths keep it, query
// names and values encode it).
std::string UriEncode(std::string_view s, bool encode_slash);

// The canonical query string: every name and value UriEncode'd (slash included), sorted by
// encoded name then value, "name=value" joined by '&' (an empty value keeps its '=').
std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query);

struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  // Value of the Host header exactly as the HTTP client sends it: "bucket.s3.amazonaws.com",
  // "127.0.0.1:7480" (the port only when it is not the scheme's default).
  std::string host;
  // The already-encoded absolute path sent on the wire ("/bucket/dir/key"); it is used verbatim
  // as the canonical URI (S3 does not normalize or double-encode paths).
  std::string path;
  // Query parameters, NOT encoded (the signer encodes them).
  std::vector<std::pair<std::string, std::string>> query;
  // Extra headers to sign and send (x-amz-*, content-md5, if-none-match, range, date ...).
  // Names are case-insensitive; values are trimmed and inner runs of spaces collapsed.
  HttpHeaders headers;
  // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". Sent as x-amz-content-sha256.
  std::string payload_sha256;
};

struct SigV4Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lower-case hex
  std::string authorization;  // the Authorization header value
  std::string query_string;   // canonical query string: use it verbatim in the URL
  // Every header to send besides Host: the request's headers, x-amz-date,
  // x-amz-content-sha256, x-amz-security-token (if a session token is set) and Authorization.
  HttpHeaders headers;
};

// Signs `req` for `region`/`service` at `amz_date` ("YYYYMMDDTHHMMSSZ", UTC). Pure function.
// The secret never appears in the result other than through the signature.
SigV4Signed SignV4(const SigV4Request& req, const AwsCredentials& creds, std::string_view region,
                   std::string_view service, std::string_view amz_date);

// Current UTC time as "YYYYMMDDTHHMMSSZ".
std::string AmzDateNow();

// Raw HMAC-SHA256(key, data).
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace ferry::store
