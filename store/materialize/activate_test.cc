#include "store/materialize/activate.h"

#include <catch2/catch.hpp>

#include "store/materialize/materialize_test_util.h"

using namespace ferry;
using namespace ferry::store;
using namespace ferry::store::mattest;

TEST_CASE("ActivatedEnvironment: PATH, CONDA_PREFIX, env_vars.d, activate.d", "[activate]") {
  TempDir t;
  std::string p = t / "env";
  std::map<std::string, std::string> base = {{"PATH", "/usr/bin:/bin"}, {"DROPME", "1"}, {"KEEP", "k"}};
  auto plain = ActivatedEnvironment(p, base);
  REQUIRE(plain.ok());
  CHECK(plain->at("PATH") == p + "/bin:/usr/bin:/bin");
  CHECK(plain->at("CONDA_PREFIX") == p);
  CHECK(plain->at("CONDA_DEFAULT_ENV") == p);
  CHECK(plain->at("DROPME") == "1");

  WriteFile(p + "/etc/conda/env_vars.d/10-a.json", R"({"FROM_JSON": "j", "NUM": 3})");
  WriteFile(p + "/etc/conda/activate.d/20-b.sh",
            "echo noise\nexport FROM_SH=\"$CONDA_PREFIX/share\"\nexport KEEP=changed\nunset DROPME\n"
            "export MULTI='a\nb'\n");
  auto r = ActivatedEnvironment(p, base);
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->at("FROM_JSON") == "j");
  CHECK(r->at("NUM") == "3");
  CHECK(r->at("FROM_SH") == p + "/share");
  CHECK(r->at("KEEP") == "changed");
  CHECK(r->at("MULTI") == "a\nb");
  CHECK(r->count("DROPME") == 0);
  CHECK(r->at("PATH") == p + "/bin:/usr/bin:/bin");

  WriteFile(p + "/etc/conda/activate.d/30-fail.sh", "false\n");
  auto bad = ActivatedEnvironment(p, base);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("30-fail.sh") != std::string::npos);
}
