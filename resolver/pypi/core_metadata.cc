#include "resolver/pypi/core_metadata.h"

#include <algorithm>
#include <cctype>

namespace ferry::resolver::pypi {

static std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

static bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Result<CoreMetadata> ParseCoreMetadata(std::string_view text, std::string_view origin) {
  CoreMetadata md;
  std::vector<std::pair<std::string, std::string>> fields;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? text.npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of headers
    if ((line.front() == ' ' || line.front() == '\t')) {
      if (!fields.empty()) fields.back().second += " " + std::string(Trim(line));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // tolerate junk lines like real installers
    fields.emplace_back(std::string(Trim(line.substr(0, colon))),
                        std::string(Trim(line.substr(colon + 1))));
  }
  for (auto& [key, value] : fields) {
    if (IEquals(key, "Metadata-Version")) md.metadata_version = value;
    else if (IEquals(key, "Name")) md.name = value;
    else if (IEquals(key, "Version")) md.version = value;
    else if (IEquals(key, "Requires-Python")) md.requires_python = value;
    else if (IEquals(key, "Requires-Dist")) md.requires_dist.push_back(value);
    else if (IEquals(key, "Provides-Extra")) md.provides_extra.push_back(value);
  }
  if (md.name.empty() || md.version.empty()) {
    return Status::User(std::string(origin) + ": core metadata has no " +
                        (md.name.empty() ? "Name" : "Version") + " field");
  }
  return md;
}

}  // namespace ferry::resolver::pypi
