#include "src/inputs/combine.h"

#include <catch2/catch.hpp>
#include <map>

#include "src/digest.h"
#include "src/inputs/environment_yml.h"

using namespace ferry;
using namespace ferry::inputs;

namespace {

using V = std::vector<std::string>;

TomlValue Str(const std::string& s, int line) {
  TomlValue v;
  v.type = TomlValue::Type::kString;
  v.text = s;
  v.line = line;
  return v;
}
TomlValue Seq(std::vector<TomlValue> items, int line) {
  TomlValue v;
  v.type = TomlValue::Type::kArray;
  v.array = std::move(items);
  v.line = line;
  return v;
}
TomlValue Map(std::vector<TomlMember> entries, int line) {
  TomlValue v;
  v.type = TomlValue::Type::kTable;
  v.table = std::move(entries);
  v.line = line;
  return v;
}

// environment.yml:
// 1 name: demo
// 2 channels:
// 3   - https://conda.example/fixtures
// 4 dependencies:
// 5   - python=3.11
// 6   - numpy 1.26.*
// 7   - pip
// 8   - pip:
// 9     - --extra-index-url https://extra.example/simple
// 10    - ferry-demo[plot]==0.2.0
TomlValue EnvYml() {
  return Map({{"name", Str("demo", 1)},
              {"channels", Seq({Str("https://conda.example/fixtures", 3)}, 3)},
              {"dependencies",
               Seq({Str("python=3.11", 5), Str("numpy 1.26.*", 6), Str("pip", 7),
                    Map({{"pip", Seq({Str("--extra-index-url https://extra.example/simple", 9),
                                      Str("ferry-demo[plot]==0.2.0", 10)},
                                     9)}},
                        8)},
                   5)}},
             1);
}

struct Fixture {
  std::map<std::string, std::string> files;
  TomlValue yml = EnvYml();
  InputReaders Readers() {
    InputReaders r;
    r.read = [this](const std::string& p) -> Result<std::string> {
      auto it = files.find(p);
      if (it == files.end()) return Status::User(p + ": No such file or directory");
      return it->second;
    };
    r.parse_yaml = [this](std::string_view, std::string_view) -> Result<TomlValue> { return yml; };
    return r;
  }
};

}  // namespace

TEST_CASE("combine: a flow gives one environment per distinct step set and a step map") {
  Fixture fx;
  fx.files["flows/train.py"] =
      "from metaflow import FlowSpec, step, conda_base, conda, pypi\n"
      "@conda_base(python='3.11', libraries={'numpy': '1.26.4'})\n"
      "class T(FlowSpec):\n"
      "    @step\n"
      "    def start(self): self.next(self.train)\n"
      "    @pypi(packages={'tinypkg': '1.1.0'}, extra_indices=['https://extra.example/simple'])\n"
      "    @step\n"
      "    def train(self): self.next(self.end)\n"
      "    @conda(disabled=True)\n"
      "    @step\n"
      "    def end(self): pass\n";
  auto r = CombineInputs({{"flows/train.py"}, {}, {}, "", {}}, fx.Readers());
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->flow_class == "T");
  REQUIRE(r->environments.size() == 2);
  CHECK(r->environments[0].steps == V{"start"});
  CHECK(r->environments[1].requirements.pypi == V{"tinypkg==1.1.0"});
  CHECK(r->environments[1].extra_index_urls == V{"https://extra.example/simple"});
  REQUIRE(r->inputs.size() == 1);
  CHECK(r->inputs[0].sha256 == Sha256Hex(fx.files["flows/train.py"]));

  RequirementSet on_linux = FinalizeRequirements(r->environments[1], "linux-64",
                                              {"https://conda.example/fixtures"},
                                              {"https://pypi.example/simple"});
  CHECK(on_linux.platform == "linux-64");
  CHECK(on_linux.channels == V{"https://conda.example/fixtures"});
  CHECK(on_linux.indexes == V{"https://pypi.example/simple", "https://extra.example/simple"});
  RequirementSet conda_only = FinalizeRequirements(r->environments[0], "linux-64", {"c"}, {"i"});
  CHECK(conda_only.indexes.empty());

  std::vector<std::map<std::string, std::string>> ids = {{{"linux-64", "r0"}}, {{"linux-64", "r1"}}};
  auto steps = StepMap(*r, ids);
  REQUIRE(steps.size() == 3);
  CHECK(steps[1].name == "train");
  CHECK(steps[1].req_ids.at("linux-64") == "r1");
  CHECK(steps[2].kind == lock::StepKind::kDisabled);

  auto mixed = CombineInputs({{"flows/train.py"}, {"zlib"}, {}, "", {}}, fx.Readers());
  REQUIRE_FALSE(mixed.ok());
  CHECK(mixed.status().code() == Code::kUsage);
}

TEST_CASE("combine: requirements.txt + environment.yml + pyproject + flags into one set") {
  Fixture fx;
  fx.files["requirements.txt"] =
      "-i https://pypi.example/simple\n"
      "-c constraints.txt\n"
      "tinypkg>=1.0\n"
      "plotlib ; python_version >= '3.8'\n";
  fx.files["constraints.txt"] = "tinypkg<2\nurllib3<2\n";
  fx.files["environment.yml"] = "(parsed by the fake)";
  fx.files["pyproject.toml"] =
      "[project]\nname='p'\nrequires-python='>=3.10'\n"
      "dependencies=['tinydep>=1.1']\n"
      "[project.optional-dependencies]\nfast=['fastcalc']\n";
  InputSpec spec{{"requirements.txt", "environment.yml", "pyproject.toml"},
                 {"scipy >=1.11"},
                 {"requests==2.31.0"},
                 "",
                 {"fast"}};
  auto r = CombineInputs(spec, fx.Readers());
  INFO(r.status().message());
  REQUIRE(r.ok());
  REQUIRE(r->environments.size() == 1);
  const InputEnvironment& e = r->environments[0];
  CHECK(e.requirements.conda == V{"numpy 1.26.*", "python=3.11", "scipy >=1.11"});
  CHECK(e.requirements.pypi == V{"fastcalc", "ferry-demo[plot]==0.2.0",
                                 "plotlib ; python_version >= '3.8'", "requests==2.31.0",
                                 "tinydep>=1.1", "tinypkg<2", "tinypkg>=1.0"});
  CHECK(e.requirements.python == "3.11");
  CHECK(e.requirements.channels == V{"https://conda.example/fixtures"});
  CHECK(e.index_url == "https://pypi.example/simple");
  CHECK(e.extra_index_urls == V{"https://extra.example/simple"});
  REQUIRE(r->warnings.size() == 1);
  CHECK(r->warnings[0].find("constraints.txt:2: constraint 'urllib3<2' does not name a direct") ==
        0);
  V paths;
  for (const auto& i : r->inputs) paths.push_back(i.path);
  CHECK(paths == V{"requirements.txt", "constraints.txt", "environment.yml", "pyproject.toml"});

  // --python replaces the python specs of the inputs
  spec.python = "3.10";
  auto p = CombineInputs(spec, fx.Readers());
  REQUIRE(p.ok());
  CHECK(p->environments[0].requirements.conda == V{"numpy 1.26.*", "python 3.10.*", "scipy >=1.11"});
  CHECK(p->environments[0].requirements.python == "3.10");
}

TEST_CASE("combine: pyproject requires-python becomes a conda python spec") {
  Fixture fx;
  fx.files["pyproject.toml"] = "[project]\nrequires-python = '>= 3.10, <3.12'\ndependencies=['x']\n";
  auto r = CombineInputs({{"pyproject.toml"}, {}, {}, "", {}}, fx.Readers());
  REQUIRE(r.ok());
  CHECK(r->environments[0].requirements.conda == V{"python >=3.10,<3.12"});
  CHECK(r->environments[0].requirements.python.empty());
}

TEST_CASE("combine: errors") {
  Fixture fx;
  auto kind = CombineInputs({{"setup.cfg"}, {}, {}, "", {}}, fx.Readers());
  REQUIRE_FALSE(kind.ok());
  CHECK(kind.status().code() == Code::kUsage);

  auto bad_conda = CombineInputs({{}, {"numpy >=>=1"}, {}, "", {}}, fx.Readers());
  REQUIRE_FALSE(bad_conda.ok());
  CHECK(bad_conda.status().message().find("--conda: invalid conda spec 'numpy >=>=1'") == 0);

  fx.files["a.txt"] = "-i https://a.example/simple\nx\n";
  fx.files["b.txt"] = "-i https://b.example/simple\ny\n";
  auto two = CombineInputs({{"a.txt", "b.txt"}, {}, {}, "", {}}, fx.Readers());
  REQUIRE_FALSE(two.ok());
  CHECK(two.status().message() ==
        "b.txt: a second primary index 'https://b.example/simple' (already "
        "'https://a.example/simple'); use --extra-index-url for more indexes");

  fx.files["empty.txt"] = "# nothing\n";
  auto empty = CombineInputs({{"empty.txt"}, {}, {}, "", {}}, fx.Readers());
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message() ==
        "nothing to resolve: the inputs name no conda or PyPI requirement");

  fx.yml = Map({{"dependencies", Seq({Map({{"conda", Str("x", 3)}}, 3)}, 2)}}, 1);
  fx.files["environment.yml"] = "";
  auto yml = CombineInputs({{"environment.yml"}, {}, {}, "", {}}, fx.Readers());
  REQUIRE_FALSE(yml.ok());
  CHECK(yml.status().message() ==
        "environment.yml:3: dependencies: expected a string or a `pip:` list, got table");

  auto flow_err = [&] {
    fx.files["f.py"] =
        "from metaflow import FlowSpec, step, conda\n"
        "class F(FlowSpec):\n"
        "    @conda(libraries={'numpy': '>=>=1'})\n"
        "    @step\n"
        "    def start(self): pass\n";
    return CombineInputs({{"f.py"}, {}, {}, "", {}}, fx.Readers());
  }();
  REQUIRE_FALSE(flow_err.ok());
  CHECK(flow_err.status().message().find("f.py: step 'start': invalid conda spec 'numpy >=>=1'") ==
        0);
}

TEST_CASE("environment.yml: python version from specs") {
  CHECK(PythonFromCondaSpec("python=3.11") == "3.11");
  CHECK(PythonFromCondaSpec("python==3.11.2") == "3.11.2");
  CHECK(PythonFromCondaSpec("python 3.11.*") == "3.11");
  CHECK(PythonFromCondaSpec("conda-forge::python=3.10=h123") == "3.10");
  CHECK(PythonFromCondaSpec("python >=3.10").empty());
  CHECK(PythonFromCondaSpec("python-dateutil=2.9").empty());
  CHECK(PythonFromCondaSpec("python").empty());
}
