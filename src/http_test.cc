#include "src/http.h"

#include <catch2/catch.hpp>

using namespace ferry;

TEST_CASE("RedactUrl hides credentials and signatures") {
  REQUIRE(RedactUrl("https://user:pw@host/x") == "https://REDACTED@host/x");
  REQUIRE(RedactUrl("http://h/b/k?X-Amz-Signature=abc&x-id=GetObject") ==
          "http://h/b/k?X-Amz-Signature=REDACTED&x-id=GetObject");
  REQUIRE(RedactUrl("http://h/simple/numpy/") == "http://h/simple/numpy/");
  REQUIRE(RedactUrl("http://h/p?token=s3cr3t") == "http://h/p?token=REDACTED");
}
