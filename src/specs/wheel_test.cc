// Wheel/sdist file names and compatible tag order (PEP 425/427/600/656, packaging.tags).
#include "src/specs/wheel.h"

#include <catch2/catch.hpp>

using namespace ferry::specs;

namespace {

WheelFilename W(const std::string& s) {
  auto w = WheelFilename::Parse(s);
  INFO(s << ": " << w.status().message());
  REQUIRE(w.ok());
  return *w;
}

WheelTarget T(const char* platform, const char* python, const char* os_version = "") {
  auto t = WheelTargetFor(platform, python, os_version);
  INFO(t.status().message());
  REQUIRE(t.ok());
  return *t;
}

int IndexOf(const std::vector<std::string>& v, const std::string& s) {
  auto it = std::find(v.begin(), v.end(), s);
  return it == v.end() ? -1 : static_cast<int>(it - v.begin());
}

}  // namespace

TEST_CASE("wheel filenames") {
  WheelFilename w = W("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
  CHECK(w.name == "numpy");
  CHECK(w.version.ToString() == "1.26.4");
  CHECK(w.build_tag.empty());
  CHECK(w.python_tags == std::vector<std::string>{"cp311"});
  CHECK(w.abi_tags == std::vector<std::string>{"cp311"});
  CHECK(w.platform_tags ==
        std::vector<std::string>{"manylinux_2_17_x86_64", "manylinux2014_x86_64"});
  CHECK(w.Tags().size() == 2);

  w = W("six-1.16.0-py2.py3-none-any.whl");
  CHECK(w.python_tags == std::vector<std::string>{"py2", "py3"});
  CHECK(w.Tags().size() == 2);
  CHECK(w.Tags()[1].ToString() == "py3-none-any");

  w = W("typing_extensions-4.9.0-py3-none-any.whl");
  CHECK(w.NormalizedName() == "typing-extensions");

  w = W("foo-1.0-1abc-py3-none-any.whl");
  CHECK(w.build_tag == "1abc");

  w = W("Pillow-10.2.0-cp312-cp312-macosx_11_0_arm64.whl");
  CHECK(w.NormalizedName() == "pillow");

  struct Case {
    const char* file;
    const char* message;
  };
  const Case errors[] = {
      {"foo-1.0-py3-none-any.zip", "does not end with .whl"},
      {"foo-1.0-py3-none.whl", "expected {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl"},
      {"foo-1.0-1-2-py3-none-any.whl", "expected {name}"},
      {"foo-1.0-x1-py3-none-any.whl", "build tag \"x1\" must start with a digit"},
      {"foo-1.0..0-py3-none-any.whl", "invalid PEP 440 version"},
      {"_foo-1.0-py3-none-any.whl", "invalid distribution name \"_foo\""},
      {"foo-1.0-py3..py2-none-any.whl", "empty python tag"},
      {"foo-1.0-py3-no$ne-any.whl", "invalid character in abi tag"},
      {"-1.0-py3-none-any.whl", "invalid distribution name \"\""},
  };
  for (const Case& c : errors) {
    auto r = WheelFilename::Parse(c.file);
    INFO(c.file);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ferry::Code::kUser);
    CHECK_THAT(r.status().message(), Catch::Contains(c.message));
    CHECK_THAT(r.status().message(), Catch::Contains(std::string("\"") + c.file + "\""));
  }
}

TEST_CASE("sdist filenames") {
  auto s = SdistFilename::Parse("requests-2.31.0.tar.gz");
  REQUIRE(s.ok());
  CHECK(s->name == "requests");
  CHECK(s->version.ToString() == "2.31.0");
  CHECK(s->extension == ".tar.gz");
  s = SdistFilename::Parse("python-dateutil-2.8.2.tar.gz");
  REQUIRE(s.ok());
  CHECK(s->name == "python-dateutil");
  CHECK(s->NormalizedName() == "python-dateutil");
  s = SdistFilename::Parse("foo-1.0-1.zip");  // implicit post release
  REQUIRE(s.ok());
  CHECK(s->name == "foo");
  CHECK(s->version.ToString() == "1.0.post1");
  CHECK_FALSE(SdistFilename::Parse("foo-1.0.whl").ok());
  CHECK_FALSE(SdistFilename::Parse("foo.tar.gz").ok());
  auto bad = SdistFilename::Parse("foo-bar.tar.gz");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("invalid sdist filename \"foo-bar.tar.gz\""));
}

TEST_CASE("linux platform tags (manylinux, PEP 600 with legacy aliases)") {
  std::vector<std::string> p = PlatformTags(T("linux-64", "3.11", "2.28"));
  CHECK(p.front() == "manylinux_2_28_x86_64");
  CHECK(p.back() == "linux_x86_64");
  CHECK(p.size() == 24 + 3 + 1);
  CHECK(IndexOf(p, "manylinux2014_x86_64") == IndexOf(p, "manylinux_2_17_x86_64") + 1);
  CHECK(IndexOf(p, "manylinux2010_x86_64") == IndexOf(p, "manylinux_2_12_x86_64") + 1);
  CHECK(IndexOf(p, "manylinux1_x86_64") == IndexOf(p, "manylinux_2_5_x86_64") + 1);
  CHECK(IndexOf(p, "manylinux_2_29_x86_64") == -1);
  CHECK(IndexOf(p, "manylinux_2_4_x86_64") == -1);

  std::vector<std::string> a = PlatformTags(T("linux-aarch64", "3.11", "2.17"));
  CHECK(a == std::vector<std::string>{"manylinux_2_17_aarch64", "manylinux2014_aarch64",
                                      "linux_aarch64"});
  WheelTarget musl = T("linux-64", "3.12");
  musl.musl_major = 1;
  musl.musl_minor = 2;
  CHECK(PlatformTags(musl) == std::vector<std::string>{"musllinux_1_2_x86_64", "musllinux_1_1_x86_64",
                                                        "musllinux_1_0_x86_64", "linux_x86_64"});
}

TEST_CASE("macOS and Windows platform tags") {
  std::vector<std::string> arm = PlatformTags(T("osx-arm64", "3.12"));  // default 11.0
  CHECK(arm.front() == "macosx_11_0_arm64");
  CHECK(arm[1] == "macosx_11_0_universal2");
  CHECK(arm[2] == "macosx_10_16_universal2");
  CHECK(arm.back() == "macosx_10_4_universal2");
  CHECK(arm.size() == 2 + 13);
  std::vector<std::string> arm14 = PlatformTags(T("osx-arm64", "3.12", "14.2"));
  CHECK(arm14.front() == "macosx_14_0_arm64");
  CHECK(IndexOf(arm14, "macosx_12_0_arm64") == 4);
  CHECK(IndexOf(arm14, "macosx_10_9_arm64") == -1);
  std::vector<std::string> x86 = PlatformTags(T("osx-64", "3.11"));  // default 10.15
  CHECK(x86.front() == "macosx_10_15_x86_64");
  CHECK(x86[1] == "macosx_10_15_intel");
  CHECK(IndexOf(x86, "macosx_10_9_universal2") >= 0);
  CHECK(IndexOf(x86, "macosx_11_0_x86_64") == -1);
  CHECK(x86.back() == "macosx_10_4_universal");
  std::vector<std::string> x86_12 = PlatformTags(T("osx-64", "3.11", "12"));
  CHECK(x86_12.front() == "macosx_12_0_x86_64");
  CHECK(IndexOf(x86_12, "macosx_10_16_x86_64") >= 0);
  CHECK(PlatformTags(T("win-64", "3.11")) == std::vector<std::string>{"win_amd64"});
}

TEST_CASE("CPython compatible tag order") {
  std::vector<WheelTag> tags = CompatibleTags(T("linux-64", "3.11", "2.28"));
  const size_t P = 28;
  CHECK(tags.size() == P * 3 + 9 * P + 13 * P + 1 + 13);
  CHECK(tags[0].ToString() == "cp311-cp311-manylinux_2_28_x86_64");
  CHECK(tags[P - 1].ToString() == "cp311-cp311-linux_x86_64");
  CHECK(tags[P].ToString() == "cp311-abi3-manylinux_2_28_x86_64");
  CHECK(tags[2 * P].ToString() == "cp311-none-manylinux_2_28_x86_64");
  CHECK(tags[3 * P].ToString() == "cp310-abi3-manylinux_2_28_x86_64");
  CHECK(tags[12 * P - 1].ToString() == "cp32-abi3-linux_x86_64");
  CHECK(tags[12 * P].ToString() == "py311-none-manylinux_2_28_x86_64");
  CHECK(tags[13 * P].ToString() == "py3-none-manylinux_2_28_x86_64");
  CHECK(tags[14 * P].ToString() == "py310-none-manylinux_2_28_x86_64");
  CHECK(tags[25 * P].ToString() == "cp311-none-any");
  CHECK(tags[25 * P + 1].ToString() == "py311-none-any");
  CHECK(tags[25 * P + 2].ToString() == "py3-none-any");
  CHECK(tags.back().ToString() == "py30-none-any");

  std::vector<WheelTag> win = CompatibleTags(T("win-64", "3.12"));
  CHECK(win[0].ToString() == "cp312-cp312-win_amd64");
  CHECK(win[1].ToString() == "cp312-abi3-win_amd64");
}

TEST_CASE("wheel priorities pick the best wheel per target") {
  TagPriorities lin(CompatibleTags(T("linux-64", "3.11", "2.28")));
  auto p = [&](const TagPriorities& tp, const char* file) { return tp.Priority(W(file)); };
  auto manylinux = p(lin, "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
  REQUIRE(manylinux);
  CHECK(*manylinux == 11);
  auto newer = p(lin, "numpy-2.0-cp311-cp311-manylinux_2_28_x86_64.whl");
  REQUIRE(newer);
  CHECK(*newer == 0);
  CHECK_FALSE(p(lin, "numpy-2.0-cp311-cp311-manylinux_2_34_x86_64.whl"));
  CHECK_FALSE(p(lin, "numpy-2.0-cp312-cp312-manylinux_2_17_x86_64.whl"));
  CHECK_FALSE(p(lin, "numpy-2.0-cp311-cp311-win_amd64.whl"));
  CHECK_FALSE(p(lin, "numpy-2.0-cp311-cp311-musllinux_1_1_x86_64.whl"));
  CHECK_FALSE(p(lin, "numpy-2.0-cp311-cp311-manylinux_2_17_aarch64.whl"));
  auto abi3 = p(lin, "cryptography-42.0-cp39-abi3-manylinux_2_28_x86_64.whl");
  auto pure = p(lin, "six-1.16.0-py2.py3-none-any.whl");
  REQUIRE(abi3);
  REQUIRE(pure);
  CHECK(*manylinux < *abi3);
  CHECK(*abi3 < *pure);
  CHECK(*p(lin, "x-1.0-py3-none-any.whl") < *p(lin, "x-1.0-py2.py30-none-any.whl"));
  CHECK_FALSE(p(lin, "x-1.0-py2-none-any.whl"));
  CHECK_FALSE(p(lin, "x-1.0-py312-none-any.whl"));
  CHECK(p(lin, "X-1.0-PY3-NONE-ANY.whl"));  // tags compare case-insensitively

  TagPriorities mac(CompatibleTags(T("osx-arm64", "3.12")));
  CHECK(p(mac, "x-1.0-cp312-cp312-macosx_11_0_arm64.whl"));
  CHECK(p(mac, "x-1.0-cp312-cp312-macosx_10_9_universal2.whl"));
  CHECK_FALSE(p(mac, "x-1.0-cp312-cp312-macosx_10_9_x86_64.whl"));
  CHECK_FALSE(p(mac, "x-1.0-cp312-cp312-macosx_14_0_arm64.whl"));
  CHECK(*p(mac, "x-1.0-cp312-cp312-macosx_11_0_arm64.whl") <
        *p(mac, "x-1.0-cp312-cp312-macosx_10_9_universal2.whl"));
}

TEST_CASE("wheel target errors") {
  CHECK_FALSE(WheelTargetFor("noarch", "3.11").ok());
  CHECK_FALSE(WheelTargetFor("linux-64", "three").ok());
  CHECK_FALSE(WheelTargetFor("linux-64", "3.11", "2").ok());
  CHECK_FALSE(WheelTargetFor("osx-64", "3.11", "x").ok());
  WheelTarget t = T("linux-ppc64le", "3.10");
  CHECK(t.arch == "ppc64le");
  CHECK(t.glibc_minor == 28);
}
