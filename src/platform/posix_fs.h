// POSIX implementation of FileSystem.
#pragma once

#include "src/fs.h"

namespace ferry {

// Thread-safe (no state). WriteFileAtomic: temp file "<path>.tmp.<pid>.<n>" in the same
// directory, write, fsync, rename, fsync(dir).
class PosixFileSystem : public FileSystem {
 public:
  Result<std::string> ReadFile(const std::string& path) override;
  Status WriteFileAtomic(const std::string& path, std::string_view data) override;
  Status WriteCacheFile(const std::string& path, std::string_view data) override;
  Status CreateDirs(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status RemoveAll(const std::string& path) override;
};

// Free functions used by the implementation and by code that already owns a real path.
// `durable` = false skips both fsyncs (cache entries that are verified when read).
Status PosixWriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                            bool durable = true);
Status PosixFsyncDir(const std::string& dir);

}  // namespace ferry
