// libFuzzer target: conda Version parsing and ordering invariants.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/specs/conda_version.h"

using ferry::specs::Version;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view a_text = in.substr(0, nl);
  std::string_view b_text = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto a = Version::Parse(a_text);
  if (!a.ok()) return 0;
  if (a->Compare(*a) != 0) __builtin_trap();
  auto again = Version::Parse(a->str());
  if (!again.ok() || again->Compare(*a) != 0 || again->Hash() != a->Hash()) __builtin_trap();
  (void)a->StartsWith(*a);
  auto b = Version::Parse(b_text);
  if (!b.ok()) return 0;
  int ab = a->Compare(*b), ba = b->Compare(*a);
  if (ab != -ba) __builtin_trap();
  if (ab == 0 && a->Hash() != b->Hash()) __builtin_trap();
  (void)a->StartsWith(*b);
  (void)b->StartsWith(*a);
  return 0;
}
