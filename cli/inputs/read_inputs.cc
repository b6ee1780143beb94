#include "cli/inputs/read_inputs.h"

#include <filesystem>

#include "cli/inputs/yaml_tree.h"

namespace ferry::cli {

namespace {

// `path` relative to `dir` when it lies below it, else `path` unchanged.
std::string RelativeTo(const std::string& path, const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec).lexically_normal();
  if (ec) return path;
  std::filesystem::path d = std::filesystem::absolute(dir.empty() ? "." : dir, ec).lexically_normal();
  if (ec) return path;
  std::filesystem::path rel = p.lexically_relative(d);
  if (rel.empty()) return path;
  std::string s = rel.generic_string();
  if (s == ".." || s.rfind("../", 0) == 0) return path;
  return s;
}

}  // namespace

Result<inputs::CombinedInputs> ReadInputs(FileSystem& fs, const inputs::InputSpec& spec,
                                          const std::string& lock_dir) {
  inputs::InputReaders readers;
  readers.read = [&fs](const std::string& path) { return fs.ReadFile(path); };
  readers.parse_yaml = [](std::string_view bytes, std::string_view filename) {
    return ParseYamlTree(bytes, filename);
  };
  FERRY_ASSIGN_OR_RETURN(inputs::CombinedInputs out, inputs::CombineInputs(spec, readers));
  for (auto& in : out.inputs) in.path = RelativeTo(in.path, lock_dir);
  if (!out.flow_file.empty()) out.flow_file = RelativeTo(out.flow_file, lock_dir);
  return out;
}

std::string DefaultLockPath(const inputs::InputSpec& spec) {
  if (spec.paths.empty()) return "ferry.lock";
  const std::string& first = spec.paths.front();
  if (first.find('/') == std::string::npos) return "ferry.lock";
  return JoinPath(DirName(first), "ferry.lock");
}

}  // namespace ferry::cli
