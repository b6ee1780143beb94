// One subdir of a conda channel (its repodata.json), indexed by package name and materialized
// lazily: building the index only records, per name, where each record's JSON text is (the
// file is walked once by RepodataScanner, possibly while it downloads); a name's records are
// parsed into specs::PackageRecord (simdjson On-Demand) only when asked for. `packages` and `packages.conda` both count; a
// `.conda` and a `.tar.bz2` of the same name-version-build are one record (the `.conda`).
//
// The index can be saved in a versioned binary cache (docs/formats/repodata-cache.md): the
// document itself followed by a name directory and per-record references into it, so a warm load
// neither downloads, decompresses nor scans the channel's JSON.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "src/reporter.h"
#include "src/specs/package_record.h"
#include "src/status.h"

namespace ferry::resolver {

class RepodataScanner;

class SubdirIndex {
 public:
  // Where records come from, for URLs and messages.
  struct Origin {
    std::string channel_url;  // normalized, no trailing '/'
    std::string subdir;       // "linux-64", "noarch"
    std::string file;         // "repodata.json" / "repodata.json.zst" (for messages)
  };

  // Indexes a repodata.json document (takes ownership of the bytes). Errors (kUser) name the
  // channel and file: not JSON, truncated, `packages` not an object. Records that cannot be
  // indexed (not an object, no string `name`) are skipped with a warning on `reporter`.
  static Result<std::unique_ptr<SubdirIndex>> FromJson(std::string json, Origin origin,
                                                       Reporter& reporter);
  // Same, over bytes owned by `owner` (e.g. a mapping of the file the body was downloaded to)
  // that stay valid while the index lives; [json.data(), json.data() + capacity) must be
  // readable, with capacity >= json.size() + 64 (simdjson's padding, for reading records).
  static Result<std::unique_ptr<SubdirIndex>> FromJsonView(std::shared_ptr<const void> owner,
                                                           std::string_view json, size_t capacity,
                                                           Origin origin, Reporter& reporter);

  // Builds an index while its document is still arriving (below).
  class Builder;

  // Loads an index saved by SerializeCache. `key` must equal the key it was saved with
  // (URL + validators); a mismatch, wrong version or corrupt file is an error (the caller then
  // falls back to the JSON). Checked up front: trailer, the file size recorded in the footer,
  // magic, version, key, header bounds and the directory's CRC-32C. Each name's references and
  // record texts carry their own CRC-32C, checked when the name is read (see set_reloader for
  // what a mismatch does).
  static Result<std::unique_ptr<SubdirIndex>> FromCache(std::string bytes, Origin origin,
                                                        std::string_view key);
  // Same, over bytes owned by `owner` (e.g. a read-only file mapping) that stay valid while the
  // index lives; only the name directory is read up front.
  static Result<std::unique_ptr<SubdirIndex>> FromCacheView(std::shared_ptr<const void> owner,
                                                            std::string_view bytes, Origin origin,
                                                            std::string_view key);
  // The binary cache form (format version kCacheVersion) tagged with `key`: the repodata
  // document itself, 64 zero bytes, then the index (name directory + record references, each
  // with its record's CRC-32C).
  std::string SerializeCache(std::string_view key) const;
  // Same bytes, handed to `write` in order as batches of pieces that point into the index's own
  // memory (valid only during the call), so a writer can writev(2) them with no copy.
  // Stops at and returns the first error `write` returns.
  using PieceWriter = std::function<Status(const std::vector<std::string_view>&)>;
  Status SerializeCacheTo(std::string_view key, const PieceWriter& write) const;
  // Only the part after the document and its 64 bytes of padding (for a writer that already
  // has the document in the file, e.g. downloaded straight into it).
  Status SerializeIndexTo(std::string_view key, const PieceWriter& write) const;
  static constexpr uint32_t kCacheVersion = 6;
  // The key a cache file was saved with, after checking the footer, magic and version only
  // (cheap). Used to revalidate with the validators the cache was made from.
  static Result<std::string> CacheKeyOf(std::string_view bytes);

  // Called at most once, when a name in a cache-backed index fails its CRC-32C (a cache
  // written without fsync and damaged by a crash): it must return a fresh index of the same
  // subdir (e.g. by re-reading the repodata), which then answers every later call. Without a
  // reloader, or if it fails, the damaged name's records are skipped with a warning.
  using Reloader = std::function<Result<std::unique_ptr<SubdirIndex>>()>;
  void set_reloader(Reloader reloader) { reloader_ = std::move(reloader); }

  // Runs `task` on a thread of its own now; the index waits for it before it goes away. For work
  // that only reads the index and need not delay its use (writing its cache file while the
  // solver starts). At most one task.
  void RunInBackground(std::function<void()> task);
  ~SubdirIndex();

  bool HasName(std::string_view name) const {
    if (const SubdirIndex* r = replacement()) return r->HasName(name);
    return by_name_.count(name) > 0 || blocks_.count(name) > 0;
  }
  size_t name_count() const { return by_name_.size() + blocks_.size(); }
  size_t record_count() const { return record_count_; }
  const Origin& origin() const { return origin_; }

  // The records of `name`, parsed on each call (callers cache). A bad record (unparsable
  // version, missing fields) is skipped with a warning naming the channel, file and record.
  std::vector<specs::PackageRecord> Records(std::string_view name, Reporter& reporter) const;

 private:
  struct Raw {
    std::string_view filename;
    std::string_view json;
    uint32_t crc;  // RecordCrc(filename, json)
  };
  // A record reference as laid out in a cache file's refs table (docs/formats/repodata-cache.md):
  // file name and text offsets/lengths into the body and the record's crc, little-endian. Names
  // of an index made from JSON keep their references in this form, so writing the cache file
  // hands them to the writer as they are.
  struct Ref {
    unsigned char bytes[28];
  };
  SubdirIndex() = default;

  struct Block {  // a name's record references in a cache file, read on demand
    std::string_view refs;
    uint32_t count;
    uint32_t crc32;
  };
  // The raw records of `name`; false if its cache block is damaged (crc32 mismatch).
  bool RawRecords(std::string_view name, std::vector<Raw>* out) const;
  // The index that replaced this one after a damaged block, or null.
  const SubdirIndex* replacement() const {
    std::lock_guard<std::mutex> lock(mu_);
    return replacement_.get();
  }

  Origin origin_;
  std::string_view body_;  // the repodata document
  std::shared_ptr<const void> owner_;  // keeps the document (a string or a mapping) alive
  const char* end_ = nullptr;  // end of readable bytes (for simdjson's padding)
  std::unordered_map<std::string_view, std::vector<Ref>> by_name_;  // from JSON
  std::unordered_map<std::string_view, Block> blocks_;             // from a cache file
  size_t record_count_ = 0;
  Reloader reloader_;
  mutable std::mutex mu_;
  mutable std::unique_ptr<SubdirIndex> replacement_;
  mutable bool reload_tried_ = false;
  std::thread background_;
};

// Builds an index while its document is still arriving (appended in place, e.g. downloaded
// into a file that is mapped in memory): Feed it as bytes come, then Finish. One thread at a
// time may call it.
class SubdirIndex::Builder {
 public:
  Builder(const char* doc, Origin origin);
  ~Builder();
  // doc[0, available) is there (`available` never decreases). An error is final.
  Status Feed(size_t available);
  // The document is doc[0, size), readable up to doc + capacity (capacity >= size + 64), and
  // `owner` keeps it alive. Warnings for skipped records go to `reporter`.
  Result<std::unique_ptr<SubdirIndex>> Finish(std::shared_ptr<const void> owner, size_t size,
                                              size_t capacity, Reporter& reporter);

 private:
  void Take();  // moves the scanner's records into the index
  const char* doc_;
  size_t fed_ = 0;
  std::unique_ptr<SubdirIndex> idx_;
  std::unique_ptr<RepodataScanner> scanner_;
  std::vector<SubdirIndex::Ref>* last_list_ = nullptr;
};

// Parses one repodata record (a JSON object's text, readable with simdjson padding after it).
// Fills channel/url/fn from the arguments. Errors (kUser) say what is wrong with the record.
Result<specs::PackageRecord> ParseRepodataRecord(std::string_view json, size_t capacity,
                                                 std::string_view filename,
                                                 const SubdirIndex::Origin& origin);

}  // namespace ferry::resolver
