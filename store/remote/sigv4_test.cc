// SigV4 signer against the example vectors of the AWS S3 documentation
// ("Examples: Signature Calculations", header-based auth, examplebucket, 20130524).
#include "store/remote/sigv4.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::store;

namespace {
const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
AwsCredentials ExampleCreds() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
}
}  // namespace

TEST_CASE("sigv4: AWS example GET /test.txt with Range", "[sigv4]") {
  SigV4Request r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  r.payload_sha256 = kEmpty;
  auto s = SignV4(r, ExampleCreds(), "us-east-1", "s3", "20130524T000000Z");
  CHECK(s.canonical_request ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(s.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  CHECK(s.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  // The headers to send carry the date, the payload hash and the Authorization, never the secret.
  bool has_auth = false;
  for (const auto& [k, v] : s.headers) {
    CHECK(v.find("wJalrXUtnFEMI") == std::string::npos);
    if (k == "Authorization") has_auth = true;
  }
  CHECK(has_auth);
}

TEST_CASE("sigv4: AWS example PUT test$file.text", "[sigv4]") {
  SigV4Request r;
  r.method = "PUT";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/" + UriEncode("test$file.text", false);
  CHECK(r.path == "/test%24file.text");
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  r.payload_sha256 = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  auto s = SignV4(r, ExampleCreds(), "us-east-1", "s3", "20130524T000000Z");
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  CHECK(s.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  CHECK(s.authorization.find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                             "x-amz-storage-class,") != std::string::npos);
}

TEST_CASE("sigv4: AWS example GET ?lifecycle (empty value keeps '=')", "[sigv4]") {
  SigV4Request r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/";
  r.query = {{"lifecycle", ""}};
  r.payload_sha256 = kEmpty;
  auto s = SignV4(r, ExampleCreds(), "us-east-1", "s3", "20130524T000000Z");
  CHECK(s.query_string == "lifecycle=");
  CHECK(s.string_to_sign.substr(s.string_to_sign.rfind('\n') + 1) ==
        "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  CHECK(s.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_CASE("sigv4: AWS example list objects, query sorted regardless of input order", "[sigv4]") {
  SigV4Request r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // deliberately unsorted
  r.payload_sha256 = kEmpty;
  auto s = SignV4(r, ExampleCreds(), "us-east-1", "s3", "20130524T000000Z");
  CHECK(s.query_string == "max-keys=2&prefix=J");
  CHECK(s.string_to_sign.substr(s.string_to_sign.rfind('\n') + 1) ==
        "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  CHECK(s.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("sigv4: RFC 3986 encoding", "[sigv4]") {
  CHECK(UriEncode("a-b_c.d~e/f", false) == "a-b_c.d~e/f");
  CHECK(UriEncode("a/b", true) == "a%2Fb");
  CHECK(UriEncode("a b+c=d&e", true) == "a%20b%2Bc%3Dd%26e");
  CHECK(UriEncode("\xc3\xa9", true) == "%C3%A9");
  CHECK(CanonicalQueryString({{"prefix", "v1/blobs/"}, {"list-type", "2"}, {"uploads", ""}}) ==
        "list-type=2&prefix=v1%2Fblobs%2F&uploads=");
  // Sorting is by encoded name: "continuation-token" < "list-type".
  CHECK(CanonicalQueryString({{"list-type", "2"}, {"continuation-token", "a+b/="}}) ==
        "continuation-token=a%2Bb%2F%3D&list-type=2");
}

TEST_CASE("sigv4: session token is signed and sent; header values are trimmed", "[sigv4]") {
  SigV4Request r;
  r.method = "GET";
  r.host = "127.0.0.1:7480";
  r.path = "/b/k";
  r.headers = {{"X-Amz-Meta-A", "  x   y  "}};
  r.payload_sha256 = kEmpty;
  AwsCredentials c = ExampleCreds();
  c.session_token = "TOKEN";
  auto s = SignV4(r, c, "us-east-1", "s3", "20130524T000000Z");
  CHECK(s.canonical_request.find("host:127.0.0.1:7480\n") != std::string::npos);
  CHECK(s.canonical_request.find("x-amz-meta-a:x y\n") != std::string::npos);
  CHECK(s.canonical_request.find("x-amz-security-token:TOKEN\n") != std::string::npos);
  CHECK(s.authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;"
                             "x-amz-security-token,") != std::string::npos);
  // A different secret gives a different signature.
  AwsCredentials wrong = c;
  wrong.secret_access_key = "other";
  CHECK(SignV4(r, wrong, "us-east-1", "s3", "20130524T000000Z").signature != s.signature);
}

TEST_CASE("sigv4: AmzDateNow format", "[sigv4]") {
  std::string d = AmzDateNow();
  REQUIRE(d.size() == 16);
  CHECK(d[8] == 'T');
  CHECK(d[15] == 'Z');
}
