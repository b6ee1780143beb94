#include "cli/inputs/yaml_tree.h"

#include <yaml-cpp/yaml.h>

#include <string>

namespace ferry::cli {

namespace {

Result<inputs::TomlValue> Convert(const YAML::Node& node, std::string_view filename, int depth) {
  if (depth > 64) {
    return Status::User(std::string(filename) + ": yaml: nesting deeper than 64 levels");
  }
  inputs::TomlValue v;
  v.line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
  switch (node.Type()) {
    case YAML::NodeType::Map:
      v.type = inputs::TomlValue::Type::kTable;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          return Status::User(std::string(filename) + ":" + std::to_string(v.line) +
                              ": yaml: mapping keys must be plain strings");
        }
        FERRY_ASSIGN_OR_RETURN(inputs::TomlValue child, Convert(it->second, filename, depth + 1));
        if (child.line == 0) child.line = it->first.Mark().line + 1;
        v.table.push_back(inputs::TomlMember{it->first.Scalar(), std::move(child)});
      }
      break;
    case YAML::NodeType::Sequence:
      v.type = inputs::TomlValue::Type::kArray;
      for (const auto& item : node) {
        FERRY_ASSIGN_OR_RETURN(inputs::TomlValue child, Convert(item, filename, depth + 1));
        v.array.push_back(std::move(child));
      }
      break;
    case YAML::NodeType::Scalar:
      v.type = inputs::TomlValue::Type::kString;
      v.text = node.Scalar();
      break;
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      v.type = inputs::TomlValue::Type::kString;
      break;
  }
  return v;
}

}  // namespace

Result<inputs::TomlValue> ParseYamlTree(std::string_view bytes, std::string_view filename) {
  try {
    YAML::Node root = YAML::Load(std::string(bytes));
    if (root.IsNull() || !root.IsDefined()) {
      inputs::TomlValue empty;
      empty.type = inputs::TomlValue::Type::kTable;
      empty.line = 1;
      return empty;
    }
    return Convert(root, filename, 0);
  } catch (const YAML::Exception& e) {
    return Status::User(std::string(filename) + ":" + std::to_string(e.mark.line + 1) +
                        ": yaml: " + e.msg);
  } catch (const std::exception& e) {
    return Status::User(std::string(filename) + ": yaml: " + e.what());
  }
}

}  // namespace ferry::cli
