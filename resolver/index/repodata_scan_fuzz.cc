// libFuzzer target: the incremental repodata.json scanner (RepodataScanner).
//
// Input: 2 bytes that choose how the document is fed (a chunk-size limit and a seed), then the
// document. Each document is scanned 5 times: kPortable, kAvx2 and kAvx512 in one go (Finish
// only), kAuto and kPortable fed in chunks; then again with spaces after each '{'. Traps when the
// results differ, when a record's spans are not inside the document (or its text is not '{'..'}',
// or its name not inside it), when a crc is not RecordCrc, or, for documents that are valid JSON,
// when the result differs from a simdjson On-Demand reference of the contract. The document sits
// right before a PROT_NONE page and its bytes not yet fed are ASan-poisoned, so reading at or past
// `available` is caught.
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/index/repodata_scan.h"
#include "tests/support/repodata_reference.h"

using ferry::Status;
using ferry::resolver::RecordCrc;
using ferry::resolver::RepodataScanner;
using ferry::resolver::ScannedRecord;
using ferry::resolver::SkippedRecord;
using Kernel = RepodataScanner::Kernel;
using ferry::resolver::scan_testing::Diff;
using ferry::resolver::scan_testing::GuardedDoc;
using ferry::resolver::scan_testing::Outcome;
using ferry::resolver::scan_testing::ReferenceScan;

namespace {

[[noreturn]] void Fail(const char* what, std::string_view doc) {
  std::fprintf(stderr, "repodata_scan_fuzz: %s\ndocument (%zu bytes): %.*s\n", what, doc.size(),
               static_cast<int>(std::min<size_t>(doc.size(), 2000)), doc.data());
  __builtin_trap();
}

// max_chunk 0: Finish only; else Feed chunks of 1..max_chunk bytes (from `seed`), then Finish.
Outcome Scan(std::string_view doc, Kernel kernel, size_t max_chunk, uint32_t seed) {
  GuardedDoc buf(doc);
  RepodataScanner scanner(buf.data(), kernel);
  Outcome out;
  auto take = [&] {
    out.records.insert(out.records.end(), scanner.records().begin(), scanner.records().end());
    scanner.records().clear();
  };
  std::string first_error;
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  size_t available = 0;
  while (max_chunk > 0 && available < doc.size()) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    available = std::min(doc.size(), available + 1 + static_cast<size_t>(x % max_chunk));
    buf.Reveal(available);
    Status st = scanner.Feed(available);
    if (x & 0x100) take();
    if (!st.ok()) {
      first_error = st.message();
      if (scanner.Feed(available).message() != first_error) Fail("Feed forgot its error", doc);
      break;
    }
  }
  buf.Reveal(doc.size());
  Status st = scanner.Finish(doc.size());
  take();
  if (!first_error.empty() && st.message() != first_error) Fail("Finish forgot the error", doc);
  out.ok = st.ok();
  out.error = st.message();
  out.skipped = scanner.skipped();
  return out;
}

void Check(std::string_view doc, size_t max_chunk, uint32_t seed) {
  const Outcome whole = Scan(doc, Kernel::kPortable, 0, seed);
  if (Diff(whole, Scan(doc, Kernel::kAvx2, 0, seed), doc) != "") Fail("kAvx2 != kPortable", doc);
  if (Diff(whole, Scan(doc, Kernel::kAvx512, 0, seed), doc) != "") {
    Fail("kAvx512 != kPortable", doc);
  }
  if (Diff(whole, Scan(doc, Kernel::kAuto, max_chunk, seed), doc) != "") Fail("chunked kAuto", doc);
  if (Diff(whole, Scan(doc, Kernel::kPortable, max_chunk, seed), doc) != "") {
    Fail("chunked kPortable", doc);
  }

  static constexpr std::string_view kPrefix = "invalid repodata at byte ";
  static constexpr std::string_view kSuffix = "; the file is truncated or not JSON";
  if (!whole.ok) {
    const std::string& e = whole.error;
    const bool syntax = e.compare(0, kPrefix.size(), kPrefix) == 0 && e.size() >= kSuffix.size() &&
                        e.compare(e.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
    if (!syntax && e != "'packages' is not an object" && e != "'packages.conda' is not an object") {
      Fail("unexpected error message", doc);
    }
  }
  uint64_t last_end = 0;
  for (const ScannedRecord& r : whole.records) {
    const uint64_t n = doc.size();
    if (r.fn_off > n || r.fn_len > n - r.fn_off || r.json_off > n || r.json_len > n - r.json_off ||
        r.json_len < 2 || r.name_off < r.json_off || r.name_len == 0 ||
        r.name_off + r.name_len > r.json_off + r.json_len) {
      Fail("record span outside the document", doc);
    }
    if (r.fn_off < last_end || r.fn_off + r.fn_len > r.json_off) Fail("records out of order", doc);
    last_end = r.json_off + r.json_len;
    const std::string_view fn = doc.substr(r.fn_off, r.fn_len);
    const std::string_view json = doc.substr(r.json_off, r.json_len);
    const std::string_view name = doc.substr(r.name_off, r.name_len);
    if (json.front() != '{' || json.back() != '}') Fail("record text is not {...}", doc);
    if (r.crc != RecordCrc(fn, json)) Fail("crc is not RecordCrc", doc);
    if (fn.find('\\') != std::string_view::npos || name.find('\\') != std::string_view::npos ||
        name.find('"') != std::string_view::npos || fn.find('"') != std::string_view::npos) {
      Fail("escaped name or file in a record", doc);
    }
  }
  // On valid JSON (the reference cannot tell what must happen to other documents).
  const Outcome ref = ReferenceScan(doc);
  if (ref.error == "*root is not an object") {
    if (whole.ok || whole.error.compare(0, kPrefix.size(), kPrefix) != 0) {
      Fail("valid JSON that is not an object was accepted", doc);
    }
  } else if ((ref.ok || ref.error[0] != '*') && Diff(ref, whole, doc) != "") {
    Fail("differs from the simdjson reference", doc);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static constexpr size_t kChunks[] = {1, 2, 7, 63, 64, 65, 200, 4096};
  const size_t max_chunk = kChunks[data[0] & 7];
  const uint32_t seed = (static_cast<uint32_t>(data[0]) << 8) | data[1];
  const std::string_view doc(reinterpret_cast<const char*>(data) + 2, size - 2);
  Check(doc, max_chunk, seed);
  // The same document with 1-64 spaces after every '{' (still JSON if it was): moves the text
  // of each record across the skipper's 64-byte windows.
  if (doc.find('{') != std::string_view::npos) {
    std::string moved;
    for (char c : doc) {
      moved += c;
      if (c == '{') moved.append(1 + (data[1] & 63), ' ');
    }
    Check(moved, max_chunk, seed);
  }
  return 0;
}
