#include "src/specs/conda_version.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace ferry::specs {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

Status VersionError(std::string_view text, size_t pos, std::string_view reason) {
  return Status::User("invalid conda version \"" + std::string(text) + "\" at position " +
                      std::to_string(pos) + ": " + std::string(reason));
}

std::string_view kDevText = "DEV";

}  // namespace

Version::Version() : text_("0"), norm_("0") {
  // One component (the epoch, 0) holding one zero number.
  atoms_.push_back(Atom{0, 0, 1, false});
  comp_start_ = {0, 1};
  n_version_ = 1;
}

Result<Version> Version::Parse(std::string_view input) {
  size_t b = 0, e = input.size();
  while (b < e && IsSpace(input[b])) ++b;
  while (e > b && IsSpace(input[e - 1])) --e;
  const size_t base = b;  // offset of trimmed text inside input (for error positions)
  std::string_view t = input.substr(b, e - b);
  if (t.empty()) return VersionError(input, base, "empty version string");
  if (t.size() > 0xFFFFFF) return VersionError(input, 0, "version string too long");

  Version v;
  v.text_.assign(t);
  v.norm_.resize(t.size());
  bool has_dash = false, has_underscore = false;
  size_t first_dash = 0;
  size_t bang = std::string::npos, plus = std::string::npos;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = Lower(t[i]);
    v.norm_[i] = c;
    if ((c >= 'a' && c <= 'z') || IsDigit(c) || c == '.' || c == '*') continue;
    if (c == '_') {
      has_underscore = true;
    } else if (c == '-') {
      if (!has_dash) first_dash = i;
      has_dash = true;
    } else if (c == '!') {
      if (bang != std::string::npos) {
        return VersionError(input, base + i, "duplicated epoch separator '!'");
      }
      bang = i;
    } else if (c == '+') {
      if (plus != std::string::npos) {
        return VersionError(input, base + i, "duplicated local version separator '+'");
      }
      plus = i;
    } else {
      std::string reason = "invalid character '";
      reason += t[i];
      reason += "'";
      return VersionError(input, base + i, reason);
    }
  }
  if (has_dash && has_underscore) {
    return VersionError(input, base + first_dash,
                        "invalid character '-' (dashes and underscores cannot be mixed)");
  }
  if (bang != std::string::npos && plus != std::string::npos && plus < bang) {
    return VersionError(input, base + bang, "epoch separator '!' after local version '+'");
  }
  std::string_view n = v.norm_;

  // Epoch.
  v.atoms_.clear();
  v.comp_start_.clear();
  size_t start = 0;
  if (bang != std::string::npos) {
    if (bang == 0) return VersionError(input, base, "epoch must be an integer");
    for (size_t i = 0; i < bang; ++i) {
      if (!IsDigit(n[i])) return VersionError(input, base + i, "epoch must be an integer");
    }
    size_t z = 0;
    while (z < bang && n[z] == '0') ++z;
    v.comp_start_.push_back(0);
    v.atoms_.push_back(Atom{static_cast<uint32_t>(z), static_cast<uint32_t>(bang - z), 1, false});
    start = bang + 1;
  } else {
    v.comp_start_.push_back(0);
    v.atoms_.push_back(Atom{0, 0, 1, false});
  }
  size_t pub_end = plus == std::string::npos ? n.size() : plus;
  if (pub_end == start) {
    if (plus != std::string::npos) {
      return VersionError(input, base + start, "missing version before local version separator '+'");
    }
    return VersionError(input, base + start, "empty version after epoch");
  }

  // Splits [from, to) into components; `trailing_underscore` keeps a final '_' on the last one.
  auto split = [&](size_t from, size_t to, bool allow_trailing_underscore) -> Status {
    bool trailing = false;
    if (allow_trailing_underscore && to > from && (n[to - 1] == '_' || n[to - 1] == '-')) {
      trailing = true;
      --to;
    }
    size_t comp_begin = from;
    for (size_t i = from; i <= to; ++i) {
      if (i < to && n[i] != '.' && n[i] != '_' && n[i] != '-') continue;
      // component [comp_begin, i)
      v.comp_start_.push_back(static_cast<uint32_t>(v.atoms_.size()));
      if (i == comp_begin && !(trailing && i == to)) {
        return VersionError(input, base + comp_begin, "empty component");
      }
      if (i > comp_begin && !IsDigit(n[comp_begin])) v.atoms_.push_back(Atom{0, 0, 1, false});
      size_t j = comp_begin;
      while (j < i) {
        size_t k = j;
        Atom a;
        if (IsDigit(n[j])) {
          while (k < i && IsDigit(n[k])) ++k;
          size_t z = j;
          while (z < k && n[z] == '0') ++z;
          a = Atom{static_cast<uint32_t>(z), static_cast<uint32_t>(k - z), 1, false};
        } else if (n[j] == '*') {
          while (k < i && n[k] == '*') ++k;
          a = Atom{static_cast<uint32_t>(j), static_cast<uint32_t>(k - j), 0, false};
        } else {
          while (k < i && !IsDigit(n[k]) && n[k] != '*') ++k;
          std::string_view run = n.substr(j, k - j);
          if (run == "post") {
            a = Atom{static_cast<uint32_t>(j), 4, 2, false};
          } else {
            a = Atom{static_cast<uint32_t>(j), static_cast<uint32_t>(k - j), 0, run == "dev"};
          }
        }
        v.atoms_.push_back(a);
        j = k;
      }
      if (trailing && i == to) {
        // The trailing '_' joins the last component as a string run of its own
        // (or merges into a preceding string run, as "1.0a_" -> [0, "a_"]).
        Atom& last = v.atoms_.back();
        if (i > comp_begin && last.kind != 1 && n[last.off] != '*' && last.off + last.len == to) {
          last.kind = 0;  // "dev_" and "post_" are plain strings
          last.dev = false;
          last.len += 1;
        } else {
          if (i == comp_begin) v.atoms_.push_back(Atom{0, 0, 1, false});
          v.atoms_.push_back(Atom{static_cast<uint32_t>(to), 1, 0, false});
        }
      }
      comp_begin = i + 1;
    }
    return Status::Ok();
  };
  FERRY_RETURN_IF_ERROR(split(start, pub_end, true));
  v.n_version_ = static_cast<uint32_t>(v.comp_start_.size());
  if (plus != std::string::npos) {
    FERRY_RETURN_IF_ERROR(split(plus + 1, n.size(), false));
  }
  v.n_local_ = static_cast<uint32_t>(v.comp_start_.size()) - v.n_version_;
  v.comp_start_.push_back(static_cast<uint32_t>(v.atoms_.size()));
  return v;
}

std::string_view Version::AtomText(const Atom& a) const {
  if (a.dev) return kDevText;
  return std::string_view(norm_).substr(a.off, a.len);
}

int Version::CompareAtom(const Version& va, const Atom* a, const Version& vb, const Atom* b) {
  static constexpr Atom kZero{0, 0, 1, false};
  if (a == nullptr) a = &kZero;
  if (b == nullptr) b = &kZero;
  if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
  if (a->kind == 2) return 0;
  if (a->kind == 1) {
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    if (a->len == 0) return 0;
    int c = std::memcmp(va.norm_.data() + a->off, vb.norm_.data() + b->off, a->len);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  int c = va.AtomText(*a).compare(vb.AtomText(*b));
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// Compares component `ca` of va (or an empty component if ca == UINT32_MAX) with `cb` of vb,
// looking at no more than `limit` runs.
int Version::CompareComp(const Version& va, uint32_t ca, const Version& vb, uint32_t cb,
                         uint32_t limit) {
  uint32_t na = ca == UINT32_MAX ? 0 : va.comp_size(ca);
  uint32_t nb = cb == UINT32_MAX ? 0 : vb.comp_size(cb);
  uint32_t n = std::min(std::max(na, nb), limit);
  for (uint32_t j = 0; j < n; ++j) {
    const Atom* a = j < na ? &va.atoms_[va.comp_start_[ca] + j] : nullptr;
    const Atom* b = j < nb ? &vb.atoms_[vb.comp_start_[cb] + j] : nullptr;
    int c = CompareAtom(va, a, vb, b);
    if (c != 0) return c;
  }
  return 0;
}

int Version::CompareParts(const Version& va, Part pa, const Version& vb, Part pb) {
  uint32_t na = pa.end - pa.begin, nb = pb.end - pb.begin;
  uint32_t n = std::max(na, nb);
  for (uint32_t i = 0; i < n; ++i) {
    int c = CompareComp(va, i < na ? pa.begin + i : UINT32_MAX, vb, i < nb ? pb.begin + i : UINT32_MAX,
                        UINT32_MAX);
    if (c != 0) return c;
  }
  return 0;
}

int Version::Compare(const Version& other) const {
  int c = CompareParts(*this, version_part(), other, other.version_part());
  if (c != 0) return c;
  return CompareParts(*this, local_part(), other, other.local_part());
}

bool Version::StartsWith(const Version& prefix) const {
  Part t1, t2;
  if (prefix.n_local_ > 0) {
    if (CompareParts(*this, version_part(), prefix, prefix.version_part()) != 0) return false;
    t1 = local_part();
    t2 = prefix.local_part();
  } else {
    t1 = version_part();
    t2 = prefix.version_part();
  }
  uint32_t nt = t2.end - t2.begin - 1;  // t2 is never empty
  uint32_t len1 = t1.end - t1.begin;
  // t1[:nt] == t2[:nt]
  if (CompareParts(*this, Part{t1.begin, t1.begin + std::min(nt, len1)}, prefix,
                   Part{t2.begin, t2.begin + nt}) != 0) {
    return false;
  }
  uint32_t c1 = len1 > nt ? t1.begin + nt : UINT32_MAX;
  uint32_t c2 = t2.begin + nt;
  uint32_t n2 = prefix.comp_size(c2);  // >= 1
  uint32_t n1 = c1 == UINT32_MAX ? 0 : comp_size(c1);
  uint32_t last = n2 - 1;
  // v1[:last] == v2[:last]
  {
    uint32_t lim1 = std::min(n1, last);
    for (uint32_t j = 0; j < last; ++j) {
      const Atom* a = j < lim1 ? &atoms_[comp_start_[c1] + j] : nullptr;
      const Atom* b = &prefix.atoms_[prefix.comp_start_[c2] + j];
      if (CompareAtom(*this, a, prefix, b) != 0) return false;
    }
  }
  const Atom* a = n1 > last ? &atoms_[comp_start_[c1] + last] : nullptr;
  const Atom& b = prefix.atoms_[prefix.comp_start_[c2] + last];
  if (b.kind == 0) {
    if (a == nullptr || a->kind != 0) return false;
    std::string_view sa = AtomText(*a), sb = prefix.AtomText(b);
    return sa.substr(0, sb.size()) == sb;
  }
  return CompareAtom(*this, a, prefix, &b) == 0;
}

size_t Version::Hash() const {
  size_t h = 1469598103934665603ull;
  auto mix = [&h](size_t x) { h = (h ^ x) * 1099511628211ull; };
  auto hash_part = [&](Part p) {
    // Drop trailing components that equal an empty one (all zero numbers).
    uint32_t end = p.end;
    auto eff_len = [&](uint32_t c) {
      uint32_t len = comp_size(c);
      while (len > 0) {
        const Atom& a = atoms_[comp_start_[c] + len - 1];
        if (a.kind == 1 && a.len == 0) --len; else break;
      }
      return len;
    };
    while (end > p.begin && eff_len(end - 1) == 0) --end;
    for (uint32_t c = p.begin; c < end; ++c) {
      uint32_t len = eff_len(c);
      for (uint32_t j = 0; j < len; ++j) {
        const Atom& a = atoms_[comp_start_[c] + j];
        mix(a.kind);
        if (a.kind != 2) mix(std::hash<std::string_view>()(AtomText(a)));
      }
      mix(0xC0);
    }
    mix(0xEE);
  };
  hash_part(version_part());
  hash_part(local_part());
  return h;
}

uint64_t Version::epoch() const {
  const Atom& a = atoms_[comp_start_[0]];
  uint64_t value = 0;
  for (uint32_t i = 0; i < a.len; ++i) {
    uint64_t d = static_cast<uint64_t>(norm_[a.off + i] - '0');
    if (value > (UINT64_MAX - d) / 10) return UINT64_MAX;
    value = value * 10 + d;
  }
  return value;
}

}  // namespace ferry::specs
