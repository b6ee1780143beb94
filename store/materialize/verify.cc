#include "store/materialize/verify.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "src/digest.h"
#include "store/materialize/fsutil.h"

namespace ferry::store {

int VerifyReport::ExitCode() const {
  if (!corrupt.empty()) return 3;
  if (!clean()) return 1;
  return 0;
}

namespace {

enum class Kind { kFile, kLink, kDir, kAny };

struct Expect {
  Kind kind = Kind::kFile;
  std::string sha256_hex;  // or empty
  std::string record_b64;  // RECORD hash (urlsafe b64 nopad), or empty
  int64_t size = -1;       // or -1
};

std::vector<std::string> ParseCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(std::move(cur));
  return out;
}

// Joins `base` (prefix-relative dir) and a RECORD path that may climb with "..".
std::string Resolve(const std::string& base, const std::string& rel) {
  std::vector<std::string> comps;
  auto push = [&](const std::string& p) {
    size_t s = 0;
    while (s <= p.size()) {
      size_t e = p.find('/', s);
      if (e == std::string::npos) e = p.size();
      std::string c = p.substr(s, e - s);
      s = e + 1;
      if (c.empty() || c == ".") continue;
      if (c == "..") {
        if (comps.empty()) return false;
        comps.pop_back();
      } else {
        comps.push_back(c);
      }
    }
    return true;
  };
  if (!rel.empty() && rel.front() == '/') return "";
  if (!push(base) || !push(rel)) return "";
  std::string out;
  for (size_t i = 0; i < comps.size(); ++i) {
    if (i) out.push_back('/');
    out += comps[i];
  }
  return out;
}

void Walk(const std::string& root, const std::string& rel, std::vector<std::string>* files) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string r = rel.empty() ? name : rel + "/" + name;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = ::lstat((root + "/" + r).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      if (r == "conda-meta" || name == "__pycache__") continue;
      files->push_back(r + "/");
      Walk(root, r, files);
    } else {
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".pyc") == 0) continue;
      files->push_back(r);
    }
  }
  ::closedir(d);
}

}  // namespace

Result<VerifyReport> VerifyEnvironment(const std::string& prefix_in) {
  std::string prefix = prefix_in;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  struct stat st;
  if (::stat((prefix + "/conda-meta").c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::User("verify: " + prefix + " is not an environment (no conda-meta/ directory)");
  VerifyReport report;
  std::map<std::string, Expect> expect;

  // conda-meta records.
  std::vector<std::string> metas;
  if (DIR* d = ::opendir((prefix + "/conda-meta").c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0 && n != "ferry.json")
        metas.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(metas.begin(), metas.end());
  for (const auto& m : metas) {
    auto text = ReadWholeFile(prefix + "/conda-meta/" + m);
    auto j = text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    if (!text.ok() || j.is_discarded() || !j.is_object()) {
      report.corrupt.push_back("conda-meta/" + m + " (unreadable record)");
      continue;
    }
    bool have_paths = j.contains("paths_data") && j["paths_data"].is_object() &&
                      j["paths_data"].contains("paths") && j["paths_data"]["paths"].is_array();
    if (have_paths) {
      for (const auto& p : j["paths_data"]["paths"]) {
        if (!p.is_object() || !p.contains("_path") || !p["_path"].is_string()) continue;
        Expect e;
        std::string type = p.value("path_type", std::string("hardlink"));
        if (type == "softlink") {
          e.kind = Kind::kLink;
        } else if (type == "directory") {
          e.kind = Kind::kDir;
        } else {
          if (p.contains("sha256_in_prefix") && p["sha256_in_prefix"].is_string()) {
            e.sha256_hex = p["sha256_in_prefix"].get<std::string>();
            if (p.contains("size_in_bytes_in_prefix") && p["size_in_bytes_in_prefix"].is_number())
              e.size = p["size_in_bytes_in_prefix"].get<int64_t>();
          } else {
            if (p.contains("sha256") && p["sha256"].is_string())
              e.sha256_hex = p["sha256"].get<std::string>();
            if (p.contains("size_in_bytes") && p["size_in_bytes"].is_number())
              e.size = p["size_in_bytes"].get<int64_t>();
          }
        }
        expect[p["_path"].get<std::string>()] = e;
      }
    } else if (j.contains("files") && j["files"].is_array()) {
      for (const auto& f : j["files"])
        if (f.is_string()) expect[f.get<std::string>()] = Expect{Kind::kAny, "", "", -1};
    }
  }

  // dist-info RECORDs.
  if (DIR* lib = ::opendir((prefix + "/lib").c_str())) {
    std::vector<std::string> pys;
    while (dirent* e = ::readdir(lib)) {
      std::string n = e->d_name;
      if (n.rfind("python", 0) == 0) pys.push_back(n);
    }
    ::closedir(lib);
    for (const auto& py : pys) {
      std::string sp = "lib/" + py + "/site-packages";
      DIR* d = ::opendir((prefix + "/" + sp).c_str());
      if (!d) continue;
      std::vector<std::string> infos;
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 10 && n.compare(n.size() - 10, 10, ".dist-info") == 0) infos.push_back(n);
      }
      ::closedir(d);
      for (const auto& di : infos) {
        std::string rec_rel = sp + "/" + di + "/RECORD";
        auto text = ReadWholeFile(prefix + "/" + rec_rel);
        if (!text.ok()) continue;  // conda-installed dist-info without RECORD is fine
        size_t pos = 0;
        while (pos < text->size()) {
          size_t nl = text->find('\n', pos);
          if (nl == std::string::npos) nl = text->size();
          std::string line = text->substr(pos, nl - pos);
          pos = nl + 1;
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line.empty()) continue;
          auto f = ParseCsvLine(line);
          if (f.size() != 3) {
            report.corrupt.push_back(rec_rel + " (malformed row)");
            break;
          }
          std::string path = Resolve(sp, f[0]);
          if (path.empty()) {
            report.corrupt.push_back(rec_rel + " (path outside the prefix: " + f[0] + ")");
            continue;
          }
          Expect e = expect.count(path) ? expect[path] : Expect{};
          if (f[1].rfind("sha256=", 0) == 0) e.record_b64 = f[1].substr(7);
          if (!f[2].empty()) e.size = std::atoll(f[2].c_str());
          if (e.kind == Kind::kAny) e.kind = Kind::kFile;
          expect[path] = e;
        }
      }
    }
  }

  // Check what is recorded.
  for (const auto& [path, e] : expect) {
    report.checked++;
    std::string full = prefix + "/" + path;
    struct stat s;
    if (::lstat(full.c_str(), &s) != 0) {
      report.missing.push_back(path);
      continue;
    }
    if (e.kind == Kind::kAny) continue;
    if (e.kind == Kind::kLink) {
      if (!S_ISLNK(s.st_mode)) report.modified.push_back(path);
      continue;
    }
    if (e.kind == Kind::kDir) {
      if (!S_ISDIR(s.st_mode)) report.modified.push_back(path);
      continue;
    }
    if (!S_ISREG(s.st_mode)) {
      report.modified.push_back(path);
      continue;
    }
    if (e.size >= 0 && s.st_size != e.size) {
      report.modified.push_back(path);
      continue;
    }
    if (e.sha256_hex.empty() && e.record_b64.empty()) continue;
    Hasher h;
    auto data = ReadWholeFile(full);
    if (!data.ok()) {
      report.modified.push_back(path);
      continue;
    }
    h.Update(*data);
    std::string raw = h.RawDigest();
    bool bad = (!e.sha256_hex.empty() && ToHex(raw) != e.sha256_hex) ||
               (!e.record_b64.empty() && UrlsafeB64NoPad(raw) != e.record_b64);
    if (bad) (e.size >= 0 ? report.corrupt : report.modified).push_back(path);
  }

  // Extras.
  std::vector<std::string> present;
  Walk(prefix, "", &present);
  for (const auto& p : present) {
    if (p.back() == '/') continue;  // directories are implied by their files
    if (!expect.count(p)) report.extra.push_back(p);
  }
  for (auto* v : {&report.missing, &report.modified, &report.corrupt, &report.extra})
    std::sort(v->begin(), v->end());
  return report;
}

}  // namespace ferry::store
