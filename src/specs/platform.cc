#include "src/specs/platform.h"

#include <sys/utsname.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

#include "src/specs/conda_version.h"

namespace ferry::specs {
namespace {

struct PlatformInfo {
  Platform platform;
  const char* name;
  const char* arch;
};

constexpr PlatformInfo kPlatforms[] = {
    {Platform::kNoarch, "noarch", ""},
    {Platform::kLinux64, "linux-64", "x86_64"},
    {Platform::kLinuxAarch64, "linux-aarch64", "aarch64"},
    {Platform::kLinuxPpc64le, "linux-ppc64le", "ppc64le"},
    {Platform::kOsx64, "osx-64", "x86_64"},
    {Platform::kOsxArm64, "osx-arm64", "arm64"},
    {Platform::kWin64, "win-64", "x86_64"},
};

// Leading "digits(.digits)*" of s ("6.1.0-18-amd64" -> "6.1.0").
std::string NumericPrefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  std::string out(s.substr(0, i));
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

Result<Platform> ParsePlatform(std::string_view text) {
  for (const auto& p : kPlatforms) {
    if (text == p.name) return p.platform;
  }
  return Status::User("unknown platform \"" + std::string(text) +
                      "\" (expected one of noarch, linux-64, linux-aarch64, linux-ppc64le, "
                      "osx-64, osx-arm64, win-64)");
}

const char* PlatformName(Platform platform) {
  for (const auto& p : kPlatforms) {
    if (p.platform == platform) return p.name;
  }
  return "noarch";
}

const char* PlatformArch(Platform platform) {
  for (const auto& p : kPlatforms) {
    if (p.platform == platform) return p.arch;
  }
  return "";
}

const std::vector<Platform>& AllTargetPlatforms() {
  static const std::vector<Platform> kAll = {Platform::kLinux64,  Platform::kLinuxAarch64,
                                             Platform::kLinuxPpc64le, Platform::kOsx64,
                                             Platform::kOsxArm64, Platform::kWin64};
  return kAll;
}

bool IsLinux(Platform p) {
  return p == Platform::kLinux64 || p == Platform::kLinuxAarch64 || p == Platform::kLinuxPpc64le;
}
bool IsOsx(Platform p) { return p == Platform::kOsx64 || p == Platform::kOsxArm64; }
bool IsWindows(Platform p) { return p == Platform::kWin64; }

std::string CudaVersionForDriver(std::string_view driver) {
  // Minimum Linux driver (major) for each CUDA toolkit release (NVIDIA CUDA release notes,
  // table "CUDA Toolkit and Corresponding Driver Versions"), newest first.
  struct Row {
    int driver_major;
    int driver_minor;
    const char* cuda;
  };
  static constexpr Row kRows[] = {
      {570, 26, "12.8"}, {560, 28, "12.6"}, {555, 42, "12.5"}, {550, 54, "12.4"},
      {545, 23, "12.3"}, {535, 54, "12.2"}, {530, 30, "12.1"}, {525, 60, "12.0"},
      {520, 61, "11.8"}, {515, 43, "11.7"}, {510, 39, "11.6"}, {495, 29, "11.5"},
      {470, 42, "11.4"}, {465, 19, "11.3"}, {460, 27, "11.2"}, {455, 23, "11.1"},
      {450, 36, "11.0"}, {440, 33, "10.2"}, {418, 39, "10.1"}, {410, 48, "10.0"},
  };
  int major = 0, minor = 0;
  size_t i = 0;
  bool any = false;
  while (i < driver.size() && driver[i] >= '0' && driver[i] <= '9' && major < 100000) {
    major = major * 10 + (driver[i++] - '0');
    any = true;
  }
  if (!any) return "";
  if (i < driver.size() && driver[i] == '.') {
    ++i;
    while (i < driver.size() && driver[i] >= '0' && driver[i] <= '9' && minor < 100000) {
      minor = minor * 10 + (driver[i++] - '0');
    }
  }
  for (const Row& r : kRows) {
    if (major > r.driver_major || (major == r.driver_major && minor >= r.driver_minor)) {
      return r.cuda;
    }
  }
  return "";
}

HostFacts DetectHost() {
  HostFacts facts;
  struct utsname u;
  if (uname(&u) != 0) return facts;
  std::string sys = u.sysname, machine = u.machine;
  if (machine == "amd64") machine = "x86_64";
  if (machine == "arm64" && sys == "Linux") machine = "aarch64";
  facts.archspec = machine;
  if (sys == "Linux") {
    if (machine == "x86_64") facts.platform = Platform::kLinux64;
    if (machine == "aarch64") facts.platform = Platform::kLinuxAarch64;
    if (machine == "ppc64le") facts.platform = Platform::kLinuxPpc64le;
    facts.linux_kernel = NumericPrefix(u.release);
#if defined(__GLIBC__)
    facts.glibc = NumericPrefix(gnu_get_libc_version());
#endif
    std::ifstream nv("/proc/driver/nvidia/version");
    if (nv) {
      // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ..."
      std::string line;
      std::getline(nv, line);
      std::istringstream words(line);
      std::string w;
      while (words >> w) {
        if (!w.empty() && w[0] >= '0' && w[0] <= '9' && w.find('.') != std::string::npos) {
          facts.cuda = CudaVersionForDriver(w);
          break;
        }
      }
    }
  } else if (sys == "Darwin") {
    facts.platform = machine == "arm64" ? Platform::kOsxArm64 : Platform::kOsx64;
    std::ifstream plist("/System/Library/CoreServices/SystemVersion.plist");
    std::string content((std::istreambuf_iterator<char>(plist)), std::istreambuf_iterator<char>());
    size_t key = content.find("<key>ProductVersion</key>");
    if (key != std::string::npos) {
      size_t s = content.find("<string>", key);
      if (s != std::string::npos) facts.osx = NumericPrefix(content.substr(s + 8, 16));
    }
  }
  return facts;
}

std::map<std::string, std::string> OverridesFromEnvironment() {
  static const std::pair<const char*, const char*> kVars[] = {
      {"CONDA_OVERRIDE_GLIBC", "__glibc"}, {"CONDA_OVERRIDE_CUDA", "__cuda"},
      {"CONDA_OVERRIDE_OSX", "__osx"},     {"CONDA_OVERRIDE_LINUX", "__linux"},
      {"CONDA_OVERRIDE_WIN", "__win"},     {"CONDA_OVERRIDE_ARCHSPEC", "__archspec"},
  };
  std::map<std::string, std::string> out;
  for (const auto& [var, pkg] : kVars) {
    const char* value = std::getenv(var);
    if (value != nullptr) out[pkg] = value;
  }
  return out;
}

Result<std::vector<VirtualPackage>> VirtualPackagesFor(
    Platform target, const std::optional<HostFacts>& host,
    const std::map<std::string, std::string>& overrides) {
  std::map<std::string, VirtualPackage> pkgs;
  auto add = [&](const char* name, std::string version, std::string build = "0") {
    pkgs[name] = VirtualPackage{name, std::move(version), std::move(build)};
  };
  const bool use_host = host.has_value() && host->platform.has_value() && *host->platform == target;
  const std::string arch = PlatformArch(target);
  if (IsLinux(target)) {
    add("__unix", "0");
    add("__linux", use_host && !host->linux_kernel.empty() ? host->linux_kernel : "5.10");
    add("__glibc", use_host && !host->glibc.empty() ? host->glibc : "2.28");
    if (use_host && !host->cuda.empty()) add("__cuda", host->cuda);
  } else if (IsOsx(target)) {
    add("__unix", "0");
    std::string def = target == Platform::kOsxArm64 ? "11.0" : "10.15";
    add("__osx", use_host && !host->osx.empty() ? host->osx : def);
  } else if (IsWindows(target)) {
    add("__win", "0");
  }
  if (target != Platform::kNoarch) {
    add("__archspec", "1", use_host && !host->archspec.empty() ? host->archspec : arch);
  }

  for (const auto& [name, value] : overrides) {
    bool applies = false;
    if (name == "__glibc" || name == "__linux") applies = IsLinux(target);
    else if (name == "__osx") applies = IsOsx(target);
    else if (name == "__win") applies = IsWindows(target);
    else if (name == "__cuda") applies = IsLinux(target) || IsWindows(target);
    else if (name == "__archspec") applies = target != Platform::kNoarch;
    else if (name == "__unix") applies = IsLinux(target) || IsOsx(target);
    else return Status::User("unknown virtual package override \"" + name + "\"");
    if (!applies) continue;
    if (value.empty()) {
      pkgs.erase(name);
      continue;
    }
    if (name == "__archspec") {
      add("__archspec", "1", value);  // the override names the microarchitecture
      continue;
    }
    auto v = Version::Parse(value);
    if (!v.ok()) {
      return Status::User("virtual package override " + name + "=\"" + value + "\": " +
                          v.status().message());
    }
    add(name.c_str(), value);
  }
  std::vector<VirtualPackage> out;
  for (auto& [name, pkg] : pkgs) out.push_back(std::move(pkg));
  return out;
}

}  // namespace ferry::specs
