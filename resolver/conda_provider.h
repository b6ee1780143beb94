// The conda DependencyProvider: names are conda package names, version sets are MatchSpecs,
// candidates come from the indexed channel subdirs (strict channel priority: a name is taken
// from the first channel that has it, unless a requested spec pins it with `channel::name`) and
// from the target's virtual packages. Records are materialized when the solver first reaches
// their name. Candidate preference: fewer track_features, then highest version, highest build
// number, newest timestamp, then file name (deterministic); candidates matching a preferred version
// (set_preferred) come before all others.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "resolver/index/repodata.h"
#include "resolver/solve/provider.h"
#include "src/reporter.h"
#include "src/specs/match_spec.h"
#include "src/specs/package_record.h"
#include "src/specs/platform.h"
#include "src/status.h"

namespace ferry::resolver {

struct IndexedChannel {
  std::string url;  // normalized
  std::vector<std::unique_ptr<SubdirIndex>> subdirs;  // e.g. {linux-64, noarch}
};

class CondaProvider : public solve::DependencyProvider {
 public:
  // Borrows `channels` (priority order) and `reporter`; both must outlive the provider.
  CondaProvider(const std::vector<IndexedChannel>* channels,
                const std::vector<specs::VirtualPackage>& virtual_packages, Reporter& reporter);

  // Interns a requested match spec. A `channel::name` spec pins the name to that channel.
  // kUser on an invalid spec or a glob name (naming the spec).
  Result<solve::VersionSetId> AddRequestedSpec(std::string_view text);

  // Used in messages ("the target platform linux-64 does not provide __win").
  void set_target_platform(std::string platform);

  // Preferred candidates: name -> "VERSION" or "VERSION BUILD". Must be set before the solve
  // (candidates are ordered when a name is first reached).
  void set_preferred(std::map<std::string, std::string> preferred) {
    preferred_ = std::move(preferred);
  }

  const specs::PackageRecord& Record(solve::SolvableId s) const { return solvables_[s].record; }
  bool IsVirtual(solve::SolvableId s) const { return solvables_[s].is_virtual; }
  size_t materialized_records() const { return solvables_.size(); }

  // --- DependencyProvider ---
  solve::NameId VersionSetName(solve::VersionSetId vs) override { return vsets_[vs].name; }
  solve::NameId SolvableName(solve::SolvableId s) override { return solvables_[s].name; }
  const solve::Candidates& GetCandidates(solve::NameId name) override;
  void Filter(solve::VersionSetId vs, std::span<const solve::SolvableId> candidates, bool inverse,
              std::vector<solve::SolvableId>* out) override;
  solve::Dependencies GetDependencies(solve::SolvableId s) override;
  std::string NameText(solve::NameId name) override { return names_[name]; }
  std::string VersionSetText(solve::VersionSetId vs) override { return vsets_[vs].text; }
  std::string SolvableText(solve::SolvableId s) override;
  std::string SolvableVersionText(solve::SolvableId s) override;
  std::string MissingHint(solve::VersionSetId vs) override;

 private:
  struct Solvable {
    specs::PackageRecord record;
    solve::NameId name;
    bool is_virtual = false;
  };
  struct VSet {
    specs::MatchSpec spec;
    solve::NameId name;
    std::string text;
  };
  solve::NameId Intern(std::string_view name);
  // Interns a dependency spec; error text when it does not parse.
  Result<solve::VersionSetId> SpecId(std::string_view text);

  const std::vector<IndexedChannel>* channels_;
  std::vector<specs::VirtualPackage> virtual_;
  Reporter& reporter_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, solve::NameId> name_ids_;
  std::vector<VSet> vsets_;
  std::unordered_map<std::string, solve::VersionSetId> vset_ids_;
  std::unordered_map<std::string, std::string> bad_specs_;  // text -> parse error
  std::vector<Solvable> solvables_;
  std::unordered_map<solve::NameId, solve::Candidates> candidates_;
  std::unordered_map<std::string, std::string> pinned_;  // name -> channel (from requests)
  std::string target_;
  std::map<std::string, std::string> preferred_;
};

}  // namespace ferry::resolver
