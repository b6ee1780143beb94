#include "resolver/index/channel_loader.h"

#include <zstd.h>

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::resolver;

namespace {
std::string Compress(const std::string& s, bool with_size) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, with_size ? 1 : 0);
  std::string out(ZSTD_compressBound(s.size()), '\0');
  size_t n = ZSTD_compress2(c, out.data(), out.size(), s.data(), s.size());
  ZSTD_freeCCtx(c);
  out.resize(n);
  return out;
}
}  // namespace

TEST_CASE("zstd repodata: whole frames decode, truncated and corrupt ones are errors") {
  std::string small = R"({"info":{"subdir":"linux-64"},"packages":{}})";
  std::string big;
  for (int i = 0; i < 300000; ++i) big += "record " + std::to_string(i) + "\n";  // > 1 MiB chunk
  for (const std::string* text : {&small, &big}) {
    for (bool with_size : {true, false}) {
      std::string z = Compress(*text, with_size);
      auto out = ZstdDecompress(z, "repodata.json.zst");
      REQUIRE(out.ok());
      CHECK(*out == *text);
      // Two concatenated frames are one stream.
      auto twice = ZstdDecompress(z + z, "x");
      REQUIRE(twice.ok());
      CHECK(*twice == *text + *text);
      auto cut = ZstdDecompress(std::string_view(z).substr(0, z.size() - 3), "repodata.json.zst");
      REQUIRE_FALSE(cut.ok());
      CHECK(cut.status().message().find("repodata.json.zst") != std::string::npos);
    }
  }
  auto junk = ZstdDecompress("not zstd at all", "f.zst");
  REQUIRE_FALSE(junk.ok());
  CHECK(junk.status().message().find("corrupt zstd data") != std::string::npos);
}
