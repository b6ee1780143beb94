// PyPI resolution end to end against the generated fixture index (fixtures/make_pypi.py), read as
// a file:// directory index and served over HTTP by nginx (PEP 691 negotiation, Range, ETag)
// through the real libcurl client. Expected picks come from docs/formats/fixtures.md (pip's own
// answers on the same index).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "resolver/pypi/pypi_resolver.h"
#include "src/platform/curl_http.h"
#include "src/platform/posix_fs.h"

using namespace ferry;
using namespace ferry::resolver::pypi;

namespace {

std::string FixtureDir() { return std::string(FERRY_BINARY_DIR) + "/fixtures"; }

std::string NginxUrl() {
  const char* dir = std::getenv("FERRY_FIXTURE_HTTP");
  if (!dir) return "";
  std::ifstream in(std::string(dir) + "/url");
  std::string url;
  std::getline(in, url);
  return url;
}

struct Env {
  PosixFileSystem fs;
  CurlHttpClient http;
  std::string cache;
  explicit Env(const std::string& tag) : cache(std::string(FERRY_BINARY_DIR) + "/tests/pypi-cache-" + tag) {
    (void)fs.RemoveAll(cache);
  }
  Result<PypiResolution> Resolve(const std::string& index_url, PypiRequest req,
                                 int* requests = nullptr) {
    IndexClient index(http, fs, NullReporter(), IndexOptions{{index_url}, false});
    WheelMetadataFetcher md(http, fs, cache + "/metadata");
    auto r = ResolvePypi(req, index, md, NullReporter());
    if (requests) *requests = index.requests() + md.http_requests();
    return r;
  }
};

std::map<std::string, std::string> Versions(const PypiResolution& r) {
  std::map<std::string, std::string> out;
  for (const auto& p : r.packages) out[p.name] = p.version;
  return out;
}

PypiRequest Request(std::vector<std::string> reqs, std::string platform = "linux-64") {
  PypiRequest r;
  r.requirements = std::move(reqs);
  r.platform = std::move(platform);
  r.python_version = "3.11.2";
  return r;
}

const std::vector<std::string> kBig = {"ferry-demo[plot]", "requests", "newpy", "yanked-pkg",
                                       "fastcalc", "bt-a", "prerel", "Friendly_Name.Pkg"};
const std::map<std::string, std::string> kPipAnswer = {
    {"ferry-demo", "0.2.0"}, {"plotlib", "1.2.0"}, {"tinypkg", "2.0.0"},   {"tinydep", "2.0.0"},
    {"requests", "2.32.0"},  {"newpy", "1.0.0"},   {"yanked-pkg", "1.0.0"}, {"fastcalc", "1.0.0"},
    {"bt-a", "2.0"},         {"bt-b", "3.0"},      {"bt-c", "2.0"},         {"prerel", "1.0.0"},
    {"friendly-name-pkg", "1.0.0"}};

}  // namespace

TEST_CASE("pypi: the fixture request gives pip's answer (file:// index)") {
  Env env("file");
  auto r = env.Resolve("file://" + FixtureDir() + "/pypi/simple", Request(kBig));
  REQUIRE(r.ok());
  INFO(r->explanation);
  REQUIRE(r->solved);
  auto v = Versions(*r);
  for (const auto& [name, version] : kPipAnswer) {
    INFO(name);
    CHECK(v[name] == version);
  }
  // Markers for other targets are not installed; requests' own deps are.
  CHECK(v.count("winonly") == 0);
  CHECK(v.count("darwin-helper") == 0);
  CHECK(v.count("backport-thing") == 0);
  CHECK(v.count("idna") == 1);
  for (const auto& p : r->packages) {
    CHECK(p.kind == PackageKind::kPypi);
    CHECK(p.sha256.size() == 64);
    CHECK(p.size > 0);
    CHECK(p.filename.find(".whl") != std::string::npos);
  }
  // The best wheel for the target: cp311 manylinux for fastcalc.
  for (const auto& p : r->packages)
    if (p.name == "fastcalc") CHECK(p.filename.find("cp311-cp311-manylinux") != std::string::npos);
}

TEST_CASE("pypi: the same over HTTP (PEP 691, Range for wheels without .metadata, ETag cache)") {
  std::string url = NginxUrl();
  if (url.empty()) FAIL("FERRY_FIXTURE_HTTP is not set: run through ctest");
  Env env("http");
  int cold = 0, warm = 0;
  auto r = env.Resolve(url + "/pypi/simple/", Request(kBig), &cold);
  REQUIRE(r.ok());
  REQUIRE(r->solved);
  auto v = Versions(*r);
  for (const auto& [name, version] : kPipAnswer) CHECK(v[name] == version);
  for (const auto& p : r->packages) CHECK(p.url.rfind(url, 0) == 0);
  // Warm: metadata comes from the cache by sha256; pages are revalidated (304), not refetched.
  auto again = env.Resolve(url + "/pypi/simple/", Request(kBig), &warm);
  REQUIRE(again.ok());
  CHECK(Versions(*again) == v);
  CHECK(warm < cold);
}

TEST_CASE("pypi: cross-platform wheels are chosen for the target, not the host") {
  Env env("osx");
  auto r = env.Resolve("file://" + FixtureDir() + "/pypi/simple",
                       Request({"fastcalc", "ferry-demo"}, "osx-arm64"));
  REQUIRE(r.ok());
  REQUIRE(r->solved);
  auto v = Versions(*r);
  CHECK(v["fastcalc"] == "1.1.0");
  CHECK(v.count("darwin-helper") == 1);  // sys_platform == "darwin" applies on osx
  for (const auto& p : r->packages)
    if (p.name == "fastcalc") CHECK(p.filename.find("macosx_11_0_arm64") != std::string::npos);
}

TEST_CASE("pypi: yanked, pre-releases, Requires-Python") {
  Env env("rules");
  std::string idx = "file://" + FixtureDir() + "/pypi/simple";
  auto pinned = env.Resolve(idx, Request({"yanked-pkg==1.1.0"}));
  REQUIRE(pinned.ok());
  REQUIRE(pinned->solved);
  CHECK(Versions(*pinned)["yanked-pkg"] == "1.1.0");
  auto pre = env.Resolve(idx, Request({"prerel>=2.0.0rc1"}));
  REQUIRE(pre.ok());
  REQUIRE(pre->solved);
  CHECK(Versions(*pre)["prerel"] == "2.0.0rc1");
  auto only_pre = env.Resolve(idx, Request({"only-pre"}));
  REQUIRE(only_pre.ok());
  REQUIRE(only_pre->solved);
  CHECK(Versions(*only_pre)["only-pre"] == "0.1.0a1");
  auto py = env.Resolve(idx, Request({"newpy>=2"}));
  REQUIRE(py.ok());
  REQUIRE_FALSE(py->solved);
  CHECK(py->explanation.find("newpy") != std::string::npos);
}

TEST_CASE("pypi: unsolvable requests are explained") {
  Env env("unsat");
  std::string idx = "file://" + FixtureDir() + "/pypi/simple";
  auto r = env.Resolve(idx, Request({"needs-old-tinydep", "needs-new-tinydep"}));
  REQUIRE(r.ok());
  REQUIRE_FALSE(r->solved);
  CHECK(r->explanation.find("needs-old-tinydep") != std::string::npos);
  CHECK(r->explanation.find("needs-new-tinydep") != std::string::npos);
  CHECK(r->explanation.find("tinydep") != std::string::npos);

  auto sdist = env.Resolve(idx, Request({"sdist-only"}));
  REQUIRE(sdist.ok());
  REQUIRE_FALSE(sdist->solved);
  CHECK(sdist->explanation.find("sdist-only") != std::string::npos);
  CHECK(sdist->explanation.find("building sdists is not supported yet") != std::string::npos);

  auto mixed = env.Resolve(idx, Request({"mixed-dist"}));
  REQUIRE(mixed.ok());
  REQUIRE(mixed->solved);
  CHECK(Versions(*mixed)["mixed-dist"] == "1.0.0");
}

TEST_CASE("pypi: distributions provided by conda packages are not installed twice") {
  Env env("mixed");
  std::string idx = "file://" + FixtureDir() + "/pypi/simple";
  PypiRequest req = Request({"numpy-user"});
  req.provided["numpy"] = "1.26.4";
  auto r = env.Resolve(idx, req);
  REQUIRE(r.ok());
  REQUIRE(r->solved);
  auto v = Versions(*r);
  CHECK(v["numpy-user"] == "1.0.0");
  CHECK(v.count("numpy") == 0);
  req.provided["numpy"] = "1.20.0";
  auto conflict = env.Resolve(idx, req);
  REQUIRE(conflict.ok());
  REQUIRE_FALSE(conflict->solved);
  INFO(conflict->explanation);
  CHECK(conflict->explanation.find("numpy >=1.26") != std::string::npos);
  CHECK(conflict->explanation.find("note: numpy 1.20.0 is installed by a conda package") !=
        std::string::npos);
}

TEST_CASE("pypi: bad indexes give errors naming index, project and file") {
  Env env("broken");
  std::string idx = "file://" + FixtureDir() + "/pypi-broken/simple";
  auto liar = env.Resolve(idx, Request({"liar"}));
  REQUIRE_FALSE(liar.ok());
  CHECK(liar.status().message().find("liar") != std::string::npos);
  CHECK(liar.status().message().find("disagrees with the file name") != std::string::npos);
  auto malformed = env.Resolve(idx, Request({"malformed"}));
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.status().message().find("malformed") != std::string::npos);
  auto badmeta = env.Resolve(idx, Request({"badmeta"}));
  // The .metadata file does not match its advertised digest: an integrity error, not a guess.
  REQUIRE((!badmeta.ok() || !badmeta->solved));
  if (badmeta.ok()) CHECK(badmeta->explanation.find("sha256 mismatch") != std::string::npos);
}
