#include "src/specs/platform.h"

#include "src/specs/conda_version.h"

#include <catch2/catch.hpp>

using namespace ferry::specs;

namespace {
std::string Find(const std::vector<VirtualPackage>& pkgs, const std::string& name) {
  for (const auto& p : pkgs) {
    if (p.name == name) return p.version + "/" + p.build;
  }
  return "<absent>";
}
}  // namespace

TEST_CASE("platform names round-trip") {
  for (Platform p : AllTargetPlatforms()) {
    auto parsed = ParsePlatform(PlatformName(p));
    REQUIRE(parsed.ok());
    CHECK(*parsed == p);
  }
  CHECK(*ParsePlatform("noarch") == Platform::kNoarch);
  auto bad = ParsePlatform("linux64");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("unknown platform \"linux64\""));
  CHECK(std::string(PlatformArch(Platform::kOsxArm64)) == "arm64");
  CHECK(IsLinux(Platform::kLinuxAarch64));
  CHECK_FALSE(IsLinux(Platform::kOsx64));
}

TEST_CASE("virtual package defaults per target") {
  auto linux64 = *VirtualPackagesFor(Platform::kLinux64, std::nullopt, {});
  CHECK(Find(linux64, "__glibc") == "2.28/0");
  CHECK(Find(linux64, "__linux") == "5.10/0");
  CHECK(Find(linux64, "__unix") == "0/0");
  CHECK(Find(linux64, "__archspec") == "1/x86_64");
  CHECK(Find(linux64, "__cuda") == "<absent>");
  CHECK(Find(linux64, "__osx") == "<absent>");
  CHECK(linux64.size() == 4);
  CHECK(linux64.front().name == "__archspec");  // sorted by name

  auto arm = *VirtualPackagesFor(Platform::kOsxArm64, std::nullopt, {});
  CHECK(Find(arm, "__osx") == "11.0/0");
  CHECK(Find(arm, "__archspec") == "1/arm64");
  CHECK(Find(arm, "__glibc") == "<absent>");
  CHECK(Find(*VirtualPackagesFor(Platform::kOsx64, std::nullopt, {}), "__osx") == "10.15/0");
  auto win = *VirtualPackagesFor(Platform::kWin64, std::nullopt, {});
  CHECK(Find(win, "__win") == "0/0");
  CHECK(Find(win, "__unix") == "<absent>");
  CHECK(Find(*VirtualPackagesFor(Platform::kLinuxAarch64, std::nullopt, {}), "__archspec") ==
        "1/aarch64");
  CHECK(VirtualPackagesFor(Platform::kNoarch, std::nullopt, {})->empty());
}

TEST_CASE("host facts are used only when the target is the host") {
  HostFacts host;
  host.platform = Platform::kLinux64;
  host.glibc = "2.36";
  host.linux_kernel = "6.1.0";
  host.cuda = "12.2";
  host.archspec = "x86_64";
  auto same = *VirtualPackagesFor(Platform::kLinux64, host, {});
  CHECK(Find(same, "__glibc") == "2.36/0");
  CHECK(Find(same, "__linux") == "6.1.0/0");
  CHECK(Find(same, "__cuda") == "12.2/0");
  // A different target never inherits the host's values.
  auto other = *VirtualPackagesFor(Platform::kLinuxAarch64, host, {});
  CHECK(Find(other, "__glibc") == "2.28/0");
  CHECK(Find(other, "__cuda") == "<absent>");
  CHECK(Find(other, "__archspec") == "1/aarch64");
}

TEST_CASE("overrides win, empty removes, inapplicable ignored") {
  std::map<std::string, std::string> ov = {
      {"__glibc", "2.17"}, {"__cuda", "11.8"}, {"__osx", "13.0"}, {"__linux", ""}};
  auto pkgs = *VirtualPackagesFor(Platform::kLinux64, std::nullopt, ov);
  CHECK(Find(pkgs, "__glibc") == "2.17/0");
  CHECK(Find(pkgs, "__cuda") == "11.8/0");
  CHECK(Find(pkgs, "__osx") == "<absent>");
  CHECK(Find(pkgs, "__linux") == "<absent>");
  HostFacts host;
  host.platform = Platform::kLinux64;
  host.cuda = "12.2";
  auto removed = *VirtualPackagesFor(Platform::kLinux64, host, {{"__cuda", ""}});
  CHECK(Find(removed, "__cuda") == "<absent>");
  auto osx = *VirtualPackagesFor(Platform::kOsxArm64, std::nullopt, ov);
  CHECK(Find(osx, "__osx") == "13.0/0");
  CHECK(Find(osx, "__glibc") == "<absent>");
  auto bad = VirtualPackagesFor(Platform::kLinux64, std::nullopt, {{"__glibc", "2..17"}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("__glibc=\"2..17\""));
  auto unknown = VirtualPackagesFor(Platform::kLinux64, std::nullopt, {{"__foo", "1"}});
  REQUIRE_FALSE(unknown.ok());
}

TEST_CASE("CUDA version from the NVIDIA driver version") {
  CHECK(CudaVersionForDriver("535.104.05") == "12.2");
  CHECK(CudaVersionForDriver("535.54") == "12.2");
  CHECK(CudaVersionForDriver("535.53") == "12.1");
  CHECK(CudaVersionForDriver("550.54.14") == "12.4");
  CHECK(CudaVersionForDriver("470.42.01") == "11.4");
  CHECK(CudaVersionForDriver("390.1") == "");
  CHECK(CudaVersionForDriver("abc") == "");
}

TEST_CASE("host detection works on this machine") {
  HostFacts host = DetectHost();
#if defined(__linux__)
  CHECK(host.platform.has_value());
  CHECK_FALSE(host.linux_kernel.empty());
  CHECK(Version::Parse(host.linux_kernel).ok());
#if defined(__GLIBC__)
  CHECK(Version::Parse(host.glibc).ok());
#endif
#endif
  CHECK_FALSE(host.archspec.empty());
}
