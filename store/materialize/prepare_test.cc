#include "store/materialize/prepare.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "store/materialize/materialize_test_util.h"

using namespace ferry;
using namespace ferry::store;
using namespace ferry::store::mattest;

namespace {

std::unique_ptr<LocalStore> OpenStore(const std::string& root) {
  auto s = LocalStore::Open(root);
  REQUIRE(s.ok());
  return std::move(s).value();
}

// A real wheel as a locked package (url = the file, sha256/size of its bytes).
LockedPackage WheelPackage(const std::string& dir, const std::string& dist) {
  std::string path =
      BuildWheel(dir, dist, "1.0", {{dist + "/__init__.py", "NAME = '" + dist + "'\n"}});
  LockedPackage p = Locked(dist, "1.0", "", dist + "-1.0-py3-none-any.whl", PackageKind::kPypi);
  auto sha = Sha256File(path);
  REQUIRE(sha.ok());
  p.sha256 = *sha;
  p.size = std::filesystem::file_size(path);
  p.url = "file://" + path;
  return p;
}

}  // namespace

TEST_CASE("ExtractPipeline extracts each blob as it is announced, before the others arrive",
          "[prepare]") {
  TempDir t;
  auto store = OpenStore(t / "home");
  std::vector<LockedPackage> pkgs;
  for (int i = 0; i < 4; ++i) pkgs.push_back(WheelPackage(t.path, "pipe" + std::to_string(i)));
  pkgs.push_back(pkgs[1]);  // a duplicate digest is extracted once

  ExtractPipeline pipeline(*store, pkgs, 2);
  for (int i = 0; i < 4; ++i) {
    // "Download" (publish) one blob, announce it, and wait until it is extracted while the
    // later blobs are not even in the store yet.
    REQUIRE(store->AddBlobFromFile(pkgs[i].url.substr(7), pkgs[i].sha256, pkgs[i].size).ok());
    pipeline.BlobReady(pkgs[i].sha256);
    pipeline.BlobReady(pkgs[i].sha256);  // repeated announcements are ignored
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!store->IsPackageExtracted(pkgs[i].sha256) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(store->IsPackageExtracted(pkgs[i].sha256));
    for (int j = i + 1; j < 4; ++j) CHECK_FALSE(store->HasBlob(pkgs[j].sha256));
  }
  REQUIRE(pipeline.Finish().ok());
  CHECK(pipeline.extracted() == 4);
  for (int i = 0; i < 4; ++i)
    CHECK(ReadFile(store->PackageDir(pkgs[i].sha256) + "/pipe" + std::to_string(i) +
                   "/__init__.py") == "NAME = 'pipe" + std::to_string(i) + "'\n");
  CHECK(std::filesystem::is_empty(t / "home/tmp"));
}

TEST_CASE("ExtractPipeline: Finish extracts blobs that were never announced", "[prepare]") {
  TempDir t;
  auto store = OpenStore(t / "home");
  std::vector<LockedPackage> pkgs = {WheelPackage(t.path, "a"), WheelPackage(t.path, "b")};
  for (const auto& p : pkgs)
    REQUIRE(store->AddBlobFromFile(p.url.substr(7), p.sha256, p.size).ok());
  // Already extracted ones are not counted.
  REQUIRE(store->EnsurePackageExtracted(pkgs[0].sha256, pkgs[0].filename).ok());
  ExtractPipeline pipeline(*store, pkgs);
  pipeline.BlobReady(std::string(64, 'f'));  // unknown digest: ignored
  REQUIRE(pipeline.Finish().ok());
  CHECK(pipeline.extracted() == 1);
  CHECK(store->IsPackageExtracted(pkgs[1].sha256));
}

TEST_CASE("ExtractPipeline: an unsafe package fails with its name and is never published",
          "[prepare]") {
  TempDir t;
  auto store = OpenStore(t / "home");
  LockedPackage good = WheelPackage(t.path, "good");
  std::string evil = BuildEvil(
      t / "evil-1.0-py3-none-any.whl", "whl",
      nlohmann::json::array(
          {{{"name", "../escape.py"}, {"type", "file"}, {"data", "x = 1\n"}, {"mode", 420}}}));
  LockedPackage bad = Locked("evil", "1.0", "", "evil-1.0-py3-none-any.whl", PackageKind::kPypi);
  auto sha = Sha256File(evil);
  REQUIRE(sha.ok());
  bad.sha256 = *sha;
  bad.size = std::filesystem::file_size(evil);
  REQUIRE(store->AddBlobFromFile(evil, bad.sha256, bad.size).ok());
  REQUIRE(store->AddBlobFromFile(good.url.substr(7), good.sha256, good.size).ok());
  ExtractPipeline pipeline(*store, {bad, good}, 1);
  pipeline.BlobReady(bad.sha256);
  Status s = pipeline.Finish();
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Code::kIntegrity);
  CHECK(s.message().find("evil-1.0-py3-none-any.whl") != std::string::npos);
  CHECK_FALSE(store->IsPackageExtracted(bad.sha256));
  CHECK_FALSE(std::filesystem::exists(store->PackageDir(bad.sha256)));
  CHECK_FALSE(std::filesystem::exists(t / "home/escape.py"));
  CHECK_FALSE(std::filesystem::exists(t / "home/pkgs/escape.py"));
}

TEST_CASE("ExtractPipeline: Cancel stops pending work; destruction joins", "[prepare]") {
  TempDir t;
  auto store = OpenStore(t / "home");
  std::vector<LockedPackage> pkgs = {WheelPackage(t.path, "c1"), WheelPackage(t.path, "c2")};
  {
    ExtractPipeline pipeline(*store, pkgs, 2);
    pipeline.Cancel();
    pipeline.BlobReady(pkgs[0].sha256);  // after Cancel: ignored
    Status s = pipeline.Finish();
    CHECK_FALSE(s.ok());  // cancelled before all packages were extracted
  }
  CHECK_FALSE(store->IsPackageExtracted(pkgs[0].sha256));
  { ExtractPipeline abandoned(*store, pkgs, 2); }  // no Finish: the destructor joins
}
