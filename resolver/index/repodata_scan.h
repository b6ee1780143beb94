// Finds the records of a conda repodata.json document in one pass, incrementally: the bytes may
// be fed while they arrive (a download appending to a file that is mapped in memory), so the
// index is ready almost as soon as the last byte is.
//
// What it checks: the document is one JSON object; at depths 0-2 (the root, its values, and the
// entries of `packages` / `packages.conda`) the structure is checked token by token (keys,
// colons, commas, brackets, literals and numbers; not the characters inside strings); deeper
// values (the records' fields) are skipped with a SIMD bracket/string scanner that checks only
// that strings end and brackets match, up to 64 levels. A record's own fields are parsed and
// validated later, when its name is asked for (SubdirIndex::Records). Per record it finds the file name (the key), the object's text,
// the value of its top-level "name" field, and a CRC-32C of file name + text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::resolver {

struct ScannedRecord {
  uint64_t fn_off;    // the key in `packages` / `packages.conda` (the file name), no quotes
  uint32_t fn_len;
  uint64_t json_off;  // the record object's text, from '{' to '}' inclusive
  uint32_t json_len;
  uint64_t name_off;  // the string value of its top-level "name" field, no quotes
  uint32_t name_len;
  uint32_t crc;  // RecordCrc(file name, text)
  bool same_name;  // its name equals the previous record's (records of a name usually follow
                   // each other: lets a consumer skip a lookup)
};

struct SkippedRecord {
  std::string filename;
  std::string reason;  // "not an object", "missing 'name'", "'name' is not a string",
                       // "escaped name or file", "larger than 4 GiB"
};

// CRC-32C (Castagnoli; SSE4.2 when the CPU has it). Chainable: Crc32c(Crc32c(0, a), b) is the
// CRC of a followed by b.
uint32_t Crc32c(uint32_t crc, std::string_view data);
// The checksum of one record: Crc32c(Crc32c(0, filename), json).
inline uint32_t RecordCrc(std::string_view filename, std::string_view json) {
  return Crc32c(Crc32c(0, filename), json);
}

class RepodataScanner {
 public:
  // The SIMD instructions used (all give the same results). kAuto: the best the CPU has; a kernel
  // the CPU lacks falls back to kPortable (no SIMD).
  enum class Kernel { kAuto, kPortable, kAvx2, kAvx512 };

  // `doc` is the document's first byte. Bytes are appended after it between calls; the bytes
  // already fed never change.
  explicit RepodataScanner(const char* doc, Kernel kernel = Kernel::kAuto);

  // Scans doc[0, available) as far as it can (`available` never decreases between calls). Reads
  // no byte at or beyond `available`. An error (the document is not repodata JSON up to where
  // the scanner got) is returned again by every later call.
  Status Feed(size_t available);
  // The whole document is doc[0, size): scans the rest and checks that it ended properly.
  // Reads no byte at or beyond `size`.
  Status Finish(size_t size);

  // The records found so far, in document order. The caller may consume and clear them between
  // calls (new ones are appended).
  std::vector<ScannedRecord>& records() { return records_; }
  Kernel kernel() const { return kernel_; }  // the one in use: never kAuto
  // Records skipped (with why), in document order.
  const std::vector<SkippedRecord>& skipped() const { return skipped_; }

  // Error messages are "invalid repodata at byte N: <what>; the file is truncated or not JSON",
  // or "'packages' is not an object" (resp. 'packages.conda').

 private:
  enum class Frame : uint8_t { kRootObject, kPackages, kObject, kArray };
  enum class Expect : uint8_t { kValue, kKeyOrEnd, kKey, kColon, kCommaOrEnd, kValueOrEnd };
  struct Container {
    Frame frame;
    Expect expect;
  };
  // A value at depth >= 3 (a record, or any nested container) being skipped.
  struct Skip {
    bool active = false;
    bool record = false;        // a record of `packages*`: find "name", emit it
    uint64_t start = 0;         // offset of its opening bracket
    uint64_t pos = 0;           // next window to scan
    uint64_t stack = 0;         // bit per nesting level: 1 = '{', 0 = '['
    uint32_t depth = 0;         // nesting inside the value (the opening bracket is 1)
    uint64_t in_string = 0;     // all ones if the previous window ended inside a string
    uint64_t escaped = 0;       // 1 if the previous window ended with an odd backslash run
    std::vector<uint64_t> name_keys;  // offsets of `"name"` strings at the record's top level
  };

  Status Scan(size_t end, bool final);
  void ComputeCrcs(size_t from);  // of records_[from, end): found by this call
  // Runs the skipper over windows wholly before `end` (or to `end` through a padded copy when
  // `final`). Returns true when the value closed (skip_.pos is just past its closing bracket).
  Result<bool> RunSkip(size_t end, bool final);
  Status FinishRecord(uint64_t end);
  Status Syntax(uint64_t at, const std::string& what);
  Status Value(uint64_t at, char c);  // a value starts at `at` in the top container

  const char* doc_;
  Kernel kernel_;
  uint64_t pos_ = 0;  // next byte to tokenize (depths 0-2)
  std::vector<Container> stack_;
  bool root_done_ = false;
  bool started_ = false;
  Skip skip_;
  // The current `packages*` entry: its key, and whether it is being skipped as a non-object.
  uint64_t key_off_ = 0;
  uint32_t key_len_ = 0;
  bool key_escaped_ = false;
  uint64_t last_key_off_ = 0;  // of the last key at depth 1 (to recognize `packages*`)
  uint32_t last_key_len_ = 0;
  Status error_;
  std::vector<ScannedRecord> records_;
  std::string_view prev_name_;  // of the last record found
  std::vector<SkippedRecord> skipped_;
};

}  // namespace ferry::resolver
