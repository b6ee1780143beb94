// A CDCL dependency solver (the family of libsolv and resolvo): one boolean variable per
// candidate; clauses for requirements (¬parent ∨ c1 ∨ … ∨ cn), constrains (¬parent ∨ ¬c),
// at most one candidate per name (pairwise ¬a ∨ ¬b) and the requested specs; two watched literals,
// unit propagation, first-UIP conflict analysis with learnt clauses and non-chronological
// backjumping. Candidates and dependencies are pulled lazily from the DependencyProvider.
//
// Decisions: requested requirements first (in request order), then the unsatisfied requirement
// whose name was most involved in conflicts (ties: fewest open candidates, then the order in
// which requirements were discovered); within a requirement the provider's preference order.
// With a deterministic provider the result is deterministic.
//
// Pure: no I/O, no globals; not thread-safe (one Solve per provider at a time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "resolver/solve/provider.h"

namespace ferry::solve {

struct Problem {
  std::vector<Requirement> requirements;  // what the user asked for, in order
  std::vector<VersionSetId> constraints;  // constrains from the user (pins that do not install)
};

struct SolveStats {
  uint64_t decisions = 0;
  uint64_t conflicts = 0;
  uint64_t propagations = 0;
  uint64_t clauses = 0;
  uint64_t learnt = 0;
};

struct SolveOutcome {
  bool solved = false;
  std::vector<SolvableId> solution;  // sorted by id; valid when solved
  std::string explanation;           // human explanation when !solved
  SolveStats stats;
};

// Solves `problem` against `provider`. Never fails: an unsatisfiable problem is a value
// (solved=false) carrying a tree-shaped explanation of the conflict.
SolveOutcome Solve(DependencyProvider& provider, const Problem& problem);

}  // namespace ferry::solve
