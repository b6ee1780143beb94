#include "resolver/conda_resolver.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "resolver/index/channel_loader.h"
#include "src/platform/posix_fs.h"

namespace ferry::resolver {
namespace {

// An HttpClient that must not be used (file:// channels only).
class NoHttp : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& r) override {
    return Status::Network("no network in this test: " + r.url);
  }
};

class CollectingReporter : public Reporter {
 public:
  void Warn(std::string_view m) override { warnings.emplace_back(m); }
  std::vector<std::string> warnings;
};

std::string FixtureDir() { return std::string(FERRY_BINARY_DIR) + "/fixtures"; }

bool HaveFixtures() {
  std::ifstream f(FixtureDir() + "/channel/linux-64/repodata.json");
  return f.good();
}

std::string TempDir() {
  char tmpl[] = "/tmp/ferry-resolver-test-XXXXXX";
  return std::string(mkdtemp(tmpl));
}

TEST_CASE("conda resolver: fixture cases (cases.json)") {
  if (!HaveFixtures()) {
    WARN("fixtures not generated (ninja fixtures); skipping");
    return;
  }
  std::ifstream in(FixtureDir() + "/cases.json");
  nlohmann::json cases = nlohmann::json::parse(in);
  PosixFileSystem fs;
  NoHttp http;
  std::string cache = TempDir();
  for (int pass = 0; pass < 2; ++pass) {  // cold, then from the parsed cache
    for (const auto& c : cases["cases"]) {
      RequirementSet req;
      for (const auto& s : c["specs"]) req.conda.push_back(s);
      req.channels = {"file://" + FixtureDir() + "/" + cases.value("channel", "channel")};
      req.platform = c["platform"];
      if (c.contains("virtual")) {
        for (auto& [k, v] : c["virtual"].items()) req.virtual_overrides[k] = v;
      }
      INFO("case " << c["id"].get<std::string>() << " pass " << pass);
      CollectingReporter rep;
      auto out = ResolveConda(req, http, fs, cache, rep);
      REQUIRE(out.ok());
      if (pass == 1) CHECK(out->stats.subdirs_from_cache == 2);
      if (c["outcome"] == "solvable") {
        INFO(out->explanation);
        REQUIRE(out->solved);
        if (c.contains("expect")) {
          for (auto& [name, want] : c["expect"].items()) {
            std::string got;
            for (const auto& p : out->packages) {
              if (p.name == name) got = p.version + " " + p.build;
            }
            std::string w = want;
            INFO("package " << name << " got '" << got << "' want '" << w << "'");
            CHECK(got.compare(0, w.size(), w) == 0);
            if (w.find(' ') == std::string::npos) CHECK(got.size() > w.size());
            if (w.find(' ') == std::string::npos) CHECK(got[w.size()] == ' ');
          }
        }
        for (const auto& p : out->packages) {
          CHECK(p.sha256.size() == 64);
          CHECK(p.url.find(p.filename) != std::string::npos);
          CHECK(p.name.rfind("__", 0) != 0);
        }
      } else {
        REQUIRE_FALSE(out->solved);
        for (const auto& name : c["conflict"]) {
          INFO(out->explanation);
          CHECK(out->explanation.find(name.get<std::string>()) != std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("conda resolver: .conda preferred over .tar.bz2 and explanations are exact") {
  if (!HaveFixtures()) return;
  PosixFileSystem fs;
  NoHttp http;
  RequirementSet req;
  req.channels = {FixtureDir() + "/channel/"};  // plain path, trailing slash
  req.platform = "linux-64";
  req.conda = {"diamond-a"};
  auto out = ResolveConda(req, http, fs, "", NullReporter());
  REQUIRE(out.ok());
  REQUIRE(out->solved);
  for (const auto& p : out->packages) {
    if (p.name == "diamond-a") CHECK(p.filename == "diamond-a-2.0-h_ferry_0.conda");
  }
  req.conda = {"needs-new-glibc"};
  out = ResolveConda(req, http, fs, "", NullReporter());
  REQUIRE(out.ok());
  REQUIRE_FALSE(out->solved);
  CHECK(out->explanation ==
        "The following requirements conflict:\n"
        "└─ needs-new-glibc cannot be installed because none of its candidates can be:\n"
        "   └─ needs-new-glibc 1.0 would require\n"
        "      └─ __glibc >=99, for which no candidates were found (the target platform "
        "provides __glibc 2.28 0; override it with __glibc=VERSION)\n");
}

TEST_CASE("conda resolver: bad records are skipped with warnings, broken files are errors") {
  if (!HaveFixtures()) return;
  PosixFileSystem fs;
  NoHttp http;
  CollectingReporter rep;
  RequirementSet req;
  req.channels = {"file://" + FixtureDir() + "/channel-broken"};
  req.platform = "linux-64";
  req.conda = {"good"};
  auto out = ResolveConda(req, http, fs, "", rep);
  REQUIRE(out.ok());
  CHECK(out->solved);
  req.conda = {"bad-version"};
  out = ResolveConda(req, http, fs, "", rep);
  REQUIRE(out.ok());
  CHECK_FALSE(out->solved);
  req.conda = {"bad-depends"};
  out = ResolveConda(req, http, fs, "", rep);
  REQUIRE(out.ok());
  CHECK_FALSE(out->solved);
  std::string all;
  for (const auto& w : rep.warnings) all += w + "\n";
  INFO(all);
  CHECK(all.find("bad-version") != std::string::npos);
  CHECK(all.find("channel-broken, file linux-64/repodata.json") != std::string::npos);

  // Truncated repodata: an error naming channel and file.
  std::ifstream t(FixtureDir() + "/channel-broken/linux-64/repodata-truncated.json");
  std::stringstream ss;
  ss << t.rdbuf();
  auto idx = SubdirIndex::FromJson(ss.str(), {"file:///x", "linux-64", "repodata.json"}, rep);
  REQUIRE_FALSE(idx.ok());
  CHECK(idx.status().message().find("channel file:///x, file linux-64/repodata.json") == 0);

  // Unreachable channel.
  req.channels = {"http://127.0.0.1:9/none"};
  out = ResolveConda(req, http, fs, "", rep);
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == Code::kNetwork);
  CHECK(out.status().message().find("channel http://127.0.0.1:9/none") == 0);
}

TEST_CASE("repodata: index, cache round trip, .conda dedup") {
  std::string json = R"({"info":{"subdir":"linux-64"},"packages":{
    "a-1.0-0.tar.bz2":{"name":"a","version":"1.0","build":"0","build_number":0,"depends":["b"],"sha256":"x"},
    "a-1.1-0.tar.bz2":{"name":"a","version":"1.1","build":"0","build_number":0,"depends":[],"timestamp":1700000000},
    "noname-1-0.tar.bz2":{"version":"1","build":"0"}},
    "packages.conda":{"a-1.0-0.conda":{"name":"a","version":"1.0","build":"0","depends":["b >=2"],"track_features":"f1 f2"}}})";
  CollectingReporter rep;
  auto idx = SubdirIndex::FromJson(json, {"https://h/ch", "linux-64", "repodata.json"}, rep);
  REQUIRE(idx.ok());
  CHECK((*idx)->record_count() == 3);
  CHECK(rep.warnings.size() == 1);
  auto check = [](const SubdirIndex& i) {
    auto recs = i.Records("a", NullReporter());
    REQUIRE(recs.size() == 2);
    const specs::PackageRecord* a10 = recs[0].version.str() == "1.0" ? &recs[0] : &recs[1];
    CHECK(a10->fn == "a-1.0-0.conda");
    CHECK(a10->depends == std::vector<std::string>{"b >=2"});
    CHECK(a10->track_features == std::vector<std::string>{"f1", "f2"});
    CHECK(a10->url == "https://h/ch/linux-64/a-1.0-0.conda");
    const specs::PackageRecord* a11 = recs[0].version.str() == "1.1" ? &recs[0] : &recs[1];
    CHECK(a11->timestamp == 1700000000000LL);
  };
  check(**idx);
  std::string bytes = (*idx)->SerializeCache("k1");
  auto back = SubdirIndex::FromCache(bytes, {"https://h/ch", "linux-64", "repodata.json"}, "k1");
  REQUIRE(back.ok());
  check(**back);
  CHECK_FALSE(SubdirIndex::FromCache(bytes, {"https://h/ch", "linux-64", "r"}, "k2").ok());
  CHECK_FALSE(
      SubdirIndex::FromCache(bytes.substr(0, bytes.size() - 3), {"h", "linux-64", "r"}, "k1").ok());
}

}  // namespace
}  // namespace ferry::resolver

namespace ferry::resolver {
namespace {

void WriteChannel(PosixFileSystem& fs, const std::string& dir, const std::string& packages) {
  REQUIRE(fs.CreateDirs(dir + "/linux-64").ok());
  REQUIRE(fs.CreateDirs(dir + "/noarch").ok());
  REQUIRE(fs.WriteFileAtomic(dir + "/linux-64/repodata.json",
                             "{\"info\":{\"subdir\":\"linux-64\"},\"packages\":{" + packages +
                                 "},\"packages.conda\":{}}")
              .ok());
  REQUIRE(fs.WriteFileAtomic(dir + "/noarch/repodata.json", "{\"packages\":{}}").ok());
}

std::string Rec(const std::string& name, const std::string& version, const std::string& deps = "") {
  return "\"" + name + "-" + version + "-0.tar.bz2\":{\"name\":\"" + name + "\",\"version\":\"" +
         version + "\",\"build\":\"0\",\"build_number\":0,\"depends\":[" + deps +
         "],\"sha256\":\"" + std::string(64, 'a') + "\",\"size\":1}";
}

TEST_CASE("conda resolver: strict channel priority and channel::name pinning") {
  PosixFileSystem fs;
  NoHttp http;
  std::string tmp = TempDir();
  WriteChannel(fs, tmp + "/high", Rec("lib", "1.0") + "," + Rec("app", "1.0", "\"lib\""));
  WriteChannel(fs, tmp + "/low", Rec("lib", "2.0") + "," + Rec("extra", "3.0"));
  RequirementSet req;
  req.channels = {"file://" + tmp + "/high", "file://" + tmp + "/low"};
  req.platform = "linux-64";
  req.conda = {"app", "extra"};
  auto out = ResolveConda(req, http, fs, "", NullReporter());
  REQUIRE(out.ok());
  REQUIRE(out->solved);
  std::map<std::string, std::string> got;
  for (const auto& p : out->packages) got[p.name] = p.version + "@" + BaseName(p.channel);
  // lib 2.0 exists only in the lower-priority channel: hidden by the higher one.
  CHECK(got == std::map<std::string, std::string>{
                   {"app", "1.0@high"}, {"lib", "1.0@high"}, {"extra", "3.0@low"}});
  req.conda = {"lib >=2"};
  out = ResolveConda(req, http, fs, "", NullReporter());
  REQUIRE(out.ok());
  CHECK_FALSE(out->solved);
  req.conda = {"low::lib >=2"};
  out = ResolveConda(req, http, fs, "", NullReporter());
  REQUIRE(out.ok());
  REQUIRE(out->solved);
  REQUIRE(out->packages.size() == 1);
  CHECK(out->packages[0].version == "2.0");
  CHECK(out->packages[0].url == "file://" + tmp + "/low/linux-64/lib-2.0-0.tar.bz2");
  req.conda = {"nowhere::lib"};
  CHECK_FALSE(ResolveConda(req, http, fs, "", NullReporter()).ok());
}

TEST_CASE("conda resolver: preferred versions are kept when possible, and only then") {
  PosixFileSystem fs;
  NoHttp http;
  std::string tmp = TempDir();
  WriteChannel(fs, tmp + "/ch",
               Rec("lib", "1.0") + "," + Rec("lib", "1.5") + "," + Rec("lib", "2.0") + "," +
                   Rec("app", "1.0", "\"lib\"") + "," + Rec("tool", "1.0", "\"lib >=1.5\"") +
                   "," + Rec("strict", "1.0", "\"lib >=2\""));
  RequirementSet req;
  req.channels = {"file://" + tmp + "/ch"};
  req.platform = "linux-64";
  auto lib_version = [&](const CondaResolveOptions& options) {
    auto out = ResolveConda(req, http, fs, "", NullReporter(), options);
    REQUIRE(out.ok());
    REQUIRE(out->solved);
    for (const auto& p : out->packages)
      if (p.name == "lib") return p.version;
    return std::string("(none)");
  };
  req.conda = {"app"};
  CHECK(lib_version({}) == "2.0");  // no preference: the highest version
  CondaResolveOptions keep;
  keep.preferred = {{"lib", "1.0"}};
  CHECK(lib_version(keep) == "1.0");
  keep.preferred = {{"lib", "1.0 0"}};  // version + build
  CHECK(lib_version(keep) == "1.0");
  keep.preferred = {{"lib", "1.0 other_build"}};  // no such build: no preference applies
  CHECK(lib_version(keep) == "2.0");
  // The preferred version is impossible: the solver moves away from it, to the highest version.
  req.conda = {"app", "tool"};
  keep.preferred = {{"lib", "1.0"}};
  CHECK(lib_version(keep) == "2.0");
  keep.preferred = {{"lib", "1.5"}};
  CHECK(lib_version(keep) == "1.5");
  req.conda = {"app", "strict"};
  CHECK(lib_version(keep) == "2.0");
}

// Serves one channel from memory: repodata.json.zst is 404, repodata.json has an ETag and answers
// If-None-Match-style revalidation (simulated: from_cache on the second request).
class FakeChannelHttp : public HttpClient {
 public:
  std::map<std::string, std::string> files;
  std::vector<std::string> requested;
  Result<HttpResponse> Send(const HttpRequest& r) override {
    requested.push_back(r.url);
    HttpResponse resp;
    auto it = files.find(r.url);
    if (it == files.end()) {
      resp.status = 404;
      return resp;
    }
    resp.status = 200;
    resp.body = it->second;
    resp.headers = {{"etag", "\"v1\""}};
    resp.from_cache = served_.count(r.url) > 0;
    served_.insert(r.url);
    return resp;
  }

 private:
  std::set<std::string> served_;
};

TEST_CASE("channel loader: http .zst fallback, parsed cache keyed by ETag") {
  PosixFileSystem fs;
  FakeChannelHttp http;
  http.files["https://example.invalid/ch/linux-64/repodata.json"] =
      "{\"packages\":{" + Rec("lib", "1.0") + "}}";
  std::string cache = TempDir();
  LoadStats stats;
  auto idx = LoadSubdir("https://example.invalid/ch/", "linux-64", http, fs, cache, NullReporter(),
                        &stats);
  REQUIRE(idx.ok());
  CHECK_FALSE(stats.from_parsed_cache);
  CHECK(http.requested == std::vector<std::string>{
                              "https://example.invalid/ch/linux-64/repodata.json.zst",
                              "https://example.invalid/ch/linux-64/repodata.json"});
  CHECK((*idx)->Records("lib", NullReporter()).at(0).url ==
        "https://example.invalid/ch/linux-64/lib-1.0-0.tar.bz2");
  LoadStats warm;
  idx = LoadSubdir("https://example.invalid/ch", "linux-64", http, fs, cache, NullReporter(), &warm);
  REQUIRE(idx.ok());
  CHECK(warm.from_parsed_cache);
  CHECK(warm.http_not_modified);
  CHECK((*idx)->HasName("lib"));
  // A channel without the subdir is an error naming it.
  auto missing = LoadSubdir("https://example.invalid/ch", "osx-64", http, fs, cache,
                            NullReporter());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        "channel https://example.invalid/ch has no osx-64/repodata.json (HTTP 404)");
}

}  // namespace
}  // namespace ferry::resolver
