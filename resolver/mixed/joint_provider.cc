#include "resolver/mixed/joint_provider.h"

#include <algorithm>

#include "src/specs/pep440.h"

namespace ferry::resolver::mixed {

using solve::Candidates;
using solve::Dependencies;
using solve::NameId;
using solve::SolvableId;
using solve::VersionSetId;

std::vector<std::string> PypiPurlNames(const specs::PackageRecord& r) {
  std::vector<std::string> out;
  static constexpr std::string_view kPrefix = "pkg:pypi/";
  for (const auto& purl : r.purls) {
    std::string_view p = purl;
    if (p.size() <= kPrefix.size()) continue;
    // The purl type is case-insensitive; the name ends at a version, qualifiers or subpath.
    std::string head(p.substr(0, kPrefix.size()));
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (head != kPrefix) continue;
    std::string_view rest = p.substr(kPrefix.size());
    size_t end = rest.find_first_of("@?#");
    std::string name(rest.substr(0, end));
    // Percent-encoded names are rare for PyPI ("%2B"...); keep the name as written otherwise.
    if (name.empty()) continue;
    out.push_back(specs::NormalizeName(name));
  }
  return out;
}

bool RecordProvides(const specs::PackageRecord& r, const std::string& dist) {
  std::vector<std::string> purls = PypiPurlNames(r);
  if (!purls.empty()) return std::find(purls.begin(), purls.end(), dist) != purls.end();
  return specs::NormalizeName(r.name) == dist;
}

namespace {

uint64_t Key(uint8_t side, int sub, uint32_t local) {
  return (uint64_t{side} << 56) | (uint64_t(uint32_t(sub + 1)) << 32) | local;
}

}  // namespace

JointProvider::JointProvider(CondaProvider& conda, const pypi::PypiRequest& base,
                             pypi::IndexClient& index, pypi::WheelMetadataFetcher& metadata)
    : conda_(conda), base_(base), index_(index), metadata_(metadata) {}

Status JointProvider::AddPython(const std::string& minor, const std::string& version) {
  Sub sub;
  sub.python = minor;
  sub.request = std::make_unique<pypi::PypiRequest>(base_);
  sub.request->python_version = version;
  sub.request->provided.clear();
  sub.request->requirements.clear();
  FERRY_ASSIGN_OR_RETURN(sub.provider, pypi::PypiProvider::Create(*sub.request, index_, metadata_));
  sub.provider->set_provided_lookup([this](const std::string& dist) { return ProvidersOf(dist); });
  FERRY_ASSIGN_OR_RETURN(sub.python_vs, AddCondaSpec("python " + minor + ".*"));
  python_versions_.push_back(minor);
  python_full_.push_back(version);
  subs_.push_back(std::move(sub));
  return Status();
}

void JointProvider::NoteCondaRecords() {
  size_t n = conda_.materialized_records();
  for (; purls_scanned_ < n; ++purls_scanned_) {
    const specs::PackageRecord& r = conda_.Record(static_cast<SolvableId>(purls_scanned_));
    for (const auto& dist : PypiPurlNames(r)) purl_names_[dist].insert(r.name);
  }
}

Result<VersionSetId> JointProvider::AddCondaSpec(const std::string& text) {
  FERRY_ASSIGN_OR_RETURN(VersionSetId local, conda_.AddRequestedSpec(text));
  return JointVs({VsKind::kConda, -1, local, ""});
}

solve::Requirement JointProvider::AddPypiRequirement(const specs::Requirement& r,
                                                     const std::string& text) {
  Selector sel;
  sel.text = text;
  for (auto& sub : subs_) {
    std::vector<VersionSetId> vss;
    if (r.marker.Evaluate(sub.provider->marker_env())) sub.provider->AddRequirement(r, &vss);
    sel.per_python.push_back(std::move(vss));
  }
  selectors_.push_back(std::move(sel));
  uint32_t index = static_cast<uint32_t>(selectors_.size() - 1);
  return solve::Requirement{{JointVs({VsKind::kSelector, -1, index, ""})}};
}

Status JointProvider::fatal() const {
  for (const auto& sub : subs_)
    if (!sub.provider->fatal().ok()) return sub.provider->fatal();
  return Status();
}

NameId JointProvider::JointName(Side side, int sub, NameId local) {
  uint64_t key = Key(static_cast<uint8_t>(side), sub, local);
  auto [it, inserted] = name_ids_.emplace(key, static_cast<NameId>(names_.size()));
  if (inserted) names_.push_back({side, sub, local});
  return it->second;
}

SolvableId JointProvider::JointSolvable(Side side, int sub, SolvableId local) {
  uint64_t key = Key(static_cast<uint8_t>(side), sub, local);
  auto it = solvable_ids_.find(key);
  if (it != solvable_ids_.end()) return it->second;
  NameId name;
  switch (side) {
    case Side::kConda:
      name = JointName(side, -1, conda_.SolvableName(local));
      break;
    case Side::kPypi:
      name = JointName(side, sub, subs_[sub].provider->SolvableName(local));
      break;
    case Side::kSelector:
    default:
      name = JointName(side, -1, local);
      break;
  }
  SolvableId id = static_cast<SolvableId>(solvables_.size());
  solvables_.push_back({side, sub, local, name});
  solvable_ids_.emplace(key, id);
  return id;
}

VersionSetId JointProvider::JointVs(VsRef ref) {
  auto key = std::make_tuple(static_cast<int>(ref.kind), ref.sub, ref.local, ref.dist);
  auto it = vset_ids_.find(key);
  if (it != vset_ids_.end()) return it->second;
  VersionSetId id = static_cast<VersionSetId>(vsets_.size());
  vsets_.push_back(std::move(ref));
  vset_ids_.emplace(std::move(key), id);
  return id;
}

const std::vector<pypi::ProvidedCandidate>& JointProvider::ProvidersOf(const std::string& dist) {
  auto it = providers_.find(dist);
  if (it != providers_.end()) return it->second;
  NoteCondaRecords();
  // Conda names to look at: the distribution's own name (conda spells it with '-' or '_'), and
  // the names whose records declare it in their purls.
  std::set<std::string> names = {dist};
  std::string underscored = dist;
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  names.insert(underscored);
  if (auto p = purl_names_.find(dist); p != purl_names_.end())
    names.insert(p->second.begin(), p->second.end());
  std::vector<pypi::ProvidedCandidate> out;
  std::vector<NameId> conda_names;
  for (const auto& n : names) {
    auto vs = conda_.AddRequestedSpec(n);
    if (!vs.ok()) continue;
    NameId cn = conda_.VersionSetName(*vs);
    const Candidates cands = conda_.GetCandidates(cn);
    bool any = false;
    for (SolvableId s : cands.solvables) {
      if (conda_.IsVirtual(s)) continue;
      const specs::PackageRecord& r = conda_.Record(s);
      if (!RecordProvides(r, dist)) continue;
      any = true;
      out.push_back({r.version.str(), uint64_t{s} + 1, conda_.SolvableText(s)});
    }
    if (any) conda_names.push_back(cn);
  }
  provider_names_[dist] = conda_names;
  return providers_.emplace(dist, std::move(out)).first->second;
}

NameId JointProvider::VersionSetName(VersionSetId vs) {
  const VsRef v = vsets_[vs];
  switch (v.kind) {
    case VsKind::kConda:
      return JointName(Side::kConda, -1, conda_.VersionSetName(v.local));
    case VsKind::kPypi:
      return JointName(Side::kPypi, v.sub, subs_[v.sub].provider->VersionSetName(v.local));
    case VsKind::kSelector:
      return JointName(Side::kSelector, -1, v.local);
    case VsKind::kCondaExact:
      return JointName(Side::kConda, -1, conda_.SolvableName(v.local));
    case VsKind::kCondaNotProviding:
    default:
      return JointName(Side::kConda, -1, v.local);
  }
}

const Candidates& JointProvider::GetCandidates(NameId name) {
  auto it = candidates_.find(name);
  if (it != candidates_.end()) return it->second;
  const NameRef ref = names_[name];
  Candidates out;
  auto map_from = [&](const Candidates& c, Side side, int sub) {
    for (SolvableId s : c.solvables) out.solvables.push_back(JointSolvable(side, sub, s));
    for (const auto& [s, why] : c.excluded)
      out.excluded.emplace_back(JointSolvable(side, sub, s), why);
  };
  switch (ref.side) {
    case Side::kConda: {
      const Candidates c = conda_.GetCandidates(ref.local);
      map_from(c, Side::kConda, -1);
      break;
    }
    case Side::kPypi: {
      const Candidates c = subs_[ref.sub].provider->GetCandidates(ref.local);
      map_from(c, Side::kPypi, ref.sub);
      break;
    }
    case Side::kSelector:
      for (size_t i = 0; i < subs_.size(); ++i)
        out.solvables.push_back(JointSolvable(Side::kSelector, static_cast<int>(i), ref.local));
      break;
  }
  return candidates_.emplace(name, std::move(out)).first->second;
}

void JointProvider::Filter(VersionSetId vs, std::span<const SolvableId> candidates, bool inverse,
                           std::vector<SolvableId>* out) {
  const VsRef v = vsets_[vs];
  switch (v.kind) {
    case VsKind::kConda:
    case VsKind::kPypi: {
      // All candidates belong to the version set's name, hence to one side.
      Side side = v.kind == VsKind::kConda ? Side::kConda : Side::kPypi;
      std::vector<SolvableId> local, picked;
      local.reserve(candidates.size());
      for (SolvableId s : candidates) local.push_back(solvables_[s].local);
      if (side == Side::kConda)
        conda_.Filter(v.local, local, inverse, &picked);
      else
        subs_[v.sub].provider->Filter(v.local, local, inverse, &picked);
      for (SolvableId l : picked) out->push_back(JointSolvable(side, v.sub, l));
      return;
    }
    case VsKind::kSelector:
      if (!inverse) out->insert(out->end(), candidates.begin(), candidates.end());
      return;
    case VsKind::kCondaExact:
      for (SolvableId s : candidates)
        if ((solvables_[s].local == v.local) != inverse) out->push_back(s);
      return;
    case VsKind::kCondaNotProviding:
      for (SolvableId s : candidates) {
        SolvableId l = solvables_[s].local;
        bool provides = !conda_.IsVirtual(l) && RecordProvides(conda_.Record(l), v.dist);
        if (!provides != inverse) out->push_back(s);
      }
      return;
  }
}

Dependencies JointProvider::GetDependencies(SolvableId s) {
  const SolvRef r = solvables_[s];
  Dependencies out;
  switch (r.side) {
    case Side::kConda: {
      Dependencies d = conda_.GetDependencies(r.local);
      out.unavailable = std::move(d.unavailable);
      for (const auto& req : d.requirements) {
        solve::Requirement jr;
        for (VersionSetId vs : req.any_of)
          jr.any_of.push_back(JointVs({VsKind::kConda, -1, vs, ""}));
        out.requirements.push_back(std::move(jr));
      }
      for (VersionSetId vs : d.constrains)
        out.constrains.push_back(JointVs({VsKind::kConda, -1, vs, ""}));
      return out;
    }
    case Side::kPypi: {
      pypi::PypiProvider& p = *subs_[r.sub].provider;
      Dependencies d = p.GetDependencies(r.local);
      const pypi::PypiProvider::Cand c = p.cand(r.local);
      out.unavailable = std::move(d.unavailable);
      for (const auto& req : d.requirements) {
        solve::Requirement jr;
        for (VersionSetId vs : req.any_of)
          jr.any_of.push_back(JointVs({VsKind::kPypi, r.sub, vs, ""}));
        out.requirements.push_back(std::move(jr));
      }
      for (VersionSetId vs : d.constrains)
        out.constrains.push_back(JointVs({VsKind::kPypi, r.sub, vs, ""}));
      if (c.provided && !c.base && c.provided_tag > 0) {
        // Satisfied by a conda record: that record is installed (and brings its dependencies).
        out.requirements.push_back(solve::Requirement{
            {JointVs({VsKind::kCondaExact, -1, static_cast<uint32_t>(c.provided_tag - 1), ""})}});
      } else if (p.IsWheel(r.local)) {
        // Installed from a wheel: no conda record may install the same distribution.
        const std::string dist = p.name(c.name).base;
        ProvidersOf(dist);
        for (NameId cn : provider_names_[dist])
          out.constrains.push_back(JointVs({VsKind::kCondaNotProviding, -1, cn, dist}));
      }
      return out;
    }
    case Side::kSelector: {
      out.requirements.push_back(solve::Requirement{{subs_[r.sub].python_vs}});
      for (VersionSetId vs : selectors_[r.local].per_python[r.sub])
        out.requirements.push_back(solve::Requirement{{JointVs({VsKind::kPypi, r.sub, vs, ""})}});
      return out;
    }
  }
  return out;
}

void JointProvider::Prefetch(std::span<const SolvableId> candidates) {
  if (candidates.empty()) return;
  const SolvRef first = solvables_[candidates[0]];
  if (first.side == Side::kSelector) return;
  std::vector<SolvableId> local;
  for (SolvableId s : candidates)
    if (solvables_[s].side == first.side && solvables_[s].sub == first.sub)
      local.push_back(solvables_[s].local);
  if (first.side == Side::kConda)
    conda_.Prefetch(local);
  else
    subs_[first.sub].provider->Prefetch(local);
}

std::string JointProvider::NameText(NameId name) {
  const NameRef& r = names_[name];
  switch (r.side) {
    case Side::kConda:
      return conda_.NameText(r.local);
    case Side::kPypi:
      return subs_[r.sub].provider->NameText(r.local) + " (PyPI, python " + subs_[r.sub].python +
             ")";
    case Side::kSelector:
    default:
      return "PyPI requirement " + selectors_[r.local].text;
  }
}

std::string JointProvider::VersionSetText(VersionSetId vs) {
  const VsRef& v = vsets_[vs];
  switch (v.kind) {
    case VsKind::kConda:
      return conda_.VersionSetText(v.local);
    case VsKind::kPypi:
      return subs_[v.sub].provider->VersionSetText(v.local) + " (PyPI, python " +
             subs_[v.sub].python + ")";
    case VsKind::kSelector:
      return "PyPI requirement " + selectors_[v.local].text;
    case VsKind::kCondaExact:
      return conda_.SolvableText(v.local) + " (conda, providing the PyPI distribution)";
    case VsKind::kCondaNotProviding:
    default:
      return conda_.NameText(v.local) + " without the PyPI distribution " + v.dist +
             " (it is installed from a PyPI wheel)";
  }
}

std::string JointProvider::SolvableText(SolvableId s) {
  const SolvRef& r = solvables_[s];
  switch (r.side) {
    case Side::kConda:
      return conda_.SolvableText(r.local);
    case Side::kPypi:
      return subs_[r.sub].provider->SolvableText(r.local) + " (PyPI, python " +
             subs_[r.sub].python + ")";
    case Side::kSelector:
    default:
      return "PyPI requirement " + selectors_[r.local].text + " for python " + subs_[r.sub].python;
  }
}

std::string JointProvider::SolvableVersionText(SolvableId s) {
  const SolvRef& r = solvables_[s];
  switch (r.side) {
    case Side::kConda:
      return conda_.SolvableVersionText(r.local);
    case Side::kPypi:
      return subs_[r.sub].provider->SolvableVersionText(r.local);
    case Side::kSelector:
    default:
      return "for python " + subs_[r.sub].python;
  }
}

std::string JointProvider::MissingHint(VersionSetId vs) {
  const VsRef& v = vsets_[vs];
  if (v.kind == VsKind::kConda) return conda_.MissingHint(v.local);
  if (v.kind == VsKind::kPypi) return subs_[v.sub].provider->MissingHint(v.local);
  if (v.kind == VsKind::kSelector && subs_.empty())
    return "no python version allowed by the conda specs";
  return "";
}

}  // namespace ferry::resolver::mixed
