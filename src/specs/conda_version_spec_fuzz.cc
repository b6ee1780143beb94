// libFuzzer target: conda VersionSpec parsing, matching and canonical text round-trip.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/specs/conda_version_spec.h"

using ferry::specs::Version;
using ferry::specs::VersionSpec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto spec = VersionSpec::Parse(in);
  if (!spec.ok()) return 0;
  static const char* kVersions[] = {"0", "1.2", "1.2.3", "1.2.0rc1", "2!1.0", "1.0+local.1",
                                    "1.1post1", "3.11.4", "1.0dev"};
  auto again = VersionSpec::Parse(spec->ToString());
  if (!again.ok()) __builtin_trap();
  for (const char* text : kVersions) {
    Version v = *Version::Parse(text);
    if (spec->Matches(v) != again->Matches(v)) __builtin_trap();
  }
  return 0;
}
