// Link stage (see link.h). One planning pass (single-threaded, string work only), one directory
// pass (sorted, parents first), one parallel pass over files (link/copy/patch/write), then the
// conda-meta records and an atomic rename of the staging directory.
#include "store/materialize/link.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "src/digest.h"
#include "store/materialize/extract.h"
#include "store/materialize/fsutil.h"
#include "store/materialize/manifest.h"

namespace ferry::store {

namespace {

constexpr size_t kShebangLimit = 127;

enum class OpKind { kLink, kCopy, kPatch, kSymlink, kWrite };

struct Op {
  OpKind kind = OpKind::kLink;
  size_t pkg = 0;
  std::string src;      // absolute (link, copy, patch)
  std::string dst;      // relative to the prefix
  const ManifestEntry* entry = nullptr;
  std::string content;  // kWrite: file bytes; kSymlink: target
  mode_t mode = 0644;   // kWrite
  std::string path_type = "hardlink";  // conda-meta paths_data path_type
  bool skip = false;    // clobbered by a later package
  // results
  std::string out_sha256;  // patched/written files
  uint64_t out_size = 0;
  bool copied = false;
};

struct PkgState {
  const LinkPackage* lp = nullptr;
  PackageManifest manifest;
  bool wheel = false;
  std::vector<size_t> ops;
  std::vector<std::string> dirs;  // directory entries (paths_data "directory")
};

std::string HexToRaw(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  auto v = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>((v(hex[i]) << 4) | v(hex[i + 1])));
  return out;
}

std::string Sha256Raw(std::string_view data) {
  Hasher h;
  h.Update(data);
  return h.RawDigest();
}

std::string RecordHash(const std::string& hex) { return "sha256=" + UrlsafeB64NoPad(HexToRaw(hex)); }

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += "\"\"";
    else out.push_back(c);
  }
  return out + "\"";
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string l = text.substr(pos, nl - pos);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(std::move(l));
    pos = nl + 1;
  }
  return out;
}

// "name = module:func [extras]" -> (name, module, func). False if malformed.
bool ParseEntryPoint(const std::string& spec, std::string* name, std::string* module,
                     std::string* func) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos) return false;
  *name = Trim(spec.substr(0, eq));
  std::string value = Trim(spec.substr(eq + 1));
  if (size_t br = value.find('['); br != std::string::npos) value = Trim(value.substr(0, br));
  size_t colon = value.find(':');
  if (colon == std::string::npos) return false;
  *module = Trim(value.substr(0, colon));
  *func = Trim(value.substr(colon + 1));
  auto ok_ident = [](const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
    return true;
  };
  if (name->empty() || name->find('/') != std::string::npos || *name == "." || *name == "..")
    return false;
  for (char c : *name)
    if (c == '\0' || c == '\t' || c == '\n' || c == '\r') return false;
  return ok_ident(*module) && ok_ident(*func);
}

std::string EntryPointScript(const std::string& python, const std::string& module,
                             const std::string& func) {
  std::string head = func.substr(0, func.find('.'));
  return PythonShebang(python) + "\n" +
         "# -*- coding: utf-8 -*-\n"
         "import re\n"
         "import sys\n"
         "from " + module + " import " + head + "\n"
         "if __name__ == \"__main__\":\n"
         "    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n"
         "    sys.exit(" + func + "())\n";
}

Status Errno(const std::string& what, const std::string& path) { return ErrnoStatus(what, path); }

// Lexically resolves `target` relative to the directory of `link_rel`; false if it leaves the
// prefix (or is absolute).
bool SymlinkInside(const std::string& link_rel, const std::string& target) {
  if (target.empty() || target.front() == '/') return false;
  int depth = static_cast<int>(std::count(link_rel.begin(), link_rel.end(), '/'));
  size_t pos = 0;
  while (pos <= target.size()) {
    size_t e = target.find('/', pos);
    if (e == std::string::npos) e = target.size();
    std::string_view c(target.data() + pos, e - pos);
    pos = e + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (--depth < 0) return false;
    } else {
      ++depth;
    }
  }
  return true;
}

class Linker {
 public:
  Linker(const std::vector<LinkPackage>& packages, std::string prefix, const LinkOptions& opts)
      : packages_(packages), prefix_(std::move(prefix)), opts_(opts) {}

  Result<LinkStats> Run();

 private:
  Status LoadManifests();
  Status FindPython();
  Status PlanConda(size_t i);
  Status PlanWheel(size_t i);
  void AddOp(Op op) {
    states_[op.pkg].ops.push_back(ops_.size());
    ops_.push_back(std::move(op));
  }
  Status Execute(Op& op);
  Status CopyFile(const std::string& src, const std::string& dst, Op& op);
  Status WriteCondaMeta();
  std::string Dst(const std::string& rel) const { return staging_ + "/" + rel; }

  const std::vector<LinkPackage>& packages_;
  std::string prefix_;
  std::string staging_;
  LinkOptions opts_;
  std::vector<PkgState> states_;
  std::vector<Op> ops_;
  std::string py_ver_;  // "3.11"
  std::string site_packages_;  // "lib/python3.11/site-packages"
  std::atomic<bool> hardlink_ok_{true};
  std::atomic<bool> reflink_ok_{true};
  std::atomic<uint64_t> hardlinked_{0}, copied_{0}, patched_{0};
  LinkStats stats_;
};

Status Linker::LoadManifests() {
  states_.resize(packages_.size());
  for (size_t i = 0; i < packages_.size(); ++i) {
    states_[i].lp = &packages_[i];
    std::string path = packages_[i].extracted_dir + "/" + kManifestName;
    auto text = ReadWholeFile(path);
    if (!text.ok())
      return Status::Integrity("linking " + packages_[i].package.filename +
                               ": the extracted package has no manifest (" + path + ")");
    FERRY_ASSIGN_OR_RETURN(states_[i].manifest, ParsePackageManifest(*text, path));
    states_[i].wheel = states_[i].manifest.kind == "wheel";
  }
  return Status::Ok();
}

Status Linker::FindPython() {
  bool needs = false;
  for (const auto& s : states_) needs |= s.wheel || s.manifest.noarch == "python";
  for (const auto& lp : packages_) {
    if (lp.package.kind == PackageKind::kConda && lp.package.name == "python") {
      const std::string& v = lp.package.version;
      size_t d1 = v.find('.');
      size_t d2 = d1 == std::string::npos ? std::string::npos : v.find('.', d1 + 1);
      py_ver_ = d1 == std::string::npos ? v : v.substr(0, d2);
    }
  }
  if (py_ver_.empty() && needs) {
    for (const auto& s : states_)
      if (s.wheel || s.manifest.noarch == "python")
        return Status::User("linking " + s.lp->package.filename +
                            ": it needs a python interpreter but the environment has no conda "
                            "'python' package");
  }
  site_packages_ = "lib/python" + py_ver_ + "/site-packages";
  return Status::Ok();
}

Status Linker::PlanConda(size_t i) {
  PkgState& s = states_[i];
  const std::string& root = s.lp->extracted_dir;
  bool noarch_py = s.manifest.noarch == "python";
  auto map_path = [&](const std::string& p) -> std::string {
    if (!noarch_py) return p;
    if (p.rfind("site-packages/", 0) == 0) return site_packages_ + p.substr(13);
    if (p.rfind("python-scripts/", 0) == 0) return "bin" + p.substr(14);
    return p;
  };
  for (const auto& e : s.manifest.entries) {
    Op op;
    op.pkg = i;
    op.entry = &e;
    op.dst = map_path(e.path);
    op.src = root + "/" + e.path;
    switch (e.type) {
      case EntryType::kDir:
        s.dirs.push_back(op.dst);
        continue;
      case EntryType::kSymlink:
        if (!SymlinkInside(op.dst, e.target))
          return Status::Integrity("linking " + s.lp->package.filename + ": symlink '" + op.dst +
                                   "' -> '" + e.target + "' points outside the prefix");
        op.kind = OpKind::kSymlink;
        op.content = e.target;
        op.path_type = "softlink";
        break;
      case EntryType::kFile:
        op.kind = e.no_link ? OpKind::kCopy : OpKind::kLink;
        break;
      case EntryType::kPatched:
        op.kind = OpKind::kPatch;
        break;
    }
    AddOp(std::move(op));
  }
  if (noarch_py) {
    auto link_json = ReadWholeFile(root + "/info/link.json");
    if (link_json.ok()) {
      auto j = nlohmann::json::parse(*link_json, nullptr, false);
      const nlohmann::json* eps = nullptr;
      if (j.is_object() && j.contains("noarch") && j["noarch"].is_object() &&
          j["noarch"].contains("entry_points"))
        eps = &j["noarch"]["entry_points"];
      else if (j.is_object() && j.contains("entry_points"))
        eps = &j["entry_points"];
      if (eps && eps->is_array()) {
        for (const auto& ep : *eps) {
          std::string name, module, func;
          if (!ep.is_string() || !ParseEntryPoint(ep.get<std::string>(), &name, &module, &func))
            return Status::Integrity("linking " + s.lp->package.filename +
                                     ": malformed entry point in info/link.json: " + ep.dump());
          Op op;
          op.pkg = i;
          op.kind = OpKind::kWrite;
          op.dst = "bin/" + name;
          op.content = EntryPointScript(prefix_ + "/bin/python", module, func);
          op.mode = 0755;
          op.path_type = "unix_python_entry_point";
          AddOp(std::move(op));
        }
      }
    }
  }
  return Status::Ok();
}

Status Linker::PlanWheel(size_t i) {
  PkgState& s = states_[i];
  const std::string& root = s.lp->extracted_dir;
  const std::string& fn = s.lp->package.filename;
  // Locate the .dist-info directory (top level, holding WHEEL).
  std::string dist_info;
  for (const auto& e : s.manifest.entries) {
    size_t slash = e.path.find('/');
    if (slash != std::string::npos && e.path.compare(slash, std::string::npos, "/WHEEL") == 0 &&
        e.path.size() > 16 && e.path.compare(slash - 10, 10, ".dist-info") == 0) {
      if (!dist_info.empty() && dist_info != e.path.substr(0, slash))
        return Status::Integrity("installing " + fn + ": several .dist-info directories");
      dist_info = e.path.substr(0, slash);
    }
  }
  if (dist_info.empty()) return Status::Integrity("installing " + fn + ": no .dist-info/WHEEL");
  FERRY_ASSIGN_OR_RETURN(std::string wheel_meta, ReadWholeFile(root + "/" + dist_info + "/WHEEL"));
  for (const auto& l : Lines(wheel_meta)) {
    if (l.rfind("Wheel-Version:", 0) == 0) {
      std::string v = Trim(l.substr(14));
      if (std::atoi(v.c_str()) > 1)
        return Status::User("installing " + fn + ": unsupported Wheel-Version " + v);
    }
  }
  std::string data_dir = dist_info.substr(0, dist_info.size() - 10) + ".data";
  std::string dist_name = dist_info.substr(0, dist_info.find('-'));
  const std::string python = prefix_ + "/bin/python";
  std::vector<std::pair<std::string, std::string>> record;  // (dst rel to prefix, hash) + size
  std::vector<uint64_t> record_sizes;

  for (const auto& e : s.manifest.entries) {
    if (e.type == EntryType::kSymlink)
      return Status::Integrity("installing " + fn + ": wheels cannot contain symlinks ('" +
                               e.path + "')");
    if (e.type != EntryType::kFile) continue;
    if (e.path == dist_info + "/RECORD" || e.path == dist_info + "/INSTALLER" ||
        e.path == dist_info + "/RECORD.jws" || e.path == dist_info + "/RECORD.p7s")
      continue;
    Op op;
    op.pkg = i;
    op.entry = &e;
    op.src = root + "/" + e.path;
    op.kind = OpKind::kLink;
    if (e.path.rfind(data_dir + "/", 0) == 0) {
      std::string rest = e.path.substr(data_dir.size() + 1);
      size_t slash = rest.find('/');
      if (slash == std::string::npos)
        return Status::Integrity("installing " + fn + ": stray file '" + e.path + "'");
      std::string key = rest.substr(0, slash), sub = rest.substr(slash + 1);
      if (key == "purelib" || key == "platlib") {
        op.dst = site_packages_ + "/" + sub;
      } else if (key == "scripts") {
        op.dst = "bin/" + sub;
        FERRY_ASSIGN_OR_RETURN(std::string body, ReadWholeFile(op.src));
        if (body.rfind("#!python", 0) == 0) {
          size_t nl = body.find('\n');
          std::string first = body.substr(0, nl);
          std::string args = first.substr(first.rfind("#!pythonw", 0) == 0 ? 9 : 8);
          while (!args.empty() && args.back() == '\r') args.pop_back();
          std::string shebang = PythonShebang(python);
          if (shebang.find('\n') == std::string::npos) shebang += args;
          body = shebang + (nl == std::string::npos ? "\n" : body.substr(nl));
        }
        op.kind = OpKind::kWrite;
        op.content = std::move(body);
        op.mode = 0755;
      } else if (key == "headers") {
        op.dst = "include/python" + py_ver_ + "/" + dist_name + "/" + sub;
      } else if (key == "data") {
        op.dst = sub;
      } else {
        return Status::Integrity("installing " + fn + ": unknown .data directory '" + key + "'");
      }
    } else {
      op.dst = site_packages_ + "/" + e.path;
    }
    if (op.kind == OpKind::kWrite) {
      record.emplace_back(op.dst, "sha256=" + UrlsafeB64NoPad(Sha256Raw(op.content)));
      record_sizes.push_back(op.content.size());
    } else {
      record.emplace_back(op.dst, RecordHash(e.sha256));
      record_sizes.push_back(e.size);
    }
    AddOp(std::move(op));
  }
  // console_scripts / gui_scripts launchers.
  if (auto ep_text = ReadWholeFile(root + "/" + dist_info + "/entry_points.txt"); ep_text.ok()) {
    std::string section;
    for (const auto& raw : Lines(*ep_text)) {
      std::string l = Trim(raw);
      if (l.empty() || l[0] == '#' || l[0] == ';') continue;
      if (l.front() == '[') {
        section = Trim(l.substr(1, l.find(']') - 1));
        continue;
      }
      if (section != "console_scripts" && section != "gui_scripts") continue;
      std::string name, module, func;
      if (!ParseEntryPoint(l, &name, &module, &func))
        return Status::Integrity("installing " + fn + ": malformed entry point '" + l + "'");
      Op op;
      op.pkg = i;
      op.kind = OpKind::kWrite;
      op.dst = "bin/" + name;
      op.content = EntryPointScript(python, module, func);
      op.mode = 0755;
      record.emplace_back(op.dst, "sha256=" + UrlsafeB64NoPad(Sha256Raw(op.content)));
      record_sizes.push_back(op.content.size());
      AddOp(std::move(op));
    }
  }
  // INSTALLER and RECORD (paths relative to site-packages, the directory holding .dist-info).
  const std::string di_dst = site_packages_ + "/" + dist_info;
  Op inst;
  inst.pkg = i;
  inst.kind = OpKind::kWrite;
  inst.dst = di_dst + "/INSTALLER";
  inst.content = "ferry\n";
  record.emplace_back(inst.dst, "sha256=" + UrlsafeB64NoPad(Sha256Raw(inst.content)));
  record_sizes.push_back(inst.content.size());
  AddOp(std::move(inst));
  std::string up;  // from site-packages up to the prefix
  for (char c : site_packages_)
    if (c == '/') up += "../";
  up += "../";
  std::string rec;
  for (size_t k = 0; k < record.size(); ++k) {
    const std::string& d = record[k].first;
    std::string rel = d.rfind(site_packages_ + "/", 0) == 0 ? d.substr(site_packages_.size() + 1)
                                                            : up + d;
    rec += CsvField(rel) + "," + record[k].second + "," + std::to_string(record_sizes[k]) + "\n";
  }
  rec += CsvField(dist_info + "/RECORD") + ",,\n";
  Op r;
  r.pkg = i;
  r.kind = OpKind::kWrite;
  r.dst = di_dst + "/RECORD";
  r.content = std::move(rec);
  AddOp(std::move(r));
  return Status::Ok();
}

Status Linker::CopyFile(const std::string& src, const std::string& dst, Op& op) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Errno("reading", src);
  struct stat st;
  if (::fstat(in, &st) != 0) {
    ::close(in);
    return Errno("stat", src);
  }
  mode_t mode = st.st_mode & 0777;
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode | 0200);
  if (out < 0) {
    Status s = Errno("creating", dst);
    ::close(in);
    return s;
  }
  Status s;
  bool done = false;
  if (reflink_ok_.load(std::memory_order_relaxed)) {
    if (::ioctl(out, FICLONE, in) == 0) {
      done = true;
    } else if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL || errno == EXDEV ||
               errno == ENOSYS) {
      reflink_ok_ = false;
    }
  }
  if (!done) {
    bool use_cfr = true;
    for (;;) {
      ssize_t n;
      if (use_cfr) {
        n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
          use_cfr = false;
          continue;
        }
      } else {
        char buf[1 << 16];
        n = ::read(in, buf, sizeof buf);
        if (n > 0) {
          ssize_t off = 0;
          while (off < n) {
            ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
              n = -1;
              break;
            }
            off += w;
          }
        }
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        s = Errno("copying to", dst);
        break;
      }
      if (n == 0) break;
    }
  }
  if (s.ok() && ::fchmod(out, mode) != 0) s = Errno("chmod", dst);
  ::close(out);
  ::close(in);
  op.copied = true;
  return s;
}

Status Linker::Execute(Op& op) {
  const std::string dst = Dst(op.dst);
  const std::string& fn = packages_[op.pkg].package.filename;
  switch (op.kind) {
    case OpKind::kLink:
      if (opts_.mode == LinkMode::kHardlink && hardlink_ok_.load(std::memory_order_relaxed)) {
        if (::link(op.src.c_str(), dst.c_str()) == 0) {
          hardlinked_.fetch_add(1, std::memory_order_relaxed);
          return Status::Ok();
        }
        int err = errno;
        if (err == EXDEV || err == EPERM || err == ENOTSUP) hardlink_ok_ = false;
        if (err != EXDEV && err != EPERM && err != ENOTSUP && err != EMLINK)
          return Status::User("linking " + fn + ": " + op.src + " -> " + dst + ": " +
                              std::strerror(err));
      }
      [[fallthrough]];
    case OpKind::kCopy: {
      Status s = CopyFile(op.src, dst, op);
      if (!s.ok()) return s.WithContext("linking " + fn);
      copied_.fetch_add(1, std::memory_order_relaxed);
      return Status::Ok();
    }
    case OpKind::kPatch: {
      auto data = ReadWholeFile(op.src);
      if (!data.ok()) return data.status().WithContext("linking " + fn);
      struct stat st;
      if (::stat(op.src.c_str(), &st) != 0) return Errno("stat", op.src);
      std::string out;
      if (op.entry->binary) {
        auto r = ReplaceBinary(*data, op.entry->placeholder, prefix_, op.dst + " (in " + fn + ")");
        if (!r.ok()) return r.status();
        out = std::move(r).value();
      } else {
        out = FixLongShebang(ReplaceText(*data, op.entry->placeholder, prefix_));
      }
      op.out_sha256 = Sha256Hex(out);
      op.out_size = out.size();
      op.copied = true;
      patched_.fetch_add(1, std::memory_order_relaxed);
      return WriteNewFile(dst, out, st.st_mode & 0777).WithContext("linking " + fn);
    }
    case OpKind::kSymlink:
      if (::symlink(op.content.c_str(), dst.c_str()) != 0)
        return Errno("linking " + fn + ": symlink", dst);
      return Status::Ok();
    case OpKind::kWrite:
      op.out_sha256 = Sha256Hex(op.content);
      op.out_size = op.content.size();
      op.copied = true;
      return WriteNewFile(dst, op.content, op.mode).WithContext("linking " + fn);
  }
  return Status::Ok();
}

Status Linker::WriteCondaMeta() {
  using nlohmann::json;
  std::string history;
  {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    history = std::string("==> ") + buf + " <==\n# cmd: " + opts_.command + "\n# ferry version: 0.1.0\n";
  }
  for (const auto& s : states_) {
    if (s.wheel) continue;
    const LockedPackage& p = s.lp->package;
    json files = json::array();
    json paths = json::array();
    for (const auto& d : s.dirs) {
      paths.push_back({{"_path", d}, {"path_type", "directory"}});
    }
    for (size_t oi : s.ops) {
      const Op& op = ops_[oi];
      files.push_back(op.dst);
      json pe = {{"_path", op.dst}, {"path_type", op.path_type}};
      if (op.entry) {
        if (op.kind != OpKind::kSymlink) {
          pe["sha256"] = op.entry->sha256;
          pe["size_in_bytes"] = op.entry->size;
        }
        if (op.entry->type == EntryType::kPatched) {
          pe["prefix_placeholder"] = op.entry->placeholder;
          pe["file_mode"] = op.entry->binary ? "binary" : "text";
        }
        if (op.entry->no_link) pe["no_link"] = true;
      }
      if (!op.out_sha256.empty()) {
        pe["sha256_in_prefix"] = op.out_sha256;
        if (!op.entry) {
          pe["sha256"] = op.out_sha256;
          pe["size_in_bytes"] = op.out_size;
        }
        pe["size_in_bytes_in_prefix"] = op.out_size;  // ferry extension: patched size
      }
      paths.push_back(std::move(pe));
    }
    std::string dist = p.name + "-" + p.version + "-" + p.build;
    json rec = {
        {"name", p.name},
        {"version", p.version},
        {"build", p.build},
        {"build_string", p.build},
        {"build_number", p.build_number},
        {"channel", p.channel},
        {"subdir", p.subdir},
        {"fn", p.filename},
        {"url", p.url},
        {"md5", p.md5},
        {"sha256", p.sha256},
        {"size", p.size},
        {"depends", p.depends},
        {"constrains", p.constrains},
        {"noarch", s.manifest.noarch.empty() ? json(nullptr) : json(s.manifest.noarch)},
        {"files", std::move(files)},
        {"paths_data", {{"paths_version", 1}, {"paths", std::move(paths)}}},
        {"extracted_package_dir", s.lp->extracted_dir},
        {"package_tarball_full_path", ""},
        {"link", {{"source", s.lp->extracted_dir}, {"type", 1}}},
        {"requested_spec", ""},
    };
    FERRY_RETURN_IF_ERROR(WriteNewFile(Dst("conda-meta/" + dist + ".json"), rec.dump(1) + "\n", 0644));
    history += "+" + (p.channel.empty() ? std::string() : p.channel + "::") + dist + "\n";
    stats_.generated++;
  }
  FERRY_RETURN_IF_ERROR(WriteNewFile(Dst("conda-meta/history"), history, 0644));
  json ferry_meta = {{"env_id", opts_.env_id}, {"created_by", "ferry 0.1.0"}, {"packages", packages_.size()}};
  FERRY_RETURN_IF_ERROR(WriteNewFile(Dst("conda-meta/ferry.json"), ferry_meta.dump(1) + "\n", 0644));
  stats_.generated += 2;
  return Status::Ok();
}

bool ExistingEnvMatches(const std::string& prefix, const std::string& env_id) {
  auto text = ReadWholeFile(prefix + "/conda-meta/ferry.json");
  if (!text.ok()) return false;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  return j.is_object() && j.value("env_id", std::string("\x01")) == env_id;
}

Result<LinkStats> Linker::Run() {
  if (prefix_.empty() || prefix_.front() != '/')
    return Status::User("linking: prefix must be an absolute path, got '" + prefix_ + "'");
  while (prefix_.size() > 1 && prefix_.back() == '/') prefix_.pop_back();
  struct stat st;
  if (::lstat(prefix_.c_str(), &st) == 0) {
    if (ExistingEnvMatches(prefix_, opts_.env_id)) {
      stats_.already_existed = true;
      return stats_;
    }
    return Status::User("prefix " + prefix_ + " already exists and is not this environment (" +
                        (opts_.env_id.empty() ? std::string("no env-id") : opts_.env_id.substr(0, 12)) +
                        "); a finished environment is never modified");
  }
  size_t slash = prefix_.find_last_of('/');
  std::string parent = slash == 0 ? "/" : prefix_.substr(0, slash);
  FERRY_RETURN_IF_ERROR(MakeDirs(parent));
  if (!opts_.staging_dir.empty()) {
    staging_ = opts_.staging_dir;
  } else {
    std::random_device rd;
    char tag[32];
    std::snprintf(tag, sizeof tag, "%d-%08x", static_cast<int>(::getpid()), rd());
    staging_ = parent + "/." + prefix_.substr(slash + 1) + ".ferry-tmp-" + tag;
  }
  if (::mkdir(staging_.c_str(), 0755) != 0) return Errno("creating", staging_);
  struct Cleanup {
    std::string path;
    bool armed = true;
    ~Cleanup() {
      if (armed) (void)RemoveTree(path);
    }
  } cleanup{staging_};

  FERRY_RETURN_IF_ERROR(LoadManifests());
  FERRY_RETURN_IF_ERROR(FindPython());
  for (size_t i = 0; i < states_.size(); ++i) {
    FERRY_RETURN_IF_ERROR(states_[i].wheel ? PlanWheel(i) : PlanConda(i));
  }
  // Clobbers: the later package in lock order wins.
  {
    std::unordered_map<std::string_view, size_t> owner;
    owner.reserve(ops_.size() * 2);
    for (size_t k = 0; k < ops_.size(); ++k) {
      auto [it, inserted] = owner.emplace(ops_[k].dst, k);
      if (!inserted) {
        ops_[it->second].skip = true;
        it->second = k;
        stats_.clobbered++;
      }
    }
  }
  // Directories, parents first (std::set order puts "a" before "a/b").
  {
    std::set<std::string> dirs{"conda-meta"};
    auto add_parents = [&](const std::string& p) {
      size_t pos = p.find_last_of('/');
      while (pos != std::string::npos && pos > 0) {
        if (!dirs.insert(p.substr(0, pos)).second) break;
        pos = p.find_last_of('/', pos - 1);
      }
    };
    for (const auto& op : ops_)
      if (!op.skip) add_parents(op.dst);
    for (const auto& s : states_)
      for (const auto& d : s.dirs) {
        add_parents(d);
        dirs.insert(d);
      }
    for (const auto& d : dirs) {
      if (::mkdir(Dst(d).c_str(), 0755) != 0 && errno != EEXIST) return Errno("creating", Dst(d));
    }
  }
  // Files, in parallel.
  {
    int n = opts_.threads > 0 ? opts_.threads
                              : static_cast<int>(std::min(8u, 2 * std::max(1u, std::thread::hardware_concurrency())));
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    Status first_error;
    auto worker = [&] {
      constexpr size_t kChunk = 64;
      while (!failed.load(std::memory_order_relaxed)) {
        size_t begin = next.fetch_add(kChunk);
        if (begin >= ops_.size()) return;
        size_t end = std::min(ops_.size(), begin + kChunk);
        for (size_t k = begin; k < end; ++k) {
          if (ops_[k].skip) continue;
          Status s = Execute(ops_[k]);
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            if (!failed.exchange(true)) first_error = s;
            return;
          }
        }
      }
    };
    std::vector<std::thread> threads;
    int spawn = static_cast<int>(std::min<size_t>(n, (ops_.size() + 255) / 256));
    for (int t = 1; t < spawn; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    if (failed) return first_error;
  }
  FERRY_RETURN_IF_ERROR(WriteCondaMeta());

  // Publish.
  if (::rename(staging_.c_str(), prefix_.c_str()) != 0) {
    if ((errno == EEXIST || errno == ENOTEMPTY) && ExistingEnvMatches(prefix_, opts_.env_id)) {
      stats_.already_existed = true;  // another process won the race; ours is discarded
      return stats_;
    }
    return Errno("publishing environment", prefix_);
  }
  cleanup.armed = false;
  int pfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd >= 0) {
    ::fsync(pfd);
    ::close(pfd);
  }
  for (const auto& op : ops_)
    if (!op.skip && op.kind != OpKind::kSymlink) stats_.files++;
  stats_.hardlinked = hardlinked_;
  stats_.copied = copied_;
  stats_.patched = patched_;
  for (const auto& op : ops_)
    if (op.kind == OpKind::kWrite) stats_.generated++;
  return stats_;
}

}  // namespace

std::string ReplaceText(std::string_view data, std::string_view placeholder,
                        std::string_view prefix) {
  std::string out;
  if (placeholder.empty()) return std::string(data);
  out.reserve(data.size());
  size_t pos = 0;
  for (;;) {
    size_t i = data.find(placeholder, pos);
    if (i == std::string_view::npos) break;
    out.append(data.substr(pos, i - pos));
    out.append(prefix);
    pos = i + placeholder.size();
  }
  out.append(data.substr(pos));
  return out;
}

Result<std::string> ReplaceBinary(std::string_view data, std::string_view placeholder,
                                  std::string_view prefix, const std::string& what) {
  std::string out(data);
  if (placeholder.empty()) return out;
  if (prefix.size() > placeholder.size())
    return Status::User("relocating " + what + ": the prefix " + std::string(prefix) + " (" +
                        std::to_string(prefix.size()) +
                        " bytes) is longer than the binary placeholder (" +
                        std::to_string(placeholder.size()) +
                        " bytes); use a shorter --prefix or FERRY_HOME");
  size_t pos = 0;
  for (;;) {
    size_t i = out.find(placeholder, pos);
    if (i == std::string::npos) break;
    size_t j = out.find('\0', i);
    if (j == std::string::npos) j = out.size();
    std::string segment = out.substr(i, j - i);
    std::string replaced = ReplaceText(segment, placeholder, prefix);
    replaced.append(segment.size() - replaced.size(), '\0');
    out.replace(i, segment.size(), replaced);
    pos = j;
  }
  return out;
}

std::string FixLongShebang(std::string data) {
  if (data.rfind("#!", 0) != 0) return data;
  size_t nl = data.find('\n');
  size_t len = nl == std::string::npos ? data.size() : nl;
  if (len <= kShebangLimit) return data;
  std::string line = data.substr(2, len - 2);
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos) return data;
  line = line.substr(b);
  size_t sp = line.find_first_of(" \t");
  std::string exe = line.substr(0, sp);
  std::string args = sp == std::string::npos ? "" : line.substr(sp);
  std::string base = exe.substr(exe.find_last_of('/') + 1);
  return "#!/usr/bin/env " + base + args + data.substr(len);
}

std::string PythonShebang(const std::string& python) {
  if (python.size() + 2 <= kShebangLimit && python.find(' ') == std::string::npos)
    return "#!" + python;
  // POSIX sh runs the exec line; Python sees a string literal and ignores it.
  return "#!/bin/sh\n'''exec' \"" + python + "\" \"$0\" \"$@\"\n' '''";
}

Result<LinkStats> LinkEnvironment(const std::vector<LinkPackage>& packages,
                                  const std::string& prefix, const LinkOptions& options) {
  Linker linker(packages, prefix, options);
  return linker.Run();
}

}  // namespace ferry::store
