#include "store/materialize/plan.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::store;

TEST_CASE("PlanMaterialize splits ready and missing, deduplicating digests", "[plan]") {
  LockedEnvironment env;
  for (const char* s : {"a", "b", "a", "c"}) {
    LockedPackage p;
    p.name = s;
    p.sha256 = std::string(64, s[0]);
    env.packages.push_back(p);
  }
  int calls = 0;
  auto plan = PlanMaterialize(env, [&](const LockedPackage& p) {
    ++calls;
    return p.name == "b";
  });
  CHECK(calls == 3);
  CHECK(plan.ready == std::vector<size_t>{1});
  CHECK(plan.missing == std::vector<size_t>{0, 2, 3});
  CHECK(plan.duplicates == std::vector<size_t>{2});
}
