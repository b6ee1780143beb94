// spec_bench: throughput of the version/spec value types (issue 3).
//   - parse 1M conda version strings, sort them
//   - parse 1M PEP 440 version strings, sort them
//   - parse 1M conda match specs and match each against a record; match 1M (spec, record) pairs
//     with pre-parsed specs; 1M PEP 440 specifier-set checks
// Inputs are generated deterministically (fixed LCG seed) from realistic shapes.
// Usage: spec_bench [N]   (default 1000000). Build with -DCMAKE_BUILD_TYPE=Release.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "src/specs/conda_version.h"
#include "src/specs/match_spec.h"
#include "src/specs/pep440.h"

using namespace ferry::specs;

namespace {

struct Rng {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  uint32_t Next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(s >> 33);
  }
  uint32_t Below(uint32_t n) { return Next() % n; }
};

std::string CondaVersion(Rng& r) {
  static const char* kSuffix[] = {"", "", "", "", "rc1", "a2", "b1", ".post1", "dev0", "_", ".1",
                                  "+local.1"};
  switch (r.Below(6)) {
    case 0:
      return std::to_string(2000 + r.Below(25)) + "." + std::to_string(r.Below(12) + 1) + "." +
             std::to_string(r.Below(28) + 1);
    case 1:
      return std::to_string(r.Below(3)) + "!" + std::to_string(r.Below(10)) + "." +
             std::to_string(r.Below(30));
    default:
      return std::to_string(r.Below(4)) + "." + std::to_string(r.Below(30)) + "." +
             std::to_string(r.Below(20)) + kSuffix[r.Below(12)];
  }
}

std::string PypiVersion(Rng& r) {
  static const char* kSuffix[] = {"", "", "", "", "a1", "b2", "rc1", ".post1", ".dev3", "+cpu",
                                  "-1", ".0"};
  return std::to_string(r.Below(5)) + "." + std::to_string(r.Below(40)) + "." +
         std::to_string(r.Below(20)) + kSuffix[r.Below(12)];
}

std::string CondaMatchSpec(Rng& r) {
  static const char* kNames[] = {"numpy", "python", "openssl", "libgcc-ng", "pandas", "scipy"};
  std::string name = kNames[r.Below(6)];
  std::string a = std::to_string(r.Below(4)), b = std::to_string(r.Below(30));
  switch (r.Below(6)) {
    case 0: return name;
    case 1: return name + " " + a + "." + b + ".*";
    case 2: return name + " >=" + a + "." + b + ",<" + std::to_string(r.Below(4) + 4);
    case 3: return name + "=" + a + "." + b + "=py311*_0";
    case 4: return name + ">=" + a + "|==" + a + "." + b + ".1";
    default: return "conda-forge::" + name + "[version='>=" + a + "', build_number='>=1']";
  }
}

// Process CPU time: the dev machine is shared, so wall time mostly measures other people's
// builds; CPU time of this single-threaded process is the meaningful cost. Both are printed.
double CpuNow() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
struct Stamp {
  std::chrono::steady_clock::time_point wall;
  double cpu;
};
Stamp Now() { return {std::chrono::steady_clock::now(), CpuNow()}; }

void Report(const char* what, size_t n, Stamp start) {
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start.wall).count();
  double cpu = CpuNow() - start.cpu;
  std::printf("%-40s %8zu items  cpu %7.3f s %7.2f M/s   (wall %7.3f s)\n", what, n, cpu,
              n / cpu / 1e6, wall);
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  Rng rng;

  // conda versions
  std::vector<std::string> conda_text(n);
  for (auto& s : conda_text) s = CondaVersion(rng);
  std::vector<Version> conda;
  conda.reserve(n);
  auto t = Now();
  for (const auto& s : conda_text) {
    auto v = Version::Parse(s);
    if (!v.ok()) { std::fprintf(stderr, "%s\n", v.status().message().c_str()); return 1; }
    conda.push_back(std::move(v).value());
  }
  Report("conda Version::Parse", n, t);
  t = Now();
  std::sort(conda.begin(), conda.end());
  Report("conda sort (std::sort, Compare)", n, t);

  // PEP 440 versions
  std::vector<std::string> pypi_text(n);
  for (auto& s : pypi_text) s = PypiVersion(rng);
  std::vector<Pep440Version> pypi;
  pypi.reserve(n);
  t = Now();
  for (const auto& s : pypi_text) {
    auto v = Pep440Version::Parse(s);
    if (!v.ok()) { std::fprintf(stderr, "%s\n", v.status().message().c_str()); return 1; }
    pypi.push_back(std::move(v).value());
  }
  Report("PEP 440 Pep440Version::Parse", n, t);
  t = Now();
  std::sort(pypi.begin(), pypi.end());
  Report("PEP 440 sort (std::sort, Compare)", n, t);

  // match specs
  std::vector<std::string> spec_text(n);
  for (auto& s : spec_text) s = CondaMatchSpec(rng);
  PackageRecord rec;
  rec.name = "numpy";
  rec.version = *Version::Parse("1.26.4");
  rec.build = "py311h64a7726_0";
  rec.build_number = 0;
  rec.channel = "https://conda.anaconda.org/conda-forge";
  size_t matched = 0;
  std::vector<MatchSpec> specs;
  specs.reserve(n);
  t = Now();
  for (const auto& s : spec_text) {
    auto m = MatchSpec::Parse(s);
    if (!m.ok()) { std::fprintf(stderr, "%s\n", m.status().message().c_str()); return 1; }
    matched += m->Matches(rec);
    specs.push_back(std::move(m).value());
  }
  Report("conda MatchSpec::Parse + Matches", n, t);
  // Pre-parsed specs against varying records (the solver's hot loop).
  std::vector<PackageRecord> recs(1024, rec);
  for (size_t i = 0; i < recs.size(); ++i) {
    recs[i].version = conda[(i * 977) % conda.size()];
    recs[i].name = i % 2 ? "numpy" : "python";
  }
  t = Now();
  for (size_t i = 0; i < n; ++i) matched += specs[i].Matches(recs[i & 1023]);
  Report("conda MatchSpec::Matches (pre-parsed)", n, t);

  auto set = *SpecifierSet::Parse(">=1.2,<4,!=2.5.*");
  t = Now();
  for (size_t i = 0; i < n; ++i) matched += set.Contains(pypi[i]);
  Report("PEP 440 SpecifierSet::Contains", n, t);
  std::printf("(checksum %zu)\n", matched);
  return 0;
}
