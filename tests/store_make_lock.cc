// Test/bench helper: writes COUNT package files of pseudo-random bytes into PKG_DIR and a real
// ferry.lock (lock_version 1, via src/lock/lock_file.h) with one linux-64 environment for step
// STEP whose packages point at them with file:// URLs (or URL_PREFIX/<file> if given).
//   store_make_lock OUT_LOCK PKG_DIR COUNT SIZE SEED [STEP] [URL_PREFIX]
// Prints the env-id on stdout.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>

#include "src/digest.h"
#include "src/lock/lock.h"
#include "src/lock/lock_file.h"

using namespace ferry;

static bool WriteAll(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return ::close(fd) == 0;
}

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: store_make_lock OUT_LOCK PKG_DIR COUNT SIZE SEED [STEP] [URL_PREFIX]\n";
    return 2;
  }
  std::string out = argv[1], dir = std::filesystem::absolute(argv[2]).string();
  int count = std::atoi(argv[3]);
  size_t size = static_cast<size_t>(std::atoll(argv[4]));
  uint64_t seed = std::strtoull(argv[5], nullptr, 10);
  std::string step = argc > 6 ? argv[6] : "start";
  std::string url_prefix = argc > 7 ? argv[7] : "";
  std::filesystem::create_directories(dir);

  LockedEnvironment env;
  env.platform = "linux-64";
  env.steps = {step};
  env.requirements.platform = "linux-64";
  env.requirements.channels = {"file://" + dir};
  env.requirements.conda = {"bench-seed-" + std::to_string(seed)};
  env.req_id = ComputeReqId(env.requirements);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < count; ++i) {
    std::string data(size + static_cast<size_t>(i), '\0');
    for (size_t k = 0; k + 8 <= data.size(); k += 8) {
      uint64_t v = rng();
      std::memcpy(&data[k], &v, 8);
    }
    LockedPackage p;
    p.kind = PackageKind::kConda;
    char name[64];
    std::snprintf(name, sizeof name, "pkg%llu-%04d", static_cast<unsigned long long>(seed), i);
    p.name = name;
    p.version = "1.0";
    p.build = "h0_0";
    p.subdir = "linux-64";
    p.filename = p.name + "-1.0-h0_0.conda";
    p.channel = "file://" + dir;
    std::string path = dir + "/" + p.filename;
    if (!WriteAll(path, data)) {
      std::cerr << "cannot write " << path << "\n";
      return 1;
    }
    p.url = url_prefix.empty() ? "file://" + path : url_prefix + "/" + p.filename;
    p.sha256 = Sha256Hex(data);
    p.md5 = Md5Hex(data);
    p.size = data.size();
    env.packages.push_back(std::move(p));
  }
  SortPackages(env.packages);
  env.env_id = ComputeEnvId(env.platform, env.packages);

  lock::LockFile lf;
  lock::LockStep ls;
  ls.name = step;
  ls.kind = lock::StepKind::kEnvironment;
  ls.req_ids[env.platform] = env.req_id;
  lf.steps.push_back(ls);
  lf.environments.push_back(env);
  std::string text = lock::WriteLock(lf);
  if (!lock::ParseLock(text, out).ok()) {
    std::cerr << "generated lock does not parse: " << lock::ParseLock(text, out).status().message()
              << "\n";
    return 1;
  }
  if (!WriteAll(out, text)) {
    std::cerr << "cannot write " << out << "\n";
    return 1;
  }
  std::cout << env.env_id << std::endl;
  return 0;
}
