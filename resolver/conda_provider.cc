#include "resolver/conda_provider.h"

#include <algorithm>

namespace ferry::resolver {

namespace {

bool ChannelMatches(const std::string& channel_url, const std::string& wanted) {
  std::string w = wanted;
  while (!w.empty() && w.back() == '/') w.pop_back();
  if (channel_url == w) return true;
  return channel_url.size() > w.size() &&
         channel_url.compare(channel_url.size() - w.size(), w.size(), w) == 0 &&
         channel_url[channel_url.size() - w.size() - 1] == '/';
}

// Preference: fewer track_features, higher version, higher build number, newer timestamp,
// then file name and URL (total and deterministic).
bool Better(const specs::PackageRecord& a, const specs::PackageRecord& b) {
  if (a.track_features.size() != b.track_features.size()) {
    return a.track_features.size() < b.track_features.size();
  }
  int c = a.version.Compare(b.version);
  if (c != 0) return c > 0;
  if (a.build_number != b.build_number) return a.build_number > b.build_number;
  if (a.timestamp != b.timestamp) return a.timestamp > b.timestamp;
  if (a.fn != b.fn) return a.fn < b.fn;
  return a.url < b.url;
}

}  // namespace

CondaProvider::CondaProvider(const std::vector<IndexedChannel>* channels,
                             const std::vector<specs::VirtualPackage>& virtual_packages,
                             Reporter& reporter)
    : channels_(channels), virtual_(virtual_packages), reporter_(reporter) {}

void CondaProvider::set_target_platform(std::string platform) { target_ = std::move(platform); }

solve::NameId CondaProvider::Intern(std::string_view name) {
  auto it = name_ids_.find(std::string(name));
  if (it != name_ids_.end()) return it->second;
  names_.emplace_back(name);
  solve::NameId id = static_cast<solve::NameId>(names_.size() - 1);
  name_ids_.emplace(std::string(name), id);
  return id;
}

Result<solve::VersionSetId> CondaProvider::SpecId(std::string_view text) {
  std::string key(text);
  auto it = vset_ids_.find(key);
  if (it != vset_ids_.end()) return it->second;
  auto bad = bad_specs_.find(key);
  if (bad != bad_specs_.end()) return Status::User(bad->second);
  auto spec = specs::MatchSpec::Parse(text);
  if (!spec.ok()) {
    bad_specs_[key] = spec.status().message();
    return spec.status();
  }
  if (!spec->HasExactName()) {
    std::string msg = "match spec \"" + key + "\": a package name with '*' is not supported here";
    bad_specs_[key] = msg;
    return Status::User(msg);
  }
  VSet vs{std::move(spec).value(), 0, key};
  vs.name = Intern(vs.spec.name);
  vsets_.push_back(std::move(vs));
  solve::VersionSetId id = static_cast<solve::VersionSetId>(vsets_.size() - 1);
  vset_ids_.emplace(key, id);
  return id;
}

Result<solve::VersionSetId> CondaProvider::AddRequestedSpec(std::string_view text) {
  auto id = SpecId(text);
  if (!id.ok()) return id.status();
  const VSet& vs = vsets_[*id];
  if (!vs.spec.channel.empty() && vs.spec.channel != "*") {
    bool found = false;
    for (const auto& ch : *channels_) found = found || ChannelMatches(ch.url, vs.spec.channel);
    if (!found) {
      return Status::User("match spec \"" + std::string(text) + "\": channel '" +
                          vs.spec.channel + "' is not one of the channels of the request");
    }
    pinned_[vs.spec.name] = vs.spec.channel;
  }
  return id;
}

const solve::Candidates& CondaProvider::GetCandidates(solve::NameId name) {
  auto it = candidates_.find(name);
  if (it != candidates_.end()) return it->second;
  solve::Candidates& out = candidates_[name];
  const std::string& n = names_[name];
  std::vector<specs::PackageRecord> records;
  bool is_virtual = n.size() > 2 && n[0] == '_' && n[1] == '_';
  if (is_virtual) {
    for (const auto& vp : virtual_) {
      if (vp.name != n) continue;
      specs::PackageRecord r;
      r.name = vp.name;
      auto v = specs::Version::Parse(vp.version);
      if (!v.ok()) continue;
      r.version = std::move(v).value();
      r.build = vp.build;
      r.subdir = "@virtual";
      r.fn = vp.name + "-" + vp.version + "-" + vp.build;
      records.push_back(std::move(r));
    }
  } else {
    auto pin = pinned_.find(n);
    for (const auto& ch : *channels_) {
      if (pin != pinned_.end() && !ChannelMatches(ch.url, pin->second)) continue;
      bool has = false;
      for (const auto& sd : ch.subdirs) has = has || sd->HasName(n);
      if (!has) continue;
      for (const auto& sd : ch.subdirs) {
        auto recs = sd->Records(n, reporter_);
        for (auto& r : recs) records.push_back(std::move(r));
      }
      break;  // strict channel priority
    }
  }
  std::vector<size_t> order(records.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return Better(records[a], records[b]); });
  if (auto pref = preferred_.find(n); pref != preferred_.end()) {
    std::string_view want = pref->second;
    size_t space = want.find(' ');
    std::string_view version = want.substr(0, space);
    std::string_view build = space == std::string_view::npos ? "" : want.substr(space + 1);
    std::stable_partition(order.begin(), order.end(), [&](size_t i) {
      return records[i].version.str() == version && (build.empty() || records[i].build == build);
    });
  }
  out.solvables.reserve(records.size());
  for (size_t i : order) {
    solvables_.push_back(Solvable{std::move(records[i]), name, is_virtual});
    out.solvables.push_back(static_cast<solve::SolvableId>(solvables_.size() - 1));
  }
  return out;
}

void CondaProvider::Filter(solve::VersionSetId vs, std::span<const solve::SolvableId> candidates,
                           bool inverse, std::vector<solve::SolvableId>* out) {
  const specs::MatchSpec& spec = vsets_[vs].spec;
  for (solve::SolvableId s : candidates) {
    if (spec.Matches(solvables_[s].record) != inverse) out->push_back(s);
  }
}

solve::Dependencies CondaProvider::GetDependencies(solve::SolvableId s) {
  solve::Dependencies deps;
  // Copy: SpecId may grow solvables_? No (only names/vsets), but keep it simple and safe.
  const specs::PackageRecord& r = solvables_[s].record;
  auto bad = [&](const std::string& spec, const Status& st) {
    std::string msg = "its dependency \"" + spec + "\" is invalid (" + st.message() + ")";
    reporter_.Warn("channel " + r.channel + ", file " + r.subdir + "/repodata.json: record " +
                   r.fn + ": " + msg + "; the record is skipped");
    deps.unavailable = msg;
  };
  for (const auto& d : r.depends) {
    auto id = SpecId(d);
    if (!id.ok()) {
      bad(d, id.status());
      return deps;
    }
    deps.requirements.push_back(solve::Requirement{{*id}});
  }
  for (const auto& c : r.constrains) {
    auto id = SpecId(c);
    if (!id.ok()) {
      bad(c, id.status());
      return deps;
    }
    deps.constrains.push_back(*id);
  }
  return deps;
}

std::string CondaProvider::SolvableText(solve::SolvableId s) {
  const auto& r = solvables_[s].record;
  return r.name + " " + r.version.str() + " " + r.build;
}

std::string CondaProvider::SolvableVersionText(solve::SolvableId s) {
  return solvables_[s].record.version.str();
}

std::string CondaProvider::MissingHint(solve::VersionSetId vs) {
  const std::string& n = names_[vsets_[vs].name];
  const solve::Candidates& cands = GetCandidates(vsets_[vs].name);
  bool is_virtual = n.size() > 2 && n[0] == '_' && n[1] == '_';
  if (is_virtual) {
    if (cands.solvables.empty()) {
      if (n == "__cuda") return "the target platform does not provide __cuda; set it with __cuda=VERSION";
      return "the target platform " + target_ + " does not provide " + n;
    }
    return "the target platform provides " + SolvableText(cands.solvables[0]) +
           "; override it with " + n + "=VERSION";
  }
  if (cands.solvables.empty()) return "no package named " + n + " in the channels";
  std::vector<std::string> versions;
  for (solve::SolvableId s : cands.solvables) {
    std::string v = solvables_[s].record.version.str();
    if (std::find(versions.begin(), versions.end(), v) == versions.end()) versions.push_back(v);
  }
  std::string out = "available: ";
  for (size_t i = 0; i < versions.size() && i < 5; ++i) out += (i ? ", " : "") + versions[i];
  if (versions.size() > 5) out += ", ... (" + std::to_string(versions.size()) + " versions)";
  return out;
}

}  // namespace ferry::resolver
