#include "src/digest.h"

#include <catch2/catch.hpp>

using namespace ferry;

TEST_CASE("sha256 and md5 known answers") {
  REQUIRE(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  REQUIRE(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  REQUIRE(Md5Hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  Hasher h;
  h.Update("a");
  h.Update("bc");
  REQUIRE(h.HexDigest() == Sha256Hex("abc"));
  REQUIRE(IsSha256Hex(Sha256Hex("x")));
  REQUIRE_FALSE(IsSha256Hex("ABC"));
}
