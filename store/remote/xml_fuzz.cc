// libFuzzer target for the S3/STS XML reader (FERRY_FUZZ=ON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/remote/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = ferry::store::ParseXml(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.ok()) (void)r->ChildText("Key");
  return 0;
}
