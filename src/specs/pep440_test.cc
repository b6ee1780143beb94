// PEP 440 tests: tables from the PEP's text and packaging's test suite (normalization, ordering,
// specifier semantics, pre-release rules).
#include "src/specs/pep440.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using ferry::specs::Pep440Version;
using ferry::specs::Specifier;
using ferry::specs::SpecifierSet;

namespace {

Pep440Version P(const std::string& s) {
  auto v = Pep440Version::Parse(s);
  INFO(s << ": " << v.status().message());
  REQUIRE(v.ok());
  return *v;
}

}  // namespace

TEST_CASE("PEP 440 normalization") {
  const std::pair<const char*, const char*> cases[] = {
      {"1.0dev", "1.0.dev0"},       {"1.0.dev", "1.0.dev0"},      {"1.0dev1", "1.0.dev1"},
      {"1.0-dev", "1.0.dev0"},      {"1.0-dev1", "1.0.dev1"},     {"1.0DEV", "1.0.dev0"},
      {"1.0_dev1", "1.0.dev1"},     {"1.0a", "1.0a0"},            {"1.0.a", "1.0a0"},
      {"1.0.a1", "1.0a1"},          {"1.0-a", "1.0a0"},           {"1.0alpha", "1.0a0"},
      {"1.0.alpha1", "1.0a1"},      {"1.0-ALPHA-1", "1.0a1"},     {"1.0beta", "1.0b0"},
      {"1.0b2", "1.0b2"},           {"1.0c", "1.0rc0"},           {"1.0c1", "1.0rc1"},
      {"1.0pre", "1.0rc0"},         {"1.0preview2", "1.0rc2"},    {"1.0.rc1", "1.0rc1"},
      {"1.0RC1", "1.0rc1"},         {"1.0post", "1.0.post0"},     {"1.0.post", "1.0.post0"},
      {"1.0post1", "1.0.post1"},    {"1.0-post", "1.0.post0"},    {"1.0-post-2", "1.0.post2"},
      {"1.0-1", "1.0.post1"},       {"1.0rev", "1.0.post0"},      {"1.0r", "1.0.post0"},
      {"1.0.r4", "1.0.post4"},      {"1.0+ubuntu-1", "1.0+ubuntu.1"},
      {"1.0+ubuntu_1", "1.0+ubuntu.1"}, {"1.0+Ubuntu.1", "1.0+ubuntu.1"},
      {"1.0+007", "1.0+7"},         {"v1.0", "1.0"},              {"V1.0", "1.0"},
      {"  v1.0\t\n", "1.0"},        {"1!1.0", "1!1.0"},           {"0!1.0", "1.0"},
      {"01.02", "1.2"},             {"1.0.0", "1.0.0"},           {"1.0a1.post2.dev3", "1.0a1.post2.dev3"},
      {"1.0a.", "1.0a0"},           {"1.0a-1", "1.0a1"},          {"1.0a--1", "1.0a0.post1"},
      {"1.0.post1.dev1", "1.0.post1.dev1"}, {"2.0B1", "2.0b1"},
  };
  for (const auto& [in, out] : cases) {
    INFO(in);
    CHECK(P(in).ToString() == out);
    CHECK(P(P(in).ToString()) == P(in));
  }
  CHECK(P(" v1.0 ").original() == "v1.0");
}

TEST_CASE("PEP 440 ordering (packaging's sorted table)") {
  const std::vector<std::string> versions = {
      "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
      "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346", "1.0c1.dev456", "1.0c1", "1.0rc2",
      "1.0c3", "1.0", "1.0.post456.dev34", "1.0.post456", "1.1.dev1", "1.2+123abc",
      "1.2+123abc456", "1.2+abc", "1.2+abc123", "1.2+abc123def", "1.2+1234.abc", "1.2+123456",
      "1.2.r32+123456", "1.2.rev33+123456", "1!1.0.dev456", "1!1.0a1", "1!1.0a2.dev456",
      "1!1.0a12.dev456", "1!1.0a12", "1!1.0b1.dev456", "1!1.0b2", "1!1.0b2.post345.dev456",
      "1!1.0b2.post345", "1!1.0b2-346", "1!1.0c1.dev456", "1!1.0c1", "1!1.0rc2", "1!1.0c3",
      "1!1.0", "1!1.0.post456.dev34", "1!1.0.post456", "1!1.1.dev1", "1!1.2+123abc",
      "1!1.2+123abc456", "1!1.2+abc", "1!1.2+abc123", "1!1.2+abc123def", "1!1.2+1234.abc",
      "1!1.2+123456", "1!1.2.r32+123456", "1!1.2.rev33+123456"};
  for (size_t i = 0; i < versions.size(); ++i) {
    for (size_t j = 0; j < versions.size(); ++j) {
      int c = P(versions[i]).Compare(P(versions[j]));
      int want = i < j ? -1 : (i > j ? 1 : 0);
      INFO(versions[i] << " vs " << versions[j]);
      CHECK(c == want);
    }
  }
  CHECK(P("1.0") == P("1.0.0"));
  CHECK(P("1.0") == P("1"));
  CHECK(P("1.0+0") == P("1.0+00"));
  CHECK(P("1.0") < P("1.0+0"));
  CHECK(P("1.0a1").is_prerelease());
  CHECK(P("1.0.dev1").is_prerelease());
  CHECK_FALSE(P("1.0.post1").is_prerelease());
  CHECK(P("1.0.post1").is_postrelease());
  CHECK(P("1!2.0rc1.post3+x").BaseVersion().ToString() == "1!2.0");
  CHECK(P("1.0+x.1").Public().ToString() == "1.0");
}

TEST_CASE("PEP 440 version parse errors") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "invalid PEP 440 version \"\" at position 0: empty version string"},
      {"french toast", "at position 0: expected a release number"},
      {"1.0+a+", "at position 5: unexpected character '+'"},
      {"1.0++", "at position 4: empty local version segment"},
      {"1.0+_foobar", "at position 4: empty local version segment"},
      {"1.0+foo&asd", "at position 7: unexpected character '&'"},
      {"1.0-", "at position 3: unexpected character '-'"},
      {"1.0.", "at position 3: unexpected character '.'"},
      {"1.0 dev", "at position 3: unexpected character ' '"},
      {"1.0+", "at position 4: empty local version segment"},
      {"1!", "at position 2: expected a release number after '!'"},
      {"!1.0", "at position 0: expected a release number"},
      {".1", "at position 0: expected a release number"},
      {"1.0a1a2", "at position 5: unexpected character 'a'"},
      {"99999999999999999999999", "at position 0: number too large"},
      {"1.0-1-1", "at position 5: unexpected character '-'"},
  };
  for (const Case& c : cases) {
    auto v = Pep440Version::Parse(c.text);
    INFO(c.text);
    REQUIRE_FALSE(v.ok());
    CHECK(v.status().code() == ferry::Code::kUser);
    CHECK_THAT(v.status().message(), Catch::Contains(c.message));
  }
}

TEST_CASE("specifier semantics (packaging's table, pre-releases allowed)") {
  struct Case {
    const char* version;
    const char* spec;
    bool expected;
  };
  const Case cases[] = {
      {"2.0", "==2", true}, {"2.0", "==2.0", true}, {"2.0", "==2.0.0", true},
      {"2.0+deadbeef", "==2", true}, {"2.0+deadbeef", "==2.0", true},
      {"2.0+deadbeef", "==2.0.0", true}, {"2.0+deadbeef", "==2+deadbeef", true},
      {"2.0+deadbeef", "==2.0+deadbeef", true}, {"2.0+deadbeef.0", "==2.0.0+deadbeef.00", true},
      {"2.dev1", "==2.*", true}, {"2a1", "==2.*", true}, {"2a1.post1", "==2.*", true},
      {"2b1", "==2.*", true}, {"2b1.dev1", "==2.*", true}, {"2c1", "==2.*", true},
      {"2c1.post1.dev1", "==2.*", true}, {"2c1.post1.dev1", "==2.0.*", true},
      {"2rc1", "==2.*", true}, {"2rc1", "==2.0.*", true}, {"2", "==2.*", true},
      {"2", "==2.0.*", true}, {"2", "==0!2.*", true}, {"0!2", "==2.*", true},
      {"2.0", "==2.*", true}, {"2.0.0", "==2.*", true}, {"2.1+local.version", "==2.1.*", true},
      {"2.1", "!=2", true}, {"2.1", "!=2.0", true}, {"2.0.1", "!=2", true},
      {"2.0.1", "!=2.0", true}, {"2.0.1", "!=2.0.0", true}, {"2.0", "!=2.0+deadbeef", true},
      {"2.0", "!=3.*", true}, {"2.1", "!=2.0.*", true},
      {"2.0", ">=2", true}, {"2.0", ">=2.0", true}, {"2.0", ">=2.0.0", true},
      {"2.0.post1", ">=2", true}, {"2.0.post1.dev1", ">=2", true}, {"3", ">=2", true},
      {"3.0.0a8", ">=3.0.0a7", true},
      {"2.0", "<=2", true}, {"2.0", "<=2.0", true}, {"2.0", "<=2.0.0", true},
      {"2.0.dev1", "<=2", true}, {"2.0a1", "<=2", true}, {"2.0a1.dev1", "<=2", true},
      {"2.0b1", "<=2", true}, {"2.0b1.post1", "<=2", true}, {"2.0c1", "<=2", true},
      {"2.0c1.post1.dev1", "<=2", true}, {"2.0rc1", "<=2", true}, {"1", "<=2", true},
      {"3.0.0a8", "<=3.0.0a8", true},
      {"3", ">2", true}, {"2.1", ">2.0", true}, {"2.0.1", ">2", true}, {"2.1.post1", ">2", true},
      {"2.1+local.version", ">2", true}, {"3.0.0a8", ">3.0.0a7", true},
      {"1", "<2", true}, {"2.0", "<2.1", true}, {"2.0.dev0", "<2.1", true},
      {"3.0.0a7", "<3.0.0a8", true},
      {"1", "~=1.0", true}, {"1.0.1", "~=1.0", true}, {"1.1", "~=1.0", true},
      {"1.9999999", "~=1.0", true}, {"1.1", "~=1.0a1", true}, {"2022.01.01", "~=2022.01.01", true},
      {"2!1.0", "~=2!1.0", true}, {"2!1.0", "==2!1.*", true}, {"2!1.0", "==2!1.0", true},
      {"2!1.0", "!=1.0", true}, {"1.0", "!=2!1.0", true}, {"1.0", "<=2!0.1", true},
      {"2!1.0", ">=2.0", true}, {"1.0", "<2!0.1", true}, {"2!1.0", ">2.0", true},
      {"2.0.5", ">2.0dev", true},
      {"2.1", "==2", false}, {"2.1", "==2.0", false}, {"2.1", "==2.0.0", false},
      {"2.0", "==2.0+deadbeef", false}, {"2.0", "==3.*", false}, {"2.1", "==2.0.*", false},
      {"2.0", "!=2", false}, {"2.0", "!=2.0", false}, {"2.0", "!=2.0.0", false},
      {"2.0+deadbeef", "!=2", false}, {"2.0+deadbeef", "!=2.0", false},
      {"2.0+deadbeef", "!=2.0.0", false}, {"2.0+deadbeef", "!=2+deadbeef", false},
      {"2.0+deadbeef", "!=2.0+deadbeef", false}, {"2.0+deadbeef.0", "!=2.0.0+deadbeef.00", false},
      {"2.dev1", "!=2.*", false}, {"2a1", "!=2.*", false}, {"2a1.post1", "!=2.*", false},
      {"2b1", "!=2.*", false}, {"2b1.dev1", "!=2.*", false}, {"2c1", "!=2.*", false},
      {"2c1.post1.dev1", "!=2.*", false}, {"2c1.post1.dev1", "!=2.0.*", false},
      {"2rc1", "!=2.*", false}, {"2rc1", "!=2.0.*", false}, {"2", "!=2.*", false},
      {"2", "!=2.0.*", false}, {"2.0", "!=2.*", false}, {"2.0.0", "!=2.*", false},
      {"2.0.dev1", ">=2", false}, {"2.0a1", ">=2", false}, {"2.0a1.dev1", ">=2", false},
      {"2.0b1", ">=2", false}, {"2.0b1.post1", ">=2", false}, {"2.0c1", ">=2", false},
      {"2.0c1.post1.dev1", ">=2", false}, {"2.0rc1", ">=2", false}, {"1", ">=2", false},
      {"2.0.post1", "<=2", false}, {"2.0.post1.dev1", "<=2", false}, {"3", "<=2", false},
      {"1", ">2", false}, {"2.0.dev1", ">2", false}, {"2.0a1", ">2", false},
      {"2.0a1.post1", ">2", false}, {"2.0b1", ">2", false}, {"2.0b1.dev1", ">2", false},
      {"2.0c1", ">2", false}, {"2.0c1.post1.dev1", ">2", false}, {"2.0rc1", ">2", false},
      {"2.0", ">2", false}, {"2.0.post1", ">2", false}, {"2.0.post1.dev1", ">2", false},
      {"2.0+local.version", ">2", false},
      {"2.0.dev1", "<2", false}, {"2.0a1", "<2", false}, {"2.0a1.dev1", "<2", false},
      {"2.0b1", "<2", false}, {"2.0b1.post1", "<2", false}, {"2.0c1", "<2", false},
      {"2.0c1.post1.dev1", "<2", false}, {"2.0rc1", "<2", false}, {"2.0", "<2", false},
      {"2.post1", "<2", false}, {"2.post1.dev1", "<2", false}, {"3", "<2", false},
      {"2.0", "~=1.0", false}, {"1.1.0", "~=1.0.0", false}, {"1.1.post1", "~=1.0.0", false},
      {"1.0", "~=2!1.0", false}, {"2!1.0", "~=1.0", false}, {"2!1.0", "==1.0", false},
      {"1.0", "==2!1.0", false}, {"2!1.0", "==1.*", false}, {"1.0", "==2!1.*", false},
      {"2!1.0", "!=2!1.0", false},
      {"1.0", "===1.0", true}, {"1.0.0", "===1.0", false}, {"1.0+Local", "===1.0+local", true},
  };
  for (const Case& c : cases) {
    auto spec = Specifier::Parse(c.spec);
    INFO(c.version << " " << c.spec << " " << spec.status().message());
    REQUIRE(spec.ok());
    CHECK(spec->Contains(P(c.version)) == c.expected);
  }
}

TEST_CASE("specifier sets and the pre-release rules") {
  auto S = [](const char* s) {
    auto set = SpecifierSet::Parse(s);
    INFO(s << ": " << set.status().message());
    REQUIRE(set.ok());
    return *set;
  };
  CHECK(S("").Contains(P("1.0")));
  CHECK_FALSE(S("").Contains(P("1.0a1")));
  CHECK(S("").Contains(P("1.0a1"), true));
  CHECK_FALSE(S(">=1.0").Contains(P("2.0a1")));
  CHECK(S(">=1.0a1").Contains(P("2.0a1")));  // explicitly mentioned pre-release
  CHECK(S(">=1.0a1").AllowsPrereleases());
  CHECK_FALSE(S("!=1.0a1").AllowsPrereleases());  // != does not opt in
  CHECK_FALSE(S(">1.0a1").AllowsPrereleases());
  CHECK(S("==1.0rc1").Contains(P("1.0rc1")));
  CHECK(S("~=1.0b1").AllowsPrereleases());
  CHECK_FALSE(S(">=1.0, <2").Contains(P("2.0")));
  CHECK(S(">=1.0, <2").Contains(P("1.5")));
  CHECK(S(" >= 1.0 ,< 2 ,!=1.5 ").Contains(P("1.6")));
  CHECK_FALSE(S(">=1.0,<2,!=1.5").Contains(P("1.5")));
  CHECK(S(">=1.0,<2,!=1.5").ToString() == "!=1.5,<2,>=1.0");
  CHECK(S("==1.2.*").ToString() == "==1.2.*");
  CHECK(S("~= 1.4.2").ToString() == "~=1.4.2");
  CHECK(S("<2.0.dev0").Contains(P("1.9")));
  // Filter: finals preferred; pre-releases only when nothing else matches.
  std::vector<Pep440Version> vs = {P("1.0"), P("2.0a1"), P("1.5b2")};
  CHECK(S(">=0.1").Filter(vs) == std::vector<size_t>{0});
  CHECK(S(">=1.1").Filter(vs) == std::vector<size_t>{1, 2});
  CHECK(S(">=3").Filter(vs).empty());
  CHECK(S(">=1.5b1").Filter(vs) == std::vector<size_t>{1, 2});
}

TEST_CASE("specifier parse errors") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"1.0", "invalid PEP 440 specifier set \"1.0\" at position 0: expected an operator"},
      {"=1.0", "at position 0: expected an operator"},
      {">=", "at position 2: missing version after operator"},
      {"~=1", "at position 2: '~=' needs a version with at least two release segments"},
      {"~=1.0.*", "at position 5: '.*' is only allowed with == and !="},
      {">=1.0.*", "at position 5: '.*' is only allowed with == and !="},
      {"==1.0a1.*", "at position 7: '.*' must follow a release segment"},
      {"==1.0+abc.*", "at position 9: '.*' must follow a release segment"},
      {"<1.0+local", "at position 1: local versions are only allowed with == and !="},
      {">=1.0,,<2", "at position 6: empty specifier"},
      {">=1.0,<2,", "at position 9: empty specifier"},
      {">=1.0, <2..0", "at position 9: invalid version: unexpected character '.'"},
      {"==1.0 dev", "at position 5: invalid version: unexpected character ' '"},
      {"=== ", "at position 3: missing version after operator"},
  };
  for (const Case& c : cases) {
    auto s = SpecifierSet::Parse(c.text);
    INFO(c.text);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == ferry::Code::kUser);
    CHECK_THAT(s.status().message(), Catch::Contains(c.message));
  }
}

TEST_CASE("PEP 503 names") {
  using ferry::specs::IsValidProjectName;
  using ferry::specs::NormalizeName;
  CHECK(NormalizeName("Friendly-Bard") == "friendly-bard");
  CHECK(NormalizeName("FRIENDLY-BARD") == "friendly-bard");
  CHECK(NormalizeName("friendly.bard") == "friendly-bard");
  CHECK(NormalizeName("friendly_bard") == "friendly-bard");
  CHECK(NormalizeName("friendly--bard") == "friendly-bard");
  CHECK(NormalizeName("FrIeNdLy-._.-bArD") == "friendly-bard");
  CHECK(IsValidProjectName("zope.interface"));
  CHECK(IsValidProjectName("A"));
  CHECK_FALSE(IsValidProjectName("-foo"));
  CHECK_FALSE(IsValidProjectName("foo-"));
  CHECK_FALSE(IsValidProjectName("foo bar"));
  CHECK_FALSE(IsValidProjectName(""));
}
