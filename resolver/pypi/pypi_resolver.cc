#include "resolver/pypi/pypi_resolver.h"

#include "resolver/pypi/pypi_provider.h"
#include "resolver/solve/solver.h"

namespace ferry::resolver::pypi {

Result<PypiResolution> ResolvePypi(const PypiRequest& request, IndexClient& index,
                                   WheelMetadataFetcher& metadata, Reporter& reporter) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<PypiProvider> provider,
                         PypiProvider::Create(request, index, metadata));
  solve::Problem problem;
  std::vector<std::string> roots;
  for (const auto& text : request.requirements) {
    auto r = specs::Requirement::Parse(text);
    if (!r.ok()) return r.status().WithContext("PyPI requirement \"" + text + "\"");
    if (!r->marker.Evaluate(provider->marker_env())) continue;  // not for this target
    if (!r->url.empty())
      return Status::User("PyPI requirement \"" + text + "\": direct URLs are not supported yet");
    roots.push_back(r->NormalizedName());
    std::vector<solve::VersionSetId> vss;
    provider->AddRequirement(*r, &vss);
    for (solve::VersionSetId vs : vss) problem.requirements.push_back({{vs}});
  }
  FERRY_RETURN_IF_ERROR(index.Prefetch(roots));
  solve::SolveOutcome outcome = solve::Solve(*provider, problem);
  FERRY_RETURN_IF_ERROR(provider->fatal());

  PypiResolution res;
  if (!outcome.solved) {
    res.explanation = outcome.explanation;
    for (const auto& [name, version] : request.provided) {
      if (res.explanation.find(name) != std::string::npos)
        res.explanation += "\nnote: " + name + " " + version +
                           " is installed by a conda package of this environment";
    }
    for (const auto& name : provider->sdist_only()) {
      // Only names in the conflict (pages are also loaded ahead of the solver).
      if (outcome.explanation.find(name) == std::string::npos) continue;
      res.explanation += "\nnote: " + name +
                         " publishes only an sdist for this target; building sdists is not "
                         "supported yet";
    }
    return res;
  }
  res.solved = true;
  for (solve::SolvableId s : outcome.solution) {
    if (!provider->IsWheel(s)) continue;
    FERRY_ASSIGN_OR_RETURN(LockedPackage p, provider->ToLocked(s));
    res.packages.push_back(std::move(p));
  }
  SortPackages(res.packages);
  reporter.Info("pypi: " + std::to_string(res.packages.size()) + " packages, " +
                std::to_string(outcome.stats.decisions) + " decisions, " +
                std::to_string(outcome.stats.conflicts) + " conflicts");
  return res;
}

}  // namespace ferry::resolver::pypi
