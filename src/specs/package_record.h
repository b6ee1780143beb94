// PackageRecord: one row of a conda channel's repodata.json ("packages" / "packages.conda"),
// plus where it came from. A plain value struct: the resolver's repodata loader fills it, the
// solver and MatchSpec::Matches read it. No invariants beyond "version.str() is the repodata
// version string"; fields absent from repodata stay empty/zero.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/specs/conda_version.h"

namespace ferry::specs {

enum class NoarchKind : uint8_t { kNone, kGeneric, kPython };

// "" -> kNone, "generic" -> kGeneric, "python" -> kPython; legacy `noarch: true` is kGeneric.
// Unknown values map to kGeneric (repodata in the wild is messy; the package is still noarch).
NoarchKind ParseNoarch(std::string_view value);
// kNone -> "", kGeneric -> "generic", kPython -> "python".
const char* NoarchName(NoarchKind kind);

struct PackageRecord {
  std::string name;                      // conda package name (lowercase)
  Version version;                       // parsed; version.str() is the repodata string
  std::string build;                     // build string, e.g. "py311h64a7726_0"
  int64_t build_number = 0;
  std::vector<std::string> depends;      // conda match specs
  std::vector<std::string> constrains;   // conda match specs (only constrain, never pull in)
  std::vector<std::string> track_features;  // repodata "track_features" split on ' ' / ','
  std::vector<std::string> features;     // legacy "features" split on ' ' / ','
  std::string subdir;                    // "linux-64", "noarch", ...
  NoarchKind noarch = NoarchKind::kNone;
  int64_t timestamp = 0;                 // milliseconds since the epoch (repodata seconds * 1000)
  std::string md5;                       // 32 hex, lowercase
  std::string sha256;                    // 64 hex, lowercase
  uint64_t size = 0;
  std::string license;
  std::string license_family;
  std::string fn;                        // file name, e.g. "numpy-1.26.4-py311h..._0.conda"
  std::string url;                       // full download URL
  std::string channel;                   // channel URL (or name) the record came from
  std::vector<std::string> purls;        // package URLs ("pkg:pypi/numpy@1.26.4"), if published
  std::string python_site_packages_path;  // CEP 17 value for python itself, else ""

  // "name-version-build" (the conda-meta stem).
  std::string DistName() const { return name + "-" + version.str() + "-" + build; }
};

}  // namespace ferry::specs
