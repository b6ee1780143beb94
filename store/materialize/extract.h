// Package extraction: stream a package file (.conda, .tar.bz2, .whl) into a directory.
// Stage "prepare" of the materializer (ARCHITECTURE.md): the store extracts each package blob once
// per digest into a staging directory and renames it into place; link.h then links from there.
#pragma once

#include <string>

#include "src/status.h"

namespace ferry::store {

// Name of the compact manifest ExtractPackage writes at the root of dest_dir (one line per entry,
// see extract.cc); link.h reads it instead of walking the tree. Not part of the package.
inline constexpr const char* kManifestName = ".ferry-manifest";

// Extracts the package file at `archive_path` into `dest_dir`.
//  - `filename` is the package's published file name; its suffix selects the format
//    (".conda": stored zip holding info-*.tar.zst and pkg-*.tar.zst, decoded straight from the
//    outer archive with no temporary files; ".tar.bz2": conda v1; ".whl": zip) and it names the
//    package in every error message.
//  - `dest_dir` must not exist or be an empty directory; it is created (mode 0755) if missing.
//    It is meant to be a staging directory that the caller renames into its final place on
//    success and removes on failure (this function does not clean up after a failure).
//  - Hostile input is refused with a Status naming the package and the entry: `..` components,
//    absolute paths, symlinks whose target resolves outside dest_dir, hardlinks to entries
//    outside, device/fifo/socket entries, duplicate/overlapping entries through symlinked parents,
//    and (conda) files whose size or sha256 disagrees with info/paths.json. Nothing is ever written
//    outside dest_dir: every file is created relative to a directory fd with O_NOFOLLOW and every
//    parent is a real directory created by this call.
//  - On success dest_dir also holds kManifestName (the file list used by the linker).
// Errors: kIntegrity for archive corruption / digest or size mismatch / unsafe entries,
// kUser for I/O errors on the destination. Thread-safe: no shared state; many calls may run in
// parallel on different destinations.
Status ExtractPackage(const std::string& archive_path, const std::string& filename,
                      const std::string& dest_dir);

}  // namespace ferry::store
