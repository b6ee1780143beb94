// ferry.lock: the on-disk lock file (spec: docs/formats/lock.md, lock_version 1).
//
// A LockFile holds the inputs it was made from (paths + sha256 of their contents), the step map of
// a flow (every step: environment per platform, disabled, named, or none) and one
// LockedEnvironment per (requirement set, platform). It is written as JSON with 2-space
// indentation and a fixed key and entry order, so equal data gives equal bytes and a change gives
// a minimal diff. ParseLock verifies everything that can be verified without network: req-ids are
// recomputed from the stored requirement sets and env-ids from the stored packages.
// Pure: bytes in, bytes out; no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "src/lock/lock.h"
#include "src/status.h"

namespace ferry::lock {

inline constexpr int kLockVersion = 1;

// One input file the lock was resolved from. `path` is relative to the lock file's directory
// when possible (as given by the caller), with '/' separators.
struct LockInput {
  std::string path;
  std::string sha256;  // of the file's bytes (64 hex)
};

enum class StepKind { kEnvironment, kDisabled, kNamed, kNone };
const char* StepKindName(StepKind kind);  // "environment" | "disabled" | "named" | "none"

// One step of a flow and where it runs.
struct LockStep {
  std::string name;
  StepKind kind = StepKind::kNone;
  std::map<std::string, std::string> req_ids;  // kEnvironment: platform -> req-id
  std::string named_env;                       // kNamed: "explainer:v1"
  bool fetch_at_exec = false;                  // kNamed
};

struct LockFile {
  int lock_version = kLockVersion;
  std::vector<LockInput> inputs;
  std::string flow_file;   // the flow input's path ("" when no flow was read)
  std::string flow_class;  // "TrainFlow"
  std::vector<LockStep> steps;
  std::vector<LockedEnvironment> environments;

  // The environment with this req-id and platform, or nullptr. Used by `resolve` to reuse an
  // entry whose requirements did not change (no solve, no index access). The pointer is valid
  // until `environments` is modified.
  const LockedEnvironment* ReusableEntry(std::string_view req_id,
                                         std::string_view platform) const;
};

// Puts a LockFile in canonical order: inputs by path, steps by name, environments by
// (first step, name, platform, req-id), packages by (kind, name, filename), each environment's
// steps sorted and its requirement lists normalized like CanonicalRequirementJson (conda/pypi
// sorted and deduplicated; channels/indexes keep their priority order). WriteLock calls it.
void Canonicalize(LockFile& lock);

// Serializes `lock` (canonicalized first) to its lock_version 1 JSON text, ending in a newline.
// Deterministic: the same data in any input order gives the same bytes. Ids are written as
// stored; callers compute them with ComputeReqId / ComputeEnvId before writing.
std::string WriteLock(const LockFile& lock);

// Parses and verifies a lock file. `filename` is used in messages only. Errors:
//  - kUser: not JSON, missing/ill-typed fields ("ferry.lock: environments[2].packages[0]: missing
//    'sha256'"), a lock_version this ferry does not read ("ferry.lock: lock_version 2 is not
//    supported by this ferry (it reads lock_version 1); upgrade ferry").
//  - kIntegrity: a stored req-id or env-id that does not match the recomputed one, a malformed
//    sha256, or a step map that names a missing environment; the message names the environment
//    ("ferry.lock: environment 'train' (linux-64): env_id mismatch: recorded 1a2b.., computed ..").
Result<LockFile> ParseLock(std::string_view bytes, std::string_view filename);

// Selects one environment of a lock.
//  - `selector` may be empty (the lock must then hold exactly one environment for `platform`),
//    a step name, an environment name (NAME[:TAG] as recorded), or an env-id / req-id prefix of
//    at least 8 hex characters.
//  - `platform` may be empty: then the selection must be unambiguous across platforms.
// Errors (kUser) explain what matched: "step 'cleanup' is disabled: it has no environment",
// "'train' has environments for several platforms (linux-64, osx-arm64); use --platform",
// "no step, name or id 'tran' in ferry.lock (steps: end, start, train)".
Result<const LockedEnvironment*> FindEnvironment(const LockFile& lock, std::string_view selector,
                                                 std::string_view platform);

// The SPEC.md §3 JSON shape of a lock (`resolve --json`, `show --json`), 2-space indented:
// {"lock_version": 1, "environments": [{"req_id", "env_id", "platform", "steps", "name",
//   "packages": [{"kind", "name", "version", "build", "filename", "url", "sha256", "size"}]}]}.
// `only` (optional) restricts the output to these environments (pointers into lock).
std::string ToSpecJson(const LockFile& lock,
                       const std::vector<const LockedEnvironment*>* only = nullptr);

// A display label for an environment: "train" / "start, end" / its name / "(no steps)".
std::string EnvironmentLabel(const LockedEnvironment& env);

}  // namespace ferry::lock
