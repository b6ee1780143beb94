// Resolving one requirement set into the packages of one environment: conda only, PyPI only (for
// the given python), or mixed (resolver/mixed/mixed_resolver.h: conda first, then PyPI for the
// python conda chose, where a distribution already provided by a conda package — same
// normalized name, or a pkg:pypi purl — is not installed twice; when the PyPI side then fails,
// one joint solve over both sides, whose answer or explanation is the result). Orchestrates the
// resolver library for the commands that need it (resolve, compose).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/context.h"
#include "src/lock/lock.h"
#include "src/status.h"

namespace ferry::cli {

struct EnvResolveOptions {
  // Versions to keep when possible (compose keeps its base's packages; --upgrade-package keeps
  // everything but one name). conda name -> "VERSION" or "VERSION BUILD", PEP 503 name -> version.
  std::map<std::string, std::string> prefer_conda;
  std::map<std::string, std::string> prefer_pypi;
  bool merge_indexes = false;  // --index-strategy unsafe-merge: take a project from every index
  bool allow_prereleases = false;
};

struct EnvResolution {
  bool solved = false;
  std::vector<LockedPackage> packages;  // sorted (kind, name)
  std::string explanation;              // when !solved: which side failed and why
};

// Errors: bad specs, unreachable channels/indexes, broken metadata (exit-code categories per
// SPEC.md). Unsolvable is a value.
Result<EnvResolution> ResolveEnvironment(Context& ctx, const RequirementSet& req,
                                         const EnvResolveOptions& options);

// The PyPI distributions that conda packages of `packages` provide (PEP 503 name -> version).
std::map<std::string, std::string> CondaProvidedDistributions(
    const std::vector<LockedPackage>& packages);

}  // namespace ferry::cli
