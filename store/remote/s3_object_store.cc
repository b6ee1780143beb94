#include "store/remote/s3_object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "src/digest.h"
#include "src/fs.h"
#include "store/remote/file_object_store.h"
#include "store/remote/sigv4.h"
#include "store/remote/xml.h"

namespace ferry::store {

namespace {

const char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Errno() { return std::strerror(errno); }

// Printable, bounded excerpt of a server-provided string (hostile input).
std::string Sanitize(std::string_view s, size_t max = 300) {
  std::string out;
  for (char c : s.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (s.size() > max) out += "...";
  return out;
}

bool ValidBucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-'))
      return false;
  return std::isalnum(static_cast<unsigned char>(b.front())) &&
         std::isalnum(static_cast<unsigned char>(b.back()));
}

std::optional<uint64_t> ParseU64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

}  // namespace

Status ParseS3Url(const std::string& url, std::string* bucket, std::string* prefix) {
  const std::string scheme = "s3://";
  if (url.rfind(scheme, 0) != 0) return Status::Usage("not an s3:// URL: " + url);
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  *bucket = rest.substr(0, slash);
  std::string p = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!p.empty() && p.back() == '/') p.pop_back();
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (!ValidBucket(*bucket)) {
    return Status::Usage("invalid S3 bucket name '" + *bucket + "' in " + url +
                         " (3-63 characters: a-z 0-9 . -)");
  }
  if (!p.empty()) {
    Status st = ValidateObjectKey(p);
    if (!st.ok()) return Status::Usage("invalid S3 prefix in " + url + ": " + st.message());
  }
  *prefix = p;
  return Status::Ok();
}

S3ObjectStore::S3ObjectStore(S3Options options, HttpClient& http)
    : options_(std::move(options)), http_(http) {
  const std::string& ep = options_.config.endpoint;
  auto sep = ep.find("://");
  scheme_ = sep == std::string::npos ? "https" : ep.substr(0, sep);
  std::string rest = sep == std::string::npos ? ep : ep.substr(sep + 3);
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  base_path_ = slash == std::string::npos ? "" : rest.substr(slash);
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  auto colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(']', colon) == std::string::npos) {
    std::string port = hostport.substr(colon + 1);
    if ((scheme_ == "http" && port == "80") || (scheme_ == "https" && port == "443"))
      hostport = hostport.substr(0, colon);
  }
  host_ = hostport;
  // Virtual-hosted addressing needs a DNS label: buckets with dots go path-style.
  path_style_ = options_.config.path_style || options_.bucket.find('.') != std::string::npos;
  options_.list_page_size = std::clamp(options_.list_page_size, 1, 1000);
  options_.part_size = std::max<uint64_t>(options_.part_size, 5ull << 20);
  options_.download_chunk = std::max<uint64_t>(options_.download_chunk, 1ull << 16);
  options_.parallelism = std::max(1, options_.parallelism);
  if (!options_.config.credentials.empty()) creds_ = options_.config.credentials;
}

std::string S3ObjectStore::Describe() const {
  return "s3://" + options_.bucket + (options_.prefix.empty() ? "" : "/" + options_.prefix);
}

std::string S3ObjectStore::FullKey(const std::string& key) const {
  return options_.prefix.empty() ? key : options_.prefix + "/" + key;
}

S3ObjectStore::Target S3ObjectStore::TargetFor(const std::string& object_key) const {
  Target t;
  std::string encoded = UriEncode(object_key, false);
  if (path_style_) {
    t.host = host_;
    t.path = base_path_ + "/" + options_.bucket;
    if (!object_key.empty()) t.path += "/" + encoded;
  } else {
    t.host = options_.bucket + "." + host_;
    t.path = base_path_ + "/" + encoded;
  }
  t.url = scheme_ + "://" + t.host + t.path;
  return t;
}

Result<AwsCredentials> S3ObjectStore::Credentials() {
  std::lock_guard<std::mutex> lock(creds_mu_);
  const AwsConfig& cfg = options_.config;
  if (!cfg.credentials.empty()) return cfg.credentials;
  if (cfg.UsesWebIdentity()) {
    auto now = std::chrono::system_clock::now();
    if (creds_.empty() ||
        (creds_temporary_ && now + std::chrono::minutes(5) >= creds_expiration_)) {
      auto t = AssumeRoleWithWebIdentity(http_, cfg);
      if (!t.ok()) return t.status().WithContext("getting S3 credentials for " + Describe());
      creds_ = t->credentials;
      creds_expiration_ = t->expiration;
      creds_temporary_ = true;
    }
    return creds_;
  }
  return Status::User(
      "no AWS credentials for " + Describe() +
      ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE (~/.aws/credentials), or "
      "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN");
}

Result<HttpRequest> S3ObjectStore::Signed(
    const std::string& method, const std::string& object_key,
    const std::vector<std::pair<std::string, std::string>>& query, HttpHeaders headers,
    const std::string& payload_sha256) {
  FERRY_ASSIGN_OR_RETURN(AwsCredentials creds, Credentials());
  Target t = TargetFor(object_key);
  SigV4Request sreq;
  sreq.method = method;
  sreq.host = t.host;
  sreq.path = t.path;
  sreq.query = query;
  sreq.headers = std::move(headers);
  sreq.payload_sha256 = payload_sha256;
  SigV4Signed s = SignV4(sreq, creds, options_.config.region, "s3", AmzDateNow());
  HttpRequest req;
  req.method = method;
  req.url = t.url + (s.query_string.empty() ? "" : "?" + s.query_string);
  req.headers = std::move(s.headers);
  return req;
}

Status S3ObjectStore::ErrorFrom(const std::string& op, const HttpRequest& req,
                                const HttpResponse& resp) const {
  std::string code, message;
  if (!resp.body.empty()) {
    auto doc = ParseXml(resp.body);
    if (doc.ok() && doc->LocalName() == "Error") {
      code = Sanitize(doc->ChildText("Code"), 80);
      message = Sanitize(doc->ChildText("Message"));
    }
  }
  std::string text = "S3 " + op + " " + RedactUrl(req.url) + ": HTTP " +
                     std::to_string(resp.status) + (code.empty() ? "" : " " + code) +
                     (message.empty() ? "" : ": " + message);
  static const char* kAuth[] = {"SignatureDoesNotMatch",
                                "InvalidAccessKeyId",
                                "AccessDenied",
                                "ExpiredToken",
                                "InvalidToken",
                                "TokenRefreshRequired",
                                "AuthorizationHeaderMalformed",
                                "RequestTimeTooSkewed",
                                "InvalidSecurity"};
  bool auth = resp.status == 403 || std::any_of(std::begin(kAuth), std::end(kAuth),
                                                [&](const char* c) { return code == c; });
  if (code == "XAmzContentSHA256Mismatch" || code == "BadDigest" || code == "InvalidDigest") {
    return Status::Integrity(text + " (the uploaded bytes do not match their sha256)");
  }
  if (auth) {
    return Status::User(text + " (check the S3 credentials, from " +
                        options_.config.credential_source +
                        ", and AWS_REGION=" + options_.config.region + ")");
  }
  if (code == "NoSuchBucket") return Status::User(text + " (bucket " + options_.bucket + ")");
  if (resp.status >= 500 || resp.status == 429 || resp.status == 0) return Status::Network(text);
  return Status::User(text);
}

Status S3ObjectStore::CreateBucket() {
  FERRY_ASSIGN_OR_RETURN(HttpRequest req, Signed("PUT", "", {}, {}, kEmptySha256));
  FERRY_ASSIGN_OR_RETURN(HttpResponse resp, http_.Send(req));
  if (resp.status == 200) return Status::Ok();
  if (resp.status == 409 && resp.body.find("BucketAlreadyOwnedByYou") != std::string::npos)
    return Status::Ok();
  return ErrorFrom("CreateBucket", req, resp);
}

Status S3ObjectStore::Delete(const std::string& key) {
  FERRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  FERRY_ASSIGN_OR_RETURN(HttpRequest req, Signed("DELETE", FullKey(key), {}, {}, kEmptySha256));
  FERRY_ASSIGN_OR_RETURN(HttpResponse resp, http_.Send(req));
  if (resp.status == 204 || resp.status == 200 || resp.status == 404) return Status::Ok();
  return ErrorFrom("DELETE", req, resp);
}

Result<std::optional<std::string>> S3ObjectStore::Get(const std::string& key) {
  FERRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  FERRY_ASSIGN_OR_RETURN(HttpRequest req, Signed("GET", FullKey(key), {}, {}, kEmptySha256));
  auto resp = http_.Send(req);
  if (!resp.ok()) return resp.status().WithContext("S3 GET " + Describe() + "/" + key);
  if (resp->status == 200) return std::optional<std::string>(std::move(resp->body));
  if (resp->status == 404 && resp->body.find("NoSuchBucket") == std::string::npos)
    return std::optional<std::string>();
  return ErrorFrom("GET", req, *resp);
}

Result<std::optional<uint64_t>> S3ObjectStore::Head(const std::string& key) {
  FERRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  FERRY_ASSIGN_OR_RETURN(HttpRequest req, Signed("HEAD", FullKey(key), {}, {}, kEmptySha256));
  auto resp = http_.Send(req);
  if (!resp.ok()) return resp.status().WithContext("S3 HEAD " + Describe() + "/" + key);
  if (resp->status == 404) return std::optional<uint64_t>();
  if (resp->status != 200) return ErrorFrom("HEAD", req, *resp);
  auto size = ParseU64(resp->Header("content-length"));
  if (!size) {
    return Status::Network("S3 HEAD " + RedactUrl(req.url) +
                           ": response has no valid Content-Length");
  }
  return std::optional<uint64_t>(*size);
}

Result<std::vector<ObjectInfo>> S3ObjectStore::List(const std::string& prefix) {
  std::string full_prefix = options_.prefix.empty() ? prefix : options_.prefix + "/" + prefix;
  size_t strip = options_.prefix.empty() ? 0 : options_.prefix.size() + 1;
  std::vector<ObjectInfo> out;
  std::string token;
  for (int page = 0;; ++page) {
    std::vector<std::pair<std::string, std::string>> q = {
        {"list-type", "2"}, {"max-keys", std::to_string(options_.list_page_size)}};
    if (!full_prefix.empty()) q.emplace_back("prefix", full_prefix);
    if (!token.empty()) q.emplace_back("continuation-token", token);
    FERRY_ASSIGN_OR_RETURN(HttpRequest req, Signed("GET", "", q, {}, kEmptySha256));
    auto resp = http_.Send(req);
    if (!resp.ok()) return resp.status().WithContext("S3 ListObjectsV2 " + Describe());
    if (resp->status != 200) return ErrorFrom("ListObjectsV2", req, *resp);
    auto doc = ParseXml(resp->body);
    if (!doc.ok()) {
      return Status::Network("S3 ListObjectsV2 " + RedactUrl(req.url) + ": " +
                             doc.status().message());
    }
    if (doc->LocalName() != "ListBucketResult") {
      return Status::Network("S3 ListObjectsV2 " + RedactUrl(req.url) + ": unexpected <" +
                             Sanitize(doc->name, 60) + "> response");
    }
    for (const XmlElement* c : doc->Children("Contents")) {
      std::string k = c->ChildText("Key");
      auto size = ParseU64(c->ChildText("Size"));
      if (k.size() < strip || k.compare(0, full_prefix.size(), full_prefix) != 0 || !size) {
        return Status::Network("S3 ListObjectsV2 " + RedactUrl(req.url) +
                               ": malformed entry for key '" + Sanitize(k, 200) + "'");
      }
      out.push_back({k.substr(strip), *size});
    }
    if (doc->ChildText("IsTruncated") != "true") break;
    std::string next = doc->ChildText("NextContinuationToken");
    if (next.empty() || next == token) {
      return Status::Network("S3 ListObjectsV2 " + RedactUrl(req.url) +
                             ": truncated listing without a new continuation token");
    }
    token = next;
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status S3ObjectStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  FERRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::string sha = Sha256Hex(data);
  if (opts.sha256 && *opts.sha256 != sha) {
    return Status::Integrity("uploading " + key + " to " + Describe() +
                             ": sha256 mismatch: expected " + *opts.sha256 + ", got " + sha);
  }
  HttpHeaders h;
  if (opts.if_none_match) h.emplace_back("If-None-Match", "*");
  for (int attempt = 0;; ++attempt) {
    FERRY_ASSIGN_OR_RETURN(HttpRequest req, Signed("PUT", FullKey(key), {}, h, sha));
    req.headers.emplace_back("Content-Type", "application/octet-stream");
    req.body = std::string(data);
    auto resp = http_.Send(req);
    if (!resp.ok()) return resp.status().WithContext("S3 PUT " + Describe() + "/" + key);
    if (resp->status == 200) return Status::Ok();
    if (resp->status == 412 && opts.if_none_match)
      return Status::User("object " + key + " already exists in " + Describe());
    // 409 ConditionalRequestConflict: a concurrent conditional write; retry, then 412.
    if (resp->status == 409 && opts.if_none_match && attempt < 3) continue;
    return ErrorFrom("PUT", req, *resp);
  }
}

Status S3ObjectStore::PutFile(const std::string& key, const std::string& path,
                              const PutOptions& opts) {
  FERRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::User("cannot stat " + path + ": " + Errno());
  if (!S_ISREG(st.st_mode)) return Status::User(path + " is not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size >= options_.multipart_threshold) return MultipartUpload(key, path, size, opts);

  std::string sha;
  if (opts.sha256) {
    sha = *opts.sha256;  // the server checks the body against it
  } else {
    FERRY_ASSIGN_OR_RETURN(sha, Sha256File(path));
  }
  HttpHeaders h;
  if (opts.if_none_match) h.emplace_back("If-None-Match", "*");
  for (int attempt = 0;; ++attempt) {
    FERRY_ASSIGN_OR_RETURN(HttpRequest req, Signed("PUT", FullKey(key), {}, h, sha));
    req.headers.emplace_back("Content-Type", "application/octet-stream");
    req.body_file = path;
    req.body_file_offset = 0;
    req.body_file_length = size;
    auto resp = http_.Send(req);
    if (!resp.ok())
      return resp.status().WithContext("S3 PUT " + path + " to " + Describe() + "/" + key);
    if (resp->status == 200) return Status::Ok();
    if (resp->status == 412 && opts.if_none_match)
      return Status::User("object " + key + " already exists in " + Describe());
    if (resp->status == 409 && opts.if_none_match && attempt < 3) continue;
    return ErrorFrom("PUT", req, *resp).WithContext("uploading " + path);
  }
}

Status S3ObjectStore::MultipartUpload(const std::string& key, const std::string& path,
                                      uint64_t size, const PutOptions& opts) {
  const std::string full = FullKey(key);
  const std::string what = "uploading " + path + " to " + Describe() + "/" + key;
  // 1. One pass over the file: sha256 of every part and of the whole file.
  const uint64_t part = options_.part_size;
  const uint64_t nparts = (size + part - 1) / part;
  if (nparts > 10000) return Status::User(what + ": more than 10000 parts; raise part_size");
  std::vector<std::string> part_sha;
  {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return Status::User("cannot open " + path + ": " + Errno());
    Hasher whole, ph;
    std::vector<char> buf(1 << 20);
    uint64_t in_part = 0, total = 0;
    for (;;) {
      ssize_t r = ::read(fd.get(), buf.data(), buf.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::User("reading " + path + ": " + Errno());
      }
      if (r == 0) break;
      size_t off = 0;
      while (off < static_cast<size_t>(r)) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(r - off, part - in_part));
        ph.Update(buf.data() + off, n);
        whole.Update(buf.data() + off, n);
        off += n;
        in_part += n;
        total += n;
        if (in_part == part) {
          part_sha.push_back(ph.HexDigest());
          in_part = 0;
        }
      }
    }
    if (in_part > 0) part_sha.push_back(ph.HexDigest());
    if (total != size || part_sha.size() != nparts)
      return Status::User(what + ": the file changed while it was read");
    std::string got = whole.HexDigest();
    if (opts.sha256 && *opts.sha256 != got) {
      return Status::Integrity(what + ": sha256 mismatch: expected " + *opts.sha256 + ", got " +
                               got);
    }
  }
  if (opts.if_none_match) {
    FERRY_ASSIGN_OR_RETURN(auto existing, Head(key));
    if (existing) return Status::User("object " + key + " already exists in " + Describe());
  }

  // 2. Initiate.
  FERRY_ASSIGN_OR_RETURN(HttpRequest init,
                         Signed("POST", full, {{"uploads", ""}}, {}, kEmptySha256));
  init.headers.emplace_back("Content-Type", "application/octet-stream");
  auto init_resp = http_.Send(init);
  if (!init_resp.ok()) return init_resp.status().WithContext(what);
  if (init_resp->status != 200) return ErrorFrom("CreateMultipartUpload", init, *init_resp);
  auto init_doc = ParseXml(init_resp->body);
  std::string upload_id = init_doc.ok() ? init_doc->ChildText("UploadId") : "";
  if (upload_id.empty()) {
    return Status::Network("S3 CreateMultipartUpload " + RedactUrl(init.url) +
                           ": response has no UploadId");
  }

  auto abort = [&](Status st) -> Status {
    auto req = Signed("DELETE", full, {{"uploadId", upload_id}}, {}, kEmptySha256);
    if (req.ok()) (void)http_.Send(*req);
    return st;
  };

  // 3. Parts, in batches so that signatures stay fresh (they are valid for 15 minutes).
  std::vector<std::string> etags(nparts);
  const uint64_t batch = static_cast<uint64_t>(options_.parallelism) * 2;
  for (uint64_t first = 0; first < nparts; first += batch) {
    uint64_t last = std::min(nparts, first + batch);
    std::vector<HttpRequest> reqs;
    for (uint64_t i = first; i < last; ++i) {
      auto r = Signed("PUT", full, {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}},
                      {}, part_sha[i]);
      if (!r.ok()) return abort(r.status());
      r->body_file = path;
      r->body_file_offset = i * part;
      r->body_file_length = std::min(part, size - i * part);
      r->headers.emplace_back("Content-Type", "application/octet-stream");
      reqs.push_back(std::move(*r));
    }
    auto results = http_.SendAll(reqs, options_.parallelism);
    for (size_t j = 0; j < results.size(); ++j) {
      uint64_t i = first + j;
      if (!results[j].ok()) {
        return abort(results[j].status().WithContext(what + ": part " + std::to_string(i + 1)));
      }
      if (results[j]->status != 200) {
        return abort(ErrorFrom("UploadPart " + std::to_string(i + 1), reqs[j], *results[j]));
      }
      etags[i] = results[j]->Header("etag");
      if (etags[i].empty()) {
        return abort(
            Status::Network("S3 UploadPart " + RedactUrl(reqs[j].url) + ": response has no ETag"));
      }
    }
  }

  // 4. Complete.
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (uint64_t i = 0; i < nparts; ++i) {
    body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
            XmlEscape(etags[i]) + "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  HttpHeaders h;
  if (opts.if_none_match) h.emplace_back("If-None-Match", "*");
  auto done = Signed("POST", full, {{"uploadId", upload_id}}, h, Sha256Hex(body));
  if (!done.ok()) return abort(done.status());
  done->headers.emplace_back("Content-Type", "application/xml");
  done->body = body;
  auto done_resp = http_.Send(*done);
  if (!done_resp.ok()) return abort(done_resp.status().WithContext(what + ": completing"));
  if (done_resp->status == 412 && opts.if_none_match)
    return abort(Status::User("object " + key + " already exists in " + Describe()));
  if (done_resp->status != 200)
    return abort(ErrorFrom("CompleteMultipartUpload", *done, *done_resp));
  // A 200 response can still carry an <Error> (the failure happened after the headers).
  auto doc = ParseXml(done_resp->body);
  if (!doc.ok() || doc->LocalName() != "CompleteMultipartUploadResult") {
    HttpResponse as_error = *done_resp;
    as_error.status = 500;
    return abort(ErrorFrom("CompleteMultipartUpload", *done, as_error));
  }
  return Status::Ok();
}

Status S3ObjectStore::Download(const std::string& key, const std::string& dest_path,
                               const std::optional<std::string>& expected_sha256) {
  FERRY_RETURN_IF_ERROR(ValidateObjectKey(key));
  const std::string full = FullKey(key);
  const std::string what = "downloading " + Describe() + "/" + key;
  std::string dir = DirName(dest_path);
  FERRY_RETURN_IF_ERROR(MakeDirs(dir));
  std::string tmp = TempPathNextTo(dest_path);
  Fd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Status::User("cannot create " + tmp + ": " + Errno());
  auto fail = [&](Status st) -> Status {
    ::close(fd.Release());
    ::unlink(tmp.c_str());
    return st;
  };

  // Each ranged GET streams into its own region of the temp file.
  struct Piece {
    uint64_t offset, length, received = 0;
  };
  const uint64_t chunk = options_.download_chunk;
  auto pieces = std::make_shared<std::vector<Piece>>();
  pieces->push_back({0, chunk, 0});
  const int out_fd = fd.get();
  auto make_request = [&](size_t i, const std::string& etag) -> Result<HttpRequest> {
    HttpHeaders h;
    if (!etag.empty()) h.emplace_back("If-Match", etag);
    FERRY_ASSIGN_OR_RETURN(HttpRequest r, Signed("GET", full, {}, h, kEmptySha256));
    const Piece& p = (*pieces)[i];
    r.range = std::make_pair(p.offset, std::optional<uint64_t>(p.offset + p.length - 1));
    r.sink = [pieces, i, out_fd, tmp](std::string_view data) -> Status {
      Piece& p = (*pieces)[i];
      if (p.received + data.size() > p.length) {
        return Status::Network("server sent more bytes than requested for range " +
                               std::to_string(p.offset) + "+" + std::to_string(p.length));
      }
      size_t done = 0;
      while (done < data.size()) {
        ssize_t w = ::pwrite(out_fd, data.data() + done, data.size() - done,
                             static_cast<off_t>(p.offset + p.received + done));
        if (w < 0) {
          if (errno == EINTR) continue;
          return Status::User("writing " + tmp + ": " + Errno());
        }
        done += static_cast<size_t>(w);
      }
      p.received += data.size();
      return Status::Ok();
    };
    r.on_restart = [pieces, i]() -> Status {
      (*pieces)[i].received = 0;
      return Status::Ok();
    };
    return r;
  };
  // The error body of a non-2xx response: in HttpResponse::body if the client kept it there,
  // otherwise it went through the sink into the temp file and is read back.
  auto error_response = [&](size_t i, const HttpResponse& resp) {
    HttpResponse r = resp;
    const Piece& p = (*pieces)[i];
    if (!r.body.empty() || p.received == 0) return r;
    r.body.assign(static_cast<size_t>(std::min<uint64_t>(p.received, 65536)), '\0');
    ssize_t n = ::pread(out_fd, r.body.data(), r.body.size(), static_cast<off_t>(p.offset));
    r.body.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return r;
  };
  auto not_found = [&](const HttpRequest& req, const HttpResponse& resp) -> Status {
    if (resp.body.find("NoSuchBucket") != std::string::npos) return ErrorFrom("GET", req, resp);
    return Status::User("object " + key + " not found in " + Describe());
  };

  // 1. The first chunk; its Content-Range tells the total size (no HEAD round trip).
  auto first = make_request(0, "");
  if (!first.ok()) return fail(first.status());
  auto first_resp = http_.Send(*first);
  if (!first_resp.ok()) return fail(first_resp.status().WithContext(what));
  uint64_t total = 0;
  std::string etag = first_resp->Header("etag");
  long code = first_resp->status;
  if (code == 206) {
    std::string cr = first_resp->Header("content-range");  // "bytes 0-8388607/41943040"
    auto slash = cr.rfind('/');
    auto t = slash == std::string::npos ? std::nullopt : ParseU64(cr.substr(slash + 1));
    if (!t) {
      return fail(Status::Network(what + ": 206 response without a usable Content-Range ('" +
                                  Sanitize(cr, 80) + "')"));
    }
    total = *t;
  } else if (code == 200) {
    total = (*pieces)[0].received;  // the server ignored the Range: the whole (small) object
  } else if (code == 416) {
    // Ranges on an empty object are unsatisfiable; confirm the size with a HEAD.
    auto size = Head(key);
    if (!size.ok()) return fail(size.status());
    if (!*size) return fail(Status::User("object " + key + " not found in " + Describe()));
    if (**size != 0) return fail(ErrorFrom("GET", *first, error_response(0, *first_resp)));
    total = 0;
  } else if (code == 404) {
    return fail(not_found(*first, error_response(0, *first_resp)));
  } else {
    return fail(ErrorFrom("GET", *first, error_response(0, *first_resp)));
  }
  (*pieces)[0].length = std::min(chunk, total);
  if ((*pieces)[0].received != (*pieces)[0].length) {
    return fail(Status::Network(what + ": short read of the first " +
                                std::to_string((*pieces)[0].length) + " bytes: got " +
                                std::to_string((*pieces)[0].received)));
  }

  // 2. The rest in parallel, pinned to the same object version with If-Match.
  for (uint64_t off = chunk; off < total; off += chunk)
    pieces->push_back({off, std::min(chunk, total - off), 0});
  const size_t batch = static_cast<size_t>(options_.parallelism) * 4;
  for (size_t b = 1; b < pieces->size(); b += batch) {
    size_t last = std::min(pieces->size(), b + batch);
    std::vector<HttpRequest> reqs;
    for (size_t i = b; i < last; ++i) {
      auto r = make_request(i, etag);
      if (!r.ok()) return fail(r.status());
      reqs.push_back(std::move(*r));
    }
    auto results = http_.SendAll(reqs, options_.parallelism);
    for (size_t j = 0; j < results.size(); ++j) {
      const size_t i = b + j;
      const Piece& p = (*pieces)[i];
      if (!results[j].ok()) return fail(results[j].status().WithContext(what));
      long c = results[j]->status;
      if (c == 412) {
        return fail(Status::Network(what + ": the object changed during the download (ETag " +
                                    Sanitize(etag, 80) + " no longer matches)"));
      }
      if (c == 404) return fail(not_found(reqs[j], error_response(i, *results[j])));
      if (c != 206) return fail(ErrorFrom("GET", reqs[j], error_response(i, *results[j])));
      if (p.received != p.length) {
        return fail(Status::Network(what + ": short read at offset " + std::to_string(p.offset) +
                                    ": got " + std::to_string(p.received) + " of " +
                                    std::to_string(p.length) + " bytes"));
      }
    }
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != total) {
    return fail(Status::Network(what + ": assembled " + std::to_string(st.st_size) +
                                " bytes, expected " + std::to_string(total)));
  }
  if (::fsync(fd.get()) != 0) return fail(Status::User("fsync " + tmp + ": " + Errno()));
  if (::close(fd.Release()) != 0) {
    ::unlink(tmp.c_str());
    return Status::User("closing " + tmp + ": " + Errno());
  }

  // 3. Re-hash what arrived, then publish.
  if (expected_sha256) {
    auto got = Sha256File(tmp);
    if (!got.ok()) {
      ::unlink(tmp.c_str());
      return got.status();
    }
    if (*got != *expected_sha256) {
      ::unlink(tmp.c_str());
      return Status::Integrity(what + ": sha256 mismatch: expected " + *expected_sha256 + ", got " +
                               *got);
    }
  }
  if (::rename(tmp.c_str(), dest_path.c_str()) != 0) {
    std::string e = Errno();
    ::unlink(tmp.c_str());
    return Status::User("publishing " + dest_path + ": " + e);
  }
  return FsyncDirectory(dir);
}

}  // namespace ferry::store
