#include "resolver/index/channel_loader.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <signal.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <map>

#include "src/platform/posix_fs.h"

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

namespace {

std::string Rec(const std::string& name, const std::string& version) {
  return "\"" + name + "-" + version + "-0.tar.bz2\":{\"name\":\"" + name + "\",\"version\":\"" +
         version + "\",\"build\":\"0\",\"build_number\":0,\"depends\":[],\"size\":1}";
}

std::string TempDir() {
  char tmpl[] = "/tmp/ferry-channel-loader-test-XXXXXX";
  return std::string(mkdtemp(tmpl));
}

// A channel server in memory that behaves like nginx: ETag + Last-Modified on 200, 304 for a
// matching If-None-Match. Counts requests and body bytes sent.
class ConditionalHttp : public HttpClient {
 public:
  struct File {
    std::string body, etag;
  };
  std::map<std::string, File> files;
  bool honour_conditional = true;
  // A 200 body breaks off after this many bytes once (the client restarts the transfer).
  size_t break_after = 0;
  std::vector<std::string> log;  // "GET url [inm]" -> status
  uint64_t body_bytes = 0;
  int streamed = 0;  // 200 bodies handed to a sink
  Result<HttpResponse> Send(const HttpRequest& r) override {
    HttpResponse resp;
    std::string inm;
    for (const auto& [k, v] : r.headers) {
      if (k == "If-None-Match") inm = v;
    }
    CHECK_FALSE(r.use_cache);  // the parsed cache is the only cache
    auto it = files.find(r.url);
    if (it == files.end()) {
      resp.status = 404;
    } else if (honour_conditional && !inm.empty() && inm == it->second.etag) {
      resp.status = 304;
    } else {
      resp.status = 200;
      body_bytes += it->second.body.size();
      if (r.sink) {  // streamed in two pieces, as a real client would
        std::string_view b = it->second.body;
        if (break_after > 0) {
          REQUIRE(r.on_restart);
          for (size_t at = 0; at < std::min(break_after, b.size()); at += 16384) {
            REQUIRE(r.sink(b.substr(at, std::min<size_t>(16384, break_after - at))).ok());
          }
          break_after = 0;
          REQUIRE(r.on_restart().ok());
        }
        Status st = r.sink(b.substr(0, b.size() / 2));
        if (st.ok()) st = r.sink(b.substr(b.size() / 2));
        if (!st.ok()) return st;
        ++streamed;
      } else {
        resp.body = it->second.body;
      }
      resp.headers = {{"etag", it->second.etag},
                      {"last-modified", "Sun, 22 Nov 2026 08:00:00 GMT"}};
    }
    log.push_back(r.url.substr(r.url.rfind('/') + 1) + (inm.empty() ? "" : " " + inm) + " -> " +
                  std::to_string(resp.status));
    return resp;
  }
};

class RecordingReporter : public Reporter {
 public:
  std::vector<std::string> warnings;
  void Warn(std::string_view m) override { warnings.emplace_back(m); }
};

std::vector<std::string> CacheFiles(PosixFileSystem& fs, const std::string& dir) {
  auto names = fs.ListDir(dir);
  return names.ok() ? *names : std::vector<std::string>{};
}

}  // namespace

TEST_CASE("channel loader: 304 revalidation with the parsed cache's own ETag reads no body") {
  PosixFileSystem fs;
  ConditionalHttp http;
  const std::string url = "http://127.0.0.1:1/ch/linux-64/repodata.json";
  http.files[url] = {"{\"packages\":{" + Rec("lib", "1.0") + "," + Rec("app", "2.0") + "}}",
                     "\"v1\""};
  std::string cache = TempDir() + "/repodata-cache";

  LoadStats cold;
  auto idx = LoadSubdir("http://127.0.0.1:1/ch/", "linux-64", http, fs, cache, NullReporter(),
                        &cold);
  REQUIRE(idx.ok());
  CHECK_FALSE(cold.from_parsed_cache);
  CHECK(http.log == std::vector<std::string>{"repodata.json.zst -> 404", "repodata.json -> 200"});
  CHECK(http.streamed == 1);  // downloaded straight into the cache file
  REQUIRE(CacheFiles(fs, cache).size() == 1);
  const std::string frd = cache + "/" + CacheFiles(fs, cache)[0];

  // Warm: one conditional request for the file the cache came from, 304, nothing downloaded.
  http.log.clear();
  http.body_bytes = 0;
  LoadStats warm;
  idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(), &warm);
  REQUIRE(idx.ok());
  CHECK(warm.from_parsed_cache);
  CHECK(warm.http_not_modified);
  CHECK(http.log == std::vector<std::string>{"repodata.json \"v1\" -> 304"});
  CHECK(http.body_bytes == 0);
  CHECK((*idx)->Records("app", NullReporter()).at(0).version.ToString() == "2.0");

  // A server that ignores If-None-Match but sends the same ETag: the cache is still used.
  http.honour_conditional = false;
  LoadStats same;
  idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(), &same);
  REQUIRE(idx.ok());
  CHECK(same.from_parsed_cache);
  http.honour_conditional = true;

  // A changed ETag: the new body is indexed and replaces the cache (still one file).
  http.files[url] = {"{\"packages\":{" + Rec("lib", "1.1") + "}}", "\"v2\""};
  http.log.clear();
  LoadStats changed;
  idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(),
                   &changed);
  REQUIRE(idx.ok());
  CHECK_FALSE(changed.from_parsed_cache);
  CHECK(http.log == std::vector<std::string>{"repodata.json \"v1\" -> 200"});
  CHECK((*idx)->Records("lib", NullReporter()).at(0).version.ToString() == "1.1");
  CHECK_FALSE((*idx)->HasName("app"));
  CHECK(CacheFiles(fs, cache).size() == 1);

  // A truncated cache file (e.g. a crash before the unsynced write reached the disk) is a miss:
  // the 304 is answered by downloading again.
  auto bytes = fs.ReadFile(frd);
  REQUIRE(bytes.ok());
  REQUIRE(fs.WriteFileAtomic(frd, bytes->substr(0, bytes->size() - 100)).ok());
  http.log.clear();
  LoadStats truncated;
  idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(),
                   &truncated);
  REQUIRE(idx.ok());
  CHECK_FALSE(truncated.from_parsed_cache);
  // (the footer is gone, so there are no validators to revalidate with)
  CHECK(http.log == std::vector<std::string>{"repodata.json.zst -> 404", "repodata.json -> 200"});
  CHECK((*idx)->Records("lib", NullReporter()).at(0).version.ToString() == "1.1");
  // ... and the cache is whole again.
  LoadStats again;
  idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(), &again);
  REQUIRE(idx.ok());
  CHECK(again.from_parsed_cache);
}

TEST_CASE("channel loader: a damaged cache block is detected when read and the subdir reloaded") {
  PosixFileSystem fs;
  ConditionalHttp http;
  const std::string url = "http://127.0.0.1:1/ch/noarch/repodata.json.zst";
  http.files[url] = {
      Compress("{\"packages\":{" + Rec("aaa", "1.0") + "," + Rec("zzz", "3.0") + "}}", true),
      "\"z1\""};
  std::string cache = TempDir();
  REQUIRE(LoadSubdir("http://127.0.0.1:1/ch", "noarch", http, fs, cache, NullReporter()).ok());
  REQUIRE(CacheFiles(fs, cache).size() == 1);
  const std::string frd = cache + "/" + CacheFiles(fs, cache)[0];
  // Flip one byte inside zzz's record text (the last block): the header and directory still
  // check out, so the damage is only seen when zzz is read.
  auto bytes = fs.ReadFile(frd);
  REQUIRE(bytes.ok());
  size_t pos = bytes->rfind("3.0");
  REQUIRE(pos != std::string::npos);
  (*bytes)[pos] = '4';
  REQUIRE(fs.WriteFileAtomic(frd, *bytes).ok());

  LoadStats warm;
  RecordingReporter reporter;
  auto idx = LoadSubdir("http://127.0.0.1:1/ch", "noarch", http, fs, cache, reporter, &warm);
  REQUIRE(idx.ok());
  CHECK(warm.from_parsed_cache);
  CHECK((*idx)->Records("aaa", reporter).size() == 1);
  CHECK(reporter.warnings.empty());
  http.log.clear();
  auto zzz = (*idx)->Records("zzz", reporter);
  REQUIRE(zzz.size() == 1);
  CHECK(zzz[0].version.ToString() == "3.0");  // from the re-read repodata, not the damaged cache
  REQUIRE(reporter.warnings.size() == 1);
  CHECK(reporter.warnings[0] ==
        "repodata cache for channel http://127.0.0.1:1/ch, file noarch/repodata.json.zst is "
        "damaged (records of 'zzz' fail their checksum); re-reading the repodata");
  CHECK(http.log == std::vector<std::string>{"repodata.json.zst -> 200"});
  // The rewritten cache is good.
  LoadStats next;
  idx = LoadSubdir("http://127.0.0.1:1/ch", "noarch", http, fs, cache, reporter, &next);
  REQUIRE(idx.ok());
  CHECK(next.from_parsed_cache);
  CHECK((*idx)->Records("zzz", reporter).at(0).version.ToString() == "3.0");
  CHECK(reporter.warnings.size() == 1);
}

TEST_CASE("channel loader: a truncated .zst download is an error and leaves no cache file") {
  PosixFileSystem fs;
  ConditionalHttp http;
  std::string z = Compress("{\"packages\":{" + Rec("aaa", "1.0") + "}}", true);
  http.files["http://127.0.0.1:1/ch/noarch/repodata.json.zst"] = {z.substr(0, z.size() - 4),
                                                                  "\"t\""};
  std::string cache = TempDir();
  auto idx = LoadSubdir("http://127.0.0.1:1/ch", "noarch", http, fs, cache, NullReporter());
  REQUIRE_FALSE(idx.ok());
  CHECK(idx.status().message() ==
        "channel http://127.0.0.1:1/ch, file noarch/repodata.json.zst: truncated zstd data");
  CHECK(http.streamed == 1);
  CHECK(CacheFiles(fs, cache).empty());
  // Corrupt data fails while streaming.
  http.files["http://127.0.0.1:1/ch/noarch/repodata.json.zst"] = {"this is not zstd", "\"c\""};
  idx = LoadSubdir("http://127.0.0.1:1/ch", "noarch", http, fs, cache, NullReporter());
  REQUIRE_FALSE(idx.ok());
  CHECK(idx.status().message().find("corrupt zstd data") != std::string::npos);
  CHECK(CacheFiles(fs, cache).empty());
}

TEST_CASE("channel loader: a big subdir's cache (index made in two parallel halves) reads back") {
  PosixFileSystem fs;
  ConditionalHttp http;
  std::string body = "{\"packages.conda\":{";
  for (int n = 0; n < 3000; ++n) {
    for (int v = 0; v < 8; ++v) {
      if (n + v > 0) body += ",";
      body += Rec("pkg" + std::to_string(n), std::to_string(v) + ".0");
    }
  }
  body += "}}";
  http.files["http://127.0.0.1:1/big/linux-64/repodata.json"] = {body, "\"b\""};
  std::string cache = TempDir();
  auto cold = LoadSubdir("http://127.0.0.1:1/big", "linux-64", http, fs, cache, NullReporter());
  REQUIRE(cold.ok());
  CHECK((*cold)->record_count() == 24000);
  LoadStats stats;
  RecordingReporter reporter;
  auto warm =
      LoadSubdir("http://127.0.0.1:1/big", "linux-64", http, fs, cache, reporter, &stats);
  REQUIRE(warm.ok());
  CHECK(stats.from_parsed_cache);
  CHECK((*warm)->record_count() == 24000);
  CHECK((*warm)->name_count() == 3000);
  for (std::string name : {"pkg0", "pkg1499", "pkg1500", "pkg2999"}) {
    auto a = (*cold)->Records(name, reporter);
    auto b = (*warm)->Records(name, reporter);
    REQUIRE(b.size() == 8);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].fn == b[i].fn);
  }
  CHECK(reporter.warnings.empty());
}

TEST_CASE("channel loader: a cache that cannot be written is a warning, not a failure") {
  PosixFileSystem fs;
  ConditionalHttp http;
  std::string body = "{\"packages\":{";
  for (int v = 0; v < 200; ++v) body += (v ? "," : "") + Rec("lib", std::to_string(v) + ".0");
  body += "}}";
  http.files["http://127.0.0.1:1/ch/linux-64/repodata.json"] = {body, "\"w\""};
  SECTION("the cache directory cannot be created") {
    RecordingReporter reporter;
    auto idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, "/dev/null/cache",
                          reporter);
    REQUIRE(idx.ok());
    CHECK((*idx)->Records("lib", reporter).size() == 200);
    REQUIRE_FALSE(reporter.warnings.empty());
    CHECK(reporter.warnings[0].rfind("could not write the repodata cache: ", 0) == 0);
  }
  SECTION("the disk fills up while the body streams into the cache file") {
    std::string cache = TempDir();
    struct rlimit old_limit;
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    auto old_handler = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 4096;  // writes past 4 KiB fail with EFBIG
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    RecordingReporter reporter;
    auto idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, reporter);
    setrlimit(RLIMIT_FSIZE, &old_limit);
    signal(SIGXFSZ, old_handler);
    REQUIRE(idx.ok());
    CHECK((*idx)->Records("lib", reporter).size() == 200);
    REQUIRE(reporter.warnings.size() == 1);
    CHECK(reporter.warnings[0].rfind("could not write the repodata cache: write ", 0) == 0);
    CHECK(CacheFiles(fs, cache).empty());
  }
}

TEST_CASE("repodata cache: damaged files are rejected or read safely, never trusted blindly") {
  std::string body = "{\"packages\":{";
  for (int n = 0; n < 20; ++n) {
    body += (n ? "," : "") + Rec("p" + std::to_string(n % 5), std::to_string(n) + ".0");
  }
  body += "}}";
  SubdirIndex::Origin origin{"https://h/ch", "noarch", "repodata.json"};
  auto idx = SubdirIndex::FromJson(body, origin, NullReporter());
  REQUIRE(idx.ok());
  const std::string good = (*idx)->SerializeCache("k");
  REQUIRE(SubdirIndex::CacheKeyOf(good).ok());
  uint32_t seed = 12345;
  auto rnd = [&] { return seed = seed * 1103515245u + 12345u; };
  int rejected = 0, damaged_names = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good;
    int flips = 1 + static_cast<int>(rnd() % 3);
    for (int f = 0; f < flips; ++f) bad[rnd() % bad.size()] ^= static_cast<char>(1 + rnd() % 255);
    if (rnd() % 4 == 0) bad.resize(rnd() % bad.size());
    auto back = SubdirIndex::FromCache(bad, origin, "k");
    if (!back.ok()) {
      ++rejected;
      continue;
    }
    RecordingReporter reporter;
    for (int n = 0; n < 5; ++n) {
      auto recs = (*back)->Records("p" + std::to_string(n), reporter);
      // What is returned is exactly what was cached: 4 records, or none if the name's block is
      // damaged (with a warning).
      if (recs.size() != 4) {
        CHECK(recs.empty());
        ++damaged_names;
      }
    }
    if (damaged_names == 0) CHECK(reporter.warnings.empty());
  }
  CHECK(rejected > 0);
}

TEST_CASE("channel loader: temp files of a dead process's interrupted download are removed") {
  PosixFileSystem fs;
  ConditionalHttp http;
  http.files["http://127.0.0.1:1/ch/noarch/repodata.json"] = {
      "{\"packages\":{" + Rec("aaa", "1.0") + "}}", "\"d\""};
  std::string cache = TempDir();
  REQUIRE(LoadSubdir("http://127.0.0.1:1/ch", "noarch", http, fs, cache, NullReporter()).ok());
  REQUIRE(CacheFiles(fs, cache).size() == 1);
  const std::string frd = CacheFiles(fs, cache)[0];
  // pid_max is at most 2^22 on Linux: 99999999 is never a live process.
  REQUIRE(fs.WriteFileAtomic(cache + "/" + frd + ".tmp-99999999-0", "partial").ok());
  const std::string live = frd + ".tmp-" + std::to_string(getppid()) + "-0";
  REQUIRE(fs.WriteFileAtomic(cache + "/" + live, "someone else's").ok());
  http.files["http://127.0.0.1:1/ch/noarch/repodata.json"].etag = "\"e\"";  // forces a download
  REQUIRE(LoadSubdir("http://127.0.0.1:1/ch", "noarch", http, fs, cache, NullReporter()).ok());
  CHECK(CacheFiles(fs, cache) == std::vector<std::string>{frd, live});
}

TEST_CASE("channel loader: a cache finished in the background is complete once the index is gone") {
  PosixFileSystem fs;
  ConditionalHttp http;
  http.files["http://127.0.0.1:1/ch/linux-64/repodata.json"] = {
      "{\"packages\":{" + Rec("lib", "1.0") + "," + Rec("app", "2.0") + "}}", "\"bg\""};
  std::string cache = TempDir();
  {
    auto idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(),
                          nullptr, /*cache_in_background=*/true);
    REQUIRE(idx.ok());
    // Usable while its cache file is being written.
    CHECK((*idx)->Records("app", NullReporter()).at(0).version.ToString() == "2.0");
  }
  REQUIRE(CacheFiles(fs, cache).size() == 1);
  CHECK(CacheFiles(fs, cache)[0].find(".tmp-") == std::string::npos);
  LoadStats warm;
  auto idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(),
                        &warm, true);
  REQUIRE(idx.ok());
  CHECK(warm.from_parsed_cache);
  CHECK((*idx)->Records("lib", NullReporter()).at(0).version.ToString() == "1.0");
}

TEST_CASE("channel loader: without address space for indexing during the download, it indexes after") {
  // The streaming indexer maps the cache file with 64 GiB of room to grow; under a smaller
  // RLIMIT_AS that mapping fails and the body is indexed once it is complete. In a child process,
  // so the limit does not stay.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    struct rlimit limit{uint64_t{16} << 30, uint64_t{16} << 30};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(10);
    PosixFileSystem fs;
    ConditionalHttp http;
    http.files["http://127.0.0.1:1/ch/linux-64/repodata.json"] = {
        "{\"packages\":{" + Rec("lib", "1.0") + "," + Rec("app", "2.0") + "}}", "\"as\""};
    std::string cache = TempDir();
    auto idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter());
    if (!idx.ok() || http.streamed != 1) ::_exit(11);
    if ((*idx)->Records("app", NullReporter()).size() != 1) ::_exit(12);
    LoadStats warm;
    idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(), &warm);
    if (!idx.ok() || !warm.from_parsed_cache) ::_exit(13);
    if ((*idx)->Records("lib", NullReporter()).size() != 1) ::_exit(14);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("channel loader: a file:// repodata rewritten within the same second is not served stale") {
  PosixFileSystem fs;
  ConditionalHttp http;  // not used by file:// channels
  const std::string ch = TempDir();
  const std::string cache = TempDir();
  const std::string file = ch + "/noarch/repodata.json";
  REQUIRE(fs.CreateDirs(ch + "/noarch").ok());
  // Same size, same second, other content: only the nanoseconds of the mtime tell them apart.
  auto write = [&](const std::string& version, long nsec) {
    REQUIRE(fs.WriteFileAtomic(file, "{\"packages\":{" + Rec("lib", version) + "}}").ok());
    struct timespec times[2] = {{1700000000, nsec}, {1700000000, nsec}};
    REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
  };
  write("1.0", 100);
  auto idx = LoadSubdir("file://" + ch, "noarch", http, fs, cache, NullReporter());
  REQUIRE(idx.ok());
  CHECK((*idx)->Records("lib", NullReporter()).at(0).version.ToString() == "1.0");
  write("2.0", 200);
  LoadStats stats;
  idx = LoadSubdir("file://" + ch, "noarch", http, fs, cache, NullReporter(), &stats);
  REQUIRE(idx.ok());
  CHECK_FALSE(stats.from_parsed_cache);
  CHECK((*idx)->Records("lib", NullReporter()).at(0).version.ToString() == "2.0");
  // Unchanged: from the cache.
  idx = LoadSubdir("file://" + ch, "noarch", http, fs, cache, NullReporter(), &stats);
  REQUIRE(idx.ok());
  CHECK(stats.from_parsed_cache);
}

TEST_CASE("channel loader: a download that restarts midway is indexed from the new bytes only") {
  PosixFileSystem fs;
  ConditionalHttp http;
  // Big enough that the indexing thread is scanning when the transfer breaks off.
  std::string body = "{\"packages\":{";
  for (int n = 0; n < 20000; ++n) {
    if (n > 0) body += ",";
    body += Rec("pkg" + std::to_string(n % 500), std::to_string(n) + ".0");
  }
  body += "}}";
  http.files["http://127.0.0.1:1/ch/linux-64/repodata.json"] = {body, "\"r\""};
  http.break_after = body.size() * 2 / 3;
  std::string cache = TempDir();
  auto idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter());
  REQUIRE(idx.ok());
  CHECK((*idx)->record_count() == 20000);
  CHECK((*idx)->Records("pkg7", NullReporter()).size() == 40);
  LoadStats warm;
  idx = LoadSubdir("http://127.0.0.1:1/ch", "linux-64", http, fs, cache, NullReporter(), &warm);
  REQUIRE(idx.ok());
  CHECK(warm.from_parsed_cache);
  CHECK((*idx)->record_count() == 20000);
}
