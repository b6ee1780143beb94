#include "resolver/solve/solver.h"

#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "resolver/solve/toy_provider.h"

namespace ferry::solve {
namespace {

Problem Request(ToyProvider& p, std::vector<std::string> reqs, std::vector<std::string> cons = {}) {
  Problem pr;
  for (const auto& r : reqs) pr.requirements.push_back(p.Req(r));
  for (const auto& c : cons) pr.constraints.push_back(p.Spec(c));
  return pr;
}

std::set<std::string> Names(ToyProvider& p, const SolveOutcome& out) {
  std::set<std::string> s;
  for (SolvableId id : out.solution) s.insert(p.SolvableText(id));
  return s;
}

// Checks a solution against the problem independently of the solver: one candidate per name,
// every requirement of the request and of every chosen package satisfied, constrains respected.
std::string Validate(ToyProvider& p, const Problem& pr, const std::vector<SolvableId>& sol) {
  std::set<NameId> names;
  for (SolvableId s : sol) {
    if (!names.insert(p.SolvableName(s)).second) return "two candidates of one name";
    if (!p.pkg(s).unavailable.empty()) return "unavailable chosen";
  }
  auto satisfied = [&](const Requirement& r) {
    for (VersionSetId vs : r.any_of) {
      for (SolvableId s : sol) {
        if (p.Matches(vs, s)) return true;
      }
    }
    return false;
  };
  auto respects = [&](VersionSetId vs) {
    for (SolvableId s : sol) {
      if (p.SolvableName(s) == p.VersionSetName(vs) && !p.Matches(vs, s)) return false;
    }
    return true;
  };
  for (const auto& r : pr.requirements) {
    if (!satisfied(r)) return "request not satisfied";
  }
  for (VersionSetId vs : pr.constraints) {
    if (!respects(vs)) return "request constraint violated";
  }
  for (SolvableId s : sol) {
    for (const auto& d : p.pkg(s).depends) {
      if (!satisfied(p.Req(d))) return p.SolvableText(s) + ": dependency " + d + " not satisfied";
    }
    for (const auto& c : p.pkg(s).constrains) {
      if (!respects(p.Spec(c))) return p.SolvableText(s) + ": constraint " + c + " violated";
    }
  }
  return "";
}

TEST_CASE("solver: picks the highest versions of a simple tree") {
  ToyProvider p;
  p.Add("a", "1", {"b"});
  p.Add("a", "2", {"b >=2"});
  p.Add("b", "1");
  p.Add("b", "2", {"c"});
  p.Add("b", "3", {"c"});
  p.Add("c", "1");
  p.Add("unrelated", "1");
  Problem pr = Request(p, {"a"});
  SolveOutcome out = Solve(p, pr);
  REQUIRE(out.solved);
  CHECK(Names(p, out) == std::set<std::string>{"a 2", "b 3", "c 1"});
  CHECK(Validate(p, pr, out.solution) == "");
  CHECK(p.candidate_loads == 3);  // "unrelated" is never loaded
}

TEST_CASE("solver: diamond with a conflicting shared dependency backtracks") {
  ToyProvider p;
  p.Add("app", "1", {"left", "right"});
  p.Add("left", "1", {"shared <2"});
  p.Add("left", "2", {"shared >=2"});
  p.Add("right", "1", {"shared <3"});
  p.Add("right", "2", {"shared >=3"});
  p.Add("right", "3", {"shared ==1"});
  p.Add("shared", "1");
  p.Add("shared", "2");
  p.Add("shared", "3");
  Problem pr = Request(p, {"app"});
  SolveOutcome out = Solve(p, pr);
  REQUIRE(out.solved);
  CHECK(Validate(p, pr, out.solution) == "");
  // left 2 (newest) works with right 2 via shared 3.
  CHECK(Names(p, out) == std::set<std::string>{"app 1", "left 2", "right 2", "shared 3"});
}

TEST_CASE("solver: a deep chain rejects the newest versions") {
  ToyProvider p;
  const int kDepth = 30, kVersions = 12;
  for (int d = 0; d < kDepth; ++d) {
    for (int v = 1; v <= kVersions; ++v) {
      std::vector<std::string> deps;
      if (d + 1 < kDepth) deps.push_back("n" + std::to_string(d + 1) + " ==" + std::to_string(v));
      p.Add("n" + std::to_string(d), std::to_string(v), deps);
    }
  }
  // The bottom of the chain only allows version 3, so every newer top version must be refuted.
  Problem pr = Request(p, {"n0", "n" + std::to_string(kDepth - 1) + " <=3"});
  SolveOutcome out = Solve(p, pr);
  REQUIRE(out.solved);
  CHECK(Validate(p, pr, out.solution) == "");
  CHECK(Names(p, out).count("n0 3") == 1);
  CHECK(out.solution.size() == kDepth);
}

TEST_CASE("solver: constrains limit a package that is installed for another reason") {
  ToyProvider p;
  p.Add("tool", "1", {}, {"lib <2"});
  p.Add("lib", "1");
  p.Add("lib", "2");
  p.Add("other", "1", {}, {"absent >=1"});  // constrains an uninstalled name: no effect
  Problem pr = Request(p, {"tool", "lib", "other"});
  SolveOutcome out = Solve(p, pr);
  REQUIRE(out.solved);
  CHECK(Names(p, out) == std::set<std::string>{"tool 1", "lib 1", "other 1"});
  // Without lib requested, constrains do not pull it in.
  Problem pr2 = Request(p, {"tool"});
  SolveOutcome out2 = Solve(p, pr2);
  REQUIRE(out2.solved);
  CHECK(Names(p, out2) == std::set<std::string>{"tool 1"});
  // Request-level constraints.
  Problem pr3 = Request(p, {"lib"}, {"lib <2"});
  SolveOutcome out3 = Solve(p, pr3);
  REQUIRE(out3.solved);
  CHECK(Names(p, out3) == std::set<std::string>{"lib 1"});
}

TEST_CASE("solver: disjunctive requirements and unavailable candidates") {
  ToyProvider p;
  p.Add("a", "2", {"x >=5 | y"});
  p.Add("x", "5", {}, {}, "metadata could not be read");
  p.Add("x", "4");
  p.Add("y", "1");
  Problem pr = Request(p, {"a"});
  SolveOutcome out = Solve(p, pr);
  REQUIRE(out.solved);
  CHECK(Names(p, out) == std::set<std::string>{"a 2", "y 1"});
}

TEST_CASE("solver: pigeonhole problems are refuted and their solvable variant solved") {
  auto build = [](ToyProvider& p, int pigeons, int holes) {
    for (int i = 0; i < pigeons; ++i) {
      for (int h = 1; h <= holes; ++h) {
        std::vector<std::string> cons;
        for (int k = 0; k < pigeons; ++k) {
          if (k != i) cons.push_back("p" + std::to_string(k) + " !=" + std::to_string(h));
        }
        p.Add("p" + std::to_string(i), std::to_string(h), {}, cons);
      }
    }
    std::vector<std::string> req;
    for (int i = 0; i < pigeons; ++i) req.push_back("p" + std::to_string(i));
    return req;
  };
  {
    ToyProvider p;
    auto req = build(p, 7, 6);
    SolveOutcome out = Solve(p, Request(p, req));
    CHECK_FALSE(out.solved);
    CHECK(out.stats.conflicts > 10);
    CHECK(out.explanation.find("The following requirements conflict:") == 0);
  }
  {
    ToyProvider p;
    auto req = build(p, 7, 7);
    Problem pr = Request(p, req);
    SolveOutcome out = Solve(p, pr);
    REQUIRE(out.solved);
    CHECK(Validate(p, pr, out.solution) == "");
  }
}

TEST_CASE("solver: explanation for a missing dependency (exact text)") {
  ToyProvider p;
  p.Add("foo", "1");
  p.Add("foo", "2", {"baz >=3"});
  p.Add("foo", "2.1", {"baz >=3"});
  p.Add("baz", "1");
  SolveOutcome out = Solve(p, Request(p, {"foo >=2"}));
  REQUIRE_FALSE(out.solved);
  CHECK(out.explanation ==
        "The following requirements conflict:\n"
        "└─ foo >=2 cannot be installed because none of its candidates can be:\n"
        "   └─ foo 2.1 | 2 would require\n"
        "      └─ baz >=3, for which no candidates were found\n");
}

TEST_CASE("solver: explanation for two requests that need different versions (exact text)") {
  ToyProvider p;
  p.Add("pandas", "2", {"numpy >=2"});
  p.Add("pandas", "1", {"numpy >=1,<2", "python <3"});
  p.Add("legacy", "1", {"numpy <2"});
  p.Add("numpy", "2");
  p.Add("numpy", "1");
  p.Add("numpy", "0.9");
  p.Add("python", "3");
  p.Add("python", "2");
  SolveOutcome out = Solve(p, Request(p, {"pandas", "legacy", "python >=3"}));
  REQUIRE_FALSE(out.solved);
  CHECK(out.explanation ==
        "The following requirements conflict:\n"
        "├─ pandas can be installed with any of:\n"
        "│  ├─ pandas 2 would require\n"
        "│  │  └─ numpy >=2, which can be installed with any of:\n"
        "│  │     └─ numpy 2, which conflicts with the other versions of numpy in this report\n"
        "│  └─ pandas 1 would require\n"
        "│     ├─ numpy >=1,<2, which can be installed with any of:\n"
        "│     │  └─ numpy 1, which conflicts with the other versions of numpy in this report\n"
        "│     └─ python <3, which can be installed with any of:\n"
        "│        └─ python 2, which conflicts with the other versions of python in this report\n"
        "├─ legacy can be installed with any of:\n"
        "│  └─ legacy 1 would require\n"
        "│     └─ numpy <2, which can be installed with any of:\n"
        "│        └─ numpy 1 | 0.9, which conflicts with the other versions of numpy in this "
        "report\n"
        "└─ python >=3 can be installed with any of:\n"
        "   └─ python 3, which conflicts with the other versions of python in this report\n");
}

TEST_CASE("solver: same inputs give the same solution") {
  auto run = [] {
    ToyProvider p;
    for (int v = 1; v <= 5; ++v) {
      p.Add("a", std::to_string(v), {"b", "c"});
      p.Add("b", std::to_string(v), {"c <=" + std::to_string(v)});
      p.Add("c", std::to_string(v));
    }
    SolveOutcome out = Solve(p, Request(p, {"a", "c >=2"}));
    return Names(p, out);
  };
  CHECK(run() == run());
}

// Random small universes, checked against brute force: same satisfiability, valid solutions.
TEST_CASE("solver: agrees with brute force on random problems") {
  std::mt19937 rng(12345);
  const int kNames = 4, kVersions = 3;
  int solved = 0, unsolved = 0;
  for (int round = 0; round < 1000; ++round) {
    ToyProvider p;
    std::vector<std::vector<SolvableId>> ids(kNames);
    for (int n = 0; n < kNames; ++n) {
      for (int v = 1; v <= kVersions; ++v) {
        std::vector<std::string> deps, cons;
        int ndeps = rng() % 3;
        for (int d = 0; d < ndeps; ++d) {
          int t = rng() % kNames;
          if (t == n) continue;
          const char* ops[] = {">=", "<=", "==", "!="};
          std::string spec = "n" + std::to_string(t) + " " + ops[rng() % 4] +
                             std::to_string(1 + rng() % kVersions);
          if (rng() % 4 == 0) {
            cons.push_back(spec);
          } else {
            deps.push_back(spec);
          }
        }
        ids[n].push_back(p.Add("n" + std::to_string(n), std::to_string(v), deps, cons));
      }
    }
    std::vector<std::string> req = {"n0"};
    if (rng() % 2) req.push_back("n1 <=" + std::to_string(1 + rng() % kVersions));
    Problem pr = Request(p, req);
    SolveOutcome out = Solve(p, pr);
    // Brute force: each name absent or one of its versions.
    bool any = false;
    int total = 1;
    for (int n = 0; n < kNames; ++n) total *= kVersions + 1;
    for (int code = 0; code < total && !any; ++code) {
      std::vector<SolvableId> sol;
      int c = code;
      for (int n = 0; n < kNames; ++n) {
        int pick = c % (kVersions + 1);
        c /= kVersions + 1;
        if (pick) sol.push_back(ids[n][pick - 1]);
      }
      if (Validate(p, pr, sol).empty()) any = true;
    }
    INFO("round " << round);
    REQUIRE(out.solved == any);
    if (out.solved) {
      REQUIRE(Validate(p, pr, out.solution) == "");
      ++solved;
    } else {
      REQUIRE(out.explanation.find("The following requirements conflict:") == 0);
      ++unsolved;
    }
  }
  CHECK(solved > 50);
  CHECK(unsolved > 5);
}

}  // namespace
}  // namespace ferry::solve
