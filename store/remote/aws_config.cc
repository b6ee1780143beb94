#include "store/remote/aws_config.h"

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "store/remote/xml.h"

namespace ferry::store {

namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  if (v && !v->empty()) return v;
  return std::nullopt;
}

std::optional<bool> ParseBool(const std::string& v) {
  std::string l = Lower(Trim(v));
  if (l == "1" || l == "true" || l == "yes" || l == "on") return true;
  if (l == "0" || l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::string StripTrailingSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

IniFile ParseIni(std::string_view text) {
  IniFile out;
  std::string section;
  std::string parent;  // last key with an empty value (start of a nested block)
  size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    bool indented = !raw.empty() && (raw[0] == ' ' || raw[0] == '\t');
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      parent.clear();
      out[section];
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    std::string key = Lower(Trim(std::string_view(line).substr(0, eq)));
    std::string value = Trim(std::string_view(line).substr(eq + 1));
    if (indented && !parent.empty()) {
      out[section][parent + "." + key] = value;
      continue;
    }
    out[section][key] = value;
    parent = value.empty() ? key : std::string();
  }
  return out;
}

Result<AwsConfig> LoadAwsConfig(const EnvLookup& env, const std::string& home) {
  AwsConfig cfg;
  std::string profile = NonEmpty(env, "AWS_PROFILE")
                            .value_or(NonEmpty(env, "AWS_DEFAULT_PROFILE").value_or("default"));
  bool profile_explicit = NonEmpty(env, "AWS_PROFILE") || NonEmpty(env, "AWS_DEFAULT_PROFILE");

  std::string creds_path = NonEmpty(env, "AWS_SHARED_CREDENTIALS_FILE")
                               .value_or(home.empty() ? "" : home + "/.aws/credentials");
  std::string config_path =
      NonEmpty(env, "AWS_CONFIG_FILE").value_or(home.empty() ? "" : home + "/.aws/config");
  IniFile creds_ini, config_ini;
  if (!creds_path.empty())
    if (auto t = ReadWholeFile(creds_path)) creds_ini = ParseIni(*t);
  if (!config_path.empty())
    if (auto t = ReadWholeFile(config_path)) config_ini = ParseIni(*t);
  const std::map<std::string, std::string>* creds_sec = nullptr;
  const std::map<std::string, std::string>* config_sec = nullptr;
  if (auto it = creds_ini.find(profile); it != creds_ini.end()) creds_sec = &it->second;
  std::string config_name = profile == "default" ? "default" : "profile " + profile;
  if (auto it = config_ini.find(config_name); it != config_ini.end())
    config_sec = &it->second;
  else if (auto it2 = config_ini.find(profile); it2 != config_ini.end())
    config_sec = &it2->second;
  if (profile_explicit && !creds_sec && !config_sec) {
    return Status::User("AWS profile '" + profile + "' (AWS_PROFILE) is not defined in " +
                        creds_path + " or " + config_path);
  }
  auto get = [](const std::map<std::string, std::string>* sec,
                const std::string& key) -> std::optional<std::string> {
    if (!sec) return std::nullopt;
    auto it = sec->find(key);
    if (it == sec->end() || it->second.empty()) return std::nullopt;
    return it->second;
  };

  // Region.
  if (auto r = NonEmpty(env, "AWS_REGION"))
    cfg.region = *r;
  else if (auto r2 = NonEmpty(env, "AWS_DEFAULT_REGION"))
    cfg.region = *r2;
  else if (auto r3 = get(config_sec, "region"))
    cfg.region = *r3;

  // Credentials.
  auto env_key = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  auto env_secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  if (env_key && env_secret) {
    cfg.credentials = {*env_key, *env_secret, NonEmpty(env, "AWS_SESSION_TOKEN").value_or("")};
    cfg.credential_source = "environment (AWS_ACCESS_KEY_ID)";
  } else if (NonEmpty(env, "AWS_WEB_IDENTITY_TOKEN_FILE") && NonEmpty(env, "AWS_ROLE_ARN")) {
    cfg.web_identity_token_file = *NonEmpty(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    cfg.role_arn = *NonEmpty(env, "AWS_ROLE_ARN");
    cfg.role_session_name = NonEmpty(env, "AWS_ROLE_SESSION_NAME").value_or("");
    cfg.credential_source = "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)";
  } else if (get(creds_sec, "aws_access_key_id") && get(creds_sec, "aws_secret_access_key")) {
    cfg.credentials = {*get(creds_sec, "aws_access_key_id"),
                       *get(creds_sec, "aws_secret_access_key"),
                       get(creds_sec, "aws_session_token").value_or("")};
    cfg.credential_source = "profile " + profile + " (" + creds_path + ")";
  } else if (get(config_sec, "aws_access_key_id") && get(config_sec, "aws_secret_access_key")) {
    cfg.credentials = {*get(config_sec, "aws_access_key_id"),
                       *get(config_sec, "aws_secret_access_key"),
                       get(config_sec, "aws_session_token").value_or("")};
    cfg.credential_source = "profile " + profile + " (" + config_path + ")";
  } else if (get(config_sec, "web_identity_token_file") && get(config_sec, "role_arn")) {
    cfg.web_identity_token_file = *get(config_sec, "web_identity_token_file");
    cfg.role_arn = *get(config_sec, "role_arn");
    cfg.role_session_name = get(config_sec, "role_session_name").value_or("");
    cfg.credential_source = "web identity (profile " + profile + ")";
  }
  if (cfg.role_session_name.empty())
    cfg.role_session_name = "ferry-" + std::to_string(::time(nullptr));

  // Endpoint.
  std::optional<std::string> endpoint = NonEmpty(env, "AWS_ENDPOINT_URL_S3");
  if (!endpoint) endpoint = NonEmpty(env, "AWS_ENDPOINT_URL");
  if (!endpoint) endpoint = get(config_sec, "s3.endpoint_url");
  if (!endpoint) endpoint = get(config_sec, "endpoint_url");
  if (endpoint) {
    cfg.endpoint = StripTrailingSlash(Trim(*endpoint));
    if (cfg.endpoint.find("://") == std::string::npos) cfg.endpoint = "https://" + cfg.endpoint;
    cfg.custom_endpoint = true;
  } else {
    cfg.endpoint = "https://s3." + cfg.region + ".amazonaws.com";
  }
  if (auto sts = NonEmpty(env, "AWS_ENDPOINT_URL_STS")) {
    cfg.sts_endpoint = StripTrailingSlash(*sts);
  } else {
    cfg.sts_endpoint = "https://sts." + cfg.region + ".amazonaws.com";
  }

  // Addressing style.
  cfg.path_style = cfg.custom_endpoint;
  if (auto s = get(config_sec, "s3.addressing_style")) {
    if (*s == "path") cfg.path_style = true;
    if (*s == "virtual") cfg.path_style = false;
  }
  for (const char* var : {"AWS_S3_FORCE_PATH_STYLE", "FERRY_S3_PATH_STYLE"}) {
    if (auto v = NonEmpty(env, var)) {
      auto b = ParseBool(*v);
      if (!b) return Status::User(std::string(var) + "='" + *v + "' is not a boolean (1/0)");
      cfg.path_style = *b;
    }
  }
  return cfg;
}

std::optional<std::chrono::system_clock::time_point> ParseIso8601(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 20) return std::nullopt;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t);
}

Result<TemporaryCredentials> ParseStsCredentials(std::string_view xml) {
  auto doc = ParseXml(xml);
  if (!doc.ok()) return doc.status().WithContext("STS response");
  if (doc->LocalName() == "ErrorResponse" || doc->LocalName() == "Error") {
    const XmlElement* err = doc->LocalName() == "Error" ? &*doc : doc->Child("Error");
    std::string code = err ? err->ChildText("Code") : "";
    std::string msg = err ? err->ChildText("Message") : "";
    return Status::User("STS error " + (code.empty() ? "(no code)" : code) +
                        (msg.empty() ? "" : ": " + msg));
  }
  const XmlElement* result = nullptr;
  for (const char* n : {"AssumeRoleWithWebIdentityResult", "AssumeRoleResult"})
    if ((result = doc->Child(n))) break;
  const XmlElement* c = result ? result->Child("Credentials") : nullptr;
  if (!c) return Status::User("STS response has no <Credentials>");
  TemporaryCredentials out;
  out.credentials.access_key_id = c->ChildText("AccessKeyId");
  out.credentials.secret_access_key = c->ChildText("SecretAccessKey");
  out.credentials.session_token = c->ChildText("SessionToken");
  if (out.credentials.empty()) return Status::User("STS response has incomplete <Credentials>");
  auto exp = ParseIso8601(c->ChildText("Expiration"));
  if (!exp) return Status::User("STS response has a malformed <Expiration>");
  out.expiration = *exp;
  return out;
}

Result<TemporaryCredentials> AssumeRoleWithWebIdentity(HttpClient& http, const AwsConfig& cfg) {
  auto token = ReadWholeFile(cfg.web_identity_token_file);
  if (!token) {
    return Status::User("cannot read the web identity token file " + cfg.web_identity_token_file +
                        " (AWS_WEB_IDENTITY_TOKEN_FILE)");
  }
  std::string tok = Trim(*token);
  if (tok.empty()) {
    return Status::User("the web identity token file " + cfg.web_identity_token_file + " is empty");
  }
  HttpRequest req;
  req.method = "POST";
  req.url = cfg.sts_endpoint + "/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/xml"}};
  req.body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
             UriEncode(cfg.role_arn, true) +
             "&RoleSessionName=" + UriEncode(cfg.role_session_name, true) +
             "&WebIdentityToken=" + UriEncode(tok, true);
  auto resp = http.Send(req);
  if (!resp.ok()) return resp.status().WithContext("STS AssumeRoleWithWebIdentity");
  auto creds = ParseStsCredentials(resp->body);
  if (!creds.ok()) {
    Status s = creds.status();
    return Status(resp->status >= 500 ? Code::kNetwork : s.code(),
                  "STS AssumeRoleWithWebIdentity at " + RedactUrl(req.url) + " for role " +
                      cfg.role_arn + " (HTTP " + std::to_string(resp->status) +
                      "): " + s.message());
  }
  return creds;
}

}  // namespace ferry::store
