// Test support for the materializer unit tests: temp dirs and real packages built at test time
// (bsdtar for well-formed conda packages, Python's zipfile for wheels, testdata/mkevil.py for
// hostile archives bsdtar refuses to write). Header-only; test code only.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/digest.h"
#include "src/lock/lock.h"

namespace ferry::store::mattest {

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-mat-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& rel) const { return path + "/" + rel; }
};

inline void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  ::chmod(path.c_str(), mode);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline int Sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline std::string ShOut(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

inline std::string Q(const std::string& s) {  // shell single-quote
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  return out + "'";
}

struct PkgFile {
  std::string path;
  std::string content;
  mode_t mode = 0644;
  std::string placeholder;  // non-empty: listed with prefix_placeholder
  bool binary = false;
  std::string symlink;      // non-empty: a symlink to this target
};

struct CondaSpec {
  std::string name = "pkg";
  std::string version = "1.0";
  std::string build = "0";
  std::string noarch;                    // "", "python", "generic"
  std::vector<PkgFile> files;
  std::vector<std::string> entry_points;  // noarch python: info/link.json
  bool legacy = false;                    // info/files + info/has_prefix instead of paths.json
  std::string format = ".conda";          // ".conda" | ".tar.bz2"
};

// Builds a real conda package with bsdtar into out_dir; returns its path.
inline std::string BuildCondaPackage(const std::string& out_dir, const CondaSpec& s) {
  std::string fn = s.name + "-" + s.version + "-" + s.build;
  std::string root = out_dir + "/src-" + fn;
  std::filesystem::remove_all(root);
  nlohmann::json paths = nlohmann::json::array();
  std::string files_txt, has_prefix;
  for (const auto& f : s.files) {
    std::string full = root + "/" + f.path;
    std::filesystem::create_directories(std::filesystem::path(full).parent_path());
    nlohmann::json pe = {{"_path", f.path}};
    if (!f.symlink.empty()) {
      std::filesystem::create_symlink(f.symlink, full);
      pe["path_type"] = "softlink";
      pe["sha256"] = Sha256Hex("");
      pe["size_in_bytes"] = 0;
    } else {
      WriteFile(full, f.content, f.mode);
      pe["path_type"] = "hardlink";
      pe["sha256"] = Sha256Hex(f.content);
      pe["size_in_bytes"] = f.content.size();
      if (!f.placeholder.empty()) {
        pe["prefix_placeholder"] = f.placeholder;
        pe["file_mode"] = f.binary ? "binary" : "text";
        has_prefix += f.placeholder + " " + (f.binary ? "binary" : "text") + " " + f.path + "\n";
      }
    }
    paths.push_back(pe);
    files_txt += f.path + "\n";
  }
  nlohmann::json index = {{"name", s.name},       {"version", s.version}, {"build", s.build},
                          {"build_number", 0},    {"depends", nlohmann::json::array()},
                          {"subdir", s.noarch.empty() ? "linux-64" : "noarch"}};
  if (!s.noarch.empty()) index["noarch"] = s.noarch;
  WriteFile(root + "/info/index.json", index.dump());
  if (s.legacy) {
    WriteFile(root + "/info/files", files_txt);
    if (!has_prefix.empty()) WriteFile(root + "/info/has_prefix", has_prefix);
  } else {
    WriteFile(root + "/info/paths.json",
              nlohmann::json({{"paths_version", 1}, {"paths", paths}}).dump());
  }
  if (!s.entry_points.empty())
    WriteFile(root + "/info/link.json",
              nlohmann::json({{"noarch", {{"type", "python"}, {"entry_points", s.entry_points}}},
                              {"package_metadata_version", 1}})
                  .dump());
  std::string out = out_dir + "/" + fn + s.format;
  std::string payload;
  for (auto& e : std::filesystem::directory_iterator(root)) {
    std::string n = e.path().filename().string();
    if (n != "info") payload += " " + Q(n);
  }
  int rc;
  if (s.format == ".tar.bz2") {
    rc = Sh("cd " + Q(root) + " && bsdtar --uid 0 --gid 0 -cjf " + Q(out) + " info" + payload);
  } else {
    std::string m = out_dir + "/m-" + fn;
    std::filesystem::create_directories(m);
    rc = Sh("cd " + Q(root) + " && bsdtar --zstd -cf " + Q(m + "/pkg-" + fn + ".tar.zst") +
            (payload.empty() ? " --files-from /dev/null" : payload) + " && bsdtar --zstd -cf " +
            Q(m + "/info-" + fn + ".tar.zst") + " info && printf '{\"conda_pkg_format_version\": 2}' > " +
            Q(m + "/metadata.json") + " && cd " + Q(m) +
            " && bsdtar --format zip --options zip:compression=store -cf " + Q(out) +
            " metadata.json pkg-" + fn + ".tar.zst info-" + fn + ".tar.zst");
  }
  if (rc != 0) throw std::runtime_error("building " + out + " failed");
  return out;
}

// Builds a wheel with Python's zipfile (files: archive path -> content; RECORD is generated).
inline std::string BuildWheel(const std::string& out_dir, const std::string& dist,
                              const std::string& version,
                              const std::map<std::string, std::string>& files) {
  std::string fn = dist + "-" + version + "-py3-none-any.whl";
  std::string out = out_dir + "/" + fn;
  nlohmann::json j = files;
  std::string spec = out_dir + "/wheel-" + dist + ".json";
  WriteFile(spec, nlohmann::json({{"out", out}, {"dist", dist + "-" + version}, {"files", j}}).dump());
  std::string py =
      "import json,sys,zipfile,hashlib,base64\n"
      "s=json.load(open(sys.argv[1]))\n"
      "di=s['dist']+'.dist-info'\n"
      "fs=dict(s['files'])\n"
      "fs.setdefault(di+'/WHEEL','Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n"
      "fs.setdefault(di+'/METADATA','Metadata-Version: 2.1\\nName: '+s['dist'].split('-')[0]+'\\nVersion: '+s['dist'].split('-')[1]+'\\n')\n"
      "rec=[]\n"
      "with zipfile.ZipFile(s['out'],'w',zipfile.ZIP_DEFLATED) as z:\n"
      "  for p,c in sorted(fs.items()):\n"
      "    b=c.encode(); zi=zipfile.ZipInfo(p); zi.external_attr=(0o100755 if '/scripts/' in p else 0o100644)<<16\n"
      "    z.writestr(zi,b)\n"
      "    rec.append('%s,sha256=%s,%d'%(p,base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode(),len(b)))\n"
      "  rec.append(di+'/RECORD,,')\n"
      "  z.writestr(di+'/RECORD','\\n'.join(rec)+'\\n')\n";
  WriteFile(out_dir + "/mkwheel.py", py);
  if (Sh("/usr/bin/python3 " + Q(out_dir + "/mkwheel.py") + " " + Q(spec)) != 0)
    throw std::runtime_error("building wheel " + out + " failed");
  return out;
}

// Writes a hostile archive with testdata/mkevil.py.
inline std::string BuildEvil(const std::string& out, const std::string& format,
                             const nlohmann::json& entries) {
  std::string spec = out + ".spec.json";
  WriteFile(spec, nlohmann::json({{"out", out}, {"format", format}, {"entries", entries}}).dump());
  if (Sh(std::string("/usr/bin/python3 ") + FERRY_SOURCE_DIR +
         "/store/materialize/testdata/mkevil.py " + Q(spec)) != 0)
    throw std::runtime_error("mkevil failed for " + out);
  return out;
}

inline LockedPackage Locked(const std::string& name, const std::string& version,
                            const std::string& build, const std::string& filename,
                            PackageKind kind = PackageKind::kConda) {
  LockedPackage p;
  p.kind = kind;
  p.name = name;
  p.version = version;
  p.build = build;
  p.filename = filename;
  p.subdir = "linux-64";
  p.channel = "https://example.invalid/channel";
  p.url = p.channel + "/linux-64/" + filename;
  p.sha256 = Sha256Hex(filename);  // tests key packages by filename
  return p;
}

}  // namespace ferry::store::mattest
