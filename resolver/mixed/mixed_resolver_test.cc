// Mixed conda + PyPI resolution against the generated fixtures (file:// channel and index; no
// network): the conda-first fast path, the joint solve when conda's python has no wheels,
// conda-provided distributions found through purls, and conflicts explained on both sides.
#include "resolver/mixed/mixed_resolver.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>

#include "resolver/mixed/joint_provider.h"
#include "src/platform/posix_fs.h"

namespace ferry::resolver::mixed {
namespace {

class NoHttp : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& r) override {
    return Status::Network("no network in this test: " + r.url);
  }
};

class InfoReporter : public Reporter {
 public:
  void Info(std::string_view m) override { infos.emplace_back(m); }
  std::vector<std::string> infos;
};

std::string FixtureDir() { return std::string(FERRY_BINARY_DIR) + "/fixtures"; }

bool HaveFixtures() {
  std::ifstream a(FixtureDir() + "/channel/noarch/repodata.json");
  std::ifstream b(FixtureDir() + "/pypi/simple/legacy-ext/index.html");
  return a.good() && b.good();
}

struct Run {
  PosixFileSystem fs;
  NoHttp http;
  InfoReporter reporter;
  Result<MixedResolution> Resolve(std::vector<std::string> conda, std::vector<std::string> pypi,
                                  MixedOptions options = {}) {
    RequirementSet req;
    req.conda = std::move(conda);
    req.pypi = std::move(pypi);
    req.channels = {"file://" + FixtureDir() + "/channel"};
    req.indexes = {"file://" + FixtureDir() + "/pypi/simple"};
    req.platform = "linux-64";
    pypi::IndexClient index(http, fs, reporter, pypi::IndexOptions{req.indexes, false});
    pypi::WheelMetadataFetcher metadata(http, fs, "");
    return ResolveMixed(req, options, http, fs, "", index, metadata, reporter);
  }
};

std::map<std::string, std::string> Picks(const MixedResolution& r, PackageKind kind) {
  std::map<std::string, std::string> out;
  for (const auto& p : r.packages)
    if (p.kind == kind) out[p.name] = p.version;
  return out;
}

}  // namespace

TEST_CASE("mixed: purl names and what a record provides") {
  specs::PackageRecord r;
  r.name = "msgpack-python";
  r.purls = {"pkg:pypi/MsgPack@1.0.7", "pkg:github/msgpack/msgpack-python"};
  CHECK(PypiPurlNames(r) == std::vector<std::string>{"msgpack"});
  CHECK(RecordProvides(r, "msgpack"));
  CHECK_FALSE(RecordProvides(r, "msgpack-python"));  // purls win over the conda name
  r.purls.clear();
  CHECK(RecordProvides(r, "msgpack-python"));  // no purls: by normalized name
  r.name = "typing_extensions";
  CHECK(RecordProvides(r, "typing-extensions"));
}

TEST_CASE("mixed: both sides agree, conda first is the answer") {
  if (!HaveFixtures()) {
    WARN("fixtures not generated; skipped");
    return;
  }
  Run run;
  // "python" first: conda takes its newest python (3.11), then a numpy build for it.
  auto r = run.Resolve({"python", "numpy"}, {"numpy-user"});
  REQUIRE(r.ok());
  INFO(r->explanation);
  REQUIRE(r->solved);
  CHECK_FALSE(r->joint);
  CHECK(r->python.rfind("3.11.", 0) == 0);
  auto conda = Picks(*r, PackageKind::kConda);
  auto pypi = Picks(*r, PackageKind::kPypi);
  CHECK(conda["numpy"] == "1.26.4");
  CHECK(pypi["numpy-user"] == "1.0.0");
  CHECK(pypi.count("numpy") == 0);  // provided by conda's numpy

  // The joint solve on its own gives the same answer.
  MixedOptions joint_only;
  joint_only.skip_fast_path = true;
  auto j = run.Resolve({"python", "numpy"}, {"numpy-user"}, joint_only);
  REQUIRE(j.ok());
  INFO(j->explanation);
  REQUIRE(j->solved);
  CHECK(j->joint);
  CHECK(j->python == r->python);
  CHECK(Picks(*j, PackageKind::kConda) == conda);
  CHECK(Picks(*j, PackageKind::kPypi) == pypi);
}

TEST_CASE("mixed: a PyPI project with only cp310 wheels makes the joint solve pick python 3.10") {
  if (!HaveFixtures()) {
    WARN("fixtures not generated; skipped");
    return;
  }
  Run run;
  auto r = run.Resolve({"python", "numpy"}, {"legacy-ext", "msgpack-user"});
  REQUIRE(r.ok());
  INFO(r->explanation);
  REQUIRE(r->solved);
  CHECK(r->joint);
  CHECK(r->python == "3.10.13");
  auto conda = Picks(*r, PackageKind::kConda);
  auto pypi = Picks(*r, PackageKind::kPypi);
  CHECK(conda["python"] == "3.10.13");
  CHECK(conda["numpy"] == "1.26.4");
  CHECK(conda["python_abi"] == "3.10");
  CHECK(pypi["legacy-ext"] == "1.0.0");
  CHECK(pypi["msgpack"] == "1.0.8");  // no conda package in the request provides it
  for (const auto& p : r->packages)
    if (p.name == "numpy") CHECK(p.build.find("py310") == 0);
  bool said = false;
  for (const auto& m : run.reporter.infos) said = said || m.find("jointly") != std::string::npos;
  CHECK(said);

  // With a conda package that provides msgpack (under another name, by purl), the joint solve
  // takes it instead of the wheel.
  auto p = run.Resolve({"python", "numpy", "msgpack-python"}, {"legacy-ext", "msgpack-user"});
  REQUIRE(p.ok());
  INFO(p->explanation);
  REQUIRE(p->solved);
  CHECK(p->python == "3.10.13");
  CHECK(Picks(*p, PackageKind::kConda)["msgpack-python"] == "1.0.7");
  CHECK(Picks(*p, PackageKind::kPypi).count("msgpack") == 0);
  CHECK(Picks(*p, PackageKind::kPypi)["msgpack-user"] == "1.0.0");
}

TEST_CASE("mixed: a conda package with a purl provides its PyPI distribution (fast path)") {
  if (!HaveFixtures()) {
    WARN("fixtures not generated; skipped");
    return;
  }
  Run run;
  auto r = run.Resolve({"msgpack-python", "python 3.11.*"}, {"msgpack-user"});
  REQUIRE(r.ok());
  INFO(r->explanation);
  REQUIRE(r->solved);
  CHECK_FALSE(r->joint);
  CHECK(Picks(*r, PackageKind::kConda)["msgpack-python"] == "1.0.7");
  CHECK(Picks(*r, PackageKind::kPypi).count("msgpack") == 0);  // not installed twice
  CHECK(Picks(*r, PackageKind::kPypi)["msgpack-user"] == "1.0.0");
}

TEST_CASE("mixed: the joint solve moves the conda side to satisfy a PyPI pin it provides") {
  if (!HaveFixtures()) {
    WARN("fixtures not generated; skipped");
    return;
  }
  Run run;
  // conda first takes numpy 1.26.4; PyPI wants numpy<1.25, which only conda's 1.24.4 build has
  // (the index has 1.26.x wheels only). Jointly: conda numpy 1.24.4, nothing from PyPI.
  auto r = run.Resolve({"python 3.11.*", "numpy"}, {"numpy<1.25"});
  REQUIRE(r.ok());
  INFO(r->explanation);
  REQUIRE(r->solved);
  CHECK(r->joint);
  CHECK(Picks(*r, PackageKind::kConda)["numpy"] == "1.24.4");
  CHECK(Picks(*r, PackageKind::kPypi).empty());
}

TEST_CASE("mixed: a real conflict between the sides is explained, naming both") {
  if (!HaveFixtures()) {
    WARN("fixtures not generated; skipped");
    return;
  }
  Run run;
  // conda's msgpack-python installs msgpack 1.0.7; PyPI asks for >=1.0.8.
  auto r = run.Resolve({"msgpack-python"}, {"msgpack>=1.0.8"});
  REQUIRE(r.ok());
  REQUIRE_FALSE(r->solved);
  CHECK(r->joint);
  const std::string& e = r->explanation;
  INFO(e);
  CHECK(e.find("with conda first (python 3.11") != std::string::npos);
  CHECK(e.find("solved jointly") != std::string::npos);
  CHECK(e.find("msgpack-python") != std::string::npos);                   // the conda side
  CHECK(e.find("PyPI requirement msgpack>=1.0.8") != std::string::npos);  // the PyPI side
  CHECK(e.find("without the PyPI distribution msgpack") != std::string::npos);

  // python pinned to 3.11 by conda, PyPI project only for 3.10: no python fits both. With one
  // python allowed and no conda-provided distribution involved, the joint solve cannot help
  // and is skipped.
  auto p = run.Resolve({"python 3.11.*"}, {"legacy-ext"});
  REQUIRE(p.ok());
  REQUIRE_FALSE(p->solved);
  INFO(p->explanation);
  CHECK_FALSE(p->joint);
  CHECK(p->explanation.find("the PyPI requirements cannot be resolved for python 3.11") == 0);
  CHECK(p->explanation.find("no wheel for linux-64 python 3.11") != std::string::npos);

  // The same through the joint solve: its explanation names the selector per python.
  MixedOptions joint_only;
  joint_only.skip_fast_path = true;
  auto j = run.Resolve({"python 3.11.*"}, {"legacy-ext"}, joint_only);
  REQUIRE(j.ok());
  REQUIRE_FALSE(j->solved);
  INFO(j->explanation);
  CHECK(j->explanation.find("PyPI requirement legacy-ext for python 3.11") != std::string::npos);
  CHECK(j->explanation.find("no wheel for linux-64 python 3.11") != std::string::npos);
}

}  // namespace ferry::resolver::mixed
