// libFuzzer target: PEP 440 SpecifierSet parsing, containment and canonical text round-trip.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/specs/pep440.h"

using ferry::specs::Pep440Version;
using ferry::specs::SpecifierSet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto set = SpecifierSet::Parse(in);
  if (!set.ok()) return 0;
  auto again = SpecifierSet::Parse(set->ToString());
  if (!again.ok()) __builtin_trap();
  static const char* kVersions[] = {"0", "1.0", "1.0a1", "1.0.post1", "2!1.0", "1.0+local",
                                    "1.2.3.dev4", "3.11.4"};
  for (const char* text : kVersions) {
    Pep440Version v = *Pep440Version::Parse(text);
    if (set->Contains(v) != again->Contains(v)) __builtin_trap();
    (void)set->Contains(v, true);
  }
  return 0;
}
