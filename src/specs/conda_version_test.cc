// Tests for the conda Version ordering (CEP 33 / conda's VersionOrder), from conda's docs and its
// test suite's tables.
#include "src/specs/conda_version.h"

#include <catch2/catch.hpp>
#include <string>
#include <unordered_set>
#include <vector>

using ferry::specs::Version;

namespace {

Version V(const std::string& s) {
  auto v = Version::Parse(s);
  INFO(s << ": " << v.status().message());
  REQUIRE(v.ok());
  return *v;
}

// Checks that `chain` is sorted; entries starting with "==" are equal to the previous one.
void CheckChain(const std::vector<std::string>& chain) {
  for (size_t i = 1; i < chain.size(); ++i) {
    bool eq = chain[i].rfind("==", 0) == 0;
    std::string prev = chain[i - 1].rfind("==", 0) == 0 ? chain[i - 1].substr(2) : chain[i - 1];
    std::string cur = eq ? chain[i].substr(2) : chain[i];
    Version a = V(prev), b = V(cur);
    INFO(prev << (eq ? " == " : " < ") << cur);
    if (eq) {
      CHECK(a.Compare(b) == 0);
      CHECK(b.Compare(a) == 0);
      CHECK(a.Hash() == b.Hash());
    } else {
      CHECK(a.Compare(b) < 0);
      CHECK(b.Compare(a) > 0);
      CHECK(a < b);
    }
    CHECK(a.Compare(a) == 0);
  }
}

}  // namespace

TEST_CASE("conda docs ordering chain") {
  CheckChain({"0.4",      "==0.4.0",   "0.4.1.rc",    "==0.4.1.RC", "0.4.1",    "0.5a1",
              "0.5b3",    "0.5C1",     "0.5",         "0.9.6",      "0.960923", "1.0",
              "1.1dev1",  "1.1_",      "1.1a1",       "1.1.0dev1",  "==1.1.dev1", "1.1.a1",
              "1.1.0rc1", "1.1.0",     "==1.1",       "1.1.0post1", "==1.1.post1", "1.1post1",
              "1996.07.12", "1!0.4.1", "1!3.1.1.6",   "2!0.4.1"});
}

TEST_CASE("conda test suite ordering table") {
  CheckChain({"0.4", "==0.4.0", "0.4.1a.vc11", "0.4.1.rc", "0.4.1.vc11", "0.4.1", "0.5*", "0.5a1",
              "0.5b3", "0.5C1", "0.5z", "0.5za", "0.5", "0.5_5", "==0.5-5", "0.9.6", "0.960923",
              "1.0", "1.0.4a3", "1.0.4b1", "1.0.4", "1.1dev1", "1.1_", "1.1a1", "1.1.dev1",
              "1.1.a1", "1.1", "1.1.post1", "1.1.1dev1", "1.1.1rc1", "1.1.1", "1.1.1post1",
              "1.1post1", "2g6", "2.0b1pr0", "2.2be.ta29", "2.2be5ta29", "2.2beta29", "2.2.0.1",
              "3.1.1.6", "3.2.p.r0", "3.2.pr0", "3.2.pr.1", "5.5.kw", "11g", "14.3.1",
              "14.3.1.post26.g9d75ca2", "1996.07.12", "1!0.4.1", "1!3.1.1.6", "2!0.4.1"});
}

TEST_CASE("openssl convention: trailing underscore") {
  CheckChain({"1.0.1dev", "1.0.1_", "1.0.1a", "1.0.1b", "1.0.1c", "1.0.1d", "1.0.1r", "1.0.1rc",
              "1.0.1rc1", "1.0.1rc2", "1.0.1s", "1.0.1", "1.0.1post.a", "1.0.1post.b",
              "1.0.1post.z", "1.0.1post.za", "1.0.2"});
}

TEST_CASE("PEP 440-like versions sort under conda rules") {
  CheckChain({"1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
              "1.0b2.post345.dev456", "1.0b2.post345", "1.0c1.dev456", "1.0c1", "1.0c3", "1.0rc2",
              "1.0.dev456", "1.0", "1.0.post456.dev34", "1.0.post456", "1.1.dev1",
              "1.2.r32+123456", "1.2.rev33+123456", "1.2+abc", "1.2+abc123def", "1.2+abc123",
              "1.2+123abc", "1.2+123abc456", "1.2+1234.abc", "1.2+123456", "1!1.0a1",
              "1!1.0.post456", "1!1.2+123456"});
  CheckChain({"0.3.0.dev", "0.3.3"});
}

TEST_CASE("conda equalities, case and whitespace") {
  CHECK(V("  0.4.rc  ") == V("0.4.RC"));
  CHECK(V("0.4") == V("0.4.0"));
  CHECK(V("0.4") != V("0.4.1"));
  CHECK(V("0.4.a1") == V("0.4.0a1"));
  CHECK(V("0.4.a1") != V("0.4.1a1"));
  CHECK(V("1") == V("1.0.0.0"));
  CHECK(V("0!1.0") == V("1.0"));
  CHECK(V("1.0+0") == V("1.0"));  // a zero local compares like no local
  CHECK(V("1.01") == V("1.1"));   // numbers compare as integers
  CHECK(V("1.1rc1") != V("1.1.0rc1"));
  CHECK(V("1.1rc1") < V("1.1.0rc1"));
  CHECK(V("1.1.rc1") == V("1.1.0rc1"));
  CHECK(V("1.0-1") == V("1.0_1"));
  CHECK(V("1.0-1") == V("1.0.1"));
  CHECK(V("12345678901234567890123") > V("12345678901234567890122"));
  CHECK(V("99999999999999999999999") > V("1"));
  CHECK(V("1.2.0RC1").str() == "1.2.0RC1");
  CHECK(V(" 1.2 ").str() == "1.2");
  CHECK(V("3!1.0").epoch() == 3);
  CHECK(V("1.0").epoch() == 0);
  CHECK(V("1.0+local").has_local());
  CHECK(Version().str() == "0");
  CHECK(Version() == V("0.0"));
}

TEST_CASE("dev < strings < numbers < post") {
  CHECK(V("1.0dev") < V("1.0_"));
  CHECK(V("1.0_") < V("1.0a"));
  CHECK(V("1.0a") < V("1.0"));
  CHECK(V("1.0") < V("1.0post"));
  CHECK(V("1.0post") == V("1.0POST"));
  CHECK(V("1.0.*") < V("1.0.dev"));  // '*' sorts below DEV
  CHECK(V("1.0dev_") > V("1.0dev"));  // "dev_" is a plain string
}

TEST_CASE("hash is consistent with equality") {
  std::unordered_set<Version, ferry::specs::VersionHash> set;
  set.insert(V("1.0"));
  CHECK(set.count(V("1.0.0")) == 1);
  CHECK(set.count(V("1")) == 1);
  CHECK(set.count(V("1.0.1")) == 0);
  CHECK(V("1.1.dev1").Hash() == V("1.1.0dev1").Hash());
  CHECK(V("1.0+a.0").Hash() == V("1.0+a").Hash());
}

TEST_CASE("startswith (conda test suite)") {
  CHECK(V("0.4.1").StartsWith(V("0")));
  CHECK(V("0.4.1").StartsWith(V("0.4")));
  CHECK(V("0.4.1p1").StartsWith(V("0.4")));
  CHECK(V("0.4.1p1").StartsWith(V("0.4.1p")));
  CHECK_FALSE(V("0.4.1p1").StartsWith(V("0.4.1q1")));
  CHECK_FALSE(V("0.4").StartsWith(V("0.4.1")));
  CHECK(V("0.4.1+1.3").StartsWith(V("0.4.1")));
  CHECK(V("0.4.1+1.3").StartsWith(V("0.4.1+1")));
  CHECK_FALSE(V("0.4.1").StartsWith(V("0.4.1+1.3")));
  CHECK_FALSE(V("0.4.1+1").StartsWith(V("0.4.1+1.3")));
  CHECK(V("1.2").StartsWith(V("1.2")));
  CHECK(V("1.2.0").StartsWith(V("1.2")));
  CHECK_FALSE(V("1.20").StartsWith(V("1.2")));
  CHECK_FALSE(V("1.3").StartsWith(V("1.2")));
  CHECK(V("1.2rc1").StartsWith(V("1.2rc")));
  CHECK_FALSE(V("2!1.2").StartsWith(V("1.2")));
}

TEST_CASE("conda version parse errors name input, position and reason") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "invalid conda version \"\" at position 0: empty version string"},
      {"   ", "invalid conda version \"   \" at position 3: empty version string"},
      {"1.2..3", "invalid conda version \"1.2..3\" at position 4: empty component"},
      {"5.5..mw", "at position 4: empty component"},
      {"3.5&1", "at position 3: invalid character '&'"},
      {"5.5++", "at position 4: duplicated local version separator '+'"},
      {"!", "at position 0: epoch must be an integer"},
      {"a!1.0", "at position 0: epoch must be an integer"},
      {"a!b!1.0", "at position 3: duplicated epoch separator '!'"},
      {"1!", "at position 2: empty version after epoch"},
      {"+1.2", "at position 0: missing version before local version separator '+'"},
      {"1.0+", "at position 4: empty component"},
      {"1.0+a..b", "at position 6: empty component"},
      {".1", "at position 0: empty component"},
      {"1.", "at position 2: empty component"},
      {"1-2_3", "at position 1: invalid character '-' (dashes and underscores cannot be mixed)"},
      {"1.0 2", "at position 3: invalid character ' '"},
      {"1.0+a!2", "at position 5: epoch separator '!' after local version '+'"},
  };
  for (const Case& c : cases) {
    auto v = Version::Parse(c.text);
    INFO(c.text);
    REQUIRE_FALSE(v.ok());
    CHECK(v.status().code() == ferry::Code::kUser);
    CHECK_THAT(v.status().message(), Catch::Contains(c.message));
  }
}
