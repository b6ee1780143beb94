// Integration tests of CurlHttpClient against real local servers:
//  - nginx (tests/support/services/nginx.sh): static files, Range, ETag/304, PEP 691 negotiation;
//  - flaky_server.py: injected 503 / 429 / closed connections / truncated bodies / hangs, and
//    PUT bodies echoed back by hash.
// The servers are started by the CTest fixture "http_services" (tests/CMakeLists.txt); this
// program finds them through $FERRY_HTTP_SERVICES (the fixture directory holding nginx/ and
// flaky/). Their logs stay in that directory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "src/digest.h"
#include "src/platform/curl_http.h"
#include "src/platform/posix_fs.h"

using namespace ferry;
namespace fs = std::filesystem;

namespace {

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

struct Services {
  fs::path dir;
  std::string nginx_url;
  fs::path nginx_root;
  fs::path nginx_log;
  std::string flaky_url;
};

const Services& Svc() {
  static const Services svc = [] {
    const char* d = std::getenv("FERRY_HTTP_SERVICES");
    if (d == nullptr || *d == '\0')
      FAIL("FERRY_HTTP_SERVICES is not set: run this test through ctest (fixture http_services)");
    Services s;
    s.dir = d;
    s.nginx_url = Chomp(ReadText(s.dir / "nginx" / "url"));
    s.nginx_root = Chomp(ReadText(s.dir / "nginx" / "root"));
    s.nginx_log = s.dir / "nginx" / "access.log";
    s.flaky_url = Chomp(ReadText(s.dir / "flaky" / "url"));
    if (s.nginx_url.empty() || s.flaky_url.empty())
      FAIL("services are not running (no url files in " << s.dir << ")");
    return s;
  }();
  return svc;
}

// Deterministic bytes (all 256 values) for test files.
std::string Bytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

// Writes a file under nginx's root; returns its URL.
std::string Serve(const std::string& rel, const std::string& data) {
  fs::path p = Svc().nginx_root / rel;
  fs::create_directories(p.parent_path());
  REQUIRE(PosixWriteFileAtomic(p.string(), data).ok());
  return Svc().nginx_url + "/" + rel;
}

// flaky_server.py's Content(key, size).
std::string FlakyContent(const std::string& key, size_t size) {
  std::string unit = Sha256Hex(key), out;
  while (out.size() < size) out += unit;
  return out.substr(0, size);
}

// A unique key per test run so that flaky_server's per-path counters start at zero.
std::string Unique(const std::string& name) {
  static std::atomic<int> n{0};
  return name + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

fs::path TempDir(const std::string& name) {
  fs::path p = fs::path(FERRY_BINARY_DIR) / "tests" / "http-tmp" / Unique(name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

CurlHttpOptions FastRetries() {
  CurlHttpOptions o;
  o.base_backoff_ms = 20;
  o.max_backoff_ms = 200;
  return o;
}

// Access-log lines of nginx that contain `path_fragment`. nginx writes a line after it has sent
// the response, so the client can be faster than the log: wait (up to 5 s) for `at_least` lines.
std::vector<std::string> LogLinesFor(const std::string& path_fragment, size_t at_least) {
  std::vector<std::string> out;
  for (int i = 0; i < 100; ++i) {
    out.clear();
    std::istringstream in(ReadText(Svc().nginx_log));
    for (std::string line; std::getline(in, line);)
      if (line.find(path_fragment) != std::string::npos) out.push_back(line);
    if (out.size() >= at_least) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return out;
}

// A loopback port nobody listens on: bind port 0, learn the port, close.
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

TEST_CASE("plain GET returns status, body and lower-cased headers", "[http][nginx]") {
  CurlHttpClient client;
  std::string data = Bytes(100000, 1);
  HttpRequest req;
  req.url = Serve("plain/hello.bin", data);
  auto res = client.Send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->body == data);
  CHECK(res->attempts == 1);
  CHECK_FALSE(res->from_cache);
  CHECK(res->Header("content-length") == "100000");
  CHECK_FALSE(res->Header("etag").empty());
  REQUIRE_FALSE(res->headers.empty());
  for (const auto& [k, v] : res->headers) {
    INFO(k);
    CHECK(std::none_of(k.begin(), k.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  }
}

TEST_CASE("HEAD returns headers and no body", "[http][nginx]") {
  CurlHttpClient client;
  HttpRequest req;
  req.method = "HEAD";
  req.url = Serve("plain/head.bin", Bytes(4321, 2));
  auto res = client.Send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->body.empty());
  CHECK(res->Header("content-length") == "4321");
}

TEST_CASE("ranged GET returns exactly the requested bytes", "[http][nginx]") {
  CurlHttpClient client;
  std::string data = Bytes(1 << 20, 3);
  std::string url = Serve("range/blob.bin", data);

  HttpRequest req;
  req.url = url;
  req.range = {{1000, 1999}};
  auto res = client.Send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 206);
  CHECK(res->body == data.substr(1000, 1000));
  CHECK(res->Header("content-range") == "bytes 1000-1999/1048576");

  req.range = {{data.size() - 100, std::nullopt}};  // open-ended
  res = client.Send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 206);
  CHECK(res->body == data.substr(data.size() - 100));

  HttpRequest suffix;  // suffix range through a literal header
  suffix.url = url;
  suffix.headers = {{"Range", "bytes=-10"}};
  res = client.Send(suffix);
  REQUIRE(res.ok());
  CHECK(res->status == 206);
  CHECK(res->body == data.substr(data.size() - 10));

  req.range = {{data.size() + 10, std::nullopt}};  // unsatisfiable: a response, not an error
  res = client.Send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 416);
  CHECK(res->attempts == 1);

  auto lines = LogLinesFor("/range/blob.bin", 4);
  REQUIRE(lines.size() >= 4);
  CHECK(lines[0].find("range=\"bytes=1000-1999\"") != std::string::npos);
}

TEST_CASE("ETag revalidation serves the cached body on 304", "[http][nginx][cache]") {
  fs::path cache = TempDir("cache");
  CurlHttpOptions opts;
  opts.cache_dir = cache.string();
  CurlHttpClient client(opts);
  std::string rel = "cache/" + Unique("doc") + ".json";
  std::string v1 = "{\"version\": 1, \"pad\": \"" + std::string(5000, 'x') + "\"}";
  HttpRequest req;
  req.url = Serve(rel, v1);
  req.use_cache = true;

  auto first = client.Send(req);
  REQUIRE(first.ok());
  CHECK(first->status == 200);
  CHECK_FALSE(first->from_cache);
  CHECK(first->body == v1);
  // One entry, named by sha256(url + "\n" + accept).
  CHECK(fs::exists(cache / (Sha256Hex(req.url + "\n") + ".http")));

  auto second = client.Send(req);
  REQUIRE(second.ok());
  CHECK(second->status == 200);
  CHECK(second->from_cache);
  CHECK(second->body == v1);
  CHECK(second->Header("etag") == first->Header("etag"));

  // A new client (new process, same cache dir) revalidates too.
  CurlHttpClient other(opts);
  auto third = other.Send(req);
  REQUIRE(third.ok());
  CHECK(third->from_cache);
  CHECK(third->body == v1);

  auto lines = LogLinesFor("/" + rel, 3);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("\" 200 ") != std::string::npos);
  CHECK(lines[0].find("inm=\"-\"") != std::string::npos);
  CHECK(lines[1].find("\" 304 ") != std::string::npos);
  // nginx writes the quotes of the ETag as \x22.
  std::string etag = first->Header("etag");
  etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
  CHECK(lines[1].find(etag) != std::string::npos);
  CHECK(lines[1].find("ims=\"" + first->Header("last-modified") + "\"") != std::string::npos);
  CHECK(lines[2].find("\" 304 ") != std::string::npos);

  // The document changes: the next request downloads and re-caches it.
  std::string v2 = "{\"version\": 2}";
  Serve(rel, v2);
  auto fourth = client.Send(req);
  REQUIRE(fourth.ok());
  CHECK_FALSE(fourth->from_cache);
  CHECK(fourth->body == v2);
  auto fifth = client.Send(req);
  REQUIRE(fifth.ok());
  CHECK(fifth->from_cache);
  CHECK(fifth->body == v2);

  // A corrupt entry is ignored (plain download), then replaced.
  for (const auto& e : fs::directory_iterator(cache)) {
    std::ofstream(e.path(), std::ios::trunc) << "garbage";
  }
  auto sixth = client.Send(req);
  REQUIRE(sixth.ok());
  CHECK_FALSE(sixth->from_cache);
  CHECK(sixth->body == v2);
  CHECK(client.Send(req)->from_cache);

  // Without use_cache nothing is conditional.
  req.use_cache = false;
  auto plain = client.Send(req);
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->from_cache);
  CHECK(plain->status == 200);
}

TEST_CASE("PEP 691 content negotiation follows the Accept header", "[http][nginx]") {
  std::string project = Unique("demo");
  std::string json = "{\"meta\": {\"api-version\": \"1.1\"}, \"name\": \"" + project + "\"}";
  std::string html = "<!DOCTYPE html><html><body>" + project + "</body></html>";
  Serve("simple/" + project + "/index.json", json);
  std::string url = Serve("simple/" + project + "/index.html", html) ;
  url = url.substr(0, url.size() - std::string("index.html").size());

  fs::path cache = TempDir("pep691");
  CurlHttpOptions opts;
  opts.cache_dir = cache.string();
  CurlHttpClient client(opts);
  for (int round = 0; round < 2; ++round) {  // the second round comes from the cache
    HttpRequest j;
    j.url = url;
    j.use_cache = true;
    j.headers = {{"Accept", "application/vnd.pypi.simple.v1+json"}};
    auto rj = client.Send(j);
    REQUIRE(rj.ok());
    CHECK(rj->status == 200);
    CHECK(rj->from_cache == (round == 1));
    CHECK(rj->Header("content-type") == "application/vnd.pypi.simple.v1+json");
    CHECK(rj->body == json);

    HttpRequest h;
    h.url = url;
    h.use_cache = true;
    h.headers = {{"Accept", "text/html"}};
    auto rh = client.Send(h);
    REQUIRE(rh.ok());
    CHECK(rh->from_cache == (round == 1));
    CHECK(rh->Header("content-type") == "text/html");
    CHECK(rh->body == html);
  }
  // pip's real Accept header prefers JSON.
  HttpRequest pip;
  pip.url = url;
  pip.headers = {{"Accept",
                  "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
                  "text/html;q=0.01"}};
  auto rp = client.Send(pip);
  REQUIRE(rp.ok());
  CHECK(rp->body == json);
}

TEST_CASE("SendAll downloads many files in parallel, in order, over few connections",
          "[http][nginx][parallel]") {
  CurlHttpClient client;
  std::string dir = Unique("many");
  std::vector<HttpRequest> reqs;
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    expected.push_back(Bytes(static_cast<size_t>(i) * 4099, 100 + i));
    HttpRequest r;
    r.url = Serve(dir + "/f" + std::to_string(i) + ".bin", expected.back());
    reqs.push_back(std::move(r));
  }
  auto results = client.SendAll(reqs, 8);
  REQUIRE(results.size() == 50);
  for (int i = 0; i < 50; ++i) {
    INFO("file " << i);
    REQUIRE(results[i].ok());
    CHECK(results[i]->status == 200);
    CHECK(results[i]->body == expected[i]);
  }
  // Connection reuse: 50 requests at parallelism 8 use at most 8 connections (nginx logs the
  // connection serial number of each request).
  std::set<std::string> conns;
  std::regex conn_re("conn=([0-9]+)");
  for (const auto& line : LogLinesFor("/" + dir + "/", 50)) {
    std::smatch m;
    REQUIRE(std::regex_search(line, m, conn_re));
    conns.insert(m[1]);
  }
  CHECK(conns.size() <= 8);
  CHECK(conns.size() >= 1);

  // A later Send reuses one of those connections.
  HttpRequest again;
  again.url = reqs[3].url + "?again";
  REQUIRE(client.Send(again).ok());
  auto lines = LogLinesFor("/" + dir + "/f3.bin?again", 1);
  REQUIRE(lines.size() == 1);
  std::smatch m;
  REQUIRE(std::regex_search(lines[0], m, conn_re));
  CHECK(conns.count(m[1]) == 1);

  // Empty input, and parallelism below 1.
  CHECK(client.SendAll({}, 4).empty());
  auto one = client.SendAll({reqs[1]}, 0);
  REQUIRE(one.size() == 1);
  REQUIRE(one[0].ok());
  CHECK(one[0]->body == expected[1]);
}

TEST_CASE("concurrent Send calls from several threads", "[http][nginx][parallel]") {
  CurlHttpClient client;
  std::string data = Bytes(300000, 7);
  std::string url = Serve("threads/blob.bin", data);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        HttpRequest r;
        r.url = url;
        auto res = client.Send(r);
        if (res.ok() && res->status == 200 && res->body == data) ++good;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(good == 40);
}

TEST_CASE("a streaming sink receives the body in chunks", "[http][nginx][sink]") {
  CurlHttpClient client;
  std::string data = Bytes(4 << 20, 9);
  HttpRequest req;
  req.url = Serve("sink/big.bin", data);
  Hasher hasher;
  size_t total = 0, chunks = 0;
  req.sink = [&](std::string_view chunk) {
    hasher.Update(chunk);
    total += chunk.size();
    ++chunks;
    return Status::Ok();
  };
  auto res = client.Send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->body.empty());
  CHECK(total == data.size());
  CHECK(chunks > 1);
  CHECK(hasher.HexDigest() == Sha256Hex(data));

  SECTION("a sink error aborts the transfer with that status") {
    HttpRequest bad;
    bad.url = req.url;
    int calls = 0;
    bad.sink = [&](std::string_view) {
      ++calls;
      return Status::Integrity("sink says no");
    };
    auto r = client.Send(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kIntegrity);
    CHECK(r.status().message() == "sink says no");
    CHECK(calls == 1);
  }
  SECTION("a 404 body is buffered, the sink is not called") {
    HttpRequest missing;
    missing.url = Svc().nginx_url + "/sink/missing.bin";
    bool called = false;
    missing.sink = [&](std::string_view) {
      called = true;
      return Status::Ok();
    };
    auto r = client.Send(missing);
    REQUIRE(r.ok());
    CHECK(r->status == 404);
    CHECK_FALSE(called);
    CHECK(r->body.find("404") != std::string::npos);
  }
}

TEST_CASE("ranged SendAll into sinks reassembles a large object", "[http][nginx][sink]") {
  CurlHttpClient client;
  std::string data = Bytes(10 << 20, 11);
  std::string url = Serve("sink/ranged.bin", data);
  const uint64_t part = 1 << 20;
  std::string out(data.size(), '\0');
  std::vector<HttpRequest> reqs;
  std::vector<uint64_t> pos(10);
  for (uint64_t i = 0; i < 10; ++i) {
    HttpRequest r;
    r.url = url;
    r.range = {{i * part, (i + 1) * part - 1}};
    pos[i] = i * part;
    r.sink = [&out, &pos, i](std::string_view chunk) {
      std::memcpy(out.data() + pos[i], chunk.data(), chunk.size());
      pos[i] += chunk.size();
      return Status::Ok();
    };
    r.on_restart = [&pos, i, part] {
      pos[i] = i * part;
      return Status::Ok();
    };
    reqs.push_back(std::move(r));
  }
  auto results = client.SendAll(reqs, 4);
  for (auto& r : results) {
    REQUIRE(r.ok());
    CHECK(r->status == 206);
  }
  CHECK(out == data);
}

TEST_CASE("PUT of a file region is retried after an injected 503", "[http][flaky]") {
  CurlHttpClient client(FastRetries());
  fs::path dir = TempDir("put");
  std::string data = Bytes(3 << 20, 13);
  std::string file = (dir / "blob.bin").string();
  REQUIRE(PosixWriteFileAtomic(file, data).ok());

  std::string key = Unique("put");
  HttpRequest req;
  req.method = "PUT";
  req.url = Svc().flaky_url + "/fail/" + key + "?n=1&mode=503";
  req.body_file = file;
  req.body_file_offset = 1000;
  req.body_file_length = 2 << 20;
  auto res = client.Send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->attempts == 2);
  auto doc = nlohmann::json::parse(res->body);
  std::string region = data.substr(1000, 2 << 20);
  CHECK(doc["size"] == region.size());
  CHECK(doc["sha256"] == Sha256Hex(region));
  CHECK(doc["content_type"] == "application/octet-stream");

  HttpRequest get;
  get.url = Svc().flaky_url + "/stored/" + key;
  auto stored = client.Send(get);
  REQUIRE(stored.ok());
  CHECK(stored->body == region);

  SECTION("to the end of the file, and a closed connection on the first attempt") {
    std::string k2 = Unique("put-close");
    HttpRequest r2 = req;
    r2.url = Svc().flaky_url + "/fail/" + k2 + "?n=1&mode=close";
    r2.body_file_length.reset();
    auto res2 = client.Send(r2);
    REQUIRE(res2.ok());
    CHECK(res2->status == 200);
    // libcurl itself retries once when a reused connection turns out dead, so the closed
    // connection may cost one of our attempts or none; the server saw two requests either way.
    CHECK(res2->attempts <= 2);
    HttpRequest count;
    count.url = Svc().flaky_url + "/count/" + k2;
    CHECK(nlohmann::json::parse(client.Send(count)->body)["requests"] == 2);
    CHECK(nlohmann::json::parse(res2->body)["sha256"] == Sha256Hex(data.substr(1000)));
  }
  SECTION("a region beyond the end of the file is a user error naming the file") {
    HttpRequest r3 = req;
    r3.body_file_offset = data.size() - 10;
    r3.body_file_length = 11;
    auto res3 = client.Send(r3);
    REQUIRE_FALSE(res3.ok());
    CHECK(res3.status().code() == Code::kUser);
    CHECK(res3.status().message().find(file) != std::string::npos);
  }
  SECTION("a body from memory keeps the caller's Content-Type") {
    HttpRequest r4;
    r4.method = "PUT";
    r4.url = Svc().flaky_url + "/echo";
    r4.body = "hello";
    r4.headers = {{"Content-Type", "application/xml"}, {"X-Custom", "1"}};
    auto res4 = client.Send(r4);
    REQUIRE(res4.ok());
    auto echo = nlohmann::json::parse(res4->body);
    CHECK(echo["headers"]["content-type"] == "application/xml");
    CHECK(echo["headers"]["x-custom"] == "1");
    CHECK(echo["headers"]["content-length"] == "5");
    CHECK_FALSE(echo["headers"].contains("expect"));
    CHECK(echo["body_sha256"] == Sha256Hex("hello"));
  }
  SECTION("POST and DELETE") {
    HttpRequest p;
    p.method = "POST";
    p.url = Svc().flaky_url + "/echo";
    p.body = "<xml/>";
    auto rp = client.Send(p);
    REQUIRE(rp.ok());
    auto echo = nlohmann::json::parse(rp->body);
    CHECK(echo["method"] == "POST");
    CHECK(echo["body_size"] == 6);
    HttpRequest d;
    d.method = "DELETE";
    d.url = Svc().flaky_url + "/echo";
    auto rd = client.Send(d);
    REQUIRE(rd.ok());
    CHECK(nlohmann::json::parse(rd->body)["method"] == "DELETE");
  }
}

TEST_CASE("retries on 503, 429 with Retry-After and closed connections", "[http][flaky]") {
  CurlHttpClient client(FastRetries());
  SECTION("503 twice, then success") {
    std::string key = Unique("r503");
    HttpRequest req;
    req.url = Svc().flaky_url + "/fail/" + key + "?n=2&size=5000";
    auto res = client.Send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 200);
    CHECK(res->attempts == 3);
    CHECK(res->body == FlakyContent(key, 5000));
  }
  SECTION("429 with Retry-After: 1 waits about a second") {
    std::string key = Unique("r429");
    HttpRequest req;
    req.url = Svc().flaky_url + "/fail/" + key + "?n=1&mode=429&retry_after=1";
    auto t0 = std::chrono::steady_clock::now();
    auto res = client.Send(req);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
    REQUIRE(res.ok());
    CHECK(res->status == 200);
    CHECK(res->attempts == 2);
    CHECK(ms >= 950);
    CHECK(ms < 5000);
  }
  SECTION("Retry-After is capped by max_retry_after_ms") {
    CurlHttpOptions o = FastRetries();
    o.max_retry_after_ms = 100;
    CurlHttpClient capped(o);
    HttpRequest req;
    req.url = Svc().flaky_url + "/fail/" + Unique("cap") + "?n=1&mode=429&retry_after=3600";
    auto t0 = std::chrono::steady_clock::now();
    auto res = capped.Send(req);
    REQUIRE(res.ok());
    CHECK(res->attempts == 2);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  }
  SECTION("connection closed without an answer") {
    std::string key = Unique("close");
    HttpRequest req;
    req.url = Svc().flaky_url + "/fail/" + key + "?n=1&mode=close";
    auto res = client.Send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 200);
    CHECK(res->attempts == 2);
  }
  SECTION("attempts run out: the last 503 is returned as a response") {
    std::string key = Unique("exhaust");
    HttpRequest req;
    req.url = Svc().flaky_url + "/fail/" + key + "?n=10";
    req.max_attempts = 3;
    auto res = client.Send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 503);
    CHECK(res->attempts == 3);
    HttpRequest count;
    count.url = Svc().flaky_url + "/count/" + key;
    CHECK(nlohmann::json::parse(client.Send(count)->body)["requests"] == 3);
  }
  SECTION("404 and 501 are not retried") {
    HttpRequest req;
    req.url = Svc().nginx_url + "/no/such/file";
    auto res = client.Send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 404);
    CHECK(res->attempts == 1);
    req.url = Svc().flaky_url + "/status/501";
    res = client.Send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 501);
    CHECK(res->attempts == 1);
  }
  SECTION("retries inside SendAll do not block the other transfers") {
    std::vector<HttpRequest> reqs(6);
    std::vector<std::string> keys;
    for (int i = 0; i < 6; ++i) {
      keys.push_back(Unique("mix"));
      reqs[i].url = Svc().flaky_url + "/fail/" + keys[i] + "?size=777&n=" + std::to_string(i % 3);
    }
    auto results = client.SendAll(reqs, 3);
    for (int i = 0; i < 6; ++i) {
      REQUIRE(results[i].ok());
      CHECK(results[i]->status == 200);
      CHECK(results[i]->attempts == i % 3 + 1);
      CHECK(results[i]->body == FlakyContent(keys[i], 777));
    }
  }
}

TEST_CASE("an interrupted streamed body restarts only with on_restart", "[http][flaky][sink]") {
  CurlHttpClient client(FastRetries());
  std::string key = Unique("partial");
  std::string got;
  int restarts = 0;
  HttpRequest req;
  req.url = Svc().flaky_url + "/fail/" + key + "?n=1&mode=partial&size=200000";
  req.sink = [&](std::string_view c) {
    got.append(c);
    return Status::Ok();
  };
  req.on_restart = [&] {
    got.clear();
    ++restarts;
    return Status::Ok();
  };
  auto res = client.Send(req);
  REQUIRE(res.ok());
  CHECK(res->status == 200);
  CHECK(res->attempts == 2);
  CHECK(restarts == 1);
  CHECK(got == FlakyContent(key, 200000));

  HttpRequest once = req;
  once.url = Svc().flaky_url + "/fail/" + Unique("partial2") + "?n=1&mode=partial&size=200000";
  once.on_restart = nullptr;
  got.clear();
  auto bad = client.Send(once);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kNetwork);
  CHECK(bad.status().message().find("not retried without on_restart") != std::string::npos);
  CHECK(got.size() == 100000);
}

TEST_CASE("a hanging server times out and is retried", "[http][flaky]") {
  CurlHttpClient client(FastRetries());
  HttpRequest req;
  req.url = Svc().flaky_url + "/fail/" + Unique("hang") + "?n=5&mode=hang&hang=3";
  req.timeout = std::chrono::milliseconds(300);
  req.max_attempts = 2;
  auto t0 = std::chrono::steady_clock::now();
  auto res = client.Send(req);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == Code::kNetwork);
  CHECK(res.status().message().find("(after 2 attempts)") != std::string::npos);
  CHECK(res.status().message().find("timed out") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
}

TEST_CASE("connection refused is a network error naming the redacted URL", "[http][errors]") {
  std::string port = std::to_string(ClosedPort());
  CurlHttpClient client(FastRetries());
  HttpRequest req;
  req.url = "http://alice:s3cr3tpw@127.0.0.1:" + port +
            "/bucket/key?X-Amz-Credential=AKIDEXAMPLE%2F2026&X-Amz-Signature=deadbeefcafe&x-id=1";
  req.headers = {{"Authorization", "Bearer tok-very-secret"}};
  req.max_attempts = 2;
  auto res = client.Send(req);
  REQUIRE_FALSE(res.ok());
  const std::string& msg = res.status().message();
  INFO(msg);
  CHECK(res.status().code() == Code::kNetwork);
  CHECK(msg.find("GET " + RedactUrl(req.url)) == 0);
  CHECK(msg.find("http://REDACTED@127.0.0.1:" + port + "/bucket/key?") != std::string::npos);
  CHECK(msg.find("(after 2 attempts)") != std::string::npos);
  for (const char* secret : {"alice", "s3cr3tpw", "deadbeefcafe", "AKIDEXAMPLE", "tok-very-secret"})
    CHECK(msg.find(secret) == std::string::npos);

  SECTION("in SendAll, each request gets its own error") {
    std::vector<HttpRequest> reqs(2, req);
    reqs[1].url = Svc().nginx_url + "/plain/hello.bin";
    Serve("plain/hello.bin", "hi");
    auto results = client.SendAll(reqs);
    REQUIRE_FALSE(results[0].ok());
    REQUIRE(results[1].ok());
    CHECK(results[1]->body == "hi");
  }
  SECTION("unsupported schemes are refused") {
    HttpRequest f;
    f.url = "file:///etc/passwd";
    f.max_attempts = 1;
    auto r = client.Send(f);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kNetwork);
  }
}
