// libFuzzer target: ParseLock never crashes on arbitrary bytes, and whatever it accepts
// round-trips: WriteLock(ParseLock(x)) parses again to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/lock/lock_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto lock = ferry::lock::ParseLock(text, "fuzz.lock");
  if (!lock.ok()) return 0;
  std::string once = ferry::lock::WriteLock(*lock);
  auto again = ferry::lock::ParseLock(once, "fuzz.lock");
  if (!again.ok()) std::abort();
  if (ferry::lock::WriteLock(*again) != once) std::abort();
  return 0;
}
