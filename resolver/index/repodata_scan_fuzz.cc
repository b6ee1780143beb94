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
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/index/repodata_scan.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define FERRY_FUZZ_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define FERRY_FUZZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef FERRY_FUZZ_POISON
#define FERRY_FUZZ_POISON(p, n) ((void)(p), (void)(n))
#define FERRY_FUZZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

using ferry::Status;
using ferry::resolver::RecordCrc;
using ferry::resolver::RepodataScanner;
using ferry::resolver::ScannedRecord;
using ferry::resolver::SkippedRecord;
using Kernel = RepodataScanner::Kernel;

namespace {

namespace od = simdjson::ondemand;

[[noreturn]] void Fail(const char* what, std::string_view doc) {
  std::fprintf(stderr, "repodata_scan_fuzz: %s\ndocument (%zu bytes): %.*s\n", what, doc.size(),
               static_cast<int>(std::min<size_t>(doc.size(), 2000)), doc.data());
  __builtin_trap();
}

struct Outcome {
  bool ok = true;
  std::string error;
  std::vector<ScannedRecord> records;
  std::vector<SkippedRecord> skipped;
};

bool Same(const Outcome& a, const Outcome& b) {
  if (a.ok != b.ok || a.error != b.error) return false;
  if (!a.ok) return true;  // records found before an error are not compared
  if (a.records.size() != b.records.size() || a.skipped.size() != b.skipped.size()) return false;
  for (size_t i = 0; i < a.records.size(); ++i) {
    const ScannedRecord& x = a.records[i];
    const ScannedRecord& y = b.records[i];
    if (x.fn_off != y.fn_off || x.fn_len != y.fn_len || x.json_off != y.json_off ||
        x.json_len != y.json_len || x.name_off != y.name_off || x.name_len != y.name_len ||
        x.crc != y.crc) {
      return false;
    }
  }
  for (size_t i = 0; i < a.skipped.size(); ++i) {
    if (a.skipped[i].filename != b.skipped[i].filename ||
        a.skipped[i].reason != b.skipped[i].reason) {
      return false;
    }
  }
  return true;
}

// The document in a mapping, ending right before a PROT_NONE page; bytes not revealed yet are
// poisoned (ASan) and hold brackets and quotes.
class GuardedDoc {
 public:
  explicit GuardedDoc(std::string_view doc) : doc_(doc) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t rounded = (doc.size() + page - 1) / page * page;
    len_ = rounded + page;
    void* m = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) __builtin_trap();
    base_ = static_cast<char*>(m);
    if (mprotect(base_ + rounded, page, PROT_NONE) != 0) __builtin_trap();
    data_ = base_ + rounded - doc.size();
    for (size_t i = 0; i < doc.size(); ++i) data_[i] = "\"}]\\"[i % 4];
    FERRY_FUZZ_POISON(data_, doc.size());
  }
  ~GuardedDoc() {
    FERRY_FUZZ_UNPOISON(data_, doc_.size());
    munmap(base_, len_);
  }
  GuardedDoc(const GuardedDoc&) = delete;
  GuardedDoc& operator=(const GuardedDoc&) = delete;
  const char* data() const { return data_; }
  void Reveal(size_t n) {
    if (n <= shown_) return;
    FERRY_FUZZ_UNPOISON(data_ + shown_, n - shown_);
    std::memcpy(data_ + shown_, doc_.data() + shown_, n - shown_);
    shown_ = n;
  }

 private:
  std::string_view doc_;
  char* base_ = nullptr;
  char* data_ = nullptr;
  size_t len_ = 0;
  size_t shown_ = 0;
};

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

std::string_view RawString(const char* p, const char* end) {
  const char* q = p;
  while (q < end && *q != '"') q += *q == '\\' ? 2 : 1;
  return std::string_view(p, static_cast<size_t>(std::min(q, end) - p));
}

int MaxDepth(std::string_view doc) {
  int depth = 0;
  int max = 0;
  bool in_string = false;
  for (size_t i = 0; i < doc.size(); ++i) {
    const char c = doc[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max = std::max(max, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max;
}

// The contract on a valid JSON document (same as ReferenceScan in repodata_scan_test.cc).
// Returns false when it cannot tell (not JSON, nested deeper than the scanner's 66 levels);
// out->error is "*" for any syntax error.
bool Reference(std::string_view doc, Outcome* out) {
  simdjson::padded_string padded(doc);
  simdjson::dom::parser validator;
  simdjson::dom::element ignored;
  if (validator.parse(padded).get(ignored) || MaxDepth(doc) > 66) return false;
  const char* base = padded.data();
  const char* end = base + doc.size();
  od::parser parser;
  od::parser rec_parser;
  od::document d;
  od::object root;
  if (parser.iterate(padded).get(d)) return false;
  if (d.get_object().get(root)) {
    out->ok = false;
    out->error = "*";
    return true;
  }
  for (auto field : root) {
    od::raw_json_string k;
    if (field.key().get(k)) return false;
    std::string_view key = RawString(reinterpret_cast<const char*>(k.raw()), end);
    if (key != "packages" && key != "packages.conda") continue;
    od::object pkgs;
    if (field.value().get_object().get(pkgs)) {
      out->ok = false;
      out->error = "'" + std::string(key) + "' is not an object";
      return true;
    }
    for (auto entry : pkgs) {
      od::raw_json_string ek;
      od::value v;
      od::json_type type;
      if (entry.key().get(ek) || entry.value().get(v) || v.type().get(type)) return false;
      const char* fp = reinterpret_cast<const char*>(ek.raw());
      std::string_view fn = RawString(fp, end);
      if (type != od::json_type::object) {
        out->skipped.push_back({std::string(fn), "not an object"});
        continue;
      }
      od::object rec;
      std::string_view raw;
      if (v.get_object().get(rec) || rec.raw_json().get(raw)) return false;
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\t' ||
                              raw.back() == '\r')) {
        raw.remove_suffix(1);
      }
      simdjson::padded_string rec_padded(raw);
      const char* rbase = rec_padded.data();
      const char* rend = rbase + raw.size();
      od::document rd;
      od::object ro;
      if (rec_parser.iterate(rec_padded).get(rd) || rd.get_object().get(ro)) return false;
      bool found = false;
      bool is_string = false;
      std::string_view name;
      for (auto f : ro) {
        od::raw_json_string fk;
        if (f.key().get(fk)) return false;
        if (RawString(reinterpret_cast<const char*>(fk.raw()), rend) != "name") continue;
        found = true;
        od::value nv;
        od::json_type nt;
        if (f.value().get(nv) || nv.type().get(nt)) return false;
        if (nt == od::json_type::string) {
          is_string = true;
          od::raw_json_string rn;
          if (nv.get_raw_json_string().get(rn)) return false;
          name = RawString(reinterpret_cast<const char*>(rn.raw()), rend);
        }
        break;
      }
      const char* reason = nullptr;
      if (!found) {
        reason = "missing 'name'";
      } else if (!is_string) {
        reason = "'name' is not a string";
      } else if (name.find('\\') != std::string_view::npos ||
                 fn.find('\\') != std::string_view::npos) {
        reason = "escaped name or file";
      } else if (name.empty()) {
        reason = "missing 'name'";
      }
      if (reason) {
        out->skipped.push_back({std::string(fn), reason});
        continue;
      }
      ScannedRecord r{};
      r.fn_off = static_cast<uint64_t>(fp - base);
      r.fn_len = static_cast<uint32_t>(fn.size());
      r.json_off = static_cast<uint64_t>(raw.data() - base);
      r.json_len = static_cast<uint32_t>(raw.size());
      r.name_off = r.json_off + static_cast<uint64_t>(name.data() - rbase);
      r.name_len = static_cast<uint32_t>(name.size());
      r.crc = RecordCrc(fn, raw);
      out->records.push_back(r);
    }
  }
  return true;
}

void Check(std::string_view doc, size_t max_chunk, uint32_t seed) {
  const Outcome whole = Scan(doc, Kernel::kPortable, 0, seed);
  if (!Same(whole, Scan(doc, Kernel::kAvx2, 0, seed))) Fail("kAvx2 != kPortable", doc);
  if (!Same(whole, Scan(doc, Kernel::kAvx512, 0, seed))) Fail("kAvx512 != kPortable", doc);
  if (!Same(whole, Scan(doc, Kernel::kAuto, max_chunk, seed))) Fail("chunked kAuto", doc);
  if (!Same(whole, Scan(doc, Kernel::kPortable, max_chunk, seed))) Fail("chunked kPortable", doc);

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
  Outcome ref;
  if (Reference(doc, &ref)) {
    if (!ref.ok && ref.error == "*") {
      if (whole.ok || whole.error.compare(0, kPrefix.size(), kPrefix) != 0) {
        Fail("valid JSON that is not an object was accepted", doc);
      }
    } else if (!Same(ref, whole)) {
      Fail("differs from the simdjson reference", doc);
    }
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
