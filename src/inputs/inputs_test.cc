#include <catch2/catch.hpp>
#include <map>

#include "src/inputs/pyproject.h"
#include "src/inputs/requirements_txt.h"
#include "src/inputs/toml.h"

using namespace ferry;
using namespace ferry::inputs;

namespace {

struct FakeFiles {
  std::map<std::string, std::string> files;
  std::vector<std::string> reads;
  ReadFileFn Fn() {
    return [this](const std::string& path) -> Result<std::string> {
      reads.push_back(path);
      auto it = files.find(path);
      if (it == files.end()) return Status::User(path + ": No such file or directory");
      return it->second;
    };
  }
};

std::vector<std::string> Reqs(const RequirementsTxt& r) {
  std::vector<std::string> out;
  for (const auto& x : r.requirements) out.push_back(x.requirement);
  return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("requirements.txt: pip syntax") {
  FakeFiles fs;
  fs.files["proj/requirements.txt"] =
      "# top comment\n"
      "--index-url https://pypi.example/simple\n"
      "--extra-index-url=https://extra.example/simple\n"
      "\n"
      "numpy>=1.26  # trailing comment\n"
      "pandas[excel] >=2.1, <3 ; python_version >= \"3.10\"\n"
      "requests==2.31.0 \\\n"
      "    --hash=sha256:58CD2187C01E70E6E26505BCA751777AA9F2EE0B7F4300988B709F44E013003F \\\n"
      "    --hash sha256:942c5a758f98d790eaed1a29cb6eefc7ffb0d1cf7af05c3d2791656dbd6ad1e1\n"
      "pkg @ https://files.example/pkg-1.0-py3-none-any.whl#sha256=ab\n"
      "-r common/base.txt\n"
      "-c constraints.txt\n"
      "Scikit_Learn\n";
  fs.files["proj/common/base.txt"] = "attrs\n-r ../more.txt\n";
  fs.files["proj/more.txt"] = "rich ; sys_platform != 'win32'\n";
  fs.files["proj/constraints.txt"] = "urllib3<2\n";
  auto r = ReadRequirementsTxt("proj/requirements.txt", fs.Fn());
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(Reqs(*r) == V{"numpy>=1.26", "pandas[excel] >=2.1, <3 ; python_version >= \"3.10\"",
                      "requests==2.31.0", "pkg @ https://files.example/pkg-1.0-py3-none-any.whl#sha256=ab", "attrs",
                      "rich ; sys_platform != 'win32'", "Scikit_Learn"});
  CHECK(r->requirements[2].hashes ==
        V{"sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f",
          "sha256:942c5a758f98d790eaed1a29cb6eefc7ffb0d1cf7af05c3d2791656dbd6ad1e1"});
  CHECK(r->requirements[2].origin == "proj/requirements.txt:7");
  CHECK(r->requirements[5].origin == "proj/more.txt:1");
  CHECK(r->requirements[6].name == "scikit-learn");
  REQUIRE(r->constraints.size() == 1);
  CHECK(r->constraints[0].requirement == "urllib3<2");
  CHECK(r->index_url == "https://pypi.example/simple");
  CHECK(r->extra_index_urls == V{"https://extra.example/simple"});
  CHECK(r->files == V{"proj/requirements.txt", "proj/common/base.txt", "proj/more.txt",
                      "proj/constraints.txt"});
}

TEST_CASE("requirements.txt: errors carry file and line") {
  FakeFiles fs;
  auto err = [&](const std::string& text) {
    fs.files["r.txt"] = text;
    auto r = ReadRequirementsTxt("r.txt", fs.Fn());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUser);
    return r.status().message();
  };
  CHECK(err("numpy\n-e ./src/mypkg\n") == "r.txt:2: -e/--editable requirements are not supported");
  CHECK(err("\n\n./dist/pkg-1.0-py3-none-any.whl\n") ==
        "r.txt:3: './dist/pkg-1.0-py3-none-any.whl': paths and URLs need a name: write 'NAME @ "
        "URL'");
  CHECK(err("numpy --install-option=x\n") ==
        "r.txt:1: option '--install-option=x' is not supported on a requirement line");
  CHECK(err("--frobnicate\n") == "r.txt:1: unknown option '--frobnicate'");
  CHECK(err("numpy --hash=md5:abc\n") == "r.txt:1: unsupported hash algorithm 'md5' (use sha256)");
  CHECK(err("numpy --hash=sha256:abc\n") == "r.txt:1: malformed sha256 digest 'abc'");
  CHECK(err("a\\\nb\\\nc\n-r missing.txt\n") ==
        "r.txt:4: -r missing.txt: missing.txt: No such file or directory");
  CHECK(err("numpy\n$$\n") == "r.txt:2: invalid requirement '$$'");
  fs.files["inc/a.txt"] = "x\n-r b.txt\n";
  fs.files["inc/b.txt"] = "y\n\n-r a.txt\n";
  CHECK(err("-r inc/a.txt\n") ==
        "inc/b.txt:3: -r a.txt: include cycle (r.txt -> inc/a.txt -> inc/b.txt -> inc/a.txt)");
  fs.files["deep.txt"] = "-e .\n";
  CHECK(err("numpy\n-r deep.txt\n") == "deep.txt:1: -e/--editable requirements are not supported");
}

TEST_CASE("requirements.txt: continuation lines report their first line") {
  FakeFiles fs;
  fs.files["r.txt"] = "numpy\\\n>=1.26\n\npandas\n";
  auto r = ReadRequirementsTxt("r.txt", fs.Fn());
  REQUIRE(r.ok());
  CHECK(Reqs(*r) == V{"numpy>=1.26", "pandas"});
  CHECK(r->requirements[1].origin == "r.txt:4");
}

TEST_CASE("toml: the subset pyproject.toml needs") {
  auto doc = ParseToml(R"TOML(
# comment
title = "x"   # trailing
[project]
name = 'demo'
dependencies = [
  "numpy>=1.26",  # pinned below 2
  'pandas',
  """requests""",
]
requires-python = ">=3.10"
authors = [{ name = "A", email = "a@example.com" }]
version.major = 1
"quoted key" = 0x1F
[project.optional-dependencies]
ml = ["scikit-learn>=1.4"]
dev = []
[[tool.thing]]
a = 1979-05-27T07:32:00Z
[[tool.thing]]
b = """
multi \
   line"""
c = 'C:\path'
d = [ [1, 2], ["a"] ]
e = { x.y = true, z = -inf }
f = 1_000.5e3
)TOML",
                       "pyproject.toml");
  INFO(doc.status().message());
  REQUIRE(doc.ok());
  const TomlValue* deps = doc->Find({"project", "dependencies"});
  REQUIRE(deps != nullptr);
  REQUIRE(deps->array.size() == 3);
  CHECK(deps->array[2].text == "requests");
  CHECK(deps->line == 6);
  CHECK(doc->Find({"project", "version", "major"})->text == "1");
  CHECK(doc->Find({"project", "quoted key"})->type == TomlValue::Type::kInteger);
  CHECK(doc->Find({"project", "optional-dependencies", "ml"})->array[0].text == "scikit-learn>=1.4");
  const TomlValue* things = doc->Find({"tool", "thing"});
  REQUIRE(things != nullptr);
  REQUIRE(things->array.size() == 2);
  CHECK(things->array[0].Get("a")->type == TomlValue::Type::kDateTime);
  CHECK(things->array[1].Get("b")->text == "multi line");
  CHECK(things->array[1].Get("c")->text == "C:\\path");
  CHECK(things->array[1].Get("e")->Find({"x", "y"})->boolean);
  CHECK(things->array[1].Get("f")->type == TomlValue::Type::kFloat);
}

TEST_CASE("toml: errors name the line") {
  auto e = [](std::string_view text) {
    auto r = ParseToml(text, "p.toml");
    REQUIRE_FALSE(r.ok());
    return r.status().message();
  };
  CHECK(e("a = 1\nb 2\n") == "p.toml:2: expected '=' after key 'b'");
  CHECK(e("a = 1\na = 2\n") == "p.toml:2: duplicate key 'a'");
  CHECK(e("[x]\n[x]\n") == "p.toml:2: table 'x' defined twice");
  CHECK(e("a = [1,\n 2\n") == "p.toml:1: unterminated array");
  CHECK(e("a = \"abc\n") == "p.toml:1: unterminated string (newline in a string)");
  CHECK(e("a = \"\\q\"\n") == "p.toml:1: invalid escape sequence '\\q'");
  CHECK(e("a = 1 2\n") == "p.toml:1: unexpected '2' (expected the end of the line)");
  CHECK(e("a = {b = 1}\n[a]\n") == "p.toml:2: inline table 'a' cannot be extended");
  CHECK(e("a = {b = 1}\na.c = 2\n") == "p.toml:2: cannot add to key 'a'");
  CHECK(e("[a.b]\n[a.c]\n[a.d]\n[a.e]\n[a.b]\n") == "p.toml:5: table 'a.b' defined twice");
  CHECK(e("[[t]]\n[t]\n") == "p.toml:2: table 't' defined twice");
  auto ok = ParseToml("[a.b.c]\nx = 1\n[a]\ny = 2\n[[t]]\n[[t]]\n[t.sub]\nz = 3\n", "p.toml");
  INFO(ok.status().message());
  REQUIRE(ok.ok());
  CHECK(ok->Find({"a", "b", "c", "x"})->text == "1");
  CHECK(ok->Find({"t"})->array.size() == 2);
  CHECK(ok->Find({"t"})->array[1].Find({"sub", "z"})->text == "3");
}

TEST_CASE("pyproject: dependencies, extras and requires-python") {
  const char* text = R"TOML(
[project]
name = "demo"
requires-python = ">=3.10"
dependencies = [
  "numpy>=1.26",
  "pandas ; python_version >= '3.10'",
]
[project.optional-dependencies]
ML_Extra = ["scikit-learn>=1.4", "numpy>=1.26"]
plot = ["matplotlib"]
)TOML";
  auto p = ReadPyProject(text, "pyproject.toml");
  REQUIRE(p.ok());
  CHECK(p->requires_python == ">=3.10");
  auto base = SelectDependencies(*p, {}, "pyproject.toml");
  REQUIRE(base.ok());
  CHECK(*base == V{"numpy>=1.26", "pandas ; python_version >= '3.10'"});
  auto ml = SelectDependencies(*p, {"ml-extra"}, "pyproject.toml");
  REQUIRE(ml.ok());
  CHECK(*ml == V{"numpy>=1.26", "pandas ; python_version >= '3.10'", "scikit-learn>=1.4"});
  auto bad = SelectDependencies(*p, {"gpu"}, "pyproject.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "pyproject.toml: unknown extra 'gpu' (available: ML_Extra, plot)");

  auto dyn = ReadPyProject("[project]\nname='x'\ndynamic = [\"dependencies\"]\n", "pyproject.toml");
  REQUIRE_FALSE(dyn.ok());
  CHECK(dyn.status().message().find("pyproject.toml:3: [project].dependencies is dynamic") == 0);
  auto typ = ReadPyProject("[project]\ndependencies = \"numpy\"\n", "pyproject.toml");
  REQUIRE_FALSE(typ.ok());
  CHECK(typ.status().message() ==
        "pyproject.toml:2: [project].dependencies must be an array of strings, got string");
  auto none = ReadPyProject("[tool.x]\na=1\n", "pyproject.toml");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("pyproject.toml: no [project] table") == 0);
}
