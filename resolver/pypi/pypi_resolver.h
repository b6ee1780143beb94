// PyPI resolution on the shared CDCL core (resolver/solve): candidates are the versions of a project
// that have a wheel for the target (best wheel by the target's tag priority), dependencies come from
// core metadata fetched lazily and prefetched in parallel, extras are separate names ("pkg[extra]")
// that pin their base to the same version (the PubGrub/uv encoding).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "resolver/pypi/index_client.h"
#include "resolver/pypi/wheel_metadata.h"
#include "src/lock/lock.h"
#include "src/reporter.h"
#include "src/status.h"

namespace ferry::resolver::pypi {

struct PypiRequest {
  std::vector<std::string> requirements;  // PEP 508 strings, as the user wrote them
  std::string platform = "linux-64";      // target conda platform name
  std::string python_version;             // "3.11" or "3.11.2": the environment's python
  std::map<std::string, std::string> virtual_overrides;  // "__glibc" -> "2.28", "__osx" -> "11.0"
  bool allow_prereleases = false;  // else only when asked by a specifier or nothing else matches
  // Distributions installed by conda packages (PEP 503 name -> version): not installed again; a
  // requirement they do not satisfy is a conflict that is explained.
  std::map<std::string, std::string> provided;
  // Versions to prefer when possible (PEP 503 name -> version): kept base packages for compose,
  // or the previous lock for --upgrade-package.
  std::map<std::string, std::string> preferred;
};

struct PypiResolution {
  bool solved = false;
  std::vector<LockedPackage> packages;  // kind pypi, sorted by name; provided ones excluded
  std::string explanation;              // when !solved
};

// Resolves `request`. Errors (not unsolvability): unreachable or malformed index, a wheel whose
// METADATA disagrees with its file name, hash mismatches — each naming index, project and file.
Result<PypiResolution> ResolvePypi(const PypiRequest& request, IndexClient& index,
                                   WheelMetadataFetcher& metadata, Reporter& reporter);

}  // namespace ferry::resolver::pypi
