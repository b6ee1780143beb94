#include "resolver/pypi/pypi_resolver.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

#include "resolver/solve/solver.h"
#include "src/specs/pep440.h"
#include "src/specs/pep508.h"
#include "src/specs/wheel.h"

namespace ferry::resolver::pypi {
namespace {

using solve::Candidates;
using solve::Dependencies;
using solve::NameId;
using solve::SolvableId;
using solve::VersionSetId;
using specs::Pep440Version;
using specs::SpecifierSet;

struct Name {
  std::string base;   // normalized project name
  std::string extra;  // "" for the project itself
  std::string Text() const { return extra.empty() ? base : base + "[" + extra + "]"; }
};

struct Cand {
  NameId name;
  Pep440Version version;
  const IndexFile* file = nullptr;  // best wheel; null for provided/excluded
  bool provided = false;            // installed by a conda package
  bool yanked = false;
  std::optional<SolvableId> base;   // for extras: the project solvable of the same version
};

struct VersionSet {
  NameId name;
  SpecifierSet spec;
  std::string text;
  std::optional<SolvableId> exact;  // extras: exactly this base solvable
};

class PypiProvider : public solve::DependencyProvider {
 public:
  PypiProvider(const PypiRequest& req, IndexClient& index, WheelMetadataFetcher& metadata,
               specs::MarkerEnvironment env, specs::TagPriorities tags,
               std::optional<Pep440Version> python)
      : req_(req), index_(index), metadata_(metadata), env_(std::move(env)),
        tags_(std::move(tags)), python_(std::move(python)) {}

  Status fatal() const { return fatal_; }
  const Cand& cand(SolvableId s) const { return cands_[s]; }
  const Name& name(NameId n) const { return names_[n]; }
  const std::vector<std::string>& applied_depends(SolvableId s) { return depends_text_[s]; }

  NameId Intern(const std::string& base, const std::string& extra) {
    std::string key = extra.empty() ? base : base + "[" + extra + "]";
    auto [it, inserted] = name_ids_.emplace(key, static_cast<NameId>(names_.size()));
    if (inserted) names_.push_back({base, extra});
    return it->second;
  }

  VersionSetId AddVersionSet(NameId n, SpecifierSet spec, std::string text,
                             std::optional<SolvableId> exact = std::nullopt) {
    vsets_.push_back({n, std::move(spec), std::move(text), exact});
    return static_cast<VersionSetId>(vsets_.size() - 1);
  }

  NameId VersionSetName(VersionSetId vs) override { return vsets_[vs].name; }
  NameId SolvableName(SolvableId s) override { return cands_[s].name; }

  const Candidates& GetCandidates(NameId n) override {
    auto it = candidates_.find(n);
    if (it != candidates_.end()) return it->second;
    Candidates c = LoadCandidates(n);
    return candidates_.emplace(n, std::move(c)).first->second;
  }

  void Filter(VersionSetId vs_id, std::span<const SolvableId> in, bool inverse,
              std::vector<SolvableId>* out) override {
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

  Dependencies GetDependencies(SolvableId s) override {
    Dependencies deps;
    const Cand c = cands_[s];      // copies: Intern/AddVersionSet below grow the tables
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
      std::string dep = r->NormalizedName();
      if (n.extra.empty()) depends_text_[s].push_back(text);
      NameId dn = Intern(dep, "");
      new_names.push_back(dep);
      std::string spec_text = r->specifier.ToString();
      deps.requirements.push_back(
          {{AddVersionSet(dn, r->specifier, spec_text.empty() ? dep : dep + " " + spec_text)}});
      for (const auto& extra : r->extras) {
        NameId en = Intern(dep, extra);
        deps.requirements.push_back({{AddVersionSet(
            en, r->specifier, spec_text.empty() ? dep + "[" + extra + "]"
                                                : dep + "[" + extra + "] " + spec_text)}});
      }
    }
    // The next names the solver will reach: fetch their pages in one parallel round.
    if (Status st = index_.Prefetch(new_names); !st.ok()) fatal_ = st;
    return deps;
  }

  // Queues the best few candidates; they are fetched together with the next metadata the solver
  // really needs (MetadataFor), so that one HTTP round serves all the requirements added since.
  void Prefetch(std::span<const SolvableId> candidates) override {
    size_t queued = 0;
    for (SolvableId s : candidates) {
      if (queued >= kPrefetchPerRequirement) break;
      SolvableId m = cands_[s].base ? *cands_[s].base : s;
      if (!cands_[m].file || metadata_cache_.count(m)) continue;
      if (pending_set_.insert(m).second) pending_.push_back(m);
      ++queued;
    }
  }

  std::string NameText(NameId n) override { return names_[n].Text(); }
  std::string VersionSetText(VersionSetId vs) override { return vsets_[vs].text; }
  std::string SolvableText(SolvableId s) override {
    const Cand& c = cands_[s];
    return names_[c.name].Text() + " " + c.version.ToString() + (c.provided ? " (from conda)" : "");
  }
  std::string SolvableVersionText(SolvableId s) override { return cands_[s].version.ToString(); }

 private:
  Candidates LoadCandidates(NameId n) {
    Candidates out;
    const Name nm = names_[n];
    if (!nm.extra.empty()) {
      NameId base = Intern(nm.base, "");
      const Candidates& bc = GetCandidates(base);
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
      Cand c{n, v.ok() ? *v : Pep440Version(), nullptr, true};
      out.solvables.push_back(NewCand(std::move(c)));
      return out;
    }
    auto page = index_.Page(nm.base);
    if (!page.ok()) {
      fatal_ = page.status();
      return out;
    }
    if (*page == nullptr) return out;  // in no index: "no candidates" in the explanation
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
        Cand c{n, pv.version};
        std::string why = pv.has_wheel
                              ? (pv.python_ok ? "no wheel for " + req_.platform + " python " +
                                                    req_.python_version
                                              : "requires a different python than " +
                                                    req_.python_version)
                              : "only an sdist is published, and building sdists is not supported "
                                "yet";
        if (!pv.has_wheel && pv.has_sdist) sdist_only_.insert(nm.base);
        out.excluded.emplace_back(NewCand(std::move(c)), why);
        continue;
      }
      Cand c{n, pv.version, pv.best};
      c.yanked = pv.best->yanked;
      bool is_yanked = c.yanked;
      SolvableId id = NewCand(std::move(c));
      if (preferred && pv.version == *preferred) good.insert(good.begin(), id);
      else (is_yanked ? yanked : good).push_back(id);
    }
    out.solvables = good;
    out.solvables.insert(out.solvables.end(), yanked.begin(), yanked.end());
    return out;
  }

  SolvableId NewCand(Cand c) {
    cands_.push_back(std::move(c));
    return static_cast<SolvableId>(cands_.size() - 1);
  }

  void FetchMetadata(const std::vector<SolvableId>& ids) {
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

  Result<std::shared_ptr<CoreMetadata>> MetadataFor(SolvableId s) {
    if (!metadata_cache_.count(s)) {
      std::vector<SolvableId> ids{s};
      for (SolvableId p : pending_)
        if (p != s && !metadata_cache_.count(p)) ids.push_back(p);
      pending_.clear();
      pending_set_.clear();
      FetchMetadata(ids);
    }
    return metadata_cache_.at(s);
  }

  // Versions per requirement whose metadata is fetched ahead: the newest usually wins; a second
  // one makes the first backtracking step free.
  static constexpr size_t kPrefetchPerRequirement = 2;

  const PypiRequest& req_;
  IndexClient& index_;
  WheelMetadataFetcher& metadata_;
  specs::MarkerEnvironment env_;
  specs::TagPriorities tags_;
  std::optional<Pep440Version> python_;
  std::vector<Name> names_;
  std::unordered_map<std::string, NameId> name_ids_;
  std::vector<Cand> cands_;
  std::vector<VersionSet> vsets_;
  std::unordered_map<NameId, Candidates> candidates_;
  std::unordered_map<SolvableId, Result<std::shared_ptr<CoreMetadata>>> metadata_cache_;
  std::unordered_map<SolvableId, std::vector<std::string>> depends_text_;
  std::vector<SolvableId> pending_;  // queued by Prefetch, in order
  std::set<SolvableId> pending_set_;
  Status fatal_;

 public:
  std::set<std::string> sdist_only_;
};

std::string GlibcFor(const PypiRequest& req) {
  auto it = req.virtual_overrides.find("__glibc");
  return it == req.virtual_overrides.end() ? "" : it->second;
}

}  // namespace

Result<PypiResolution> ResolvePypi(const PypiRequest& request, IndexClient& index,
                                   WheelMetadataFetcher& metadata, Reporter& reporter) {
  if (request.python_version.empty())
    return Status::User("resolving PyPI requirements needs a python version (--python X.Y or a "
                        "python conda package)");
  FERRY_ASSIGN_OR_RETURN(specs::MarkerEnvironment env,
                         specs::MarkerEnvironmentFor(request.platform, request.python_version));
  std::string os_version = GlibcFor(request);
  if (request.platform.rfind("osx", 0) == 0) {
    auto it = request.virtual_overrides.find("__osx");
    os_version = it == request.virtual_overrides.end() ? "" : it->second;
  }
  FERRY_ASSIGN_OR_RETURN(specs::WheelTarget target,
                         specs::WheelTargetFor(request.platform, request.python_version, os_version));
  std::optional<Pep440Version> python;
  if (auto pv = Pep440Version::Parse(env.python_full_version); pv.ok()) python = *pv;
  PypiProvider provider(request, index, metadata, env,
                        specs::TagPriorities(specs::CompatibleTags(target)), python);

  solve::Problem problem;
  std::vector<std::string> roots;
  for (const auto& text : request.requirements) {
    auto r = specs::Requirement::Parse(text);
    if (!r.ok()) return r.status().WithContext("PyPI requirement \"" + text + "\"");
    if (!r->marker.Evaluate(env)) continue;  // not for this target
    if (!r->url.empty())
      return Status::User("PyPI requirement \"" + text + "\": direct URLs are not supported yet");
    std::string name = r->NormalizedName();
    roots.push_back(name);
    std::string spec_text = r->specifier.ToString();
    NameId n = provider.Intern(name, "");
    problem.requirements.push_back(
        {{provider.AddVersionSet(n, r->specifier, spec_text.empty() ? name : name + " " + spec_text)}});
    for (const auto& extra : r->extras) {
      NameId en = provider.Intern(name, extra);
      problem.requirements.push_back(
          {{provider.AddVersionSet(en, r->specifier, name + "[" + extra + "]" +
                                                         (spec_text.empty() ? "" : " " + spec_text))}});
    }
  }
  FERRY_RETURN_IF_ERROR(index.Prefetch(roots));
  solve::SolveOutcome outcome = solve::Solve(provider, problem);
  FERRY_RETURN_IF_ERROR(provider.fatal());

  PypiResolution res;
  if (!outcome.solved) {
    res.explanation = outcome.explanation;
    for (const auto& [name, version] : request.provided) {
      if (res.explanation.find(name) != std::string::npos)
        res.explanation += "\nnote: " + name + " " + version +
                           " is installed by a conda package of this environment";
    }
    for (const auto& name : provider.sdist_only_) {
      res.explanation += "\nnote: " + name +
                         " publishes only an sdist for this target; building sdists is not "
                         "supported yet";
    }
    return res;
  }
  res.solved = true;
  std::vector<const IndexFile*> need_size;
  for (SolvableId s : outcome.solution) {
    const Cand& c = provider.cand(s);
    if (c.provided || c.base || !c.file) continue;
    LockedPackage p;
    p.kind = PackageKind::kPypi;
    p.name = provider.name(c.name).base;
    p.version = c.version.ToString();
    p.filename = c.file->filename;
    p.url = c.file->url;
    p.sha256 = c.file->sha256;
    p.size = c.file->size.value_or(0);
    p.requires_python = c.file->requires_python;
    p.depends = provider.applied_depends(s);
    p.channel = index.SourceIndex(p.name);
    if (p.sha256.empty()) {
      return Status::User("index " + RedactUrl(p.channel) + ", project " + p.name + ", file " +
                          p.filename + ": the index gives no sha256, so the file cannot be locked");
    }
    res.packages.push_back(std::move(p));
  }
  SortPackages(res.packages);
  reporter.Info("pypi: " + std::to_string(res.packages.size()) + " packages, " +
                std::to_string(outcome.stats.decisions) + " decisions, " +
                std::to_string(outcome.stats.conflicts) + " conflicts");
  return res;
}

}  // namespace ferry::resolver::pypi
