// MatchSpec: a conda package query ("numpy >=1.24,<2 py311*", "conda-forge::numpy=1.26",
// "numpy[version='>=1.24', build_number='>=1']") and matching against PackageRecords.
//
// Grammar (conda's MatchSpec string form):
//   [CHANNEL[/SUBDIR]::]NAME[ VERSION[ BUILD]][ [KEY=VALUE, ...]]
//   NAME=VERSION[=BUILD]    NAME==VERSION    NAME OPVERSION (>=1.2,<2|==3.0)
// - NAME is a package name, "*", or a glob with '*'.
// - VERSION is a VersionSpec (see conda_version_spec.h) with conda's match spec rules:
//   "=1.2" and a bare "1.2" without a build mean "1.2.*" (prefix); "==1.2" is exact;
//   a bare "1.2" followed by a build ("numpy 1.2 py3*_0", "numpy=1.2=py3*_0") is exact "==1.2";
//   spaces inside the version are removed (">=1.0 , < 2.0").
// - BUILD and [build=...] are an exact string, a glob ("py3*_0", "*openblas*"), or a regex
//   ("^py3[0-9]+_0$").
// - Bracket keys: version, build, build_number (int or ">=3"/"<3"/"!=3"...), md5, sha256, subdir,
//   license, channel, fn, url; values bare, 'single' or "double" quoted. Bracket values override
//   values from the positional form. Unknown keys are an error.
// - CHANNEL may be a name ("conda-forge") or URL; "*" means any channel. A trailing known subdir
//   ("conda-forge/linux-64") is split into `subdir`.
// - A '#' starts a comment that is ignored.
//
// Value type; Matches() does not allocate for name/version/exact-build specs. Thread-safe for
// concurrent const use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "src/specs/conda_version.h"
#include "src/specs/conda_version_spec.h"
#include "src/specs/package_record.h"
#include "src/status.h"

namespace ferry::specs {

// Matches a string field exactly, by '*' glob, or by a "^...$" regex.
class StringMatcher {
 public:
  StringMatcher() = default;  // matches anything ("*")
  // Never fails for exact/glob text; a "^...$" that is not a valid regex is kUser.
  static Result<StringMatcher> Parse(std::string_view text);
  bool Matches(std::string_view value) const;
  bool IsExact() const { return kind_ == Kind::kExact; }
  bool IsAny() const { return kind_ == Kind::kAny; }
  const std::string& str() const { return text_; }  // as written ("*" for any)

 private:
  enum class Kind : uint8_t { kAny, kExact, kGlob, kRegex };
  Kind kind_ = Kind::kAny;
  std::string text_ = "*";
  std::shared_ptr<const std::regex> regex_;
};

// Glob match where '*' matches any run of characters (including empty); no other wildcards.
bool GlobMatch(std::string_view pattern, std::string_view value);

// build_number constraint: an operator (==, !=, <, <=, >, >=) and an integer.
struct BuildNumberSpec {
  enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
  Op op = Op::kEq;
  int64_t value = 0;
  // "3", "==3", ">=3", ... ; kUser on anything else.
  static Result<BuildNumberSpec> Parse(std::string_view text);
  bool Matches(int64_t build_number) const;
  std::string ToString() const;  // "3" for ==, else "<op><n>"
};

struct MatchSpec {
  std::string name;                          // exact name, "*", or a glob
  std::optional<VersionSpec> version;        // nullopt: any version
  std::optional<StringMatcher> build;        // nullopt: any build
  std::optional<BuildNumberSpec> build_number;
  std::string channel;                       // "" = any; a name or URL
  std::string subdir;                        // "" = any
  std::string md5;                           // "" = any; lowercase hex
  std::string sha256;                        // "" = any; lowercase hex
  std::string license;                       // "" = any
  std::string fn;                            // "" = any
  std::string url;                           // "" = any

  // Parses a match spec string (see the grammar above). On error returns kUser:
  // `invalid match spec "<text>": <reason>` (with "at position N" for version errors).
  static Result<MatchSpec> Parse(std::string_view text);

  // True if `record` satisfies every constraint of the spec. The channel constraint matches a
  // record whose channel equals it or ends with "/<channel>" (after removing trailing '/'s).
  bool Matches(const PackageRecord& record) const;

  // True when the name is a plain name (no '*').
  bool HasExactName() const;

  // Canonical conda string form, e.g. "conda-forge::numpy==1.26.4=py311*",
  // "numpy[version='>=1.24,<2']", "numpy=1.26" (for 1.26.*), "numpy[build_number='>=3']".
  // Parse(ToString()) gives an equivalent spec.
  std::string ToString() const;
};

// Parses the version part of a match spec with MatchSpec's rules (bare "1.2" -> "1.2.*" unless
// `has_build`; "=1.2" -> "1.2.*"; "==1.2" -> exact). Used by `ferry spec match --kind conda`.
Result<VersionSpec> ParseMatchSpecVersion(std::string_view text, bool has_build);

}  // namespace ferry::specs
