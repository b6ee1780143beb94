// The CLI side of reading `ferry resolve` inputs: wires the real file system and the yaml-cpp
// reader into src/inputs/combine.h.
//
// How `ferry resolve` uses it (see docs/flows-and-locks.md):
//   1. ReadInputs(fs, spec)                      -> CombinedInputs (one env per distinct set)
//   2. for each environment x --platform:
//        req = inputs::FinalizeRequirements(env, platform, config.channels, config.index_urls)
//        req_id = ComputeReqId(req)
//        old lock entry = existing_lock.ReusableEntry(req_id, platform)  (reuse: no solve)
//   3. resolve the rest, fill LockedEnvironment{req_id, env_id, platform, steps, requirements,
//      packages}, then BuildLockFile(...) and WriteLock -> fs.WriteFileAtomic.
#pragma once

#include <map>
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

// Assembles the lock file from resolved environments: `resolved[i]` holds, per platform, the
// LockedEnvironment of inputs.environments[i] (req_id/env_id/platform/requirements/packages
// filled in by the caller; steps are taken from the inputs). Sets inputs, flow and step map.
lock::LockFile BuildLockFile(const inputs::CombinedInputs& inputs,
                             const std::vector<std::map<std::string, LockedEnvironment>>& resolved);

// Default lock path for the inputs: "<dir of the first input>/ferry.lock", or "ferry.lock" when
// there is no input file.
std::string DefaultLockPath(const inputs::InputSpec& spec);

}  // namespace ferry::cli
