// S3ObjectStore against an in-memory fake S3 (HttpClient), for request shapes, paging,
// multipart flow and abort, ranged downloads and error mapping. The real-server tests are
// tests/s3_integration_test.cc (radosgw).
#include "store/remote/s3_object_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "src/digest.h"
#include "store/remote/xml.h"

using namespace ferry;
using namespace ferry::store;
namespace fs = std::filesystem;

namespace {

std::string QueryParam(const std::string& url, const std::string& name) {
  auto q = url.find('?');
  if (q == std::string::npos) return "";
  std::string qs = url.substr(q + 1);
  size_t pos = 0;
  while (pos <= qs.size()) {
    auto amp = qs.find('&', pos);
    std::string part = qs.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = part.find('=');
    if (part.substr(0, eq) == name) return eq == std::string::npos ? "" : part.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "";
}

bool HasQuery(const std::string& url, const std::string& name) {
  auto q = url.find('?');
  return q != std::string::npos &&
         ("&" + url.substr(q + 1)).find("&" + name + "=") != std::string::npos;
}

std::string Hdr(const HttpRequest& r, const std::string& lower) {
  for (const auto& [k, v] : r.headers) {
    std::string l = k;
    for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l == lower) return v;
  }
  return "";
}

std::string ErrorXml(const std::string& code, const std::string& msg = "") {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + msg +
         "</Message></Error>";
}

// Path-style in-memory S3 for bucket "bkt" on http://fake:9000.
class FakeS3 : public HttpClient {
 public:
  std::map<std::string, std::string> objects;
  std::vector<HttpRequest> log;
  std::map<std::string, std::map<int, std::string>> uploads;
  int fail_part = -1;           // respond 500 to this part number
  int fail_range_at = -1;       // transport error after this many bytes of a ranged GET
  bool corrupt_ranges = false;  // flip a byte in ranged responses
  bool complete_error_200 = false;
  std::string forced_error_code;  // every request answers 403 with this code
  std::mutex mu;

  Result<HttpResponse> Send(const HttpRequest& r) override {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(r);
    return Handle(r);
  }

 private:
  static HttpResponse Resp(long status, std::string body = "") {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }

  std::string Body(const HttpRequest& r) {
    if (r.body_file.empty()) return r.body;
    std::ifstream in(r.body_file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(r.body_file_offset));
    std::string out(r.body_file_length.value_or(0), '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    return out;
  }

  Result<HttpResponse> Handle(const HttpRequest& r) {
    if (!forced_error_code.empty()) return Resp(403, ErrorXml(forced_error_code, "nope"));
    const std::string base = "http://fake:9000/bkt";
    if (r.url.rfind(base, 0) != 0) return Resp(404);  // other addressing: only logged
    REQUIRE(!Hdr(r, "authorization").empty());
    REQUIRE(!Hdr(r, "x-amz-date").empty());
    std::string path = r.url.substr(base.size());
    path = path.substr(0, path.find('?'));
    std::string key = path.empty() ? "" : path.substr(1);
    std::string body = Body(r);
    // The content hash header must match the body (as radosgw checks).
    if (Hdr(r, "x-amz-content-sha256") != Sha256Hex(body))
      return Resp(400, ErrorXml("XAmzContentSHA256Mismatch"));

    if (r.method == "GET" && key.empty()) return List(r);
    if (r.method == "PUT" && HasQuery(r.url, "partNumber")) {
      int n = std::stoi(QueryParam(r.url, "partNumber"));
      if (n == fail_part) return Resp(500, ErrorXml("InternalError"));
      uploads[QueryParam(r.url, "uploadId")][n] = body;
      HttpResponse resp = Resp(200);
      resp.headers.emplace_back("etag", "\"" + Md5Hex(body) + "\"");
      return resp;
    }
    if (r.method == "PUT") {
      if (Hdr(r, "if-none-match") == "*" && objects.count(key))
        return Resp(412, ErrorXml("PreconditionFailed"));
      objects[key] = body;
      return Resp(200);
    }
    if (r.method == "POST" && HasQuery(r.url, "uploads")) {
      std::string id = "upload-" + std::to_string(uploads.size() + 1);
      uploads[id];
      return Resp(200, "<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>" + key +
                           "</Key><UploadId>" + id + "</UploadId></InitiateMultipartUploadResult>");
    }
    if (r.method == "POST" && HasQuery(r.url, "uploadId")) {
      if (complete_error_200) return Resp(200, ErrorXml("InternalError", "late failure"));
      auto doc = ParseXml(body);
      REQUIRE(doc.ok());
      std::string id = QueryParam(r.url, "uploadId");
      std::string all;
      int expect = 1;
      for (const XmlElement* p : doc->Children("Part")) {
        int n = std::stoi(p->ChildText("PartNumber"));
        REQUIRE(n == expect++);
        REQUIRE(p->ChildText("ETag") == "\"" + Md5Hex(uploads[id][n]) + "\"");
        all += uploads[id][n];
      }
      objects[key] = all;
      uploads.erase(id);
      return Resp(200, "<CompleteMultipartUploadResult><Key>" + key +
                           "</Key></CompleteMultipartUploadResult>");
    }
    if (r.method == "DELETE" && HasQuery(r.url, "uploadId")) {
      uploads.erase(QueryParam(r.url, "uploadId"));
      return Resp(204);
    }
    auto it = objects.find(key);
    if (it == objects.end()) return Resp(404, r.method == "HEAD" ? "" : ErrorXml("NoSuchKey"));
    HttpResponse resp = Resp(200);
    resp.headers.emplace_back("content-length", std::to_string(it->second.size()));
    resp.headers.emplace_back("etag", "\"" + Md5Hex(it->second) + "\"");
    if (r.method == "HEAD") return resp;
    std::string data = it->second;
    if (!Hdr(r, "if-match").empty() && Hdr(r, "if-match") != "\"" + Md5Hex(data) + "\"")
      return Resp(412);
    if (r.range) {
      uint64_t first = r.range->first;
      if (first >= data.size()) return Resp(416, ErrorXml("InvalidRange"));
      uint64_t last =
          std::min<uint64_t>(r.range->second.value_or(data.size() - 1), data.size() - 1);
      resp.headers.emplace_back("content-range", "bytes " + std::to_string(first) + "-" +
                                                     std::to_string(last) + "/" +
                                                     std::to_string(data.size()));
      data = data.substr(first, last - first + 1);
      if (corrupt_ranges) data[0] ^= 1;
      resp.status = 206;
    }
    if (r.sink) {
      // Deliver in a few chunks, as a real client would.
      for (size_t off = 0; off < data.size(); off += 100000) {
        if (r.range && fail_range_at >= 0 && off >= static_cast<size_t>(fail_range_at) &&
            r.range->first > 0) {
          return Status::Network("connection reset by fake peer: " + RedactUrl(r.url));
        }
        Status st = r.sink(std::string_view(data).substr(off, 100000));
        if (!st.ok()) return st;
      }
    } else {
      resp.body = data;
    }
    return resp;
  }

  HttpResponse List(const HttpRequest& r) {
    REQUIRE(QueryParam(r.url, "list-type") == "2");
    auto decode = [](std::string v) {
      for (size_t p; (p = v.find("%2F")) != std::string::npos;) v.replace(p, 3, "/");
      return v;
    };
    std::string prefix = decode(QueryParam(r.url, "prefix"));
    size_t max = std::stoul(QueryParam(r.url, "max-keys"));
    std::string after = decode(QueryParam(r.url, "continuation-token"));
    std::string xml = "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    size_t n = 0;
    std::string last;
    bool truncated = false;
    for (const auto& [k, v] : objects) {
      if (k.rfind(prefix, 0) != 0) continue;
      if (!after.empty() && !(k > after.substr(4))) continue;
      if (n == max) {
        truncated = true;
        break;
      }
      xml += "<Contents><Key>" + XmlEscape(k) + "</Key><Size>" + std::to_string(v.size()) +
             "</Size></Contents>";
      last = k;
      ++n;
    }
    xml += std::string("<IsTruncated>") + (truncated ? "true" : "false") + "</IsTruncated>";
    if (truncated) xml += "<NextContinuationToken>tok-" + last + "</NextContinuationToken>";
    xml += "</ListBucketResult>";
    return Resp(200, xml);
  }
};

S3Options Opts() {
  S3Options o;
  o.config.credentials = {"AKID", "SECRETKEY", ""};
  o.config.endpoint = "http://fake:9000";
  o.config.custom_endpoint = true;
  o.config.path_style = true;
  o.config.credential_source = "test";
  o.bucket = "bkt";
  o.prefix = "pre/fix";
  return o;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ferry-s3unit-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string MakeFile(const std::string& path, size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(size));
  return data;
}

}  // namespace

TEST_CASE("s3 url parsing", "[s3unit]") {
  std::string b, p;
  REQUIRE(ParseS3Url("s3://my-bucket/a/b/", &b, &p).ok());
  CHECK(b == "my-bucket");
  CHECK(p == "a/b");
  REQUIRE(ParseS3Url("s3://bucket.with.dots", &b, &p).ok());
  CHECK(p.empty());
  CHECK(ParseS3Url("s3://", &b, &p).code() == Code::kUsage);
  CHECK(ParseS3Url("s3://UPPER/x", &b, &p).code() == Code::kUsage);
  CHECK(ParseS3Url("s3://ok-bucket/a/../b", &b, &p).code() == Code::kUsage);
}

TEST_CASE("s3 store: request shapes, put/get/head", "[s3unit]") {
  FakeS3 http;
  S3ObjectStore s(Opts(), http);
  CHECK(s.Describe() == "s3://bkt/pre/fix");
  REQUIRE(s.Put("v1/envs/a.json", "hello", {}).ok());
  const HttpRequest& put = http.log.back();
  CHECK(put.method == "PUT");
  CHECK(put.url == "http://fake:9000/bkt/pre/fix/v1/envs/a.json");
  CHECK(Hdr(put, "x-amz-content-sha256") == Sha256Hex("hello"));
  CHECK(Hdr(put, "authorization").find("Credential=AKID/") != std::string::npos);
  CHECK(Hdr(put, "authorization").find("SECRETKEY") == std::string::npos);
  CHECK(http.objects["pre/fix/v1/envs/a.json"] == "hello");
  CHECK(**s.Get("v1/envs/a.json") == "hello");
  CHECK(**s.Head("v1/envs/a.json") == 5);
  CHECK_FALSE(s.Get("v1/envs/b.json")->has_value());
  CHECK_FALSE(s.Head("v1/envs/b.json")->has_value());

  PutOptions cond;
  cond.if_none_match = true;
  Status again = s.Put("v1/envs/a.json", "other", cond);
  CHECK(again.message().find("already exists") != std::string::npos);
  CHECK(Hdr(http.log.back(), "if-none-match") == "*");
  CHECK(Hdr(http.log.back(), "authorization").find("if-none-match") != std::string::npos);
}

TEST_CASE("s3 store: virtual-hosted addressing", "[s3unit]") {
  S3Options o = Opts();
  o.config.endpoint = "https://s3.eu-west-1.amazonaws.com:443";
  o.config.path_style = false;
  o.prefix = "";
  FakeS3 http;
  S3ObjectStore s(o, http);
  (void)s.Head("k");
  CHECK(http.log.back().url == "https://bkt.s3.eu-west-1.amazonaws.com/k");
  // Buckets with dots fall back to path style.
  o.bucket = "b.k.t";
  S3ObjectStore d(o, http);
  (void)d.Head("k");
  CHECK(http.log.back().url == "https://s3.eu-west-1.amazonaws.com/b.k.t/k");
}

TEST_CASE("s3 store: listing pages through continuation tokens", "[s3unit]") {
  FakeS3 http;
  S3Options o = Opts();
  o.list_page_size = 3;
  S3ObjectStore s(o, http);
  for (int i = 0; i < 10; ++i) http.objects["pre/fix/v1/blobs/" + std::to_string(i)] = "x";
  http.objects["pre/fix/v1/other"] = "y";
  http.objects["elsewhere/v1/blobs/z"] = "z";
  auto l = s.List("v1/blobs/");
  REQUIRE(l.ok());
  REQUIRE(l->size() == 10);
  CHECK((*l)[0].key == "v1/blobs/0");
  CHECK((*l)[9].key == "v1/blobs/9");
  // 4 pages; the query is sorted and encoded.
  CHECK(http.log.size() == 4);
  CHECK(http.log[0].url ==
        "http://fake:9000/bkt?list-type=2&max-keys=3&prefix=pre%2Ffix%2Fv1%2Fblobs%2F");
  CHECK(http.log[1].url.find("?continuation-token=tok-") != std::string::npos);
}

TEST_CASE("s3 store: multipart upload and ranged download", "[s3unit]") {
  TempDir t;
  FakeS3 http;
  S3Options o = Opts();
  o.multipart_threshold = 6 << 20;
  o.part_size = 5 << 20;
  o.download_chunk = 1 << 20;
  S3ObjectStore s(o, http);
  std::string data = MakeFile(t.path + "/big", (12 << 20) + 5);
  PutOptions po;
  po.sha256 = Sha256Hex(data);
  REQUIRE(s.PutFile("blob", t.path + "/big", po).ok());
  CHECK(http.objects["pre/fix/blob"] == data);
  CHECK(http.uploads.empty());
  int parts = 0;
  for (const auto& r : http.log)
    if (HasQuery(r.url, "partNumber")) {
      ++parts;
      CHECK(r.body_file == t.path + "/big");
      CHECK(Hdr(r, "x-amz-content-sha256") ==
            Sha256Hex(data.substr(r.body_file_offset, *r.body_file_length)));
    }
  CHECK(parts == 3);

  http.log.clear();
  REQUIRE(s.Download("blob", t.path + "/out", Sha256Hex(data)).ok());
  std::ifstream in(t.path + "/out", std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(back == data);
  // 13 ranged GETs of 1 MiB and nothing else; all but the first pinned with If-Match.
  CHECK(http.log.size() == 13);
  int pinned = 0;
  for (const auto& r : http.log) {
    CHECK(r.range.has_value());
    pinned += !Hdr(r, "if-match").empty();
  }
  CHECK(pinned == 12);

  // Small and empty objects: one request (the empty one is answered 416, then a HEAD).
  http.objects["pre/fix/small"] = "tiny";
  http.objects["pre/fix/empty"] = "";
  http.log.clear();
  REQUIRE(s.Download("small", t.path + "/small", Sha256Hex("tiny")).ok());
  CHECK(http.log.size() == 1);
  REQUIRE(s.Download("empty", t.path + "/empty", Sha256Hex("")).ok());
  CHECK(fs::file_size(t.path + "/empty") == 0);
  Status nf = s.Download("nothing", t.path + "/nothing", std::nullopt);
  CHECK(nf.code() == Code::kUser);
  CHECK(nf.message().find("not found") != std::string::npos);
  fs::remove(t.path + "/small");
  fs::remove(t.path + "/empty");

  // Corrupted bytes in transit: kIntegrity and nothing left behind.
  http.corrupt_ranges = true;
  Status bad = s.Download("blob", t.path + "/out2", Sha256Hex(data));
  CHECK(bad.code() == Code::kIntegrity);
  CHECK_FALSE(fs::exists(t.path + "/out2"));
  CHECK(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()) == 2);
}

TEST_CASE("s3 store: failed multipart uploads are aborted", "[s3unit]") {
  TempDir t;
  FakeS3 http;
  S3Options o = Opts();
  o.multipart_threshold = 5 << 20;
  o.part_size = 5 << 20;
  S3ObjectStore s(o, http);
  MakeFile(t.path + "/big", 11 << 20);
  http.fail_part = 2;
  Status st = s.PutFile("blob", t.path + "/big", {});
  CHECK(st.code() == Code::kNetwork);
  CHECK(st.message().find("InternalError") != std::string::npos);
  CHECK(http.log.back().method == "DELETE");
  CHECK(http.uploads.empty());
  CHECK(http.objects.empty());

  http.fail_part = -1;
  http.complete_error_200 = true;
  Status late = s.PutFile("blob", t.path + "/big", {});
  CHECK_FALSE(late.ok());
  CHECK(late.message().find("late failure") != std::string::npos);
  CHECK(http.log.back().method == "DELETE");

  // A wrong expected digest is caught before anything is sent.
  http.log.clear();
  PutOptions wrong;
  wrong.sha256 = std::string(64, '0');
  CHECK(s.PutFile("blob", t.path + "/big", wrong).code() == Code::kIntegrity);
  CHECK(http.log.empty());
}

TEST_CASE("s3 store: error mapping", "[s3unit]") {
  FakeS3 http;
  S3Options o = Opts();
  o.config.credential_source = "environment (AWS_ACCESS_KEY_ID)";
  S3ObjectStore s(o, http);
  http.forced_error_code = "SignatureDoesNotMatch";
  Status st = s.Put("k", "v", {});
  CHECK(st.code() == Code::kUser);
  CHECK(st.message().find(
            "S3 PUT http://fake:9000/bkt/pre/fix/k: HTTP 403 SignatureDoesNotMatch: nope") == 0);
  CHECK(st.message().find("AWS_ACCESS_KEY_ID") != std::string::npos);
  CHECK(st.message().find("SECRETKEY") == std::string::npos);

  http.forced_error_code.clear();
  PutOptions wrong;
  wrong.sha256 = Sha256Hex("x");
  CHECK(s.Put("k", "v", wrong).code() == Code::kIntegrity);

  // No credentials at all.
  S3Options none = Opts();
  none.config.credentials = {};
  S3ObjectStore n(none, http);
  Status nc = n.Put("k", "v", {});
  CHECK(nc.code() == Code::kUser);
  CHECK(nc.message().find("no AWS credentials") != std::string::npos);
}

TEST_CASE("s3 store: a transport failure mid-download leaves nothing behind", "[s3unit]") {
  TempDir t;
  FakeS3 http;
  S3Options o = Opts();
  o.download_chunk = 1 << 20;
  S3ObjectStore s(o, http);
  std::string data(3 << 20, 'z');
  http.objects["pre/fix/blob"] = data;
  http.fail_range_at = 200000;
  Status st = s.Download("blob", t.path + "/d/out", Sha256Hex(data));
  CHECK(st.code() == Code::kNetwork);
  CHECK(st.message().find("connection reset") != std::string::npos);
  CHECK_FALSE(fs::exists(t.path + "/d/out"));
  CHECK(fs::is_empty(t.path + "/d"));
}

namespace {
// Routes http://sts:1/ to a canned STS answer (counting calls), everything else to FakeS3.
class StsAndS3 : public HttpClient {
 public:
  FakeS3 s3;
  int sts_calls = 0;
  std::string expiration = "2099-01-01T00:00:00Z";
  Result<HttpResponse> Send(const HttpRequest& r) override {
    if (r.url.rfind("http://sts:1/", 0) != 0) return s3.Send(r);
    ++sts_calls;
    HttpResponse resp;
    resp.status = 200;
    resp.body =
        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
        "<AccessKeyId>ASIA" +
        std::to_string(sts_calls) +
        "</AccessKeyId><SecretAccessKey>S"
        "</SecretAccessKey><SessionToken>TOKEN</SessionToken><Expiration>" +
        expiration +
        "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
        "</AssumeRoleWithWebIdentityResponse>";
    return resp;
  }
};
}  // namespace

TEST_CASE("s3 store: web-identity credentials are cached and refreshed before expiry", "[s3unit]") {
  TempDir t;
  std::ofstream(t.path + "/token") << "jwt";
  S3Options o = Opts();
  o.config.credentials = {};
  o.config.web_identity_token_file = t.path + "/token";
  o.config.role_arn = "arn:aws:iam::1:role/r";
  o.config.role_session_name = "s";
  o.config.sts_endpoint = "http://sts:1";
  StsAndS3 http;
  {
    S3ObjectStore s(o, http);
    REQUIRE(s.Put("a", "1", {}).ok());
    REQUIRE(s.Put("b", "2", {}).ok());
    CHECK(http.sts_calls == 1);
    const HttpRequest& last = http.s3.log.back();
    CHECK(Hdr(last, "x-amz-security-token") == "TOKEN");
    CHECK(Hdr(last, "authorization").find("Credential=ASIA1/") != std::string::npos);
  }
  // Credentials that expire within 5 minutes are fetched again for the next request.
  auto soon = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                   std::chrono::minutes(2));
  char buf[32];
  std::tm tm{};
  gmtime_r(&soon, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  http.expiration = buf;
  http.sts_calls = 0;
  S3ObjectStore s(o, http);
  REQUIRE(s.Put("a", "1", {}).ok());
  REQUIRE(s.Put("b", "2", {}).ok());
  CHECK(http.sts_calls == 2);
}
