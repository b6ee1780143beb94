#include "resolver/mixed/mixed_resolver.h"

#include <algorithm>

#include "resolver/conda_provider.h"
#include "resolver/conda_resolver.h"
#include "resolver/mixed/joint_provider.h"
#include "resolver/pypi/pypi_resolver.h"
#include "resolver/solve/solver.h"
#include "src/specs/match_spec.h"
#include "src/specs/pep440.h"
#include "src/specs/platform.h"

namespace ferry::resolver::mixed {
namespace {

// The conda specs of the request, with "python X.Y.*" when the request names a python that no
// spec constrains (as ResolveConda does).
std::vector<std::string> CondaSpecs(const RequirementSet& req) {
  std::vector<std::string> specs_in = req.conda;
  if (!req.python.empty()) {
    bool has = false;
    for (const auto& s : specs_in) {
      auto ms = specs::MatchSpec::Parse(s);
      has = has || (ms.ok() && ms->name == "python");
    }
    if (!has) specs_in.push_back("python " + req.python + ".*");
  }
  return specs_in;
}

pypi::PypiRequest PypiBase(const RequirementSet& req, const MixedOptions& options) {
  pypi::PypiRequest p;
  p.requirements = req.pypi;
  p.platform = req.platform;
  p.virtual_overrides = req.virtual_overrides;
  p.allow_prereleases = options.allow_prereleases;
  p.preferred = options.prefer_pypi;
  return p;
}

std::string Indent(std::string text) {
  for (size_t at; (at = text.find("\n\n")) != std::string::npos;) text.erase(at, 1);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::string out = "  ";
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '\n' && i + 1 < text.size()) out += "  ";
  }
  return out;
}

std::string Minor(const std::string& version) {
  size_t dot = version.find('.');
  if (dot == std::string::npos) return version;
  size_t second = version.find('.', dot + 1);
  return second == std::string::npos ? version : version.substr(0, second);
}

// The PyPI distributions `r` installs: its pkg:pypi purls, else its normalized name.
std::vector<std::string> ProvidedBy(const specs::PackageRecord& r) {
  std::vector<std::string> dists = PypiPurlNames(r);
  // (The interpreter is not a PyPI distribution, whatever its name.)
  if (dists.empty() && r.name != "python") dists.push_back(specs::NormalizeName(r.name));
  return dists;
}

// The python minors the conda specs allow, in conda's preference order, each with its
// preferred X.Y.Z.
Result<std::vector<std::pair<std::string, std::string>>> AllowedPythons(
    CondaProvider& conda, const std::vector<std::string>& specs_in) {
  std::vector<specs::MatchSpec> python_specs;
  for (const auto& s : specs_in) {
    auto ms = specs::MatchSpec::Parse(s);
    if (ms.ok() && ms->name == "python") python_specs.push_back(*ms);
  }
  FERRY_ASSIGN_OR_RETURN(solve::VersionSetId any_python, conda.AddRequestedSpec("python"));
  const solve::Candidates pythons = conda.GetCandidates(conda.VersionSetName(any_python));
  std::vector<std::pair<std::string, std::string>> out;
  for (solve::SolvableId s : pythons.solvables) {
    const specs::PackageRecord& r = conda.Record(s);
    bool ok = true;
    for (const auto& ms : python_specs) ok = ok && ms.Matches(r);
    std::string v = r.version.str();
    bool seen =
        std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == Minor(v); });
    if (ok && !seen) out.emplace_back(Minor(v), v);
  }
  return out;
}

// The joint solve over `conda` (already used for the conda-first solve, so the request's conda
// closure and its purls are known).
Result<MixedResolution> SolveJointly(const RequirementSet& req, const MixedOptions& options,
                                     CondaProvider& conda, pypi::IndexClient& index,
                                     pypi::WheelMetadataFetcher& metadata, Reporter& reporter) {
  MixedResolution res;
  res.joint = true;
  pypi::PypiRequest base = PypiBase(req, options);
  JointProvider joint(conda, base, index, metadata);
  std::vector<std::string> specs_in = CondaSpecs(req);

  FERRY_ASSIGN_OR_RETURN(auto pythons, AllowedPythons(conda, specs_in));
  for (const auto& [minor, full] : pythons) {
    if (Status st = joint.AddPython(minor, full); !st.ok())
      reporter.Warn("python " + full + " from the channels is skipped for PyPI: " + st.message());
  }
  joint.NoteCondaRecords();

  solve::Problem problem;
  for (const auto& s : specs_in) {
    FERRY_ASSIGN_OR_RETURN(solve::VersionSetId vs, joint.AddCondaSpec(s));
    problem.requirements.push_back(solve::Requirement{{vs}});
  }
  std::vector<std::string> roots;
  for (const auto& text : req.pypi) {
    auto r = specs::Requirement::Parse(text);
    if (!r.ok()) return r.status().WithContext("PyPI requirement \"" + text + "\"");
    if (!r->url.empty())
      return Status::User("PyPI requirement \"" + text + "\": direct URLs are not supported yet");
    roots.push_back(r->NormalizedName());
    problem.requirements.push_back(joint.AddPypiRequirement(*r, text));
  }
  FERRY_RETURN_IF_ERROR(index.Prefetch(roots));
  solve::SolveOutcome outcome = solve::Solve(joint, problem);
  FERRY_RETURN_IF_ERROR(joint.fatal());
  if (!outcome.solved) {
    std::string pys;
    for (const auto& v : joint.pythons()) pys += (pys.empty() ? "" : ", ") + v;
    res.explanation = "solved jointly (python " + (pys.empty() ? std::string("none") : pys) +
                      "), the conda specs and the PyPI requirements conflict:\n" +
                      outcome.explanation;
    return res;
  }
  res.solved = true;
  int python_index = -1;
  std::map<std::string, std::string> provided;  // by the conda records of the answer
  for (solve::SolvableId s : outcome.solution) {
    switch (joint.side(s)) {
      case JointProvider::Side::kConda: {
        solve::SolvableId l = joint.local(s);
        if (conda.IsVirtual(l)) break;
        res.packages.push_back(LockedCondaPackage(conda.Record(l)));
        if (conda.Record(l).name == "python") res.python = conda.Record(l).version.str();
        for (const auto& d : ProvidedBy(conda.Record(l)))
          provided[d] = conda.Record(l).version.str();
        break;
      }
      case JointProvider::Side::kPypi: {
        pypi::PypiProvider& sub = joint.sub(joint.python_index(s));
        if (python_index >= 0 && python_index != joint.python_index(s))
          return Status::User(
              "internal error: the joint solve mixed PyPI packages of two python versions");
        python_index = joint.python_index(s);
        if (!sub.IsWheel(joint.local(s))) break;
        FERRY_ASSIGN_OR_RETURN(LockedPackage p, sub.ToLocked(joint.local(s)));
        res.packages.push_back(std::move(p));
        break;
      }
      case JointProvider::Side::kSelector:
        break;
    }
  }
  if (python_index >= 0 && joint.python_full(python_index) != res.python) {
    // pypi(X.Y) assumed another X.Y.Z than conda chose: resolve the PyPI side again for the
    // exact version, next to the conda records of the answer (Requires-Python or markers on
    // the micro version are rare; this keeps them exact).
    pypi::PypiRequest p = base;
    p.python_version = res.python;
    p.provided = provided;
    FERRY_ASSIGN_OR_RETURN(pypi::PypiResolution exact,
                           pypi::ResolvePypi(p, index, metadata, reporter));
    if (!exact.solved) {
      res.solved = false;
      res.packages.clear();
      res.explanation = "solved jointly, conda chose python " + res.python +
                        ", for which the PyPI requirements cannot be resolved:\n" +
                        exact.explanation;
      return res;
    }
    std::erase_if(res.packages,
                  [](const LockedPackage& pk) { return pk.kind == PackageKind::kPypi; });
    for (auto& pk : exact.packages) res.packages.push_back(std::move(pk));
  }
  SortPackages(res.packages);
  reporter.Info("mixed: joint solve, python " + res.python + ", " +
                std::to_string(outcome.stats.decisions) + " decisions, " +
                std::to_string(outcome.stats.conflicts) + " conflicts");
  return res;
}

}  // namespace

Result<MixedResolution> ResolveMixed(const RequirementSet& req, const MixedOptions& options,
                                     HttpClient& http, FileSystem& fs,
                                     const std::string& repodata_cache_dir,
                                     pypi::IndexClient& index, pypi::WheelMetadataFetcher& metadata,
                                     Reporter& reporter) {
  MixedResolution res;
  FERRY_ASSIGN_OR_RETURN(specs::Platform platform, specs::ParsePlatform(req.platform));
  FERRY_ASSIGN_OR_RETURN(auto virtual_packages,
                         specs::VirtualPackagesFor(platform, std::nullopt, req.virtual_overrides));
  FERRY_ASSIGN_OR_RETURN(std::vector<IndexedChannel> channels,
                         LoadCondaChannels(req, http, fs, repodata_cache_dir, reporter));
  CondaProvider conda(&channels, virtual_packages, reporter);
  conda.set_target_platform(req.platform);
  conda.set_preferred(options.prefer_conda);

  // 1. conda first.
  std::vector<std::string> specs_in = CondaSpecs(req);
  if (specs_in.empty()) return Status::User("no conda specs to resolve");
  solve::Problem problem;
  for (const auto& s : specs_in) {
    FERRY_ASSIGN_OR_RETURN(solve::VersionSetId vs, conda.AddRequestedSpec(s));
    problem.requirements.push_back(solve::Requirement{{vs}});
  }
  solve::SolveOutcome conda_outcome = solve::Solve(conda, problem);
  if (!conda_outcome.solved) {
    res.explanation = conda_outcome.explanation;  // the conda specs alone conflict
    return res;
  }
  std::vector<LockedPackage> conda_packages;
  std::map<std::string, std::string> provided;
  for (solve::SolvableId s : conda_outcome.solution) {
    if (conda.IsVirtual(s)) continue;
    const specs::PackageRecord& r = conda.Record(s);
    conda_packages.push_back(LockedCondaPackage(r));
    if (r.name == "python") res.python = r.version.str();
    for (const auto& d : ProvidedBy(r)) provided[d] = r.version.str();
  }
  if (req.pypi.empty()) {
    res.solved = true;
    res.packages = std::move(conda_packages);
    SortPackages(res.packages);
    return res;
  }

  // 2. PyPI for that python.
  std::string fast_explanation;
  if (!options.skip_fast_path) {
    if (res.python.empty()) {
      fast_explanation = "the conda packages include no python";
    } else {
      pypi::PypiRequest p = PypiBase(req, options);
      p.python_version = res.python;
      p.provided = provided;
      FERRY_ASSIGN_OR_RETURN(pypi::PypiResolution solved,
                             pypi::ResolvePypi(p, index, metadata, reporter));
      if (solved.solved) {
        res.solved = true;
        res.packages = std::move(conda_packages);
        for (auto& pk : solved.packages) res.packages.push_back(std::move(pk));
        SortPackages(res.packages);
        return res;
      }
      fast_explanation = solved.explanation;
    }
  }

  // 3. Jointly — unless it cannot change the answer: one python minor only, and no
  // distribution provided by a conda package involved in the PyPI conflict.
  std::string conda_first_python = res.python;
  if (!options.skip_fast_path && !res.python.empty()) {
    FERRY_ASSIGN_OR_RETURN(auto pythons, AllowedPythons(conda, specs_in));
    if (pythons.size() <= 1 &&
        fast_explanation.find("is installed by a conda package") == std::string::npos) {
      res.explanation = "the PyPI requirements cannot be resolved for python " + res.python +
                        " on " + req.platform + ":\n" + fast_explanation;
      return res;
    }
    reporter.Info("mixed: with conda first (python " + res.python +
                  "), the PyPI side cannot be resolved; solving conda and PyPI jointly");
  }
  FERRY_ASSIGN_OR_RETURN(MixedResolution joint,
                         SolveJointly(req, options, conda, index, metadata, reporter));
  if (joint.solved || options.skip_fast_path) return joint;
  joint.explanation = "with conda first (python " + conda_first_python + " on " + req.platform +
                      "), the PyPI requirements cannot be resolved:\n" + Indent(fast_explanation) +
                      "\n" + joint.explanation;
  return joint;
}

}  // namespace ferry::resolver::mixed
