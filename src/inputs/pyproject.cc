#include "src/inputs/pyproject.h"

#include <algorithm>

#include "src/inputs/requirements_txt.h"
#include "src/inputs/toml.h"

namespace ferry::inputs {

namespace {

Status ErrAt(std::string_view file, int line, const std::string& msg) {
  return Status::User(std::string(file) + ":" + std::to_string(line) + ": " + msg);
}

Result<std::vector<std::string>> Strings(const TomlValue& v, std::string_view file,
                                         const std::string& what) {
  if (v.type != TomlValue::Type::kArray) {
    return ErrAt(file, v.line, what + " must be an array of strings, got " + v.TypeName());
  }
  std::vector<std::string> out;
  for (const TomlValue& item : v.array) {
    if (item.type != TomlValue::Type::kString) {
      return ErrAt(file, item.line, what + " must be an array of strings, found " +
                                        item.TypeName());
    }
    std::string s = item.text;
    size_t b = s.find_first_not_of(" \t\r\n");
    size_t e = s.find_last_not_of(" \t\r\n");
    s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
    if (s.empty()) return ErrAt(file, item.line, what + " contains an empty requirement");
    if (RequirementName(s).empty()) {
      return ErrAt(file, item.line, what + ": invalid requirement '" + s + "'");
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace

Result<PyProject> ReadPyProject(std::string_view bytes, std::string_view filename) {
  FERRY_ASSIGN_OR_RETURN(TomlValue root, ParseToml(bytes, filename));
  const TomlValue* project = root.Get("project");
  if (project == nullptr) {
    return Status::User(std::string(filename) + ": no [project] table (ferry reads PEP 621 "
                                                "metadata: [project].dependencies)");
  }
  if (project->type != TomlValue::Type::kTable) {
    return ErrAt(filename, project->line, "[project] must be a table");
  }
  PyProject out;
  if (const TomlValue* name = project->Get("name")) {
    if (name->type == TomlValue::Type::kString) out.name = name->text;
  }
  if (const TomlValue* dynamic = project->Get("dynamic")) {
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> dyn,
                           Strings(*dynamic, filename, "[project].dynamic"));
    for (const std::string& d : dyn) {
      if (d == "dependencies" || d == "optional-dependencies") {
        return ErrAt(filename, dynamic->line,
                     "[project]." + d + " is dynamic; ferry reads static metadata only (list "
                     "the requirements in pyproject.toml or use a requirements.txt)");
      }
    }
  }
  if (const TomlValue* deps = project->Get("dependencies")) {
    FERRY_ASSIGN_OR_RETURN(out.dependencies, Strings(*deps, filename, "[project].dependencies"));
    out.dependencies_line = deps->line;
  }
  if (const TomlValue* opt = project->Get("optional-dependencies")) {
    if (opt->type != TomlValue::Type::kTable) {
      return ErrAt(filename, opt->line, "[project.optional-dependencies] must be a table");
    }
    for (const auto& [extra, list] : opt->table) {
      FERRY_ASSIGN_OR_RETURN(
          out.optional[extra],
          Strings(list, filename, "[project.optional-dependencies]." + extra));
    }
  }
  if (const TomlValue* rp = project->Get("requires-python")) {
    if (rp->type != TomlValue::Type::kString) {
      return ErrAt(filename, rp->line, "[project].requires-python must be a string");
    }
    out.requires_python = rp->text;
  }
  return out;
}

Result<std::vector<std::string>> SelectDependencies(const PyProject& project,
                                                    const std::vector<std::string>& extras,
                                                    std::string_view filename) {
  std::vector<std::string> out = project.dependencies;
  for (const std::string& extra : extras) {
    const std::vector<std::string>* list = nullptr;
    for (const auto& [name, reqs] : project.optional) {
      if (NormalizePypiName(name) == NormalizePypiName(extra)) list = &reqs;
    }
    if (list == nullptr) {
      std::string available;
      for (const auto& [name, reqs] : project.optional) {
        available += (available.empty() ? "" : ", ") + name;
      }
      return Status::User(std::string(filename) + ": unknown extra '" + extra + "' (" +
                          (available.empty() ? "the project defines no optional dependencies"
                                             : "available: " + available) +
                          ")");
    }
    for (const std::string& r : *list) {
      if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    }
  }
  return out;
}

}  // namespace ferry::inputs
