// ObjectStore behaviour suite, run over both backends:
//   [file]  file:// on a temp directory;
//   [s3]    s3:// on the real Ceph radosgw of the CTest fixture "radosgw" (FERRY_RADOSGW_ENV
//           names its env file), with SigV4 negative tests and cross-checks against the
//           independent aws CLI (/usr/bin/aws).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "src/digest.h"
#include "src/platform/curl_http.h"
#include "store/remote/aws_config.h"
#include "store/remote/file_object_store.h"
#include "store/remote/object_store.h"
#include "store/remote/s3_object_store.h"

using namespace ferry;
using namespace ferry::store;
namespace fs = std::filesystem;

namespace {

std::string RandomSuffix() {
  std::random_device rd;
  return std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000);
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ferry-s3it-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteRandomFile(const std::string& path, uint64_t size, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path, std::ios::binary);
  std::vector<uint64_t> buf(1 << 17);
  uint64_t left = size;
  while (left > 0) {
    for (auto& w : buf) w = rng();
    uint64_t n = std::min<uint64_t>(left, buf.size() * 8);
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
}

// Files in `dir` other than `except` (to check that nothing is left behind).
std::vector<std::string> Leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename());
  return out;
}

std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> env;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

EnvLookup MapEnv(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

// The radosgw fixture: env file, one HTTP client, a fresh bucket per test binary run.
struct Radosgw {
  std::map<std::string, std::string> env;
  CurlHttpClient http;
  std::string bucket;
  Radosgw() {
    const char* p = std::getenv("FERRY_RADOSGW_ENV");
    if (!p) FAIL("FERRY_RADOSGW_ENV is not set: run this test through ctest (fixture radosgw)");
    env = ReadEnvFile(p);
    if (env.empty()) FAIL(std::string("cannot read the radosgw env file ") + p);
    bucket = "ferry-it-" + RandomSuffix();
    auto s = Make("", [](S3Options&) {});
    Status st = s->CreateBucket();
    if (!st.ok()) FAIL("CreateBucket: " + st.message());
  }
  std::unique_ptr<S3ObjectStore> Make(const std::string& prefix,
                                      const std::function<void(S3Options&)>& tweak) {
    S3Options o;
    auto cfg = LoadAwsConfig(MapEnv(env), "/nonexistent");
    REQUIRE(cfg.ok());
    o.config = *cfg;
    o.bucket = bucket;
    o.prefix = prefix;
    tweak(o);
    return std::make_unique<S3ObjectStore>(o, http);
  }
  // Runs /usr/bin/aws with the fixture's credentials; returns stdout, REQUIREs exit 0.
  std::string Aws(const std::string& args) {
    std::string cmd = "env AWS_ACCESS_KEY_ID=" + env["AWS_ACCESS_KEY_ID"] +
                      " AWS_SECRET_ACCESS_KEY=" + env["AWS_SECRET_ACCESS_KEY"] +
                      " AWS_DEFAULT_REGION=us-east-1 AWS_PAGER= /usr/bin/aws --endpoint-url " +
                      env["AWS_ENDPOINT_URL_S3"] + " " + args;
    FILE* f = popen(cmd.c_str(), "r");
    REQUIRE(f);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
    int rc = pclose(f);
    INFO("aws " << args << "\n" << out);
    REQUIRE(rc == 0);
    return out;
  }
};

Radosgw& Rgw() {
  static Radosgw r;
  return r;
}

// ---- the shared behaviour suite ------------------------------------------------------------

void SmallObjects(ObjectStore& s) {
  INFO(s.Describe());
  auto missing = s.Get("v1/envs/none.json");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  auto hmissing = s.Head("v1/envs/none.json");
  REQUIRE(hmissing.ok());
  CHECK_FALSE(hmissing->has_value());

  std::string data = "{\"env_id\": \"abc\"}\n";
  REQUIRE(s.Put("v1/envs/abc.json", data, {}).ok());
  auto got = s.Get("v1/envs/abc.json");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK(**got == data);
  auto size = s.Head("v1/envs/abc.json");
  REQUIRE(size.ok());
  REQUIRE(size->has_value());
  CHECK(**size == data.size());

  // Overwrite without condition is allowed; with sha256 given it is checked first.
  PutOptions ok_sha;
  ok_sha.sha256 = Sha256Hex("new");
  REQUIRE(s.Put("v1/envs/abc.json", "new", ok_sha).ok());
  CHECK(**s.Get("v1/envs/abc.json") == "new");
  PutOptions bad_sha;
  bad_sha.sha256 = Sha256Hex("something else");
  Status st = s.Put("v1/envs/bad.json", "payload", bad_sha);
  CHECK(st.code() == Code::kIntegrity);
  CHECK_FALSE(s.Head("v1/envs/bad.json")->has_value());

  // A key prefix is not an object.
  CHECK_FALSE(s.Get("v1/envs")->has_value());
  CHECK_FALSE(s.Head("v1/envs")->has_value());

  // Empty object.
  REQUIRE(s.Put("v1/empty", "", {}).ok());
  CHECK(**s.Get("v1/empty") == "");
  CHECK(**s.Head("v1/empty") == 0);

  // Invalid keys never reach the backend.
  CHECK(s.Put("../escape", "x", {}).code() == Code::kUser);
  CHECK(s.Put("a//b", "x", {}).code() == Code::kUser);
  CHECK(s.Put("a b", "x", {}).code() == Code::kUser);
  CHECK_FALSE(s.Get("/abs").ok());
}

void ConditionalCreate(ObjectStore& s) {
  INFO(s.Describe());
  PutOptions cond;
  cond.if_none_match = true;
  REQUIRE(s.Put("v1/names/app/v1", "{\"env_id\":\"one\"}", cond).ok());
  Status again = s.Put("v1/names/app/v1", "{\"env_id\":\"two\"}", cond);
  REQUIRE_FALSE(again.ok());
  CHECK(again.code() == Code::kUser);
  CHECK(again.message().find("already exists") != std::string::npos);
  CHECK(**s.Get("v1/names/app/v1") == "{\"env_id\":\"one\"}");
  // Moving tags are plain puts.
  REQUIRE(s.Put("v1/names/app/latest", "a", {}).ok());
  REQUIRE(s.Put("v1/names/app/latest", "b", {}).ok());
  CHECK(**s.Get("v1/names/app/latest") == "b");

  // Conditional PutFile too.
  TempDir t;
  std::string f = t.path + "/f";
  std::ofstream(f) << "file body";
  REQUIRE(s.PutFile("v1/names/app/v2", f, cond).ok());
  Status f2 = s.PutFile("v1/names/app/v2", f, cond);
  CHECK(f2.message().find("already exists") != std::string::npos);

  // Racing conditional creates: exactly one wins.
  std::vector<std::thread> threads;
  std::atomic<int> wins{0}, exists{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      Status r = s.Put("v1/names/race/tag", "writer " + std::to_string(i), cond);
      if (r.ok())
        ++wins;
      else if (r.message().find("already exists") != std::string::npos)
        ++exists;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wins == 1);
  CHECK(exists == 5);
}

void Listing(ObjectStore& s) {
  INFO(s.Describe());
  std::vector<std::string> keys;
  for (int i = 0; i < 23; ++i) {
    char name[80];
    std::snprintf(name, sizeof(name), "v1/blobs/sha256/%02x/blob-%03d", i % 4, i);
    keys.push_back(name);
    REQUIRE(s.Put(name, std::string(static_cast<size_t>(i), 'x'), {}).ok());
  }
  REQUIRE(s.Put("v1/blobsX/other", "o", {}).ok());
  REQUIRE(s.Put("v1/envs/e.json", "e", {}).ok());
  std::sort(keys.begin(), keys.end());
  auto all = s.List("v1/blobs/");
  REQUIRE(all.ok());
  REQUIRE(all->size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    CHECK((*all)[i].key == keys[i]);
    int n = std::stoi(keys[i].substr(keys[i].size() - 3));
    CHECK((*all)[i].size == static_cast<uint64_t>(n));
  }
  auto sub = s.List("v1/blobs/sha256/02/");
  REQUIRE(sub.ok());
  CHECK(sub->size() == 6);
  auto partial = s.List("v1/blobs/sha256/01/blob-00");  // prefix ends mid-name
  REQUIRE(partial.ok());
  CHECK(partial->size() == 3);  // blob-001, -005, -009
  auto none = s.List("v1/nothing/");
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto blobsx = s.List("v1/blobs");  // matches v1/blobs/... and v1/blobsX/...
  REQUIRE(blobsx.ok());
  CHECK(blobsx->size() == keys.size() + 1);
}

void Files(ObjectStore& s, uint64_t big_size) {
  INFO(s.Describe());
  TempDir t;
  // Small file, with and without the digest.
  std::string small = t.path + "/small.bin";
  WriteRandomFile(small, 100000, 1);
  std::string small_sha = *Sha256File(small);
  PutOptions o;
  o.sha256 = small_sha;
  std::string key = "v1/blobs/sha256/" + small_sha.substr(0, 2) + "/" + small_sha;
  REQUIRE(s.PutFile(key, small, o).ok());
  CHECK(**s.Head(key) == 100000);
  std::string out_dir = t.path + "/out";
  fs::create_directories(out_dir);
  REQUIRE(s.Download(key, out_dir + "/small", small_sha).ok());
  CHECK(ReadAll(out_dir + "/small") == ReadAll(small));
  REQUIRE(s.Download(key, out_dir + "/small-nohash", std::nullopt).ok());
  CHECK(ReadAll(out_dir + "/small-nohash") == ReadAll(small));
  REQUIRE(s.Download(key, t.path + "/new/sub/dir/small", small_sha).ok());
  CHECK(ReadAll(t.path + "/new/sub/dir/small") == ReadAll(small));

  // A blob whose content does not match the expected digest (a corrupted remote):
  // kIntegrity and nothing left behind.
  REQUIRE(s.Put("v1/blobs/sha256/00/corrupt", "not what you expect", {}).ok());
  Status bad = s.Download("v1/blobs/sha256/00/corrupt", out_dir + "/corrupt", small_sha);
  CHECK(bad.code() == Code::kIntegrity);
  CHECK(bad.message().find("sha256 mismatch") != std::string::npos);
  CHECK_FALSE(fs::exists(out_dir + "/corrupt"));

  // An empty object round-trips with its digest.
  REQUIRE(s.Put("v1/blobs/sha256/e3/empty", "", {}).ok());
  REQUIRE(s.Download("v1/blobs/sha256/e3/empty", out_dir + "/empty", Sha256Hex("")).ok());
  CHECK(fs::file_size(out_dir + "/empty") == 0);
  fs::remove(out_dir + "/empty");

  // Missing object.
  Status nf = s.Download("v1/blobs/sha256/00/missing", out_dir + "/missing", std::nullopt);
  CHECK(nf.code() == Code::kUser);
  CHECK(nf.message().find("not found") != std::string::npos);
  CHECK_FALSE(fs::exists(out_dir + "/missing"));

  // PutFile with a wrong digest: kIntegrity, nothing stored.
  PutOptions wrong;
  wrong.sha256 = std::string(64, 'a');
  Status w = s.PutFile("v1/blobs/sha256/aa/wrong", small, wrong);
  CHECK(w.code() == Code::kIntegrity);
  CHECK_FALSE(s.Head("v1/blobs/sha256/aa/wrong")->has_value());

  // A large file: multipart upload on S3, parallel ranged GETs back.
  std::string big = t.path + "/big.bin";
  WriteRandomFile(big, big_size, 2);
  std::string big_sha = *Sha256File(big);
  PutOptions bo;
  bo.sha256 = big_sha;
  std::string big_key = "v1/blobs/sha256/" + big_sha.substr(0, 2) + "/" + big_sha;
  REQUIRE(s.PutFile(big_key, big, bo).ok());
  CHECK(**s.Head(big_key) == big_size);
  REQUIRE(s.Download(big_key, out_dir + "/big", big_sha).ok());
  CHECK(*Sha256File(out_dir + "/big") == big_sha);
  // Download replaces an existing destination atomically.
  REQUIRE(s.Download(key, out_dir + "/big", small_sha).ok());
  CHECK(*Sha256File(out_dir + "/big") == small_sha);

  // Only the published files are in the output directory (no temp files).
  auto left = Leftovers(out_dir);
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"big", "small", "small-nohash"});
}

}  // namespace

// ---- file:// --------------------------------------------------------------------------------

TEST_CASE("file store: small objects", "[file]") {
  TempDir t;
  FileObjectStore s(t.path + "/remote");
  SmallObjects(s);
  CHECK(s.Describe() == "file://" + t.path + "/remote");
}
TEST_CASE("file store: conditional create", "[file]") {
  TempDir t;
  FileObjectStore s(t.path);
  ConditionalCreate(s);
}
TEST_CASE("file store: listing", "[file]") {
  TempDir t;
  FileObjectStore s(t.path);
  Listing(s);
  // Temp files of writers in progress are never listed.
  std::ofstream(t.path + "/v1/blobs/sha256/00/.ferry-tmp-1-2-3") << "partial";
  CHECK(s.List("v1/blobs/sha256/00/")->size() == 6);
}
TEST_CASE("file store: files, digests, large", "[file]") {
  TempDir t;
  FileObjectStore s(t.path + "/r");
  Files(s, 40ull << 20);
}
TEST_CASE("OpenObjectStore: schemes", "[file]") {
  CurlHttpClient http;
  auto f = OpenObjectStore("file:///tmp/x/", http);
  REQUIRE(f.ok());
  CHECK((*f)->Describe() == "file:///tmp/x");
  CHECK(OpenObjectStore("file://relative", http).status().code() == Code::kUsage);
  CHECK(OpenObjectStore("ftp://x", http).status().code() == Code::kUsage);
  CHECK(OpenObjectStore("s3://B", http).status().code() == Code::kUsage);
  auto s3 = OpenObjectStore("s3://my-bucket/some/prefix/", http);
  REQUIRE(s3.ok());
  CHECK((*s3)->Describe() == "s3://my-bucket/some/prefix");
}

// ---- s3:// on radosgw ------------------------------------------------------------------------

TEST_CASE("s3 store: small objects", "[s3]") {
  auto s = Rgw().Make("small-" + RandomSuffix(), [](S3Options&) {});
  SmallObjects(*s);
}
TEST_CASE("s3 store: conditional create (If-None-Match: *)", "[s3]") {
  auto s = Rgw().Make("cond", [](S3Options&) {});
  ConditionalCreate(*s);
}
TEST_CASE("s3 store: listing with small pages", "[s3]") {
  auto s = Rgw().Make("list/p", [](S3Options& o) { o.list_page_size = 5; });
  Listing(*s);
}
TEST_CASE("s3 store: files, multipart upload and parallel ranged download", "[s3]") {
  auto s = Rgw().Make("files", [](S3Options& o) {
    o.multipart_threshold = 16ull << 20;
    o.part_size = 8ull << 20;
    o.download_chunk = 8ull << 20;
  });
  Files(*s, 40ull << 20);
  // Conditional create through the multipart path (If-None-Match on the completion).
  TempDir t;
  std::string f = t.path + "/mp.bin";
  WriteRandomFile(f, 20ull << 20, 9);
  PutOptions cond;
  cond.if_none_match = true;
  REQUIRE(s->PutFile("v1/names/mp/tag", f, cond).ok());
  Status again = s->PutFile("v1/names/mp/tag", f, cond);
  CHECK(again.message().find("already exists") != std::string::npos);
  // The independent client sees a multipart object (ETag "...-5") with the same bytes.
  auto listing = Rgw().Aws("s3api list-objects-v2 --bucket " + Rgw().bucket +
                           " --prefix files/v1/blobs/sha256/ --output json");
  CHECK(listing.find("-5\\\"\"") != std::string::npos);
}

TEST_CASE("s3 store: more than 1000 keys (default page size)", "[s3]") {
  auto s = Rgw().Make("many", [](S3Options&) {});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 1003; i += 4) {
        char k[32];
        std::snprintf(k, sizeof(k), "k/%05d", i);
        if (!s->Put(k, "x", {}).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(failures == 0);
  auto all = s->List("k/");
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1003);
  CHECK(all->front().key == "k/00000");
  CHECK(all->back().key == "k/01002");
}

TEST_CASE("s3 store: a wrong secret is SignatureDoesNotMatch and never printed", "[s3]") {
  auto s = Rgw().Make(
      "auth", [](S3Options& o) { o.config.credentials.secret_access_key = "WRONGSECRETVALUE"; });
  Status st = s->Put("x", "y", {});
  REQUIRE_FALSE(st.ok());
  INFO(st.message());
  CHECK(st.code() == Code::kUser);
  CHECK(st.message().find("SignatureDoesNotMatch") != std::string::npos);
  CHECK(st.message().find("HTTP 403") != std::string::npos);
  CHECK(st.message().find("/" + Rgw().bucket + "/auth/x") != std::string::npos);
  CHECK(st.message().find("WRONGSECRETVALUE") == std::string::npos);
  auto g = s->Get("x");
  CHECK(g.status().message().find("SignatureDoesNotMatch") != std::string::npos);
  auto l = s->List("");
  CHECK(l.status().message().find("SignatureDoesNotMatch") != std::string::npos);
  // An unknown access key.
  auto u = Rgw().Make("auth", [](S3Options& o) { o.config.credentials.access_key_id = "NOBODY"; });
  Status us = u->Put("x", "y", {});
  CHECK(us.message().find("InvalidAccessKeyId") != std::string::npos);
}

TEST_CASE("s3 store: a wrong x-amz-content-sha256 is rejected by the server", "[s3]") {
  auto s = Rgw().Make("sha", [](S3Options&) {});
  TempDir t;
  std::string f = t.path + "/f";
  std::ofstream(f) << "the real content";
  PutOptions o;
  o.sha256 = Sha256Hex("different content");  // PutFile trusts this and sends it
  Status st = s->PutFile("obj", f, o);
  INFO(st.message());
  CHECK(st.code() == Code::kIntegrity);
  CHECK(st.message().find("XAmzContentSHA256Mismatch") != std::string::npos);
  CHECK_FALSE(s->Head("obj")->has_value());
}

TEST_CASE("s3 store: virtual-hosted addressing (bucket.localhost)", "[s3]") {
  // radosgw runs with rgw_dns_name=localhost and curl resolves *.localhost to loopback, so
  // virtual-hosted requests (Host: <bucket>.localhost:PORT) are signed and verified for real.
  auto endpoint = Rgw().env["AWS_ENDPOINT_URL_S3"];
  auto port = endpoint.substr(endpoint.rfind(':'));
  auto s = Rgw().Make("vhost", [&](S3Options& o) {
    o.config.endpoint = "http://localhost" + port;
    o.config.path_style = false;
  });
  REQUIRE(s->Put("v1/envs/v.json", "virtual", {}).ok());
  CHECK(**s->Get("v1/envs/v.json") == "virtual");
  CHECK(s->List("v1/")->size() == 1);
  // The same object through path style.
  auto p = Rgw().Make("vhost", [](S3Options&) {});
  CHECK(**p->Get("v1/envs/v.json") == "virtual");
}

TEST_CASE("s3 store: missing bucket is a clear user error", "[s3]") {
  auto s = Rgw().Make("", [](S3Options& o) { o.bucket = "no-such-bucket-" + RandomSuffix(); });
  auto g = s->Get("x");
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == Code::kUser);
  CHECK(g.status().message().find("NoSuchBucket") != std::string::npos);
  TempDir t;
  Status d = s->Download("x", t.path + "/x", std::nullopt);
  CHECK(d.code() == Code::kUser);
  INFO(d.message());
  CHECK(d.message().find("NoSuchBucket") != std::string::npos);
  CHECK(fs::is_empty(t.path));
}

TEST_CASE("s3 store: cross-check with the aws CLI both ways", "[s3]") {
  auto s = Rgw().Make("xcheck", [](S3Options&) {});
  TempDir t;
  std::string f = t.path + "/ours.bin";
  WriteRandomFile(f, 3 << 20, 7);
  std::string sha = *Sha256File(f);
  std::string key = "v1/blobs/sha256/" + sha.substr(0, 2) + "/" + sha;
  PutOptions o;
  o.sha256 = sha;
  REQUIRE(s->PutFile(key, f, o).ok());
  REQUIRE(s->Put("v1/envs/e1.json", "{\"manifest\":1}", {}).ok());

  // aws lists exactly our keys with our sizes ...
  std::string listing =
      Rgw().Aws("s3api list-objects-v2 --bucket " + Rgw().bucket +
                " --prefix xcheck/ --query 'Contents[].[Key,Size]' --output text");
  CHECK(listing.find("xcheck/" + key + "\t" + std::to_string(3 << 20)) != std::string::npos);
  CHECK(listing.find("xcheck/v1/envs/e1.json\t14") != std::string::npos);
  // ... and downloads the same bytes.
  Rgw().Aws("s3 cp s3://" + Rgw().bucket + "/xcheck/" + key + " " + t.path +
            "/theirs.bin --only-show-errors");
  CHECK(*Sha256File(t.path + "/theirs.bin") == sha);

  // The other way: an object uploaded by aws (multipart: 20 MB) is read by us identically.
  std::string up = t.path + "/up.bin";
  WriteRandomFile(up, 20 << 20, 8);
  std::string up_sha = *Sha256File(up);
  Rgw().Aws("s3 cp " + up + " s3://" + Rgw().bucket + "/xcheck/from-aws.bin --only-show-errors");
  auto ls = s->List("from-");
  REQUIRE(ls.ok());
  REQUIRE(ls->size() == 1);
  CHECK((*ls)[0].size == (20u << 20));
  REQUIRE(s->Download("from-aws.bin", t.path + "/back.bin", up_sha).ok());
  CHECK(*Sha256File(t.path + "/back.bin") == up_sha);
}

// ---- web identity (the Kubernetes IRSA flow) end to end -------------------------------------
namespace {

// A fake STS on a free loopback port (Debian's python3): AssumeRoleWithWebIdentity with the
// right token and role returns the radosgw user's keys as "temporary" credentials; anything
// else is an STS error. Every call is appended to `calls`.
const char* kFakeSts = R"PY(
import http.server, sys, urllib.parse
portfile, token, role, calls = sys.argv[1:5]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        q = urllib.parse.parse_qs(body, keep_blank_values=True)
        with open(calls, "a") as f: f.write(q.get("Action", [""])[0] + "\n")
        if q.get("Action") == ["AssumeRoleWithWebIdentity"] and q.get("RoleArn") == [role] \
                and q.get("WebIdentityToken") == [token] and q.get("RoleSessionName"):
            code, xml = 200, ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                "<Credentials><AccessKeyId>TESTKEY</AccessKeyId><SecretAccessKey>TESTSECRET"
                "</SecretAccessKey><SessionToken></SessionToken><Expiration>2099-01-01T00:00:00Z"
                "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                "</AssumeRoleWithWebIdentityResponse>")
        else:
            code, xml = 400, ("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken"
                "</Code><Message>bad token</Message></Error></ErrorResponse>")
        data = xml.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(portfile + ".tmp", portfile)
s.serve_forever()
)PY";

struct FakeSts {
  pid_t pid = -1;
  std::string url, calls;
  FakeSts(const std::string& dir, const std::string& token, const std::string& role) {
    std::string script = dir + "/sts.py";
    std::ofstream(script) << kFakeSts;
    std::string portfile = dir + "/sts.port";
    calls = dir + "/sts.calls";
    std::vector<std::string> args = {"/usr/bin/python3", script, portfile, token, role, calls};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
    for (int i = 0; i < 200 && !fs::exists(portfile); ++i) usleep(25000);
    REQUIRE(fs::exists(portfile));
    url = "http://127.0.0.1:" + ReadAll(portfile);
  }
  ~FakeSts() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE("s3 store: web identity token file -> STS -> signed S3 requests", "[s3]") {
  TempDir t;
  const std::string token = "eyJhbGciOiJSUzI1NiJ9.k8s-service-account.sig";
  const std::string role = "arn:aws:iam::123456789012:role/ferry-ci";
  FakeSts sts(t.path, token, role);
  std::ofstream(t.path + "/token") << token << "\n";
  auto env = Rgw().env;
  env.erase("AWS_ACCESS_KEY_ID");
  env.erase("AWS_SECRET_ACCESS_KEY");
  env["AWS_WEB_IDENTITY_TOKEN_FILE"] = t.path + "/token";
  env["AWS_ROLE_ARN"] = role;
  env["AWS_ENDPOINT_URL_STS"] = sts.url;
  auto cfg = LoadAwsConfig(MapEnv(env), "/nonexistent");
  REQUIRE(cfg.ok());
  REQUIRE(cfg->UsesWebIdentity());
  S3Options o;
  o.config = *cfg;
  o.bucket = Rgw().bucket;
  o.prefix = "webid";
  S3ObjectStore s(o, Rgw().http);
  REQUIRE(s.Put("v1/envs/w.json", "web identity", {}).ok());
  CHECK(**s.Get("v1/envs/w.json") == "web identity");
  CHECK(s.List("v1/")->size() == 1);
  // The temporary credentials are cached until they near expiry: one STS call.
  CHECK(ReadAll(sts.calls) == "AssumeRoleWithWebIdentity\n");

  // A token STS rejects: a clear error naming STS's code, never the token.
  std::ofstream(t.path + "/token") << "forged-token";
  S3ObjectStore bad(o, Rgw().http);
  Status st = bad.Put("v1/envs/x.json", "x", {});
  REQUIRE_FALSE(st.ok());
  INFO(st.message());
  CHECK(st.code() == Code::kUser);
  CHECK(st.message().find("InvalidIdentityToken") != std::string::npos);
  CHECK(st.message().find(role) != std::string::npos);
  CHECK(st.message().find("forged-token") == std::string::npos);
}

TEST_CASE("OpenObjectStore: s3:// from the standard AWS environment variables", "[s3]") {
  auto& rgw = Rgw();
  for (const char* k :
       {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3", "AWS_REGION"}) {
    setenv(k, rgw.env[k].c_str(), 1);
  }
  unsetenv("AWS_PROFILE");
  auto s = OpenObjectStore("s3://" + rgw.bucket + "/opened/", rgw.http);
  REQUIRE(s.ok());
  CHECK((*s)->Describe() == "s3://" + rgw.bucket + "/opened");
  REQUIRE((*s)->Put("v1/reqs/linux-64/r1", "env-id", {}).ok());
  CHECK(**(*s)->Get("v1/reqs/linux-64/r1") == "env-id");
  auto listing = rgw.Aws("s3api list-objects-v2 --bucket " + rgw.bucket +
                         " --prefix opened/ --query 'Contents[].Key' --output text");
  CHECK(listing.find("opened/v1/reqs/linux-64/r1") != std::string::npos);
}
