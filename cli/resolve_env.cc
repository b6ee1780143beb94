#include "cli/resolve_env.h"

#include "resolver/conda_resolver.h"
#include "resolver/mixed/mixed_resolver.h"
#include "resolver/pypi/pypi_resolver.h"
#include "src/specs/pep440.h"

namespace ferry::cli {

std::map<std::string, std::string> CondaProvidedDistributions(
    const std::vector<LockedPackage>& packages) {
  std::map<std::string, std::string> out;
  for (const auto& p : packages) {
    if (p.kind != PackageKind::kConda) continue;
    // By normalized name only: the lock model does not keep purls. Resolution itself
    // (ResolveMixed) also matches the records' pkg:pypi purls.
    out[specs::NormalizeName(p.name)] = p.version;
  }
  return out;
}

Result<EnvResolution> ResolveEnvironment(Context& ctx, const RequirementSet& req,
                                         const EnvResolveOptions& options) {
  EnvResolution res;
  std::string python = req.python;
  bool want_conda = !req.conda.empty() || (!req.channels.empty() && !req.python.empty());
  std::vector<std::string> indexes = req.indexes;
  if (indexes.empty()) indexes = ctx.config.index_urls;
  if (want_conda && !req.pypi.empty()) {
    // Mixed: conda first, then PyPI for its python; jointly when that fails
    // (resolver/mixed/mixed_resolver.h).
    RequirementSet mixed_req = req;
    mixed_req.indexes = indexes;
    resolver::pypi::IndexClient index(*ctx.http, *ctx.fs, *ctx.reporter,
                                      {indexes, options.merge_indexes});
    resolver::pypi::WheelMetadataFetcher metadata(*ctx.http, *ctx.fs,
                                                  ctx.config.ferry_home + "/pypi-metadata");
    resolver::mixed::MixedOptions mixed_options;
    mixed_options.prefer_conda = options.prefer_conda;
    mixed_options.prefer_pypi = options.prefer_pypi;
    mixed_options.allow_prereleases = options.allow_prereleases;
    auto mixed = resolver::mixed::ResolveMixed(mixed_req, mixed_options, *ctx.http, *ctx.fs,
                                               ctx.config.ferry_home + "/repodata-cache", index,
                                               metadata, *ctx.reporter);
    if (!mixed.ok()) return mixed.status();
    res.solved = mixed->solved;
    res.explanation = std::move(mixed->explanation);
    res.packages = std::move(mixed->packages);
    return res;
  }
  if (want_conda) {
    RequirementSet conda_req = req;
    conda_req.pypi.clear();
    resolver::CondaResolveOptions conda_options;
    conda_options.preferred = options.prefer_conda;
    auto conda = resolver::ResolveConda(conda_req, *ctx.http, *ctx.fs,
                                        ctx.config.ferry_home + "/repodata-cache", *ctx.reporter,
                                        conda_options);
    if (!conda.ok()) return conda.status();
    if (!conda->solved) {
      res.explanation = conda->explanation;
      return res;
    }
    res.packages = conda->packages;
    for (const auto& p : res.packages)
      if (p.kind == PackageKind::kConda && p.name == "python") python = p.version;
  }
  if (!req.pypi.empty()) {
    resolver::pypi::IndexClient index(*ctx.http, *ctx.fs, *ctx.reporter,
                                      {indexes, options.merge_indexes});
    resolver::pypi::WheelMetadataFetcher metadata(*ctx.http, *ctx.fs,
                                                  ctx.config.ferry_home + "/pypi-metadata");
    resolver::pypi::PypiRequest pypi;
    pypi.requirements = req.pypi;
    pypi.platform = req.platform;
    pypi.python_version = python;
    pypi.virtual_overrides = req.virtual_overrides;
    pypi.allow_prereleases = options.allow_prereleases;
    pypi.provided = CondaProvidedDistributions(res.packages);
    pypi.preferred = options.prefer_pypi;
    auto solved = resolver::pypi::ResolvePypi(pypi, index, metadata, *ctx.reporter);
    if (!solved.ok()) return solved.status();
    if (!solved->solved) {
      res.explanation = "the PyPI requirements cannot be resolved for python " + python + " on " +
                        req.platform + ":\n" + solved->explanation;
      return res;
    }
    for (auto& p : solved->packages) res.packages.push_back(std::move(p));
  }
  SortPackages(res.packages);
  res.solved = true;
  return res;
}

}  // namespace ferry::cli
