#include "src/inputs/resolve_plan.h"

#include <algorithm>
#include <set>

#include "src/inputs/requirements_txt.h"

namespace ferry::inputs {

size_t ResolvePlan::ToSolve() const {
  return static_cast<size_t>(
      std::count_if(entries.begin(), entries.end(), [](const auto& e) { return e.solve; }));
}

namespace {

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

std::string SetDiff(const char* what, std::vector<std::string> before,
                    std::vector<std::string> after) {
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  std::vector<std::string> parts;
  for (const auto& a : after)
    if (!std::binary_search(before.begin(), before.end(), a)) parts.push_back("+" + a);
  for (const auto& b : before)
    if (!std::binary_search(after.begin(), after.end(), b)) parts.push_back("-" + b);
  if (parts.empty()) return "";
  return std::string(what) + ": " + Join(parts, ", ");
}

// The previous entry for these steps on this platform: the one sharing most steps; for non-flow
// inputs, the only step-less entry of the platform.
std::optional<LockedEnvironment> Previous(const lock::LockFile* existing,
                                          const std::vector<std::string>& steps,
                                          const std::string& platform) {
  if (existing == nullptr) return std::nullopt;
  const LockedEnvironment* best = nullptr;
  size_t best_overlap = 0;
  size_t stepless = 0;
  const LockedEnvironment* only = nullptr;
  for (const auto& e : existing->environments) {
    if (e.platform != platform) continue;
    if (e.steps.empty()) {
      ++stepless;
      only = &e;
    }
    size_t overlap = 0;
    for (const auto& s : steps)
      overlap += std::find(e.steps.begin(), e.steps.end(), s) != e.steps.end();
    if (overlap > best_overlap) {
      best_overlap = overlap;
      best = &e;
    }
  }
  if (!steps.empty()) return best ? std::optional<LockedEnvironment>(*best) : std::nullopt;
  if (stepless == 1) return *only;
  return std::nullopt;
}

bool Contains(const LockedEnvironment& e, const std::string& name) {
  std::string norm = NormalizePypiName(name);
  for (const auto& p : e.packages) {
    if (p.kind == PackageKind::kConda ? p.name == name : NormalizePypiName(p.name) == norm) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string DescribeRequirementChange(const RequirementSet& before, const RequirementSet& after) {
  std::vector<std::string> parts;
  for (std::string s : {SetDiff("conda", before.conda, after.conda),
                        SetDiff("pypi", before.pypi, after.pypi)}) {
    if (!s.empty()) parts.push_back(s);
  }
  if (before.channels != after.channels) {
    parts.push_back("channels: [" + Join(before.channels, ", ") + "] -> [" +
                    Join(after.channels, ", ") + "]");
  }
  if (before.indexes != after.indexes) {
    parts.push_back("indexes: [" + Join(before.indexes, ", ") + "] -> [" +
                    Join(after.indexes, ", ") + "]");
  }
  if (before.python != after.python) {
    parts.push_back("python: " + (before.python.empty() ? "(none)" : before.python) + " -> " +
                    (after.python.empty() ? "(none)" : after.python));
  }
  if (before.virtual_overrides != after.virtual_overrides) {
    auto show = [](const std::map<std::string, std::string>& m) {
      std::vector<std::string> v;
      for (const auto& [k, val] : m) v.push_back(k + "=" + val);
      return "{" + Join(v, ", ") + "}";
    };
    parts.push_back("virtual packages: " + show(before.virtual_overrides) + " -> " +
                    show(after.virtual_overrides));
  }
  return Join(parts, "; ");
}

Result<ResolvePlan> PlanResolve(const CombinedInputs& inputs, const lock::LockFile* existing,
                                const PlanOptions& options) {
  if (options.platforms.empty()) return Status::Usage("no target platform");
  if (options.locked && existing == nullptr) {
    return Status::User("--locked: " + options.lock_path +
                        " does not exist (run `ferry resolve` without --locked first)");
  }
  if (options.locked && (options.upgrade || !options.upgrade_packages.empty())) {
    return Status::Usage("--locked cannot be combined with --upgrade or --upgrade-package");
  }
  std::set<std::string> platforms_seen;
  std::vector<std::string> platforms;
  for (const auto& p : options.platforms)
    if (platforms_seen.insert(p).second) platforms.push_back(p);

  ResolvePlan plan;
  std::set<std::string> upgrade_hits;
  for (size_t i = 0; i < inputs.environments.size(); ++i) {
    const InputEnvironment& in = inputs.environments[i];
    for (const std::string& platform : platforms) {
      PlannedEnvironment pe;
      pe.input_index = i;
      pe.platform = platform;
      pe.requirements = FinalizeRequirements(in, platform, options.default_channels,
                                             options.default_indexes);
      pe.requirements.virtual_overrides = options.virtual_overrides;
      pe.req_id = ComputeReqId(pe.requirements);
      pe.label = (in.steps.empty() ? std::string("environment") : Join(in.steps, ", ")) + " (" +
                 platform + ")";
      pe.previous = Previous(existing, in.steps, platform);
      const LockedEnvironment* same =
          existing ? existing->ReusableEntry(pe.req_id, platform) : nullptr;
      if (same == nullptr) {
        pe.solve = true;
        if (pe.previous) {
          std::string change = DescribeRequirementChange(pe.previous->requirements,
                                                         pe.requirements);
          pe.reason = "requirements changed" + (change.empty() ? "" : " (" + change + ")");
        } else {
          pe.reason = existing ? "not in the lock" : "new";
        }
      } else if (options.upgrade) {
        pe.solve = true;
        pe.reason = "--upgrade";
        pe.previous = *same;
      } else {
        std::vector<std::string> hits;
        for (const auto& name : options.upgrade_packages) {
          if (Contains(*same, name)) {
            hits.push_back(name);
            upgrade_hits.insert(name);
          }
        }
        pe.previous = *same;
        if (!hits.empty()) {
          pe.solve = true;
          pe.reason = "--upgrade-package " + Join(hits, ", ");
        } else {
          pe.solve = false;
          pe.reason = "unchanged";
          pe.result = *same;
        }
      }
      plan.entries.push_back(std::move(pe));
    }
  }
  for (const auto& name : options.upgrade_packages) {
    if (!upgrade_hits.count(name)) {
      return Status::Usage("--upgrade-package " + name + ": no environment of " +
                           options.lock_path + " contains a package named '" + name + "'");
    }
  }
  if (options.locked) {
    std::vector<std::string> stale;
    for (const auto& pe : plan.entries)
      if (pe.solve) stale.push_back(pe.label + ": " + pe.reason);
    if (!stale.empty()) {
      return Status::User("--locked: " + options.lock_path + " is out of date: " +
                          Join(stale, "; "));
    }
  }
  return plan;
}

Result<lock::LockFile> AssembleLock(const CombinedInputs& inputs, const ResolvePlan& plan) {
  lock::LockFile lf;
  lf.inputs = inputs.inputs;
  lf.flow_file = inputs.flow_file;
  lf.flow_class = inputs.flow_class;
  std::vector<std::map<std::string, std::string>> req_ids(inputs.environments.size());
  for (const PlannedEnvironment& pe : plan.entries) {
    if (!pe.result) return Status::User("internal: " + pe.label + " was not resolved");
    LockedEnvironment e = *pe.result;
    e.platform = pe.platform;
    e.req_id = pe.req_id;
    e.requirements = pe.requirements;
    e.steps = inputs.environments.at(pe.input_index).steps;
    if (e.env_id.empty()) e.env_id = ComputeEnvId(e.platform, e.packages);
    req_ids[pe.input_index][pe.platform] = pe.req_id;
    lf.environments.push_back(std::move(e));
  }
  lf.steps = StepMap(inputs, req_ids);
  lock::Canonicalize(lf);
  return lf;
}

}  // namespace ferry::inputs
