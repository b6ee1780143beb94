// The compact per-package manifest ExtractPackage writes at the root of an extracted package
// (kManifestName) so that the linker reads one small text file instead of walking the tree or
// re-parsing info/paths.json. Format (version 1, UTF-8, one record per line, fields split by TAB;
// paths are relative to the package root and never contain TAB/CR/LF — extraction refuses those):
//   ferry-manifest<TAB>1<TAB><kind: conda|wheel><TAB><noarch: -|generic|python>
//   F<TAB>path<TAB>size<TAB>sha256hex<TAB>flags       regular file; flags "-" or "c" (no_link: copy)
//   P<TAB>path<TAB>size<TAB>sha256hex<TAB>t|b<TAB>placeholder   file with a prefix placeholder
//   L<TAB>path<TAB>target                               symbolic link (target relative, inside)
//   D<TAB>path                                          directory that must exist (may be empty)
// For conda packages the records are exactly info/paths.json (or info/files + has_prefix for old
// packages); for wheels every archive member. `info/` itself is not listed for conda.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::store {

enum class EntryType { kFile, kPatched, kSymlink, kDir };

struct ManifestEntry {
  EntryType type = EntryType::kFile;
  std::string path;
  uint64_t size = 0;
  std::string sha256;        // hex of the file as stored (conda: of the package's file)
  bool no_link = false;      // kFile: must be copied, never hardlinked
  bool binary = false;       // kPatched: binary (C-string) mode, else text
  std::string placeholder;   // kPatched
  std::string target;        // kSymlink
};

struct PackageManifest {
  std::string kind;    // "conda" | "wheel"
  std::string noarch;  // "" | "generic" | "python"
  std::vector<ManifestEntry> entries;
};

std::string SerializePackageManifest(const PackageManifest& m);
// Parses the text above. Error (kIntegrity) naming `origin` and the line on malformed input.
Result<PackageManifest> ParsePackageManifest(std::string_view text, const std::string& origin);

}  // namespace ferry::store
