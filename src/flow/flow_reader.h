// Static reader for Metaflow-style flow files (SPEC.md §4). It never runs the file: it tokenizes
// it (src/flow/tokenizer.h), finds the FlowSpec subclass, its flow-level decorators and its
// `@step` methods, evaluates the literal arguments of the environment decorators and merges flow
// and step settings into one requirement set per step.
//
// Understood names (imported with `from metaflow import X [as Y]`, `from metaflow import *`, or
// used as `metaflow.X` / `mf.X` after `import metaflow [as mf]`):
//   FlowSpec, step,
//   conda_base(libraries|packages, channels, python, disabled)      flow level
//   pypi_base(packages, python, extra_indices, disabled)             flow level
//   named_env_base(name, fetch_at_exec)                              flow level
//   conda(...), pypi(...), named_env(name, fetch_at_exec, disabled)  step level, same arguments
// Other decorators (@batch, @retry, @card, ...) are ignored without evaluating their arguments.
//
// Merging (documented in docs/flows-and-locks.md):
//   - step settings override flow settings key by key (python, channels, extra_indices,
//     disabled); `libraries`/`packages` dicts merge, the step wins per package name;
//   - conda `{"numpy": "1.26.4"}` -> match spec "numpy 1.26.4"; `{"numpy": ">=1.2"}` ->
//     "numpy >=1.2"; `""` -> "numpy";
//   - pypi `{"numpy": "1.26.4"}` -> "numpy==1.26.4"; `{"numpy": ">=1.2,<2"}` -> "numpy>=1.2,<2";
//     `""` -> "numpy";
//   - python "3.11" -> RequirementSet::python = "3.11" and conda spec "python 3.11.*";
//     python ">=3.10" (an operator) -> python = ">=3.10" and conda spec "python >=3.10";
//   - a step whose merged `disabled` is True uses no environment (kDisabled);
//   - a step with @named_env (or, without its own @conda/@pypi, under @named_env_base) uses that
//     named environment (kNamed); combining @named_env with @conda/@pypi on one step is an error;
//   - a step with no decorator anywhere and nothing inherited has no environment (kNone);
//   - steps whose merged requirement sets are equal share one FlowEnvironment.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/lock/lock.h"
#include "src/status.h"

namespace ferry::flow {

enum class StepEnvKind {
  kEnvironment,  // resolve `FlowFile::environments[env_index]`
  kDisabled,     // disabled=True: runs in the host environment
  kNamed,        // uses a named environment (NAME[:TAG]), nothing to resolve
  kNone,         // no environment decorator applies to this step
};
const char* StepEnvKindName(StepEnvKind kind);  // "environment" | "disabled" | "named" | "none"

struct FlowStep {
  std::string name;  // the method name
  int line = 0;      // line of the `def`
  StepEnvKind kind = StepEnvKind::kNone;
  int env_index = -1;         // kEnvironment: index into FlowFile::environments
  std::string named_env;      // kNamed: "explainer:v1"
  bool fetch_at_exec = false;  // kNamed
};

// One distinct merged requirement set and the steps that share it.
struct FlowEnvironment {
  // Platform is empty: the caller fills it (one lock entry per platform). `channels` is empty when
  // the flow names none (the caller applies the configured default channels); `indexes` holds the
  // flow's extra indices only (the caller prepends the configured primary index).
  RequirementSet requirements;
  std::vector<std::string> steps;  // sorted
};

struct FlowFile {
  std::string filename;
  std::string flow_class;          // "TrainFlow"
  int flow_line = 0;               // line of the `class`
  std::vector<FlowStep> steps;     // in source order
  std::vector<FlowEnvironment> environments;  // in order of first use by a step
};

// Reads a flow file. `filename` is only used in messages. Errors are kUser and name file, line
// and decorator, e.g.
//   "flow.py:12: @conda: cannot evaluate argument 'libraries': name 'LIBS' is not a literal"
//   "flow.py: no FlowSpec subclass found (expected `class MyFlow(FlowSpec):`)"
// Deterministic; thread-safe (no shared state).
Result<FlowFile> ReadFlow(std::string_view source, std::string_view filename);

}  // namespace ferry::flow
