// libFuzzer target: PEP 508 requirement + marker parsing, evaluation and round-trip.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/specs/pep508.h"

using ferry::specs::Requirement;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto req = Requirement::Parse(in);
  if (!req.ok()) return 0;
  static const auto kEnv = *ferry::specs::MarkerEnvironmentFor("linux-64", "3.11");
  bool applies = req->Applies(kEnv, {"test"});
  auto again = Requirement::Parse(req->ToString());
  if (!again.ok()) __builtin_trap();
  if (again->Applies(kEnv, {"test"}) != applies) __builtin_trap();
  if (again->ToString() != req->ToString()) __builtin_trap();
  return 0;
}
