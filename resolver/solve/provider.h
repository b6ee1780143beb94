// The solver's view of a package universe, in the style of resolvo's DependencyProvider: the solver
// knows only opaque ids (names, solvables, version sets) and asks the provider lazily for
// candidates of a name (when the name is first reached), for the subset of candidates a version
// set accepts, and for the dependencies of a solvable (when it is first chosen). The same core
// serves conda (version sets are MatchSpecs) and PyPI (PEP 440 specifier sets, markers evaluated
// by the provider; dependencies may arrive late, see Prefetch).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ferry::solve {

using NameId = uint32_t;        // dense, provider-assigned
using SolvableId = uint32_t;    // dense, provider-assigned, 0..N-1 (one candidate)
using VersionSetId = uint32_t;  // dense, provider-assigned (a predicate over one name's candidates)

// A requirement is satisfied by one candidate of any of its version sets (a disjunction; conda and
// PyPI requirements usually have exactly one).
struct Requirement {
  std::vector<VersionSetId> any_of;
};

struct Dependencies {
  std::vector<Requirement> requirements;
  // Constrains: if a candidate of the version set's name is installed, it must be in the set.
  std::vector<VersionSetId> constrains;
  // Set when the dependencies cannot be known (unreadable metadata...): the solvable is then
  // never installed and the reason is shown in explanations.
  std::optional<std::string> unavailable;
};

// The candidates of one name. `solvables` is sorted by the provider's preference, best first
// (conda: highest version, highest build number, fewer track_features, newest timestamp,
// filename); the solver decides in that order, which makes solutions deterministic.
struct Candidates {
  std::vector<SolvableId> solvables;
  // Records that exist but can never be installed (e.g. bad records, wrong platform), with the
  // reason; only used to explain requirements that have no viable candidate.
  std::vector<std::pair<SolvableId, std::string>> excluded;
};

class DependencyProvider {
 public:
  virtual ~DependencyProvider() = default;

  // The name a version set constrains / a solvable belongs to.
  virtual NameId VersionSetName(VersionSetId vs) = 0;
  virtual NameId SolvableName(SolvableId s) = 0;

  // Candidates of `name`, loaded on the first call. The returned object must stay valid and
  // unchanged for the provider's lifetime. Unknown names have no candidates.
  virtual const Candidates& GetCandidates(NameId name) = 0;

  // Appends to `out`, in the order of `candidates`, those accepted by `vs` (or, with inverse,
  // those rejected by it). Must be a pure function of its inputs.
  virtual void Filter(VersionSetId vs, std::span<const SolvableId> candidates, bool inverse,
                      std::vector<SolvableId>* out) = 0;

  // Dependencies of `s`; called at most once per solvable, when the solver first selects it.
  virtual Dependencies GetDependencies(SolvableId s) = 0;

  // Hint: the solver may soon ask for the dependencies of these candidates (best first). A
  // provider with remote metadata can start fetching them in parallel. Default: nothing.
  virtual void Prefetch(std::span<const SolvableId> candidates) {}

  // Display strings for explanations: "numpy", "numpy >=1.20", "numpy 1.26.4 py311_0", "1.26.4".
  virtual std::string NameText(NameId name) = 0;
  virtual std::string VersionSetText(VersionSetId vs) = 0;
  virtual std::string SolvableText(SolvableId s) = 0;
  virtual std::string SolvableVersionText(SolvableId s) = 0;

  // Optional sentence explaining why `vs` has no candidates ("the channels have numpy 1.26.4,
  // 1.26.3", "the target provides __glibc 2.28"); "" when there is nothing to add.
  virtual std::string MissingHint(VersionSetId vs) { return ""; }
};

}  // namespace ferry::solve
