#include "resolver/solve/solver.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

namespace ferry::solve {
namespace {

using Var = uint32_t;  // 0 = root; others: a candidate or an auxiliary (at-most-one ladder)
using Lit = uint32_t;  // var*2 + negated
using ClauseId = uint32_t;
constexpr uint32_t kNone = UINT32_MAX;
constexpr Var kRootVar = 0;

inline Lit Pos(Var v) { return v << 1; }
inline Lit Neg(Var v) { return (v << 1) | 1u; }
inline Var VarOf(Lit l) { return l >> 1; }
inline bool IsNeg(Lit l) { return l & 1u; }
inline Lit Not(Lit l) { return l ^ 1u; }

enum class Kind : uint8_t { kRequires, kConstrains, kAtMostOne, kUnavailable, kLearnt };

struct Clause {
  uint32_t begin = 0;
  uint32_t size = 0;
  Kind kind = Kind::kRequires;
  uint32_t a = 0;  // kRequires: record; kConstrains: version set; kAtMostOne: name;
                   // kUnavailable: solvable; kLearnt: index into learnt_sources_
  uint32_t b = 0;  // kConstrains: constrained solvable
};

struct RequireRecord {
  Var parent;
  std::vector<VersionSetId> version_sets;
  std::vector<SolvableId> candidates;  // provider preference order
  ClauseId clause = kNone;
  Var sat_var = kNone;  // cache: a candidate seen true
};

class Solver {
 public:
  explicit Solver(DependencyProvider& p) : p_(p) {}

  SolveOutcome Run(const Problem& problem);

 private:
  // --- variables and assignment ---
  Var NewVar(SolvableId s, NameId name) {
    Var v = static_cast<Var>(value_.size());
    value_.push_back(0);
    level_.push_back(0);
    reason_.push_back(kNone);
    seen_.push_back(0);
    deps_added_.push_back(0);
    solvable_of_var_.push_back(s);
    name_of_var_.push_back(name);
    watches_.emplace_back();
    watches_.emplace_back();
    return v;
  }
  int8_t Value(Lit l) const {
    int8_t v = value_[VarOf(l)];
    return IsNeg(l) ? static_cast<int8_t>(-v) : v;
  }
  uint32_t Level() const { return static_cast<uint32_t>(trail_lim_.size()); }
  void Assign(Lit l, ClauseId reason) {
    Var v = VarOf(l);
    value_[v] = IsNeg(l) ? -1 : 1;
    level_[v] = Level();
    reason_[v] = reason;
    trail_.push_back(l);
  }
  void Backtrack(uint32_t level);
  Var VarOfSolvable(SolvableId s) {
    if (s >= var_of_solvable_.size() || var_of_solvable_[s] == kNone) {
      LoadName(p_.SolvableName(s));
    }
    return var_of_solvable_[s];
  }

  // --- clauses ---
  ClauseId AddClause(Kind kind, std::vector<Lit>& lits, uint32_t a, uint32_t b, bool keep_order);
  void LoadName(NameId name);
  const std::vector<SolvableId>& Matching(VersionSetId vs);
  void AddDependencies(Var v, std::vector<ClauseId>* fresh);
  uint32_t AddRequire(Var parent, const std::vector<VersionSetId>& any_of,
                      std::vector<ClauseId>* fresh);
  void AddConstrains(Var parent, VersionSetId vs, std::vector<ClauseId>* fresh);
  ClauseId ProcessFresh(const std::vector<ClauseId>& fresh);
  ClauseId AddPendingDependencies(bool* added);

  // --- search ---
  ClauseId Propagate();
  bool Analyze(ClauseId conflict);  // false: unsatisfiable
  bool Decide();
  void Bump(Var v);

  // --- explanation ---
  std::string Explain(ClauseId conflict);

  DependencyProvider& p_;

  std::vector<int8_t> value_;
  std::vector<uint32_t> level_;
  std::vector<ClauseId> reason_;
  std::vector<ClauseId> units_;  // size-1 clauses added above level 0
  ClauseId pending_conflict_ = kNone;
  std::vector<uint8_t> seen_;
  std::vector<uint8_t> deps_added_;
  std::vector<SolvableId> solvable_of_var_;  // kNone for root and auxiliaries
  std::vector<NameId> name_of_var_;          // kNone for root
  std::vector<std::vector<ClauseId>> watches_;  // by literal: clauses watching it
  std::vector<Lit> trail_;
  std::vector<uint32_t> trail_lim_;
  size_t qhead_ = 0;
  size_t deps_head_ = 0;

  std::vector<Clause> clauses_;
  std::vector<Lit> lits_;
  std::vector<RequireRecord> requires_;
  std::vector<std::vector<ClauseId>> learnt_sources_;
  std::vector<std::string> unavailable_reasons_;
  std::unordered_map<SolvableId, std::string> unavailable_;

  std::vector<Var> var_of_solvable_;
  std::vector<uint8_t> name_loaded_;
  std::vector<int32_t> vs_cache_index_;
  std::vector<std::vector<SolvableId>> vs_cache_;
  std::unordered_map<NameId, double> activity_;
  double bump_ = 1.0;

  SolveStats stats_;
};

void Solver::Backtrack(uint32_t level) {
  if (Level() <= level) return;
  size_t keep = trail_lim_[level];
  for (size_t i = trail_.size(); i > keep; --i) {
    Var v = VarOf(trail_[i - 1]);
    value_[v] = 0;
    reason_[v] = kNone;
  }
  trail_.resize(keep);
  trail_lim_.resize(level);
  qhead_ = std::min(qhead_, trail_.size());
  deps_head_ = std::min(deps_head_, trail_.size());
  // Unit facts learnt while deeper than level 0 are re-established at the new level.
  for (ClauseId id : units_) {
    Lit l = lits_[clauses_[id].begin];
    if (Value(l) == 0) Assign(l, id);
  }
}

// Watch priority: true literals, then unassigned, then false ones by decreasing level.
ClauseId Solver::AddClause(Kind kind, std::vector<Lit>& lits, uint32_t a, uint32_t b,
                           bool keep_order) {
  ClauseId id = static_cast<ClauseId>(clauses_.size());
  if (!keep_order && lits.size() >= 2) {
    auto rank = [&](Lit l) -> int64_t {
      int8_t val = Value(l);
      if (val > 0) return 3LL << 40;
      if (val == 0) return 2LL << 40;
      return static_cast<int64_t>(level_[VarOf(l)]);
    };
    for (int k = 0; k < 2; ++k) {
      size_t best = k;
      for (size_t i = k + 1; i < lits.size(); ++i) {
        if (rank(lits[i]) > rank(lits[best])) best = i;
      }
      std::swap(lits[k], lits[best]);
    }
  }
  Clause c;
  c.begin = static_cast<uint32_t>(lits_.size());
  c.size = static_cast<uint32_t>(lits.size());
  c.kind = kind;
  c.a = a;
  c.b = b;
  lits_.insert(lits_.end(), lits.begin(), lits.end());
  clauses_.push_back(c);
  if (lits.size() >= 2) {
    watches_[lits[0]].push_back(id);
    watches_[lits[1]].push_back(id);
  }
  ++stats_.clauses;
  return id;
}

void Solver::LoadName(NameId name) {
  if (name >= name_loaded_.size()) name_loaded_.resize(name + 1, 0);
  if (name_loaded_[name]) return;
  name_loaded_[name] = 1;
  const Candidates& cands = p_.GetCandidates(name);
  std::vector<Var> xs;
  xs.reserve(cands.solvables.size());
  auto ensure = [&](SolvableId s) {
    if (s >= var_of_solvable_.size()) var_of_solvable_.resize(s + 1, kNone);
  };
  for (SolvableId s : cands.solvables) {
    ensure(s);
    if (var_of_solvable_[s] != kNone) continue;  // listed twice: ignore
    var_of_solvable_[s] = NewVar(s, name);
    xs.push_back(var_of_solvable_[s]);
  }
  // Excluded records get a variable that is never allowed to be true (kept out of candidate
  // lists by Matching), so explanations can name them.
  for (const auto& [s, why] : cands.excluded) {
    ensure(s);
    if (var_of_solvable_[s] == kNone) var_of_solvable_[s] = NewVar(s, name);
  }
  // At most one candidate per name: sequential ("ladder") encoding with n-1 auxiliaries,
  // 3n clauses instead of n^2/2, and still arc-consistent under unit propagation.
  if (xs.size() < 2) return;
  std::vector<Var> aux(xs.size() - 1);
  for (auto& s : aux) s = NewVar(kNone, name);
  std::vector<Lit> tmp;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i + 1 < xs.size()) {
      tmp = {Neg(xs[i]), Pos(aux[i])};
      AddClause(Kind::kAtMostOne, tmp, name, 0, true);
    }
    if (i >= 1) {
      tmp = {Neg(xs[i]), Neg(aux[i - 1])};
      AddClause(Kind::kAtMostOne, tmp, name, 0, true);
      if (i + 1 < xs.size()) {
        tmp = {Neg(aux[i - 1]), Pos(aux[i])};
        AddClause(Kind::kAtMostOne, tmp, name, 0, true);
      }
    }
  }
}

const std::vector<SolvableId>& Solver::Matching(VersionSetId vs) {
  if (vs >= vs_cache_index_.size()) vs_cache_index_.resize(vs + 1, -1);
  if (vs_cache_index_[vs] < 0) {
    NameId name = p_.VersionSetName(vs);
    LoadName(name);
    const Candidates& cands = p_.GetCandidates(name);
    std::vector<SolvableId> out;
    p_.Filter(vs, cands.solvables, false, &out);
    vs_cache_index_[vs] = static_cast<int32_t>(vs_cache_.size());
    vs_cache_.push_back(std::move(out));
  }
  return vs_cache_[vs_cache_index_[vs]];
}

uint32_t Solver::AddRequire(Var parent, const std::vector<VersionSetId>& any_of,
                            std::vector<ClauseId>* fresh) {
  RequireRecord rec;
  rec.parent = parent;
  rec.version_sets = any_of;
  for (VersionSetId vs : any_of) {
    const auto& m = Matching(vs);
    if (any_of.size() == 1) {
      rec.candidates = m;
    } else {
      for (SolvableId s : m) {
        if (std::find(rec.candidates.begin(), rec.candidates.end(), s) == rec.candidates.end()) {
          rec.candidates.push_back(s);
        }
      }
    }
  }
  std::vector<Lit> lits;
  lits.reserve(rec.candidates.size() + 1);
  lits.push_back(Neg(parent));
  for (SolvableId s : rec.candidates) lits.push_back(Pos(VarOfSolvable(s)));
  uint32_t index = static_cast<uint32_t>(requires_.size());
  rec.clause = AddClause(Kind::kRequires, lits, index, 0, false);
  if (!rec.candidates.empty()) p_.Prefetch(rec.candidates);
  requires_.push_back(std::move(rec));
  fresh->push_back(requires_.back().clause);
  return index;
}

void Solver::AddConstrains(Var parent, VersionSetId vs, std::vector<ClauseId>* fresh) {
  NameId name = p_.VersionSetName(vs);
  LoadName(name);
  const Candidates& cands = p_.GetCandidates(name);
  std::vector<SolvableId> outside;
  p_.Filter(vs, cands.solvables, true, &outside);
  std::vector<Lit> lits;
  for (SolvableId s : outside) {
    Var o = VarOfSolvable(s);
    if (o == parent) continue;
    lits = {Neg(parent), Neg(o)};
    fresh->push_back(AddClause(Kind::kConstrains, lits, vs, s, false));
  }
}

void Solver::AddDependencies(Var v, std::vector<ClauseId>* fresh) {
  deps_added_[v] = 1;
  SolvableId s = solvable_of_var_[v];
  Dependencies deps = p_.GetDependencies(s);
  if (deps.unavailable) {
    unavailable_[s] = *deps.unavailable;
    std::vector<Lit> lits = {Neg(v)};
    fresh->push_back(AddClause(Kind::kUnavailable, lits, s, 0, false));
    return;
  }
  for (const Requirement& r : deps.requirements) AddRequire(v, r.any_of, fresh);
  for (VersionSetId vs : deps.constrains) AddConstrains(v, vs, fresh);
}

// Brings freshly added clauses into the watch invariant: reports the first conflicting clause,
// enqueues implied literals. A clause that is unit or conflicting at a lower level than the
// current one makes the solver backtrack to that level first.
ClauseId Solver::ProcessFresh(const std::vector<ClauseId>& fresh) {
  for (ClauseId id : fresh) {
    if (clauses_[id].size == 1) units_.push_back(id);
  }
  for (;;) {
    uint32_t target = Level();
    for (ClauseId id : fresh) {
      const Clause& c = clauses_[id];
      const Lit* l = &lits_[c.begin];
      if (c.size == 1) {
        // A unit fact contradicted at level k > 0: undo level k; Backtrack re-applies it.
        if (Value(l[0]) < 0 && level_[VarOf(l[0])] > 0) {
          target = std::min(target, level_[VarOf(l[0])] - 1);
        }
        continue;
      }
      int8_t v0 = Value(l[0]), v1 = Value(l[1]);
      if (v1 >= 0) continue;  // two non-false watches
      uint32_t l1 = level_[VarOf(l[1])];
      if (v0 < 0) {
        target = std::min(target, std::max(level_[VarOf(l[0])], l1));
      } else if (v0 == 0) {
        target = std::min(target, l1);
      } else if (level_[VarOf(l[0])] > l1) {
        target = std::min(target, l1);
      }
    }
    if (target >= Level()) break;
    Backtrack(target);
  }
  ClauseId conflict = kNone;
  for (ClauseId id : fresh) {
    const Clause& c = clauses_[id];
    Lit l0 = lits_[c.begin];
    if (c.size >= 2 && Value(lits_[c.begin + 1]) >= 0) continue;
    if (Value(l0) < 0) {
      if (conflict == kNone) conflict = id;
    } else if (Value(l0) == 0) {
      Assign(l0, id);
    }
  }
  return conflict;
}

ClauseId Solver::AddPendingDependencies(bool* added) {
  *added = false;
  std::vector<ClauseId> fresh;
  while (deps_head_ < trail_.size()) {
    Lit l = trail_[deps_head_++];
    Var v = VarOf(l);
    if (IsNeg(l) || deps_added_[v] || solvable_of_var_[v] == kNone) continue;
    AddDependencies(v, &fresh);
    *added = true;
  }
  if (fresh.empty()) return kNone;
  return ProcessFresh(fresh);
}

ClauseId Solver::Propagate() {
  while (qhead_ < trail_.size()) {
    Lit p = trail_[qhead_++];
    Lit falsified = Not(p);
    std::vector<ClauseId>& ws = watches_[falsified];
    size_t i = 0, j = 0, n = ws.size();
    while (i < n) {
      ClauseId id = ws[i++];
      const Clause& c = clauses_[id];
      Lit* l = &lits_[c.begin];
      if (l[0] == falsified) std::swap(l[0], l[1]);
      if (Value(l[0]) > 0) {
        ws[j++] = id;
        continue;
      }
      bool moved = false;
      for (uint32_t k = 2; k < c.size; ++k) {
        if (Value(l[k]) >= 0) {
          std::swap(l[1], l[k]);
          watches_[l[1]].push_back(id);
          moved = true;
          break;
        }
      }
      if (moved) continue;
      ws[j++] = id;
      if (Value(l[0]) < 0) {
        while (i < n) ws[j++] = ws[i++];
        ws.resize(j);
        return id;
      }
      Assign(l[0], id);
      ++stats_.propagations;
    }
    ws.resize(j);
  }
  return kNone;
}

void Solver::Bump(Var v) {
  NameId n = name_of_var_[v];
  if (n == kNone) return;
  double& a = activity_[n];
  a += bump_;
  if (a > 1e100) {
    for (auto& [k, x] : activity_) x *= 1e-100;
    bump_ *= 1e-100;
  }
}

bool Solver::Analyze(ClauseId conflict) {
  // Make sure the conflict has a literal at the current level.
  {
    const Clause& c = clauses_[conflict];
    uint32_t max_level = 0;
    for (uint32_t k = 0; k < c.size; ++k) {
      max_level = std::max(max_level, level_[VarOf(lits_[c.begin + k])]);
    }
    if (max_level == 0) return false;
    Backtrack(max_level);
  }
  ++stats_.conflicts;
  std::vector<Lit> learnt = {0};
  std::vector<ClauseId> sources = {conflict};
  int counter = 0;
  Lit p = kNone;
  size_t idx = trail_.size();
  ClauseId cid = conflict;
  for (;;) {
    const Clause& c = clauses_[cid];
    for (uint32_t k = 0; k < c.size; ++k) {
      Lit q = lits_[c.begin + k];
      Var v = VarOf(q);
      if (p != kNone && v == VarOf(p)) continue;
      if (seen_[v] || level_[v] == 0) continue;
      seen_[v] = 1;
      Bump(v);
      if (level_[v] == Level()) {
        ++counter;
      } else {
        learnt.push_back(q);
      }
    }
    do {
      --idx;
    } while (!seen_[VarOf(trail_[idx])]);
    p = trail_[idx];
    seen_[VarOf(p)] = 0;
    if (--counter == 0) break;
    cid = reason_[VarOf(p)];
    assert(cid != kNone);
    sources.push_back(cid);
  }
  learnt[0] = Not(p);
  uint32_t bj = 0;
  size_t max_i = 1;
  for (size_t i = 1; i < learnt.size(); ++i) {
    seen_[VarOf(learnt[i])] = 0;
    if (level_[VarOf(learnt[i])] > bj) {
      bj = level_[VarOf(learnt[i])];
      max_i = i;
    }
  }
  if (learnt.size() > 1) std::swap(learnt[1], learnt[max_i]);
  bump_ *= 1.0 / 0.95;
  Backtrack(bj);
  uint32_t li = static_cast<uint32_t>(learnt_sources_.size());
  learnt_sources_.push_back(std::move(sources));
  ClauseId id = AddClause(Kind::kLearnt, learnt, li, 0, true);
  ++stats_.learnt;
  if (Value(learnt[0]) == 0) {
    Assign(learnt[0], id);
  } else if (Value(learnt[0]) < 0) {
    pending_conflict_ = id;  // contradicts a re-applied unit fact: analyze again
  }
  return true;
}

bool Solver::Decide() {
  size_t best = kNone;
  Var best_var = kNone;
  double best_act = -1;
  uint32_t best_count = 0;
  for (size_t r = 0; r < requires_.size(); ++r) {
    RequireRecord& rec = requires_[r];
    if (value_[rec.parent] <= 0) continue;
    if (rec.sat_var != kNone && value_[rec.sat_var] > 0) continue;
    Var first = kNone;
    uint32_t count = 0;
    bool sat = false;
    for (SolvableId s : rec.candidates) {
      Var v = var_of_solvable_[s];
      int8_t val = value_[v];
      if (val > 0) {
        rec.sat_var = v;
        sat = true;
        break;
      }
      if (val == 0) {
        if (first == kNone) first = v;
        ++count;
      }
    }
    if (sat || first == kNone) continue;
    if (rec.parent == kRootVar) {  // requested specs first, in request order
      best = r;
      best_var = first;
      break;
    }
    auto it = activity_.find(name_of_var_[first]);
    double act = it == activity_.end() ? 0.0 : it->second;
    if (best == kNone || act > best_act || (act == best_act && count < best_count)) {
      best = r;
      best_var = first;
      best_act = act;
      best_count = count;
    }
  }
  if (best == kNone) return false;
  ++stats_.decisions;
  trail_lim_.push_back(static_cast<uint32_t>(trail_.size()));
  Assign(Pos(best_var), kNone);
  return true;
}

SolveOutcome Solver::Run(const Problem& problem) {
  SolveOutcome out;
  Var root = NewVar(kNone, kNone);
  assert(root == kRootVar);
  Assign(Pos(root), kNone);
  deps_added_[root] = 1;
  std::vector<ClauseId> fresh;
  for (const Requirement& r : problem.requirements) AddRequire(root, r.any_of, &fresh);
  for (VersionSetId vs : problem.constraints) AddConstrains(root, vs, &fresh);
  deps_head_ = trail_.size();
  ClauseId conflict = ProcessFresh(fresh);
  for (;;) {
    if (conflict == kNone) conflict = Propagate();
    if (conflict == kNone) {
      bool added = false;
      conflict = AddPendingDependencies(&added);
      if (conflict == kNone && added) continue;
    }
    if (conflict != kNone) {
      ClauseId c = conflict;
      conflict = kNone;
      if (!Analyze(c)) {
        out.solved = false;
        out.explanation = Explain(c);
        out.stats = stats_;
        return out;
      }
      conflict = pending_conflict_;
      pending_conflict_ = kNone;
      continue;
    }
    if (!Decide()) break;
  }
  for (Var v = 1; v < value_.size(); ++v) {
    if (value_[v] > 0 && solvable_of_var_[v] != kNone) out.solution.push_back(solvable_of_var_[v]);
  }
  std::sort(out.solution.begin(), out.solution.end());
  out.solved = true;
  out.stats = stats_;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Explanations. The clauses that derive the final conflict (learnt clauses expanded into the
// clauses they were learnt from) form a graph: requirements from the request and from packages
// to candidates, constraints and "one version per name" conflicts. It is printed as a tree
// from the request, in the spirit of resolvo's and PubGrub's reports.

struct ExplainGraph {
  std::map<Var, std::vector<uint32_t>> requires_of;  // parent -> requirement records (sorted)
  std::map<SolvableId, std::vector<std::pair<Var, VersionSetId>>> constrained;  // by whom
  std::set<NameId> conflicting_names;
  std::set<SolvableId> unavailable;
};

std::string Solver::Explain(ClauseId conflict) {
  ExplainGraph g;
  std::vector<uint8_t> visited(clauses_.size(), 0);
  std::vector<ClauseId> queue = {conflict};
  while (!queue.empty()) {
    ClauseId id = queue.back();
    queue.pop_back();
    if (visited[id]) continue;
    visited[id] = 1;
    const Clause& c = clauses_[id];
    switch (c.kind) {
      case Kind::kLearnt:
        for (ClauseId s : learnt_sources_[c.a]) queue.push_back(s);
        break;
      case Kind::kRequires:
        g.requires_of[requires_[c.a].parent].push_back(c.a);
        break;
      case Kind::kConstrains: {
        Var parent = kNone;
        for (uint32_t k = 0; k < c.size; ++k) {
          Var v = VarOf(lits_[c.begin + k]);
          if (solvable_of_var_[v] != c.b) parent = v;
        }
        g.constrained[c.b].push_back({parent, c.a});
        break;
      }
      case Kind::kAtMostOne:
        g.conflicting_names.insert(c.a);
        break;
      case Kind::kUnavailable:
        g.unavailable.insert(c.a);
        break;
    }
    for (uint32_t k = 0; k < c.size; ++k) {
      Var v = VarOf(lits_[c.begin + k]);
      if (value_[v] != 0 && reason_[v] != kNone) queue.push_back(reason_[v]);
    }
  }
  for (auto& [v, recs] : g.requires_of) {
    std::sort(recs.begin(), recs.end());
    recs.erase(std::unique(recs.begin(), recs.end()), recs.end());
  }

  // A solvable is "bad" when it can never be installed whatever else is chosen: unavailable,
  // or one of its requirements has only bad candidates. Fixpoint (cycles count as good).
  std::set<SolvableId> bad(g.unavailable.begin(), g.unavailable.end());
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& [v, recs] : g.requires_of) {
      if (v == kRootVar) continue;
      SolvableId s = solvable_of_var_[v];
      if (bad.count(s)) continue;
      for (uint32_t r : recs) {
        bool all_bad = std::all_of(requires_[r].candidates.begin(), requires_[r].candidates.end(),
                                   [&](SolvableId c) { return bad.count(c) > 0; });
        if (all_bad) {
          bad.insert(s);
          changed = true;
          break;
        }
      }
    }
  }

  std::set<SolvableId> printed;
  auto req_text = [&](const RequireRecord& rec) {
    std::string t;
    for (size_t i = 0; i < rec.version_sets.size(); ++i) {
      if (i) t += " or ";
      t += p_.VersionSetText(rec.version_sets[i]);
    }
    return t;
  };
  // Indents child lines under a head line.
  auto attach = [](std::vector<std::string>* out, const std::vector<std::vector<std::string>>& kids) {
    for (size_t i = 0; i < kids.size(); ++i) {
      bool last = i + 1 == kids.size();
      for (size_t k = 0; k < kids[i].size(); ++k) {
        std::string pre = k == 0 ? (last ? "└─ " : "├─ ") : (last ? "   " : "│  ");
        out->push_back(pre + kids[i][k]);
      }
    }
  };

  std::function<std::vector<std::string>(uint32_t, bool)> render_req;
  std::function<std::vector<std::string>(SolvableId, std::string)> render_solvable;

  render_solvable = [&](SolvableId s, std::string head) -> std::vector<std::string> {
    Var v = var_of_solvable_[s];
    if (g.unavailable.count(s)) return {head + ", which cannot be installed: " + unavailable_[s]};
    auto it = g.requires_of.find(v);
    if (it != g.requires_of.end()) {
      if (printed.count(s)) return {head + ", whose dependencies are shown above"};
      printed.insert(s);
      std::vector<std::string> out = {head + " would require"};
      std::vector<std::vector<std::string>> kids;
      for (uint32_t r : it->second) kids.push_back(render_req(r, false));
      attach(&out, kids);
      return out;
    }
    auto ct = g.constrained.find(s);
    if (ct != g.constrained.end()) {
      std::string t = head + ", which is ruled out by the constraint " +
                      p_.VersionSetText(ct->second[0].second) + " of ";
      Var by = ct->second[0].first;
      t += by == kRootVar || by == kNone ? std::string("the request")
                                         : p_.SolvableText(solvable_of_var_[by]);
      return {t};
    }
    NameId name = p_.SolvableName(s);
    if (g.conflicting_names.count(name)) {
      return {head + ", which conflicts with the other versions of " + p_.NameText(name) +
              " in this report"};
    }
    return {head};
  };

  render_req = [&](uint32_t r, bool top) -> std::vector<std::string> {
    const RequireRecord& rec = requires_[r];
    std::string text = req_text(rec);
    std::vector<std::string> out;
    if (rec.candidates.empty()) {
      std::string hint;
      for (VersionSetId vs : rec.version_sets) {
        std::string h = p_.MissingHint(vs);
        if (!h.empty()) hint += (hint.empty() ? " (" : "; ") + h;
      }
      if (!hint.empty()) hint += ")";
      out.push_back(text + (top ? " cannot be installed because no candidates were found"
                                : ", for which no candidates were found") + hint);
      std::vector<std::vector<std::string>> kids;
      for (VersionSetId vs : rec.version_sets) {
        NameId name = p_.VersionSetName(vs);
        const Candidates& cands = p_.GetCandidates(name);
        std::vector<SolvableId> ex_ids;
        for (const auto& e : cands.excluded) ex_ids.push_back(e.first);
        std::vector<SolvableId> matching;
        p_.Filter(vs, ex_ids, false, &matching);
        for (SolvableId s : matching) {
          for (const auto& e : cands.excluded) {
            if (e.first == s) kids.push_back({p_.SolvableText(s) + " is excluded: " + e.second});
          }
        }
      }
      attach(&out, kids);
      return out;
    }
    bool all_bad = std::all_of(rec.candidates.begin(), rec.candidates.end(),
                               [&](SolvableId c) { return bad.count(c) > 0; });
    if (all_bad) {
      out.push_back(text + (top ? " cannot be installed because none of its candidates can be:"
                                : ", which cannot be installed because none of its candidates can "
                                  "be:"));
    } else {
      out.push_back(text + (top ? " can be installed with any of:"
                                : ", which can be installed with any of:"));
    }
    // Render each candidate's body, then merge neighbours with the same body into one line
    // listing their versions ("numpy 1.26.4 | 1.26.3").
    std::vector<std::vector<std::string>> kids;
    std::vector<std::string> versions;
    std::vector<std::string> prev_body;
    bool have_prev = false;
    auto flush = [&] {
      if (!have_prev) return;
      std::string vs_text;
      for (size_t i = 0; i < versions.size(); ++i) vs_text += (i ? " | " : "") + versions[i];
      std::vector<std::string> lines = prev_body;
      lines[0] = lines[0].replace(0, 1, vs_text);  // body starts with a '\x01' placeholder
      kids.push_back(std::move(lines));
      versions.clear();
      have_prev = false;
    };
    NameId shown_name = kNone;
    std::set<SolvableId> group_state = printed;
    for (SolvableId s : rec.candidates) {
      NameId name = p_.SolvableName(s);
      std::string ver = p_.SolvableVersionText(s);
      if (have_prev && name == shown_name) {
        std::set<SolvableId> now = printed;
        printed = group_state;
        std::vector<std::string> body = render_solvable(s, "\x01");
        if (body == prev_body) {
          printed.insert(now.begin(), now.end());
          if (std::find(versions.begin(), versions.end(), ver) == versions.end()) {
            versions.push_back(ver);
          }
          continue;
        }
        printed = std::move(now);
      }
      flush();
      group_state = printed;
      prev_body = render_solvable(s, "\x01");
      shown_name = name;
      versions = {p_.NameText(name) + " " + ver};
      have_prev = true;
    }
    flush();
    attach(&out, kids);
    return out;
  };

  std::vector<std::string> lines = {"The following requirements conflict:"};
  std::vector<std::vector<std::string>> kids;
  auto root_it = g.requires_of.find(kRootVar);
  if (root_it != g.requires_of.end()) {
    for (uint32_t r : root_it->second) kids.push_back(render_req(r, true));
  }
  attach(&lines, kids);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

}  // namespace

SolveOutcome Solve(DependencyProvider& provider, const Problem& problem) {
  Solver solver(provider);
  return solver.Run(problem);
}

}  // namespace ferry::solve
