// Small POSIX helpers shared by the materializer (store/ may not depend on src/platform).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "src/status.h"

namespace ferry::store {

// "<what> <path>: <strerror(errno)>" as kUser.
Status ErrnoStatus(const std::string& what, const std::string& path);
// Whole file. Error (kUser) naming the path.
Result<std::string> ReadWholeFile(const std::string& path);
// temp file in the same directory + write + (fsync if `sync`) + rename. Error names the path.
Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode = 0644,
                           bool sync = true);
// Creates a new file (O_EXCL) with `data` and `mode`. No fsync.
Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode);
// mkdir -p. Ok if it exists as a directory.
Status MakeDirs(const std::string& path, mode_t mode = 0755);
// rm -rf without following symlinks. Missing is ok.
Status RemoveTree(const std::string& path);
// base64url without padding (RECORD hashes).
std::string UrlsafeB64NoPad(std::string_view raw);
// Lexically normalizes a relative archive path: strips "./" and empty components.
// Returns "" (and sets *why) for absolute paths, ".." components, NUL/TAB/CR/LF characters.
std::string NormalizeRelPath(std::string_view path, std::string* why);

}  // namespace ferry::store
