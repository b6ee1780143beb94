#include "store/materialize/link.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "store/materialize/extract.h"
#include "store/materialize/materialize_test_util.h"
#include "store/materialize/verify.h"

using namespace ferry;
using namespace ferry::store;
using namespace ferry::store::mattest;
namespace fs = std::filesystem;

namespace {

const std::string kClassic = "/opt/anaconda1anaconda2anaconda3";
std::string LongPlaceholder() { return "/opt/" + std::string(250, 'p'); }

// Builds, extracts and returns a LinkPackage for a conda spec.
LinkPackage Prepare(const TempDir& t, const CondaSpec& s) {
  std::string pkg = BuildCondaPackage(t / "pkgs", s);
  std::string fn = fs::path(pkg).filename();
  std::string dest = t / ("store/" + fn);
  Status st = ExtractPackage(pkg, fn, dest);
  if (!st.ok()) throw std::runtime_error(st.message());
  LinkPackage lp;
  lp.package = Locked(s.name, s.version, s.build, fn);
  lp.package.noarch = s.noarch;
  lp.extracted_dir = dest;
  return lp;
}

LinkPackage PrepareWheel(const TempDir& t, const std::string& dist, const std::string& version,
                         const std::map<std::string, std::string>& files) {
  std::string whl = BuildWheel(t / "pkgs", dist, version, files);
  std::string fn = fs::path(whl).filename();
  std::string dest = t / ("store/" + fn);
  Status st = ExtractPackage(whl, fn, dest);
  if (!st.ok()) throw std::runtime_error(st.message());
  LinkPackage lp;
  lp.package = Locked(dist, version, "", fn, PackageKind::kPypi);
  lp.extracted_dir = dest;
  return lp;
}

// A conda "python" package whose bin/python runs Debian's /usr/bin/python3 with the prefix's
// site-packages on sys.path (enough to run entry points and check imports).
LinkPackage FakePython(const TempDir& t) {
  CondaSpec py;
  py.name = "python";
  py.version = "3.11.2";
  py.files = {{"bin/python",
               "#!/bin/sh\nPYTHONPATH=\"" + kClassic +
                   "/lib/python3.11/site-packages\" exec /usr/bin/python3 \"$@\"\n",
               0755, kClassic, false, ""}};
  return Prepare(t, py);
}

ino_t Inode(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

TEST_CASE("relocation primitives", "[link]") {
  CHECK(ReplaceText("a PH b PH", "PH", "/x") == "a /x b /x");
  std::string bin = std::string("\0", 1) + kClassic + "/lib:" + kClassic + "/x" + std::string("\0Z", 2);
  auto r = ReplaceBinary(bin, kClassic, "/p", "f");
  REQUIRE(r.ok());
  CHECK(r->size() == bin.size());
  std::string expect = std::string("\0", 1) + "/p/lib:/p/x";
  expect.append(bin.size() - expect.size() - 1, '\0');
  expect.back() = '\0';
  CHECK(r->substr(0, expect.size()) == expect);
  CHECK(r->back() == 'Z');
  CHECK(r->substr(bin.size() - 2) == std::string("\0Z", 2));
  // Prefix longer than the placeholder: error naming the file.
  auto too_long = ReplaceBinary(bin, kClassic, std::string(40, 'q'), "lib/libx.so (in x.conda)");
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.status().message().find("lib/libx.so (in x.conda)") != std::string::npos);
  CHECK(too_long.status().message().find("longer than the binary placeholder") != std::string::npos);
  // Shebangs.
  std::string long_py = "/" + std::string(150, 'd') + "/bin/python3.11";
  CHECK(FixLongShebang("#!" + long_py + " -E\nprint(1)\n") == "#!/usr/bin/env python3.11 -E\nprint(1)\n");
  CHECK(FixLongShebang("#!/short/python\nx\n") == "#!/short/python\nx\n");
  CHECK(PythonShebang("/p/bin/python") == "#!/p/bin/python");
  CHECK(PythonShebang(long_py).rfind("#!/bin/sh\n'''exec' \"" + long_py, 0) == 0);
}

TEST_CASE("LinkEnvironment relocates, hardlinks and records a conda environment", "[link]") {
  TempDir t;
  CondaSpec a;
  a.name = "alpha";
  std::string bin_content = std::string("\x7f" "ELF\0", 5) + LongPlaceholder() + "/lib" +
                            std::string("\0after\0", 7);
  a.files = {{"bin/alpha", "#!/bin/sh\necho " + LongPlaceholder() + "\n", 0755, LongPlaceholder(),
              false, ""},
             {"lib/libalpha.so.1", bin_content, 0755, LongPlaceholder(), true, ""},
             {"lib/libalpha.so", "", 0644, "", false, "libalpha.so.1"},
             {"share/alpha/data.txt", "data\n", 0644, "", false, ""}};
  CondaSpec b;
  b.name = "beta";
  b.legacy = true;
  b.format = ".tar.bz2";
  b.files = {{"etc/beta.conf", "root=" + kClassic + "\n", 0644, kClassic, false, ""}};
  std::vector<LinkPackage> pkgs = {Prepare(t, a), Prepare(t, b)};
  std::string prefix = t / "envs/e1";
  LinkOptions o;
  o.env_id = std::string(64, 'a');
  auto stats = LinkEnvironment(pkgs, prefix, o);
  INFO(stats.status().message());
  REQUIRE(stats.ok());
  CHECK_FALSE(stats->already_existed);
  CHECK(stats->patched == 3);
  CHECK(ReadFile(prefix + "/bin/alpha") == "#!/bin/sh\necho " + prefix + "\n");
  CHECK(Sh(Q(prefix + "/bin/alpha") + " > " + Q(t / "out.txt")) == 0);
  CHECK(ReadFile(t / "out.txt") == prefix + "\n");
  std::string bin = ReadFile(prefix + "/lib/libalpha.so.1");
  CHECK(bin.size() == bin_content.size());
  CHECK(bin.find(prefix + "/lib" + std::string("\0\0", 2)) != std::string::npos);
  CHECK(bin.find(LongPlaceholder()) == std::string::npos);
  CHECK(bin.substr(bin.size() - 7) == std::string("\0after\0", 7));
  CHECK(ReadFile(prefix + "/etc/beta.conf") == "root=" + prefix + "\n");
  CHECK(fs::read_symlink(prefix + "/lib/libalpha.so") == "libalpha.so.1");
  // Unpatched files are hardlinks into the store.
  CHECK(Inode(prefix + "/share/alpha/data.txt") == Inode(pkgs[0].extracted_dir + "/share/alpha/data.txt"));
  struct stat st;
  REQUIRE(::stat((prefix + "/lib/libalpha.so.1").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);
  // conda-meta.
  auto rec = nlohmann::json::parse(ReadFile(prefix + "/conda-meta/alpha-1.0-0.json"));
  CHECK(rec["name"] == "alpha");
  CHECK(rec["files"].size() == 4);
  CHECK(rec["paths_data"]["paths"].size() == 4);
  CHECK(rec["link"]["type"] == 1);
  CHECK(fs::exists(prefix + "/conda-meta/beta-1.0-0.json"));
  std::string history = ReadFile(prefix + "/conda-meta/history");
  CHECK(history.find("+https://example.invalid/channel::alpha-1.0-0") != std::string::npos);
  // Nothing left beside the prefix; verify is clean.
  CHECK(std::distance(fs::directory_iterator(t / "envs"), fs::directory_iterator()) == 1);
  auto v = VerifyEnvironment(prefix);
  REQUIRE(v.ok());
  INFO((v->extra.empty() ? "" : v->extra[0]) + (v->modified.empty() ? "" : v->modified[0]));
  CHECK(v->clean());
  // Idempotent: same env-id is "already there"; another env-id is refused.
  auto again = LinkEnvironment(pkgs, prefix, o);
  REQUIRE(again.ok());
  CHECK(again->already_existed);
  o.env_id = std::string(64, 'b');
  CHECK(LinkEnvironment(pkgs, prefix, o).status().code() == Code::kUser);
}

TEST_CASE("LinkEnvironment: a binary placeholder shorter than the prefix fails atomically", "[link]") {
  TempDir t;
  CondaSpec a;
  a.name = "tiny";
  a.files = {{"lib/libtiny.so", std::string("X\0", 2) + kClassic + std::string("\0", 1), 0644,
              kClassic, true, ""},
             {"share/ok.txt", "ok", 0644, "", false, ""}};
  std::vector<LinkPackage> pkgs = {Prepare(t, a)};
  std::string prefix = t / ("envs/" + std::string(40, 'l'));
  auto r = LinkEnvironment(pkgs, prefix, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("lib/libtiny.so") != std::string::npos);
  CHECK(r.status().message().find("longer than the binary placeholder") != std::string::npos);
  CHECK_FALSE(fs::exists(prefix));
  CHECK(fs::is_empty(t / "envs"));  // staging removed
}

TEST_CASE("LinkEnvironment rewrites long shebangs to /usr/bin/env", "[link]") {
  TempDir t;
  CondaSpec a;
  a.name = "longbang";
  a.files = {{"bin/tool", "#!" + kClassic + "/bin/sh -e\necho ok\n", 0755, kClassic, false, ""},
             {"bin/sh", "#!/bin/sh\nexec /bin/sh \"$@\"\n", 0755, "", false, ""}};
  std::vector<LinkPackage> pkgs = {Prepare(t, a)};
  std::string prefix = t / ("envs/" + std::string(120, 'd'));
  REQUIRE(LinkEnvironment(pkgs, prefix, {}).ok());
  CHECK(ReadFile(prefix + "/bin/tool") == "#!/usr/bin/env sh -e\necho ok\n");
}

TEST_CASE("LinkEnvironment installs noarch: python packages with entry points", "[link]") {
  TempDir t;
  CondaSpec n;
  n.name = "greet";
  n.noarch = "python";
  n.files = {{"site-packages/greet/__init__.py", "def main():\n    print('hello from greet')\n",
              0644, "", false, ""},
             {"python-scripts/greet-script", "#!/bin/sh\necho script\n", 0755, "", false, ""}};
  n.entry_points = {"greet = greet:main"};
  std::vector<LinkPackage> pkgs = {FakePython(t), Prepare(t, n)};
  std::string prefix = t / "env";
  auto r = LinkEnvironment(pkgs, prefix, {});
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(fs::exists(prefix + "/lib/python3.11/site-packages/greet/__init__.py"));
  CHECK(fs::exists(prefix + "/bin/greet-script"));
  std::string ep = ReadFile(prefix + "/bin/greet");
  CHECK(ep.rfind("#!" + prefix + "/bin/python\n", 0) == 0);
  CHECK(Sh(Q(prefix + "/bin/greet") + " > " + Q(t / "o.txt")) == 0);
  CHECK(ReadFile(t / "o.txt") == "hello from greet\n");
  auto rec = nlohmann::json::parse(ReadFile(prefix + "/conda-meta/greet-1.0-0.json"));
  bool has_ep = false;
  for (const auto& p : rec["paths_data"]["paths"])
    if (p["_path"] == "bin/greet") has_ep = p["path_type"] == "unix_python_entry_point";
  CHECK(has_ep);
  auto v = VerifyEnvironment(prefix);
  REQUIRE(v.ok());
  CHECK(v->clean());
}

TEST_CASE("LinkEnvironment installs wheels per the binary distribution format", "[link]") {
  TempDir t;
  std::map<std::string, std::string> files = {
      {"wdemo/__init__.py", "def run():\n    print('wdemo ran')\n"},
      {"wdemo-2.0.data/scripts/wdemo-sh", "#!python\nimport wdemo; wdemo.run()\n"},
      {"wdemo-2.0.data/data/share/wdemo/notes.txt", "notes\n"},
      {"wdemo-2.0.data/headers/wdemo.h", "int x;\n"},
      {"wdemo-2.0.data/purelib/wdemo_extra.py", "E = 1\n"},
      {"wdemo-2.0.dist-info/entry_points.txt",
       "[console_scripts]\nwdemo = wdemo:run\n[gui_scripts]\nwdemo-gui = wdemo:run\n"},
  };
  std::vector<LinkPackage> pkgs = {FakePython(t), PrepareWheel(t, "wdemo", "2.0", files)};
  std::string prefix = t / "env";
  auto r = LinkEnvironment(pkgs, prefix, {});
  INFO(r.status().message());
  REQUIRE(r.ok());
  std::string sp = prefix + "/lib/python3.11/site-packages";
  CHECK(fs::exists(sp + "/wdemo/__init__.py"));
  CHECK(fs::exists(sp + "/wdemo_extra.py"));
  CHECK(fs::exists(prefix + "/share/wdemo/notes.txt"));
  CHECK(fs::exists(prefix + "/include/python3.11/wdemo/wdemo.h"));
  CHECK_FALSE(fs::exists(sp + "/wdemo-2.0.data"));
  CHECK(ReadFile(prefix + "/bin/wdemo-sh").rfind("#!" + prefix + "/bin/python\n", 0) == 0);
  CHECK(ReadFile(sp + "/wdemo-2.0.dist-info/INSTALLER") == "ferry\n");
  for (std::string s : {"wdemo-sh", "wdemo", "wdemo-gui"}) {
    CHECK(Sh(Q(prefix + "/bin/" + s) + " > " + Q(t / "o.txt")) == 0);
    CHECK(ReadFile(t / "o.txt") == "wdemo ran\n");
  }
  // RECORD checked by Python itself: every row hashed and sized correctly, RECORD's own row empty.
  std::string check =
      "import base64,csv,hashlib,os,sys\n"
      "sp=sys.argv[1]; di=os.path.join(sp,'wdemo-2.0.dist-info')\n"
      "rows=list(csv.reader(open(os.path.join(di,'RECORD'))))\n"
      "seen=set()\n"
      "for p,h,s in rows:\n"
      "  f=os.path.normpath(os.path.join(sp,p)); seen.add(f)\n"
      "  if p.endswith('RECORD'): assert h=='' and s=='', p; continue\n"
      "  algo,val=h.split('=',1); d=open(f,'rb').read()\n"
      "  assert algo=='sha256' and val==base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode(), p\n"
      "  assert int(s)==len(d), p\n"
      "for root,_,fs in os.walk(os.path.dirname(os.path.dirname(os.path.dirname(sp)))):\n"
      "  for n in fs:\n"
      "    f=os.path.join(root,n)\n"
      "    if '/conda-meta/' in f or f.endswith('/bin/python'): continue\n"
      "    assert f in seen, 'not in RECORD: '+f\n"
      "print('RECORD-OK', len(rows))\n";
  WriteFile(t / "check.py", check);
  std::string out = ShOut("/usr/bin/python3 " + Q(t / "check.py") + " " + Q(sp) + " 2>&1");
  INFO(out);
  CHECK(out.rfind("RECORD-OK", 0) == 0);
  auto v = VerifyEnvironment(prefix);
  REQUIRE(v.ok());
  CHECK(v->clean());
  // importlib.metadata sees the distribution and its installer.
  std::string meta = ShOut(Q(prefix + "/bin/python") +
                           " -c \"import importlib.metadata as m; d=m.distribution('wdemo'); "
                           "print(d.version, d.read_text('INSTALLER').strip())\"");
  CHECK(meta == "2.0 ferry\n");
}

TEST_CASE("LinkEnvironment: later packages win clobbered paths; copies across devices", "[link]") {
  TempDir t;
  CondaSpec a, b;
  a.name = "first";
  a.files = {{"share/same.txt", "first\n", 0644, "", false, ""}};
  b.name = "second";
  b.files = {{"share/same.txt", "second\n", 0644, "", false, ""}};
  std::vector<LinkPackage> pkgs = {Prepare(t, a), Prepare(t, b)};
  auto r = LinkEnvironment(pkgs, t / "env", {});
  REQUIRE(r.ok());
  CHECK(r->clobbered == 1);
  CHECK(ReadFile(t / "env/share/same.txt") == "second\n");
  // Copy mode never shares inodes with the store.
  LinkOptions copy;
  copy.mode = LinkMode::kCopy;
  REQUIRE(LinkEnvironment(pkgs, t / "env2", copy).ok());
  CHECK(Inode(t / "env2/share/same.txt") != Inode(pkgs[1].extracted_dir + "/share/same.txt"));
  CHECK(ReadFile(t / "env2/share/same.txt") == "second\n");
  // Across devices (/dev/shm is tmpfs): hardlink fails with EXDEV and falls back to copying.
  struct stat a_st, b_st;
  if (::stat("/dev/shm", &a_st) == 0 && ::stat(t.path.c_str(), &b_st) == 0 &&
      a_st.st_dev != b_st.st_dev && ::access("/dev/shm", W_OK) == 0) {
    std::string shm = "/dev/shm/ferry-mat-test-" + std::to_string(::getpid());
    fs::remove_all(shm);
    auto r3 = LinkEnvironment(pkgs, shm + "/env", {});
    REQUIRE(r3.ok());
    CHECK(r3->copied == 1);
    CHECK(ReadFile(shm + "/env/share/same.txt") == "second\n");
    fs::remove_all(shm);
  }
}
