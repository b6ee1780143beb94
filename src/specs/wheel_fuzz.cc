// libFuzzer target: wheel and sdist file name parsing and tag priority lookup.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/specs/wheel.h"

using namespace ferry::specs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static const TagPriorities kPriorities(CompatibleTags(*WheelTargetFor("linux-64", "3.11")));
  auto w = WheelFilename::Parse(in);
  if (w.ok()) {
    auto p = kPriorities.Priority(*w);
    if (p && (*p < 0)) __builtin_trap();
    (void)w->NormalizedName();
  }
  auto s = SdistFilename::Parse(in);
  if (s.ok() && s->name.empty()) __builtin_trap();
  return 0;
}
