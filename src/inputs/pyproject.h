// pyproject.toml (PEP 621 [project] table): dependencies, optional-dependencies and
// requires-python. Pure: bytes in, result out.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::inputs {

struct PyProject {
  std::string name;
  std::vector<std::string> dependencies;                          // PEP 508, as written
  std::map<std::string, std::vector<std::string>> optional;       // extra -> requirements
  std::string requires_python;                                    // ">=3.10" or ""
  int dependencies_line = 0;
};

// Reads `[project]`. Errors (kUser, "<file>:<line>: ...") for TOML syntax errors, a missing
// [project] table, `dependencies` listed in `project.dynamic` (ferry reads static metadata only),
// or values of the wrong type ("pyproject.toml:9: [project].dependencies must be an array of
// strings").
Result<PyProject> ReadPyProject(std::string_view bytes, std::string_view filename);

// dependencies + the optional dependencies of each extra in `extras` (names compared after PEP 685
// normalization), in order, without duplicates. An unknown extra is an error that lists the
// available ones.
Result<std::vector<std::string>> SelectDependencies(const PyProject& project,
                                                    const std::vector<std::string>& extras,
                                                    std::string_view filename);

}  // namespace ferry::inputs
