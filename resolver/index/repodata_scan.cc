#include "resolver/index/repodata_scan.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ferry::resolver {
namespace {

// --- CRC-32C ---
uint32_t Crc32cSoft(uint32_t crc, const char* p, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = (crc >> 8) ^ table[(crc ^ static_cast<uint8_t>(p[i])) & 0xff];
  return ~crc;
}
#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHw(uint32_t crc, const char* p, size_t n) {
  uint64_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = __builtin_ia32_crc32qi(c32, static_cast<uint8_t>(*p));
  return ~c32;
}

// The record crcs (RecordCrc) of three records at once: three independent CRC streams over their
// texts keep the CRC unit busy (one stream waits on each instruction's latency).
__attribute__((target("sse4.2"))) void RecordCrc3Hw(const char* doc, ScannedRecord* r) {
  uint64_t c[3];
  const char* p[3];
  size_t n[3];
  for (int k = 0; k < 3; ++k) {
    c[k] = ~Crc32cHw(0, doc + r[k].fn_off, r[k].fn_len);
    p[k] = doc + r[k].json_off;
    n[k] = r[k].json_len;
  }
  const size_t common = std::min(n[0], std::min(n[1], n[2])) / 8;
  for (size_t i = 0; i < common; ++i) {
    uint64_t w[3];
    for (int k = 0; k < 3; ++k) std::memcpy(&w[k], p[k] + 8 * i, 8);
    c[0] = __builtin_ia32_crc32di(c[0], w[0]);
    c[1] = __builtin_ia32_crc32di(c[1], w[1]);
    c[2] = __builtin_ia32_crc32di(c[2], w[2]);
  }
  for (int k = 0; k < 3; ++k) {
    r[k].crc = Crc32cHw(~static_cast<uint32_t>(c[k]), p[k] + 8 * common, n[k] - 8 * common);
  }
}
#endif

// --- 64-byte windows, classified into bit masks (bit i = byte i) ---
constexpr size_t kWindow = 64;
constexpr size_t kLookahead = 4;  // bytes read past a window (the `"name` pattern)

struct Masks {
  uint64_t quote;      // '"'
  uint64_t backslash;  // '\\'
  uint64_t open;       // '{' or '['
  uint64_t close;      // '}' or ']'
  uint64_t name;       // '"' followed by "name"
};

Masks ClassifyPortable(const char* p) {
  Masks m{0, 0, 0, 0, 0};
  for (size_t i = 0; i < kWindow; ++i) {
    const uint64_t bit = uint64_t{1} << i;
    switch (p[i]) {
      case '"':
        m.quote |= bit;
        if (std::memcmp(p + i + 1, "name", 4) == 0) m.name |= bit;
        break;
      case '\\': m.backslash |= bit; break;
      case '{':
      case '[': m.open |= bit; break;
      case '}':
      case ']': m.close |= bit; break;
      default: break;
    }
  }
  return m;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) Masks ClassifyAvx2(const char* p) {
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i lower = _mm256_set1_epi8(0x20);
  const __m256i open = _mm256_set1_epi8('{');    // '[' | 0x20 == '{'
  const __m256i close = _mm256_set1_epi8('}');   // ']' | 0x20 == '}'
  Masks m{0, 0, 0, 0, 0};
  for (int h = 0; h < 2; ++h) {
    const char* q = p + 32 * h;
#define FERRY_LOAD(k) _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + (k)))
#define FERRY_BITS(eq) static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(eq)))
    const __m256i v = FERRY_LOAD(0);
    const __m256i is_quote = _mm256_cmpeq_epi8(v, quote);
    const __m256i folded = _mm256_or_si256(v, lower);
    __m256i name = _mm256_and_si256(is_quote, _mm256_cmpeq_epi8(FERRY_LOAD(1), _mm256_set1_epi8('n')));
    name = _mm256_and_si256(name, _mm256_cmpeq_epi8(FERRY_LOAD(2), _mm256_set1_epi8('a')));
    name = _mm256_and_si256(name, _mm256_cmpeq_epi8(FERRY_LOAD(3), _mm256_set1_epi8('m')));
    name = _mm256_and_si256(name, _mm256_cmpeq_epi8(FERRY_LOAD(4), _mm256_set1_epi8('e')));
    const int shift = 32 * h;
    m.quote |= FERRY_BITS(is_quote) << shift;
    m.backslash |= FERRY_BITS(_mm256_cmpeq_epi8(v, backslash)) << shift;
    m.open |= FERRY_BITS(_mm256_cmpeq_epi8(folded, open)) << shift;
    m.close |= FERRY_BITS(_mm256_cmpeq_epi8(folded, close)) << shift;
    m.name |= FERRY_BITS(name) << shift;
#undef FERRY_LOAD
#undef FERRY_BITS
  }
  return m;
}

__attribute__((target("avx512f,avx512bw"))) Masks ClassifyAvx512(const char* p) {
  const __m512i v = _mm512_loadu_si512(p);
  const __m512i folded = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
  Masks m;
  m.quote = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"'));
  m.backslash = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\\'));
  m.open = _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8('{'));    // '[' | 0x20 == '{'
  m.close = _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8('}'));   // ']' | 0x20 == '}'
  __mmask64 name = m.quote;
  name = _mm512_mask_cmpeq_epi8_mask(name, _mm512_loadu_si512(p + 1), _mm512_set1_epi8('n'));
  name = _mm512_mask_cmpeq_epi8_mask(name, _mm512_loadu_si512(p + 2), _mm512_set1_epi8('a'));
  name = _mm512_mask_cmpeq_epi8_mask(name, _mm512_loadu_si512(p + 3), _mm512_set1_epi8('m'));
  name = _mm512_mask_cmpeq_epi8_mask(name, _mm512_loadu_si512(p + 4), _mm512_set1_epi8('e'));
  m.name = name;
  return m;
}
#endif

// Bits of the characters escaped by a backslash (each after an odd run of backslashes).
// `*carry` is 1 when the window's first character is escaped (the last one ended a run), and
// is updated for the next window. Backslashes are rare in repodata: a plain loop.
uint64_t Escaped(uint64_t backslash, uint64_t* carry) {
  uint64_t escaped = *carry;
  *carry = 0;
  backslash &= ~escaped;  // an escaped backslash escapes nothing
  while (backslash) {
    const int i = __builtin_ctzll(backslash);
    if (i == 63) {
      *carry = 1;
      break;
    }
    escaped |= uint64_t{1} << (i + 1);
    backslash &= ~(uint64_t{3} << i);
  }
  return escaped;
}

// Bit i = XOR of bits 0..i: 1 from an opening quote up to (not including) its closing quote.
uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

uint64_t BitsBelow(int b) { return (uint64_t{1} << b) - 1; }
uint64_t BitsUpTo(int b) { return b == 63 ? ~uint64_t{0} : (uint64_t{2} << b) - 1; }

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsNumber(std::string_view t) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > from;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

}  // namespace

uint32_t Crc32c(uint32_t crc, std::string_view s) {
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2");
  if (hw) return Crc32cHw(crc, s.data(), s.size());
#endif
  return Crc32cSoft(crc, s.data(), s.size());
}

RepodataScanner::RepodataScanner(const char* doc, Kernel kernel) : doc_(doc) {
  kernel_ = Kernel::kPortable;
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (kernel == Kernel::kAuto) kernel = avx512 ? Kernel::kAvx512 : Kernel::kAvx2;
  if ((kernel == Kernel::kAvx512 && avx512) || (kernel == Kernel::kAvx2 && avx2)) kernel_ = kernel;
#endif
}

Status RepodataScanner::Syntax(uint64_t at, const std::string& what) {
  error_ = Status::User("invalid repodata at byte " + std::to_string(at) + ": " + what +
                        "; the file is truncated or not JSON");
  return error_;
}

Status RepodataScanner::Feed(size_t available) {
  const size_t before = records_.size();
  Status s = Scan(available, false);
  ComputeCrcs(before);
  return s;
}

Status RepodataScanner::Finish(size_t size) {
  const size_t before = records_.size();
  Status s = Scan(size, true);
  ComputeCrcs(before);
  return s;
}

void RepodataScanner::ComputeCrcs(size_t i) {
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2");
  if (hw) {
    for (; i + 3 <= records_.size(); i += 3) RecordCrc3Hw(doc_, &records_[i]);
  }
#endif
  for (; i < records_.size(); ++i) {
    ScannedRecord& r = records_[i];
    r.crc = RecordCrc(std::string_view(doc_ + r.fn_off, r.fn_len),
                      std::string_view(doc_ + r.json_off, r.json_len));
  }
}

Result<bool> RepodataScanner::RunSkip(size_t end, bool final) {
  Skip& s = skip_;
  char tail[kWindow + kLookahead + 16];
  for (;;) {
    const char* w;
    if (s.pos + kWindow + kLookahead <= end) {
      w = doc_ + s.pos;
    } else if (!final) {
      return false;  // wait for more bytes
    } else if (s.pos >= end) {
      return Syntax(end, s.record ? "the document ends inside a record"
                                  : "the document ends inside a value");
    } else {
      std::memset(tail, 0, sizeof tail);  // NUL bytes are none of the characters looked for
      std::memcpy(tail, doc_ + s.pos, end - s.pos);
      w = tail;
    }
#if defined(__x86_64__)
    const Masks m = kernel_ == Kernel::kAvx512 ? ClassifyAvx512(w)
                    : kernel_ == Kernel::kAvx2 ? ClassifyAvx2(w)
                                               : ClassifyPortable(w);
#else
    const Masks m = ClassifyPortable(w);
#endif
    const uint64_t quote = m.quote & ~Escaped(m.backslash, &s.escaped);
    const uint64_t in_string = PrefixXor(quote) ^ s.in_string;
    s.in_string = static_cast<uint64_t>(static_cast<int64_t>(in_string) >> 63);
    uint64_t brackets = (m.open | m.close) & ~in_string;
    // `"name"` strings (an opening quote and the 4 letters); keys or values, told apart later.
    uint64_t names = s.record ? (m.name & quote & in_string) : 0;
    while (brackets) {
      const int b = __builtin_ctzll(brackets);
      if (names) {
        if (s.depth == 1) {
          for (uint64_t n = names & BitsBelow(b); n; n &= n - 1) {
            s.name_keys.push_back(s.pos + static_cast<uint64_t>(__builtin_ctzll(n)));
          }
        }
        names &= ~BitsUpTo(b);
      }
      const char c = w[b];
      if (c == '{' || c == '[') {
        if (s.depth >= 64) {
          return Syntax(s.pos + b, "values nested more than 64 deep");
        }
        s.stack = (s.stack << 1) | (c == '{' ? 1 : 0);
        ++s.depth;
      } else {
        if (s.depth == 0 || (c == '}') != ((s.stack & 1) != 0)) {
          return Syntax(s.pos + b, std::string("unexpected '") + c + "'");
        }
        s.stack >>= 1;
        if (--s.depth == 0) {
          s.pos += static_cast<uint64_t>(b) + 1;
          return true;
        }
      }
      brackets &= brackets - 1;
    }
    if (names && s.depth == 1) {
      for (uint64_t n = names; n; n &= n - 1) {
        s.name_keys.push_back(s.pos + static_cast<uint64_t>(__builtin_ctzll(n)));
      }
    }
    s.pos += kWindow;
  }
}

Status RepodataScanner::FinishRecord(uint64_t end) {
  const std::string_view fn(doc_ + key_off_, key_len_);
  const char* d = doc_;
  auto skip = [&](const char* reason) {
    skipped_.push_back({std::string(fn), reason});
    return Status::Ok();
  };
  // The first `"name"` string followed by ':' is the key (a value is followed by ',' or '}').
  for (uint64_t at : skip_.name_keys) {
    uint64_t p = at + 5;
    if (p >= end || d[p] != '"') continue;  // a longer string, e.g. "names"
    for (++p; p < end && IsSpace(d[p]);) ++p;
    if (p >= end || d[p] != ':') continue;
    for (++p; p < end && IsSpace(d[p]);) ++p;
    if (p >= end || d[p] != '"') return skip("'name' is not a string");
    const uint64_t start = ++p;
    while (p < end && d[p] != '"' && d[p] != '\\') ++p;
    if (p >= end) return skip("'name' is not a string");
    if (d[p] == '\\' || key_escaped_) return skip("escaped name or file");
    if (p == start) return skip("missing 'name'");
    const std::string_view json(d + skip_.start, end - skip_.start);
    if (json.size() > UINT32_MAX) return skip("larger than 4 GiB");
    const std::string_view name(d + start, p - start);
    records_.push_back(ScannedRecord{key_off_, key_len_, skip_.start,
                                     static_cast<uint32_t>(json.size()), start,
                                     static_cast<uint32_t>(name.size()), 0, name == prev_name_});
    prev_name_ = name;
    return Status::Ok();
  }
  return skip("missing 'name'");
}

Status RepodataScanner::Value(uint64_t at, char c) {
  Container& top = stack_.back();
  top.expect = Expect::kCommaOrEnd;  // once this value is complete
  if (top.frame == Frame::kRootObject) {
    std::string_view key(doc_ + last_key_off_, last_key_len_);
    if (key == "packages" || key == "packages.conda") {
      if (c != '{') {
        error_ = Status::User("'" + std::string(key) + "' is not an object");
        return error_;
      }
      stack_.push_back({Frame::kPackages, Expect::kKeyOrEnd});
      return Status::Ok();
    }
  }
  const bool record = top.frame == Frame::kPackages;
  if (record && c != '{') {
    skipped_.push_back({std::string(doc_ + key_off_, key_len_), "not an object"});
  }
  if (c == '{' || c == '[') {
    if (stack_.size() < 2 && !record) {  // a container at depth 2: tokenized
      stack_.push_back({c == '{' ? Frame::kObject : Frame::kArray,
                        c == '{' ? Expect::kKeyOrEnd : Expect::kValueOrEnd});
      return Status::Ok();
    }
    std::vector<uint64_t> name_keys = std::move(skip_.name_keys);  // keeps its capacity
    name_keys.clear();
    skip_ = Skip();
    skip_.name_keys = std::move(name_keys);
    skip_.active = true;
    skip_.record = record && c == '{';
    skip_.start = skip_.pos = at;
  }
  return Status::Ok();
}

Status RepodataScanner::Scan(size_t end, bool final) {
  if (!error_.ok()) return error_;
  const char* d = doc_;
  for (;;) {
    if (skip_.active) {
      FERRY_ASSIGN_OR_RETURN(bool closed, RunSkip(end, final));
      if (!closed) return Status::Ok();
      skip_.active = false;
      pos_ = skip_.pos;
      if (skip_.record) FERRY_RETURN_IF_ERROR(FinishRecord(pos_));
      continue;
    }
    while (pos_ < end && IsSpace(d[pos_])) ++pos_;
    if (pos_ >= end) {
      if (!final || (root_done_ && stack_.empty())) return Status::Ok();
      return Syntax(end, started_ ? "the document ends early" : "the document is empty");
    }
    const char c = d[pos_];
    if (stack_.empty()) {
      if (root_done_) return Syntax(pos_, "unexpected text after the root object");
      if (c != '{') return Syntax(pos_, "the document is not a JSON object");
      started_ = true;
      stack_.push_back({Frame::kRootObject, Expect::kKeyOrEnd});
      ++pos_;
      continue;
    }
    Container& top = stack_.back();
    const bool is_object = top.frame != Frame::kArray;
    auto close = [&]() {
      stack_.pop_back();
      ++pos_;
      if (stack_.empty()) root_done_ = true;
    };
    switch (top.expect) {
      case Expect::kKeyOrEnd:
      case Expect::kKey: {
        if (c == '}' && top.expect == Expect::kKeyOrEnd) {
          close();
          break;
        }
        if (c != '"') return Syntax(pos_, "expected a key");
        uint64_t p = pos_ + 1;
        bool escaped = false;
        while (p < end && d[p] != '"') {
          if (d[p] == '\\') {
            escaped = true;
            ++p;
          }
          ++p;
        }
        if (p >= end) {
          if (final) return Syntax(end, "the document ends inside a key");
          return Status::Ok();  // wait for the rest of the key
        }
        const uint64_t off = pos_ + 1;
        if (p - off > UINT32_MAX) return Syntax(off, "a key longer than 4 GiB");
        const uint32_t len = static_cast<uint32_t>(p - off);
        if (top.frame == Frame::kRootObject) {
          last_key_off_ = off;
          last_key_len_ = len;
        } else if (top.frame == Frame::kPackages) {
          key_off_ = off;
          key_len_ = len;
          key_escaped_ = escaped;
        }
        pos_ = p + 1;
        top.expect = Expect::kColon;
        break;
      }
      case Expect::kColon:
        if (c != ':') return Syntax(pos_, "expected ':' after a key");
        ++pos_;
        top.expect = Expect::kValue;
        break;
      case Expect::kValueOrEnd:
      case Expect::kValue: {
        if (c == ']' && top.expect == Expect::kValueOrEnd) {
          close();
          break;
        }
        if (c == '{' || c == '[') {
          FERRY_RETURN_IF_ERROR(Value(pos_, c));
          if (!skip_.active) ++pos_;  // a container tokenized here (the skipper starts at it)
          break;
        }
        // A string or a literal: read it whole before taking it.
        uint64_t p = pos_;
        if (c == '"') {
          for (++p; p < end && d[p] != '"'; ++p) {
            if (d[p] == '\\') ++p;
          }
          if (p >= end) {
            if (final) return Syntax(end, "the document ends inside a string");
            return Status::Ok();
          }
          ++p;
        } else {
          if (!(c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n')) {
            return Syntax(pos_, std::string("unexpected '") + c + "'");
          }
          while (p < end && (std::isalnum(static_cast<unsigned char>(d[p])) || d[p] == '-' ||
                             d[p] == '+' || d[p] == '.')) {
            ++p;
          }
          if (p >= end && !final) return Status::Ok();
          const std::string_view lit(d + pos_, p - pos_);
          if ((c == 't' && lit != "true") || (c == 'f' && lit != "false") ||
              (c == 'n' && lit != "null") || ((c == '-' || (c >= '0' && c <= '9')) && !IsNumber(lit))) {
            return Syntax(pos_, "invalid literal '" + std::string(lit.substr(0, 16)) + "'");
          }
        }
        FERRY_RETURN_IF_ERROR(Value(pos_, c));
        pos_ = p;
        break;
      }
      case Expect::kCommaOrEnd:
        if (c == ',') {
          ++pos_;
          top.expect = is_object ? Expect::kKey : Expect::kValue;
        } else if (c == (is_object ? '}' : ']')) {
          close();
        } else {
          return Syntax(pos_, std::string("expected ',' or '") + (is_object ? '}' : ']') + "'");
        }
        break;
    }
  }
}

}  // namespace ferry::resolver
