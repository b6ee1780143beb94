#include "store/sync.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "src/digest.h"
#include "store/local/test_support.h"

using namespace ferry;
using namespace ferry::store;
using namespace ferry::store::testing;

namespace {

std::unique_ptr<LocalStore> MustOpen(const std::string& root) {
  auto s = LocalStore::Open(root);
  REQUIRE(s.ok());
  return std::move(s).value();
}

void AddAll(LocalStore& store, const LockedEnvironment& env) {
  for (const auto& p : env.packages)
    REQUIRE(store.AddBlobFromFile(p.url.substr(7), p.sha256, p.size).ok());
}

// An HttpClient that serves nothing: FetchBlobsFromUrls with file:// URLs must not use it.
class NoHttp : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& r) override {
    return Status::Network("no network in this test: " + r.url);
  }
};

// Serves fixed bodies by URL through the sink, like a real client.
class MapHttp : public HttpClient {
 public:
  std::map<std::string, std::string> bodies;
  Result<HttpResponse> Send(const HttpRequest& r) override {
    HttpResponse resp;
    auto it = bodies.find(r.url);
    if (it == bodies.end()) {
      resp.status = 404;
      return resp;
    }
    resp.status = 200;
    if (r.sink) {
      FERRY_RETURN_IF_ERROR(r.sink(it->second));
    } else {
      resp.body = it->second;
    }
    return resp;
  }
};

}  // namespace

TEST_CASE("Sync: push then pull into a fresh store", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 5, 1);
  AddAll(*a, env);
  MemoryObjectStore remote;
  auto pushed = Push({env}, *a, remote, {});
  REQUIRE(pushed.ok());
  CHECK(pushed->blobs_total == 5);
  CHECK(pushed->blobs_transferred == 5);
  CHECK(pushed->manifests_written == 1);
  CHECK(remote.lists == 1);  // one batched existence check
  // Every blob object is named by the sha256 of its content.
  int blob_objects = 0;
  for (const auto& [key, data] : remote.objects_) {
    if (key.rfind(kBlobPrefix, 0) == 0) {
      blob_objects++;
      CHECK(key == BlobKey(Sha256Hex(data)));
    }
  }
  CHECK(blob_objects == 5);
  REQUIRE(remote.objects_.count(ManifestKey(env.env_id)));
  REQUIRE(remote.objects_.count(ReqKey("linux-64", env.req_id)));
  CHECK(*ParseReqPointer(remote.objects_[ReqKey("linux-64", env.req_id)], "r") == env.env_id);

  // Idempotent: nothing uploaded again.
  auto again = Push({env}, *a, remote, {});
  REQUIRE(again.ok());
  CHECK(again->blobs_transferred == 0);
  CHECK(again->manifests_written == 0);

  auto b = MustOpen(t.Sub("b"));
  TransferStats st;
  auto m = Pull(env.env_id, *b, &remote, {}, &st);
  REQUIRE(m.ok());
  CHECK(st.blobs_transferred == 5);
  for (const auto& p : env.packages) {
    CHECK(b->HasBlob(p.sha256));
    CHECK(ReadAll(b->BlobPath(p.sha256)) == ReadAll(p.url.substr(7)));
  }
  auto local_manifest = b->GetManifest(env.env_id);
  REQUIRE(local_manifest.ok());
  CHECK(local_manifest->has_value());
  // Second pull: all hits, no downloads, works without the remote.
  int downloads = remote.downloads;
  TransferStats st2;
  REQUIRE(Pull(env.env_id, *b, nullptr, {}, &st2).ok());
  CHECK(st2.blobs_transferred == 0);
  CHECK(remote.downloads == downloads);
  auto stats = b->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->misses == 5);
  CHECK(stats->hits == 5);
}

TEST_CASE("Sync: a corrupted remote blob fails the pull and leaves nothing", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 4, 2);
  AddAll(*a, env);
  MemoryObjectStore remote;
  REQUIRE(Push({env}, *a, remote, {}).ok());
  std::string victim = BlobKey(env.packages[2].sha256);
  remote.objects_[victim][10] ^= 0x55;

  auto b = MustOpen(t.Sub("b"));
  auto m = Pull(env.env_id, *b, &remote, {});
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().code() == Code::kIntegrity);
  for (const auto& p : env.packages) CHECK_FALSE(b->HasBlob(p.sha256));
  auto manifest = b->GetManifest(env.env_id);
  REQUIRE(manifest.ok());
  CHECK_FALSE(manifest->has_value());
  CHECK(std::filesystem::is_empty(t.Sub("b/tmp")));
  auto stats = b->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->blob_count == 0);
}

TEST_CASE("Sync: pipelined pull: a corrupted remote blob is never published", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 4, 2);
  AddAll(*a, env);
  MemoryObjectStore remote;
  REQUIRE(Push({env}, *a, remote, {}).ok());
  std::string victim = BlobKey(env.packages[2].sha256);
  remote.objects_[victim][10] ^= 0x55;

  auto b = MustOpen(t.Sub("b"));
  std::mutex mu;
  std::set<std::string> announced;
  SyncOptions so;
  so.parallelism = 1;  // deterministic: blobs before the victim (in manifest order) arrive first
  so.on_blob_ready = [&](const std::string& sha) {
    std::lock_guard<std::mutex> g(mu);
    announced.insert(sha);
  };
  auto m = Pull(env.env_id, *b, &remote, so);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().code() == Code::kIntegrity);
  // The corrupt blob is neither published nor announced; every announced blob is in the store
  // and intact (published as soon as verified, so extraction can overlap downloads).
  CHECK_FALSE(b->HasBlob(env.packages[2].sha256));
  CHECK_FALSE(announced.count(env.packages[2].sha256));
  for (const auto& sha : announced) {
    CHECK(b->HasBlob(sha));
    auto actual = Sha256File(b->BlobPath(sha));
    REQUIRE(actual.ok());
    CHECK(*actual == sha);
  }
  auto manifest = b->GetManifest(env.env_id);
  REQUIRE(manifest.ok());
  CHECK_FALSE(manifest->has_value());
  CHECK(std::filesystem::is_empty(t.Sub("b/tmp")));
  auto stats = b->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->blob_count == announced.size());
}

TEST_CASE("Sync: pull announces each blob once it is published", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 6, 2);
  AddAll(*a, env);
  MemoryObjectStore remote;
  REQUIRE(Push({env}, *a, remote, {}).ok());
  auto b = MustOpen(t.Sub("b"));
  // Pre-seed one blob: it is a hit, not announced.
  REQUIRE(b->AddBlobFromFile(a->BlobPath(env.packages[0].sha256), env.packages[0].sha256,
                             env.packages[0].size)
              .ok());
  std::mutex mu;
  std::vector<std::string> announced;
  SyncOptions so;
  so.parallelism = 3;
  so.on_blob_ready = [&](const std::string& sha) {
    CHECK(b->HasBlob(sha));  // already published when announced
    std::lock_guard<std::mutex> g(mu);
    announced.push_back(sha);
  };
  TransferStats st;
  auto m = Pull(env.env_id, *b, &remote, so, &st);
  REQUIRE(m.ok());
  std::set<std::string> want;
  for (size_t i = 1; i < env.packages.size(); ++i) want.insert(env.packages[i].sha256);
  CHECK(announced.size() == want.size());
  CHECK(std::set<std::string>(announced.begin(), announced.end()) == want);
  CHECK(st.blobs_transferred == want.size());
}

TEST_CASE("Sync: a corrupt remote manifest is an integrity error", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 2, 3);
  AddAll(*a, env);
  MemoryObjectStore remote;
  REQUIRE(Push({env}, *a, remote, {}).ok());
  std::string& text = remote.objects_[ManifestKey(env.env_id)];
  text.replace(text.find(env.packages[0].sha256), 64, std::string(64, '0'));
  auto b = MustOpen(t.Sub("b"));
  auto m = Pull(env.env_id, *b, &remote, {});
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().code() == Code::kIntegrity);
  // Not found is a user error.
  auto missing = Pull(std::string(64, 'e'), *b, &remote, {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kUser);
}

TEST_CASE("Sync: push refuses a corrupt local blob and writes no manifest", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 3, 4);
  AddAll(*a, env);
  std::string path = a->BlobPath(env.packages[1].sha256);
  ::chmod(path.c_str(), 0644);
  std::string data = ReadAll(path);
  data[0] ^= 1;
  WriteFile(path, data);
  MemoryObjectStore remote;
  auto r = Push({env}, *a, remote, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kIntegrity);
  CHECK_FALSE(remote.objects_.count(ManifestKey(env.env_id)));
  CHECK_FALSE(remote.objects_.count(BlobKey(env.packages[1].sha256)));
  // Missing local blobs: user error listing them.
  auto c = MustOpen(t.Sub("c"));
  auto r2 = Push({env}, *c, remote, {});
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.status().code() == Code::kUser);
  CHECK(r2.status().message().find(env.packages[0].filename) != std::string::npos);
}

TEST_CASE("Sync: concurrent pushes of one env leave a consistent remote", "[sync]") {
  TempDir t;
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 8, 5);
  auto a = MustOpen(t.Sub("a"));
  auto b = MustOpen(t.Sub("b"));
  AddAll(*a, env);
  AddAll(*b, env);
  MemoryObjectStore remote;
  Status sa, sb;
  std::thread ta([&] { sa = Push({env}, *a, remote, {}).status(); });
  std::thread tb([&] { sb = Push({env}, *b, remote, {}).status(); });
  ta.join();
  tb.join();
  CHECK(sa.ok());
  CHECK(sb.ok());
  auto m = ParseEnvManifest(remote.objects_[ManifestKey(env.env_id)], "m", env.env_id);
  REQUIRE(m.ok());
  for (const auto& blob : m->blobs) CHECK(remote.objects_.count(BlobKey(blob.sha256)));
}

TEST_CASE("Sync: alias with mutable and immutable tags", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  LockedEnvironment e1 = MakeEnv(t.Sub("p1"), 2, 6);
  LockedEnvironment e2 = MakeEnv(t.Sub("p2"), 2, 7);
  AddAll(*a, e1);
  AddAll(*a, e2);
  MemoryObjectStore remote;
  // Not pushed yet.
  Status early = Alias(e1.env_id, *ParseEnvName("model:v1"), remote);
  CHECK(early.code() == Code::kUser);
  CHECK(early.message().find("push") != std::string::npos);
  REQUIRE(Push({e1, e2}, *a, remote, {}).ok());

  REQUIRE(Alias(e1.env_id, *ParseEnvName("model:v1"), remote).ok());
  REQUIRE(Alias(e1.env_id, *ParseEnvName("model:v1"), remote).ok());  // same env: ok
  Status moved = Alias(e2.env_id, *ParseEnvName("model:v1"), remote);
  CHECK(moved.code() == Code::kUser);
  CHECK(moved.message().find("immutable") != std::string::npos);
  CHECK(*ResolveEnvRef("model:v1", a.get(), &remote) == e1.env_id);

  REQUIRE(Alias(e1.env_id, *ParseEnvName("model"), remote).ok());
  CHECK(*ResolveEnvRef("model", a.get(), &remote) == e1.env_id);
  REQUIRE(Alias(e2.env_id, *ParseEnvName("model:latest"), remote).ok());
  CHECK(*ResolveEnvRef("model:latest", a.get(), &remote) == e2.env_id);
  REQUIRE(Alias(e2.env_id, *ParseEnvName("model:stable"), remote).ok());
  REQUIRE(Alias(e1.env_id, *ParseEnvName("model:stable"), remote).ok());

  ::setenv("FERRY_TEST_RUN", "v1", 1);
  CHECK(*ResolveEnvRef("model:@{FERRY_TEST_RUN}", a.get(), &remote) == e1.env_id);
  ::unsetenv("FERRY_TEST_RUN_UNSET");
  auto unset = ResolveEnvRef("model:@{FERRY_TEST_RUN_UNSET}", a.get(), &remote);
  REQUIRE_FALSE(unset.ok());
  CHECK(unset.status().message().find("FERRY_TEST_RUN_UNSET") != std::string::npos);
  auto nope = ResolveEnvRef("model:v9", a.get(), &remote);
  REQUIRE_FALSE(nope.ok());
  CHECK(nope.status().code() == Code::kUser);
  auto no_remote = ResolveEnvRef("model:v1", a.get(), nullptr);
  REQUIRE_FALSE(no_remote.ok());
  CHECK(no_remote.status().code() == Code::kUsage);
}

TEST_CASE("Sync: env-id prefixes", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  MemoryObjectStore remote;
  // Make two envs whose ids share a first hex digit, plus others.
  std::vector<LockedEnvironment> envs;
  for (int i = 0; i < 40 && envs.size() < 2; ++i) {
    LockedEnvironment e = MakeEnv(t.Sub("p" + std::to_string(i)), 1, 100 + i, 64);
    if (envs.empty() || envs[0].env_id[0] == e.env_id[0]) envs.push_back(e);
  }
  REQUIRE(envs.size() == 2);
  for (const auto& e : envs) AddAll(*a, e);
  REQUIRE(Push(envs, *a, remote, {}).ok());
  const std::string& id0 = envs[0].env_id;
  CHECK(*ResolveEnvRef(id0, nullptr, nullptr) == id0);
  CHECK(*ResolveEnvRef(id0.substr(0, 12), a.get(), nullptr) == id0);
  auto fresh = MustOpen(t.Sub("fresh"));
  CHECK(*ResolveEnvRef(id0.substr(0, 8), fresh.get(), &remote) == id0);  // from the listing
  auto amb = ResolveEnvRef(id0.substr(0, 1) + "0000000", fresh.get(), &remote);
  CHECK_FALSE(amb.ok());
  // A genuinely ambiguous prefix lists the candidates: find the common prefix length.
  size_t common = 0;
  while (envs[0].env_id[common] == envs[1].env_id[common]) ++common;
  if (common >= 8) {
    auto r = ResolveEnvRef(id0.substr(0, common), a.get(), &remote);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("ambiguous") != std::string::npos);
  }
  auto short_ref = ResolveEnvRef(id0.substr(0, 5), a.get(), nullptr);
  CHECK_FALSE(short_ref.ok());
}

TEST_CASE("Sync: FetchBlobsFromUrls verifies what it downloads", "[sync]") {
  TempDir t;
  auto a = MustOpen(t.Sub("a"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 3, 8);
  NoHttp nohttp;
  auto r = FetchBlobsFromUrls(env.packages, *a, nohttp, {});
  REQUIRE(r.ok());
  CHECK(r->blobs_transferred == 3);
  for (const auto& p : env.packages) CHECK(a->HasBlob(p.sha256));

  // HTTP: one good, one corrupt, one missing.
  auto b = MustOpen(t.Sub("b"));
  MapHttp http;
  std::vector<LockedPackage> pkgs = env.packages;
  for (auto& p : pkgs) p.url = "http://example.invalid/" + p.filename;
  http.bodies[pkgs[0].url] = ReadAll(env.packages[0].url.substr(7));
  std::string corrupt = ReadAll(env.packages[1].url.substr(7));
  corrupt[5] ^= 1;
  http.bodies[pkgs[1].url] = corrupt;
  auto r2 = FetchBlobsFromUrls(pkgs, *b, http, {});
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.status().code() == Code::kIntegrity);
  CHECK(r2.status().message().find(pkgs[1].filename) != std::string::npos);
  CHECK(b->HasBlob(pkgs[0].sha256));
  CHECK_FALSE(b->HasBlob(pkgs[1].sha256));
  CHECK_FALSE(b->HasBlob(pkgs[2].sha256));
  CHECK(std::filesystem::is_empty(t.Sub("b/tmp")));
  http.bodies[pkgs[1].url] = ReadAll(env.packages[1].url.substr(7));
  http.bodies[pkgs[2].url] = ReadAll(env.packages[2].url.substr(7));
  auto r3 = FetchBlobsFromUrls(pkgs, *b, http, {});
  REQUIRE(r3.ok());
  CHECK(r3->blobs_transferred == 2);
}
