// Link stage of the materializer: builds an environment prefix from extracted package
// directories (each holding the kManifestName manifest written by ExtractPackage).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/lock/lock.h"
#include "src/status.h"

namespace ferry::store {

struct LinkPackage {
  LockedPackage package;      // from the lock (conda-meta records are written from it)
  std::string extracted_dir;  // absolute path of the extracted package in the store
};

enum class LinkMode {
  kHardlink,  // default: link(2); reflink then copy on EXDEV / EMLINK / EPERM
  kReflink,   // FICLONE first, then copy
  kCopy,      // always copy (still reflinks when the file system can)
};

struct LinkOptions {
  LinkMode mode = LinkMode::kHardlink;
  int threads = 0;              // 0: min(8, 2 * hardware_concurrency)
  std::string env_id;           // recorded in conda-meta/ferry.json
  std::string command = "ferry fetch";  // recorded in conda-meta/history
  // Where to build the tree before the rename; must not exist and be on the prefix's file
  // system. Empty: "<parent>/.<basename>.ferry-tmp-<pid>-<random>" beside the prefix.
  std::string staging_dir;
};

struct LinkStats {
  uint64_t files = 0;       // regular files in the prefix
  uint64_t hardlinked = 0;
  uint64_t copied = 0;      // copies and reflinks
  uint64_t patched = 0;     // prefix-relocated files and rewritten shebangs
  uint64_t generated = 0;   // entry points, RECORD, INSTALLER, conda-meta
  uint64_t clobbered = 0;   // paths provided by several packages (the later one wins)
  bool already_existed = false;
};

// Builds the environment at `prefix` (absolute path) from `packages`, in lock order (a later
// package wins a path two packages provide, so wheels override conda files).
// The tree is built in a staging directory beside `prefix` and renamed into place, so a reader
// never sees half an environment; on any error the staging directory is removed and `prefix` is
// not created. If `prefix` already exists and its conda-meta/ferry.json names options.env_id,
// nothing is touched and already_existed is set (also when another process wins the race);
// if it exists otherwise, kUser error. Relocation uses `prefix` (not the staging path):
// text placeholders replaced everywhere, binary placeholders replaced in their C string and
// NUL-padded (a prefix longer than the placeholder is a kUser error naming the file), shebangs
// longer than 127 bytes rewritten to `#!/usr/bin/env <interpreter>`. noarch: python packages go
// to lib/pythonX.Y/site-packages (X.Y from the environment's `python` package) with entry points
// from info/link.json; wheels are installed per the binary distribution format (purelib/platlib,
// .data spreading, #!python scripts, console/gui scripts, INSTALLER=ferry, RECORD).
// Writes conda-meta/<name>-<version>-<build>.json per conda package, conda-meta/history and
// conda-meta/ferry.json. Thread-safe for distinct prefixes; uses an internal thread pool.
Result<LinkStats> LinkEnvironment(const std::vector<LinkPackage>& packages,
                                  const std::string& prefix, const LinkOptions& options);

// Exposed for tests. Text relocation: every occurrence of `placeholder` becomes `prefix`.
std::string ReplaceText(std::string_view data, std::string_view placeholder,
                        std::string_view prefix);
// Binary relocation: in every NUL-terminated C string containing `placeholder`, each occurrence
// is replaced and the string NUL-padded to its old length. Error (kUser) if `prefix` is longer
// than `placeholder`; `what` names the file in that message.
Result<std::string> ReplaceBinary(std::string_view data, std::string_view placeholder,
                                  std::string_view prefix, const std::string& what);
// If `data` starts with a shebang line longer than 127 bytes, returns it with the first line
// replaced by `#!/usr/bin/env <basename of interpreter> [args]`; else returns it unchanged.
std::string FixLongShebang(std::string data);
// The first line of a generated Python launcher for `python` (absolute path): `#!<python>` when
// it fits the kernel limit and has no spaces, else a /bin/sh `exec` trampoline (two lines).
std::string PythonShebang(const std::string& python);

}  // namespace ferry::store
