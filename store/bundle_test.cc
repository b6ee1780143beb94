#include "store/bundle.h"

#include <catch2/catch.hpp>
#include <filesystem>

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

// A local store holding two complete environments (sharing nothing).
struct Fixture {
  TempDir t;
  std::unique_ptr<LocalStore> src = MustOpen(t.Sub("src"));
  LockedEnvironment e1 = MakeEnv(t.Sub("p1"), 3, 1, 50000);
  LockedEnvironment e2 = MakeEnv(t.Sub("p2"), 2, 2, 50000);
  Fixture() {
    for (const auto* e : {&e1, &e2}) {
      for (const auto& p : e->packages)
        REQUIRE(src->AddBlobFromFile(p.url.substr(7), p.sha256, p.size).ok());
      EnvManifest m = MakeEnvManifest(*e);
      std::vector<std::string> refs;
      for (const auto& b : m.blobs) refs.push_back(b.sha256);
      REQUIRE(src->PutManifest(e->env_id, SerializeEnvManifest(m), refs).ok());
    }
  }
};

void ExpectNothingImported(LocalStore& store, const Fixture& f) {
  auto ids = store.ListManifests();
  REQUIRE(ids.ok());
  CHECK(ids->empty());
  for (const auto* e : {&f.e1, &f.e2})
    for (const auto& p : e->packages) CHECK_FALSE(store.HasBlob(p.sha256));
  CHECK(std::filesystem::is_empty(store.root() + "/tmp"));
}

}  // namespace

TEST_CASE("Bundle: export/import round trip into an empty store", "[bundle]") {
  Fixture f;
  std::string out = f.t.Sub("envs.ferry");
  auto ex = ExportBundle({f.e1.env_id, f.e2.env_id, f.e1.env_id}, *f.src, out, NullReporter());
  REQUIRE(ex.ok());
  CHECK(ex->env_ids.size() == 2);
  CHECK(ex->blobs == 5);
  // Deterministic.
  std::string out2 = f.t.Sub("envs2.ferry");
  REQUIRE(ExportBundle({f.e1.env_id, f.e2.env_id}, *f.src, out2, NullReporter()).ok());
  CHECK(ReadAll(out) == ReadAll(out2));

  auto dst = MustOpen(f.t.Sub("dst"));
  auto im = ImportBundle(out, *dst, NullReporter());
  REQUIRE(im.ok());
  CHECK(im->env_ids.size() == 2);
  CHECK(im->blobs_added == 5);
  for (const auto* e : {&f.e1, &f.e2}) {
    for (const auto& p : e->packages) {
      CHECK(dst->HasBlob(p.sha256));
      CHECK(ReadAll(dst->BlobPath(p.sha256)) == ReadAll(p.url.substr(7)));
    }
    // Complete: a pull without any remote succeeds.
    CHECK(Pull(e->env_id, *dst, nullptr, {}).ok());
  }
  // Importing again is idempotent.
  auto again = ImportBundle(out, *dst, NullReporter());
  REQUIRE(again.ok());
  CHECK(again->blobs_added == 0);
}

TEST_CASE("Bundle: a flipped byte anywhere in a blob fails the import, nothing kept",
          "[bundle]") {
  Fixture f;
  std::string out = f.t.Sub("envs.ferry");
  REQUIRE(ExportBundle({f.e1.env_id, f.e2.env_id}, *f.src, out, NullReporter()).ok());
  std::string bytes = ReadAll(out);
  // Corrupt a byte inside the last blob's data (well before the tar trailer).
  std::string last_data = ReadAll(f.e2.packages.back().url.substr(7));
  size_t pos = bytes.find(last_data.substr(0, 64));
  REQUIRE(pos != std::string::npos);
  bytes[pos + 1000] ^= 0x01;
  WriteFile(f.t.Sub("bad.ferry"), bytes);
  auto dst = MustOpen(f.t.Sub("dst"));
  auto im = ImportBundle(f.t.Sub("bad.ferry"), *dst, NullReporter());
  REQUIRE_FALSE(im.ok());
  CHECK(im.status().code() == Code::kIntegrity);
  CHECK(im.status().message().find("sha256 mismatch") != std::string::npos);
  ExpectNothingImported(*dst, f);
}

TEST_CASE("Bundle: truncated, tampered-manifest and non-bundle files are rejected", "[bundle]") {
  Fixture f;
  std::string out = f.t.Sub("envs.ferry");
  REQUIRE(ExportBundle({f.e1.env_id}, *f.src, out, NullReporter()).ok());
  std::string bytes = ReadAll(out);
  auto dst = MustOpen(f.t.Sub("dst"));

  WriteFile(f.t.Sub("trunc.ferry"), bytes.substr(0, bytes.size() / 2));
  auto r1 = ImportBundle(f.t.Sub("trunc.ferry"), *dst, NullReporter());
  REQUIRE_FALSE(r1.ok());
  CHECK(r1.status().code() == Code::kIntegrity);
  ExpectNothingImported(*dst, f);

  // Replace one package digest inside the manifest by another valid hex string (same length, so
  // the tar framing stays valid): the env-id no longer matches.
  std::string tampered = bytes;
  const std::string& sha = f.e1.packages[0].sha256;
  size_t pos = tampered.find("\"sha256\": \"" + sha, tampered.find("manifests/"));
  REQUIRE(pos != std::string::npos);
  tampered.replace(pos + 11, 64, std::string(64, '0'));
  WriteFile(f.t.Sub("tampered.ferry"), tampered);
  auto r2 = ImportBundle(f.t.Sub("tampered.ferry"), *dst, NullReporter());
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.status().code() == Code::kIntegrity);
  ExpectNothingImported(*dst, f);

  WriteFile(f.t.Sub("junk.ferry"), std::string(10000, 'j'));
  auto r3 = ImportBundle(f.t.Sub("junk.ferry"), *dst, NullReporter());
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.status().code() == Code::kIntegrity);
  auto r4 = ImportBundle(f.t.Sub("missing.ferry"), *dst, NullReporter());
  REQUIRE_FALSE(r4.ok());
  CHECK(r4.status().code() == Code::kUser);
  ExpectNothingImported(*dst, f);
}

TEST_CASE("Bundle: export refuses incomplete environments", "[bundle]") {
  Fixture f;
  auto empty = MustOpen(f.t.Sub("empty"));
  auto r = ExportBundle({f.e1.env_id}, *empty, f.t.Sub("x.ferry"), NullReporter());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUser);
  CHECK_FALSE(std::filesystem::exists(f.t.Sub("x.ferry")));
}
