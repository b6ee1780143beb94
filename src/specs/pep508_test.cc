// PEP 508 tests: the PEP's examples and marker semantics (packaging's behaviour).
#include "src/specs/pep508.h"

#include <catch2/catch.hpp>

using namespace ferry::specs;

namespace {

Requirement R(const std::string& s) {
  auto r = Requirement::Parse(s);
  INFO(s << ": " << r.status().message());
  REQUIRE(r.ok());
  return *r;
}

MarkerEnvironment Env(const char* platform, const char* python) {
  auto e = MarkerEnvironmentFor(platform, python);
  REQUIRE(e.ok());
  return *e;
}

bool M(const std::string& marker, const MarkerEnvironment& env) {
  auto m = Marker::Parse(marker);
  INFO(marker << ": " << m.status().message());
  REQUIRE(m.ok());
  return m->Evaluate(env);
}

}  // namespace

TEST_CASE("PEP 508 examples parse") {
  Requirement r = R("A");
  CHECK(r.name == "A");
  CHECK(r.specifier.empty());
  CHECK(r.marker.empty());

  r = R("A.B-C_D");
  CHECK(r.NormalizedName() == "a-b-c-d");

  r = R("aa");
  r = R("name<=1");
  CHECK(r.specifier.ToString() == "<=1");
  r = R("name>=3,<2");
  CHECK(r.specifier.ToString() == "<2,>=3");
  r = R("name>=3");
  r = R("name@http://foo.com");
  CHECK(r.url == "http://foo.com");
  r = R("name [fred,bar] @ http://foo.com ; python_version=='2.7'");
  CHECK(r.extras == std::vector<std::string>{"bar", "fred"});
  CHECK(r.url == "http://foo.com");
  CHECK(r.marker.ToString() == "python_version == \"2.7\"");
  r = R("name[quux, strange];python_version<'2.7' and platform_version=='2'");
  CHECK(r.extras == std::vector<std::string>{"quux", "strange"});
  CHECK(r.marker.ToString() == "python_version < \"2.7\" and platform_version == \"2\"");
  r = R("name; os_name=='a' or os_name=='b'");
  CHECK(r.marker.ToString() == "os_name == \"a\" or os_name == \"b\"");
  r = R("name; os_name=='a' and os_name=='b' or os_name=='c'");
  r = R("name; os_name=='a' and (os_name=='b' or os_name=='c')");
  CHECK(r.marker.ToString() == "os_name == \"a\" and (os_name == \"b\" or os_name == \"c\")");
  r = R("name; os_name=='a' or os_name=='b' and os_name=='c'");
  r = R("name; (os_name=='a' or os_name=='b') and os_name=='c'");

  r = R("requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"");
  CHECK(r.name == "requests");
  CHECK(r.specifier.ToString() == "==2.8.*,>=2.8.1");
  CHECK(r.ToString() == "requests[security,tests]==2.8.*,>=2.8.1; python_version < \"2.7\"");
  r = R("pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686");
  CHECK(r.url.find("#sha1=") != std::string::npos);
  r = R("numpy (>=1.20, <2)");
  CHECK(r.specifier.ToString() == "<2,>=1.20");
  r = R("Django[Argon2]");
  CHECK(r.extras == std::vector<std::string>{"argon2"});
  r = R("foo[]");
  CHECK(r.extras.empty());
  r = R("foo @ file:///tmp/foo-1.0.tar.gz ; sys_platform == 'linux'");
  CHECK(r.ToString() == "foo @ file:///tmp/foo-1.0.tar.gz ; sys_platform == \"linux\"");
}

TEST_CASE("requirement ToString round-trips") {
  for (const char* s :
       {"a", "a>=1", "a[x,y]~=1.2; python_version >= \"3.8\" and os_name == \"nt\"",
        "a @ https://x/y.whl", "a; (os_name == 'a' or os_name == 'b') and extra == 'z'"}) {
    std::string canon = R(s).ToString();
    INFO(s << " -> " << canon);
    CHECK(R(canon).ToString() == canon);
  }
}

TEST_CASE("marker environment for targets, never the host") {
  MarkerEnvironment e = Env("linux-64", "3.11");
  CHECK(e.sys_platform == "linux");
  CHECK(e.platform_system == "Linux");
  CHECK(e.platform_machine == "x86_64");
  CHECK(e.os_name == "posix");
  CHECK(e.python_version == "3.11");
  CHECK(e.python_full_version == "3.11.0");
  CHECK(e.implementation_name == "cpython");
  CHECK(e.platform_python_implementation == "CPython");
  e = Env("osx-arm64", "3.12.4");
  CHECK(e.sys_platform == "darwin");
  CHECK(e.platform_machine == "arm64");
  CHECK(e.python_full_version == "3.12.4");
  CHECK(e.python_version == "3.12");
  e = Env("win-64", "3.10");
  CHECK(e.sys_platform == "win32");
  CHECK(e.os_name == "nt");
  CHECK(e.platform_machine == "AMD64");
  CHECK(Env("linux-aarch64", "3.9").platform_machine == "aarch64");
  CHECK_FALSE(MarkerEnvironmentFor("noarch", "3.11").ok());
  CHECK_FALSE(MarkerEnvironmentFor("linux-64", "3").ok());
  CHECK_FALSE(MarkerEnvironmentFor("linux-64", "3.x").ok());
  CHECK_FALSE(MarkerEnvironmentFor("beos", "3.11").ok());
}

TEST_CASE("marker evaluation") {
  MarkerEnvironment linux311 = Env("linux-64", "3.11");
  MarkerEnvironment win39 = Env("win-64", "3.9");
  CHECK(M("python_version >= '3.8'", linux311));
  CHECK(M("python_version > '3.9'", linux311));        // version compare, not string ("3.11" < "3.9")
  CHECK_FALSE(M("python_version < '3.9'", linux311));
  CHECK(M("python_version == '3.11'", linux311));
  CHECK(M("python_version == '3.*'", linux311));
  CHECK(M("python_version ~= '3.8'", linux311));
  CHECK(M("python_full_version >= '3.11.0'", linux311));
  CHECK(M("python_full_version == '3.11'", linux311));  // 3.11.0 == 3.11
  CHECK(M("sys_platform == 'linux'", linux311));
  CHECK_FALSE(M("sys_platform == 'win32'", linux311));
  CHECK(M("sys_platform == 'win32'", win39));
  CHECK(M("'linux' in sys_platform", linux311));
  CHECK(M("'win' not in sys_platform", linux311));
  CHECK(M("platform_machine in 'x86_64 aarch64'", linux311));
  CHECK(M("os_name == 'nt' and python_version < '3.10'", win39));
  CHECK(M("os_name == 'nt' or python_version < '3.10'", linux311) == false);
  CHECK(M("(os_name == 'nt' or sys_platform == 'linux') and python_version >= '3'", linux311));
  CHECK(M("platform_system != 'Windows'", linux311));
  CHECK(M("implementation_name == 'cpython'", linux311));
  CHECK(M("platform_python_implementation == 'CPython'", linux311));
  CHECK(M("python_implementation == 'CPython'", linux311));  // legacy alias
  CHECK(M("os.name == 'posix'", linux311));                    // legacy dotted alias
  CHECK(M("platform_release == ''", linux311));
  CHECK(M("'3.11' == python_version", linux311));
  CHECK(M("platform_machine >= 'x'", linux311));  // not versions: string comparison
  CHECK_FALSE(M("platform_machine ~= 'x86'", linux311));  // undefined on strings: false
  CHECK(M("implementation_version >= '3.11'", linux311));
}

TEST_CASE("extras in markers") {
  MarkerEnvironment env = Env("linux-64", "3.11");
  auto m = Marker::Parse("extra == 'Security_Extra'");
  REQUIRE(m.ok());
  CHECK_FALSE(m->Evaluate(env));
  env.extra = "security-extra";
  CHECK(m->Evaluate(env));  // both sides normalized
  env.extra.clear();
  CHECK(m->EvaluateForExtras(env, {"tests", "security.extra"}));
  CHECK_FALSE(m->EvaluateForExtras(env, {"tests"}));
  CHECK_FALSE(m->EvaluateForExtras(env, {}));
  Requirement r = R("pytest; extra == 'test' and python_version >= '3.8'");
  CHECK(r.Applies(env, {"test"}));
  CHECK_FALSE(r.Applies(env));
  CHECK(R("numpy").Applies(env));
}

TEST_CASE("requirement and marker parse errors") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "invalid requirement \"\" at position 0: empty requirement"},
      {">=1.0", "at position 0: expected a package name"},
      {"name[", "at position 4: unterminated '['"},
      {"name[bar baz]", "at position 9: expected ',' or ']' in extras"},
      {"name[,]", "at position 5: expected an extra name"},
      {"name >= 1.0 junk", "at position 11: invalid version: unexpected character ' '"},
      {"name 1.0", "at position 5: expected an operator"},
      {"name (>=1.0", "at position 5: unbalanced '('"},
      {"name (>=1.0) x", "at position 13: expected ';' or end after ')'"},
      {"name @", "at position 6: expected a URL after '@'"},
      {"name @ foo", "at position 7: expected a URL with a scheme"},
      {"name @ http://x y", "at position 16: expected ';' before the marker after a URL"},
      {"name; ", "at position 5: empty marker"},
      {"name; os_name", "at position 13: expected a marker operator"},
      {"name; os_name ==", "at position 16: expected a marker variable or a quoted string"},
      {"name; os_name == 'a", "at position 17: unterminated string"},
      {"name; foo == 'a'", "at position 6: unknown marker variable \"foo\""},
      {"name; os_name = 'a'", "at position 14: expected a marker operator"},
      {"name; (os_name == 'a'", "at position 6: unbalanced '('"},
      {"name; os_name == 'a')", "at position 20: unbalanced ')'"},
      {"name; os_name == 'a' and", "at position 24: expected a marker expression"},
      {"name; os_name == 'a' xor 'b'", "at position 21: expected 'and', 'or' or end of marker"},
      {"name; os_name not 'a'", "at position 18: expected 'in' after 'not'"},
  };
  for (const Case& c : cases) {
    auto r = Requirement::Parse(c.text);
    INFO(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ferry::Code::kUser);
    CHECK_THAT(r.status().message(), Catch::Contains(c.message));
  }
  auto m = Marker::Parse("os_name == ");
  REQUIRE_FALSE(m.ok());
  CHECK_THAT(m.status().message(),
             Catch::Contains("invalid marker \"os_name == \" at position 11"));
}
