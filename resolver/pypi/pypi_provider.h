// The PyPI DependencyProvider for ONE target (platform + python version): candidates of a project
// are its versions that have a wheel for the target (best wheel by the target's tag priority;
// Requires-Python checked against the target python), dependencies come from core metadata
// (PEP 658 / Range / download, see wheel_metadata.h), markers are evaluated for the target (never
// the host). I/O is in parallel rounds, ahead of the solver: when it needs one wheel's metadata,
// the provider also fetches the queued prefetch hints, then walks the closure breadth-first
// (dependencies' pages in one round, their likely picks' metadata in the next), and when the
// solver backtracks on a project, the next few versions come along. Rounds thus grow with the
// closure's depth, not its size. Extras are separate names ("pkg[extra]")
// whose candidates pin their base to the same version (the PubGrub/uv encoding).
//
// Distributions installed by conda packages appear as "provided" candidates without
// dependencies (the conda package brings its own): either fixed (PypiRequest::provided: the
// conda side is already solved, the provided version is the only candidate) or offered next to
// the wheels through a ProvidedLookup (the joint conda + PyPI solve, resolver/mixed/), where
// each provided candidate carries an opaque tag naming the conda record.
//
// Used by ResolvePypi (pypi_resolver.h) and, one instance per python version, by the joint
// provider. Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "resolver/pypi/index_client.h"
#include "resolver/pypi/pypi_resolver.h"
#include "resolver/pypi/wheel_metadata.h"
#include "resolver/solve/provider.h"
#include "src/specs/pep440.h"
#include "src/specs/pep508.h"
#include "src/specs/wheel.h"

namespace ferry::resolver::pypi {

// A conda record that installs a PyPI distribution: its version (conda's version string, read as
// PEP 440) and an opaque tag for the caller (the joint provider's conda solvable).
struct ProvidedCandidate {
  std::string version;
  uint64_t tag = 0;
  std::string text;  // for explanations: "msgpack-python 1.0.7 pyhd8ed1ab_0 (conda)"
};
// PEP 503 name -> the conda records that provide it, best first. Must be deterministic.
using ProvidedLookup = std::function<std::vector<ProvidedCandidate>(const std::string& dist)>;

class PypiProvider : public solve::DependencyProvider {
 public:
  struct Name {
    std::string base;   // normalized project name
    std::string extra;  // "" for the project itself
    std::string Text() const { return extra.empty() ? base : base + "[" + extra + "]"; }
  };
  struct Cand {
    solve::NameId name = 0;
    specs::Pep440Version version;
    const IndexFile* file = nullptr;  // best wheel; null for provided/excluded
    bool provided = false;            // installed by a conda package
    bool yanked = false;
    std::optional<solve::SolvableId> base;  // for extras: the project solvable of the same version
    uint64_t provided_tag = 0;              // ProvidedLookup tag (lookup-provided candidates)
    std::string provided_text;
  };

  // Builds the provider for `req.platform` / `req.python_version` (kUser when either is not a
  // valid target). `req`, `index` and `metadata` are borrowed and must outlive the provider.
  static Result<std::unique_ptr<PypiProvider>> Create(const PypiRequest& req, IndexClient& index,
                                                      WheelMetadataFetcher& metadata);

  // Offers conda-provided candidates before the wheels of every project (joint solve). Without
  // it, only PypiRequest::provided applies.
  void set_provided_lookup(ProvidedLookup lookup) { lookup_ = std::move(lookup); }

  const specs::MarkerEnvironment& marker_env() const { return env_; }
  // The first I/O error met while loading pages or metadata (the solve result is then void).
  Status fatal() const { return fatal_; }
  const Cand& cand(solve::SolvableId s) const { return cands_[s]; }
  const Name& name(solve::NameId n) const { return names_[n]; }
  // The Requires-Dist lines of `s` that applied to the target (for the lock's depends).
  const std::vector<std::string>& applied_depends(solve::SolvableId s) { return depends_text_[s]; }
  // Projects with only an sdist for the target (seen while loading candidates).
  const std::set<std::string>& sdist_only() const { return sdist_only_; }

  solve::NameId Intern(const std::string& base, const std::string& extra);
  solve::VersionSetId AddVersionSet(solve::NameId n, specs::SpecifierSet spec, std::string text,
                                    std::optional<solve::SolvableId> exact = std::nullopt);
  // Interns a parsed top-level requirement (base + one version set per extra), appending the
  // version sets to `out` (one requirement each). The marker is NOT evaluated here.
  void AddRequirement(const specs::Requirement& r, std::vector<solve::VersionSetId>* out);

  // The locked form of a wheel candidate (kind pypi); kUser when the index gives no sha256.
  Result<LockedPackage> ToLocked(solve::SolvableId s);
  // True for candidates that are installed from a wheel (not provided, not an extra).
  bool IsWheel(solve::SolvableId s) const {
    return !cands_[s].provided && !cands_[s].base && cands_[s].file;
  }

  // --- DependencyProvider ---
  solve::NameId VersionSetName(solve::VersionSetId vs) override { return vsets_[vs].name; }
  solve::NameId SolvableName(solve::SolvableId s) override { return cands_[s].name; }
  const solve::Candidates& GetCandidates(solve::NameId n) override;
  void Filter(solve::VersionSetId vs, std::span<const solve::SolvableId> in, bool inverse,
              std::vector<solve::SolvableId>* out) override;
  solve::Dependencies GetDependencies(solve::SolvableId s) override;
  void Prefetch(std::span<const solve::SolvableId> candidates) override;
  std::string NameText(solve::NameId n) override { return names_[n].Text(); }
  std::string VersionSetText(solve::VersionSetId vs) override { return vsets_[vs].text; }
  std::string SolvableText(solve::SolvableId s) override;
  std::string SolvableVersionText(solve::SolvableId s) override {
    return cands_[s].version.ToString();
  }

 private:
  struct VersionSet {
    solve::NameId name;
    specs::SpecifierSet spec;
    std::string text;
    std::optional<solve::SolvableId> exact;  // extras: exactly this base solvable
  };

  PypiProvider(const PypiRequest& req, IndexClient& index, WheelMetadataFetcher& metadata,
               specs::MarkerEnvironment env, specs::TagPriorities tags,
               std::optional<specs::Pep440Version> python);
  static Cand MakeCand(solve::NameId n, const specs::Pep440Version& v);
  solve::Candidates LoadCandidates(solve::NameId n);
  solve::SolvableId NewCand(Cand c);
  void FetchMetadata(const std::vector<solve::SolvableId>& ids);
  Result<std::shared_ptr<CoreMetadata>> MetadataFor(solve::SolvableId s);
  // Loads the pages of the dependencies of `fetched` (one round) and returns the likely picks
  // among their candidates whose metadata is not loaded yet.
  std::vector<solve::SolvableId> LookAhead(const std::vector<solve::SolvableId>& fetched);

  // Versions per requirement whose metadata is fetched ahead: the newest usually wins; a second
  // one makes the first backtracking step free.
  static constexpr size_t kPrefetchPerRequirement = 2;
  // Older versions fetched along when the solver backtracks on a project.
  static constexpr size_t kBacktrackAhead = 6;
  // Closure levels fetched ahead of the solver by one MetadataFor.
  static constexpr int kLookAheadLevels = 64;

  const PypiRequest& req_;
  IndexClient& index_;
  WheelMetadataFetcher& metadata_;
  specs::MarkerEnvironment env_;
  specs::TagPriorities tags_;
  std::optional<specs::Pep440Version> python_;
  ProvidedLookup lookup_;
  std::vector<Name> names_;
  std::unordered_map<std::string, solve::NameId> name_ids_;
  std::vector<Cand> cands_;
  std::vector<VersionSet> vsets_;
  std::unordered_map<solve::NameId, solve::Candidates> candidates_;
  std::unordered_map<solve::SolvableId, Result<std::shared_ptr<CoreMetadata>>> metadata_cache_;
  std::unordered_map<solve::SolvableId, std::vector<std::string>> depends_text_;
  std::vector<solve::SolvableId> pending_;  // queued by Prefetch, in order
  std::set<solve::SolvableId> pending_set_;
  std::set<std::string> sdist_only_;
  Status fatal_;
};

}  // namespace ferry::resolver::pypi
