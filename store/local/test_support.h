// Test helpers for the store unit tests (header-only; included only by *_test.cc files).
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "src/digest.h"
#include "src/lock/lock.h"
#include "store/remote/object_store.h"

namespace ferry::store::testing {

// A temp directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-store-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

inline std::string ReadAll(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// An environment of `count` fake packages whose files are written under `dir`; URLs are file://.
inline LockedEnvironment MakeEnv(const std::string& dir, int count, uint64_t seed,
                                 size_t size = 4096) {
  LockedEnvironment env;
  env.platform = "linux-64";
  env.requirements.platform = "linux-64";
  env.requirements.conda = {"pkg-seed-" + std::to_string(seed)};
  env.req_id = ComputeReqId(env.requirements);
  for (int i = 0; i < count; ++i) {
    LockedPackage p;
    p.kind = PackageKind::kConda;
    p.name = "pkg" + std::to_string(seed) + "-" + std::to_string(i);
    p.version = "1.0";
    p.build = "0";
    p.subdir = "linux-64";
    p.filename = p.name + "-1.0-0.conda";
    std::string data = RandomBytes(size + static_cast<size_t>(i), seed * 1000 + i);
    std::string path = dir + "/" + p.filename;
    WriteFile(path, data);
    p.sha256 = Sha256Hex(data);
    p.size = data.size();
    p.url = "file://" + path;
    env.packages.push_back(p);
  }
  SortPackages(env.packages);
  env.env_id = ComputeEnvId(env.platform, env.packages);
  return env;
}

// In-memory ObjectStore honouring the interface contract (conditional put, verified download).
class MemoryObjectStore : public ObjectStore {
 public:
  std::string Describe() const override { return "mem://test"; }
  Result<std::optional<std::string>> Get(const std::string& key) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Download(const std::string& key, const std::string& dest,
                  const std::optional<std::string>& sha) override {
    std::string data;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = objects_.find(key);
      if (it == objects_.end()) return Status::User("not found: " + key);
      data = it->second;
      downloads++;
    }
    if (sha && Sha256Hex(data) != *sha)
      return Status::Integrity(key + ": sha256 mismatch: expected " + *sha);
    WriteFile(dest, data);
    return Status::Ok();
  }
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override {
    if (opts.sha256 && Sha256Hex(data) != *opts.sha256)
      return Status::Integrity(key + ": body does not match sha256");
    std::lock_guard<std::mutex> g(mu_);
    if (opts.if_none_match && objects_.count(key))
      return Status::User(key + " already exists");
    objects_[key] = std::string(data);
    puts++;
    return Status::Ok();
  }
  Status PutFile(const std::string& key, const std::string& path,
                 const PutOptions& opts) override {
    return Put(key, ReadAll(path), opts);
  }
  Result<std::optional<uint64_t>> Head(const std::string& key) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return std::optional<uint64_t>();
    return std::optional<uint64_t>(it->second.size());
  }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::lock_guard<std::mutex> g(mu_);
    lists++;
    std::vector<ObjectInfo> out;
    for (const auto& [k, v] : objects_)
      if (k.rfind(prefix, 0) == 0) out.push_back({k, v.size()});
    return out;
  }

  std::map<std::string, std::string> objects_;
  std::mutex mu_;
  std::atomic<int> downloads{0}, puts{0}, lists{0};
};

}  // namespace ferry::store::testing
