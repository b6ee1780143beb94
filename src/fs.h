// FileSystem: the small file interface the libraries use, so tests can be hermetic and faults
// can be injected by wrappers. The real implementation is platform/posix_fs.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry {

struct FileInfo {
  bool exists = false;
  bool is_dir = false;
  bool is_symlink = false;
  uint64_t size = 0;
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;  // the nanoseconds within mtime_sec (0 where the system has none)
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Whole-file read. Error (kUser) naming the path.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Atomic publish: writes a temp file in the same directory, fsyncs, renames over `path`,
  // fsyncs the directory. Readers see the old content or the new content, never a mix.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  // Cache publish: like WriteFileAtomic (temp file + rename, so readers never see a partial
  // write) but without fsync. After a crash the file may be missing or empty, so only use it for
  // data that is verified when read (a cache entry carrying its own checksum).
  virtual Status WriteCacheFile(const std::string& path, std::string_view data) {
    return WriteFileAtomic(path, data);
  }
  // Creates `path` and missing parents (mkdir -p). Ok if it already exists.
  virtual Status CreateDirs(const std::string& path) = 0;
  // lstat(); a missing path is not an error (exists=false).
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // rename(2). Both paths on the same file system.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file or a whole tree. A missing path is not an error.
  virtual Status RemoveAll(const std::string& path) = 0;
};

// Path helpers (pure string functions).
std::string JoinPath(std::string_view a, std::string_view b);
std::string DirName(std::string_view path);
std::string BaseName(std::string_view path);

}  // namespace ferry
