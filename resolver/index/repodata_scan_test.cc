// Tests of the incremental repodata.json scanner (RepodataScanner) and Crc32c.
//
// The main test is differential: seeded random repodata-like documents are scanned with both
// kernels, in one go and fed in random chunks, and compared with a reference on simdjson
// On-Demand that implements the scanner's contract (ReferenceScan in
// tests/support/repodata_reference.h, shared with the fuzz target). Documents live
// in a buffer followed by a PROT_NONE page, and the bytes not yet fed are filled with poison
// (and ASan-poisoned in sanitizer builds), so reading past `available` or past the end is caught.
#include "resolver/index/repodata_scan.h"

#include "tests/support/repodata_reference.h"

#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace ferry;
using namespace ferry::resolver;
using namespace ferry::resolver::scan_testing;
using Kernel = RepodataScanner::Kernel;

namespace {

// Every kernel (one the CPU lacks runs the portable code).
constexpr Kernel kKernels[] = {Kernel::kAuto, Kernel::kPortable, Kernel::kAvx2, Kernel::kAvx512};

const char* KernelName(Kernel k) {
  switch (k) {
    case Kernel::kAuto:
      return "kAuto";
    case Kernel::kPortable:
      return "kPortable";
    case Kernel::kAvx2:
      return "kAvx2";
    case Kernel::kAvx512:
      return "kAvx512";
  }
  return "?";
}

bool IsWs(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

struct Feeding {
  Kernel kernel = Kernel::kAuto;
  // 0: Finish only. Otherwise Feed in chunks of 1..max_chunk bytes, then Finish.
  size_t max_chunk = 0;
  uint64_t seed = 0;
  bool whole_feed = false;  // Feed(size), then Finish(size)
  bool drain = false;       // take the records out after every Feed (as the index builder does)
};

// Scans `doc` as the feeding says. An error from Feed must be returned again by every later
// call (checked here).
Outcome Scan(std::string_view doc, const Feeding& how) {
  GuardedDoc buf(doc);
  RepodataScanner scanner(buf.data(), how.kernel);
  Outcome out;
  auto take = [&] {
    auto& recs = scanner.records();
    out.records.insert(out.records.end(), recs.begin(), recs.end());
    recs.clear();
  };
  Status first_error;
  if (how.whole_feed) {
    buf.Reveal(doc.size());
    first_error = scanner.Feed(doc.size());
  } else if (how.max_chunk > 0) {
    std::mt19937_64 rng(how.seed);
    size_t available = 0;
    while (available < doc.size()) {
      size_t step = 1 + rng() % how.max_chunk;
      if (rng() % 16 == 0) step = 0;  // the same `available` again
      size_t next = std::min(doc.size(), available + step);
      if (next == doc.size() && rng() % 2) break;  // leave the tail to Finish
      buf.Reveal(next);
      available = next;
      Status st = scanner.Feed(available);
      if (how.drain) take();
      if (!st.ok()) {
        first_error = st;
        Status again = scanner.Feed(available);
        CHECK(again.message() == st.message());
        break;
      }
    }
  }
  buf.Reveal(doc.size());
  Status st = scanner.Finish(doc.size());
  take();
  if (!first_error.ok()) CHECK(st.message() == first_error.message());
  out.ok = st.ok();
  out.error = st.message();
  out.skipped = scanner.skipped();
  return out;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// "invalid repodata at byte N: <what>; the file is truncated or not JSON" with N <= size.
bool IsSyntaxError(const std::string& msg, size_t size) {
  static constexpr std::string_view kPrefix = "invalid repodata at byte ";
  if (!StartsWith(msg, kPrefix) || !EndsWith(msg, "; the file is truncated or not JSON")) {
    return false;
  }
  size_t i = kPrefix.size();
  size_t n = 0;
  size_t digits = 0;
  while (i < msg.size() && msg[i] >= '0' && msg[i] <= '9') {
    n = n * 10 + static_cast<size_t>(msg[i++] - '0');
    ++digits;
  }
  return digits > 0 && n <= size && i < msg.size() && msg[i] == ':';
}

// Random repodata-like documents. Every document is valid JSON (checked by the test).
class DocGen {
 public:
  // style 0: compact; 1: indented; 2: random whitespace (" \n\t\r") between all tokens.
  DocGen(uint64_t seed, int style) : rng_(seed), style_(style) {}
  // Nest no value deeper than the scanner's limit (so the document is not an error).
  void NotTooDeep() { max_deep_ = 63; }

  std::string Document(size_t records) {
    std::string o;
    Ws(o);
    o += '{';
    // The root keys, in a random order; packages* split the records between them.
    std::vector<int> keys = {0, 1, 2, 3, 4};
    if (Chance(25)) keys.push_back(3);  // a second "packages"
    if (Chance(30)) keys.push_back(5);  // keys that look like packages* but are not
    if (Chance(20)) keys.push_back(6);
    std::shuffle(keys.begin(), keys.end(), rng_);
    size_t n_pkgs = static_cast<size_t>(
        std::count_if(keys.begin(), keys.end(), [](int k) { return k == 3 || k == 4; }));
    bool first = true;
    for (int k : keys) {
      if (!first) Comma(o);
      first = false;
      Ws(o);
      switch (k) {
        case 0:  // info, sometimes holding a nested "packages" (must not count)
          Key(o, "info");
          if (Chance(50)) {
            o += "{";
            Ws(o);
            Key(o, "subdir");
            o += "\"linux-64\"";
            Comma(o);
            Ws(o);
            Key(o, "packages");
            Packages(o, 2);
            Ws(o);
            o += "}";
          } else {
            Value(o, 3);
          }
          break;
        case 1:
          Key(o, "repodata_version");
          o += Chance(50) ? "1" : "2";
          break;
        case 2: {
          Key(o, "removed");
          o += '[';
          size_t n = Pick(4);
          for (size_t i = 0; i < n; ++i) {
            if (i) Comma(o);
            Ws(o);
            o += '"' + FileName() + '"';
          }
          Ws(o);
          o += ']';
          break;
        }
        case 3:
        case 4:
          Key(o, k == 3 ? "packages" : "packages.conda");
          if (Chance(1)) {  // an error: 'packages' is not an object
            Value(o, 1);    // mostly not an object
          } else {
            Packages(o, records / std::max<size_t>(n_pkgs, 1) + (Chance(50) ? 1 : 0));
          }
          break;
        case 5: {
          // Keys whose raw text is not exactly packages*: skipped whatever their value.
          static const char* kNot[] = {"pack\\u0061ges",  "packages ", "Packages",
                                       "packages.conda2", "package",   "packages.cond"};
          Key(o, kNot[Pick(6)]);
          if (Chance(50)) {
            Value(o, 3);
          } else {
            Packages(o, 3);
          }
          break;
        }
        case 6:
          Key(o, "signatures");
          Value(o, 4);
          break;
      }
    }
    Ws(o);
    o += '}';
    Ws(o);
    return o;
  }

 private:
  bool Chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }

  void Ws(std::string& o) {
    if (style_ == 0) return;
    if (style_ == 1) {
      if (Chance(60)) {
        o += '\n';
        o.append(Pick(9), ' ');
      } else if (Chance(50)) {
        o += ' ';
      }
      return;
    }
    static constexpr char kWs[] = " \n\t\r";
    size_t n = Chance(3) ? 60 + Pick(80) : Pick(4);  // sometimes a run across a 64-byte window
    for (size_t i = 0; i < n; ++i) o += kWs[Pick(4)];
  }
  void Comma(std::string& o) {
    Ws(o);
    o += ',';
  }
  void Key(std::string& o, std::string_view raw) {
    o += '"';
    o += raw;
    o += '"';
    Ws(o);
    o += ':';
    Ws(o);
  }

  // A JSON string's raw text: escapes, raw UTF-8, brackets and quotes-in-escapes, long runs.
  std::string StringBody() {
    static const char* kPieces[] = {"a",
                                    "b",
                                    "x",
                                    "1",
                                    "-",
                                    ".",
                                    "_",
                                    " ",
                                    "{",
                                    "}",
                                    "[",
                                    "]",
                                    ",",
                                    ":",
                                    "\\\"",
                                    "\\\\",
                                    "\\n",
                                    "\\t",
                                    "\\/",
                                    "\\r",
                                    "\\b",
                                    "\\f",
                                    "\\u00e9",
                                    "\\ud83d\\ude00",
                                    "\xc3\xa9",
                                    "\xe2\x82\xac",
                                    "\xf0\x9f\x98\x80",
                                    "name",
                                    "\\\\\\\\\\\\",
                                    "\\\\\\\"",
                                    "'"};
    constexpr size_t kN = sizeof(kPieces) / sizeof(kPieces[0]);
    size_t n = Chance(15) ? 40 + Pick(200) : Pick(12);  // long strings cross windows
    std::string s;
    for (size_t i = 0; i < n; ++i) s += kPieces[Pick(kN)];
    return s;
  }
  std::string PlainName() {
    static const char* kNames[] = {"numpy", "python", "libgcc-ng", "_openmp_mutex", "r-base",
                                   "a",     "x.y",    "name",      "{}[]",          "p:q,r"};
    std::string s = kNames[Pick(10)];
    if (Chance(30)) s += std::to_string(Pick(1000));
    if (Chance(5)) s.append(70 + Pick(60), 'n');  // a long name
    return s;
  }
  std::string FileName() {
    std::string s = PlainName() + "-" + std::to_string(Pick(20)) + "." + std::to_string(Pick(9)) +
                    "-h" + std::to_string(rng_() % 100000) + "_0" +
                    (Chance(50) ? ".tar.bz2" : ".conda");
    if (Chance(4)) s.insert(Pick(s.size()), Chance(50) ? "\\\"" : "\\u00e9");  // escaped file
    if (Chance(2)) s.clear();                                                  // empty file name
    return s;
  }

  void Scalar(std::string& o) {
    switch (Pick(7)) {
      case 0:
        o += '"' + StringBody() + '"';
        break;
      case 1:
        o += std::to_string(static_cast<int64_t>(rng_() % 2000000) - 1000000);
        break;
      case 2:
        o += "-1.5e10";
        break;
      case 3:
        o += "true";
        break;
      case 4:
        o += "false";
        break;
      case 5:
        o += "null";
        break;
      default:
        o += "\"name\"";  // "name" as a value
        break;
    }
  }
  void Value(std::string& o, int depth) {
    if (depth <= 0 || Chance(55)) return Scalar(o);
    bool obj = Chance(50);
    o += obj ? '{' : '[';
    size_t n = Pick(5);
    for (size_t i = 0; i < n; ++i) {
      if (i) Comma(o);
      Ws(o);
      if (obj) {
        static const char* kKeys[] = {"name", "a", "version", "na\\u006de", "x\\\"y", "depends"};
        Key(o, Chance(70) ? kKeys[Pick(6)] : StringBody());
      }
      Value(o, depth - 1);
    }
    Ws(o);
    o += obj ? '}' : ']';
  }

  void Deep(std::string& o, int levels) {
    std::string closing;
    for (int i = 0; i < levels; ++i) {
      if (Chance(50)) {
        o += '[';
        closing += ']';
      } else {
        o += '{';
        Ws(o);
        Key(o, Chance(50) ? "name" : "k");
        closing += '}';
      }
      Ws(o);
    }
    Scalar(o);
    for (size_t i = closing.size(); i-- > 0;) {
      Ws(o);
      o += closing[i];
    }
  }

  void Record(std::string& o) {
    if (Chance(8)) {  // not an object
      switch (Pick(4)) {
        case 0:
          o += "\"" + StringBody() + "\"";
          break;
        case 1:
          o += "42";
          break;
        case 2:
          o += "[{\"name\":\"inside-array\"}]";
          break;
        default:
          o += "null";
      }
      return;
    }
    static const char* kKeys[] = {
        "version", "build",   "build_number", "depends",    "constrains", "license",
        "md5",     "sha256",  "size",         "subdir",     "timestamp",  "noarch",
        "names",   "Name",    "name ",        "na\\u006de", "nam",        "namE",
        "nams",    "nome",    "xame",         "naMe",       "nbme",       "track_features",
        "x\\\"y",  "\\\\name"};
    constexpr size_t kNKeys = sizeof(kKeys) / sizeof(kKeys[0]);
    // The "name" fields: [position, kind] with kind 0 string, 1 not a string, 2 empty, 3 escaped.
    std::vector<int> names;
    int mode = static_cast<int>(Pick(100));
    if (mode < 65) {
      names = {0};
    } else if (mode < 70) {
      names = {};
    } else if (mode < 76) {
      names = {1};
    } else if (mode < 81) {
      names = {2};
    } else if (mode < 87) {
      names = {3};
    } else if (mode < 93) {
      names = {0, static_cast<int>(Pick(4))};  // the first one counts
    } else {
      names = {static_cast<int>(1 + Pick(3)), 0};
    }
    size_t n_other = Pick(9);
    std::vector<int> order(n_other, -1);
    for (int kind : names)
      order.insert(order.begin() + static_cast<long>(Pick(order.size() + 1)), kind);
    o += '{';
    bool first = true;
    for (int kind : order) {
      if (!first) Comma(o);
      first = false;
      Ws(o);
      if (kind < 0) {
        Key(o, Chance(80) ? kKeys[Pick(kNKeys)] : StringBody());
        if (Chance(1)) {  // nested 40-68 deep (the record is at depth 3 or 4)
          Deep(o, std::min(max_deep_, static_cast<int>(40 + Pick(29))));
        } else if (Chance(10)) {
          o += "{\"name\":\"nested\"}";
        } else {
          Value(o, 3);
        }
        continue;
      }
      Key(o, "name");
      switch (kind) {
        case 0:
          o += '"' + PlainName() + '"';
          break;
        case 1: {
          static const char* kNot[] = {"1", "null", "true", "[\"a\"]", "{\"name\":\"a\"}", "-0.5"};
          o += kNot[Pick(6)];
          break;
        }
        case 2:
          o += "\"\"";
          break;
        default: {
          static const char* kEsc[] = {"\"a\\u0062c\"", "\"a\\\"b\"", "\"\\\\\"", "\"x\\ny\""};
          o += kEsc[Pick(4)];
        }
      }
    }
    Ws(o);
    o += '}';
  }

  void Packages(std::string& o, size_t n) {
    o += '{';
    std::string last;
    for (size_t i = 0; i < n; ++i) {
      if (i) Comma(o);
      Ws(o);
      std::string fn = Chance(3) && !last.empty() ? last : FileName();  // duplicate keys too
      last = fn;
      Key(o, fn);
      Record(o);
    }
    Ws(o);
    o += '}';
  }

  std::mt19937_64 rng_;
  int style_;
  int max_deep_ = 1000;
};

void CheckAllFeedings(const std::string& doc, const Outcome& expected, uint64_t seed,
                      size_t max_chunk) {
  for (Kernel kernel : kKernels) {
    const char* kname = KernelName(kernel);
    for (int mode = 0; mode < 3; ++mode) {
      Feeding how;
      how.kernel = kernel;
      how.seed = seed * 7919 + static_cast<uint64_t>(mode);
      how.drain = mode == 2;
      how.whole_feed = mode == 1;
      if (mode == 2) how.max_chunk = std::min<size_t>(max_chunk, 1 + seed % max_chunk);
      Outcome got = Scan(doc, how);
      std::string diff;
      if (!expected.ok && StartsWith(expected.error, "*")) {
        // An error the reference cannot word: any syntax error will do.
        if (got.ok || !IsSyntaxError(got.error, doc.size()))
          diff = "expected a syntax error, got [" + got.error + "]";
      } else {
        diff = Diff(expected, got, doc);
      }
      INFO("seed " << seed << ", " << kname << ", feeding mode " << mode << " (max chunk "
                   << how.max_chunk << "), document of " << doc.size() << " bytes"
                   << (doc.size() < 3000 ? ":\n" + doc : std::string()));
      CHECK(diff == "");
    }
  }
}

}  // namespace

TEST_CASE("repodata scan: Crc32c known vector, chaining, and a bitwise reference", "[scan]") {
  CHECK(Crc32c(0, "123456789") == 0xE3069283u);
  CHECK(Crc32c(0, "") == 0u);
  CHECK(Crc32c(0x12345678u, "") == 0x12345678u);
  // 32 zero bytes (RFC 3720 B.4): 0x8A9136AA.
  CHECK(Crc32c(0, std::string(32, '\0')) == 0x8A9136AAu);
  auto bitwise = [](uint32_t crc, std::string_view s) {
    crc = ~crc;
    for (unsigned char c : s) {
      crc ^= c;
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
  };
  std::mt19937_64 rng(7);
  std::string buf(2100, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  for (int i = 0; i < 400; ++i) {
    size_t off = rng() % 17;  // unaligned starts
    size_t len = i < 100 ? static_cast<size_t>(i) : rng() % 2048;
    std::string_view s(buf.data() + off, len);
    uint32_t whole = Crc32c(0, s);
    INFO("offset " << off << ", length " << len);
    REQUIRE(whole == bitwise(0, s));
    size_t cut = len ? rng() % len : 0;
    CHECK(Crc32c(Crc32c(0, s.substr(0, cut)), s.substr(cut)) == whole);
    CHECK(RecordCrc(s.substr(0, cut), s.substr(cut)) == whole);
  }
  CHECK(RecordCrc("a.conda", "{}") == Crc32c(0, "a.conda{}"));
  CHECK(RecordCrc("a.conda", "{}") != RecordCrc("a.conda", "{ }"));
}

TEST_CASE("repodata scan: kernel() is the kernel in use", "[scan]") {
  const char doc[] = "{}";
  CHECK(RepodataScanner(doc, Kernel::kPortable).kernel() == Kernel::kPortable);
  for (Kernel k : kKernels) CHECK(RepodataScanner(doc, k).kernel() != Kernel::kAuto);
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) {
    CHECK(RepodataScanner(doc, Kernel::kAvx2).kernel() == Kernel::kAvx2);
    CHECK(RepodataScanner(doc, Kernel::kAuto).kernel() != Kernel::kPortable);
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
    CHECK(RepodataScanner(doc, Kernel::kAvx512).kernel() == Kernel::kAvx512);
    CHECK(RepodataScanner(doc, Kernel::kAuto).kernel() == Kernel::kAvx512);
  }
#endif
}

TEST_CASE("repodata scan: a hand-checked document", "[scan]") {
  const std::string doc =
      "{\"info\":{\"packages\":{\"z\":{\"name\":\"no\"}}},\n"
      " \"packages\" : "
      "{\"a-1.0-0.tar.bz2\":{\"build\":\"0\",\"depends\":[\"name\",{\"name\":\"x\"}],"
      "\"name\":\"a\"},\"s\":\"str\",\"n\":5,\"arr\":[{\"name\":\"q\"}],\"nn\":{\"version\":\"1\"},"
      "\"ns\":{\"name\":3},\"ne\":{\"name\":\"\"},\"esc\\n\":{\"name\":\"x\"},"
      "\"en\":{\"name\":\"a\\u0062\"},\"nk\":{\"na\\u006de\":\"x\"},"
      "\"first\":{\"name\":[1],\"name\":\"later\"}},\t\"packages.conda\":{\"b.conda\":{ \"name\" : "
      "\"b\" }},\"pack\\u0061ges\":[],\"packages\":{\"c\":{\"name\":\"c\"}}}\r\n";
  for (Kernel kernel : kKernels) {
    for (size_t max_chunk : {size_t{0}, size_t{1}, size_t{5}}) {
      Feeding how;
      how.kernel = kernel;
      how.max_chunk = max_chunk;
      Outcome got = Scan(doc, how);
      INFO("kernel " << KernelName(kernel) << ", chunks of <= " << max_chunk);
      REQUIRE(got.ok);
      REQUIRE(got.records.size() == 3);
      auto text = [&doc](uint64_t off, uint32_t len) { return doc.substr(off, len); };
      const ScannedRecord& a = got.records[0];
      CHECK(text(a.fn_off, a.fn_len) == "a-1.0-0.tar.bz2");
      CHECK(text(a.json_off, a.json_len) ==
            "{\"build\":\"0\",\"depends\":[\"name\",{\"name\":\"x\"}],\"name\":\"a\"}");
      CHECK(text(a.name_off, a.name_len) == "a");
      CHECK(a.crc == RecordCrc(text(a.fn_off, a.fn_len), text(a.json_off, a.json_len)));
      const ScannedRecord& b = got.records[1];
      CHECK(text(b.fn_off, b.fn_len) == "b.conda");
      CHECK(text(b.json_off, b.json_len) == "{ \"name\" : \"b\" }");
      CHECK(text(b.name_off, b.name_len) == "b");
      const ScannedRecord& c = got.records[2];
      CHECK(text(c.fn_off, c.fn_len) == "c");
      CHECK(text(c.json_off, c.json_len) == "{\"name\":\"c\"}");
      CHECK(c.crc == RecordCrc("c", "{\"name\":\"c\"}"));
      std::vector<std::pair<std::string, std::string>> skipped;
      for (const auto& s : got.skipped) skipped.emplace_back(s.filename, s.reason);
      std::vector<std::pair<std::string, std::string>> want = {{"s", "not an object"},
                                                               {"n", "not an object"},
                                                               {"arr", "not an object"},
                                                               {"nn", "missing 'name'"},
                                                               {"ns", "'name' is not a string"},
                                                               {"ne", "missing 'name'"},
                                                               {"esc\\n", "escaped name or file"},
                                                               {"en", "escaped name or file"},
                                                               {"nk", "missing 'name'"},
                                                               {"first", "'name' is not a string"}};
      CHECK(skipped == want);
      // The reference agrees.
      CHECK(Diff(ReferenceScan(doc), got, doc) == "");
    }
  }
}

TEST_CASE("repodata scan: random documents match the reference, whatever the feeding", "[scan]") {
  simdjson::dom::parser validator;
  size_t records = 0;
  size_t skipped = 0;
  size_t errors = 0;
  for (uint64_t seed = 1; seed <= 600; ++seed) {
    DocGen gen(seed, static_cast<int>(seed % 3));
    std::string doc = gen.Document(seed % 40);
    simdjson::padded_string padded(doc);
    simdjson::dom::element ignored;
    INFO("seed " << seed << ", document:\n" << doc);
    REQUIRE(validator.parse(padded).get(ignored) == simdjson::SUCCESS);  // the generator is right
    Outcome expected = ReferenceScan(doc);
    records += expected.records.size();
    errors += expected.ok ? 0 : 1;
    skipped += expected.skipped.size();
    CheckAllFeedings(doc, expected, seed, seed % 2 ? 64 : 4096);
    // Truncated copies are syntax errors (unless only whitespace is missing).
    std::mt19937_64 rng(seed);
    for (int t = 0; t < 4 && expected.ok; ++t) {
      size_t k = rng() % doc.size();
      if (std::all_of(doc.begin() + static_cast<long>(k), doc.end(), IsWs)) continue;
      Feeding how;
      how.kernel = kKernels[t];
      how.max_chunk = t < 2 ? 0 : 64;
      Outcome got = Scan(std::string_view(doc).substr(0, k), how);
      INFO("truncated to " << k << " bytes");
      CHECK_FALSE(got.ok);
      CHECK(IsSyntaxError(got.error, k));
    }
  }
  // The generator covers what it should.
  CHECK(records > 1000);
  CHECK(skipped > 200);
  CHECK(errors > 5);
  CHECK(errors < 150);
}

TEST_CASE("repodata scan: documents over 1 MB match the reference", "[scan]") {
  for (uint64_t seed = 1001; seed <= 1003; ++seed) {
    DocGen gen(seed, static_cast<int>(seed % 3));
    gen.NotTooDeep();
    std::string doc = gen.Document(5000);
    while (doc.size() < (1u << 20)) doc = gen.Document(10000);
    Outcome expected = ReferenceScan(doc);
    INFO("seed " << seed << ", " << doc.size() << " bytes");
    CHECK(expected.records.size() > 1000);
    CheckAllFeedings(doc, expected, seed, 4096);
  }
}

TEST_CASE("repodata scan: records are ready before the document ends", "[scan]") {
  std::string doc = "{\"packages\":{";
  for (int i = 0; i < 2000; ++i) {
    if (i) doc += ",";
    doc += "\"p" + std::to_string(i) + ".conda\":{\"name\":\"p\",\"depends\":[\"a\",\"b\"]}";
  }
  doc += "}}";
  for (Kernel kernel : kKernels) {
    GuardedDoc buf(doc);
    RepodataScanner scanner(buf.data(), kernel);
    buf.Reveal(doc.size() / 2);
    REQUIRE(scanner.Feed(doc.size() / 2).ok());
    // Every record that ends 4 KiB before `available` is out already.
    size_t complete = 0;
    for (size_t p = doc.find("]}"); p != std::string::npos && p + 2 + 4096 <= doc.size() / 2;
         p = doc.find("]}", p + 1)) {
      ++complete;
    }
    CHECK(scanner.records().size() >= complete);
    CHECK(complete > 500);
    buf.Reveal(doc.size());
    REQUIRE(scanner.Finish(doc.size()).ok());
    CHECK(scanner.records().size() == 2000);
  }
}

TEST_CASE("repodata scan: values nest 64 deep in a record, not 65", "[scan]") {
  for (int levels : {63, 64, 65}) {
    std::string open;
    std::string close;
    for (int i = 0; i < levels - 1; ++i) {
      open += i % 3 ? "[" : "{\"name\":";
      close = (i % 3 ? "]" : "}") + close;
    }
    // The record object is level 1.
    std::string doc = "{\"packages\":{\"a\":{\"name\":\"a\",\"d\":" + open + "1" + close + "}}}";
    std::string in_info = "{\"info\":[[" + open + "1" + close + "]]}";
    for (Kernel kernel : kKernels) {
      Feeding how;
      how.kernel = kernel;
      Outcome got = Scan(doc, how);
      Outcome info = Scan(in_info, how);
      INFO(levels << " levels: " << got.error);
      if (levels <= 64) {
        CHECK(got.ok);
        CHECK(got.records.size() == 1);
        CHECK(info.ok);
        CHECK(Diff(ReferenceScan(doc), got, doc) == "");
      } else {
        CHECK_FALSE(got.ok);
        CHECK(IsSyntaxError(got.error, doc.size()));
        CHECK_FALSE(info.ok);
        CHECK(IsSyntaxError(info.error, in_info.size()));
      }
    }
  }
}

TEST_CASE("repodata scan: every truncation of a small document is an error", "[scan]") {
  const std::string doc =
      " {\"info\":{\"subdir\":\"linux-64\",\"packages\":{}},\"repodata_version\":1,\n"
      "  \"packages\":{\"a-1-0.tar.bz2\":{\"depends\":[\"b >=1\",{\"x\":[1,2.5e3,null]}],"
      "\"name\":\"a\",\"s\":\"q\\\"\\\\\\u00e9}]\"},\"bad\":7},\n"
      "  \"packages.conda\":{\"c-2-1.conda\":{\"name\":\"c\"}},\"removed\":[\"z\"]}\n\t \n";
  for (Kernel kernel : kKernels) {
    Feeding whole;
    whole.kernel = kernel;
    Outcome full = Scan(doc, whole);
    REQUIRE(full.ok);
    REQUIRE(full.records.size() == 2);
    for (size_t k = 0; k < doc.size(); ++k) {
      std::string_view prefix = std::string_view(doc).substr(0, k);
      bool only_ws_missing = std::all_of(doc.begin() + static_cast<long>(k), doc.end(), IsWs);
      for (size_t max_chunk : {size_t{0}, size_t{1}, size_t{3}}) {
        Feeding how;
        how.kernel = kernel;
        how.max_chunk = max_chunk;
        how.seed = k;
        Outcome got = Scan(prefix, how);
        INFO("prefix of " << k << " bytes, chunks of <= " << max_chunk << ": " << got.error);
        if (only_ws_missing) {
          CHECK(got.ok);
          CHECK(Diff(full, got, doc) == "");
        } else {
          CHECK_FALSE(got.ok);
          CHECK(IsSyntaxError(got.error, k));
        }
      }
    }
  }
}

TEST_CASE("repodata scan: invalid documents are errors", "[scan]") {
  auto scan = [](std::string_view doc, Kernel kernel, size_t max_chunk) {
    Feeding how;
    how.kernel = kernel;
    how.max_chunk = max_chunk;
    return Scan(doc, how);
  };
  const char* kSyntax[] = {
      "",
      "   \n",
      "[]",
      "\"x\"",
      "5",
      "null",
      "{",
      "}",
      "{]",
      "{\"packages\" {}}",                                               // missing colon
      "{\"packages\":{\"a\" {\"name\":\"a\"}}}",                         // missing colon at depth 2
      "{\"a\":1 \"packages\":{}}",                                       // missing comma
      "{\"packages\":{\"a\":{\"name\":\"a\"} \"b\":{\"name\":\"b\"}}}",  // missing comma, depth 2
      "{\"packages\":{\"a\":{\"name\":\"a\",\"d\":[}}}",                 // mismatched brackets
      "{\"packages\":{\"a\":{\"name\":\"a\",\"d\":{]}}}",
      "{\"packages\":{\"a\":{\"name\":\"a\"]}}",
      "{\"packages\":{\"a\":{\"name\":\"a\"}]}",
      "{\"packages\":{\"a\":{\"name\":\"a}}}",  // unterminated string
      "{\"packages\":{\"a\":{\"name\":\"a\\\"}}}",
      "{\"packages\":{\"a\":{\"name\":\"a\"}}} x",  // garbage after the root
      "{\"packages\":{}}{}",
      "{\"packages\":{}},",
      "{\"packages\":{}}]",
      "{\"packages\":{\"a\":{\"name\":\"a\"} x, \"b\":{\"name\":\"b\"}}}",  // garbage, depth 2
      "{\"packages\":{\"a\":{\"name\":\"a\"},,\"b\":{\"name\":\"b\"}}}",
      "{\"packages\":{\"a\":{\"name\":\"a\"},}}",  // trailing comma, depth 2
      "{\"a\":1,}",                                // trailing comma, depth 1
      "{,\"a\":1}",
      "{\"packages\":{a:{\"name\":\"a\"}}}",  // key not a string
      "{1:2}",
      "{\"a\" x:1}",
      "{\"info\":{\"subdir\":\"x\"]}",
      "{\"info\":[1,2}",
      "{\"info\":1.2.3}",  // numbers at depths 0-2 are JSON numbers
      "{\"info\":01}",
      "{\"info\":-}",
      "{\"info\":--1}",
      "{\"info\":1e}",
      "{\"info\":1.}",
      "{\"repodata_version\":1x}",
      "{\"removed\":[\"a\" \"b\"]}",
      "{\"packages\":{\"a\":{\"name\":\"a\"}}",  // root not closed
  };
  for (Kernel kernel : kKernels) {
    for (size_t max_chunk : {size_t{0}, size_t{1}, size_t{7}}) {
      for (const char* doc : kSyntax) {
        Outcome got = scan(doc, kernel, max_chunk);
        INFO("document [" << doc << "], chunks of <= " << max_chunk << ": " << got.error);
        CHECK_FALSE(got.ok);
        CHECK(IsSyntaxError(got.error, std::strlen(doc)));
      }
      struct Exact {
        const char* doc;
        const char* error;
      };
      const Exact kExact[] = {
          {"{\"packages\": []}", "'packages' is not an object"},
          {"{\"packages.conda\": \"x\"}", "'packages.conda' is not an object"},
          {"{\"packages\": null}", "'packages' is not an object"},
          {"{\"packages\":{\"a\":{\"name\":\"a\"}},\"packages.conda\":5}",
           "'packages.conda' is not an object"},
          {"{\"packages\":{},\"packages\":[{\"name\":\"a\"}]}", "'packages' is not an object"},
      };
      for (const Exact& e : kExact) {
        Outcome got = scan(e.doc, kernel, max_chunk);
        INFO("document [" << e.doc << "], chunks of <= " << max_chunk);
        CHECK_FALSE(got.ok);
        CHECK(got.error == e.error);
      }
    }
  }
  // Values at depths 0-2 are checked token by token: bad literals there are errors. (Numbers
  // are not checked: `{"info":1.2.3}` passes.)
  const char* kBadScalars[] = {"{\"info\":tru}", "{\"info\":nul}", "{\"info\":truex}",
                               "{\"packages\":{\"a\":fals}}", "{\"info\":[1,2,nulll]}"};
  for (Kernel kernel : kKernels) {
    for (const char* doc : kBadScalars) {
      Outcome got = scan(doc, kernel, 0);
      INFO("document [" << doc << "]: " << got.error);
      CHECK_FALSE(got.ok);
      CHECK(IsSyntaxError(got.error, std::strlen(doc)));
    }
  }
  // Valid odd documents are fine.
  for (const char* doc : {"{}", " {} \n", "{\"packages\":{}}", "{\"packages \":[]}",
                          "{\"pack\\u0061ges\":5}", "{\"info\":{\"packages\":[]}}"}) {
    Outcome got = scan(doc, Kernel::kAuto, 0);
    INFO("document [" << doc << "]: " << got.error);
    CHECK(got.ok);
    CHECK(got.records.empty());
  }
}
