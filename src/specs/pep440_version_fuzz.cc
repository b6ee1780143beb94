// libFuzzer target: PEP 440 version parsing, normalization round-trip and ordering invariants.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/specs/pep440.h"

using ferry::specs::Pep440Version;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  auto a = Pep440Version::Parse(in.substr(0, nl));
  if (!a.ok()) return 0;
  auto norm = Pep440Version::Parse(a->ToString());
  if (!norm.ok() || norm->Compare(*a) != 0 || norm->ToString() != a->ToString()) __builtin_trap();
  if (nl == std::string_view::npos) return 0;
  auto b = Pep440Version::Parse(in.substr(nl + 1));
  if (!b.ok()) return 0;
  if (a->Compare(*b) != -b->Compare(*a)) __builtin_trap();
  return 0;
}
