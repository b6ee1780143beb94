#include "resolver/conda_resolver.h"

#include <chrono>
#include <future>

#include "resolver/conda_provider.h"
#include "resolver/index/channel_loader.h"
#include "resolver/solve/solver.h"

namespace ferry::resolver {
namespace {

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool NamesPython(const std::string& spec) {
  auto ms = specs::MatchSpec::Parse(spec);
  return ms.ok() && ms->name == "python";
}

}  // namespace

Result<std::vector<IndexedChannel>> LoadCondaChannels(const RequirementSet& req, HttpClient& http,
                                                      FileSystem& fs, const std::string& cache_dir,
                                                      Reporter& reporter, int* subdirs_from_cache) {
  if (req.channels.empty()) {
    return Status::User("no conda channels given (use --channel URL or FERRY_CHANNELS)");
  }
  std::vector<std::string> subdirs = {req.platform};
  if (req.platform != "noarch") subdirs.push_back("noarch");
  std::vector<IndexedChannel> channels(req.channels.size());
  struct Job {
    size_t channel;
    std::future<Result<std::unique_ptr<SubdirIndex>>> result;
    LoadStats stats;
  };
  std::vector<std::unique_ptr<Job>> jobs;
  reporter.BeginPhase("loading channels", req.channels.size() * subdirs.size());
  for (size_t c = 0; c < req.channels.size(); ++c) {
    channels[c].url = NormalizeChannelUrl(req.channels[c]);
    for (const auto& sd : subdirs) {
      auto job = std::make_unique<Job>();
      job->channel = c;
      Job* j = job.get();
      std::string url = channels[c].url;
      j->result = std::async(std::launch::async, [&http, &fs, &cache_dir, &reporter, url, sd, j] {
        // The indexes live until the solve is over: their cache files are finished meanwhile.
        auto r = LoadSubdir(url, sd, http, fs, cache_dir, reporter, &j->stats,
                            /*cache_in_background=*/true);
        reporter.Advance(1);
        return r;
      });
      jobs.push_back(std::move(job));
    }
  }
  Status first_error;
  for (auto& j : jobs) {
    auto r = j->result.get();
    if (!r.ok()) {
      if (first_error.ok()) first_error = r.status();
      continue;
    }
    if (j->stats.from_parsed_cache && subdirs_from_cache) ++*subdirs_from_cache;
    channels[j->channel].subdirs.push_back(std::move(r).value());
  }
  reporter.EndPhase();
  if (!first_error.ok()) return first_error;
  return channels;
}

LockedPackage LockedCondaPackage(const specs::PackageRecord& r) {
  LockedPackage p;
  p.kind = PackageKind::kConda;
  p.name = r.name;
  p.version = r.version.str();
  p.build = r.build;
  p.build_number = r.build_number;
  p.subdir = r.subdir;
  p.noarch = specs::NoarchName(r.noarch);
  p.filename = r.fn;
  p.url = r.url;
  p.sha256 = r.sha256;
  p.md5 = r.md5;
  p.size = r.size;
  p.depends = r.depends;
  p.constrains = r.constrains;
  p.channel = r.channel;
  return p;
}

Result<ResolveOutcome> ResolveConda(const RequirementSet& req, HttpClient& http, FileSystem& fs,
                                    const std::string& cache_dir, Reporter& reporter,
                                    const CondaResolveOptions& options) {
  ResolveOutcome outcome;
  FERRY_ASSIGN_OR_RETURN(specs::Platform platform, specs::ParsePlatform(req.platform));
  if (req.channels.empty()) {
    return Status::User("no conda channels given (use --channel URL or FERRY_CHANNELS)");
  }
  FERRY_ASSIGN_OR_RETURN(auto virtual_packages,
                         specs::VirtualPackagesFor(platform, std::nullopt, req.virtual_overrides));

  // Load every (channel, subdir) in parallel; the work is download + decompress + index.
  auto t0 = std::chrono::steady_clock::now();
  FERRY_ASSIGN_OR_RETURN(
      std::vector<IndexedChannel> channels,
      LoadCondaChannels(req, http, fs, cache_dir, reporter, &outcome.stats.subdirs_from_cache));
  outcome.stats.load_seconds = Since(t0);

  auto t1 = std::chrono::steady_clock::now();
  CondaProvider provider(&channels, virtual_packages, reporter);
  provider.set_target_platform(req.platform);
  provider.set_preferred(options.preferred);
  solve::Problem problem;
  std::vector<std::string> specs_in = req.conda;
  if (!req.python.empty()) {
    bool has = false;
    for (const auto& s : specs_in) has = has || NamesPython(s);
    if (!has) specs_in.push_back("python " + req.python + ".*");
  }
  if (specs_in.empty()) return Status::User("no conda specs to resolve");
  for (const auto& s : specs_in) {
    FERRY_ASSIGN_OR_RETURN(solve::VersionSetId vs, provider.AddRequestedSpec(s));
    problem.requirements.push_back(solve::Requirement{{vs}});
  }
  solve::SolveOutcome solved = solve::Solve(provider, problem);
  outcome.stats.solve_seconds = Since(t1);
  outcome.stats.records_materialized = provider.materialized_records();
  outcome.stats.decisions = solved.stats.decisions;
  outcome.stats.conflicts = solved.stats.conflicts;
  if (!solved.solved) {
    outcome.solved = false;
    outcome.explanation = solved.explanation;
    return outcome;
  }
  outcome.solved = true;
  for (solve::SolvableId s : solved.solution) {
    if (provider.IsVirtual(s)) continue;
    LockedPackage p = LockedCondaPackage(provider.Record(s));
    outcome.packages.push_back(std::move(p));
  }
  SortPackages(outcome.packages);
  return outcome;
}

}  // namespace ferry::resolver
