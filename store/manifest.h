// The v1 remote store documents (SPEC.md §5, docs/formats/store.md): the environment manifest
// (v1/envs/<env-id>.json), the names pointer (v1/names/<NAME>/<TAG>), the req-id pointer
// (v1/reqs/<platform>/<req-id>), object keys, and NAME[:TAG] / @{VAR} handling (SPEC.md §1-2).
// Pure functions: no I/O except SubstituteVarsFromEnv reading the process environment.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/lock/lock.h"
#include "src/status.h"

namespace ferry::store {

inline constexpr int kEnvManifestVersion = 1;

struct BlobRef {
  std::string sha256;  // 64 lower-case hex
  uint64_t size = 0;
  bool operator==(const BlobRef&) const = default;
};

// One environment as stored: its lock entry (packages, requirements, ids) plus the digests of the
// package files it needs. `env.steps` and `env.name` are not stored (they belong to a flow's lock,
// not to the environment), so the same environment always serializes to the same bytes.
struct EnvManifest {
  LockedEnvironment env;
  std::vector<BlobRef> blobs;  // unique, sorted by sha256
};

// Builds the manifest of `env`: copies it without steps/name, sorts packages (SPEC.md §3 order),
// and derives `blobs`. Does not validate (ParseEnvManifest does).
EnvManifest MakeEnvManifest(const LockedEnvironment& env);

// Deterministic JSON (nlohmann ordered_json, fixed key order, 2-space indent, trailing newline).
std::string SerializeEnvManifest(const EnvManifest& manifest);

// Parses and validates a manifest: manifest_version == 1 (a newer version is kUser "upgrade
// ferry"), every field present with the right type, sha256 values are 64 lower-case hex,
// filenames have no '/', the env-id recomputed from (platform, packages) equals "env_id", and
// "blobs" equals the set of package digests and sizes. If `expected_env_id` is non-empty the
// manifest must be for that env-id. Any violation, including malformed JSON, is kIntegrity naming
// `origin` (e.g. "s3://bucket/v1/envs/ab12....json").
Result<EnvManifest> ParseEnvManifest(std::string_view text, const std::string& origin,
                                     const std::string& expected_env_id = "");

// Parses the SPEC.md §3 JSON object of one environment ({"req_id", "env_id", "platform", "steps",
// "name", "packages": [...]}), as in `ferry resolve --json` and lock files. Checks digests and
// that env_id matches the packages (kIntegrity otherwise). Used by the CLI until the lock file
// reader exists, and by tests.
Result<LockedEnvironment> ParseSpecEnvironmentJson(std::string_view text, const std::string& origin);

// ---- object keys (relative to the remote store root) ----
std::string BlobKey(const std::string& sha256);              // v1/blobs/sha256/ab/ab12...
inline constexpr const char* kBlobPrefix = "v1/blobs/sha256/";
std::string ManifestKey(const std::string& env_id);          // v1/envs/<env-id>.json
inline constexpr const char* kManifestPrefix = "v1/envs/";
std::string ReqKey(const std::string& platform, const std::string& req_id);  // v1/reqs/<p>/<id>

// ---- names ----
struct EnvName {
  std::string name;  // NAME
  std::string tag;   // TAG ("latest" when omitted)
  std::string ToString() const { return name + ":" + tag; }
  bool IsMutable() const;  // tag is latest, candidate or stable
};

// True for the mutable tags "latest", "candidate", "stable".
bool IsMutableTag(std::string_view tag);

// Parses NAME[:TAG] (SPEC.md §1): NAME matches [a-z0-9][a-z0-9_./-]*, no leading or trailing '/',
// and (so it maps to a safe object key) no empty, "." or ".." path segments; TAG matches
// [a-z0-9][a-z0-9_.-]*, default "latest"; at most 200 characters each. kUser naming the problem.
// No @{VAR} substitution here (see SubstituteVars).
Result<EnvName> ParseEnvName(std::string_view text);

// v1/names/<NAME>/<TAG>
std::string NameKey(const EnvName& name);

// Replaces every @{VAR} (VAR = [A-Za-z_][A-Za-z0-9_]*) using `lookup`. An unset variable is kUser
// naming it; a malformed reference ("@{" without "}", bad VAR) is kUser. Text without "@{" is
// returned unchanged.
Result<std::string> SubstituteVars(
    std::string_view text,
    const std::function<std::optional<std::string>(const std::string&)>& lookup);
// SubstituteVars with the process environment (getenv).
Result<std::string> SubstituteVarsFromEnv(std::string_view text);

// The names pointer document {"env_id": ..., "created_at": "YYYY-MM-DDTHH:MM:SSZ"}.
struct NamePointer {
  std::string env_id;
  std::string created_at;
};
std::string SerializeNamePointer(const NamePointer& pointer);
// kIntegrity (naming `origin`) unless it is an object with a 64-hex env_id and a string created_at.
Result<NamePointer> ParseNamePointer(std::string_view text, const std::string& origin);
// Current UTC time as "YYYY-MM-DDTHH:MM:SSZ".
std::string UtcNowIso8601();

// The req-id pointer document: "<env-id>\n". Parse: kIntegrity unless it is one 64-hex env-id
// (surrounding whitespace allowed).
std::string SerializeReqPointer(const std::string& env_id);
Result<std::string> ParseReqPointer(std::string_view text, const std::string& origin);

}  // namespace ferry::store
