#include "store/materialize/verify.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "store/materialize/extract.h"
#include "store/materialize/link.h"
#include "store/materialize/materialize_test_util.h"

using namespace ferry;
using namespace ferry::store;
using namespace ferry::store::mattest;
namespace fs = std::filesystem;

namespace {

std::string MakeEnv(const TempDir& t) {
  CondaSpec a;
  a.name = "vpkg";
  a.files = {{"share/v/a.txt", "aaaa\n", 0644, "", false, ""},
             {"share/v/b.txt", "bbbb\n", 0644, "", false, ""},
             {"etc/v.conf", "p=/opt/anaconda1anaconda2anaconda3\n", 0644,
              "/opt/anaconda1anaconda2anaconda3", false, ""}};
  std::string pkg = BuildCondaPackage(t / "pkgs", a);
  std::string fn = fs::path(pkg).filename();
  REQUIRE(ExtractPackage(pkg, fn, t / "store/v").ok());
  LinkOptions o;
  o.mode = LinkMode::kCopy;  // edits must not reach the store in this test
  REQUIRE(LinkEnvironment({{Locked("vpkg", "1.0", "0", fn), t / "store/v"}}, t / "env", o).ok());
  return t / "env";
}

}  // namespace

TEST_CASE("VerifyEnvironment: clean, modified, corrupt, missing, extra", "[verify]") {
  TempDir t;
  std::string env = MakeEnv(t);
  auto clean = VerifyEnvironment(env);
  REQUIRE(clean.ok());
  CHECK(clean->clean());
  CHECK(clean->ExitCode() == 0);
  CHECK(clean->checked == 3);

  SECTION("edited (size changed) -> 1") {
    WriteFile(env + "/share/v/a.txt", "edited!\n");
    auto r = VerifyEnvironment(env);
    REQUIRE(r.ok());
    CHECK(r->modified == std::vector<std::string>{"share/v/a.txt"});
    CHECK(r->ExitCode() == 1);
  }
  SECTION("same size, other bytes -> corruption, 3") {
    WriteFile(env + "/share/v/b.txt", "bbbc\n");
    auto r = VerifyEnvironment(env);
    REQUIRE(r.ok());
    CHECK(r->corrupt == std::vector<std::string>{"share/v/b.txt"});
    CHECK(r->ExitCode() == 3);
  }
  SECTION("relocated file checked against its relocated digest") {
    WriteFile(env + "/etc/v.conf", "p=/opt/anaconda1anaconda2anaconda3\n");
    auto r = VerifyEnvironment(env);
    REQUIRE(r.ok());
    CHECK(r->modified == std::vector<std::string>{"etc/v.conf"});
  }
  SECTION("missing and extra -> 1; __pycache__ ignored") {
    fs::remove(env + "/share/v/a.txt");
    WriteFile(env + "/share/v/new.txt", "new");
    WriteFile(env + "/lib/__pycache__/x.cpython-311.pyc", "pyc");
    auto r = VerifyEnvironment(env);
    REQUIRE(r.ok());
    CHECK(r->missing == std::vector<std::string>{"share/v/a.txt"});
    CHECK(r->extra == std::vector<std::string>{"share/v/new.txt"});
    CHECK(r->ExitCode() == 1);
  }
  SECTION("unreadable record -> 3") {
    WriteFile(env + "/conda-meta/vpkg-1.0-0.json", "{not json");
    auto r = VerifyEnvironment(env);
    REQUIRE(r.ok());
    CHECK(r->ExitCode() == 3);
  }
}

TEST_CASE("VerifyEnvironment refuses a directory that is not an environment", "[verify]") {
  TempDir t;
  CHECK(VerifyEnvironment(t.path).status().code() == Code::kUser);
}
