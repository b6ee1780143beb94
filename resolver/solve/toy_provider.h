// An in-memory DependencyProvider for solver tests and examples: versions are dotted integers,
// version sets are "name", "name >=2", "name >=2,<3", "name ==1", "name !=2" (comma = and).
// Candidates are ordered by descending version, then insertion order.
#pragma once

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "resolver/solve/provider.h"

namespace ferry::solve {

class ToyProvider : public DependencyProvider {
 public:
  struct Pkg {
    NameId name;
    std::string version;
    std::vector<int> key;
    std::vector<std::string> depends;     // "a >=2 | b" = disjunction
    std::vector<std::string> constrains;
    std::string unavailable;
  };

  SolvableId Add(const std::string& name, const std::string& version,
                 std::vector<std::string> depends = {}, std::vector<std::string> constrains = {},
                 std::string unavailable = "") {
    Pkg p{Name(name), version, Key(version), std::move(depends), std::move(constrains),
          std::move(unavailable)};
    pkgs_.push_back(std::move(p));
    return static_cast<SolvableId>(pkgs_.size() - 1);
  }

  NameId Name(const std::string& n) {
    auto it = name_ids_.find(n);
    if (it != name_ids_.end()) return it->second;
    names_.push_back(n);
    return name_ids_[n] = static_cast<NameId>(names_.size() - 1);
  }

  VersionSetId Spec(const std::string& text) {
    auto it = vs_ids_.find(text);
    if (it != vs_ids_.end()) return it->second;
    std::istringstream in(text);
    std::string name, cons;
    in >> name;
    std::getline(in, cons);
    cons.erase(0, cons.find_first_not_of(' '));
    VS vs;
    vs.name = Name(name);
    vs.text = cons.empty() ? name : name + " " + cons;
    std::stringstream parts(cons);
    std::string part;
    while (std::getline(parts, part, ',')) {
      if (part.empty()) continue;
      size_t k = part.find_first_of("0123456789");
      vs.ops.push_back({part.substr(0, k), Key(part.substr(k))});
    }
    vss_.push_back(std::move(vs));
    return vs_ids_[text] = static_cast<VersionSetId>(vss_.size() - 1);
  }

  Requirement Req(const std::string& text) {
    Requirement r;
    std::stringstream alts(text);
    std::string alt;
    while (std::getline(alts, alt, '|')) {
      alt.erase(0, alt.find_first_not_of(' '));
      while (!alt.empty() && alt.back() == ' ') alt.pop_back();
      r.any_of.push_back(Spec(alt));
    }
    return r;
  }

  const Pkg& pkg(SolvableId s) const { return pkgs_[s]; }
  const std::string& name_text(NameId n) const { return names_[n]; }
  bool Matches(VersionSetId vs, SolvableId s) const {
    const VS& v = vss_[vs];
    if (pkgs_[s].name != v.name) return false;
    for (const auto& [op, key] : v.ops) {
      int c = Cmp(pkgs_[s].key, key);
      bool ok = op == ">=" ? c >= 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : op == "<" ? c < 0
              : op == "!=" ? c != 0 : c == 0;
      if (!ok) return false;
    }
    return true;
  }

  int candidate_loads = 0;
  int dependency_loads = 0;

  // --- DependencyProvider ---
  NameId VersionSetName(VersionSetId vs) override { return vss_[vs].name; }
  NameId SolvableName(SolvableId s) override { return pkgs_[s].name; }
  const Candidates& GetCandidates(NameId name) override {
    auto it = cands_.find(name);
    if (it != cands_.end()) return it->second;
    ++candidate_loads;
    Candidates c;
    for (SolvableId s = 0; s < pkgs_.size(); ++s) {
      if (pkgs_[s].name == name) c.solvables.push_back(s);
    }
    std::stable_sort(c.solvables.begin(), c.solvables.end(), [&](SolvableId a, SolvableId b) {
      return Cmp(pkgs_[a].key, pkgs_[b].key) > 0;
    });
    return cands_[name] = std::move(c);
  }
  void Filter(VersionSetId vs, std::span<const SolvableId> candidates, bool inverse,
              std::vector<SolvableId>* out) override {
    for (SolvableId s : candidates) {
      if (Matches(vs, s) != inverse) out->push_back(s);
    }
  }
  Dependencies GetDependencies(SolvableId s) override {
    ++dependency_loads;
    Dependencies d;
    if (!pkgs_[s].unavailable.empty()) d.unavailable = pkgs_[s].unavailable;
    for (const auto& dep : pkgs_[s].depends) d.requirements.push_back(Req(dep));
    for (const auto& c : pkgs_[s].constrains) d.constrains.push_back(Spec(c));
    return d;
  }
  std::string NameText(NameId n) override { return names_[n]; }
  std::string VersionSetText(VersionSetId vs) override { return vss_[vs].text; }
  std::string SolvableText(SolvableId s) override {
    return names_[pkgs_[s].name] + " " + pkgs_[s].version;
  }
  std::string SolvableVersionText(SolvableId s) override { return pkgs_[s].version; }

 private:
  struct VS {
    NameId name;
    std::string text;
    std::vector<std::pair<std::string, std::vector<int>>> ops;
  };
  static std::vector<int> Key(const std::string& v) {
    std::vector<int> k;
    std::stringstream ss(v);
    std::string part;
    while (std::getline(ss, part, '.')) k.push_back(std::stoi(part));
    return k;
  }
  static int Cmp(const std::vector<int>& a, const std::vector<int>& b) {
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      int x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
      if (x != y) return x < y ? -1 : 1;
    }
    return 0;
  }

  std::vector<Pkg> pkgs_;
  std::vector<std::string> names_;
  std::map<std::string, NameId> name_ids_;
  std::vector<VS> vss_;
  std::map<std::string, VersionSetId> vs_ids_;
  std::map<NameId, Candidates> cands_;
};

}  // namespace ferry::solve
