#include "store/materialize/plan.h"

#include <unordered_map>

namespace ferry::store {

MaterializePlan PlanMaterialize(const LockedEnvironment& env,
                                const std::function<bool(const LockedPackage&)>& is_extracted) {
  MaterializePlan plan;
  std::unordered_map<std::string, bool> seen;  // sha256 -> extracted
  for (size_t i = 0; i < env.packages.size(); ++i) {
    const LockedPackage& p = env.packages[i];
    auto it = seen.find(p.sha256);
    if (it == seen.end()) {
      bool ready = is_extracted(p);
      seen.emplace(p.sha256, ready);
      (ready ? plan.ready : plan.missing).push_back(i);
    } else if (it->second) {
      plan.ready.push_back(i);
    } else {
      plan.missing.push_back(i);
      plan.duplicates.push_back(i);
    }
  }
  return plan;
}

}  // namespace ferry::store
