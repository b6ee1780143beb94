// VersionSpec: a conda version constraint, as written after a package name or in
// `[version='...']`.
//
// Grammar (conda's VersionSpec): expressions joined by ',' (and) and '|' (or), ',' binding tighter
// than '|', with parentheses. Each leaf is one of:
//   *                      any version
//   ==V !=V <V <=V >V >=V  comparison in CEP 33 order (==1.0 matches 1.0.0)
//   ~=V                    compatible release: >=V and V-without-its-last-'.'-part.*
//   =V                     prefix: the version starts with V (=1.2 matches 1.2, 1.2.0, 1.2.5; not 1.20)
//   V.* or V*              prefix, same as =V
//   !=V.*                  not prefix
//   ==V.*  >=V.*           prefix / >=V   (conda semantics; <V.*, <=V.*, >V.* ignore the .*)
//   pattern with inner *   glob over the version string, e.g. 1.*.3 (case-insensitive)
//   ^regex$                ECMAScript regex over the version string
//   V                      exact (==V). Note: MatchSpec turns a bare V without a build into V.*
// Whitespace around operators and tokens is ignored.
//
// Immutable; Matches() does not allocate (except for regex leaves). Thread-safe for const use.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "src/specs/conda_version.h"
#include "src/status.h"

namespace ferry::specs {

class VersionSpec {
 public:
  // Matches every version ("*").
  VersionSpec();

  // Parses a version spec. On error returns kUser:
  // `invalid conda version spec "<text>" at position <N>: <reason>` (N is a 0-based offset into
  // `text`), e.g. unbalanced parenthesis, empty expression, invalid operator, invalid version.
  static Result<VersionSpec> Parse(std::string_view text);

  // True if `version` satisfies the spec.
  bool Matches(const Version& version) const;

  // Canonical text: leaves as "==1.2", ">=1.2", "1.2.*", "!=1.2.*", "~=1.2", "*", globs and
  // regexes as written; ',' and '|' without spaces; parentheses only around an '|' group inside
  // a ',' group. Parse(ToString()) is equivalent to this spec.
  std::string ToString() const;

  // True for "*" (matches everything).
  bool IsAny() const { return root_.kind == Kind::kAny; }
  // True for a single "==V" leaf (conda's "exact" spec); sets *out to V when out != nullptr.
  bool IsExact(Version* out = nullptr) const;

 private:
  enum class Kind : uint8_t {
    kAny, kEq, kNe, kLt, kLe, kGt, kGe, kCompatible, kStartsWith, kNotStartsWith,
    kGlob, kRegex, kAnd, kOr,
  };
  struct Node {
    Kind kind = Kind::kAny;
    Version version;  // comparison operand / prefix
    Version compat;   // kCompatible: the prefix (V without its last '.' part)
    std::string pattern;  // kGlob (lowercased) / kRegex (as written)
    std::shared_ptr<const std::regex> regex;
    std::vector<Node> children;  // kAnd / kOr
  };
  friend class VersionSpecParser;
  static bool MatchNode(const Node& node, const Version& version);
  static void PrintNode(const Node& node, bool in_and, std::string* out);

  Node root_;
};

// Guards std::regex against pathological patterns from untrusted input (specs come from
// repodata): at most 256 characters, at most 2 counted repetitions, counts below 100.
// Ok or kUser with the reason.
Status CheckRegexLimits(std::string_view pattern);

}  // namespace ferry::specs
