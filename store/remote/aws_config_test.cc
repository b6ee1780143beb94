#include "store/remote/aws_config.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

using namespace ferry;
using namespace ferry::store;

namespace {

EnvLookup MapEnv(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

struct TempHome {
  std::string path;
  TempHome() {
    char tmpl[] = "/tmp/ferry-awscfg-XXXXXX";
    path = mkdtemp(tmpl);
    std::filesystem::create_directories(path + "/.aws");
  }
  ~TempHome() { std::filesystem::remove_all(path); }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(path + "/" + rel) << text;
  }
};

// Records the request and answers with a canned response.
class FakeHttp : public HttpClient {
 public:
  long status = 200;
  std::string body;
  HttpRequest last;
  Result<HttpResponse> Send(const HttpRequest& r) override {
    last = r;
    HttpResponse resp;
    resp.status = status;
    resp.body = body;
    return resp;
  }
};

const char* kStsOk =
    R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>FwoGZXIvYXdzEXAMPLETOKEN</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2026-11-22T08:00:00Z</Expiration>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>)";

}  // namespace

TEST_CASE("aws config: INI parsing", "[awscfg]") {
  auto ini = ParseIni(
      "# comment\n[default]\naws_access_key_id = AK \nAWS_SECRET_ACCESS_KEY=SK\n; c\n"
      "[profile ci]\nregion = eu-west-1\ns3 =\n  endpoint_url = http://h:1\n"
      "  addressing_style = path\nother = x\n");
  CHECK(ini["default"]["aws_access_key_id"] == "AK");
  CHECK(ini["default"]["aws_secret_access_key"] == "SK");
  CHECK(ini["profile ci"]["region"] == "eu-west-1");
  CHECK(ini["profile ci"]["s3.endpoint_url"] == "http://h:1");
  CHECK(ini["profile ci"]["s3.addressing_style"] == "path");
  CHECK(ini["profile ci"]["other"] == "x");
}

TEST_CASE("aws config: environment variables win; custom endpoint => path style", "[awscfg]") {
  TempHome home;
  home.Write(".aws/credentials", "[default]\naws_access_key_id=FILEKEY\naws_secret_access_key=F\n");
  auto cfg = LoadAwsConfig(MapEnv({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                   {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
                                   {"AWS_SESSION_TOKEN", "TOK"},
                                   {"AWS_REGION", "eu-central-1"},
                                   {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:7480/"}}),
                           home.path);
  REQUIRE(cfg.ok());
  CHECK(cfg->credentials.access_key_id == "ENVKEY");
  CHECK(cfg->credentials.session_token == "TOK");
  CHECK(cfg->region == "eu-central-1");
  CHECK(cfg->endpoint == "http://127.0.0.1:7480");
  CHECK(cfg->custom_endpoint);
  CHECK(cfg->path_style);
  CHECK(cfg->credential_source.find("ENVSECRET") == std::string::npos);
}

TEST_CASE("aws config: real AWS => virtual-hosted unless forced", "[awscfg]") {
  TempHome home;
  auto env = std::map<std::string, std::string>{{"AWS_ACCESS_KEY_ID", "A"},
                                                {"AWS_SECRET_ACCESS_KEY", "S"},
                                                {"AWS_DEFAULT_REGION", "us-west-2"}};
  auto cfg = LoadAwsConfig(MapEnv(env), home.path);
  REQUIRE(cfg.ok());
  CHECK(cfg->endpoint == "https://s3.us-west-2.amazonaws.com");
  CHECK_FALSE(cfg->custom_endpoint);
  CHECK_FALSE(cfg->path_style);
  env["FERRY_S3_PATH_STYLE"] = "1";
  CHECK(LoadAwsConfig(MapEnv(env), home.path)->path_style);
  env.erase("FERRY_S3_PATH_STYLE");
  env["AWS_S3_FORCE_PATH_STYLE"] = "true";
  CHECK(LoadAwsConfig(MapEnv(env), home.path)->path_style);
  env["AWS_S3_FORCE_PATH_STYLE"] = "maybe";
  CHECK(LoadAwsConfig(MapEnv(env), home.path).status().code() == Code::kUser);
}

TEST_CASE("aws config: AWS_PROFILE with credentials and config files", "[awscfg]") {
  TempHome home;
  home.Write(".aws/credentials",
             "[default]\naws_access_key_id=DEF\naws_secret_access_key=DEFS\n"
             "[ci]\naws_access_key_id = CIKEY\naws_secret_access_key = CISECRET\n");
  home.Write(".aws/config",
             "[default]\nregion=us-east-2\n[profile ci]\nregion = ap-south-1\n"
             "endpoint_url = http://minio:9000\n");
  auto def = LoadAwsConfig(MapEnv({}), home.path);
  REQUIRE(def.ok());
  CHECK(def->credentials.access_key_id == "DEF");
  CHECK(def->region == "us-east-2");
  CHECK_FALSE(def->custom_endpoint);

  auto ci = LoadAwsConfig(MapEnv({{"AWS_PROFILE", "ci"}}), home.path);
  REQUIRE(ci.ok());
  CHECK(ci->credentials.access_key_id == "CIKEY");
  CHECK(ci->credentials.secret_access_key == "CISECRET");
  CHECK(ci->region == "ap-south-1");
  CHECK(ci->endpoint == "http://minio:9000");
  CHECK(ci->path_style);

  auto missing = LoadAwsConfig(MapEnv({{"AWS_PROFILE", "nope"}}), home.path);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("'nope'") != std::string::npos);

  // AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE override the locations.
  home.Write("other-creds", "[x]\naws_access_key_id=OTHER\naws_secret_access_key=O\n");
  auto other = LoadAwsConfig(
      MapEnv({{"AWS_PROFILE", "x"}, {"AWS_SHARED_CREDENTIALS_FILE", home.path + "/other-creds"}}),
      home.path);
  REQUIRE(other.ok());
  CHECK(other->credentials.access_key_id == "OTHER");
}

TEST_CASE("aws config: web identity from env and profile", "[awscfg]") {
  TempHome home;
  auto cfg = LoadAwsConfig(MapEnv({{"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"},
                                   {"AWS_ROLE_ARN", "arn:aws:iam::123:role/r"},
                                   {"AWS_REGION", "eu-west-1"}}),
                           home.path);
  REQUIRE(cfg.ok());
  CHECK(cfg->UsesWebIdentity());
  CHECK(cfg->role_arn == "arn:aws:iam::123:role/r");
  CHECK(cfg->sts_endpoint == "https://sts.eu-west-1.amazonaws.com");
  CHECK_FALSE(cfg->role_session_name.empty());

  home.Write(".aws/config",
             "[profile k8s]\nweb_identity_token_file=/t\nrole_arn=arn:aws:iam::1:role/p\n"
             "role_session_name=sess\n");
  auto p = LoadAwsConfig(MapEnv({{"AWS_PROFILE", "k8s"}}), home.path);
  REQUIRE(p.ok());
  CHECK(p->UsesWebIdentity());
  CHECK(p->role_session_name == "sess");
}

TEST_CASE("aws config: STS credentials parsing", "[awscfg]") {
  auto c = ParseStsCredentials(kStsOk);
  REQUIRE(c.ok());
  CHECK(c->credentials.access_key_id == "ASIAEXAMPLE");
  CHECK(c->credentials.secret_access_key == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  CHECK(c->credentials.session_token == "FwoGZXIvYXdzEXAMPLETOKEN");
  CHECK(std::chrono::system_clock::to_time_t(c->expiration) == 1795334400);  // 2026-11-22T08:00:00Z

  auto err = ParseStsCredentials(
      "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
      "<Message>Token expired</Message></Error></ErrorResponse>");
  REQUIRE_FALSE(err.ok());
  CHECK(err.status().message() == "STS error InvalidIdentityToken: Token expired");
  CHECK_FALSE(ParseStsCredentials("<AssumeRoleWithWebIdentityResponse/>").ok());
  CHECK_FALSE(ParseStsCredentials("not xml").ok());
  CHECK_FALSE(ParseIso8601("yesterday"));
}

TEST_CASE("aws config: AssumeRoleWithWebIdentity request", "[awscfg]") {
  TempHome home;
  home.Write("token", "eyJhbGciOi.payload+sig/=\n");
  AwsConfig cfg;
  cfg.web_identity_token_file = home.path + "/token";
  cfg.role_arn = "arn:aws:iam::123:role/r";
  cfg.role_session_name = "s";
  cfg.sts_endpoint = "http://127.0.0.1:1";
  FakeHttp http;
  http.body = kStsOk;
  auto c = AssumeRoleWithWebIdentity(http, cfg);
  REQUIRE(c.ok());
  CHECK(c->credentials.access_key_id == "ASIAEXAMPLE");
  CHECK(http.last.method == "POST");
  CHECK(http.last.url == "http://127.0.0.1:1/");
  CHECK(http.last.body.find("Action=AssumeRoleWithWebIdentity") != std::string::npos);
  CHECK(http.last.body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A123%3Arole%2Fr") != std::string::npos);
  CHECK(http.last.body.find("WebIdentityToken=eyJhbGciOi.payload%2Bsig%2F%3D") !=
        std::string::npos);

  http.status = 403;
  http.body =
      "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error>"
      "</ErrorResponse>";
  auto denied = AssumeRoleWithWebIdentity(http, cfg);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.status().message().find("AccessDenied") != std::string::npos);
  CHECK(denied.status().message().find("eyJhbGciOi") == std::string::npos);

  cfg.web_identity_token_file = home.path + "/missing";
  auto missing = AssumeRoleWithWebIdentity(http, cfg);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("missing") != std::string::npos);
}
