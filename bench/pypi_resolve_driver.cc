// pypi_resolve_driver: ResolvePypi end to end with the real CurlHttpClient, for bench/pypi_bench.sh
// while (or if) `ferry resolve --pypi` is not available. Mirrors what the CLI does: the HTTP cache
// under HOME/http-cache (index pages revalidated with ETag) and wheel metadata under
// HOME/pypi-metadata.
//   pypi_resolve_driver INDEX_URL HOME PYTHON PLATFORM REQ...
// Prints one "name version" line per picked package (sorted by name) on stdout and timings +
// request counts on stderr: total wall time, HTTP rounds (Send/SendAll calls, each one a
// round trip the resolver waits for), requests and the wall time spent inside them, so that
// "time in HTTP" and "time in ferry" (parsing, solving, cache reads) can be told apart.
// Exit 0 solved, 1 unsolvable (explanation on stderr), 4/other on error.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "resolver/pypi/pypi_resolver.h"
#include "src/platform/curl_http.h"
#include "src/platform/posix_fs.h"

using namespace ferry;
using namespace ferry::resolver::pypi;

namespace {

using Clock = std::chrono::steady_clock;

// Forwards to another client and measures each call.
class TimingHttpClient : public HttpClient {
 public:
  explicit TimingHttpClient(HttpClient& inner) : inner_(inner) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    auto t = Clock::now();
    auto r = inner_.Send(request);
    Account(t, 1);
    return r;
  }
  std::vector<Result<HttpResponse>> SendAll(const std::vector<HttpRequest>& requests,
                                            int parallelism) override {
    auto t = Clock::now();
    auto r = inner_.SendAll(requests, parallelism);
    Account(t, requests.size());
    return r;
  }
  int rounds = 0;
  size_t requests = 0, largest_round = 0;
  double seconds = 0;

 private:
  void Account(Clock::time_point start, size_t n) {
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
    ++rounds;
    requests += n;
    largest_round = std::max(largest_round, n);
  }
  HttpClient& inner_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: " << argv[0] << " INDEX_URL HOME PYTHON PLATFORM REQ...\n";
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::string home = argv[2];
  PosixFileSystem fs;
  CurlHttpOptions options;
  options.cache_dir = home + "/http-cache";
  CurlHttpClient curl(options);
  TimingHttpClient http(curl);
  IndexClient index(http, fs, NullReporter(), IndexOptions{{argv[1]}, false});
  WheelMetadataFetcher metadata(http, fs, home + "/pypi-metadata");
  PypiRequest request;
  request.python_version = argv[3];
  request.platform = argv[4];
  for (int i = 5; i < argc; ++i) request.requirements.push_back(argv[i]);
  auto r = ResolvePypi(request, index, metadata, NullReporter());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.ok()) {
    std::cerr << "error: " << r.status().message() << "\n";
    return static_cast<int>(r.status().code());
  }
  if (!r->solved) {
    std::cerr << "unsolvable:\n" << r->explanation << "\n";
    return 1;
  }
  for (const auto& p : r->packages) std::cout << p.name << " " << p.version << "\n";
  std::fprintf(stderr,
               "driver: %zu packages, %.3f s wall: %.3f s in %d HTTP rounds (%zu requests, "
               "largest round %zu; %d index, %d metadata), %.3f s outside HTTP\n",
               r->packages.size(), seconds, http.seconds, http.rounds, http.requests,
               http.largest_round, index.requests(), metadata.http_requests(),
               seconds - http.seconds);
  return 0;
}
