// Test support for the repodata scanner (resolver/index/repodata_scan.h), shared by its unit
// tests and its fuzz target: a reference implementation of the scanner's contract on simdjson
// On-Demand, a description of how two scan outcomes differ, and a document buffer that catches
// reads past what has been revealed.
#pragma once

#include <simdjson.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/index/repodata_scan.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FERRY_SCAN_REFERENCE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FERRY_SCAN_REFERENCE_ASAN 1
#endif
#ifdef FERRY_SCAN_REFERENCE_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace ferry::resolver::scan_testing {

struct Outcome {
  bool ok = true;
  std::string error;
  std::vector<ScannedRecord> records;
  std::vector<SkippedRecord> skipped;
};

// The raw text of a JSON string whose opening quote is just before `p` (up to the closing quote).
inline std::string_view RawString(const char* p, const char* end) {
  const char* q = p;
  while (q < end && *q != '"') q += *q == '\\' ? 2 : 1;
  return std::string_view(p, static_cast<size_t>(std::min(q, end) - p));
}

// The scanner's limit: values may nest 64 deep inside a record (the root, `packages` and the
// record are 3 levels), and as deep elsewhere.
inline constexpr int kMaxDepth = 66;

// The deepest bracket nesting of a valid JSON document (the root object is 1).
inline int MaxDepth(std::string_view doc) {
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

// The scanner's contract on `doc`, by simdjson On-Demand. Errors it can predict exactly
// ("'packages' is not an object") are in `error`. Others start with "*": "*root is not an
// object" (the scanner must report a syntax error), and "*not JSON" / "*nested too deep" /
// "*simdjson ..." (the reference cannot tell what the scanner must do with such a document).
inline Outcome ReferenceScan(std::string_view doc) {
  namespace od = simdjson::ondemand;
  Outcome out;
  auto fail = [&out](std::string what) {
    out.ok = false;
    out.error = std::move(what);
    return out;
  };
  auto is_ws = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  simdjson::padded_string padded(doc);
  const char* base = padded.data();
  const char* end = base + doc.size();
  simdjson::dom::parser validator;  // On-Demand does not check all of the document
  simdjson::dom::element ignored;
  if (validator.parse(padded).get(ignored)) return fail("*not JSON");
  if (MaxDepth(doc) > kMaxDepth) return fail("*nested too deep");
  od::parser parser;
  od::parser rec_parser;
  od::document d;
  if (parser.iterate(padded).get(d)) return fail("*simdjson iterate");
  od::object root;
  if (d.get_object().get(root)) return fail("*root is not an object");
  std::string_view prev_name;
  for (auto field : root) {
    od::raw_json_string k;
    if (field.key().get(k)) return fail("*simdjson key");
    std::string_view key = RawString(reinterpret_cast<const char*>(k.raw()), end);
    if (key != "packages" && key != "packages.conda") continue;
    od::object pkgs;
    if (field.value().get_object().get(pkgs)) {
      return fail("'" + std::string(key) + "' is not an object");
    }
    for (auto entry : pkgs) {
      od::raw_json_string ek;
      od::value v;
      od::json_type type;
      if (entry.key().get(ek) || entry.value().get(v) || v.type().get(type)) {
        return fail("*simdjson entry");
      }
      const char* fp = reinterpret_cast<const char*>(ek.raw());
      std::string_view fn = RawString(fp, end);
      if (type != od::json_type::object) {
        out.skipped.push_back({std::string(fn), "not an object"});
        continue;
      }
      od::object rec;
      std::string_view raw;
      if (v.get_object().get(rec) || rec.raw_json().get(raw)) return fail("*simdjson record");
      while (!raw.empty() && is_ws(raw.back())) raw.remove_suffix(1);
      // The record's own top-level fields, by a second parser on a copy of its text.
      simdjson::padded_string rec_padded(raw);
      const char* rbase = rec_padded.data();
      const char* rend = rbase + raw.size();
      od::document rd;
      od::object ro;
      if (rec_parser.iterate(rec_padded).get(rd) || rd.get_object().get(ro)) {
        return fail("*simdjson record fields");
      }
      bool found = false;
      bool is_string = false;
      std::string_view name;
      for (auto f : ro) {
        od::raw_json_string fk;
        if (f.key().get(fk)) return fail("*simdjson record key");
        if (RawString(reinterpret_cast<const char*>(fk.raw()), rend) != "name") continue;
        found = true;
        od::value nv;
        od::json_type nt;
        if (f.value().get(nv) || nv.type().get(nt)) return fail("*simdjson name");
        if (nt == od::json_type::string) {
          is_string = true;
          od::raw_json_string rn;
          if (nv.get_raw_json_string().get(rn)) return fail("*simdjson name string");
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
        out.skipped.push_back({std::string(fn), reason});
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
      const std::string_view name_in_doc(base + r.name_off, r.name_len);
      r.same_name = name_in_doc == prev_name;
      prev_name = name_in_doc;
      out.records.push_back(r);
    }
  }
  return out;
}

// Describes the first difference between two outcomes ("" if the same). Records are compared
// field by field, skipped records by file name and reason; when both end in the same error,
// the records found before it are not compared.
inline std::string Diff(const Outcome& a, const Outcome& b, std::string_view doc) {
  if (a.ok != b.ok || a.error != b.error) {
    return "status: [" + (a.ok ? std::string("ok") : a.error) + "] vs [" +
           (b.ok ? std::string("ok") : b.error) + "]";
  }
  if (!a.ok) return "";
  auto show = [doc](const ScannedRecord& r) {
    auto piece = [doc](uint64_t off, uint32_t len) {
      if (off > doc.size() || len > doc.size() - off) return std::string("<out of range>");
      return std::string(doc.substr(off, std::min<uint32_t>(len, 60)));
    };
    return "{fn " + std::to_string(r.fn_off) + "+" + std::to_string(r.fn_len) + " '" +
           piece(r.fn_off, r.fn_len) + "', json " + std::to_string(r.json_off) + "+" +
           std::to_string(r.json_len) + " '" + piece(r.json_off, r.json_len) + "', name " +
           std::to_string(r.name_off) + "+" + std::to_string(r.name_len) + " '" +
           piece(r.name_off, r.name_len) + "', crc " + std::to_string(r.crc) + ", same name " +
           (r.same_name ? "yes" : "no") + "}";
  };
  for (size_t i = 0; i < std::max(a.records.size(), b.records.size()); ++i) {
    if (i >= a.records.size()) {
      return "extra record #" + std::to_string(i) + " " + show(b.records[i]);
    }
    if (i >= b.records.size()) {
      return "missing record #" + std::to_string(i) + " " + show(a.records[i]);
    }
    const ScannedRecord& x = a.records[i];
    const ScannedRecord& y = b.records[i];
    if (x.fn_off != y.fn_off || x.fn_len != y.fn_len || x.json_off != y.json_off ||
        x.json_len != y.json_len || x.name_off != y.name_off || x.name_len != y.name_len ||
        x.crc != y.crc || x.same_name != y.same_name) {
      return "record #" + std::to_string(i) + ": " + show(x) + " vs " + show(y);
    }
  }
  for (size_t i = 0; i < std::max(a.skipped.size(), b.skipped.size()); ++i) {
    auto one = [](const std::vector<SkippedRecord>& v, size_t i) {
      return i < v.size() ? "'" + v[i].filename + "': " + v[i].reason : std::string("<none>");
    };
    if (i >= a.skipped.size() || i >= b.skipped.size() ||
        a.skipped[i].filename != b.skipped[i].filename ||
        a.skipped[i].reason != b.skipped[i].reason) {
      return "skipped #" + std::to_string(i) + ": " + one(a.skipped, i) + " vs " +
             one(b.skipped, i);
    }
  }
  return "";
}

// A copy of a document that ends right before a PROT_NONE page. Until Reveal() makes them part
// of the document, its bytes are poison: they hold quotes, backslashes and closing brackets (so
// a scanner that looks at them goes wrong) and, under ASan, are poisoned.
class GuardedDoc {
 public:
  explicit GuardedDoc(std::string_view doc) : doc_(doc) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t rounded = (doc.size() + page - 1) / page * page;
    map_len_ = rounded + page;
    void* m = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    base_ = static_cast<char*>(m);
    if (mprotect(base_ + rounded, page, PROT_NONE) != 0) std::abort();
    data_ = base_ + rounded - doc.size();
    static constexpr char kPoison[] = "\"}]\\\"}\\]}";
    for (size_t i = 0; i < doc.size(); ++i) data_[i] = kPoison[i % (sizeof(kPoison) - 1)];
#ifdef FERRY_SCAN_REFERENCE_ASAN
    ASAN_POISON_MEMORY_REGION(data_, doc.size());
#endif
  }
  ~GuardedDoc() {
#ifdef FERRY_SCAN_REFERENCE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(data_, doc_.size());
#endif
    munmap(base_, map_len_);
  }
  GuardedDoc(const GuardedDoc&) = delete;
  GuardedDoc& operator=(const GuardedDoc&) = delete;

  const char* data() const { return data_; }
  // Makes doc[0, n) readable (n never decreases).
  void Reveal(size_t n) {
    if (n <= revealed_) return;
#ifdef FERRY_SCAN_REFERENCE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(data_ + revealed_, n - revealed_);
#endif
    std::memcpy(data_ + revealed_, doc_.data() + revealed_, n - revealed_);
    revealed_ = n;
  }

 private:
  std::string_view doc_;
  char* base_ = nullptr;
  char* data_ = nullptr;
  size_t map_len_ = 0;
  size_t revealed_ = 0;
};

}  // namespace ferry::resolver::scan_testing
