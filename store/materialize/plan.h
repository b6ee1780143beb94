// Plan stage of the materializer (pure, no I/O): which packages of a locked environment are
// already extracted in the store and which must be fetched and extracted first.
#pragma once

#include <functional>
#include <vector>

#include "src/lock/lock.h"

namespace ferry::store {

struct MaterializePlan {
  // Indices into env.packages, in lock order. A package appears in exactly one list.
  std::vector<size_t> ready;    // extracted in the store: link directly
  std::vector<size_t> missing;  // must be fetched (if the blob is absent) and extracted
  // Indices of `missing` whose sha256 repeats an earlier missing package (fetch/extract once).
  std::vector<size_t> duplicates;
};

// Calls `is_extracted` once per distinct package sha256. Deterministic; thread-compatible.
MaterializePlan PlanMaterialize(const LockedEnvironment& env,
                                const std::function<bool(const LockedPackage&)>& is_extracted);

}  // namespace ferry::store
