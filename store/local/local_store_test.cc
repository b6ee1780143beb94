#include "store/local/local_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "src/digest.h"
#include "store/local/test_support.h"
#include "store/manifest.h"
#include "store/sync.h"

using namespace ferry;
using namespace ferry::store;
using namespace ferry::store::testing;

namespace {

std::unique_ptr<LocalStore> MustOpen(const std::string& root) {
  auto s = LocalStore::Open(root);
  REQUIRE(s.ok());
  return std::move(s).value();
}

int UserVersion(const std::string& db_path) {
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  int v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

size_t CountLines(const std::string& path) {
  std::string s = ReadAll(path);
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

// Remote that logs every download to a file (visible across processes) and is slow, so that
// concurrent fetchers really overlap.
class LoggingStore : public MemoryObjectStore {
 public:
  explicit LoggingStore(std::string log) : log_(std::move(log)) {}
  Status Download(const std::string& key, const std::string& dest,
                  const std::optional<std::string>& sha) override {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::string line = key + "\n";
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return MemoryObjectStore::Download(key, dest, sha);
  }

 private:
  std::string log_;
};

}  // namespace

TEST_CASE("LocalStore: open creates the layout and a versioned WAL index", "[local_store]") {
  TempDir t;
  std::string root = t.Sub("home");
  { auto s = MustOpen(root); }
  for (const char* d : {"blobs/sha256", "pkgs", "envs", "manifests", "locks", "tmp"})
    CHECK(std::filesystem::is_directory(root + "/" + d));
  CHECK(UserVersion(root + "/index.sqlite") == kLocalStoreSchemaVersion);
  // Re-opening is fine; a newer schema is refused.
  { auto s = MustOpen(root); }
  sqlite3* db = nullptr;
  sqlite3_open((root + "/index.sqlite").c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto again = LocalStore::Open(root);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().message().find("newer") != std::string::npos);
}

TEST_CASE("LocalStore: a garbage index is an integrity error", "[local_store]") {
  TempDir t;
  WriteFile(t.Sub("home/index.sqlite"), std::string(8192, 'x'));
  auto s = LocalStore::Open(t.Sub("home"));
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Code::kIntegrity);
}

TEST_CASE("LocalStore: AddBlobFromFile verifies digest and size", "[local_store]") {
  TempDir t;
  auto store = MustOpen(t.Sub("home"));
  std::string data = RandomBytes(10000, 1);
  std::string sha = Sha256Hex(data);
  WriteFile(t.Sub("in.bin"), data);

  CHECK_FALSE(store->HasBlob(sha));
  // Wrong digest: integrity error, nothing published, source untouched (not under tmp/).
  std::string wrong = Sha256Hex("other");
  Status s = store->AddBlobFromFile(t.Sub("in.bin"), wrong, data.size());
  CHECK(s.code() == Code::kIntegrity);
  CHECK(s.message().find("sha256 mismatch") != std::string::npos);
  CHECK_FALSE(store->HasBlob(wrong));
  CHECK_FALSE(std::filesystem::exists(store->BlobPath(wrong)));
  // Wrong size.
  s = store->AddBlobFromFile(t.Sub("in.bin"), sha, data.size() + 1);
  CHECK(s.code() == Code::kIntegrity);
  CHECK_FALSE(store->HasBlob(sha));
  // Right.
  REQUIRE(store->AddBlobFromFile(t.Sub("in.bin"), sha, data.size()).ok());
  CHECK(store->HasBlob(sha));
  CHECK(ReadAll(store->BlobPath(sha)) == data);
  CHECK(store->BlobPath(sha) == t.Sub("home") + "/blobs/sha256/" + sha.substr(0, 2) + "/" + sha);
  CHECK(std::filesystem::exists(t.Sub("in.bin")));
  // Idempotent.
  REQUIRE(store->AddBlobFromFile(t.Sub("in.bin"), sha, data.size()).ok());
  // A temp file under tmp/ is consumed (renamed, not copied).
  std::string data2 = RandomBytes(5000, 2);
  std::string tmp = store->NewTempPath("x");
  WriteFile(tmp, data2);
  REQUIRE(store->AddBlobFromFile(tmp, Sha256Hex(data2), data2.size()).ok());
  CHECK_FALSE(std::filesystem::exists(tmp));
  auto st = store->Stats();
  REQUIRE(st.ok());
  CHECK(st->blob_count == 2);
  CHECK(st->blob_bytes == data.size() + data2.size());
  // A corrupt temp file is removed, not published.
  std::string tmp3 = store->NewTempPath("y");
  WriteFile(tmp3, data2 + "z");
  CHECK(store->AddBlobFromFile(tmp3, Sha256Hex(data2 + "q"), data2.size() + 1).code() ==
        Code::kIntegrity);
  CHECK_FALSE(std::filesystem::exists(tmp3));
}

TEST_CASE("LocalStore: only verified files are trusted after a restart", "[local_store]") {
  TempDir t;
  std::string root = t.Sub("home");
  std::string good = RandomBytes(3000, 3), bad = RandomBytes(3000, 4);
  std::string good_sha = Sha256Hex(good), bad_sha = Sha256Hex(bad);
  std::string gone_sha;
  {
    auto store = MustOpen(root);
    std::string data = RandomBytes(100, 5);
    gone_sha = Sha256Hex(data);
    WriteFile(t.Sub("g"), data);
    REQUIRE(store->AddBlobFromFile(t.Sub("g"), gone_sha, data.size()).ok());
    // Files at final paths without an index row (as after a crash between rename and insert).
    WriteFile(store->BlobPath(good_sha), good);
    WriteFile(store->BlobPath(bad_sha), good);  // wrong content for its name
    std::filesystem::remove(store->BlobPath(gone_sha));
    // A temp file from a dead process.
    WriteFile(root + "/tmp/pull-abc.999999.1", "partial");
  }
  auto store = MustOpen(root);
  CHECK_FALSE(std::filesystem::exists(root + "/tmp/pull-abc.999999.1"));
  CHECK_FALSE(store->HasBlob(gone_sha));
  CHECK(store->HasBlob(good_sha));  // re-hashed and adopted
  CHECK_FALSE(store->HasBlob(bad_sha));
  CHECK_FALSE(std::filesystem::exists(store->BlobPath(bad_sha)));  // removed
  auto st = store->Stats();
  REQUIRE(st.ok());
  CHECK(st->blob_count == 1);
}

TEST_CASE("LocalStore: manifests and stats", "[local_store]") {
  TempDir t;
  auto store = MustOpen(t.Sub("home"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 3, 7);
  std::string text = SerializeEnvManifest(MakeEnvManifest(env));
  std::vector<std::string> refs;
  for (const auto& p : env.packages) refs.push_back(p.sha256);
  REQUIRE(store->PutManifest(env.env_id, text, refs).ok());
  auto got = store->GetManifest(env.env_id);
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK(**got == text);
  auto none = store->GetManifest(std::string(64, 'a'));
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  auto ids = store->ListManifests();
  REQUIRE(ids.ok());
  CHECK(*ids == std::vector<std::string>{env.env_id});
  REQUIRE(store->RecordHits(3, 2).ok());
  REQUIRE(store->RecordHits(1, 0).ok());
  auto st = store->Stats();
  REQUIRE(st.ok());
  CHECK(st->manifest_count == 1);
  CHECK(st->hits == 4);
  CHECK(st->misses == 2);
}

TEST_CASE("LocalStore: Verify finds corruption and repair drops it", "[local_store]") {
  TempDir t;
  auto store = MustOpen(t.Sub("home"));
  std::string a = RandomBytes(2000, 10), b = RandomBytes(2000, 11);
  WriteFile(t.Sub("a"), a);
  WriteFile(t.Sub("b"), b);
  REQUIRE(store->AddBlobFromFile(t.Sub("a"), Sha256Hex(a), a.size()).ok());
  REQUIRE(store->AddBlobFromFile(t.Sub("b"), Sha256Hex(b), b.size()).ok());
  auto clean = store->Verify(false);
  REQUIRE(clean.ok());
  CHECK(clean->empty());
  // Flip one byte of b (same size: only a re-hash notices).
  std::string path = store->BlobPath(Sha256Hex(b));
  ::chmod(path.c_str(), 0644);
  std::string b2 = b;
  b2[100] ^= 1;
  WriteFile(path, b2);
  auto bad = store->Verify(false);
  REQUIRE(bad.ok());
  REQUIRE(bad->size() == 1);
  CHECK((*bad)[0].path == path);
  CHECK((*bad)[0].reason.find("sha256 mismatch") != std::string::npos);
  auto repaired = store->Verify(true);
  REQUIRE(repaired.ok());
  CHECK(repaired->size() == 1);
  CHECK_FALSE(store->HasBlob(Sha256Hex(b)));
  CHECK(store->HasBlob(Sha256Hex(a)));
  auto after = store->Verify(false);
  REQUIRE(after.ok());
  CHECK(after->empty());
}

TEST_CASE("LocalStore: prune removes unreferenced data and honours --older-than", "[local_store]") {
  TempDir t;
  auto store = MustOpen(t.Sub("home"));
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 2, 20);
  for (const auto& p : env.packages)
    REQUIRE(store->AddBlobFromFile(p.url.substr(7), p.sha256, p.size).ok());
  std::string loose = RandomBytes(777, 21);
  WriteFile(t.Sub("loose"), loose);
  REQUIRE(store->AddBlobFromFile(t.Sub("loose"), Sha256Hex(loose), loose.size()).ok());
  EnvManifest m = MakeEnvManifest(env);
  std::vector<std::string> refs;
  for (const auto& b : m.blobs) refs.push_back(b.sha256);
  REQUIRE(store->PutManifest(env.env_id, SerializeEnvManifest(m), refs).ok());

  auto r = store->Prune(std::nullopt, {});
  REQUIRE(r.ok());
  CHECK(r->blobs_removed == 1);
  CHECK(r->envs_removed == 0);
  CHECK_FALSE(store->HasBlob(Sha256Hex(loose)));
  for (const auto& p : env.packages) CHECK(store->HasBlob(p.sha256));

  // Kept env-ids survive even a zero-age prune.
  r = store->Prune(std::chrono::seconds(-10), {env.env_id});
  REQUIRE(r.ok());
  CHECK(r->envs_removed == 0);
  for (const auto& p : env.packages) CHECK(store->HasBlob(p.sha256));
  // A recent env survives --older-than 1 day.
  r = store->Prune(std::chrono::hours(24), {});
  REQUIRE(r.ok());
  CHECK(r->envs_removed == 0);
  // "Older than -10 s" is everything.
  r = store->Prune(std::chrono::seconds(-10), {});
  REQUIRE(r.ok());
  CHECK(r->envs_removed == 1);
  CHECK(r->blobs_removed == 2);
  auto ids = store->ListManifests();
  REQUIRE(ids.ok());
  CHECK(ids->empty());
  for (const auto& p : env.packages) CHECK_FALSE(store->HasBlob(p.sha256));
}

TEST_CASE("LocalStore: concurrent adds from threads", "[local_store][concurrency]") {
  TempDir t;
  auto store = MustOpen(t.Sub("home"));
  const int kBlobs = 16, kThreads = 8;
  std::vector<std::string> datas, shas;
  for (int i = 0; i < kBlobs; ++i) {
    datas.push_back(RandomBytes(20000 + i, 100 + i));
    shas.push_back(Sha256Hex(datas.back()));
    WriteFile(t.Sub("src" + std::to_string(i)), datas.back());
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int k = 0; k < kBlobs; ++k) {
        int i = (k + th) % kBlobs;
        if (!store->AddBlobFromFile(t.Sub("src" + std::to_string(i)), shas[i], datas[i].size())
                 .ok())
          failures++;
        if (!store->HasBlob(shas[i])) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  auto st = store->Stats();
  REQUIRE(st.ok());
  CHECK(st->blob_count == kBlobs);
  auto v = store->Verify(false);
  REQUIRE(v.ok());
  CHECK(v->empty());
  CHECK(std::filesystem::is_empty(t.Sub("home/tmp")));
}

TEST_CASE("LocalStore: N processes fetching one env download once and all succeed",
          "[local_store][concurrency]") {
  TempDir t;
  std::string root = t.Sub("home");
  { auto s = MustOpen(root); }
  LockedEnvironment env = MakeEnv(t.Sub("pkgs"), 1, 30, 200000);
  LoggingStore remote(t.Sub("downloads.log"));
  {
    TempDir src;
    auto local = MustOpen(src.Sub("home"));
    for (const auto& p : env.packages)
      REQUIRE(local->AddBlobFromFile(p.url.substr(7), p.sha256, p.size).ok());
    REQUIRE(Push({env}, *local, remote, {}).ok());
  }
  const int kProcs = 6;
  int barrier[2];
  REQUIRE(::pipe(barrier) == 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; ++i) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(barrier[1]);
      char c;
      (void)!::read(barrier[0], &c, 1);  // wait until the parent releases everybody
      auto store = LocalStore::Open(root);
      if (!store.ok()) ::_exit(10);
      auto m = Pull(env.env_id, **store, &remote, {});
      if (!m.ok()) ::_exit(11);
      for (const auto& b : m->blobs)
        if (!(*store)->HasBlob(b.sha256)) ::_exit(12);
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  ::close(barrier[0]);
  ::close(barrier[1]);  // release
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(CountLines(t.Sub("downloads.log")) == 1);
  auto store = MustOpen(root);
  for (const auto& p : env.packages) CHECK(store->HasBlob(p.sha256));
}

TEST_CASE("LocalStore: N processes locking one blob add it once", "[local_store][concurrency]") {
  TempDir t;
  std::string root = t.Sub("home");
  { auto s = MustOpen(root); }
  std::string data = RandomBytes(100000, 40);
  std::string sha = Sha256Hex(data);
  WriteFile(t.Sub("src"), data);
  const int kProcs = 6;
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcs; ++i) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto store = LocalStore::Open(root);
      if (!store.ok()) ::_exit(10);
      auto lock = (*store)->LockBlob(sha);
      if (!lock.ok()) ::_exit(11);
      if (!(*store)->HasBlob(sha)) {
        int fd = ::open(t.Sub("adds.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        (void)!::write(fd, "x\n", 2);
        ::close(fd);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!(*store)->AddBlobFromFile(t.Sub("src"), sha, data.size()).ok()) ::_exit(12);
      }
      ::_exit((*store)->HasBlob(sha) ? 0 : 13);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(CountLines(t.Sub("adds.log")) == 1);
}

TEST_CASE("LocalStore: SIGKILL at random points leaves only verified entries",
          "[local_store][crash]") {
  TempDir t;
  std::string root = t.Sub("home");
  { auto s = MustOpen(root); }
  // A remote holding a few environments to pull.
  MemoryObjectStore remote;
  std::vector<LockedEnvironment> envs;
  {
    TempDir src;
    auto local = MustOpen(src.Sub("home"));
    for (int e = 0; e < 4; ++e) {
      envs.push_back(MakeEnv(t.Sub("pkgs"), 6, 50 + e, 300000));
      for (const auto& p : envs.back().packages)
        REQUIRE(local->AddBlobFromFile(p.url.substr(7), p.sha256, p.size).ok());
    }
    REQUIRE(Push(envs, *local, remote, {}).ok());
  }
  std::mt19937 rng(12345);
  const int kRounds = 25;
  int killed = 0;
  for (int round = 0; round < kRounds; ++round) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto store = LocalStore::Open(root);
      if (!store.ok()) ::_exit(10);
      for (int k = 0; k < 50; ++k) {
        // Direct adds of new blobs and pulls of whole environments, interleaved.
        std::string data = RandomBytes(200000, 1000 + round * 100 + k);
        std::string src = t.Sub("add-" + std::to_string(round) + "-" + std::to_string(k));
        WriteFile(src, data);
        (void)(*store)->AddBlobFromFile(src, Sha256Hex(data), data.size());
        const auto& env = envs[(round + k) % envs.size()];
        (void)Pull(env.env_id, **store, &remote, {});
      }
      ::_exit(0);
    }
    std::uniform_int_distribution<int> delay(0, 60);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
    if (::kill(pid, SIGKILL) == 0) killed++;
    int status = 0;
    ::waitpid(pid, &status, 0);
    // Between rounds, remove some blobs so that pulls have work to do again.
    if (round % 3 == 2) {
      auto store = MustOpen(root);
      auto pr = store->Prune(std::chrono::seconds(-10), {});
      REQUIRE(pr.ok());
    }
  }
  CHECK(killed > 0);
  auto store = MustOpen(root);
  // Temp files of the killed processes are gone.
  CHECK(std::filesystem::is_empty(root + "/tmp"));
  // Every file under blobs/ matches its name (cache verify is clean) ...
  auto v = store->Verify(false);
  REQUIRE(v.ok());
  for (const auto& c : *v) FAIL_CHECK(c.path << ": " << c.reason);
  // ... and every manifest that exists is complete and valid.
  auto ids = store->ListManifests();
  REQUIRE(ids.ok());
  for (const auto& id : *ids) {
    auto text = store->GetManifest(id);
    REQUIRE(text.ok());
    REQUIRE(text->has_value());
    auto m = ParseEnvManifest(**text, id, id);
    REQUIRE(m.ok());
    for (const auto& b : m->blobs) CHECK(store->HasBlob(b.sha256));
  }
  // And the store still works: pull everything.
  for (const auto& env : envs) CHECK(Pull(env.env_id, *store, &remote, {}).ok());
  auto v2 = store->Verify(false);
  REQUIRE(v2.ok());
  CHECK(v2->empty());
}

#include <archive.h>
#include <archive_entry.h>

namespace {

// A minimal wheel (zip) with two files, written with libarchive.
std::string MakeWheel(const std::string& path) {
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_filename(a, path.c_str());
  for (auto [name, body] : {std::pair<std::string, std::string>{"demo/__init__.py", "X = 1\n"},
                            {"demo-1.0.dist-info/METADATA", "Name: demo\nVersion: 1.0\n"}}) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(body.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, body.data(), body.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return ReadAll(path);
}

}  // namespace

TEST_CASE("LocalStore: packages are extracted once, marker last", "[local_store][extract]") {
  TempDir t;
  auto store = MustOpen(t.Sub("home"));
  std::string data = MakeWheel(t.Sub("demo-1.0-py3-none-any.whl"));
  std::string sha = Sha256Hex(data);
  const std::string fn = "demo-1.0-py3-none-any.whl";
  // Not in the store yet.
  CHECK(store->EnsurePackageExtracted(sha, fn).status().code() == Code::kUser);
  REQUIRE(store->AddBlobFromFile(t.Sub(fn), sha, data.size()).ok());
  // A leftover directory without marker (a killed extraction) is replaced.
  WriteFile(store->PackageDir(sha) + "/garbage", "partial");
  CHECK_FALSE(store->IsPackageExtracted(sha));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      auto r = store->EnsurePackageExtracted(sha, fn);
      if (!r.ok() || *r != store->PackageDir(sha)) failures++;
    });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(store->IsPackageExtracted(sha));
  CHECK(ReadAll(store->PackageDir(sha) + "/demo/__init__.py") == "X = 1\n");
  CHECK_FALSE(std::filesystem::exists(store->PackageDir(sha) + "/garbage"));
  auto st = store->Stats();
  REQUIRE(st.ok());
  CHECK(st->package_count == 1);
  CHECK(std::filesystem::is_empty(t.Sub("home/tmp")));
  // Unreferenced: prune removes the extracted package and the blob.
  auto pr = store->Prune(std::nullopt, {});
  REQUIRE(pr.ok());
  CHECK(pr->packages_removed == 1);
  CHECK(pr->blobs_removed == 1);
  CHECK_FALSE(store->IsPackageExtracted(sha));
  CHECK_FALSE(std::filesystem::exists(store->PackageDir(sha)));
}

TEST_CASE("LocalStore: temp files of a live owner survive other opens", "[local_store]") {
  TempDir t;
  std::string root = t.Sub("home");
  auto a = MustOpen(root);
  std::string tmp = a->NewTempPath("download");
  WriteFile(tmp, "in progress");
  {
    auto b = MustOpen(root);  // e.g. another process (or container) opening the same store
    CHECK(std::filesystem::exists(tmp));
    auto pr = b->Prune(std::nullopt, {});
    REQUIRE(pr.ok());
    CHECK(std::filesystem::exists(tmp));
  }
  a.reset();  // the owner goes away without cleaning up
  auto c = MustOpen(root);
  CHECK_FALSE(std::filesystem::exists(tmp));
}
