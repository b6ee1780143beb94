// S3 client settings from the standard AWS sources: environment variables, AWS_PROFILE with
// ~/.aws/credentials and ~/.aws/config, and the web-identity token file (Kubernetes IRSA).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "src/http.h"
#include "src/status.h"
#include "store/remote/sigv4.h"

namespace ferry::store {

// Environment lookup (tests inject a map; production uses getenv).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// INI as the AWS CLI writes it: "[section]" headers, "key = value" lines, '#'/';' comments,
// keys lower-cased, values trimmed. Indented continuation lines (nested "s3 =" blocks) are
// stored under "<parent>.<key>" (e.g. "s3.endpoint_url").
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile ParseIni(std::string_view text);

struct AwsConfig {
  AwsCredentials credentials;  // empty when web identity is to be used (or none found)
  std::string region = "us-east-1";
  // Scheme + host[:port], no trailing slash: "https://s3.eu-west-1.amazonaws.com" or a custom
  // endpoint such as "http://127.0.0.1:7480".
  std::string endpoint;
  bool custom_endpoint = false;
  // Path-style ("endpoint/bucket/key") vs virtual-hosted ("bucket.endpoint/key").
  bool path_style = false;

  // Web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or the profile's
  // web_identity_token_file + role_arn). Used when no static credentials were found.
  std::string web_identity_token_file;
  std::string role_arn;
  std::string role_session_name;
  std::string sts_endpoint;  // "https://sts.<region>.amazonaws.com" or AWS_ENDPOINT_URL_STS

  // Where the credentials came from ("environment", "profile default (~/.aws/credentials)",
  // "web identity", "none"), for messages. Never contains secrets.
  std::string credential_source = "none";

  bool UsesWebIdentity() const {
    return credentials.empty() && !web_identity_token_file.empty() && !role_arn.empty();
  }
};

// Resolves the configuration. Precedence:
//   credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN) > web identity from
//     env > the profile (AWS_PROFILE, else "default") in AWS_SHARED_CREDENTIALS_FILE
//     (~/.aws/credentials) > the same profile in AWS_CONFIG_FILE (~/.aws/config) > the
//     profile's web_identity_token_file/role_arn.
//   region: AWS_REGION > AWS_DEFAULT_REGION > profile region > us-east-1.
//   endpoint: AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > profile endpoint_url (or s3.endpoint_url)
//     > https://s3.<region>.amazonaws.com.
//   path style: FERRY_S3_PATH_STYLE or AWS_S3_FORCE_PATH_STYLE (1/true/yes => on, 0/false/no =>
//     off) > on for custom endpoints, off for AWS.
// `home` is the directory holding .aws/. An explicitly named AWS_PROFILE that exists nowhere is
// kUser. Missing files are fine.
Result<AwsConfig> LoadAwsConfig(const EnvLookup& env, const std::string& home);

// Temporary credentials with their expiry.
struct TemporaryCredentials {
  AwsCredentials credentials;
  std::chrono::system_clock::time_point expiration;
};

// Parses an STS AssumeRoleWithWebIdentity (or AssumeRole) response body. An <ErrorResponse>
// becomes kUser with the STS error code and message.
Result<TemporaryCredentials> ParseStsCredentials(std::string_view xml);

// Calls STS AssumeRoleWithWebIdentity (unsigned POST, form-encoded) with the token read from
// cfg.web_identity_token_file. Errors name the token file or the STS URL, never the token.
Result<TemporaryCredentials> AssumeRoleWithWebIdentity(HttpClient& http, const AwsConfig& cfg);

// Parses "2026-11-22T07:00:00Z" (ISO 8601 UTC, optional fraction). nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> ParseIso8601(std::string_view s);

}  // namespace ferry::store
