// YAML text -> the generic value tree of src/inputs/toml.h (mappings: kTable, sequences: kArray,
// scalars: kString; each with its 1-based line). Uses yaml-cpp, which only the ferry binary links,
// so src/ stays free of it. Used for environment.yml (src/inputs/environment_yml.h).
#pragma once

#include <string_view>

#include "src/inputs/toml.h"
#include "src/status.h"

namespace ferry::cli {

// Parses one YAML document. An empty document is an empty table. Errors (kUser) name the file
// and line: "environment.yml:4: yaml: illegal map value". Aliases are followed; tags ignored;
// null scalars become empty strings.
Result<inputs::TomlValue> ParseYamlTree(std::string_view bytes, std::string_view filename);

}  // namespace ferry::cli
