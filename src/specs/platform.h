// Target platforms (conda subdirs) and the virtual packages (__glibc, __cuda, ...) a solver sees
// for a target.
//
// A target platform never silently inherits the host's values: host facts are used only when the
// target equals the host platform; otherwise each platform has documented defaults. Explicit
// overrides (CONDA_OVERRIDE_* or a requirement set's virtual_overrides) always win.
//
// Defaults (version / build):
//   linux-64       __unix 0/0, __linux 5.10/0, __glibc 2.28/0, __archspec 1/x86_64
//   linux-aarch64  __unix 0/0, __linux 5.10/0, __glibc 2.28/0, __archspec 1/aarch64
//   linux-ppc64le  __unix 0/0, __linux 5.10/0, __glibc 2.28/0, __archspec 1/ppc64le
//   osx-64         __unix 0/0, __osx 10.15/0,  __archspec 1/x86_64
//   osx-arm64      __unix 0/0, __osx 11.0/0,   __archspec 1/arm64
//   win-64         __win 0/0,  __archspec 1/x86_64
//   noarch         (none)
// __cuda is never present by default: only from host detection (target == host, NVIDIA driver
// found) or an override.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::specs {

enum class Platform : uint8_t {
  kNoarch,
  kLinux64,
  kLinuxAarch64,
  kLinuxPpc64le,
  kOsx64,
  kOsxArm64,
  kWin64,
};

// "linux-64" -> kLinux64, ... ; kUser error naming the input and the supported platforms.
Result<Platform> ParsePlatform(std::string_view text);
// kLinux64 -> "linux-64", ...
const char* PlatformName(Platform platform);
// All platforms except noarch, in a fixed order.
const std::vector<Platform>& AllTargetPlatforms();
bool IsLinux(Platform p);
bool IsOsx(Platform p);
bool IsWindows(Platform p);
// CPU architecture name as uname/archspec report it: "x86_64", "aarch64", "ppc64le", "arm64";
// "" for noarch.
const char* PlatformArch(Platform p);

struct VirtualPackage {
  std::string name;     // "__glibc"
  std::string version;  // "2.28"
  std::string build;    // "0" (or the archspec microarchitecture for __archspec)
  bool operator==(const VirtualPackage&) const = default;
};

// Facts about the machine ferry runs on. Empty strings mean "not detected".
struct HostFacts {
  std::optional<Platform> platform;  // nullopt: unsupported host
  std::string glibc;                 // "2.36"
  std::string linux_kernel;          // "6.1.0" (numeric prefix of uname -r)
  std::string osx;                   // "14.2"
  std::string cuda;                  // "12.2" (maximum CUDA version the driver supports)
  std::string archspec;              // "x86_64"
};

// Detects the host: uname(2), gnu_get_libc_version(), and, on Linux, the NVIDIA driver version
// from /proc/driver/nvidia/version only if that file exists (mapped to the CUDA version the
// driver supports). Never fails; undetected facts stay empty. Performs I/O; thread-safe.
HostFacts DetectHost();

// Reads CONDA_OVERRIDE_GLIBC, CONDA_OVERRIDE_CUDA, CONDA_OVERRIDE_OSX, CONDA_OVERRIDE_LINUX,
// CONDA_OVERRIDE_WIN, CONDA_OVERRIDE_ARCHSPEC from the process environment into a map keyed by
// virtual package name ("__glibc" -> "2.17"). A variable set to "" maps to "" (= remove).
std::map<std::string, std::string> OverridesFromEnvironment();

// The virtual packages for `target`, sorted by name. `host` is used only if
// host->platform == target. `overrides` (keyed "__glibc", "__cuda", ...; values are versions, ""
// removes the package) win over defaults and host facts; an override for a package that does not
// apply to the target (e.g. __glibc on osx-arm64) is ignored. Overrides whose version does not
// parse as a conda version are a kUser error naming the package. Pure function.
Result<std::vector<VirtualPackage>> VirtualPackagesFor(
    Platform target, const std::optional<HostFacts>& host,
    const std::map<std::string, std::string>& overrides);

// Maps an NVIDIA driver version ("535.104.05") to the highest CUDA version it supports
// ("12.2"); "" when unknown or too old.
std::string CudaVersionForDriver(std::string_view driver_version);

}  // namespace ferry::specs
