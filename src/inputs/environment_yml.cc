#include "src/inputs/environment_yml.h"

#include <cctype>

#include "src/inputs/requirements_txt.h"

namespace ferry::inputs {

namespace {

Status ErrAt(std::string_view file, int line, const std::string& msg) {
  return Status::User(std::string(file) + ":" + std::to_string(line) + ": " + msg);
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

Result<std::vector<const TomlValue*>> Sequence(const TomlValue& v, std::string_view file,
                                               const std::string& key) {
  if (v.type != TomlValue::Type::kArray) {
    return ErrAt(file, v.line, key + ": expected a list, got " + v.TypeName());
  }
  std::vector<const TomlValue*> out;
  for (const TomlValue& item : v.array) out.push_back(&item);
  return out;
}

Status PipEntry(const TomlValue& item, std::string_view file, EnvironmentYml& out) {
  if (item.type != TomlValue::Type::kString) {
    return ErrAt(file, item.line, std::string("pip: expected a requirement string, got ") +
                                      item.TypeName());
  }
  std::string s = Trim(item.text);
  if (s.empty()) return ErrAt(file, item.line, "pip: empty requirement");
  if (s[0] == '-') {
    auto value = [&](const std::string& opt) -> std::string {
      std::string rest = Trim(s.substr(opt.size()));
      if (!rest.empty() && rest[0] == '=') rest = Trim(rest.substr(1));
      return rest;
    };
    if (s.rfind("--index-url", 0) == 0) {
      out.index_url = value("--index-url");
    } else if (s.rfind("--extra-index-url", 0) == 0) {
      out.extra_index_urls.push_back(value("--extra-index-url"));
    } else if (s.rfind("-e", 0) == 0 || s.rfind("--editable", 0) == 0) {
      return ErrAt(file, item.line, "pip: -e/--editable requirements are not supported");
    } else {
      return ErrAt(file, item.line, "pip: option '" + s +
                                        "' is not supported in environment.yml (use a "
                                        "requirements.txt input)");
    }
    return Status::Ok();
  }
  if (RequirementName(s).empty()) {
    return ErrAt(file, item.line, "pip: invalid requirement '" + s + "'");
  }
  out.pypi.push_back(s);
  return Status::Ok();
}

}  // namespace

std::string PythonFromCondaSpec(std::string_view spec) {
  std::string s = Trim(spec);
  size_t colons = s.rfind("::");
  if (colons != std::string::npos) s = s.substr(colons + 2);
  if (s.rfind("python", 0) != 0) return "";
  std::string rest = s.substr(6);
  if (!rest.empty() && (std::isalnum(static_cast<unsigned char>(rest[0])) || rest[0] == '_' ||
                        rest[0] == '-')) {
    return "";  // python_abi, python-dateutil, ...
  }
  rest = Trim(rest);
  if (rest.rfind("==", 0) == 0) {
    rest = rest.substr(2);
  } else if (rest.rfind("=", 0) == 0) {
    rest = rest.substr(1);
  }
  rest = Trim(rest);
  size_t end = rest.find_first_of(" =");  // drop a build string
  if (end != std::string::npos) rest = rest.substr(0, end);
  if (rest.size() >= 2 && rest.compare(rest.size() - 2, 2, ".*") == 0) {
    rest = rest.substr(0, rest.size() - 2);
  } else if (!rest.empty() && rest.back() == '*') {
    rest.pop_back();
  }
  if (rest.empty() || !std::isdigit(static_cast<unsigned char>(rest[0]))) return "";
  for (char c : rest) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return "";
  }
  return rest;
}

Result<EnvironmentYml> InterpretEnvironmentYml(const TomlValue& doc, std::string_view filename) {
  if (doc.type != TomlValue::Type::kTable) {
    return ErrAt(filename, doc.line ? doc.line : 1, "expected a mapping at the top level");
  }
  EnvironmentYml out;
  if (const TomlValue* name = doc.Get("name")) {
    if (name->type != TomlValue::Type::kString) {
      return ErrAt(filename, name->line, "name: expected a string");
    }
    out.name = name->text;
  }
  if (const TomlValue* channels = doc.Get("channels")) {
    FERRY_ASSIGN_OR_RETURN(auto items, Sequence(*channels, filename, "channels"));
    for (const TomlValue* c : items) {
      if (c->type != TomlValue::Type::kString || Trim(c->text).empty()) {
        return ErrAt(filename, c->line, "channels: expected a channel name or URL");
      }
      out.channels.push_back(Trim(c->text));
    }
  }
  const TomlValue* deps = doc.Get("dependencies");
  if (deps == nullptr) {
    return Status::User(std::string(filename) + ": no 'dependencies' list");
  }
  FERRY_ASSIGN_OR_RETURN(auto items, Sequence(*deps, filename, "dependencies"));
  for (const TomlValue* d : items) {
    if (d->type == TomlValue::Type::kString) {
      std::string spec = Trim(d->text);
      if (spec.empty()) return ErrAt(filename, d->line, "dependencies: empty entry");
      out.conda.push_back(spec);
      std::string py = PythonFromCondaSpec(spec);
      if (!py.empty()) out.python = py;
      continue;
    }
    if (d->type == TomlValue::Type::kTable && d->table.size() == 1 && d->table[0].first == "pip") {
      FERRY_ASSIGN_OR_RETURN(auto pips, Sequence(d->table[0].second, filename, "pip"));
      for (const TomlValue* p : pips) FERRY_RETURN_IF_ERROR(PipEntry(*p, filename, out));
      continue;
    }
    return ErrAt(filename, d->line,
                 std::string("dependencies: expected a string or a `pip:` list, got ") +
                     d->TypeName());
  }
  return out;
}

}  // namespace ferry::inputs
