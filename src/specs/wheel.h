// Wheel and sdist file names (PEP 427 / binary distribution format, sdist spec) and the ordered
// list of wheel tags a target interpreter accepts (packaging.tags for CPython: PEP 425,
// manylinux PEP 600 with the legacy PEP 513/571/599 aliases, musllinux PEP 656, macOS including
// universal2, Windows).
//
// Tag order, best first, for CPython X.Y on platforms P (ordered best first):
//   cpXY-cpXY-P..., cpXY-abi3-P..., cpXY-none-P..., cpX(Y-1)-abi3-P... down to cp32-abi3-P...,
//   pyXY-none-P..., pyX-none-P..., pyX(Y-1)-none-P... down to pyX0-none-P...,
//   cpXY-none-any, pyXY-none-any, pyX-none-any, pyX(Y-1)-none-any ... pyX0-none-any.
// Linux glibc G.H (x86_64): manylinux_G_H_x86_64 down to manylinux_2_5_x86_64, with
// manylinux2014 after 2_17, manylinux2010 after 2_12, manylinux1 after 2_5; other Linux archs
// stop at 2_17 (manylinux2014 only); then linux_<arch>. musl M.N: musllinux_M_N..M_0, linux_<arch>.
// macOS: macosx_<ver>_<fmt> from the target version downwards (see packaging.tags.mac_platforms).
//
// Value types / pure functions; thread-safe for concurrent const use.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/specs/pep440.h"
#include "src/status.h"

namespace ferry::specs {

struct WheelTag {
  std::string python;    // "cp311", "py3"
  std::string abi;       // "cp311", "abi3", "none"
  std::string platform;  // "manylinux_2_17_x86_64", "any"
  std::string ToString() const { return python + "-" + abi + "-" + platform; }
  bool operator==(const WheelTag&) const = default;
};

struct WheelFilename {
  std::string name;          // distribution name as in the file name ("typing_extensions")
  Pep440Version version;
  std::string build_tag;     // "" or e.g. "1", "2abc" (starts with a digit)
  std::vector<std::string> python_tags;    // "py2.py3" -> {"py2", "py3"}
  std::vector<std::string> abi_tags;
  std::vector<std::string> platform_tags;  // "manylinux_2_17_x86_64.manylinux2014_x86_64" -> 2

  // Parses "{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl". kUser error
  // `invalid wheel filename "<f>": <reason>`.
  static Result<WheelFilename> Parse(std::string_view filename);

  std::string NormalizedName() const { return NormalizeName(name); }
  // All (python, abi, platform) combinations of the compressed tag sets.
  std::vector<WheelTag> Tags() const;
};

struct SdistFilename {
  std::string name;       // as in the file name
  Pep440Version version;
  std::string extension;  // ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"

  // Parses "{name}-{version}{ext}". Legacy names may contain '-': the split is at the leftmost
  // '-' whose right side is a valid PEP 440 version ("foo-1.0-1" is foo 1.0.post1). kUser error
  // `invalid sdist filename "<f>": <reason>`.
  static Result<SdistFilename> Parse(std::string_view filename);
  std::string NormalizedName() const { return NormalizeName(name); }
};

struct WheelTarget {
  enum class Os : uint8_t { kLinux, kMacos, kWindows };
  int python_major = 3;
  int python_minor = 11;
  Os os = Os::kLinux;
  std::string arch = "x86_64";  // linux: x86_64/aarch64/ppc64le; macos: x86_64/arm64; win: amd64
  int glibc_major = 2, glibc_minor = 28;  // linux; glibc_major == 0 disables manylinux
  int musl_major = 0, musl_minor = 0;     // linux; musl_major > 0 uses musllinux instead
  int macos_major = 11, macos_minor = 0;  // macos
};

// Target for a conda platform ("linux-64", "linux-aarch64", "linux-ppc64le", "osx-64",
// "osx-arm64", "win-64") and a CPython "X.Y[.Z]". `os_version` is the glibc ("2.17") for Linux or
// the macOS version ("12.3") for osx; "" uses the platform defaults of platform.h (glibc 2.28,
// macOS 10.15 / 11.0). Pure; kUser error on unknown platforms or malformed versions.
Result<WheelTarget> WheelTargetFor(std::string_view platform, std::string_view python_version,
                                   std::string_view os_version = "");

// Ordered compatible tags, best first (see the file comment).
std::vector<WheelTag> CompatibleTags(const WheelTarget& target);
// Platform tags alone, best first (the P of the file comment).
std::vector<std::string> PlatformTags(const WheelTarget& target);

// Ranks wheels for one target. Build once per target; Priority() does not allocate beyond
// building lookup keys.
class TagPriorities {
 public:
  explicit TagPriorities(const std::vector<WheelTag>& ordered_tags);
  // Lowest index among the wheel's tags in the ordered list (lower = better); nullopt when the
  // wheel is incompatible with the target.
  std::optional<int> Priority(const WheelFilename& wheel) const;
  std::optional<int> Priority(const WheelTag& tag) const;

 private:
  std::unordered_map<std::string, int> index_;
};

}  // namespace ferry::specs
