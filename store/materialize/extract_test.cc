#include "store/materialize/extract.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "store/materialize/fsutil.h"
#include "store/materialize/manifest.h"
#include "store/materialize/materialize_test_util.h"

using namespace ferry;
using namespace ferry::store;
using namespace ferry::store::mattest;
namespace fs = std::filesystem;

namespace {

const std::string kLong(255, 'x');  // stands in for conda-build's long placeholder
std::string LongPlaceholder() { return "/opt/" + std::string(250, 'p'); }

CondaSpec SampleSpec(const std::string& format) {
  CondaSpec s;
  s.name = "sample";
  s.format = format;
  s.files = {
      {"bin/tool", "#!/bin/sh\necho " + LongPlaceholder() + "\n", 0755, LongPlaceholder(), false, ""},
      {"lib/libfoo.so.1", std::string("\x7f" "ELF\0rpath=", 10) + LongPlaceholder() + "/lib" +
                              std::string("\0tail", 5),
       0644, LongPlaceholder(), true, ""},
      {"lib/libfoo.so", "", 0644, "", false, "libfoo.so.1"},
      {"share/doc/readme.txt", "hello\n", 0644, "", false, ""},
  };
  return s;
}

// True if `dir` holds nothing.
bool Empty(const std::string& dir) { return fs::is_empty(dir); }

}  // namespace

TEST_CASE("ExtractPackage extracts .conda and .tar.bz2 identically, with a manifest", "[extract]") {
  TempDir t;
  for (std::string fmt : {".conda", ".tar.bz2"}) {
    std::string pkg = BuildCondaPackage(t.path, SampleSpec(fmt));
    std::string dest = t / ("x" + fmt);
    Status st = ExtractPackage(pkg, fs::path(pkg).filename(), dest);
    INFO(st.message());
    REQUIRE(st.ok());
    CHECK(ReadFile(dest + "/share/doc/readme.txt") == "hello\n");
    CHECK(fs::is_symlink(dest + "/lib/libfoo.so"));
    CHECK(fs::read_symlink(dest + "/lib/libfoo.so") == "libfoo.so.1");
    struct stat sb;
    REQUIRE(::stat((dest + "/bin/tool").c_str(), &sb) == 0);
    CHECK((sb.st_mode & 0777) == 0755);
    auto m = ParsePackageManifest(ReadFile(dest + "/" + kManifestName), "m");
    REQUIRE(m.ok());
    CHECK(m->kind == "conda");
    REQUIRE(m->entries.size() == 4);
    int patched = 0, binary = 0, links = 0;
    for (const auto& e : m->entries) {
      if (e.type == EntryType::kPatched) {
        patched++;
        binary += e.binary;
        CHECK(e.placeholder == LongPlaceholder());
      }
      if (e.type == EntryType::kSymlink) {
        links++;
        CHECK(e.target == "libfoo.so.1");
      }
      CHECK(e.path.rfind("info/", 0) != 0);
    }
    CHECK(patched == 2);
    CHECK(binary == 1);
    CHECK(links == 1);
  }
}

TEST_CASE("ExtractPackage reads legacy info/files + has_prefix packages", "[extract]") {
  TempDir t;
  CondaSpec s;
  s.name = "legacy";
  s.legacy = true;
  s.format = ".tar.bz2";
  s.files = {{"etc/legacy.conf", "prefix=/opt/anaconda1anaconda2anaconda3\n", 0644,
              "/opt/anaconda1anaconda2anaconda3"},
             {"etc/plain", "plain\n"}};
  std::string pkg = BuildCondaPackage(t.path, s);
  REQUIRE(ExtractPackage(pkg, fs::path(pkg).filename(), t / "x").ok());
  auto m = ParsePackageManifest(ReadFile(t / "x" + "/" + kManifestName), "m");
  REQUIRE(m.ok());
  REQUIRE(m->entries.size() == 2);
  CHECK(m->entries[0].type == EntryType::kPatched);
  CHECK(m->entries[0].placeholder == "/opt/anaconda1anaconda2anaconda3");
  CHECK(m->entries[1].type == EntryType::kFile);
  CHECK(m->entries[1].sha256 == Sha256Hex("plain\n"));
}

TEST_CASE("ExtractPackage extracts wheels with per-file digests", "[extract]") {
  TempDir t;
  std::string whl = BuildWheel(t.path, "demo", "1.0", {{"demo/__init__.py", "X = 1\n"}});
  REQUIRE(ExtractPackage(whl, fs::path(whl).filename(), t / "w").ok());
  CHECK(ReadFile(t / "w/demo/__init__.py") == "X = 1\n");
  auto m = ParsePackageManifest(ReadFile(t / "w" + "/" + kManifestName), "m");
  REQUIRE(m.ok());
  CHECK(m->kind == "wheel");
  bool found = false;
  for (const auto& e : m->entries)
    if (e.path == "demo/__init__.py") {
      found = true;
      CHECK(e.sha256 == Sha256Hex("X = 1\n"));
      CHECK(e.size == 6);
    }
  CHECK(found);
}

namespace {

nlohmann::json File(const std::string& name, const std::string& data = "x") {
  return {{"name", name}, {"type", "file"}, {"data", data}};
}
nlohmann::json Link(const std::string& name, const std::string& target, const char* type = "symlink") {
  return {{"name", name}, {"type", type}, {"target", target}};
}
nlohmann::json Info() {
  return File("info/index.json", R"({"name":"evil","version":"1","build":"0","build_number":0,"depends":[]})");
}

}  // namespace

TEST_CASE("ExtractPackage refuses hostile archives and writes nothing outside", "[extract][safety]") {
  TempDir t;
  std::string outside = t / "outside";
  fs::create_directories(outside);
  struct Case {
    std::string label;
    std::string format;
    nlohmann::json entries;
    std::string expect;  // substring of the error
  };
  std::vector<Case> cases = {
      {"dotdot", "tar.bz2", {Info(), File("../outside/pwned")}, "'..' component"},
      {"dotdot-inner", "conda", {Info(), File("lib/../../outside/pwned")}, "'..' component"},
      {"absolute", "tar.bz2", {Info(), File(outside + "/abs")}, "absolute path"},
      {"symlink-out", "tar.bz2", {Info(), Link("lib/esc", "../../outside")}, "outside the package"},
      {"symlink-abs", "conda", {Info(), Link("lib/esc", outside)}, "absolute"},
      {"symlink-chain", "tar.bz2",
       {Info(), Link("lib/x", ".."), Link("lib/y", "x/..")}, "outside the package"},
      {"write-through-symlink", "tar.bz2",
       {Info(), Link("esc", "../outside"), File("esc/pwned")}, "not a directory"},
      {"hardlink-out", "tar.bz2", {Info(), Link("lib/h", "../../outside/f", "hardlink")}, "'..'"},
      {"hardlink-foreign", "tar.bz2", {Info(), Link("lib/h", "etc/passwd", "hardlink")},
       "not a file of this package"},
      {"device", "tar.bz2", {Info(), {{"name", "dev/null"}, {"type", "chr"}}}, "device"},
      {"fifo", "conda", {Info(), {{"name", "run/fifo"}, {"type", "fifo"}}}, "fifo"},
      {"paths-json-size", "conda",
       {Info(), File("lib/a", "abc"),
        File("info/paths.json",
             nlohmann::json({{"paths_version", 1},
                             {"paths", {{{"_path", "lib/a"}, {"sha256", Sha256Hex("abc")},
                                         {"size_in_bytes", 99}}}}})
                 .dump())},
       "size 3 disagrees with info/paths.json (99)"},
      {"paths-json-sha", "tar.bz2",
       {Info(), File("lib/a", "abc"),
        File("info/paths.json",
             nlohmann::json({{"paths_version", 1},
                             {"paths", {{{"_path", "lib/a"}, {"sha256", Sha256Hex("abd")},
                                         {"size_in_bytes", 3}}}}})
                 .dump())},
       "sha256 mismatch"},
      {"wheel-dotdot", "whl", {File("../outside/pwned")}, "'..' component"},
      {"wheel-symlink", "whl", {Link("pkg/esc", "../../outside")}, "outside the package"},
  };
  for (const auto& c : cases) {
    SECTION(c.label) {
      std::string ext = c.format == "whl" ? ".whl" : c.format == "conda" ? ".conda" : ".tar.bz2";
      std::string fn = c.format == "whl" ? "evil-1.0-py3-none-any.whl" : "evil-1-0" + ext;
      std::string archive = BuildEvil(t / fn, c.format, c.entries);
      std::string dest = t / "stage/pkg";
      fs::create_directories(t / "stage");
      Status st = ExtractPackage(archive, fn, dest);
      INFO(st.message());
      REQUIRE_FALSE(st.ok());
      CHECK(st.code() == Code::kIntegrity);
      CHECK(st.message().find(fn) != std::string::npos);
      CHECK(st.message().find(c.expect) != std::string::npos);
      CHECK(Empty(outside));
      CHECK_FALSE(fs::exists(t / "stage/pwned"));
      CHECK_FALSE(fs::exists(t / "pwned"));
      CHECK_FALSE(fs::exists(dest + "/" + kManifestName));  // never looks complete
    }
  }
}

TEST_CASE("ExtractPackage: repeated entries, the last wins; a file never replaces a directory",
          "[extract]") {
  TempDir t;
  std::string a = BuildEvil(t / "dup-1-0.tar.bz2", "tar.bz2",
                            {Info(), File("info/files", "lib/f\nlib/g\n"),
                             File("lib/f", "first"), Link("lib/g", "f"),
                             File("lib/f", "second"), File("lib/g", "regular now")});
  Status st = ExtractPackage(a, "dup-1-0.tar.bz2", t / "d");
  INFO(st.message());
  REQUIRE(st.ok());
  CHECK(ReadFile(t / "d/lib/f") == "second");
  CHECK_FALSE(fs::is_symlink(t / "d/lib/g"));
  CHECK(ReadFile(t / "d/lib/g") == "regular now");
  std::string b = BuildEvil(t / "dir-1-0.tar.bz2", "tar.bz2",
                            {Info(), File("info/files", "lib/sub/x\n"), File("lib/sub/x"),
                             File("lib/sub", "not a dir")});
  Status st2 = ExtractPackage(b, "dir-1-0.tar.bz2", t / "e");
  REQUIRE_FALSE(st2.ok());
  CHECK(st2.message().find("replaces a directory") != std::string::npos);
}

TEST_CASE("ExtractPackage keeps the package's modes under a restrictive umask", "[extract]") {
  TempDir t;
  std::string pkg = BuildCondaPackage(t.path, SampleSpec(".conda"));
  mode_t old = ::umask(077);
  Status st = ExtractPackage(pkg, fs::path(pkg).filename(), t / "x");
  ::umask(old);
  REQUIRE(st.ok());
  struct stat sb;
  REQUIRE(::stat((t / "x/bin/tool").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0755);
}

TEST_CASE("ExtractPackage rejects corrupt archives and unknown formats", "[extract]") {
  TempDir t;
  WriteFile(t / "junk-1-0.conda", "this is not a zip");
  Status st = ExtractPackage(t / "junk-1-0.conda", "junk-1-0.conda", t / "d");
  CHECK(st.code() == Code::kIntegrity);
  CHECK(st.message().find("junk-1-0.conda") != std::string::npos);
  CHECK(ExtractPackage(t / "junk-1-0.conda", "junk.zip", t / "e").code() == Code::kUser);
  // Truncated .conda.
  std::string pkg = BuildCondaPackage(t.path, SampleSpec(".conda"));
  std::string data = ReadFile(pkg);
  WriteFile(t / "trunc-1-0.conda", data.substr(0, data.size() / 2));
  CHECK_FALSE(ExtractPackage(t / "trunc-1-0.conda", "trunc-1-0.conda", t / "f").ok());
}

TEST_CASE("NormalizeRelPath", "[extract]") {
  std::string why;
  CHECK(NormalizeRelPath("./a//b/./c", &why) == "a/b/c");
  CHECK(NormalizeRelPath("a/../b", &why).empty());
  CHECK(NormalizeRelPath("/etc/passwd", &why).empty());
  CHECK(NormalizeRelPath("a\tb", &why).empty());
  CHECK(UrlsafeB64NoPad(std::string("\xfb\xff", 2)) == "-_8");
}
