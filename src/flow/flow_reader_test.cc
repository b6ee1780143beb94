#include "src/flow/flow_reader.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::flow;

namespace {

FlowFile Read(std::string_view src) {
  auto r = ReadFlow(src, "flow.py");
  INFO(r.status().message());
  REQUIRE(r.ok());
  return r.value();
}

std::string Error(std::string_view src) {
  auto r = ReadFlow(src, "flow.py");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUser);
  return r.status().message();
}

const FlowStep& Step(const FlowFile& f, const std::string& name) {
  for (const auto& s : f.steps)
    if (s.name == name) return s;
  FAIL("no step " << name);
  return f.steps[0];
}

const RequirementSet& Req(const FlowFile& f, const std::string& step) {
  const FlowStep& s = Step(f, step);
  REQUIRE(s.kind == StepEnvKind::kEnvironment);
  return f.environments.at(s.env_index).requirements;
}

using V = std::vector<std::string>;

constexpr const char* kTrainFlow = R"PY(# A typical training flow.
"""Module docstring mentioning @conda(libraries={"bogus": "1"}) that must be ignored."""
from metaflow import FlowSpec, step, conda_base, conda, pypi, named_env, Parameter
from metaflow import card, retry


@conda_base(
    python="3.11",
    libraries={
        "numpy": "1.26.4",   # pinned
        "pandas": ">=2.1",
    },
    channels=["https://conda.example/fixtures"],
)
class TrainFlow(FlowSpec):
    """Trains one model per fold.

    Example (not code):  @conda(libraries={"nope": ""})
    """

    alpha = Parameter("alpha", default=0.5)

    @step
    def start(self):
        self.folds = list(range(3))
        self.next(self.train, foreach="folds")

    @retry(times=3)
    @conda(libraries={"scikit-learn": "1.4.0",
                      "numpy": "1.26.3"})  # step wins for numpy
    @step
    def train(self):
        s = '@conda(libraries={"x": "1"})'
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.report)

    @card
    @pypi(packages={"requests": "2.31.0", "rich": ""})
    @step
    def report(self):
        self.next(self.explain)

    @conda(disabled=True)
    @step
    def cleanup_local(self):
        self.next(self.explain)

    @named_env(name="explainer:v1", fetch_at_exec=True)
    @step
    def explain(self):
        self.next(self.end)

    @step
    def end(self):
        pass

    def helper(self):
        return 1


if __name__ == "__main__":
    TrainFlow()
)PY";

}  // namespace

TEST_CASE("flow: a typical training flow") {
  FlowFile f = Read(kTrainFlow);
  CHECK(f.flow_class == "TrainFlow");
  CHECK(f.flow_line == 15);
  REQUIRE(f.steps.size() == 7);
  CHECK(f.steps[0].name == "start");
  CHECK(f.steps[0].line == 24);
  CHECK(f.steps[6].name == "end");

  const RequirementSet& base = Req(f, "start");
  CHECK(base.conda == V{"numpy 1.26.4", "pandas >=2.1", "python 3.11.*"});
  CHECK(base.pypi.empty());
  CHECK(base.python == "3.11");
  CHECK(base.channels == V{"https://conda.example/fixtures"});
  CHECK(base.platform.empty());

  // start, join and end share the flow-level environment
  CHECK(Step(f, "start").env_index == Step(f, "join").env_index);
  CHECK(Step(f, "start").env_index == Step(f, "end").env_index);

  const RequirementSet& train = Req(f, "train");
  CHECK(train.conda == V{"numpy 1.26.3", "pandas >=2.1", "python 3.11.*", "scikit-learn 1.4.0"});

  const RequirementSet& report = Req(f, "report");
  CHECK(report.conda == V{"numpy 1.26.4", "pandas >=2.1", "python 3.11.*"});
  CHECK(report.pypi == V{"requests==2.31.0", "rich"});

  CHECK(Step(f, "cleanup_local").kind == StepEnvKind::kDisabled);
  const FlowStep& explain = Step(f, "explain");
  CHECK(explain.kind == StepEnvKind::kNamed);
  CHECK(explain.named_env == "explainer:v1");
  CHECK(explain.fetch_at_exec);

  REQUIRE(f.environments.size() == 3);
  CHECK(f.environments[0].steps == V{"end", "join", "start"});
  CHECK(f.environments[1].steps == V{"train"});
  CHECK(f.environments[2].steps == V{"report"});
}

TEST_CASE("flow: aliases, import metaflow, and multi-line decorators") {
  FlowFile f = Read(R"PY(
import metaflow as mf
from metaflow import (
    FlowSpec as FS,
    step as st,
    conda_base as cb,
    pypi_base,
)

@cb(python='3.10',
    libraries={'numpy': ''},
    disabled=False)
@pypi_base(packages={'attrs': '23.1.0'},
           extra_indices=['https://pypi.example/simple'])
class AliasFlow(FS):
    @st
    def start(self):
        self.next(self.end)

    @mf.conda(
        libraries={
            "scipy": "1.11.*",
        },
        python="3.12",
    )
    @mf.step
    def end(self):
        pass
)PY");
  CHECK(f.flow_class == "AliasFlow");
  const RequirementSet& start = Req(f, "start");
  CHECK(start.conda == V{"numpy", "python 3.10.*"});
  CHECK(start.pypi == V{"attrs==23.1.0"});
  CHECK(start.indexes == V{"https://pypi.example/simple"});
  CHECK(start.channels.empty());
  const RequirementSet& end = Req(f, "end");
  CHECK(end.conda == V{"numpy", "python 3.12.*", "scipy 1.11.*"});
  CHECK(end.python == "3.12");
  CHECK(end.pypi == V{"attrs==23.1.0"});
}

TEST_CASE("flow: `from metaflow import *` and python given as an operator or a number") {
  FlowFile f = Read(
      "from metaflow import *\n"
      "@pypi_base(python='>=3.10', packages={'pandas': '>=2,<3', 'numpy': '~=1.26'})\n"
      "class F(FlowSpec):\n"
      "    @step\n"
      "    def start(self):\n"
      "        self.next(self.end)\n"
      "    @pypi(python=3.10)\n"
      "    @step\n"
      "    def end(self): pass\n");
  const RequirementSet& s = Req(f, "start");
  CHECK(s.conda == V{"python >=3.10"});
  CHECK(s.pypi == V{"numpy~=1.26", "pandas>=2,<3"});
  CHECK(s.python == ">=3.10");
  CHECK(Req(f, "end").python == "3.10");  // the source text, not float 3.1
  CHECK(Req(f, "end").conda == V{"python 3.10.*"});
}

TEST_CASE("flow: steps override flow key by key; disabled can be re-enabled") {
  FlowFile f = Read(R"PY(
from metaflow import FlowSpec, step, conda_base, conda
@conda_base(disabled=True, python="3.11", channels=["a", "b"])
class F(FlowSpec):
    @step
    def start(self):
        self.next(self.mid)
    @conda(disabled=False, channels=["c"])
    @step
    def mid(self):
        self.next(self.end)
    @conda(libraries={"zlib": "1.3"})
    @step
    def end(self):
        pass
)PY");
  CHECK(Step(f, "start").kind == StepEnvKind::kDisabled);
  CHECK(Step(f, "end").kind == StepEnvKind::kDisabled);  // inherits disabled=True
  const RequirementSet& mid = Req(f, "mid");
  CHECK(mid.channels == V{"c"});
  CHECK(mid.conda == V{"python 3.11.*"});
}

TEST_CASE("flow: steps without any decorator have no environment") {
  FlowFile f = Read(
      "from metaflow import FlowSpec, step, conda\n"
      "class F(FlowSpec):\n"
      "    @step\n"
      "    def start(self):\n"
      "        self.next(self.end)\n"
      "    @conda(libraries={'numpy': '1.26.4'})\n"
      "    @step\n"
      "    def end(self): pass\n");
  CHECK(Step(f, "start").kind == StepEnvKind::kNone);
  CHECK(Req(f, "end").conda == V{"numpy 1.26.4"});
  CHECK(Req(f, "end").python.empty());
}

TEST_CASE("flow: named_env_base applies to steps without their own environment") {
  FlowFile f = Read(
      "from metaflow import FlowSpec, step, named_env_base, conda\n"
      "@named_env_base(name='team/base:stable')\n"
      "class F(FlowSpec):\n"
      "    @step\n"
      "    def start(self):\n"
      "        self.next(self.end)\n"
      "    @conda(libraries={'numpy': ''}, python='3.11')\n"
      "    @step\n"
      "    def end(self): pass\n");
  CHECK(Step(f, "start").kind == StepEnvKind::kNamed);
  CHECK(Step(f, "start").named_env == "team/base:stable");
  CHECK_FALSE(Step(f, "start").fetch_at_exec);
  CHECK(Req(f, "end").conda == V{"numpy", "python 3.11.*"});
}

TEST_CASE("flow: inherited flow classes and steps in the same file") {
  FlowFile f = Read(R"PY(
from metaflow import FlowSpec, step, conda_base, conda

@conda_base(python="3.11")
class BaseFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass

class ChildFlow(BaseFlow):
    @conda(libraries={"numpy": ""})
    @step
    def end(self):
        pass
)PY");
  CHECK(f.flow_class == "ChildFlow");
  REQUIRE(f.steps.size() == 2);
  CHECK(Req(f, "start").conda == V{"python 3.11.*"});
  CHECK(Req(f, "end").conda == V{"numpy", "python 3.11.*"});
}

TEST_CASE("flow: nested functions, decorators of other libraries, and backslashes") {
  FlowFile f = Read(R"PY(
import functools
from metaflow import FlowSpec, step, conda_base, batch, resources

def deco(fn):
    @functools.wraps(fn)
    def inner(*a):
        return fn(*a)
    return inner

@conda_base(libraries={"numpy": \
                       "1.26.4"})
class F(FlowSpec):
    @batch(cpu=CPU_COUNT, image=f"repo/{IMG}")
    @resources(memory=compute_memory())
    @step
    def start(self):
        def local():
            @step
            def not_a_step(self):
                pass
        x = {"a": [1,
                   2]}
        self.next(self.end)

    @step
    def end(self):
        """@conda(libraries={'x': ''})"""
)PY");
  REQUIRE(f.steps.size() == 2);
  CHECK(Req(f, "start").conda == V{"numpy 1.26.4"});
  CHECK(Step(f, "start").env_index == Step(f, "end").env_index);
}

TEST_CASE("flow: errors name file, line and decorator") {
  CHECK(Error(R"PY(from metaflow import FlowSpec, step, conda
LIBS = {"numpy": "1"}
class F(FlowSpec):
    @conda(python="3.11",
           libraries=LIBS)
    @step
    def start(self):
        pass
)PY") == "flow.py:5: @conda: cannot evaluate argument 'libraries': name 'LIBS' is not a literal");

  CHECK(Error("from metaflow import FlowSpec, step, conda_base as cb\n"
              "V = '3.11'\n"
              "@cb(python=f'{V}')\n"
              "class F(FlowSpec):\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: @cb: cannot evaluate argument 'python': f-strings are not literals");

  CHECK(Error("from metaflow import FlowSpec, step, pypi\n"
              "class F(FlowSpec):\n"
              "    @pypi(packages={p: '' for p in PKGS})\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: @pypi: cannot evaluate argument 'packages': comprehensions are not literals");

  CHECK(Error("import metaflow\n"
              "class F(metaflow.FlowSpec):\n"
              "    @metaflow.conda(libraries=dict(numpy='1'))\n"
              "    @metaflow.step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: @metaflow.conda: cannot evaluate argument 'libraries': call to 'dict' is not "
        "a literal");

  CHECK(Error("from metaflow import FlowSpec, step, conda\n"
              "class F(FlowSpec):\n"
              "    @conda(libraries=['numpy'])\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: @conda: argument 'libraries' must be a dict of package name -> version, got "
        "list");

  CHECK(Error("from metaflow import FlowSpec, step, conda\n"
              "class F(FlowSpec):\n"
              "    @conda(libs={'numpy': ''})\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: @conda: unsupported argument 'libs' (supported: libraries, channels, python, "
        "disabled)");

  CHECK(Error("from metaflow import FlowSpec, step, conda, named_env\n"
              "class F(FlowSpec):\n"
              "    @named_env(name='x:v1')\n"
              "    @conda(libraries={'numpy': ''})\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: step 'start': @named_env cannot be combined with @conda or @pypi on one step");

  CHECK(Error("from metaflow import FlowSpec, step, conda, pypi\n"
              "class F(FlowSpec):\n"
              "    @conda(python='3.11')\n"
              "    @pypi(python='3.12')\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:4: @pypi: 'python' is \"3.12\" but another decorator on the same step says "
        "\"3.11\"");

  CHECK(Error("from metaflow import FlowSpec, step, conda\n"
              "class F(FlowSpec):\n"
              "    @conda(libraries={'numpy': ''})\n"
              "    def helper(self): pass\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: @conda on 'helper', which is not a @step");

  CHECK(Error("from metaflow import FlowSpec, step, conda\n"
              "@conda(libraries={'numpy': ''})\n"
              "class F(FlowSpec):\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:2: @conda is a step decorator; on a flow class use @conda_base");

  CHECK(Error("from metaflow import step\nclass F(object):\n    pass\n") ==
        "flow.py: no FlowSpec subclass found (expected `class MyFlow(FlowSpec):` with FlowSpec "
        "imported from metaflow)");

  CHECK(Error("from metaflow import FlowSpec, step\n"
              "class A(FlowSpec):\n    @step\n    def start(self): pass\n"
              "class B(FlowSpec):\n    @step\n    def start(self): pass\n") ==
        "flow.py: several flow classes: A (line 2), B (line 5)");

  CHECK(Error("from metaflow import FlowSpec, step, conda\n"
              "class F(FlowSpec):\n"
              "    @conda(libraries={'numpy': '1',\n"
              "                      'numpy': '2'})\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: @conda: argument 'libraries': package 'numpy' given twice");

  CHECK(Error("from metaflow import FlowSpec, step, conda\n"
              "class F(FlowSpec):\n"
              "    @conda('numpy')\n"
              "    @step\n"
              "    def start(self): pass\n") ==
        "flow.py:3: @conda: positional arguments are not supported (use name=value)");

  CHECK(Error("from metaflow import FlowSpec, step\n"
              "class F(FlowSpec):\n"
              "    def start(self):\n"
              "        x = 'unterminated\n") == "flow.py:4: unterminated string literal");
}

TEST_CASE("flow: names not imported from metaflow are not ours") {
  // `conda` here is a local function, not metaflow's decorator: ignored, and `FlowSpec` from
  // another module is not a flow.
  FlowFile f = Read(
      "from metaflow import FlowSpec, step\n"
      "from mylib import conda\n"
      "class F(FlowSpec):\n"
      "    @conda(libraries=SOMETHING)\n"
      "    @step\n"
      "    def start(self): pass\n");
  CHECK(Step(f, "start").kind == StepEnvKind::kNone);
}

TEST_CASE("flow: the sample flow in examples/flow reads as documented") {
  std::FILE* f = std::fopen(FERRY_SOURCE_DIR "/examples/flow/train_flow.py", "rb");
  REQUIRE(f != nullptr);
  std::string src;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) src.append(buf, n);
  std::fclose(f);
  auto r = ReadFlow(src, "train_flow.py");
  INFO(r.status().message());
  REQUIRE(r.ok());
  const FlowFile& flow = r.value();
  CHECK(flow.flow_class == "TrainFlow");
  REQUIRE(flow.steps.size() == 7);
  CHECK(Req(flow, "start").conda == V{"numpy 1.26.4", "pandas 2.2.1", "python 3.11.*"});
  CHECK(Req(flow, "train").conda ==
        V{"numpy 1.26.4", "pandas 2.2.1", "python 3.11.*", "scikit-learn 1.4.1", "scipy"});
  CHECK(Req(flow, "report").pypi == V{"ferry-demo==0.2.0"});
  CHECK(Step(flow, "publish_local").kind == StepEnvKind::kDisabled);
  CHECK(Step(flow, "explain").kind == StepEnvKind::kNamed);
  CHECK(Step(flow, "explain").fetch_at_exec);
  REQUIRE(flow.environments.size() == 3);
  CHECK(flow.environments[0].steps == V{"end", "join", "start"});
}
