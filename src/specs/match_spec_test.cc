// Tests for conda VersionSpec and MatchSpec (conda's VersionSpec/MatchSpec docs and test tables).
#include "src/specs/match_spec.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using ferry::specs::MatchSpec;
using ferry::specs::PackageRecord;
using ferry::specs::Version;
using ferry::specs::VersionSpec;

namespace {

Version V(const std::string& s) {
  auto v = Version::Parse(s);
  REQUIRE(v.ok());
  return *v;
}

VersionSpec VS(const std::string& s) {
  auto v = VersionSpec::Parse(s);
  INFO(s << ": " << v.status().message());
  REQUIRE(v.ok());
  return *v;
}

MatchSpec MS(const std::string& s) {
  auto m = MatchSpec::Parse(s);
  INFO(s << ": " << m.status().message());
  REQUIRE(m.ok());
  return *m;
}

PackageRecord Rec(const std::string& name, const std::string& version, const std::string& build,
                  int64_t build_number = 0) {
  PackageRecord r;
  r.name = name;
  r.version = V(version);
  r.build = build;
  r.build_number = build_number;
  r.subdir = "linux-64";
  r.channel = "https://conda.anaconda.org/conda-forge";
  r.md5 = "0123456789abcdef0123456789abcdef";
  r.sha256 = std::string(64, 'a');
  r.license = "BSD-3-Clause";
  r.fn = name + "-" + version + "-" + build + ".conda";
  return r;
}

}  // namespace

TEST_CASE("version spec matching table") {
  struct Case {
    const char* spec;
    const char* version;
    bool match;
  };
  const Case cases[] = {
      // conda's test_version_spec / docs
      {"1.7.1", "1.7.1", true},       {"1.7.1", "1.7.1.0", true},      {"1.7.1", "1.7.10", false},
      {"1.7*", "1.7.1", true},        {"1.7*", "1.7", true},           {"1.7*", "1.8", false},
      {"1.7*", "1.70", false},        {"1.7.*", "1.7.2rc1", true},     {"1.7.1*", "1.7.1", true},
      {"==1.7", "1.7.0", true},       {"==1.7", "1.7.1", false},       {"!=1.7", "1.7.0", false},
      {"!=1.7", "1.7.1", true},       {"<1.7", "1.6.9", true},         {"<1.7", "1.7", false},
      {"<1.7", "1.7.0.dev1", true},   {"<=1.7", "1.7.0", true},        {">1.7", "1.7.0", false},
      {">1.7", "1.7.0post1", true},   {">=1.7", "1.7", true},          {">=1.7", "1.6", false},
      {"=1.7", "1.7.5", true},        {"=1.7", "1.70", false},         {"=1.7.*", "1.7.5", true},
      {"==1.7.*", "1.7.5", true},     {"==1.7.*", "1.8", false},       {"!=1.7.*", "1.7.5", false},
      {"!=1.7.*", "1.8", true},       {">=1.7.*", "1.7", true},        {"<1.7.*", "1.6", true},
      {"~=1.4.5", "1.4.5", true},     {"~=1.4.5", "1.4.10", true},     {"~=1.4.5", "1.5", false},
      {"~=1.4.5", "1.4.4", false},    {"~=1.4", "1.9", true},          {"~=1.4", "2.0", false},
      {"*", "0.0.1", true},           {"*", "1!2.0+local", true},
      {">=1,<2", "1.5", true},        {">=1,<2", "2.0", false},        {">=1,<2", "0.9", false},
      {"1.2|1.4", "1.4", true},       {"1.2|1.4", "1.3", false},       {">=1,<2|==3.0", "3.0", true},
      {">=1,<2|==3.0", "2.5", false}, {">=1,<2|==3.0", "1.2", true},
      {"(>=1,<2)|(>3,<4)", "3.5", true}, {"(>=1|<0.5),<0.2", "0.1", true},
      {"(>=1|<0.5),<0.2", "1.5", false}, {">=1 , <2", "1.5", true},  {">= 1.2", "1.3", true},
      {"1.*.3", "1.2.3", true},       {"1.*.3", "1.2.4", false},       {"1.*.3", "1.2.13", false},
      {"^1\\.[0-9]+$", "1.23", true}, {"^1\\.[0-9]+$", "1.2.3", false},
      {"1.0.*", "1.0", true},         {"1.0*", "1.0.0", true},         {"2019.*", "2019.10.1", true},
      {"0.4.1.*", "0.4.1rc1", true}  /* conda quirk */, {"0.4.1rc*", "0.4.1rc1", true},  {"1.*", "1.2+abc", true},
  };
  for (const Case& c : cases) {
    INFO(c.spec << " vs " << c.version);
    CHECK(VS(c.spec).Matches(V(c.version)) == c.match);
  }
}

TEST_CASE("version spec canonical text") {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"1.2", "==1.2"},          {"1.2*", "1.2.*"},           {"1.2.*", "1.2.*"},
      {"=1.2", "1.2.*"},         {"==1.2.*", "1.2.*"},        {">=1.2.*", ">=1.2"},
      {"!=1.2.*", "!=1.2.*"},    {"*", "*"},                  {" >= 1.2 , < 2 ", ">=1.2,<2"},
      {"1.2|(1.4,1.5)", "==1.2|==1.4,==1.5"},                 {"(1.2|1.4),1.5", "(==1.2|==1.4),==1.5"},
      {"((1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1",
       "==1.5|(==1.6|==1.7),==1.8,==1.9|==2.0|==2.1"},
      {"~=1.4.5", "~=1.4.5"},    {"1.*.3", "1.*.3"},          {"^1\\.2$", "^1\\.2$"},
  };
  for (const Case& c : cases) {
    INFO(c.in);
    std::string canon = VS(c.in).ToString();
    CHECK(canon == c.out);
    CHECK(VS(canon).ToString() == canon);
  }
  Version exact;
  CHECK(VS("==1.2").IsExact(&exact));
  CHECK(exact.str() == "1.2");
  CHECK_FALSE(VS("1.2.*").IsExact());
  CHECK(VS("*").IsAny());
}

TEST_CASE("version spec errors name input and position") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "invalid conda version spec \"\" at position 0: empty version spec"},
      {"(1.2", "at position 0: unbalanced '('"},
      {"1.2)", "at position 3: unbalanced ')'"},
      {"1.2,", "at position 4: empty expression"},
      {"|1.2", "at position 0: empty expression"},
      {"1.2||1.3", "at position 4: empty expression"},
      {"<>1.2", "at position 0: invalid operator"},
      {"=>1.2", "at position 0: invalid operator"},
      {"!1.2", "at position 0: invalid operator"},
      {">=", "at position 2: missing version after operator '>='"},
      {"~=1.2.*", "at position 0: invalid operator '~=' with '.*'"},
      {"~=1", "at position 2: '~=' needs a version with at least two components"},
      {"^1.2", "at position 0: regex specs must start with '^' and end with '$'"},
      {"1.2$", "at position 0: regex specs must start with '^' and end with '$'"},
      {"^(1$", "at position 0: invalid regex"},
      {"1.2..3", "at position 4: invalid version: empty component"},
      {">=1.2..3", "at position 6: invalid version: empty component"},
      {"1.2,>=1..3", "at position 8: invalid version: empty component"},
      {"1.2 3", "at position 3: unexpected whitespace in version"},
      {"1.2(", "at position 3: unexpected '('"},
      {"1.*.&", "at position 4: invalid character '&'"},
      {".*", "at position 0: missing version before '*'"},
      // fuzzer regressions: '*' inside an operator's version could not round-trip
      {"==*2*", "at position 2: '*' is only allowed as a trailing wildcard or in a glob"},
      {">=1.*2", "at position 4: '*' is only allowed as a trailing wildcard or in a glob"},
  };
  for (const Case& c : cases) {
    auto v = VersionSpec::Parse(c.text);
    INFO(c.text);
    REQUIRE_FALSE(v.ok());
    CHECK(v.status().code() == ferry::Code::kUser);
    CHECK_THAT(v.status().message(), Catch::Contains(c.message));
  }
}

TEST_CASE("match spec parsing: positional forms") {
  MatchSpec m = MS("numpy");
  CHECK(m.name == "numpy");
  CHECK_FALSE(m.version);
  CHECK_FALSE(m.build);

  m = MS("numpy 1.2.*");
  CHECK(m.version->ToString() == "1.2.*");

  m = MS("numpy 1.2");  // bare version without build: prefix
  CHECK(m.version->ToString() == "1.2.*");
  CHECK(m.ToString() == "numpy=1.2");

  m = MS("numpy 1.2 py3*_0");  // bare version with build: exact
  CHECK(m.version->ToString() == "==1.2");
  CHECK(m.build->str() == "py3*_0");

  m = MS("numpy=1.2=py_0");
  CHECK(m.version->ToString() == "==1.2");
  CHECK(m.build->str() == "py_0");
  CHECK(m.ToString() == "numpy==1.2=py_0");

  m = MS("numpy=1.2");
  CHECK(m.version->ToString() == "1.2.*");

  m = MS("numpy==1.2");
  CHECK(m.version->ToString() == "==1.2");
  CHECK(m.ToString() == "numpy==1.2");

  m = MS("numpy>=1.2,<2|==3.0");
  CHECK(m.version->ToString() == ">=1.2,<2|==3.0");
  CHECK(m.ToString() == "numpy[version='>=1.2,<2|==3.0']");

  m = MS("numpy >=1.0 , < 2.0 py34_0");
  CHECK(m.version->ToString() == ">=1.0,<2.0");
  CHECK(m.build->str() == "py34_0");

  m = MS("numpy >=1.0 , < 2.0 =py34_0");
  CHECK(m.build->str() == "py34_0");

  m = MS("numpy * openblas_0");
  CHECK_FALSE(m.version);
  CHECK(m.build->str() == "openblas_0");

  m = MS("numpy * *");
  CHECK_FALSE(m.version);
  CHECK_FALSE(m.build);

  m = MS("  python   3.11.*   ");
  CHECK(m.name == "python");
  CHECK(m.version->ToString() == "3.11.*");

  m = MS("numpy=");  // conda accepts this as any version
  CHECK_FALSE(m.version);

  m = MS("python >=3.8 # comment");
  CHECK(m.version->ToString() == ">=3.8");

  m = MS("numpy=1.2=*nomkl*");
  CHECK(m.build->str() == "*nomkl*");
}

TEST_CASE("match spec parsing: channels and brackets") {
  MatchSpec m = MS("conda-forge::numpy");
  CHECK(m.channel == "conda-forge");
  CHECK(m.subdir.empty());
  CHECK(m.ToString() == "conda-forge::numpy");

  m = MS("conda-forge/linux-64::numpy>=1.0");
  CHECK(m.channel == "conda-forge");
  CHECK(m.subdir == "linux-64");
  CHECK(m.ToString() == "conda-forge/linux-64::numpy[version='>=1.0']");

  m = MS("*/linux-64::foo>=1.0");
  CHECK(m.channel.empty());
  CHECK(m.subdir == "linux-64");
  CHECK(m.ToString() == "foo[subdir=linux-64,version='>=1.0']");

  m = MS("https://conda.anaconda.org/conda-forge::numpy");
  CHECK(m.channel == "https://conda.anaconda.org/conda-forge");

  m = MS("conda-forge::foo[version=1.0.*]");
  CHECK(m.ToString() == "conda-forge::foo=1.0");

  m = MS("numpy[version='>=1.24', build=\"py311*\", build_number='>=3', md5=ABCDEF, "
         "sha256=00ff, subdir=linux-64, license=BSD-3-Clause, fn=x.conda]");
  CHECK(m.version->ToString() == ">=1.24");
  CHECK(m.build->str() == "py311*");
  CHECK(m.build_number->ToString() == ">=3");
  CHECK(m.md5 == "abcdef");
  CHECK(m.sha256 == "00ff");
  CHECK(m.subdir == "linux-64");
  CHECK(m.license == "BSD-3-Clause");
  CHECK(m.fn == "x.conda");

  m = MS("numpy 1.2 [version='>=2']");  // brackets win
  CHECK(m.version->ToString() == ">=2");

  m = MS("numpy[build='^py3[0-9]+_0$']");
  CHECK(m.build->Matches("py311_0"));
  CHECK_FALSE(m.build->Matches("py311_1"));
  CHECK(m.ToString() == "numpy[build='^py3[0-9]+_0$']");

  m = MS("numpy[build_number=3]");
  CHECK(m.ToString() == "numpy[build_number=3]");
}

TEST_CASE("match spec ToString round-trips") {
  const char* specs[] = {
      "numpy",
      "numpy 1.2",
      "numpy >=1.2,<2|==3.0",
      "numpy 1.2 py3*_0",
      "numpy=1.2=py_0",
      "conda-forge/osx-arm64::python 3.11.* *_cpython",
      "numpy !=1.2.*",
      "numpy ~=1.2.3",
      "numpy[md5=abc, build_number='<4', license='MIT']",
      "numpy 1.*.3",
      "numpy ^1\\.2.*$",
      "*[fn=numpy-1.0-0.conda]",
  };
  for (const char* s : specs) {
    INFO(s);
    MatchSpec m = MS(s);
    std::string canon = m.ToString();
    INFO(canon);
    MatchSpec again = MS(canon);
    CHECK(again.ToString() == canon);
  }
}

TEST_CASE("match spec Matches records") {
  PackageRecord r = Rec("numpy", "1.26.4", "py311h64a7726_0", 0);
  struct Case {
    const char* spec;
    bool match;
  };
  const Case cases[] = {
      {"numpy", true},
      {"scipy", false},
      {"num*", true},
      {"*", true},
      {"numpy 1.26", true},
      {"numpy 1.26.4", true},
      {"numpy 1.2", false},
      {"numpy=1.26", true},
      {"numpy==1.26", false},
      {"numpy==1.26.4", true},
      {"numpy >=1.24,<2", true},
      {"numpy <1.26|>2", false},
      {"numpy 1.26.4 py311*", true},
      {"numpy 1.26.4 py310*", false},
      {"numpy 1.26 py311h64a7726_0", false},  // with a build, a bare version is exact
      {"numpy=1.26.4=py311h64a7726_0", true},
      {"numpy * *_0", true},
      {"numpy * *_1", false},
      {"numpy[build_number=0]", true},
      {"numpy[build_number='>=1']", false},
      {"numpy[build='^py311h[0-9a-f]+_0$']", true},
      {"numpy[md5=0123456789ABCDEF0123456789ABCDEF]", true},
      {"numpy[md5=00000000000000000000000000000000]", false},
      {"numpy[subdir=linux-64]", true},
      {"numpy[subdir=osx-64]", false},
      {"conda-forge::numpy", true},
      {"bioconda::numpy", false},
      {"forge::numpy", false},
      {"https://conda.anaconda.org/conda-forge/::numpy", true},
      {"conda-forge/linux-64::numpy", true},
      {"conda-forge/osx-64::numpy", false},
      {"numpy[license=BSD-3-Clause]", true},
      {"numpy[license=MIT]", false},
      {"numpy[fn=numpy-1.26.4-py311h64a7726_0.conda]", true},
      {"numpy[sha256=" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]", true},
  };
  for (const Case& c : cases) {
    INFO(c.spec);
    CHECK(MS(c.spec).Matches(r) == c.match);
  }
}

TEST_CASE("match spec errors") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "invalid match spec \"\": empty match spec"},
      {"   # only a comment", "empty match spec"},
      {">=1.2", "missing package name"},
      {"numpy[version=1.2", "unterminated '['"},
      {"numpy[version=1.2] x", "unexpected text after ']'"},
      {"numpy[foo=1]", "unknown bracket key \"foo\""},
      {"numpy[version]", "bracket entry \"version\" is not key=value"},
      {"numpy[version=1,,build=2]", "empty entry in brackets"},
      {"numpy[version='1.2]", "unterminated"},
      {"numpy[build_number=abc]", "invalid build_number \"abc\""},
      {"numpy[build_number=99999999999999999999999]", "out of range"},
      {"numpy==", "missing version after '=='"},
      {"numpy >=1.2..3", "\">=1.2..3\" at position 6: invalid version: empty component"},
      {"numpy <>1.2", "invalid operator"},
      {"num&py", "invalid character '&' in package name"},
      {"numpy[build='^(x$']", "invalid regex"},
  };
  for (const Case& c : cases) {
    auto m = MatchSpec::Parse(c.text);
    INFO(c.text);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().code() == ferry::Code::kUser);
    CHECK_THAT(m.status().message(), Catch::Contains(c.message));
  }
}

TEST_CASE("match spec comments, channels and regex limits") {
  MatchSpec m = MS("numpy[url='https://x/numpy.conda#sha256=ab'] # pinned");
  CHECK(m.url == "https://x/numpy.conda#sha256=ab");
  m = MS("numpy 1.2 *");  // any build text (even "*") keeps a bare version exact, like conda
  CHECK(m.version->ToString() == "==1.2");
  CHECK_FALSE(m.build);
  CHECK_FALSE(MatchSpec::Parse("numpy[channel='a b']").ok());
  CHECK_FALSE(MatchSpec::Parse("a[b::numpy").ok());
  auto long_regex = MatchSpec::Parse("numpy[build='^" + std::string(300, 'a') + "$']");
  REQUIRE_FALSE(long_regex.ok());
  CHECK_THAT(long_regex.status().message(), Catch::Contains("regex is too long"));
  auto counted = VersionSpec::Parse("^(1{999}){999}$");
  REQUIRE_FALSE(counted.ok());
  CHECK_THAT(counted.status().message(), Catch::Contains("repetition count is too large"));
  CHECK(VersionSpec::Parse("^1\\.[0-9]{1,3}$").ok());
  // fuzzer regressions: catastrophic backtracking shapes are refused up front
  for (const char* rx : {"^2***********.$", "^(a+)*$", "^(a*b?)+$", "^a{2}*$", "^(x|(y+))+$",
                         "^.*?*?.?.*?*?.?.$", "^a+?+$", "^a*??$", "^(a*?)+$", "^(1|1)*x$",
                         "^(.|1)+x$"}) {
    INFO(rx);
    auto r = VersionSpec::Parse(rx);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("quantifier"));
  }
  CHECK(VersionSpec::Parse("^1\\.2.*?$").ok());   // lazy quantifier is fine
  // fuzzer regression: many quantifiers in sequence backtrack ~n^k steps on a failed match
  for (const char* rx : {"^.*.*.*.*.*x$", "^.?.?.?.?.?.?x$", "^(.*)(.*)(.*)(.*)(.*)x$"}) {
    INFO(rx);
    auto r = VersionSpec::Parse(rx);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("more than 4 quantifiers"));
  }
  CHECK(VersionSpec::Parse("^1\\.(2|3)\\.[0-9]+(\\.post1)?[a-z]?.*$").ok());  // 4 quantifiers
  CHECK(VersionSpec::Parse("^[+*]+(ab)?$").ok());  // quantifier chars inside a class
  // fuzzer regression: quotes that could not be re-quoted by ToString
  CHECK_FALSE(MatchSpec::Parse("*ut n 0:\":m'*m").ok());
  CHECK_FALSE(MatchSpec::Parse("numpy[build=a'\"b]").ok());
}

TEST_CASE("ParseMatchSpecVersion follows match spec rules") {
  auto check = [](const char* text, bool has_build, const char* canon) {
    auto v = ferry::specs::ParseMatchSpecVersion(text, has_build);
    INFO(text);
    REQUIRE(v.ok());
    CHECK(v->ToString() == canon);
  };
  check("1.2", false, "1.2.*");
  check("1.2", true, "==1.2");
  check("=1.2", false, "1.2.*");
  check("=1.2", true, "==1.2");
  check("==1.2", false, "==1.2");
  check("=1.2,<2", false, "1.2.*,<2");
  check(">=1.2", false, ">=1.2");
  check("1.2|1.3", false, "==1.2|==1.3");
}
