// The CLI side of reading `ferry resolve` inputs: wires the real file system and the yaml-cpp
// reader into src/inputs/combine.h.
//
// How `ferry resolve` uses it: see src/inputs/resolve_plan.h and docs/flows-and-locks.md:
//   inputs = ReadInputs(fs, spec, lock_dir)
//   plan   = inputs::PlanResolve(inputs, existing_lock_or_null, options)   (reuse / --locked)
//   solve every plan.entries[i] with solve == true, set its `result`
//   lock   = inputs::AssembleLock(inputs, plan); lock::WriteLock(lock) -> fs.WriteFileAtomic
#pragma once

#include <string>
#include <vector>

#include "src/fs.h"
#include "src/inputs/combine.h"
#include "src/lock/lock_file.h"
#include "src/status.h"

namespace ferry::cli {

// Reads and combines the inputs of `spec` through `fs` (environment.yml via yaml-cpp).
// Recorded input paths are made relative to `lock_dir` when they lie below it (so a lock is
// the same on every checkout); otherwise they are kept as given. Errors as CombineInputs.
Result<inputs::CombinedInputs> ReadInputs(FileSystem& fs, const inputs::InputSpec& spec,
                                          const std::string& lock_dir);

// Default lock path for the inputs: "<dir of the first input>/ferry.lock", or "ferry.lock" when
// there is no input file.
std::string DefaultLockPath(const inputs::InputSpec& spec);

}  // namespace ferry::cli
