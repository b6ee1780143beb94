#include "src/lock/lock_file.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "src/digest.h"

using namespace ferry;
using namespace ferry::lock;

namespace {

LockedPackage Conda(const std::string& name, const std::string& version, const std::string& subdir) {
  LockedPackage p;
  p.kind = PackageKind::kConda;
  p.name = name;
  p.version = version;
  p.build = "h0_0";
  p.subdir = subdir;
  p.filename = name + "-" + version + "-h0_0.conda";
  p.url = "https://conda.example/fixtures/" + subdir + "/" + p.filename;
  p.channel = "https://conda.example/fixtures";
  p.sha256 = Sha256Hex(p.url);
  p.md5 = Md5Hex(p.url);
  p.size = 1000 + name.size();
  p.depends = {"libc >=1"};
  return p;
}

LockedPackage Pypi(const std::string& name, const std::string& version) {
  LockedPackage p;
  p.kind = PackageKind::kPypi;
  p.name = name;
  p.version = version;
  p.filename = name + "-" + version + "-py3-none-any.whl";
  p.url = "https://pypi.example/files/" + p.filename;
  p.channel = "https://pypi.example/simple";
  p.sha256 = Sha256Hex(p.url);
  p.size = 500;
  p.requires_python = ">=3.8";
  return p;
}

LockedEnvironment Env(std::vector<std::string> steps, const std::string& platform,
                      std::vector<std::string> conda, std::vector<std::string> pypi) {
  LockedEnvironment e;
  e.platform = platform;
  e.steps = std::move(steps);
  e.requirements.conda = conda;
  e.requirements.pypi = pypi;
  e.requirements.channels = {"https://conda.example/fixtures"};
  e.requirements.python = "3.11";
  e.requirements.platform = platform;
  e.req_id = ComputeReqId(e.requirements);
  for (const auto& c : conda) {
    std::string name = c.substr(0, c.find(' '));
    e.packages.push_back(Conda(name, "1.0", platform));
  }
  for (const auto& r : pypi) e.packages.push_back(Pypi(r.substr(0, r.find('=')), "2.0"));
  e.env_id = ComputeEnvId(platform, e.packages);
  return e;
}

LockFile Sample() {
  LockFile lock;
  lock.inputs = {{"flow.py", std::string(64, 'a')}, {"extra.txt", std::string(64, 'b')}};
  lock.flow_file = "flow.py";
  lock.flow_class = "TrainFlow";
  for (const char* platform : {"linux-64", "osx-arm64"}) {
    lock.environments.push_back(
        Env({"start", "end"}, platform, {"python 3.11.*", "numpy 1.26.4"}, {}));
    lock.environments.push_back(Env({"train"}, platform, {"python 3.11.*", "scikit-learn"},
                                    {"requests==2.31.0"}));
  }
  LockStep start{"start", StepKind::kEnvironment, {}, "", false};
  LockStep end{"end", StepKind::kEnvironment, {}, "", false};
  LockStep train{"train", StepKind::kEnvironment, {}, "", false};
  for (const auto& e : lock.environments) {
    if (e.steps[0] == "train") {
      train.req_ids[e.platform] = e.req_id;
    } else {
      start.req_ids[e.platform] = e.req_id;
      end.req_ids[e.platform] = e.req_id;
    }
  }
  lock.steps = {start, train, end, LockStep{"cleanup", StepKind::kDisabled, {}, "", false},
                LockStep{"explain", StepKind::kNamed, {}, "explainer:v1", true}};
  return lock;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("lock file: round trip is byte-identical") {
  std::string text = WriteLock(Sample());
  auto parsed = ParseLock(text, "ferry.lock");
  INFO(parsed.status().message());
  REQUIRE(parsed.ok());
  CHECK(WriteLock(*parsed) == text);
  CHECK(parsed->environments.size() == 4);
  CHECK(parsed->flow_class == "TrainFlow");
  CHECK(parsed->steps.size() == 5);
  CHECK(text.back() == '\n');
  CHECK(text.rfind("{\n  \"lock_version\": 1,\n  \"inputs\": [", 0) == 0);
  // the stored package fields survive
  const LockedEnvironment* train = parsed->ReusableEntry(
      Sample().environments[1].req_id, "linux-64");
  REQUIRE(train != nullptr);
  CHECK(train->steps == std::vector<std::string>{"train"});
  REQUIRE(train->packages.size() == 3);
  CHECK(train->packages[0].kind == PackageKind::kConda);
  CHECK(train->packages[0].md5.size() == 32);
  CHECK(train->packages[0].depends == std::vector<std::string>{"libc >=1"});
  CHECK(train->packages[2].kind == PackageKind::kPypi);
  CHECK(train->packages[2].requires_python == ">=3.8");
  CHECK(train->packages[2].channel == "https://pypi.example/simple");
}

TEST_CASE("lock file: input order does not change the bytes") {
  LockFile a = Sample();
  std::string expected = WriteLock(a);
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    LockFile b = Sample();
    std::shuffle(b.inputs.begin(), b.inputs.end(), rng);
    std::shuffle(b.steps.begin(), b.steps.end(), rng);
    std::shuffle(b.environments.begin(), b.environments.end(), rng);
    for (auto& e : b.environments) {
      std::shuffle(e.packages.begin(), e.packages.end(), rng);
      std::shuffle(e.steps.begin(), e.steps.end(), rng);
      std::shuffle(e.requirements.conda.begin(), e.requirements.conda.end(), rng);
    }
    REQUIRE(WriteLock(b) == expected);
  }
}

TEST_CASE("lock file: one changed environment gives a local diff") {
  LockFile a = Sample();
  LockFile b = Sample();
  // re-resolve train on linux-64 with another scikit-learn
  for (auto& e : b.environments) {
    if (e.steps[0] == "train" && e.platform == "linux-64") {
      e.packages[1] = Conda("scikit-learn", "1.5", "linux-64");
      e.env_id = ComputeEnvId(e.platform, e.packages);
    }
  }
  std::string ta = WriteLock(a), tb = WriteLock(b);
  // count differing lines
  auto lines = [](const std::string& s) {
    std::vector<std::string> out;
    size_t p = 0;
    while (p < s.size()) {
      size_t n = s.find('\n', p);
      out.push_back(s.substr(p, n - p));
      p = n + 1;
    }
    return out;
  };
  auto la = lines(ta), lb = lines(tb);
  REQUIRE(la.size() == lb.size());
  int diff = 0;
  for (size_t i = 0; i < la.size(); ++i) diff += la[i] != lb[i];
  CHECK(diff == 6);  // env_id + version, filename, url, sha256, md5
}

TEST_CASE("lock file: tampering is detected without network") {
  std::string text = WriteLock(Sample());
  LockFile s = Sample();
  const LockedEnvironment& train = s.environments[1];

  SECTION("a package sha256 changed") {
    std::string sha = train.packages[1].sha256;  // scikit-learn, only in 'train' on linux-64
    auto r = ParseLock(Replace(text, sha, std::string(64, 'f')), "ferry.lock");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kIntegrity);
    CHECK(r.status().message().find("ferry.lock: environment 'train' (linux-64): env_id "
                                    "mismatch") == 0);
  }
  SECTION("a requirement edited") {
    auto r = ParseLock(Replace(text, "\"scikit-learn\"", "\"scikit-learn >=1.5\""), "ferry.lock");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kIntegrity);
    CHECK(r.status().message().find("environment 'train' (linux-64): req_id mismatch") !=
          std::string::npos);
  }
  SECTION("a version edited (not covered by the env-id)") {
    auto r = ParseLock(Replace(text, "\"version\": \"1.0\"", "\"version\": \"1.1\""),
                       "ferry.lock");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kIntegrity);
    CHECK(r.status().message().find("package 'numpy': file name 'numpy-1.0-h0_0.conda' does not "
                                    "match name, version and build 'numpy 1.1 h0_0'") !=
          std::string::npos);
  }
  SECTION("a url pointing at another file") {
    auto r = ParseLock(Replace(text, "/files/requests-2.0-py3-none-any.whl\"",
                               "/files/evil-2.0-py3-none-any.whl\""),
                       "ferry.lock");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kIntegrity);
    CHECK(r.status().message().find("does not end with its file name") != std::string::npos);
  }
  SECTION("a malformed sha256") {
    std::string sha = train.packages[0].sha256;
    auto r = ParseLock(Replace(text, sha, "xyz"), "ferry.lock");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kIntegrity);
    CHECK(r.status().message().find("malformed sha256 'xyz'") != std::string::npos);
  }
  SECTION("the step map points elsewhere") {
    std::string req = train.req_id;
    // point step 'train' (first occurrence of its req-id: the step map) to a missing id
    auto r = ParseLock(Replace(text, "\"linux-64\": \"" + req, "\"linux-64\": \"" +
                                                                  std::string(64, '0')),
                       "ferry.lock");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kIntegrity);
    CHECK(r.status().message().find("step 'train' (linux-64) refers to a missing environment") !=
          std::string::npos);
  }
}

TEST_CASE("lock file: versions and malformed files") {
  auto v2 = ParseLock("{\"lock_version\": 2, \"environments\": []}", "ferry.lock");
  REQUIRE_FALSE(v2.ok());
  CHECK(v2.status().code() == Code::kUser);
  CHECK(v2.status().message() ==
        "ferry.lock: lock_version 2 is not supported by this ferry (it reads lock_version 1); "
        "upgrade ferry");
  auto none = ParseLock("{\"environments\": []}", "x.lock");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message() == "x.lock: not a ferry lock file (no 'lock_version')");
  auto bad = ParseLock("{\"lock_version\": 1,", "x.lock");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("x.lock: not a valid lock file (invalid JSON)") == 0);
  std::string text = WriteLock(Sample());
  auto missing = ParseLock(Replace(text, "\"md5\"", "\"md6\""), "ferry.lock");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kUser);
  CHECK(missing.status().message().find("ferry.lock: environments[0].packages[0]: missing 'md5'") ==
        0);
}

TEST_CASE("lock file: FindEnvironment by step, id prefix and platform") {
  LockFile lock = Sample();
  auto r = FindEnvironment(lock, "train", "linux-64");
  REQUIRE(r.ok());
  CHECK((*r)->platform == "linux-64");
  CHECK((*r)->steps == std::vector<std::string>{"train"});

  auto amb = FindEnvironment(lock, "train", "");
  REQUIRE_FALSE(amb.ok());
  CHECK(amb.status().message() ==
        "step 'train' has environments for several platforms (linux-64, osx-arm64); choose one "
        "with --platform");

  auto by_id = FindEnvironment(lock, lock.environments[2].env_id.substr(0, 10), "");
  REQUIRE(by_id.ok());
  CHECK(*by_id == &lock.environments[2]);

  auto disabled = FindEnvironment(lock, "cleanup", "linux-64");
  REQUIRE_FALSE(disabled.ok());
  CHECK(disabled.status().message() == "step 'cleanup' is disabled: it has no environment");

  auto unknown = FindEnvironment(lock, "tran", "linux-64");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() ==
        "no step, name or id 'tran' in the lock (steps: start, train, end, cleanup, explain)");

  auto whole = FindEnvironment(lock, "", "osx-arm64");
  REQUIRE_FALSE(whole.ok());  // two environments on osx-arm64
  CHECK(whole.status().message().find("matches several environments") != std::string::npos);

  auto missing_platform = FindEnvironment(lock, "train", "win-64");
  REQUIRE_FALSE(missing_platform.ok());
  CHECK(missing_platform.status().message() ==
        "step 'train' has no environment for platform 'win-64' (locked platforms: linux-64, "
        "osx-arm64)");
}

TEST_CASE("lock file: SPEC §3 JSON is a subset") {
  LockFile lock = Sample();
  Canonicalize(lock);
  std::string j = ToSpecJson(lock);
  CHECK(j.find("\"lock_version\": 1") != std::string::npos);
  CHECK(j.find("\"requirements\"") == std::string::npos);
  CHECK(j.find("\"build\": null") != std::string::npos);  // pypi
  CHECK(j.find("\"md5\"") == std::string::npos);
}

// Not run by default: `ferry_core_tests "[.sample]"` writes the sample lock to
// $FERRY_SAMPLE_LOCK, for trying `ferry show` by hand.
TEST_CASE("lock file: write the sample lock", "[.sample]") {
  const char* path = std::getenv("FERRY_SAMPLE_LOCK");
  if (path == nullptr) return;  // nothing to do unless asked
  std::FILE* f = std::fopen(path, "wb");
  REQUIRE(f != nullptr);
  std::string text = WriteLock(Sample());
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}
