// PEP 440 versions and specifier sets (the PyPI side), plus PEP 503 name normalization.
//
// Pep440Version accepts every spelling PEP 440 normalizes: case-insensitive, leading 'v',
// surrounding whitespace, epochs "N!", pre-releases a/alpha, b/beta, rc/c/pre/preview with
// optional '.', '-', '_' separators and implicit 0, post-releases post/rev/r and the implicit
// "1.0-1", dev releases, and local versions "+abc.1" (separators '-', '_', '.').
// Ordering follows PEP 440 (and packaging's _cmpkey): epoch, release with trailing zeros ignored,
// dev-only before pre-releases, pre-releases (a < b < rc), final, post-releases; dev sorts before
// its non-dev counterpart; a local version sorts after the same public version; local segments
// compare numerically when both are numbers, numbers sort after strings.
// Numeric components must fit in 64 bits (larger numbers are a parse error).
//
// Value types; thread-safe for concurrent const use.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::specs {

class Pep440Version {
 public:
  enum class PreKind : uint8_t { kAlpha = 0, kBeta = 1, kRc = 2 };
  struct Pre {
    PreKind kind;
    uint64_t number;
    bool operator==(const Pre&) const = default;
  };
  // One local segment: a number (digits without leading zeros, "" for 0) or a lowercase string.
  struct LocalSegment {
    bool numeric;
    std::string text;
    bool operator==(const LocalSegment&) const = default;
  };

  Pep440Version();  // "0"

  // Parses a PEP 440 version. kUser error on failure:
  // `invalid PEP 440 version "<text>" at position <N>: <reason>`.
  static Result<Pep440Version> Parse(std::string_view text);

  // Normalized form: "1.0.post1", "1!2.0rc1", "1.0+ubuntu.1".
  std::string ToString() const;
  // The text as given (trimmed).
  const std::string& original() const { return original_; }

  uint64_t epoch() const { return epoch_; }
  const std::vector<uint64_t>& release() const { return release_; }
  const std::optional<Pre>& pre() const { return pre_; }
  const std::optional<uint64_t>& post() const { return post_; }
  const std::optional<uint64_t>& dev() const { return dev_; }
  const std::vector<LocalSegment>& local() const { return local_; }

  bool is_prerelease() const { return pre_.has_value() || dev_.has_value(); }
  bool is_postrelease() const { return post_.has_value(); }
  bool is_devrelease() const { return dev_.has_value(); }
  bool has_local() const { return !local_.empty(); }

  // The version without its local part.
  Pep440Version Public() const;
  // Epoch and release only ("1!2.0rc1.post3" -> "1!2.0").
  Pep440Version BaseVersion() const;

  // PEP 440 total order: <0, 0, >0. "1.0" == "1.0.0".
  int Compare(const Pep440Version& other) const;
  friend bool operator==(const Pep440Version& a, const Pep440Version& b) {
    return a.Compare(b) == 0;
  }
  friend std::strong_ordering operator<=>(const Pep440Version& a, const Pep440Version& b) {
    int c = a.Compare(b);
    return c < 0 ? std::strong_ordering::less
                 : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
  }

 private:
  friend class Pep440Parser;
  friend class Specifier;
  std::string original_;
  uint64_t epoch_ = 0;
  std::vector<uint64_t> release_;
  std::optional<Pre> pre_;
  std::optional<uint64_t> post_;
  std::optional<uint64_t> dev_;
  std::vector<LocalSegment> local_;
};

// One PEP 440 version specifier clause: "~=1.4.2", "==1.2.*", "!=1.3", "<2", "===foo".
class Specifier {
 public:
  enum class Op : uint8_t { kCompatible, kEq, kNe, kLe, kGe, kLt, kGt, kArbitrary };

  // Parses one clause. kUser error `invalid PEP 440 specifier "<text>" at position <N>: <reason>`
  // for a missing/unknown operator, a bad version, ".*" with an operator other than ==/!= or
  // after a pre/post/dev/local part, a local version with an ordering operator, or "~=" with a
  // single release segment.
  static Result<Specifier> Parse(std::string_view text);

  Op op() const { return op_; }
  bool wildcard() const { return wildcard_; }
  const Pep440Version& version() const { return version_; }  // unused for ===

  // Whether `v` satisfies this clause, ignoring the pre-release policy (that is the set's job).
  bool Contains(const Pep440Version& v) const;
  // True if the clause explicitly names a pre-release with ==, >=, <=, ~= or === (PEP 440: then
  // pre-releases are allowed for the whole set).
  bool MentionsPrerelease() const;
  // Normalized text: operator + normalized version ("==1.2.*", ">=1.0rc1", "===foo").
  std::string ToString() const;

 private:
  Op op_ = Op::kEq;
  bool wildcard_ = false;
  Pep440Version version_;
  Pep440Version compat_prefix_;  // ~=: release without its last segment (used as ==prefix.*)
  std::string arbitrary_;        // ===: the text, lowercased
};

// A comma-separated set of specifiers ("" = any version).
class SpecifierSet {
 public:
  // Parses "", ">=1.0, <2", "~=1.4.2,!=1.4.5". Errors as Specifier::Parse but naming the whole
  // set and with positions relative to it: `invalid PEP 440 specifier set "<text>" at position
  // <N>: <reason>`.
  static Result<SpecifierSet> Parse(std::string_view text);

  // PEP 440 pre-release rule: a pre-release (or dev release) `v` is excluded unless
  // `allow_prereleases` is true or some clause MentionsPrerelease(). Then every clause must hold.
  bool Contains(const Pep440Version& v, bool allow_prereleases = false) const;

  // PEP 440 resolver rule: returns the indices (in input order) of the versions the set contains
  // under the default policy; if none of those exist but some pre-releases would match, returns
  // those pre-releases instead.
  std::vector<size_t> Filter(const std::vector<Pep440Version>& versions) const;

  bool AllowsPrereleases() const;  // some clause MentionsPrerelease()
  bool empty() const { return specs_.empty(); }
  const std::vector<Specifier>& specifiers() const { return specs_; }
  // Clauses normalized and sorted, joined with ',' (packaging's str(SpecifierSet)).
  std::string ToString() const;

 private:
  std::vector<Specifier> specs_;
};

// PEP 503 normalized project name: lowercase, runs of '-', '_', '.' become one '-'.
std::string NormalizeName(std::string_view name);
// PEP 508 name rule: ASCII letters/digits, with '.', '_', '-' only between them.
bool IsValidProjectName(std::string_view name);

}  // namespace ferry::specs
