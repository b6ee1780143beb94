// Conda resolution end to end: load the channels' subdirs (target platform + noarch; parsed
// caches under cache_dir), build the conda DependencyProvider with the target's virtual packages
// (defaults per platform, never the host's, overridden by the requirement set), solve, and turn
// the chosen records into LockedPackages. Callable by the PyPI / mixed resolver.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "resolver/conda_provider.h"
#include "src/fs.h"
#include "src/http.h"
#include "src/lock/lock.h"
#include "src/reporter.h"
#include "src/status.h"

namespace ferry::resolver {

struct CondaResolveStats {
  double load_seconds = 0;   // fetching + indexing (or loading caches)
  double solve_seconds = 0;  // solver incl. lazy record materialization
  uint64_t records_materialized = 0;
  uint64_t decisions = 0;
  uint64_t conflicts = 0;
  int subdirs_from_cache = 0;
};

struct ResolveOutcome {
  bool solved = false;
  std::vector<LockedPackage> packages;  // kind conda, sorted (SortPackages); when solved
  std::string explanation;              // human explanation; when !solved
  CondaResolveStats stats;
};

struct CondaResolveOptions {
  // Versions to keep when possible: name -> "VERSION" or "VERSION BUILD" (compose keeps its base's
  // packages, --upgrade-package everything but the named ones). The matching candidates of a name
  // are tried first; the solver moves away from them only when the request cannot be solved with
  // them (then, as usual, the highest versions are preferred).
  std::map<std::string, std::string> preferred;
};

// Loads `req.channels` (priority order), subdirs `req.platform` + noarch, in parallel, with the
// parsed caches under `cache_dir`, as ResolveConda does before solving (used by the mixed
// resolver to build its own CondaProvider). Counts subdirs served from the parsed cache into
// `*subdirs_from_cache` when given. Errors as ResolveConda's.
Result<std::vector<IndexedChannel>> LoadCondaChannels(const RequirementSet& req, HttpClient& http,
                                                      FileSystem& fs, const std::string& cache_dir,
                                                      Reporter& reporter,
                                                      int* subdirs_from_cache = nullptr);

// The lock entry (kind conda) of a repodata record.
LockedPackage LockedCondaPackage(const specs::PackageRecord& r);

// Resolves `req.conda` against `req.channels` (priority order) for `req.platform`. If
// `req.python` is set and no spec names python, "python <req.python>.*" is added.
// Errors: invalid spec or platform (kUser), no channels (kUser), unreachable channel (kNetwork),
// broken repodata (kUser) — each naming the spec/channel/file. Unsolvable is not an error:
// solved=false with the explanation. Virtual packages never appear in `packages`.
Result<ResolveOutcome> ResolveConda(const RequirementSet& req, HttpClient& http, FileSystem& fs,
                                    const std::string& cache_dir, Reporter& reporter,
                                    const CondaResolveOptions& options = {});

}  // namespace ferry::resolver
