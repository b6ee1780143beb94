// The lock model: the contract between the resolver (which produces a Lock) and the store and
// materializer (which consume one). Pure data plus the SPEC.md §1 identities.
// The on-disk lock file format is docs/formats/lock.md (src/lock/lock_file.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ferry {

enum class PackageKind { kConda, kPypi };
const char* PackageKindName(PackageKind kind);  // "conda" | "pypi"

// One exact package of a locked environment: everything needed to fetch and install it without
// touching an index again.
struct LockedPackage {
  PackageKind kind = PackageKind::kConda;
  std::string name;     // conda name, or PEP 503-normalized PyPI name
  std::string version;
  std::string build;    // conda build string; empty for pypi
  int64_t build_number = 0;
  std::string subdir;   // conda: "linux-64", "noarch", ...; pypi: ""
  std::string noarch;   // conda: "", "python" or "generic"
  std::string filename;  // exactly as published: .conda, .tar.bz2, .whl
  std::string url;
  std::string sha256;   // of the package file (64 hex)
  std::string md5;      // conda only (may be empty for pypi)
  uint64_t size = 0;
  std::vector<std::string> depends;    // conda match specs / PEP 508 requirements
  std::vector<std::string> constrains;  // conda only
  std::string requires_python;          // pypi only
  std::string channel;                  // conda channel URL or pypi index URL it came from
};

// What a user asked for one environment (SPEC.md §1 "requirement set").
struct RequirementSet {
  std::vector<std::string> conda;     // match specs
  std::vector<std::string> pypi;      // PEP 508 requirements
  std::vector<std::string> channels;  // priority order
  std::vector<std::string> indexes;   // PyPI index URLs, first is primary
  std::string python;                 // "3.11" or ""
  std::string platform;               // "linux-64", ...
  std::map<std::string, std::string> virtual_overrides;  // "__glibc" -> "2.28"
};

// Canonical JSON of a normalized requirement set (sorted specs, channels in priority order,
// platform, overrides); sha256 of it is the req-id. Deterministic across machines.
std::string CanonicalRequirementJson(const RequirementSet& req);
std::string ComputeReqId(const RequirementSet& req);

struct LockedEnvironment {
  std::string req_id;  // 64 hex
  std::string env_id;  // 64 hex
  std::string platform;
  std::vector<std::string> steps;  // flow steps using this environment (sorted)
  std::optional<std::string> name;  // "model-a:latest"
  RequirementSet requirements;
  std::vector<LockedPackage> packages;  // sorted by (kind, name)
};

// env-id = sha256 of the canonical list of (platform, kind, sha256 of package file), sorted.
// Canonical form: one line "<platform>\t<kind>\t<sha256>\n" per package, lines sorted bytewise.
std::string ComputeEnvId(const std::string& platform, const std::vector<LockedPackage>& packages);

// Sorts packages by (kind, name, then filename) — the order of SPEC.md §3.
void SortPackages(std::vector<LockedPackage>& packages);

struct Lock {
  int lock_version = 1;
  std::vector<LockedEnvironment> environments;
};

}  // namespace ferry
