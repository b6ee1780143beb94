// Planning `ferry resolve` against an existing lock (pure; no I/O, no solving):
//   inputs (src/inputs/combine.h) x platforms -> requirement sets -> req-ids
//   -> reuse a lock entry whose (req_id, platform) is unchanged, or mark the entry to solve.
// Implements --locked (fail, naming what changed), --upgrade (solve everything) and
// --upgrade-package NAME (solve the entries that contain NAME). After the caller has solved the
// marked entries (filling `result`), AssembleLock builds the new lock file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/inputs/combine.h"
#include "src/lock/lock.h"
#include "src/lock/lock_file.h"
#include "src/status.h"

namespace ferry::inputs {

struct PlanOptions {
  std::vector<std::string> platforms;        // at least one
  std::vector<std::string> default_channels;  // configuration (flags > env > ferry.toml)
  std::vector<std::string> default_indexes;
  std::map<std::string, std::string> virtual_overrides;  // "__glibc" -> "2.28"
  bool locked = false;   // --locked: every entry must be reusable
  bool upgrade = false;  // --upgrade: solve every entry
  std::vector<std::string> upgrade_packages;  // --upgrade-package NAME (conda or PyPI name)
  std::string lock_path = "ferry.lock";       // for messages
};

struct PlannedEnvironment {
  size_t input_index = 0;  // into CombinedInputs::environments
  std::string platform;
  RequirementSet requirements;  // finalized (platform, defaults, overrides)
  std::string req_id;
  std::string label;  // "train (linux-64)", "start, end (osx-arm64)", "environment (linux-64)"
  bool solve = true;  // false: `result` already holds the reused lock entry
  // Why it must be solved: "new", "requirements changed: conda +scipy", "--upgrade", ...
  std::string reason;
  // The previous lock entry for the same steps/platform if any (a solver may prefer its versions
  // for packages not being upgraded).
  std::optional<LockedEnvironment> previous;
  std::optional<LockedEnvironment> result;  // reused entry, or filled in by the caller
};

struct ResolvePlan {
  std::vector<PlannedEnvironment> entries;  // inputs order x platforms order
  size_t ToSolve() const;
};

// Builds the plan. `existing` may be null (no lock yet). Errors:
//  - kUser with --locked when the lock is missing or any entry is stale: "--locked: ferry.lock is
//    out of date: train (linux-64): requirements changed (conda: +scipy, -scipy 1.11.*)";
//    nothing should be written then;
//  - kUsage for no platform or an --upgrade-package name in no entry of the lock.
Result<ResolvePlan> PlanResolve(const CombinedInputs& inputs, const lock::LockFile* existing,
                                const PlanOptions& options);

// The new lock: inputs, flow, step map and one environment per plan entry (every entry must have
// `result`; its req_id/platform/requirements are taken from the plan, steps from the inputs).
// Error (kUser) if an entry has no result. Canonicalized (ready for WriteLock).
Result<lock::LockFile> AssembleLock(const CombinedInputs& inputs, const ResolvePlan& plan);

// "conda: +scipy, -scipy 1.11.*; channels: ...; python: 3.11 -> 3.12" (empty when equal).
std::string DescribeRequirementChange(const RequirementSet& before, const RequirementSet& after);

}  // namespace ferry::inputs
