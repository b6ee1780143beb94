#include "src/specs/pep440.h"

#include <algorithm>

namespace ferry::specs {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsSep(char c) { return c == '.' || c == '-' || c == '_'; }

int Cmp(uint64_t a, uint64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

}  // namespace

// Hand-written equivalent of packaging's VERSION_PATTERN (case-insensitive, anchored).
class Pep440Parser {
 public:
  Pep440Parser(std::string_view input) : in_(input) {}

  Status Error(size_t pos, std::string_view reason) const {
    return Status::User("invalid PEP 440 version \"" + std::string(in_) + "\" at position " +
                        std::to_string(pos) + ": " + std::string(reason));
  }

  Result<Pep440Version> Run() {
    size_t b = 0, e = in_.size();
    while (b < e && IsSpace(in_[b])) ++b;
    while (e > b && IsSpace(in_[e - 1])) --e;
    end_ = e;
    p_ = b;
    Pep440Version v;
    v.original_.assign(in_.substr(b, e - b));
    v.release_.clear();
    if (p_ == end_) return Error(p_, "empty version string");
    if (Lower(in_[p_]) == 'v') ++p_;
    if (p_ == end_ || !IsDigit(in_[p_])) return Error(p_, "expected a release number");
    // Epoch or first release segment.
    uint64_t n;
    FERRY_RETURN_IF_ERROR(Number(&n));
    if (p_ < end_ && in_[p_] == '!') {
      v.epoch_ = n;
      ++p_;
      if (p_ == end_ || !IsDigit(in_[p_])) return Error(p_, "expected a release number after '!'");
      FERRY_RETURN_IF_ERROR(Number(&n));
    }
    v.release_.push_back(n);
    while (p_ + 1 < end_ && in_[p_] == '.' && IsDigit(in_[p_ + 1])) {
      ++p_;
      FERRY_RETURN_IF_ERROR(Number(&n));
      v.release_.push_back(n);
    }
    // Pre-release.
    {
      size_t save = p_;
      if (p_ < end_ && IsSep(in_[p_])) ++p_;
      static constexpr std::pair<std::string_view, Pep440Version::PreKind> kPre[] = {
          {"alpha", Pep440Version::PreKind::kAlpha}, {"beta", Pep440Version::PreKind::kBeta},
          {"preview", Pep440Version::PreKind::kRc},  {"pre", Pep440Version::PreKind::kRc},
          {"rc", Pep440Version::PreKind::kRc},       {"a", Pep440Version::PreKind::kAlpha},
          {"b", Pep440Version::PreKind::kBeta},      {"c", Pep440Version::PreKind::kRc}};
      bool found = false;
      for (const auto& [word, kind] : kPre) {
        if (Word(word)) {
          uint64_t num = 0;
          FERRY_RETURN_IF_ERROR(OptionalNumber(&num));
          v.pre_ = Pep440Version::Pre{kind, num};
          found = true;
          break;
        }
      }
      if (!found) p_ = save;
    }
    // Post-release.
    {
      size_t save = p_;
      if (p_ + 1 < end_ && in_[p_] == '-' && IsDigit(in_[p_ + 1])) {
        ++p_;
        FERRY_RETURN_IF_ERROR(Number(&n));
        v.post_ = n;
      } else {
        if (p_ < end_ && IsSep(in_[p_])) ++p_;
        bool found = false;
        for (std::string_view word : {"post", "rev", "r"}) {
          if (Word(word)) {
            uint64_t num = 0;
            FERRY_RETURN_IF_ERROR(OptionalNumber(&num));
            v.post_ = num;
            found = true;
            break;
          }
        }
        if (!found) p_ = save;
      }
    }
    // Dev release.
    {
      size_t save = p_;
      if (p_ < end_ && IsSep(in_[p_])) ++p_;
      if (Word("dev")) {
        uint64_t num = 0;
        FERRY_RETURN_IF_ERROR(OptionalNumber(&num));
        v.dev_ = num;
      } else {
        p_ = save;
      }
    }
    // Local version.
    if (p_ < end_ && in_[p_] == '+') {
      ++p_;
      while (true) {
        size_t s = p_;
        while (p_ < end_ && IsAlnum(in_[p_])) ++p_;
        if (p_ == s) return Error(p_, "empty local version segment");
        Pep440Version::LocalSegment seg;
        seg.numeric = std::all_of(in_.begin() + s, in_.begin() + p_, IsDigit);
        if (seg.numeric) {
          size_t z = s;
          while (z < p_ && in_[z] == '0') ++z;
          seg.text.assign(in_.substr(z, p_ - z));
        } else {
          for (size_t i = s; i < p_; ++i) seg.text.push_back(Lower(in_[i]));
        }
        v.local_.push_back(std::move(seg));
        if (p_ < end_ && IsSep(in_[p_])) {
          ++p_;
          continue;
        }
        break;
      }
    }
    if (p_ != end_) {
      std::string reason = "unexpected character '";
      reason += in_[p_];
      reason += "'";
      return Error(p_, reason);
    }
    return v;
  }

 private:
  Status Number(uint64_t* out) {
    size_t s = p_;
    uint64_t value = 0;
    while (p_ < end_ && IsDigit(in_[p_])) {
      uint64_t d = static_cast<uint64_t>(in_[p_] - '0');
      if (value > (UINT64_MAX - d) / 10) return Error(s, "number too large");
      value = value * 10 + d;
      ++p_;
    }
    *out = value;
    return Status::Ok();
  }
  // [-_.]? digits?  The separator is consumed even without digits, as the regex allows; every
  // later part accepts an optional leading separator, so no backtracking is needed.
  Status OptionalNumber(uint64_t* out) {
    *out = 0;
    if (p_ < end_ && IsSep(in_[p_])) ++p_;
    if (p_ < end_ && IsDigit(in_[p_])) return Number(out);
    return Status::Ok();
  }
  bool Word(std::string_view w) {
    if (end_ - p_ < w.size()) return false;
    for (size_t i = 0; i < w.size(); ++i) {
      if (Lower(in_[p_ + i]) != w[i]) return false;
    }
    p_ += w.size();
    return true;
  }

  std::string_view in_;
  size_t p_ = 0;
  size_t end_ = 0;
};

Pep440Version::Pep440Version() : original_("0"), release_{0} {}

Result<Pep440Version> Pep440Version::Parse(std::string_view text) {
  return Pep440Parser(text).Run();
}

std::string Pep440Version::ToString() const {
  std::string out;
  if (epoch_ != 0) out += std::to_string(epoch_) + "!";
  for (size_t i = 0; i < release_.size(); ++i) {
    if (i > 0) out += ".";
    out += std::to_string(release_[i]);
  }
  if (pre_) {
    static const char* kNames[] = {"a", "b", "rc"};
    out += kNames[static_cast<int>(pre_->kind)];
    out += std::to_string(pre_->number);
  }
  if (post_) out += ".post" + std::to_string(*post_);
  if (dev_) out += ".dev" + std::to_string(*dev_);
  if (!local_.empty()) {
    out += "+";
    for (size_t i = 0; i < local_.size(); ++i) {
      if (i > 0) out += ".";
      out += local_[i].numeric && local_[i].text.empty() ? "0" : local_[i].text;
    }
  }
  return out;
}

Pep440Version Pep440Version::Public() const {
  Pep440Version v = *this;
  v.local_.clear();
  v.original_ = v.ToString();
  return v;
}

Pep440Version Pep440Version::BaseVersion() const {
  Pep440Version v;
  v.epoch_ = epoch_;
  v.release_ = release_;
  v.original_ = v.ToString();
  return v;
}

int Pep440Version::Compare(const Pep440Version& o) const {
  if (int c = Cmp(epoch_, o.epoch_)) return c;
  size_t n = std::max(release_.size(), o.release_.size());
  for (size_t i = 0; i < n; ++i) {
    uint64_t a = i < release_.size() ? release_[i] : 0;
    uint64_t b = i < o.release_.size() ? o.release_[i] : 0;
    if (int c = Cmp(a, b)) return c;
  }
  // Pre-release key: dev-only (-inf) < pre (kind, n) < none (+inf).
  auto pre_rank = [](const Pep440Version& v) {
    if (!v.pre_ && !v.post_ && v.dev_) return 0;
    return v.pre_ ? 1 : 2;
  };
  int ra = pre_rank(*this), rb = pre_rank(o);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 1) {
    if (int c = Cmp(static_cast<uint64_t>(pre_->kind), static_cast<uint64_t>(o.pre_->kind))) {
      return c;
    }
    if (int c = Cmp(pre_->number, o.pre_->number)) return c;
  }
  // Post: none (-inf) < n.
  if (post_.has_value() != o.post_.has_value()) return post_ ? 1 : -1;
  if (post_) {
    if (int c = Cmp(*post_, *o.post_)) return c;
  }
  // Dev: n < none (+inf).
  if (dev_.has_value() != o.dev_.has_value()) return dev_ ? -1 : 1;
  if (dev_) {
    if (int c = Cmp(*dev_, *o.dev_)) return c;
  }
  // Local: none (-inf) < any; segments: strings < numbers.
  size_t m = std::max(local_.size(), o.local_.size());
  for (size_t i = 0; i < m; ++i) {
    if (i >= local_.size()) return -1;
    if (i >= o.local_.size()) return 1;
    const LocalSegment& a = local_[i];
    const LocalSegment& b = o.local_[i];
    if (a.numeric != b.numeric) return a.numeric ? 1 : -1;
    if (a.numeric && a.text.size() != b.text.size()) return a.text.size() < b.text.size() ? -1 : 1;
    int c = a.text.compare(b.text);
    if (c != 0) return c < 0 ? -1 : 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Specifier

namespace {

Status SpecifierError(std::string_view text, size_t pos, std::string_view reason) {
  return Status::User("invalid PEP 440 specifier \"" + std::string(text) + "\" at position " +
                      std::to_string(pos) + ": " + std::string(reason));
}

// Epoch equal and zero-padded release prefix equal (the "==V.*" rule).
bool PrefixMatch(const Pep440Version& v, const Pep440Version& prefix) {
  if (v.epoch() != prefix.epoch()) return false;
  const auto& r = v.release();
  const auto& p = prefix.release();
  for (size_t i = 0; i < p.size(); ++i) {
    uint64_t a = i < r.size() ? r[i] : 0;
    if (a != p[i]) return false;
  }
  return true;
}

}  // namespace

Result<Specifier> Specifier::Parse(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && IsSpace(text[b])) ++b;
  while (e > b && IsSpace(text[e - 1])) --e;
  if (b == e) return SpecifierError(text, b, "empty specifier");
  std::string_view s = text.substr(b, e - b);
  Specifier spec;
  size_t op_len = 0;
  if (s.substr(0, 3) == "===") { spec.op_ = Op::kArbitrary; op_len = 3; }
  else if (s.substr(0, 2) == "~=") { spec.op_ = Op::kCompatible; op_len = 2; }
  else if (s.substr(0, 2) == "==") { spec.op_ = Op::kEq; op_len = 2; }
  else if (s.substr(0, 2) == "!=") { spec.op_ = Op::kNe; op_len = 2; }
  else if (s.substr(0, 2) == "<=") { spec.op_ = Op::kLe; op_len = 2; }
  else if (s.substr(0, 2) == ">=") { spec.op_ = Op::kGe; op_len = 2; }
  else if (s.substr(0, 1) == "<") { spec.op_ = Op::kLt; op_len = 1; }
  else if (s.substr(0, 1) == ">") { spec.op_ = Op::kGt; op_len = 1; }
  else {
    return SpecifierError(text, b, "expected an operator (~=, ==, !=, <=, >=, <, >, ===)");
  }
  size_t vb = b + op_len;
  while (vb < e && IsSpace(text[vb])) ++vb;
  if (vb == e) return SpecifierError(text, vb, "missing version after operator");
  std::string_view vtext = text.substr(vb, e - vb);
  if (spec.op_ == Op::kArbitrary) {
    for (size_t i = 0; i < vtext.size(); ++i) {
      if (IsSpace(vtext[i]) || vtext[i] == ';' || vtext[i] == ')' || vtext[i] == ',') {
        return SpecifierError(text, vb + i, "unexpected character in '===' version");
      }
    }
    for (char c : vtext) spec.arbitrary_.push_back(Lower(c));
    auto v = Pep440Version::Parse(vtext);
    if (v.ok()) spec.version_ = *v;
    return spec;
  }
  if (vtext.size() >= 2 && vtext.substr(vtext.size() - 2) == ".*") {
    if (spec.op_ != Op::kEq && spec.op_ != Op::kNe) {
      return SpecifierError(text, e - 2, "'.*' is only allowed with == and !=");
    }
    spec.wildcard_ = true;
    vtext.remove_suffix(2);
  }
  auto v = Pep440Version::Parse(vtext);
  if (!v.ok()) {
    // Re-base the version error position onto the specifier text.
    const std::string& m = v.status().message();
    size_t at = m.rfind("\" at position ");
    if (at != std::string::npos) {
      size_t colon = m.find(": ", at);
      size_t inner = std::strtoul(m.c_str() + at + 14, nullptr, 10);
      return SpecifierError(text, vb + inner, "invalid version: " + m.substr(colon + 2));
    }
    return SpecifierError(text, vb, "invalid version");
  }
  spec.version_ = *v;
  if (spec.wildcard_ && (v->pre() || v->post() || v->dev() || v->has_local())) {
    return SpecifierError(text, e - 2, "'.*' must follow a release segment (no pre/post/dev/local)");
  }
  if (v->has_local() && spec.op_ != Op::kEq && spec.op_ != Op::kNe) {
    return SpecifierError(text, vb, "local versions are only allowed with == and !=");
  }
  if (spec.op_ == Op::kCompatible) {
    if (v->release().size() < 2) {
      return SpecifierError(text, vb, "'~=' needs a version with at least two release segments");
    }
    Pep440Version prefix;
    prefix.epoch_ = v->epoch();
    prefix.release_.assign(v->release().begin(), v->release().end() - 1);
    prefix.original_ = prefix.ToString();
    spec.compat_prefix_ = prefix;
  }
  return spec;
}

bool Specifier::Contains(const Pep440Version& v) const {
  switch (op_) {
    case Op::kArbitrary: {
      auto eq_ci = [this](std::string_view s) {
        if (s.size() != arbitrary_.size()) return false;
        for (size_t i = 0; i < s.size(); ++i) {
          if (Lower(s[i]) != arbitrary_[i]) return false;
        }
        return true;
      };
      return eq_ci(v.ToString()) || eq_ci(v.original());
    }
    case Op::kCompatible:
      return v.Public().Compare(version_) >= 0 && PrefixMatch(v, compat_prefix_);
    case Op::kEq:
    case Op::kNe: {
      bool eq;
      if (wildcard_) {
        eq = PrefixMatch(v, version_);
      } else if (version_.has_local()) {
        eq = v.Compare(version_) == 0;
      } else {
        eq = v.has_local() ? v.Public().Compare(version_) == 0 : v.Compare(version_) == 0;
      }
      return op_ == Op::kEq ? eq : !eq;
    }
    case Op::kLe:
      return (v.has_local() ? v.Public() : v).Compare(version_) <= 0;
    case Op::kGe:
      return (v.has_local() ? v.Public() : v).Compare(version_) >= 0;
    case Op::kLt:
      if (v.Compare(version_) >= 0) return false;
      if (!version_.is_prerelease() && v.is_prerelease() &&
          v.BaseVersion().Compare(version_.BaseVersion()) == 0) {
        return false;
      }
      return true;
    case Op::kGt:
      if (v.Compare(version_) <= 0) return false;
      if (!version_.is_postrelease() && v.is_postrelease() &&
          v.BaseVersion().Compare(version_.BaseVersion()) == 0) {
        return false;
      }
      if (v.has_local() && v.BaseVersion().Compare(version_.BaseVersion()) == 0) return false;
      return true;
  }
  return false;
}

bool Specifier::MentionsPrerelease() const {
  switch (op_) {
    case Op::kEq:
    case Op::kGe:
    case Op::kLe:
    case Op::kCompatible:
      return version_.is_prerelease();
    case Op::kArbitrary: {
      auto v = Pep440Version::Parse(arbitrary_);
      return v.ok() && v->is_prerelease();
    }
    default:
      return false;
  }
}

std::string Specifier::ToString() const {
  static const char* kOps[] = {"~=", "==", "!=", "<=", ">=", "<", ">", "==="};
  std::string out = kOps[static_cast<int>(op_)];
  if (op_ == Op::kArbitrary) return out + arbitrary_;
  out += version_.ToString();
  if (wildcard_) out += ".*";
  return out;
}

Result<SpecifierSet> SpecifierSet::Parse(std::string_view text) {
  SpecifierSet set;
  size_t start = 0;
  bool all_space = std::all_of(text.begin(), text.end(), IsSpace);
  if (all_space) return set;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != ',') continue;
    std::string_view clause = text.substr(start, i - start);
    auto spec = Specifier::Parse(clause);
    if (!spec.ok()) {
      const std::string& m = spec.status().message();
      size_t at = m.rfind("\" at position ");
      size_t colon = m.find(": ", at);
      size_t inner = std::strtoul(m.c_str() + at + 14, nullptr, 10);
      return Status::User("invalid PEP 440 specifier set \"" + std::string(text) +
                          "\" at position " + std::to_string(start + inner) + ": " +
                          m.substr(colon + 2));
    }
    set.specs_.push_back(std::move(spec).value());
    start = i + 1;
  }
  return set;
}

bool SpecifierSet::AllowsPrereleases() const {
  for (const Specifier& s : specs_) {
    if (s.MentionsPrerelease()) return true;
  }
  return false;
}

bool SpecifierSet::Contains(const Pep440Version& v, bool allow_prereleases) const {
  if (v.is_prerelease() && !allow_prereleases && !AllowsPrereleases()) return false;
  for (const Specifier& s : specs_) {
    if (!s.Contains(v)) return false;
  }
  return true;
}

std::vector<size_t> SpecifierSet::Filter(const std::vector<Pep440Version>& versions) const {
  std::vector<size_t> finals, pres;
  bool allow = AllowsPrereleases();
  for (size_t i = 0; i < versions.size(); ++i) {
    if (!Contains(versions[i], true)) continue;
    if (versions[i].is_prerelease() && !allow) {
      pres.push_back(i);
    } else {
      finals.push_back(i);
    }
  }
  return finals.empty() ? pres : finals;
}

std::string SpecifierSet::ToString() const {
  std::vector<std::string> parts;
  for (const Specifier& s : specs_) parts.push_back(s.ToString());
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ",";
    out += parts[i];
  }
  return out;
}

std::string NormalizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool in_sep = false;
  for (char c : name) {
    if (IsSep(c)) {
      if (!in_sep) out.push_back('-');
      in_sep = true;
    } else {
      out.push_back(Lower(c));
      in_sep = false;
    }
  }
  return out;
}

bool IsValidProjectName(std::string_view name) {
  if (name.empty() || !IsAlnum(name.front()) || !IsAlnum(name.back())) return false;
  for (char c : name) {
    if (!IsAlnum(c) && !IsSep(c)) return false;
  }
  return true;
}

}  // namespace ferry::specs
