// Mixed conda + PyPI resolution of one requirement set.
//
// Strategy: conda first, then PyPI for the python the conda side chose (the fast path: two
// small solves, the answer a user expects when conda alone decides python). Distributions that
// the chosen conda records install (by their pkg:pypi purls, else by normalized name) are not
// installed again from PyPI. When the PyPI side then fails — no wheels for that python, or a
// PyPI requirement that a conda-provided distribution does not satisfy — the whole set is
// solved again jointly (joint_provider.h): one CDCL solve over conda records, one PyPI view per
// python version the conda specs allow, and conda records as providers of PyPI distributions.
// The joint answer, when there is one, is the result (e.g. python 3.10 when a PyPI project has
// only cp310 wheels); otherwise the explanation shows both attempts, naming both sides.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "resolver/pypi/index_client.h"
#include "resolver/pypi/wheel_metadata.h"
#include "src/fs.h"
#include "src/http.h"
#include "src/lock/lock.h"
#include "src/reporter.h"
#include "src/status.h"

namespace ferry::resolver::mixed {

struct MixedOptions {
  std::map<std::string, std::string> prefer_conda;  // name -> "VERSION" or "VERSION BUILD"
  std::map<std::string, std::string> prefer_pypi;   // PEP 503 name -> version
  bool allow_prereleases = false;
  bool skip_fast_path = false;  // tests: go straight to the joint solve
};

struct MixedResolution {
  bool solved = false;
  std::vector<LockedPackage> packages;  // conda + pypi, sorted (SortPackages)
  std::string explanation;              // when !solved
  std::string python;                   // the python version of the result ("" if none)
  bool joint = false;                   // the joint solve produced the result / explanation
};

// Resolves `req` (conda specs and PyPI requirements; channels and indexes as given; `index`
// and `metadata` already point at req's indexes). Errors: bad specs/requirements (kUser),
// unreachable channel or index (kNetwork), broken repodata or metadata (kUser), each naming
// the spec / channel / index, project and file. Unsolvable is a value.
Result<MixedResolution> ResolveMixed(const RequirementSet& req, const MixedOptions& options,
                                     HttpClient& http, FileSystem& fs,
                                     const std::string& repodata_cache_dir,
                                     pypi::IndexClient& index, pypi::WheelMetadataFetcher& metadata,
                                     Reporter& reporter);

}  // namespace ferry::resolver::mixed
