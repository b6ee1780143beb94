#include "store/manifest.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "store/local/test_support.h"

using namespace ferry;
using namespace ferry::store;
using namespace ferry::store::testing;

TEST_CASE("EnvManifest: deterministic round trip", "[manifest]") {
  TempDir t;
  LockedEnvironment env = MakeEnv(t.path(), 4, 1);
  env.steps = {"start", "train"};
  env.name = "model:latest";
  env.packages[0].depends = {"python >=3.11", "libzlib"};
  env.packages[1].kind = PackageKind::kPypi;
  env.packages[1].md5 = "";
  SortPackages(env.packages);
  env.env_id = ComputeEnvId(env.platform, env.packages);
  EnvManifest m = MakeEnvManifest(env);
  CHECK(m.env.steps.empty());
  CHECK_FALSE(m.env.name.has_value());
  CHECK(m.blobs.size() == 4);
  std::string text = SerializeEnvManifest(m);
  // Same environment with other steps / package order serializes to the same bytes.
  LockedEnvironment env2 = env;
  env2.steps = {"other"};
  std::reverse(env2.packages.begin(), env2.packages.end());
  CHECK(SerializeEnvManifest(MakeEnvManifest(env2)) == text);

  auto parsed = ParseEnvManifest(text, "test", env.env_id);
  REQUIRE(parsed.ok());
  CHECK(parsed->env.env_id == env.env_id);
  CHECK(parsed->env.req_id == env.req_id);
  CHECK(parsed->env.packages.size() == 4);
  CHECK(parsed->env.packages[0].depends == m.env.packages[0].depends);
  CHECK(parsed->env.requirements.conda == env.requirements.conda);
  CHECK(SerializeEnvManifest(*parsed) == text);
  CHECK(nlohmann::json::parse(text)["manifest_version"] == 1);
}

TEST_CASE("EnvManifest: every corruption is an integrity error", "[manifest]") {
  TempDir t;
  LockedEnvironment env = MakeEnv(t.path(), 3, 2);
  std::string text = SerializeEnvManifest(MakeEnvManifest(env));
  auto mutate = [&](auto fn) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(text);
    fn(j);
    return ParseEnvManifest(j.dump(), "v1/envs/x.json");
  };
  auto expect_integrity = [](const Result<EnvManifest>& r, const std::string& needle) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kIntegrity);
    CHECK(r.status().message().find(needle) != std::string::npos);
  };
  expect_integrity(ParseEnvManifest("{not json", "v1/envs/x.json"), "v1/envs/x.json");
  expect_integrity(ParseEnvManifest("[]", "o"), "expected a JSON object");
  expect_integrity(mutate([](auto& j) { j["packages"][0]["sha256"] = "ABC"; }), "not a sha256");
  expect_integrity(mutate([](auto& j) { j["packages"][0]["sha256"] = std::string(64, 'a'); }),
                   "does not match its packages");
  expect_integrity(mutate([](auto& j) { j["env_id"] = std::string(64, 'b'); }),
                   "does not match its packages");
  expect_integrity(mutate([](auto& j) { j["blobs"].erase(0); }), "blobs");
  expect_integrity(mutate([](auto& j) { j["blobs"][0]["size"] = 1; }), "blobs");
  expect_integrity(mutate([](auto& j) { j["packages"][0].erase("size"); }), "size");
  expect_integrity(mutate([](auto& j) { j["packages"][0]["size"] = "12"; }), "integer");
  expect_integrity(mutate([](auto& j) { j["packages"][0]["filename"] = "../evil.conda"; }),
                   "filename");
  expect_integrity(mutate([](auto& j) { j["packages"][0]["kind"] = "npm"; }), "kind");
  expect_integrity(mutate([](auto& j) { j.erase("requirements"); }), "requirements");
  auto wrong_env = ParseEnvManifest(text, "o", std::string(64, 'c'));
  REQUIRE_FALSE(wrong_env.ok());
  CHECK(wrong_env.status().code() == Code::kIntegrity);
  auto newer = mutate([](auto& j) { j["manifest_version"] = 2; });
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.status().code() == Code::kUser);
  CHECK(newer.status().message().find("upgrade ferry") != std::string::npos);
}

TEST_CASE("SPEC §3 environment JSON", "[manifest]") {
  TempDir t;
  LockedEnvironment env = MakeEnv(t.path(), 2, 3);
  nlohmann::json j = {{"req_id", env.req_id},       {"env_id", env.env_id},
                      {"platform", "linux-64"},     {"steps", {"start"}},
                      {"name", nullptr},            {"packages", nlohmann::json::array()}};
  for (const auto& p : env.packages)
    j["packages"].push_back({{"kind", "conda"},
                             {"name", p.name},
                             {"version", p.version},
                             {"build", p.build},
                             {"filename", p.filename},
                             {"url", p.url},
                             {"sha256", p.sha256},
                             {"size", p.size}});
  auto parsed = ParseSpecEnvironmentJson(j.dump(), "ferry.lock");
  REQUIRE(parsed.ok());
  CHECK(parsed->env_id == env.env_id);
  CHECK(parsed->steps == std::vector<std::string>{"start"});
  CHECK(parsed->packages.size() == 2);
  j["env_id"] = std::string(64, 'd');
  auto bad = ParseSpecEnvironmentJson(j.dump(), "ferry.lock");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kIntegrity);
}

TEST_CASE("Names: NAME[:TAG] validation", "[manifest][names]") {
  auto ok = [](const char* s, const char* name, const char* tag) {
    auto r = ParseEnvName(s);
    REQUIRE(r.ok());
    CHECK(r->name == name);
    CHECK(r->tag == tag);
  };
  ok("model-a", "model-a", "latest");
  ok("model-a:v1", "model-a", "v1");
  ok("team/explainer/run_12:1.0-rc.1", "team/explainer/run_12", "1.0-rc.1");
  ok("0abc.def", "0abc.def", "latest");
  for (const char* bad : {"", "Model", "-a", "_a", "/a", "a/", "a//b", "a/./b", "a/../b", "a:",
                          "a:V1", "a:-x", "a:x/y", "a:b:c", "a b", "a@{X}", "é"}) {
    auto r = ParseEnvName(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.status().code() == Code::kUser);
  }
  CHECK(ParseEnvName(std::string(201, 'a')).ok() == false);
  CHECK(IsMutableTag("latest"));
  CHECK(IsMutableTag("candidate"));
  CHECK(IsMutableTag("stable"));
  CHECK_FALSE(IsMutableTag("v1"));
  CHECK(NameKey(*ParseEnvName("team/x:v2")) == "v1/names/team/x/v2");
  CHECK(ParseEnvName("x")->IsMutable());
}

TEST_CASE("Names: @{VAR} substitution", "[manifest][names]") {
  auto lookup = [](const std::string& v) -> std::optional<std::string> {
    if (v == "RUN_ID") return std::string("1234");
    if (v == "EMPTY") return std::string();
    return std::nullopt;
  };
  CHECK(*SubstituteVars("explainer/@{RUN_ID}", lookup) == "explainer/1234");
  CHECK(*SubstituteVars("a@{RUN_ID}b@{RUN_ID}:v@{EMPTY}1", lookup) == "a1234b1234:v1");
  CHECK(*SubstituteVars("no-vars", lookup) == "no-vars");
  auto unset = SubstituteVars("x/@{MISSING_VAR}", lookup);
  REQUIRE_FALSE(unset.ok());
  CHECK(unset.status().code() == Code::kUser);
  CHECK(unset.status().message().find("MISSING_VAR") != std::string::npos);
  CHECK_FALSE(SubstituteVars("x/@{RUN_ID", lookup).ok());
  CHECK_FALSE(SubstituteVars("x/@{1X}", lookup).ok());
  CHECK_FALSE(SubstituteVars("x/@{}", lookup).ok());
  ::setenv("FERRY_TEST_VAR_X", "77", 1);
  CHECK(*SubstituteVarsFromEnv("e/@{FERRY_TEST_VAR_X}") == "e/77");
}

TEST_CASE("Pointers and keys", "[manifest]") {
  std::string id(64, 'a');
  auto p = ParseNamePointer(SerializeNamePointer({id, "2026-11-22T06:00:00Z"}), "o");
  REQUIRE(p.ok());
  CHECK(p->env_id == id);
  CHECK(p->created_at == "2026-11-22T06:00:00Z");
  CHECK(ParseNamePointer("{\"env_id\": \"xyz\", \"created_at\": \"\"}", "o").status().code() ==
        Code::kIntegrity);
  CHECK(ParseNamePointer("garbage", "o").status().code() == Code::kIntegrity);
  CHECK(*ParseReqPointer(SerializeReqPointer(id), "o") == id);
  CHECK_FALSE(ParseReqPointer("nope", "o").ok());
  CHECK(BlobKey(id) == "v1/blobs/sha256/aa/" + id);
  CHECK(ManifestKey(id) == "v1/envs/" + id + ".json");
  CHECK(ReqKey("linux-64", id) == "v1/reqs/linux-64/" + id);
  CHECK(UtcNowIso8601().size() == 20);
}
