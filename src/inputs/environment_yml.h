// environment.yml (conda's environment file): name, channels, dependencies with a `pip:` list.
// The YAML text is parsed by the caller (cli/inputs/environment_yml.cc uses yaml-cpp, which
// src/ does not link) into the generic value tree of src/inputs/toml.h: mappings become kTable,
// sequences kArray, scalars kString, each with its 1-based line. This file interprets that tree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/inputs/toml.h"
#include "src/status.h"

namespace ferry::inputs {

struct EnvironmentYml {
  std::string name;                    // conda environment name (informational)
  std::vector<std::string> channels;   // as written (names or URLs), priority order
  std::vector<std::string> conda;      // match specs as written ("numpy=1.26", "python 3.11.*")
  std::vector<std::string> pypi;       // from the `pip:` list
  std::string index_url;               // `--index-url URL` line in the pip list
  std::vector<std::string> extra_index_urls;  // `--extra-index-url URL` lines
  std::string python;                  // "3.11" when a python dependency pins a version
};

// Interprets the parsed document. Errors (kUser) name file and line:
// "environment.yml:7: dependencies: expected a string or a `pip:` list, got table",
// "environment.yml:9: pip: -e/--editable requirements are not supported".
// Unknown top-level keys (prefix, variables) are ignored.
Result<EnvironmentYml> InterpretEnvironmentYml(const TomlValue& doc, std::string_view filename);

// The concrete python version a conda spec pins, or "": "python=3.11" -> "3.11",
// "python==3.11.2" -> "3.11.2", "python 3.11.*" -> "3.11", "python >=3.10" -> "".
std::string PythonFromCondaSpec(std::string_view spec);

}  // namespace ferry::inputs
