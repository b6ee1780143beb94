#include "resolver/pypi/pypi_provider.h"

#include <algorithm>

namespace ferry::resolver::pypi {

using solve::Candidates;
using solve::Dependencies;
using solve::NameId;
using solve::SolvableId;
using solve::VersionSetId;
using specs::Pep440Version;
using specs::SpecifierSet;

namespace {

std::string OsVersionFor(const PypiRequest& req) {
  std::string key = req.platform.rfind("osx", 0) == 0 ? "__osx" : "__glibc";
  auto it = req.virtual_overrides.find(key);
  return it == req.virtual_overrides.end() ? "" : it->second;
}

}  // namespace

Result<std::unique_ptr<PypiProvider>> PypiProvider::Create(const PypiRequest& req,
                                                           IndexClient& index,
                                                           WheelMetadataFetcher& metadata) {
  if (req.python_version.empty())
    return Status::User(
        "resolving PyPI requirements needs a python version (--python X.Y or a "
        "python conda package)");
  FERRY_ASSIGN_OR_RETURN(specs::MarkerEnvironment env,
                         specs::MarkerEnvironmentFor(req.platform, req.python_version));
  FERRY_ASSIGN_OR_RETURN(
      specs::WheelTarget target,
      specs::WheelTargetFor(req.platform, req.python_version, OsVersionFor(req)));
  std::optional<Pep440Version> python;
  if (auto pv = Pep440Version::Parse(env.python_full_version); pv.ok()) python = *pv;
  return std::unique_ptr<PypiProvider>(
      new PypiProvider(req, index, metadata, std::move(env),
                       specs::TagPriorities(specs::CompatibleTags(target)), std::move(python)));
}

PypiProvider::PypiProvider(const PypiRequest& req, IndexClient& index,
                           WheelMetadataFetcher& metadata, specs::MarkerEnvironment env,
                           specs::TagPriorities tags, std::optional<Pep440Version> python)
    : req_(req),
      index_(index),
      metadata_(metadata),
      env_(std::move(env)),
      tags_(std::move(tags)),
      python_(std::move(python)) {}

NameId PypiProvider::Intern(const std::string& base, const std::string& extra) {
  std::string key = extra.empty() ? base : base + "[" + extra + "]";
  auto [it, inserted] = name_ids_.emplace(key, static_cast<NameId>(names_.size()));
  if (inserted) names_.push_back({base, extra});
  return it->second;
}

VersionSetId PypiProvider::AddVersionSet(NameId n, SpecifierSet spec, std::string text,
                                         std::optional<SolvableId> exact) {
  vsets_.push_back({n, std::move(spec), std::move(text), exact});
  return static_cast<VersionSetId>(vsets_.size() - 1);
}

void PypiProvider::AddRequirement(const specs::Requirement& r, std::vector<VersionSetId>* out) {
  std::string name = r.NormalizedName();
  std::string spec_text = r.specifier.ToString();
  NameId n = Intern(name, "");
  out->push_back(AddVersionSet(n, r.specifier, spec_text.empty() ? name : name + " " + spec_text));
  for (const auto& extra : r.extras) {
    NameId en = Intern(name, extra);
    out->push_back(AddVersionSet(
        en, r.specifier, name + "[" + extra + "]" + (spec_text.empty() ? "" : " " + spec_text)));
  }
}

const Candidates& PypiProvider::GetCandidates(NameId n) {
  auto it = candidates_.find(n);
  if (it != candidates_.end()) return it->second;
  Candidates c = LoadCandidates(n);
  return candidates_.emplace(n, std::move(c)).first->second;
}

void PypiProvider::Filter(VersionSetId vs_id, std::span<const SolvableId> in, bool inverse,
                          std::vector<SolvableId>* out) {
  const VersionSet& vs = vsets_[vs_id];
  // PEP 440: pre-releases only when allowed, asked for by the specifier, or when no final
  // release matches. PEP 592: yanked files only for an exact == / === pin.
  bool pin = false;
  for (const auto& sp : vs.spec.specifiers())
    if ((sp.op() == specs::Specifier::Op::kEq && !sp.wildcard()) ||
        sp.op() == specs::Specifier::Op::kArbitrary)
      pin = true;
  bool allow_pre = req_.allow_prereleases || vs.spec.AllowsPrereleases();
  auto accepts = [&](SolvableId s, bool pre_ok) {
    const Cand& c = cands_[s];
    if (vs.exact) return s == *vs.exact;
    if (c.provided) return vs.spec.Contains(c.version, true);
    if (c.yanked && !pin) return false;
    if (c.version.is_prerelease() && !pre_ok) return false;
    return vs.spec.Contains(c.version, true);
  };
  bool any_final = false;
  if (!allow_pre) {
    for (SolvableId s : in)
      if (accepts(s, false)) any_final = true;
  }
  bool pre_ok = allow_pre || !any_final;
  for (SolvableId s : in)
    if (accepts(s, pre_ok) != inverse) out->push_back(s);
}

Dependencies PypiProvider::GetDependencies(SolvableId s) {
  Dependencies deps;
  const Cand c = cands_[s];  // copies: Intern/AddVersionSet below grow the tables
  const Name n = names_[c.name];
  if (c.provided) return deps;  // the conda package brings its own dependencies
  if (c.base) {
    // pkg[extra] == V requires pkg == V, plus the requirements guarded by the extra.
    VersionSetId base_vs = AddVersionSet(cands_[*c.base].name, SpecifierSet(),
                                         n.base + " ==" + c.version.ToString(), *c.base);
    deps.requirements.push_back({{base_vs}});
    if (cands_[*c.base].provided) return deps;
  }
  SolvableId meta_of = c.base ? *c.base : s;
  auto md = MetadataFor(meta_of);
  if (!md.ok()) {
    deps.unavailable = md.status().message();
    if (md.status().code() != Code::kUser) fatal_ = md.status();
    return deps;
  }
  std::vector<std::string> new_names;
  for (const auto& text : (*md)->requires_dist) {
    auto r = specs::Requirement::Parse(text);
    if (!r.ok()) {
      deps.unavailable = "invalid Requires-Dist \"" + text + "\": " + r.status().message();
      return deps;
    }
    bool applies = n.extra.empty() ? r->marker.Evaluate(env_)
                                   : r->Applies(env_, {n.extra}) && !r->marker.Evaluate(env_);
    if (!applies) continue;
    if (!r->url.empty()) {
      deps.unavailable = "depends on a direct URL (" + text + "), which is not supported yet";
      return deps;
    }
    if (n.extra.empty()) depends_text_[s].push_back(text);
    new_names.push_back(r->NormalizedName());
    std::vector<VersionSetId> vss;
    AddRequirement(*r, &vss);
    for (VersionSetId v : vss) deps.requirements.push_back({{v}});
  }
  // The next names the solver will reach: fetch their pages in one parallel round.
  if (Status st = index_.Prefetch(new_names); !st.ok()) fatal_ = st;
  return deps;
}

// Queues the best few candidates; they are fetched together with the next metadata the solver
// really needs (MetadataFor), so that one HTTP round serves all the requirements added since.
void PypiProvider::Prefetch(std::span<const SolvableId> candidates) {
  size_t queued = 0;
  for (SolvableId s : candidates) {
    if (queued >= kPrefetchPerRequirement) break;
    SolvableId m = cands_[s].base ? *cands_[s].base : s;
    if (!cands_[m].file || metadata_cache_.count(m)) continue;
    if (pending_set_.insert(m).second) pending_.push_back(m);
    ++queued;
  }
}

std::string PypiProvider::SolvableText(SolvableId s) {
  const Cand& c = cands_[s];
  if (c.provided && !c.provided_text.empty())
    return names_[c.name].Text() + " " + c.version.ToString() + " (from conda " + c.provided_text +
           ")";
  return names_[c.name].Text() + " " + c.version.ToString() + (c.provided ? " (from conda)" : "");
}

PypiProvider::Cand PypiProvider::MakeCand(NameId n, const Pep440Version& v) {
  Cand c;
  c.name = n;
  c.version = v;
  return c;
}

Candidates PypiProvider::LoadCandidates(NameId n) {
  Candidates out;
  const Name nm = names_[n];
  if (!nm.extra.empty()) {
    NameId base = Intern(nm.base, "");
    const Candidates bc = GetCandidates(base);  // copy: NewCand below may rehash candidates_
    for (SolvableId b : bc.solvables) {
      Cand c = cands_[b];
      c.name = n;
      c.base = b;
      c.file = cands_[b].file;
      out.solvables.push_back(NewCand(std::move(c)));
    }
    return out;
  }
  if (auto it = req_.provided.find(nm.base); it != req_.provided.end()) {
    auto v = Pep440Version::Parse(it->second);
    Cand c = MakeCand(n, v.ok() ? *v : Pep440Version());
    c.provided = true;
    out.solvables.push_back(NewCand(std::move(c)));
    return out;
  }
  // Conda records providing the distribution come first: with conda packages in the same
  // environment, the conda build is preferred over a second copy from PyPI.
  std::vector<SolvableId> provided;
  if (lookup_) {
    for (const ProvidedCandidate& pc : lookup_(nm.base)) {
      auto v = Pep440Version::Parse(pc.version);
      if (!v.ok()) continue;  // a conda version PEP 440 cannot read cannot satisfy a specifier
      Cand c = MakeCand(n, *v);
      c.provided = true;
      c.provided_tag = pc.tag;
      c.provided_text = pc.text;
      provided.push_back(NewCand(std::move(c)));
    }
  }
  auto page = index_.Page(nm.base);
  if (!page.ok()) {
    fatal_ = page.status();
    return out;
  }
  if (*page == nullptr) {  // in no index: "no candidates" in the explanation
    out.solvables = provided;
    return out;
  }
  // Group files by version; keep the best wheel of each version.
  struct PerVersion {
    Pep440Version version;
    const IndexFile* best = nullptr;
    int best_priority = 0;
    bool has_sdist = false, has_wheel = false, all_yanked = true, python_ok = false;
  };
  std::vector<PerVersion> versions;
  auto slot = [&](const Pep440Version& v) -> PerVersion& {
    for (auto& pv : versions)
      if (pv.version == v && pv.version.ToString() == v.ToString()) return pv;
    versions.push_back({v});
    return versions.back();
  };
  for (const IndexFile& f : (*page)->files) {
    bool python_ok = true;
    if (!f.requires_python.empty() && python_) {
      auto rp = SpecifierSet::Parse(f.requires_python);
      python_ok = !rp.ok() || rp->Contains(*python_, true);
    }
    if (f.filename.size() > 4 && f.filename.compare(f.filename.size() - 4, 4, ".whl") == 0) {
      auto w = specs::WheelFilename::Parse(f.filename);
      if (!w.ok() || w->NormalizedName() != nm.base) continue;
      PerVersion& pv = slot(w->version);
      pv.has_wheel = true;
      if (!python_ok) continue;
      pv.python_ok = true;  // some wheel of this version accepts the target python
      auto prio = tags_.Priority(*w);
      if (!prio) continue;
      bool better = !pv.best || *prio < pv.best_priority ||
                    (*prio == pv.best_priority && pv.best->yanked && !f.yanked);
      if (better) {
        pv.best = &f;
        pv.best_priority = *prio;
      }
      if (!f.yanked) pv.all_yanked = false;
    } else {
      auto sd = specs::SdistFilename::Parse(f.filename);
      if (!sd.ok() || sd->NormalizedName() != nm.base) continue;
      slot(sd->version).has_sdist = true;
    }
  }
  std::sort(versions.begin(), versions.end(),
            [](const PerVersion& a, const PerVersion& b) { return a.version > b.version; });
  std::optional<Pep440Version> preferred;
  if (auto it = req_.preferred.find(nm.base); it != req_.preferred.end()) {
    if (auto v = Pep440Version::Parse(it->second); v.ok()) preferred = *v;
  }
  std::vector<SolvableId> good, yanked;
  for (auto& pv : versions) {
    if (!pv.best) {
      Cand c = MakeCand(n, pv.version);
      std::string why =
          pv.has_wheel
              ? (pv.python_ok ? "no wheel for " + req_.platform + " python " + req_.python_version
                              : "requires a different python than " + req_.python_version)
              : "only an sdist is published, and building sdists is not supported yet";
      if (!pv.has_wheel && pv.has_sdist) sdist_only_.insert(nm.base);
      out.excluded.emplace_back(NewCand(std::move(c)), why);
      continue;
    }
    Cand c = MakeCand(n, pv.version);
    c.file = pv.best;
    c.yanked = pv.best->yanked;
    bool is_yanked = c.yanked;
    SolvableId id = NewCand(std::move(c));
    if (preferred && pv.version == *preferred)
      good.insert(good.begin(), id);
    else
      (is_yanked ? yanked : good).push_back(id);
  }
  out.solvables = provided;
  out.solvables.insert(out.solvables.end(), good.begin(), good.end());
  out.solvables.insert(out.solvables.end(), yanked.begin(), yanked.end());
  return out;
}

SolvableId PypiProvider::NewCand(Cand c) {
  cands_.push_back(std::move(c));
  return static_cast<SolvableId>(cands_.size() - 1);
}

void PypiProvider::FetchMetadata(const std::vector<SolvableId>& ids) {
  if (ids.empty()) return;
  std::vector<IndexFile> files;
  for (SolvableId s : ids) files.push_back(*cands_[s].file);
  auto results = metadata_.FetchAll(files);
  for (size_t i = 0; i < ids.size(); ++i) {
    SolvableId s = ids[i];
    const Cand& c = cands_[s];
    if (!results[i].ok()) {
      metadata_cache_.emplace(s, results[i].status());
      continue;
    }
    const CoreMetadata& md = results[i]->metadata;
    // The wheel's METADATA must describe the file it came from.
    auto v = Pep440Version::Parse(md.version);
    if (specs::NormalizeName(md.name) != names_[c.name].base || !v.ok() || !(*v == c.version)) {
      Status st = Status::User("index " + RedactUrl(index_.SourceIndex(names_[c.name].base)) +
                               ", project " + names_[c.name].base + ", file " + c.file->filename +
                               ": METADATA says " + md.name + " " + md.version +
                               ", which disagrees with the file name");
      fatal_ = st;
      metadata_cache_.emplace(s, st);
      continue;
    }
    metadata_cache_.emplace(s, std::make_shared<CoreMetadata>(md));
  }
}

std::vector<SolvableId> PypiProvider::LookAhead(const std::vector<SolvableId>& fetched) {
  // The requirements of what was just fetched (base dependencies whose markers apply).
  std::vector<specs::Requirement> reqs;
  std::vector<std::string> names;
  for (SolvableId s : fetched) {
    auto it = metadata_cache_.find(s);
    if (it == metadata_cache_.end() || !it->second.ok()) continue;
    for (const auto& text : (*it->second)->requires_dist) {
      auto r = specs::Requirement::Parse(text);
      if (!r.ok() || !r->url.empty() || !r->marker.Evaluate(env_)) continue;
      names.push_back(r->NormalizedName());
      reqs.push_back(std::move(r).value());
    }
  }
  std::vector<SolvableId> next;
  if (reqs.empty()) return next;
  // Their pages in one round (the solver would otherwise fetch them one package at a time).
  // A failure here is not fatal: the solver may never reach these names (it reports the error
  // when it does).
  if (!index_.Prefetch(names).ok()) return next;
  std::set<SolvableId> seen;
  for (const auto& r : reqs) {
    const Candidates cands = GetCandidates(Intern(r.NormalizedName(), ""));
    // The candidate the solver will most likely pick: the first in preference order that the
    // specifier accepts (final releases, not yanked).
    for (SolvableId c : cands.solvables) {
      const Cand& cand = cands_[c];
      if (cand.provided) break;  // a conda package: nothing to fetch
      if (cand.yanked || cand.version.is_prerelease() || !r.specifier.Contains(cand.version, true))
        continue;
      if (cand.file && !metadata_cache_.count(c) && seen.insert(c).second) next.push_back(c);
      break;
    }
  }
  return next;
}

Result<std::shared_ptr<CoreMetadata>> PypiProvider::MetadataFor(SolvableId s) {
  if (!metadata_cache_.count(s)) {
    std::vector<SolvableId> ids{s};
    for (SolvableId p : pending_)
      if (p != s && !metadata_cache_.count(p)) ids.push_back(p);
    pending_.clear();
    pending_set_.clear();
    // Backtracking: the solver wants a version that is not its project's first choice, so it
    // is walking down the versions; fetch the next few in the same round.
    if (auto it = candidates_.find(cands_[s].name); it != candidates_.end()) {
      const auto& order = it->second.solvables;
      auto pos = std::find(order.begin(), order.end(), s);
      if (pos != order.end() && pos != order.begin()) {
        size_t added = 0;
        for (auto next = pos + 1; next != order.end() && added < kBacktrackAhead; ++next) {
          if (!cands_[*next].file || metadata_cache_.count(*next)) continue;
          if (std::find(ids.begin(), ids.end(), *next) == ids.end()) ids.push_back(*next);
          ++added;
        }
      }
    }
    // Breadth-first ahead of the solver: after each metadata round, the dependencies' pages in
    // one round and the metadata of their likely picks in the next, down the closure. A cold
    // resolve then costs about two rounds per closure level instead of two per package; a
    // guess the solver does not take costs requests, not rounds.
    for (int level = 0; !ids.empty() && level < kLookAheadLevels; ++level) {
      FetchMetadata(ids);
      if (!fatal_.ok()) break;
      ids = LookAhead(ids);
    }
  }
  return metadata_cache_.at(s);
}

Result<LockedPackage> PypiProvider::ToLocked(SolvableId s) {
  const Cand& c = cands_[s];
  LockedPackage p;
  p.kind = PackageKind::kPypi;
  p.name = names_[c.name].base;
  p.version = c.version.ToString();
  p.filename = c.file->filename;
  p.url = c.file->url;
  p.sha256 = c.file->sha256;
  p.size = c.file->size.value_or(0);
  p.requires_python = c.file->requires_python;
  p.depends = applied_depends(s);
  p.channel = index_.SourceIndex(p.name);
  if (p.sha256.empty()) {
    return Status::User("index " + RedactUrl(p.channel) + ", project " + p.name + ", file " +
                        p.filename + ": the index gives no sha256, so the file cannot be locked");
  }
  return p;
}

}  // namespace ferry::resolver::pypi
