// Hermetic unit tests of CurlHttpClient (no server needed). The behaviour against real servers
// (nginx, fault injection) is covered by tests/http_integration_test.cc.
#include "src/platform/curl_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

using namespace ferry;

namespace {

// A loopback port nobody listens on.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("CurlHttpClient: connection refused names the redacted URL, never secrets") {
  CurlHttpOptions o;
  o.base_backoff_ms = 1;
  CurlHttpClient client(o);
  HttpRequest req;
  std::string port = std::to_string(ClosedPort());
  req.url = "http://bob:hunter2pw@127.0.0.1:" + port + "/x?Signature=abcdef123&token=tok123456";
  req.headers = {{"Authorization", "AWS4-HMAC-SHA256 Credential=AKID/x, Signature=f00dbeef"}};
  req.max_attempts = 3;
  auto res = client.Send(req);
  REQUIRE_FALSE(res.ok());
  const std::string& m = res.status().message();
  INFO(m);
  CHECK(res.status().code() == Code::kNetwork);
  CHECK(m.rfind("GET http://REDACTED@127.0.0.1:" + port + "/x?Signature=REDACTED&token=REDACTED",
                0) == 0);
  CHECK(m.find("(after 3 attempts)") != std::string::npos);
  for (const char* s : {"bob", "hunter2pw", "abcdef123", "tok123456", "f00dbeef", "AKID"})
    CHECK(m.find(s) == std::string::npos);
}

TEST_CASE("CurlHttpClient: request-body errors are user errors naming the file") {
  CurlHttpClient client;
  HttpRequest req;
  req.method = "PUT";
  req.url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/x";
  req.body_file = "/nonexistent/ferry-body.bin";
  auto res = client.Send(req);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == Code::kUser);
  CHECK(res.status().message().find("/nonexistent/ferry-body.bin") != std::string::npos);

  req.body = "x";  // both kinds of body
  res = client.Send(req);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == Code::kUsage);
}

TEST_CASE("CurlHttpClient: only http and https are allowed") {
  CurlHttpClient client;
  HttpRequest req;
  req.url = "file:///etc/hostname";
  auto res = client.Send(req);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == Code::kNetwork);
  CHECK(res.status().message().find("file:///etc/hostname") != std::string::npos);
  CHECK(res.status().message().find("(after 1 attempt)") != std::string::npos);
}

TEST_CASE("CurlHttpClient: SendAll keeps one result per request, in order") {
  CurlHttpClient client;
  std::vector<HttpRequest> reqs(3);
  reqs[0].url = "ftp://127.0.0.1/a";
  reqs[1].url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/b";
  reqs[1].max_attempts = 1;
  reqs[2].method = "PUT";
  reqs[2].url = "http://127.0.0.1:1/c";
  reqs[2].body_file = "/nonexistent/c";
  auto results = client.SendAll(reqs, 2);
  REQUIRE(results.size() == 3);
  CHECK(results[0].status().message().find("ftp://127.0.0.1/a") != std::string::npos);
  CHECK(results[1].status().message().find("/b:") != std::string::npos);
  CHECK(results[2].status().code() == Code::kUser);
}
