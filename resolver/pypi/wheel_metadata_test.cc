#include "resolver/pypi/wheel_metadata.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "src/digest.h"
#include "src/platform/posix_fs.h"

using namespace ferry;
using namespace ferry::resolver::pypi;

namespace {

// Builds a real wheel with Python's zipfile (an independent zip writer).
std::string MakeWheel(const std::string& dir, const std::string& name, bool big_payload) {
  std::string path = dir + "/" + name + "-1.0-py3-none-any.whl";
  std::string script =
      "import zipfile,sys,os\n"
      "z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\n"
      "z.writestr('" + name + "/__init__.py','x=1\\n')\n"
      "z.writestr('" + name + "-1.0.dist-info/METADATA','Metadata-Version: 2.1\\nName: " + name +
      "\\nVersion: 1.0\\nRequires-Dist: dep>=2\\n\\nlong description\\n')\n"
      "z.writestr('" + name + "-1.0.dist-info/WHEEL','Wheel-Version: 1.0\\n')\n" +
      // A large member after METADATA puts METADATA outside the fetched tail.
      (big_payload ? "z.writestr('" + name + "/big.bin', os.urandom(300000), zipfile.ZIP_STORED)\n" : "") +
      "z.close()\n";
  std::string py = dir + "/mk.py";
  std::ofstream(py) << script;
  REQUIRE(std::system(("/usr/bin/python3 " + py + " " + path).c_str()) == 0);
  return path;
}

std::string Slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Serves files from memory with Range support (RFC 7233 subset), counting requests.
class MemoryHttp : public HttpClient {
 public:
  std::map<std::string, std::string> files;
  bool ranges = true;
  Result<HttpResponse> Send(const HttpRequest& r) override {
    HttpResponse resp;
    auto it = files.find(r.url);
    if (it == files.end()) {
      resp.status = 404;
      return resp;
    }
    const std::string& body = it->second;
    std::string range;
    for (auto& [k, v] : r.headers)
      if (k == "Range") range = v;
    if (r.range) {
      range = "bytes=" + std::to_string(r.range->first) + "-" +
              (r.range->second ? std::to_string(*r.range->second) : "");
    }
    if (range.empty() || !ranges) {
      resp.status = 200;
      resp.body = body;
      return resp;
    }
    uint64_t first, last;
    std::string spec = range.substr(6);
    if (spec[0] == '-') {
      uint64_t n = std::stoull(spec.substr(1));
      first = body.size() > n ? body.size() - n : 0;
      last = body.size() - 1;
    } else {
      auto dash = spec.find('-');
      first = std::stoull(spec.substr(0, dash));
      last = dash + 1 < spec.size() ? std::stoull(spec.substr(dash + 1)) : body.size() - 1;
      last = std::min<uint64_t>(last, body.size() - 1);
    }
    resp.status = 206;
    resp.body = body.substr(first, last - first + 1);
    resp.headers.emplace_back("content-range", "bytes " + std::to_string(first) + "-" +
                                                   std::to_string(last) + "/" +
                                                   std::to_string(body.size()));
    return resp;
  }
  std::vector<Result<HttpResponse>> SendAll(const std::vector<HttpRequest>& rs, int) override {
    std::vector<Result<HttpResponse>> out;
    for (auto& r : rs) out.push_back(Send(r));
    return out;
  }
};

}  // namespace

TEST_CASE("wheel metadata via Range, .metadata, full download and cache") {
  char tmpl[] = "/tmp/ferry-wm-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string small = Slurp(MakeWheel(dir, "small", false));
  std::string big = Slurp(MakeWheel(dir, "big", true));
  REQUIRE(ExtractMetadataFromWheelBytes(small, "small.whl").ok());

  MemoryHttp http;
  http.files["http://i/small-1.0-py3-none-any.whl"] = small;
  http.files["http://i/big-1.0-py3-none-any.whl"] = big;
  http.files["http://i/meta-1.0-py3-none-any.whl.metadata"] = "Name: meta\nVersion: 1.0\n";
  PosixFileSystem fs;

  IndexFile fsmall{"small-1.0-py3-none-any.whl", "http://i/small-1.0-py3-none-any.whl", Sha256Hex(small)};
  IndexFile fbig{"big-1.0-py3-none-any.whl", "http://i/big-1.0-py3-none-any.whl", Sha256Hex(big)};
  IndexFile fmeta{"meta-1.0-py3-none-any.whl", "http://i/meta-1.0-py3-none-any.whl", "aa"};
  fmeta.has_core_metadata = true;
  fmeta.core_metadata_sha256 = Sha256Hex("Name: meta\nVersion: 1.0\n");
  IndexFile sdist{"x-1.0.tar.gz", "http://i/x-1.0.tar.gz", ""};

  WheelMetadataFetcher fetcher(http, fs, dir + "/cache");
  auto out = fetcher.FetchAll({fsmall, fbig, fmeta, sdist});
  REQUIRE(out[0].ok());
  CHECK(out[0]->metadata.name == "small");
  CHECK(out[0]->metadata.requires_dist == std::vector<std::string>{"dep>=2"});
  CHECK(out[0]->source == MetadataSource::kRange);
  REQUIRE(out[1].ok());
  CHECK(out[1]->metadata.name == "big");
  CHECK(out[1]->source == MetadataSource::kRange);
  // small: 1 tail request; big: tail + member; meta: 1 .metadata request; sdist: none.
  CHECK(fetcher.http_requests() == 4);
  REQUIRE(out[2].ok());
  CHECK(out[2]->source == MetadataSource::kMetadataFile);
  REQUIRE_FALSE(out[3].ok());
  CHECK(out[3].status().message().find("building sdists is not supported yet") != std::string::npos);

  // Second run: served from the cache by sha256, no HTTP at all.
  WheelMetadataFetcher again(http, fs, dir + "/cache");
  auto cached = again.FetchAll({fsmall, fbig});
  REQUIRE(cached[0].ok());
  CHECK(cached[0]->source == MetadataSource::kCache);
  CHECK(again.http_requests() == 0);

  // A damaged cache entry (as a crash can leave: the cache is written without fsync) is a miss.
  {
    std::string entry = dir + "/cache/" + Sha256Hex(small) + ".METADATA";
    auto text = fs.ReadFile(entry);
    REQUIRE(text.ok());
    REQUIRE(fs.WriteFileAtomic(entry, text->substr(0, text->size() - 5)).ok());
    WheelMetadataFetcher damaged(http, fs, dir + "/cache");
    auto again2 = damaged.FetchAll({fsmall});
    REQUIRE(again2[0].ok());
    CHECK(again2[0]->source == MetadataSource::kRange);
    CHECK(again2[0]->metadata.name == "small");
  }

  // A server without Range support: full download, sha256 verified.
  http.ranges = false;
  WheelMetadataFetcher nocache(http, fs, "");
  auto full = nocache.FetchAll({fsmall});
  REQUIRE(full[0].ok());
  CHECK(full[0]->source == MetadataSource::kFullDownload);
  fsmall.sha256 = std::string(64, '0');
  auto bad = nocache.FetchAll({fsmall});
  REQUIRE_FALSE(bad[0].ok());
  CHECK(bad[0].status().code() == Code::kIntegrity);

  // A wrong .metadata digest is an integrity error.
  fmeta.core_metadata_sha256 = std::string(64, '1');
  auto badmeta = nocache.FetchAll({fmeta});
  REQUIRE_FALSE(badmeta[0].ok());
  CHECK(badmeta[0].status().code() == Code::kIntegrity);
  std::system(("rm -rf " + dir).c_str());
}
