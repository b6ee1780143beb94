// PEP 508 dependency specifiers ("requests[security] >=2.8.1, ==2.8.* ; python_version < '2.7'",
// "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee...") and environment
// markers evaluated against a *target* environment (never the host's).
//
// Marker evaluation (PEP 508 / packaging): for <, <=, ==, !=, >=, >, ~=, === the comparison is
// a PEP 440 specifier test when the right side forms a valid specifier with the operator and
// the left side is a valid version (pre-releases allowed); otherwise <, <=, ==, !=, >=, > compare
// the strings and ~= / === on non-versions are false. "in" / "not in" test substrings. Values
// compared with `extra` are PEP 503-normalized on both sides.
//
// Value types; thread-safe for concurrent const use.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/specs/pep440.h"
#include "src/status.h"

namespace ferry::specs {

// The marker variables of PEP 508 for one target interpreter and platform.
struct MarkerEnvironment {
  std::string python_version;                  // "3.11"
  std::string python_full_version;             // "3.11.0"
  std::string sys_platform;                    // "linux", "darwin", "win32"
  std::string platform_machine;                // "x86_64", "aarch64", "arm64", "AMD64"
  std::string platform_system;                 // "Linux", "Darwin", "Windows"
  std::string os_name;                         // "posix", "nt"
  std::string implementation_name;             // "cpython"
  std::string platform_python_implementation;  // "CPython"
  std::string platform_release;                // "" (unknown for a target)
  std::string platform_version;                // "" (unknown for a target)
  std::string implementation_version;          // "3.11.0"
  std::string extra;                           // "" unless evaluating for an extra

  // The value of a marker variable (PEP 508 names and the legacy dotted aliases such as
  // "os.name", "sys.platform", "python_implementation"); nullptr for an unknown name.
  const std::string* Get(std::string_view name) const;
};

// Builds the environment for a conda-style target platform ("linux-64", "linux-aarch64",
// "linux-ppc64le", "osx-64", "osx-arm64", "win-64") and a CPython version ("3.11" -> full
// "3.11.0", or "3.11.4"). Pure: never looks at the host. kUser error for noarch/unknown
// platforms or a python version that is not "X.Y" or "X.Y.Z".
Result<MarkerEnvironment> MarkerEnvironmentFor(std::string_view platform,
                                               std::string_view python_version);

class Marker {
 public:
  Marker();  // the empty marker (always true)

  // Parses a marker expression. kUser error `invalid marker "<text>" at position <N>: <reason>`.
  static Result<Marker> Parse(std::string_view text);

  // Evaluates against `env` (with env.extra as the `extra` value).
  bool Evaluate(const MarkerEnvironment& env) const;
  // True if the marker holds for env with `extra` set to any of `extras`, or to "" when
  // `extras` is empty (how pip evaluates a dependency's marker for requested extras).
  bool EvaluateForExtras(const MarkerEnvironment& env, const std::vector<std::string>& extras) const;

  // Canonical text: `python_version >= "3.8" and (os_name == "nt" or extra == "x")`.
  std::string ToString() const;
  bool empty() const { return root_ == nullptr; }

  struct Node;  // implementation detail

 private:
  friend class MarkerParser;
  std::shared_ptr<const Node> root_;
};

struct Requirement {
  std::string name;                 // as written
  std::vector<std::string> extras;  // PEP 503-normalized, sorted, unique
  SpecifierSet specifier;           // empty when none or when url is set
  std::string url;                  // "name @ url" form, else ""
  Marker marker;                    // empty = always

  // Parses a PEP 508 requirement. kUser error
  // `invalid requirement "<text>" at position <N>: <reason>`.
  static Result<Requirement> Parse(std::string_view text);

  // PEP 503-normalized name.
  std::string NormalizedName() const { return NormalizeName(name); }
  // True if the requirement applies in `env` when `extras` of the depending package are
  // requested (see Marker::EvaluateForExtras).
  bool Applies(const MarkerEnvironment& env, const std::vector<std::string>& extras = {}) const {
    return marker.EvaluateForExtras(env, extras);
  }
  // Canonical text: `name[a,b]>=1,<2; python_version < "3.9"` / `name @ url ; marker`.
  std::string ToString() const;
};

}  // namespace ferry::specs
