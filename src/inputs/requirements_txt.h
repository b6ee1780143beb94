// requirements.txt in pip's syntax (https://pip.pypa.io/en/stable/reference/requirements-file-format/).
//
// Understood: one PEP 508 requirement per line (environment markers kept on the requirement),
// `# comments` (at line start or after whitespace), `\` line continuations, blank lines,
// `-r/--requirement FILE` and `-c/--constraint FILE` (relative to the including file),
// `-i/--index-url URL`, `--extra-index-url URL`, `--no-index`, `--pre`, per-requirement
// `--hash=ALGO:HEX` options (recorded), and the options pip accepts that do not change what is
// resolved (`--trusted-host`, `--prefer-binary`, `--only-binary`, `--use-feature`).
// Rejected with file:line errors: `-e/--editable`, bare paths/URLs without `name @`,
// `-f/--find-links`, `--no-binary`, unknown options. Environment variables (`${VAR}`) are not
// expanded (pure reader).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::inputs {

// Reads a whole file by path (for -r/-c includes). Errors name the path.
using ReadFileFn = std::function<Result<std::string>(const std::string& path)>;

struct PypiRequirement {
  std::string requirement;          // "numpy>=1.26; python_version >= '3.10'" (whitespace tidied)
  std::string name;                 // PEP 503-normalized project name: "scikit-learn"
  std::vector<std::string> hashes;  // "sha256:<hex>" as given by --hash
  std::string origin;               // "requirements.txt:3"
};

struct RequirementsTxt {
  std::vector<PypiRequirement> requirements;  // in file order (includes expanded in place)
  std::vector<PypiRequirement> constraints;   // from -c files
  std::string index_url;                      // last -i/--index-url ("" = not given)
  std::vector<std::string> extra_index_urls;  // in order, without duplicates
  bool no_index = false;
  bool pre = false;
  std::vector<std::string> files;  // every file read, the top one first (for lock inputs)
};

// PEP 503 name normalization (specs::NormalizeName).
std::string NormalizePypiName(std::string_view name);

// Splits the project name off a PEP 508 requirement ("Scikit_Learn[x]>=1" -> "Scikit_Learn").
// Returns "" if the text does not start with a valid name.
std::string RequirementName(std::string_view requirement);

// Reads `path` through `read` and follows its includes. Errors (kUser) are
// "<file>:<line>: <reason>", e.g. "reqs/dev.txt:4: -e/--editable requirements are not supported",
// "requirements.txt:2: -r base.txt: include cycle (base.txt -> requirements.txt -> base.txt)".
Result<RequirementsTxt> ReadRequirementsTxt(const std::string& path, const ReadFileFn& read);

}  // namespace ferry::inputs
