// libFuzzer target: conda MatchSpec parsing, matching and canonical text round-trip.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/specs/match_spec.h"

using ferry::specs::MatchSpec;
using ferry::specs::PackageRecord;
using ferry::specs::Version;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto spec = MatchSpec::Parse(in);
  if (!spec.ok()) return 0;
  PackageRecord r;
  r.name = "numpy";
  r.version = *Version::Parse("1.26.4");
  r.build = "py311h64a7726_0";
  r.subdir = "linux-64";
  r.channel = "https://conda.anaconda.org/conda-forge";
  bool m = spec->Matches(r);
  auto again = MatchSpec::Parse(spec->ToString());
  if (!again.ok()) __builtin_trap();
  if (again->Matches(r) != m) __builtin_trap();
  return 0;
}
