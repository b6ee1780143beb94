// Combining the inputs of `ferry resolve` (flow files, requirements.txt, environment.yml,
// pyproject.toml, --conda/--pypi/--python) into the requirement sets to resolve.
//
// - A flow file gives one environment per distinct merged step requirement set (SPEC.md §4) plus
//   the step map; it must be the only input (no other files, no --conda/--pypi/--python).
// - Every other input, and --conda/--pypi, combine into ONE environment: conda specs and PyPI
//   requirements are unioned (exact duplicates dropped), channels and extra indexes concatenated
//   in input order without duplicates, at most one primary index (-i/--index-url) may be given.
// - python: --python wins; else a version pinned by an environment.yml python dependency; a
//   pyproject requires-python adds the conda spec "python <specifier>" when no other python spec
//   is given. --python V replaces every python conda spec of the inputs with "python V.*".
// - requirements.txt constraints (-c) apply to direct requirements of the same name (the
//   constraint is added as another requirement); constraints on other names are reported in
//   `warnings` (ferry has no transitive-constraint support yet).
// Pure apart from the injected readers.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/flow/flow_reader.h"
#include "src/inputs/requirements_txt.h"
#include "src/inputs/toml.h"
#include "src/lock/lock.h"
#include "src/lock/lock_file.h"
#include "src/status.h"

namespace ferry::inputs {

enum class InputKind { kFlow, kRequirementsTxt, kEnvironmentYml, kPyProject };

// By file name: *.py -> flow; *.yml/*.yaml -> environment.yml; *.toml -> pyproject.toml;
// *.txt/*.in (and names starting with "requirements") -> requirements.txt. Error (kUsage) for
// anything else, listing the accepted kinds.
Result<InputKind> DetectInputKind(std::string_view path);

struct InputSpec {
  std::vector<std::string> paths;   // input files as given on the command line
  std::vector<std::string> conda;   // --conda SPEC
  std::vector<std::string> pypi;    // --pypi REQ
  std::string python;               // --python VER ("" = not given)
  std::vector<std::string> extras;  // --extra NAME (pyproject optional dependencies)
};

struct InputReaders {
  ReadFileFn read;  // whole-file read
  // Parses YAML text into the generic tree of src/inputs/toml.h (see environment_yml.h). If
  // empty, environment.yml inputs are an error.
  std::function<Result<TomlValue>(std::string_view bytes, std::string_view filename)> parse_yaml;
};

// One requirement set to resolve, before platform and configuration defaults are applied.
struct InputEnvironment {
  RequirementSet requirements;  // platform "", channels may be empty, indexes empty (see below)
  std::string index_url;        // primary index from the inputs ("" = configured default)
  std::vector<std::string> extra_index_urls;
  std::vector<std::string> steps;  // flow steps using it (sorted); empty for non-flow inputs
};

struct CombinedInputs {
  std::vector<lock::LockInput> inputs;  // every file read (includes too), path + sha256
  std::vector<InputEnvironment> environments;
  // Flow only:
  std::string flow_file;
  std::string flow_class;
  std::vector<flow::FlowStep> steps;  // env_index points into `environments`
  std::vector<std::string> warnings;
};

// Reads and combines the inputs. Errors: kUsage for an unknown input kind or a flow combined
// with other inputs; kUser (with file:line) for unreadable or invalid inputs, an invalid conda
// match spec, or nothing to resolve.
Result<CombinedInputs> CombineInputs(const InputSpec& spec, const InputReaders& readers);

// The requirement set to resolve on `platform`: channels default to `default_channels` when the
// inputs name none; indexes are [index_url or default_indexes[0]] + default extras + the input's
// extra indexes (deduplicated) when there is at least one PyPI requirement, else empty (so a
// conda-only req-id does not depend on the index configuration).
RequirementSet FinalizeRequirements(const InputEnvironment& env, const std::string& platform,
                                    const std::vector<std::string>& default_channels,
                                    const std::vector<std::string>& default_indexes);

// The lock's step map for a flow: each environment step points to its req-id per platform.
// `req_ids[i][platform]` is the req-id of environments[i] on that platform.
std::vector<lock::LockStep> StepMap(
    const CombinedInputs& inputs,
    const std::vector<std::map<std::string, std::string>>& req_ids);

}  // namespace ferry::inputs
