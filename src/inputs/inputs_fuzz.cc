// libFuzzer target: the TOML, pyproject.toml and requirements.txt readers never crash on
// arbitrary bytes; every error names the file.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/inputs/pyproject.h"
#include "src/inputs/requirements_txt.h"
#include "src/inputs/toml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto toml = ferry::inputs::ParseToml(text, "f.toml");
  if (!toml.ok() && toml.status().message().rfind("f.toml:", 0) != 0) std::abort();
  auto py = ferry::inputs::ReadPyProject(text, "f.toml");
  if (!py.ok() && py.status().message().rfind("f.toml", 0) != 0) std::abort();
  ferry::inputs::ReadFileFn read = [&](const std::string& path) -> ferry::Result<std::string> {
    if (path == "r.txt") return text;
    return ferry::Status::User(path + ": not found");
  };
  auto req = ferry::inputs::ReadRequirementsTxt("r.txt", read);
  if (!req.ok() && req.status().message().empty()) std::abort();
  return 0;
}
