#include "store/materialize/fsutil.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ferry::store {

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Status::User(what + " " + path + ": " + std::strerror(errno));
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("reading", path);
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoStatus("reading", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

static Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing", path);
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode,
                           bool sync) {
  static std::atomic<unsigned> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return ErrnoStatus("creating", tmp);
  Status s = WriteAll(fd, data, tmp);
  if (s.ok() && sync && ::fsync(fd) != 0) s = ErrnoStatus("syncing", tmp);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus("closing", tmp);
  if (s.ok() && ::fchmodat(AT_FDCWD, tmp.c_str(), mode, 0) != 0) s = ErrnoStatus("chmod", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus("renaming into", path);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return ErrnoStatus("creating", path);
  Status s = WriteAll(fd, data, path);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus("closing", path);
  if (s.ok() && (mode & 07000) == 0 && ::fchmodat(AT_FDCWD, path.c_str(), mode, 0) != 0)
    s = ErrnoStatus("chmod", path);  // the umask must not strip modes the package asked for
  return s;
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::Ok();
  if (::mkdir(path.c_str(), mode) == 0) return Status::Ok();
  if (errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::User("creating directory " + path + ": exists and is not a directory");
  }
  if (errno != ENOENT) return ErrnoStatus("creating directory", path);
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    FERRY_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), mode));
  }
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return Status::Ok();
  return ErrnoStatus("creating directory", path);
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);  // does not follow symlinks
  if (ec) return Status::User("removing " + path + ": " + ec.message());
  return Status::Ok();
}

std::string UrlsafeB64NoPad(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return out;
}

std::string NormalizeRelPath(std::string_view path, std::string* why) {
  if (path.empty()) {
    *why = "empty path";
    return "";
  }
  if (path.front() == '/') {
    *why = "absolute path";
    return "";
  }
  for (char c : path) {
    if (c == '\0' || c == '\t' || c == '\n' || c == '\r') {
      *why = "control character in path";
      return "";
    }
  }
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view comp = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      *why = "'..' component";
      return "";
    }
    if (!out.empty()) out.push_back('/');
    out.append(comp);
  }
  if (out.empty()) *why = "path names the root";
  return out;
}

}  // namespace ferry::store
