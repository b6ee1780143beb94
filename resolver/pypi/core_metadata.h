// Python core metadata (METADATA / PKG-INFO, RFC 822-style headers): the fields the resolver
// needs. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::resolver::pypi {

struct CoreMetadata {
  std::string metadata_version;
  std::string name;
  std::string version;
  std::string requires_python;
  std::vector<std::string> requires_dist;   // PEP 508 strings, in file order
  std::vector<std::string> provides_extra;
};

// Parses the header block (stops at the first empty line: the body is the description).
// Continuation lines (leading whitespace) are folded. Missing Name or Version is kUser,
// with `origin` (file or URL) in the message.
Result<CoreMetadata> ParseCoreMetadata(std::string_view text, std::string_view origin);

}  // namespace ferry::resolver::pypi
