#include "src/specs/package_record.h"

namespace ferry::specs {

NoarchKind ParseNoarch(std::string_view value) {
  if (value.empty() || value == "false" || value == "null") return NoarchKind::kNone;
  if (value == "python") return NoarchKind::kPython;
  return NoarchKind::kGeneric;
}

const char* NoarchName(NoarchKind kind) {
  switch (kind) {
    case NoarchKind::kNone: return "";
    case NoarchKind::kGeneric: return "generic";
    case NoarchKind::kPython: return "python";
  }
  return "";
}

}  // namespace ferry::specs
