// http_fetch: downloads URLs with ferry's CurlHttpClient and reports throughput (used by
// bench/http_parallel_bench.sh; not a test).
//
//   http_fetch [--parallel N] [--sink] [--out DIR] URL...     (or --urls FILE, one URL a line)
//
// --sink streams bodies through a counting sink instead of buffering them; --out writes each
// body to DIR/<basename>. Prints one JSON line: {"files", "bytes", "seconds", "mb_per_s",
// "failures", "max_attempts"}. Exit status 1 if any request failed or was not 200/206.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "src/platform/curl_http.h"
#include "src/platform/posix_fs.h"

int main(int argc, char** argv) {
  int parallel = 16;
  bool sink = false;
  std::string out_dir;
  std::vector<std::string> urls;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--parallel" && i + 1 < argc) {
      parallel = std::stoi(argv[++i]);
    } else if (a == "--sink") {
      sink = true;
    } else if (a == "--out" && i + 1 < argc) {
      out_dir = argv[++i];
    } else if (a == "--urls" && i + 1 < argc) {
      std::ifstream in(argv[++i]);
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) urls.push_back(line);
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "usage: http_fetch [--parallel N] [--sink] [--out DIR] [--urls FILE] URL...\n";
      return 2;
    } else {
      urls.push_back(a);
    }
  }
  std::vector<uint64_t> streamed(urls.size(), 0);
  std::vector<ferry::HttpRequest> reqs(urls.size());
  for (size_t i = 0; i < urls.size(); ++i) {
    reqs[i].url = urls[i];
    if (sink) {
      reqs[i].sink = [&streamed, i](std::string_view c) {
        streamed[i] += c.size();
        return ferry::Status::Ok();
      };
      reqs[i].on_restart = [&streamed, i] {
        streamed[i] = 0;
        return ferry::Status::Ok();
      };
    }
  }
  ferry::CurlHttpClient client;
  auto t0 = std::chrono::steady_clock::now();
  auto results = client.SendAll(reqs, parallel);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t bytes = 0;
  int failures = 0, max_attempts = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (!r.ok()) {
      std::cerr << r.status().message() << "\n";
      ++failures;
      continue;
    }
    if (r->status != 200 && r->status != 206) {
      std::cerr << "GET " << ferry::RedactUrl(urls[i]) << ": HTTP " << r->status << "\n";
      ++failures;
    }
    max_attempts = std::max(max_attempts, r->attempts);
    bytes += sink ? streamed[i] : r->body.size();
    if (!out_dir.empty() && !sink) {
      std::string name = urls[i].substr(urls[i].find_last_of('/') + 1);
      auto st = ferry::PosixWriteFileAtomic(out_dir + "/" + name, r->body);
      if (!st.ok()) {
        std::cerr << st.message() << "\n";
        ++failures;
      }
    }
  }
  std::printf(
      "{\"files\": %zu, \"bytes\": %llu, \"seconds\": %.4f, \"mb_per_s\": %.1f, "
      "\"failures\": %d, \"max_attempts\": %d}\n",
      urls.size(), static_cast<unsigned long long>(bytes), secs,
      secs > 0 ? static_cast<double>(bytes) / 1e6 / secs : 0.0, failures, max_attempts);
  return failures == 0 ? 0 : 1;
}
