// Bundles: one self-contained, streamable file holding environments (manifests + package blobs)
// for CI caches and air-gapped hosts (`ferry export` / `ferry import`). Format:
// docs/formats/bundle.md (a POSIX pax tar: "ferry-bundle.json" first, then manifests/, then
// blobs/sha256/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/reporter.h"
#include "src/status.h"
#include "store/local/local_store.h"

namespace ferry::store {

inline constexpr int kBundleVersion = 1;

struct BundleStats {
  std::vector<std::string> env_ids;  // in bundle order
  uint64_t blobs = 0;                // blob entries written / read
  uint64_t bytes = 0;                // blob bytes written / read
  uint64_t blobs_added = 0;          // import: blobs that were new to the local store
};

// Writes a bundle of the environments `env_ids` to `out_path`: every environment must be
// complete in `local` (manifest and every blob; kUser naming what is missing). Blob bytes are
// re-hashed while they are copied (a corrupt local blob is kIntegrity and no bundle is written).
// Written to a temp file beside `out_path`, fsynced, renamed: `out_path` is either the old file
// or the complete new bundle. Deterministic for the same env_ids (fixed order, zero mtimes).
Result<BundleStats> ExportBundle(const std::vector<std::string>& env_ids, LocalStore& local,
                                 const std::string& out_path, Reporter& reporter);

// Reads a bundle as a stream and adds its environments to `local`. Everything is verified before
// anything is added: the header (bundle_version), every manifest (ParseEnvManifest, named by its
// env-id), every blob (sha256 and size re-computed while streaming into temp files, each listed in
// the header), and completeness (each manifest's blobs are in the bundle or already in `local`).
// A corrupt, truncated or unexpected entry is kIntegrity naming it, and nothing is kept; an
// unreadable file is kUser; a newer bundle_version is kUser "upgrade ferry".
Result<BundleStats> ImportBundle(const std::string& path, LocalStore& local, Reporter& reporter);

}  // namespace ferry::store
