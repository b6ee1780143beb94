// One DependencyProvider over conda and PyPI together, for the joint solve of a mixed
// requirement set (see mixed_resolver.h for when it is used).
//
// Model. Joint ids are dense and assigned on first sight; each maps back to one side:
//   - conda: the CondaProvider's names, records and match specs, unchanged;
//   - pypi(V): one PypiProvider per python minor V (X.Y) the conda side may choose (the python
//     records allowed by the conda specs, conda's preference order), evaluated for the preferred
//     X.Y.Z of that minor. Wheel choice (cp tags, Requires-Python) and markers depend on the
//     python, so each V has its own provider, names and candidates ("numpy (PyPI, python
//     3.11)"); page and metadata fetches are shared through the one IndexClient and
//     WheelMetadataFetcher;
//   - selectors: one name per requested PyPI requirement, with one candidate per V. The
//     candidate for V requires conda "python X.Y.*" and the requirement in pypi(V) (if its
//     marker applies to V). Choosing V for one requirement thus fixes the python minor, and all
//     PyPI packages of the solution come from one pypi(V); a wrong V fails on the python clause
//     before any of its metadata is fetched. (When conda then picks another X.Y.Z than the one
//     pypi(V) assumed, ResolveMixed re-resolves the PyPI side for the exact version.)
// Conda-provided distributions: in pypi(V), a project's candidates start with the conda records
// that install the distribution (records whose `purls` name pkg:pypi/<dist>; records without
// PyPI purls by normalized name), each requiring exactly that conda record; its wheels follow.
// A wheel candidate constrains every conda name providing its distribution to records that do
// not, so one distribution is never installed twice. Conda names providing a distribution
// under another name are found through the purls of the conda records the provider has
// materialized (the conda closure of the request, see NoteCondaRecords).
//
// Explanations name both sides: conda names as in conda, PyPI names with "(PyPI, python V)",
// selectors as "PyPI requirement <text>". Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "resolver/conda_provider.h"
#include "resolver/pypi/pypi_provider.h"
#include "resolver/solve/provider.h"
#include "src/specs/pep508.h"

namespace ferry::resolver::mixed {

// True when conda record `r` installs the PyPI distribution `dist` (PEP 503 name): by its
// pkg:pypi purls when it has any, else by its normalized name.
bool RecordProvides(const specs::PackageRecord& r, const std::string& dist);
// The PEP 503 names of the pkg:pypi purls of `r` ("pkg:pypi/NumPy@1.26" -> "numpy").
std::vector<std::string> PypiPurlNames(const specs::PackageRecord& r);

class JointProvider : public solve::DependencyProvider {
 public:
  // `conda` and the PyPI index/metadata clients are borrowed. `base` is the PyPI request shared
  // by every python version (platform, overrides, pre-releases, preferences); its
  // python_version and provided fields are ignored.
  JointProvider(CondaProvider& conda, const pypi::PypiRequest& base, pypi::IndexClient& index,
                pypi::WheelMetadataFetcher& metadata);

  // Adds pypi(X.Y) for a python minor (call best first): its selectors require conda
  // "python X.Y.*"; wheels, Requires-Python and markers are evaluated for `version` (the
  // preferred X.Y.Z of the channels). kUser if it is not a valid target.
  Status AddPython(const std::string& minor, const std::string& version);
  const std::vector<std::string>& pythons() const { return python_versions_; }  // minors
  const std::string& python_full(int i) const { return python_full_[i]; }

  // Records the purls of the conda records materialized so far (call after a conda-only solve
  // on the same CondaProvider, so the request's conda closure is known).
  void NoteCondaRecords();

  // Joint version set for a requested conda spec (kUser on a bad spec).
  Result<solve::VersionSetId> AddCondaSpec(const std::string& text);
  // The requirement for one requested PyPI requirement (a selector name; see above).
  solve::Requirement AddPypiRequirement(const specs::Requirement& r, const std::string& text);

  // After the solve: what a joint solvable is.
  enum class Side : uint8_t { kConda, kPypi, kSelector };
  Side side(solve::SolvableId s) const { return solvables_[s].side; }
  // conda: the CondaProvider's solvable; pypi: (python index, PypiProvider's solvable).
  solve::SolvableId local(solve::SolvableId s) const { return solvables_[s].local; }
  int python_index(solve::SolvableId s) const { return solvables_[s].sub; }
  pypi::PypiProvider& sub(int i) { return *subs_[i].provider; }
  CondaProvider& conda() { return conda_; }
  // The first I/O error of any PyPI side.
  Status fatal() const;

  // --- DependencyProvider ---
  solve::NameId VersionSetName(solve::VersionSetId vs) override;
  solve::NameId SolvableName(solve::SolvableId s) override { return solvables_[s].name; }
  const solve::Candidates& GetCandidates(solve::NameId name) override;
  void Filter(solve::VersionSetId vs, std::span<const solve::SolvableId> candidates, bool inverse,
              std::vector<solve::SolvableId>* out) override;
  solve::Dependencies GetDependencies(solve::SolvableId s) override;
  void Prefetch(std::span<const solve::SolvableId> candidates) override;
  std::string NameText(solve::NameId name) override;
  std::string VersionSetText(solve::VersionSetId vs) override;
  std::string SolvableText(solve::SolvableId s) override;
  std::string SolvableVersionText(solve::SolvableId s) override;
  std::string MissingHint(solve::VersionSetId vs) override;

 private:
  struct NameRef {
    Side side;
    int sub;              // python index (pypi, selector: -1)
    solve::NameId local;  // conda/pypi name; selector: requirement index
  };
  struct SolvRef {
    Side side;
    int sub;
    solve::SolvableId local;  // selector: requirement index
    solve::NameId name;       // joint
  };
  enum class VsKind : uint8_t { kConda, kPypi, kSelector, kCondaExact, kCondaNotProviding };
  struct VsRef {
    VsKind kind;
    int sub = -1;
    uint32_t local = 0;  // conda/pypi version set; selector requirement; exact conda solvable;
                         // not-providing: conda name
    std::string dist;    // not-providing: the PyPI distribution
  };
  struct Sub {
    std::string python;
    std::unique_ptr<pypi::PypiRequest> request;
    std::unique_ptr<pypi::PypiProvider> provider;
    solve::VersionSetId python_vs;  // joint: conda "python X.Y.*"
  };
  struct Selector {
    std::string text;
    // Per python index: the pypi(V) version sets (base + extras); empty when the marker does not
    // apply to V.
    std::vector<std::vector<solve::VersionSetId>> per_python;
  };

  solve::NameId JointName(Side side, int sub, solve::NameId local);
  solve::SolvableId JointSolvable(Side side, int sub, solve::SolvableId local);
  solve::VersionSetId JointVs(VsRef ref);
  // Conda records providing `dist`, best first (cached), and the conda names they belong to.
  const std::vector<pypi::ProvidedCandidate>& ProvidersOf(const std::string& dist);

  CondaProvider& conda_;
  const pypi::PypiRequest& base_;
  pypi::IndexClient& index_;
  pypi::WheelMetadataFetcher& metadata_;
  std::vector<std::string> python_versions_;
  std::vector<std::string> python_full_;
  std::vector<Sub> subs_;
  std::vector<Selector> selectors_;

  std::vector<NameRef> names_;
  std::unordered_map<uint64_t, solve::NameId> name_ids_;
  std::vector<SolvRef> solvables_;
  std::unordered_map<uint64_t, solve::SolvableId> solvable_ids_;
  std::vector<VsRef> vsets_;
  std::map<std::tuple<int, int, uint32_t, std::string>, solve::VersionSetId> vset_ids_;
  std::unordered_map<solve::NameId, solve::Candidates> candidates_;

  std::map<std::string, std::set<std::string>> purl_names_;  // dist -> conda names (by purl)
  size_t purls_scanned_ = 0;
  std::map<std::string, std::vector<pypi::ProvidedCandidate>> providers_;
  std::map<std::string, std::vector<solve::NameId>> provider_names_;  // dist -> conda names
};

}  // namespace ferry::resolver::mixed
