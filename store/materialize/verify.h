// `ferry verify PREFIX`: check a materialized environment against its own records.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/status.h"

namespace ferry::store {

struct VerifyReport {
  // Prefix-relative paths, sorted.
  std::vector<std::string> missing;   // recorded but absent
  std::vector<std::string> modified;  // wrong type or size (an edit, a truncation, a replacement)
  std::vector<std::string> corrupt;   // same size but different sha256, or an unreadable record
  std::vector<std::string> extra;     // present but recorded by no package
  uint64_t checked = 0;               // recorded paths examined

  bool clean() const { return missing.empty() && modified.empty() && corrupt.empty() && extra.empty(); }
  // Exit code policy (documented for users in `ferry verify --help`):
  //   0 clean; 3 if anything looks like corruption (bit rot: content differs at the same size, or
  //   a conda-meta record / RECORD that cannot be parsed); otherwise 1 (files missing, edited,
  //   or added).
  int ExitCode() const;
};

// Checks every path recorded by conda-meta/<dist>.json (paths_data: sha256_in_prefix when the
// file was relocated, else sha256; size; type) and by every lib/python*/site-packages/*.dist-info
// RECORD (sha256 urlsafe-b64, size), then walks the prefix for files nobody recorded. Ignored as
// extras: conda-meta/ itself, __pycache__/ directories and *.pyc files (Python writes them at run
// time). Error (kUser) if `prefix` is not a directory with a conda-meta/ directory.
// Reads the file system only; thread-compatible.
Result<VerifyReport> VerifyEnvironment(const std::string& prefix);

}  // namespace ferry::store
