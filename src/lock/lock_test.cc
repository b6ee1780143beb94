#include "src/lock/lock.h"

#include <catch2/catch.hpp>

using namespace ferry;

TEST_CASE("env-id is order independent and depends on platform and digests") {
  LockedPackage a;
  a.name = "a";
  a.sha256 = std::string(64, 'a');
  LockedPackage b;
  b.name = "b";
  b.kind = PackageKind::kPypi;
  b.sha256 = std::string(64, 'b');
  auto id1 = ComputeEnvId("linux-64", {a, b});
  auto id2 = ComputeEnvId("linux-64", {b, a});
  REQUIRE(id1 == id2);
  REQUIRE(id1.size() == 64);
  REQUIRE(id1 != ComputeEnvId("osx-arm64", {a, b}));
  b.sha256 = std::string(64, 'c');
  REQUIRE(id1 != ComputeEnvId("linux-64", {a, b}));
}

TEST_CASE("req-id sorts specs but keeps channel priority") {
  RequirementSet r1;
  r1.conda = {"numpy", "python 3.11.*"};
  r1.channels = {"http://a", "http://b"};
  r1.platform = "linux-64";
  RequirementSet r2 = r1;
  r2.conda = {"python 3.11.*", "numpy"};
  REQUIRE(ComputeReqId(r1) == ComputeReqId(r2));
  r2.channels = {"http://b", "http://a"};
  REQUIRE(ComputeReqId(r1) != ComputeReqId(r2));
  REQUIRE(CanonicalRequirementJson(r1) ==
          R"({"channels":["http://a","http://b"],"conda":["numpy","python 3.11.*"],"indexes":[],"platform":"linux-64","pypi":[],"python":"","virtual_overrides":{}})");
}
