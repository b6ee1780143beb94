// Streaming, hostile-input-safe package extraction (see extract.h for the contract).
//
// Every output file is created relative to a directory fd opened with O_NOFOLLOW, walking from
// the root fd of dest_dir, so no entry can write through a symlink or outside dest_dir. Symlink
// targets are checked after the whole archive is read (a later entry may be a symlink an earlier
// target goes through), by resolving them inside the tree without touching the file system.
#include "store/materialize/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/digest.h"
#include "store/materialize/fsutil.h"
#include "store/materialize/manifest.h"

namespace ferry::store {

namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

constexpr const char* kDefaultPlaceholder = "/opt/anaconda1anaconda2anaconda3";

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The process umask, read without changing it (umask(2) would race with other threads creating
// files): from /proc/self/status ("Umask:\t0022"). -1 if unknown.
int CurrentUmask() {
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = std::strstr(buf, "\nUmask:");
  if (!p) return -1;
  char* end = nullptr;
  long v = std::strtol(p + 7, &end, 8);
  return end == p + 7 || v < 0 || v > 0777 ? -1 : static_cast<int>(v);
}

struct FileRecord {
  uint64_t size = 0;
  std::string sha256;
  mode_t mode = 0644;
};

// Extraction state for one package: the root dir fd, a small cache of open directory fds, and
// what was written (so sizes/digests can be checked against info/paths.json afterwards).
class Extractor {
 public:
  Extractor(std::string package, std::string dest) : pkg_(std::move(package)), dest_(std::move(dest)) {}
  ~Extractor() {
    CloseCache();
    if (root_fd_ >= 0) ::close(root_fd_);
  }

  Status Open() {
    FERRY_RETURN_IF_ERROR(MakeDirs(dest_));
    root_fd_ = ::open(dest_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root_fd_ < 0) return ErrnoStatus("opening", dest_);
    buf_.resize(1 << 18);
    umask_ = CurrentUmask();
    return Status::Ok();
  }

  Status Err(const std::string& entry, const std::string& why) const {
    return Status::Integrity("extracting " + pkg_ + ": entry '" + entry + "': " + why);
  }

  // Reads every entry of `a` (an archive positioned before its first header).
  Status ExtractAll(archive* a, const std::string& member) {
    archive_entry* e = nullptr;
    for (;;) {
      int r = archive_read_next_header(a, &e);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return ArchiveErr(a, member);
      FERRY_RETURN_IF_ERROR(ExtractEntry(a, e));
    }
    return Status::Ok();
  }

  Status ArchiveErr(archive* a, const std::string& member) const {
    const char* msg = archive_error_string(a);
    return Status::Integrity("extracting " + pkg_ + (member.empty() ? "" : " (" + member + ")") +
                             ": corrupt archive: " + (msg ? msg : "unknown error"));
  }

  Status ExtractEntry(archive* a, archive_entry* e) {
    const char* raw = archive_entry_pathname_utf8(e);
    if (!raw) raw = archive_entry_pathname(e);
    std::string raw_name = raw ? raw : "";
    std::string why;
    std::string path = NormalizeRelPath(raw_name, &why);
    mode_t type = archive_entry_filetype(e);
    const char* hardlink = archive_entry_hardlink(e);
    if (path.empty()) {
      if (why == "path names the root" && type == AE_IFDIR) return Status::Ok();  // "./"
      return Err(raw_name, why);
    }
    if (path == kManifestName) return Err(raw_name, "reserved name");
    if (hardlink) return ExtractHardlink(raw_name, path, hardlink);
    switch (type) {
      case AE_IFDIR: {
        int fd = -1;
        FERRY_RETURN_IF_ERROR(OpenDir(raw_name, path, &fd));
        return Status::Ok();
      }
      case AE_IFREG:
        return ExtractFile(a, e, raw_name, path);
      case AE_IFLNK: {
        const char* t = archive_entry_symlink_utf8(e);
        if (!t) t = archive_entry_symlink(e);
        std::string target = t ? t : "";
        if (target.empty()) return Err(raw_name, "symlink with an empty target");
        if (target.front() == '/') return Err(raw_name, "symlink to absolute path '" + target + "'");
        for (char c : target)
          if (c == '\0' || c == '\t' || c == '\n' || c == '\r')
            return Err(raw_name, "control character in symlink target");
        int dfd = -1;
        std::string leaf;
        FERRY_RETURN_IF_ERROR(ParentDir(raw_name, path, &dfd, &leaf));
        FERRY_RETURN_IF_ERROR(Clear(raw_name, dfd, leaf));
        if (::symlinkat(target.c_str(), dfd, leaf.c_str()) != 0)
          return Err(raw_name, std::string("symlink: ") + std::strerror(errno));
        files_.erase(path);
        links_[path] = target;
        return Status::Ok();
      }
      case AE_IFCHR:
      case AE_IFBLK:
        return Err(raw_name, "device file refused");
      case AE_IFIFO:
        return Err(raw_name, "fifo refused");
      case AE_IFSOCK:
        return Err(raw_name, "socket refused");
      default:
        return Err(raw_name, "unsupported entry type");
    }
  }

  Status ExtractFile(archive* a, archive_entry* e, const std::string& raw_name,
                     const std::string& path) {
    mode_t mode = archive_entry_perm(e) & 0777;
    if (mode == 0) mode = 0644;
    mode |= S_IRUSR | S_IWUSR;
    int dfd = -1;
    std::string leaf;
    FERRY_RETURN_IF_ERROR(ParentDir(raw_name, path, &dfd, &leaf));
    // The destination starts empty, so only a path this archive already wrote (or a directory it
    // made) can be in the way: try the exclusive create first, Clear and retry on EEXIST.
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(dfd, leaf.c_str(), flags, mode);
    if (fd < 0 && errno == EEXIST) {
      FERRY_RETURN_IF_ERROR(Clear(raw_name, dfd, leaf));
      fd = ::openat(dfd, leaf.c_str(), flags, mode);
    }
    if (fd < 0) return Err(raw_name, std::string("create: ") + std::strerror(errno));
    Hasher h;
    uint64_t total = 0;
    Status st;
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf_.data(), buf_.size());
      if (n < 0) {
        const char* msg = archive_error_string(a);
        st = Err(raw_name, std::string("corrupt data: ") + (msg ? msg : "read error"));
        break;
      }
      if (n == 0) break;
      h.Update(buf_.data(), static_cast<size_t>(n));
      total += static_cast<uint64_t>(n);
      size_t off = 0;
      while (off < static_cast<size_t>(n)) {
        ssize_t w = ::write(fd, buf_.data() + off, static_cast<size_t>(n) - off);
        if (w < 0) {
          if (errno == EINTR) continue;
          st = Status::User("extracting " + pkg_ + ": writing '" + raw_name + "': " +
                            std::strerror(errno));
          break;
        }
        off += static_cast<size_t>(w);
      }
      if (!st.ok()) break;
    }
    // The umask must not strip the package's modes: chmod unless it provably did not.
    if (st.ok() && (umask_ < 0 || (mode & umask_) != 0) && ::fchmod(fd, mode) != 0)
      st = Err(raw_name, std::string("chmod: ") + std::strerror(errno));
    ::close(fd);
    if (!st.ok()) return st;
    links_.erase(path);
    files_[path] = FileRecord{total, h.HexDigest(), mode};
    return Status::Ok();
  }

  Status ExtractHardlink(const std::string& raw_name, const std::string& path,
                         const char* target_raw) {
    std::string why;
    std::string target = NormalizeRelPath(target_raw, &why);
    if (target.empty()) return Err(raw_name, std::string("hardlink to '") + target_raw + "': " + why);
    auto it = files_.find(target);
    if (it == files_.end())
      return Err(raw_name, "hardlink to '" + target + "' which is not a file of this package");
    int tdfd = -1, dfd = -1;
    std::string tleaf, leaf;
    FERRY_RETURN_IF_ERROR(ParentDir(raw_name, target, &tdfd, &tleaf));
    // ParentDir may evict the cache; keep the target dir open independently.
    int tfd = ::dup(tdfd);
    if (tfd < 0) return ErrnoStatus("dup", dest_);
    Status st = ParentDir(raw_name, path, &dfd, &leaf);
    if (st.ok()) st = Clear(raw_name, dfd, leaf);
    if (st.ok() && ::linkat(tfd, tleaf.c_str(), dfd, leaf.c_str(), 0) != 0)
      st = Err(raw_name, std::string("hardlink: ") + std::strerror(errno));
    ::close(tfd);
    if (!st.ok()) return st;
    FileRecord rec = it->second;
    files_[path] = rec;
    links_.erase(path);
    return Status::Ok();
  }

  // Removes an existing non-directory at dfd/leaf (archives may repeat an entry; the last wins).
  Status Clear(const std::string& raw_name, int dfd, const std::string& leaf) {
    struct stat st;
    if (::fstatat(dfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status::Ok();
    if (S_ISDIR(st.st_mode)) return Err(raw_name, "replaces a directory");
    if (::unlinkat(dfd, leaf.c_str(), 0) != 0)
      return Err(raw_name, std::string("unlink: ") + std::strerror(errno));
    return Status::Ok();
  }

  // Opens (creating as needed) the directory `rel`; every component must be a real directory.
  Status OpenDir(const std::string& raw_name, const std::string& rel, int* out) {
    if (rel.empty()) {
      *out = root_fd_;
      return Status::Ok();
    }
    auto it = dir_cache_.find(rel);
    if (it != dir_cache_.end()) {
      *out = it->second;
      return Status::Ok();
    }
    if (dir_cache_.size() > 200) CloseCache();
    int parent = root_fd_;
    size_t slash = rel.find_last_of('/');
    std::string leaf = rel;
    if (slash != std::string::npos) {
      FERRY_RETURN_IF_ERROR(OpenDir(raw_name, rel.substr(0, slash), &parent));
      leaf = rel.substr(slash + 1);
    }
    int fd = ::openat(parent, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      if (::mkdirat(parent, leaf.c_str(), 0755) != 0 && errno != EEXIST)
        return Err(raw_name, "mkdir '" + rel + "': " + std::strerror(errno));
      fd = ::openat(parent, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR)
        return Err(raw_name, "'" + rel + "' is not a directory (a symlink or file is in the way)");
      return Err(raw_name, "open '" + rel + "': " + std::strerror(errno));
    }
    dir_cache_[rel] = fd;
    *out = fd;
    return Status::Ok();
  }

  Status ParentDir(const std::string& raw_name, const std::string& path, int* dfd,
                   std::string* leaf) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) {
      *dfd = root_fd_;
      *leaf = path;
      return Status::Ok();
    }
    *leaf = path.substr(slash + 1);
    return OpenDir(raw_name, path.substr(0, slash), dfd);
  }

  void CloseCache() {
    for (auto& [k, fd] : dir_cache_) ::close(fd);
    dir_cache_.clear();
  }

  // Resolves every symlink inside the extracted tree (following other symlinks of the tree, as the
  // kernel would) and refuses any that leaves the package root.
  Status CheckSymlinks() const {
    for (const auto& [path, target] : links_) {
      std::vector<std::string> stack;
      size_t pos = 0;
      size_t slash = path.find_last_of('/');
      std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
      auto push_comps = [](const std::string& p, std::deque<std::string>& dq, bool front) {
        std::vector<std::string> comps;
        size_t s = 0;
        while (s <= p.size()) {
          size_t e = p.find('/', s);
          if (e == std::string::npos) e = p.size();
          comps.push_back(p.substr(s, e - s));
          s = e + 1;
        }
        if (front)
          dq.insert(dq.begin(), comps.begin(), comps.end());
        else
          dq.insert(dq.end(), comps.begin(), comps.end());
      };
      std::deque<std::string> todo;
      while (pos < parent.size()) {
        size_t e = parent.find('/', pos);
        if (e == std::string::npos) e = parent.size();
        stack.push_back(parent.substr(pos, e - pos));
        pos = e + 1;
      }
      push_comps(target, todo, false);
      int expansions = 0;
      while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c.empty() || c == ".") continue;
        if (c == "..") {
          if (stack.empty())
            return Err(path, "symlink to '" + target + "' resolves outside the package");
          stack.pop_back();
          continue;
        }
        stack.push_back(c);
        std::string cur;
        for (size_t i = 0; i < stack.size(); ++i) {
          if (i) cur.push_back('/');
          cur += stack[i];
        }
        auto it = links_.find(cur);
        if (it != links_.end()) {
          if (++expansions > 40) return Err(path, "symlink loop");
          if (!it->second.empty() && it->second.front() == '/')
            return Err(path, "symlink chain reaches an absolute path");
          stack.pop_back();
          push_comps(it->second, todo, true);
        }
      }
    }
    return Status::Ok();
  }

  const std::map<std::string, FileRecord>& files() const { return files_; }
  const std::map<std::string, std::string>& links() const { return links_; }
  const std::string& pkg() const { return pkg_; }
  const std::string& dest() const { return dest_; }

 private:
  std::string pkg_;
  std::string dest_;
  int root_fd_ = -1;
  std::unordered_map<std::string, int> dir_cache_;
  std::vector<char> buf_;
  int umask_ = -1;  // the process umask when extraction began (-1: unknown, always chmod)
  std::map<std::string, FileRecord> files_;
  std::map<std::string, std::string> links_;
};

// Opens `path` for reading with the given format/filter setup.
Result<ArchivePtr> OpenArchive(const std::string& path, const std::string& pkg, bool zip) {
  ArchivePtr a(archive_read_new());
  if (!a) return Status::User("extracting " + pkg + ": out of memory");
  if (zip) {
    archive_read_support_format_zip(a.get());
  } else {
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_bzip2(a.get());
    archive_read_support_filter_zstd(a.get());
  }
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK) {
    const char* msg = archive_error_string(a.get());
    return Status::Integrity("extracting " + pkg + ": cannot open " + path + ": " +
                             (msg ? msg : "unknown error"));
  }
  return a;
}

struct InnerCtx {
  archive* outer;
  std::vector<char> buf;
};

la_ssize_t InnerRead(archive*, void* client, const void** out) {
  auto* ctx = static_cast<InnerCtx*>(client);
  la_ssize_t n = archive_read_data(ctx->outer, ctx->buf.data(), ctx->buf.size());
  *out = ctx->buf.data();
  return n;  // < 0 propagates the outer error
}

// .conda: stored zip; each inner *.tar.zst is decoded straight from the outer stream.
Status ExtractConda(Extractor& ex, const std::string& archive_path) {
  FERRY_ASSIGN_OR_RETURN(ArchivePtr outer, OpenArchive(archive_path, ex.pkg(), true));
  archive_entry* e = nullptr;
  bool saw_pkg = false, saw_info = false;
  for (;;) {
    int r = archive_read_next_header(outer.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return ex.ArchiveErr(outer.get(), "");
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    bool is_pkg = name.rfind("pkg-", 0) == 0 && EndsWith(name, ".tar.zst");
    bool is_info = name.rfind("info-", 0) == 0 && EndsWith(name, ".tar.zst");
    if (name.find('/') != std::string::npos || (!is_pkg && !is_info)) {
      if (name == "metadata.json") {
        std::string meta(4096, '\0');
        la_ssize_t n = archive_read_data(outer.get(), meta.data(), meta.size());
        if (n < 0) return ex.ArchiveErr(outer.get(), name);
        meta.resize(static_cast<size_t>(n));
        auto j = nlohmann::json::parse(meta, nullptr, false);
        if (j.is_discarded() || !j.is_object() || j.value("conda_pkg_format_version", 0) != 2)
          return Status::Integrity("extracting " + ex.pkg() +
                                   ": metadata.json is not conda_pkg_format_version 2");
      }
      continue;  // unknown members are skipped (never extracted)
    }
    (is_pkg ? saw_pkg : saw_info) = true;
    InnerCtx ctx{outer.get(), std::vector<char>(1 << 18)};
    ArchivePtr inner(archive_read_new());
    archive_read_support_format_tar(inner.get());
    archive_read_support_filter_zstd(inner.get());
    if (archive_read_open(inner.get(), &ctx, nullptr, InnerRead, nullptr) != ARCHIVE_OK)
      return ex.ArchiveErr(inner.get(), name);
    FERRY_RETURN_IF_ERROR(ex.ExtractAll(inner.get(), name));
  }
  if (!saw_pkg || !saw_info)
    return Status::Integrity("extracting " + ex.pkg() + ": not a .conda package (missing " +
                             (saw_pkg ? "info-*.tar.zst" : "pkg-*.tar.zst") + ")");
  return Status::Ok();
}

// Builds the manifest of a conda package from info/paths.json (or the legacy info/files,
// info/has_prefix, info/no_link) and checks it against what was extracted.
Result<PackageManifest> CondaManifest(const Extractor& ex) {
  PackageManifest m;
  m.kind = "conda";
  const std::string info = ex.dest() + "/info/";
  auto index_text = ReadWholeFile(info + "index.json");
  if (!index_text.ok())
    return Status::Integrity("extracting " + ex.pkg() + ": missing info/index.json");
  auto index = nlohmann::json::parse(*index_text, nullptr, false);
  if (index.is_discarded() || !index.is_object())
    return Status::Integrity("extracting " + ex.pkg() + ": info/index.json is not a JSON object");
  if (index.contains("noarch") && index["noarch"].is_string())
    m.noarch = index["noarch"].get<std::string>();
  else if (index.contains("noarch") && index["noarch"].is_boolean() && index["noarch"].get<bool>())
    m.noarch = "generic";

  auto err = [&](const std::string& entry, const std::string& why) {
    return Status::Integrity("extracting " + ex.pkg() + ": entry '" + entry + "': " + why);
  };
  auto paths_text = ReadWholeFile(info + "paths.json");
  if (paths_text.ok()) {
    auto pj = nlohmann::json::parse(*paths_text, nullptr, false);
    if (pj.is_discarded() || !pj.is_object() || !pj.contains("paths") || !pj["paths"].is_array())
      return Status::Integrity("extracting " + ex.pkg() + ": info/paths.json is malformed");
    for (const auto& p : pj["paths"]) {
      if (!p.is_object() || !p.contains("_path") || !p["_path"].is_string())
        return Status::Integrity("extracting " + ex.pkg() + ": info/paths.json entry without _path");
      std::string raw = p["_path"].get<std::string>();
      std::string why;
      std::string path = NormalizeRelPath(raw, &why);
      if (path.empty()) return err(raw, "in info/paths.json: " + why);
      if (path == "info" || path.rfind("info/", 0) == 0) continue;
      std::string type = p.value("path_type", std::string("hardlink"));
      ManifestEntry e;
      e.path = path;
      if (type == "directory") {
        e.type = EntryType::kDir;
        m.entries.push_back(std::move(e));
        continue;
      }
      if (type == "softlink") {
        auto it = ex.links().find(path);
        if (it == ex.links().end()) {
          // Some packages list a symlink that was archived as a file; accept a real file.
          auto f = ex.files().find(path);
          if (f == ex.files().end()) return err(path, "listed in info/paths.json but missing");
          e.type = EntryType::kFile;
          e.size = f->second.size;
          e.sha256 = f->second.sha256;
        } else {
          e.type = EntryType::kSymlink;
          e.target = it->second;
        }
        m.entries.push_back(std::move(e));
        continue;
      }
      if (type != "hardlink") return err(path, "unknown path_type '" + type + "'");
      auto f = ex.files().find(path);
      if (f == ex.files().end()) {
        if (ex.links().count(path)) return err(path, "is a symlink but info/paths.json says file");
        return err(path, "listed in info/paths.json but missing from the archive");
      }
      if (p.contains("size_in_bytes") && p["size_in_bytes"].is_number_unsigned() &&
          p["size_in_bytes"].get<uint64_t>() != f->second.size)
        return err(path, "size " + std::to_string(f->second.size) +
                             " disagrees with info/paths.json (" +
                             std::to_string(p["size_in_bytes"].get<uint64_t>()) + ")");
      if (p.contains("sha256") && p["sha256"].is_string() &&
          p["sha256"].get<std::string>() != f->second.sha256)
        return err(path, "sha256 mismatch with info/paths.json: expected " +
                             p["sha256"].get<std::string>() + ", got " + f->second.sha256);
      e.size = f->second.size;
      e.sha256 = f->second.sha256;
      e.no_link = p.value("no_link", false);
      if (p.contains("prefix_placeholder") && p["prefix_placeholder"].is_string() &&
          !p["prefix_placeholder"].get<std::string>().empty()) {
        e.type = EntryType::kPatched;
        e.placeholder = p["prefix_placeholder"].get<std::string>();
        e.binary = p.value("file_mode", std::string("text")) == "binary";
        for (char c : e.placeholder)
          if (c == '\t' || c == '\n' || c == '\r' || c == '\0')
            return err(path, "control character in prefix_placeholder");
      } else {
        e.type = EntryType::kFile;
      }
      m.entries.push_back(std::move(e));
    }
    return m;
  }
  // Legacy packages: info/files (+ has_prefix, no_link).
  auto files_text = ReadWholeFile(info + "files");
  if (!files_text.ok())
    return Status::Integrity("extracting " + ex.pkg() + ": neither info/paths.json nor info/files");
  std::map<std::string, std::pair<std::string, bool>> prefixed;  // path -> (placeholder, binary)
  if (auto hp = ReadWholeFile(info + "has_prefix"); hp.ok()) {
    size_t pos = 0;
    while (pos < hp->size()) {
      size_t nl = hp->find('\n', pos);
      if (nl == std::string::npos) nl = hp->size();
      std::string line = hp->substr(pos, nl - pos);
      pos = nl + 1;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty()) continue;
      // "placeholder mode path" or a bare path (default placeholder, text mode)
      std::vector<std::string> f;
      size_t s = 0;
      for (int i = 0; i < 2; ++i) {
        size_t sp = line.find(' ', s);
        if (sp == std::string::npos) break;
        f.push_back(line.substr(s, sp - s));
        s = sp + 1;
      }
      std::string why;
      if (f.size() == 2 && (f[1] == "text" || f[1] == "binary")) {
        std::string path = NormalizeRelPath(line.substr(s), &why);
        if (path.empty()) return err(line, "in info/has_prefix: " + why);
        prefixed[path] = {f[0], f[1] == "binary"};
      } else {
        std::string path = NormalizeRelPath(line, &why);
        if (path.empty()) return err(line, "in info/has_prefix: " + why);
        prefixed[path] = {kDefaultPlaceholder, false};
      }
    }
  }
  std::set<std::string> no_link;
  if (auto nl_text = ReadWholeFile(info + "no_link"); nl_text.ok()) {
    size_t pos = 0;
    while (pos < nl_text->size()) {
      size_t nl = nl_text->find('\n', pos);
      if (nl == std::string::npos) nl = nl_text->size();
      std::string why;
      std::string p = NormalizeRelPath(nl_text->substr(pos, nl - pos), &why);
      if (!p.empty()) no_link.insert(p);
      pos = nl + 1;
    }
  }
  size_t pos = 0;
  while (pos < files_text->size()) {
    size_t nl = files_text->find('\n', pos);
    if (nl == std::string::npos) nl = files_text->size();
    std::string raw = files_text->substr(pos, nl - pos);
    pos = nl + 1;
    while (!raw.empty() && raw.back() == '\r') raw.pop_back();
    if (raw.empty()) continue;
    std::string why;
    std::string path = NormalizeRelPath(raw, &why);
    if (path.empty()) return err(raw, "in info/files: " + why);
    ManifestEntry e;
    e.path = path;
    if (auto l = ex.links().find(path); l != ex.links().end()) {
      e.type = EntryType::kSymlink;
      e.target = l->second;
    } else if (auto f = ex.files().find(path); f != ex.files().end()) {
      e.size = f->second.size;
      e.sha256 = f->second.sha256;
      e.no_link = no_link.count(path) > 0;
      if (auto pp = prefixed.find(path); pp != prefixed.end()) {
        e.type = EntryType::kPatched;
        e.placeholder = pp->second.first;
        e.binary = pp->second.second;
      }
    } else {
      return err(path, "listed in info/files but missing from the archive");
    }
    m.entries.push_back(std::move(e));
  }
  return m;
}

PackageManifest WheelManifest(const Extractor& ex) {
  PackageManifest m;
  m.kind = "wheel";
  for (const auto& [path, rec] : ex.files()) {
    ManifestEntry e;
    e.type = EntryType::kFile;
    e.path = path;
    e.size = rec.size;
    e.sha256 = rec.sha256;
    m.entries.push_back(std::move(e));
  }
  for (const auto& [path, target] : ex.links()) {
    ManifestEntry e;
    e.type = EntryType::kSymlink;
    e.path = path;
    e.target = target;
    m.entries.push_back(std::move(e));
  }
  return m;
}

}  // namespace

Status ExtractPackage(const std::string& archive_path, const std::string& filename,
                      const std::string& dest_dir) {
  Extractor ex(filename, dest_dir);
  FERRY_RETURN_IF_ERROR(ex.Open());
  PackageManifest manifest;
  if (EndsWith(filename, ".conda")) {
    FERRY_RETURN_IF_ERROR(ExtractConda(ex, archive_path));
  } else if (EndsWith(filename, ".tar.bz2")) {
    FERRY_ASSIGN_OR_RETURN(ArchivePtr a, OpenArchive(archive_path, filename, false));
    FERRY_RETURN_IF_ERROR(ex.ExtractAll(a.get(), ""));
  } else if (EndsWith(filename, ".whl")) {
    FERRY_ASSIGN_OR_RETURN(ArchivePtr a, OpenArchive(archive_path, filename, true));
    FERRY_RETURN_IF_ERROR(ex.ExtractAll(a.get(), ""));
  } else {
    return Status::User("extracting " + filename + ": unknown package format (expected .conda, "
                        ".tar.bz2 or .whl)");
  }
  FERRY_RETURN_IF_ERROR(ex.CheckSymlinks());
  if (EndsWith(filename, ".whl")) {
    manifest = WheelManifest(ex);
  } else {
    FERRY_ASSIGN_OR_RETURN(manifest, CondaManifest(ex));
  }
  return WriteFileAtomically(dest_dir + "/" + kManifestName, SerializePackageManifest(manifest), 0644,
                             /*sync=*/false);
}

}  // namespace ferry::store
