#include "store/remote/file_object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

#include "src/digest.h"
#include "src/fs.h"

namespace ferry::store {

namespace {

constexpr const char* kTmpPrefix = ".ferry-tmp-";

std::string Errno() { return std::strerror(errno); }

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::User("cannot open directory " + dir + ": " + Errno());
  int rc = ::fsync(fd);
  std::string e = rc != 0 ? Errno() : "";
  ::close(fd);
  if (rc != 0) return Status::User("fsync " + dir + ": " + e);
  return Status::Ok();
}

std::string TempName(const std::string& dir) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  return JoinPath(dir, std::string(kTmpPrefix) + std::to_string(getpid()) + "-" +
                           std::to_string(salt % 100000) + "-" + std::to_string(counter++));
}

Status MkdirP(const std::string& dir) {
  std::string cur;
  size_t pos = 0;
  while (pos <= dir.size()) {
    auto slash = dir.find('/', pos + 1);
    cur = dir.substr(0, slash);
    if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::User("cannot create directory " + cur + ": " + Errno());
    }
    if (slash == std::string::npos) break;
    pos = slash;
  }
  return Status::Ok();
}

Status WriteAll(int fd, const char* p, size_t n, const std::string& name) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::User("writing " + name + ": " + Errno());
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Publishes a complete, fsynced temp file at `dest`. Removes the temp file in every case.
Status Publish(const std::string& tmp, const std::string& dest, bool if_none_match,
               const std::string& key) {
  if (if_none_match) {
    int rc = ::link(tmp.c_str(), dest.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) {
      if (err == EEXIST) return Status::User("object " + key + " already exists");
      return Status::User("publishing " + dest + ": " + std::strerror(err));
    }
  } else if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    std::string e = Errno();
    ::unlink(tmp.c_str());
    return Status::User("publishing " + dest + ": " + e);
  }
  return FsyncDir(DirName(dest));
}

// Writes data (and/or the content of src_fd) to a temp file in dirname(dest), verifying the
// hash; on success the temp file path is returned (fsynced, not yet published).
Result<std::string> WriteTemp(const std::string& dest, std::string_view data, int src_fd,
                              const std::string& src_name,
                              const std::optional<std::string>& expected_sha256,
                              const std::string& what) {
  std::string dir = DirName(dest);
  FERRY_RETURN_IF_ERROR(MkdirP(dir));
  std::string tmp = TempName(dir);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::User("cannot create " + tmp + ": " + Errno());
  Hasher h;
  Status st;
  if (src_fd < 0) {
    h.Update(data);
    st = WriteAll(fd, data.data(), data.size(), tmp);
  } else {
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t r = ::read(src_fd, buf.data(), buf.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        st = Status::User("reading " + src_name + ": " + Errno());
        break;
      }
      if (r == 0) break;
      h.Update(buf.data(), static_cast<size_t>(r));
      st = WriteAll(fd, buf.data(), static_cast<size_t>(r), tmp);
      if (!st.ok()) break;
    }
  }
  if (st.ok() && ::fsync(fd) != 0) st = Status::User("fsync " + tmp + ": " + Errno());
  if (::close(fd) != 0 && st.ok()) st = Status::User("closing " + tmp + ": " + Errno());
  if (st.ok() && expected_sha256) {
    std::string got = h.HexDigest();
    if (got != *expected_sha256) {
      st = Status::Integrity(what + ": sha256 mismatch: expected " + *expected_sha256 + ", got " +
                             got);
    }
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return tmp;
}

bool IsDirectory(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

bool ValidKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '~' ||
         c == '/' || c == '-';
}

}  // namespace

Status FsyncDirectory(const std::string& dir) { return FsyncDir(dir); }

Status MakeDirs(const std::string& dir) { return MkdirP(dir); }

std::string TempPathNextTo(const std::string& dest) { return TempName(DirName(dest)); }

Status ValidateObjectKey(const std::string& key) {
  auto bad = [&](const std::string& why) {
    return Status::User("invalid object key '" + key + "': " + why);
  };
  if (key.empty()) return bad("empty");
  if (key.front() == '/' || key.back() == '/') return bad("leading or trailing '/'");
  if (!std::all_of(key.begin(), key.end(), ValidKeyChar))
    return bad("only [A-Za-z0-9._~/-] are allowed");
  size_t pos = 0;
  while (pos <= key.size()) {
    auto slash = key.find('/', pos);
    std::string seg = key.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (seg.empty() || seg == "." || seg == "..") return bad("empty, '.' or '..' segment");
    if (seg.rfind(kTmpPrefix, 0) == 0) return bad("reserved temp-file prefix");
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return Status::Ok();
}

Status CopyVerifiedAtomic(int src_fd, const std::string& src_name, const std::string& dest_path,
                          const std::optional<std::string>& expected_sha256) {
  FERRY_ASSIGN_OR_RETURN(std::string tmp,
                         WriteTemp(dest_path, {}, src_fd, src_name, expected_sha256, src_name));
  return Publish(tmp, dest_path, false, dest_path);
}

FileObjectStore::FileObjectStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string FileObjectStore::Describe() const { return "file://" + root_; }

Result<std::string> FileObjectStore::PathOf(const std::string& key) const {
  FERRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  return JoinPath(root_, key);
}

Result<std::optional<std::string>> FileObjectStore::Get(const std::string& key) {
  FERRY_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return Status::User("reading " + path + ": " + Errno());
  }
  if (IsDirectory(fd)) {  // "v1/envs" is a key prefix here, not an object (as on S3)
    ::close(fd);
    return std::optional<std::string>();
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      std::string e = Errno();
      ::close(fd);
      return Status::User("reading " + path + ": " + e);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

Status FileObjectStore::Download(const std::string& key, const std::string& dest_path,
                                 const std::optional<std::string>& expected_sha256) {
  FERRY_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return Status::User("object " + key + " not found in " + Describe());
    return Status::User("reading " + path + ": " + Errno());
  }
  if (IsDirectory(fd)) {
    ::close(fd);
    return Status::User("object " + key + " not found in " + Describe());
  }
  Status st = CopyVerifiedAtomic(fd, Describe() + "/" + key, dest_path, expected_sha256);
  ::close(fd);
  return st;
}

Status FileObjectStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  FERRY_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  FERRY_ASSIGN_OR_RETURN(std::string tmp,
                         WriteTemp(path, data, -1, "", opts.sha256, "uploading " + key));
  return Publish(tmp, path, opts.if_none_match, key);
}

Status FileObjectStore::PutFile(const std::string& key, const std::string& src,
                                const PutOptions& opts) {
  FERRY_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::User("cannot open " + src + ": " + Errno());
  auto tmp = WriteTemp(path, {}, fd, src, opts.sha256, "uploading " + src + " to " + key);
  ::close(fd);
  if (!tmp.ok()) return tmp.status();
  return Publish(*tmp, path, opts.if_none_match, key);
}

Result<std::optional<uint64_t>> FileObjectStore::Head(const std::string& key) {
  FERRY_ASSIGN_OR_RETURN(std::string path, PathOf(key));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<uint64_t>();
    return Status::User("stat " + path + ": " + Errno());
  }
  if (!S_ISREG(st.st_mode)) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(st.st_size));
}

Result<std::vector<ObjectInfo>> FileObjectStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  // Walk only the deepest directory that is a complete prefix component.
  std::string start_rel;
  auto slash = prefix.rfind('/');
  if (slash != std::string::npos) start_rel = prefix.substr(0, slash);
  if (start_rel.find("..") != std::string::npos)
    return Status::User("invalid list prefix '" + prefix + "'");
  std::vector<std::string> stack{start_rel};
  while (!stack.empty()) {
    std::string rel = stack.back();
    stack.pop_back();
    std::string dir = rel.empty() ? root_ : JoinPath(root_, rel);
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return Status::User("listing " + dir + ": " + Errno());
    }
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == ".." || name.rfind(kTmpPrefix, 0) == 0) continue;
      std::string child_rel = rel.empty() ? name : rel + "/" + name;
      std::string child = JoinPath(dir, name);
      struct stat st;
      if (::lstat(child.c_str(), &st) != 0) continue;  // raced with a delete
      if (S_ISDIR(st.st_mode)) {
        // Descend only if the directory can contain keys with this prefix.
        std::string as_prefix = child_rel + "/";
        if (as_prefix.compare(0, std::min(as_prefix.size(), prefix.size()), prefix, 0,
                              std::min(as_prefix.size(), prefix.size())) == 0) {
          stack.push_back(child_rel);
        }
      } else if (S_ISREG(st.st_mode) && child_rel.compare(0, prefix.size(), prefix) == 0) {
        out.push_back({child_rel, static_cast<uint64_t>(st.st_size)});
      }
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

}  // namespace ferry::store
