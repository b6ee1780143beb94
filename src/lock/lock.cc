#include "src/lock/lock.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "src/digest.h"

namespace ferry {

const char* PackageKindName(PackageKind kind) {
  return kind == PackageKind::kConda ? "conda" : "pypi";
}

std::string CanonicalRequirementJson(const RequirementSet& req) {
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  nlohmann::ordered_json j;
  j["channels"] = req.channels;  // priority order matters: not sorted
  j["conda"] = sorted(req.conda);
  j["indexes"] = req.indexes;
  j["platform"] = req.platform;
  j["pypi"] = sorted(req.pypi);
  j["python"] = req.python;
  nlohmann::ordered_json ov = nlohmann::ordered_json::object();
  for (const auto& [k, v] : req.virtual_overrides) ov[k] = v;  // std::map: sorted
  j["virtual_overrides"] = ov;
  return j.dump();
}

std::string ComputeReqId(const RequirementSet& req) {
  return Sha256Hex(CanonicalRequirementJson(req));
}

std::string ComputeEnvId(const std::string& platform, const std::vector<LockedPackage>& packages) {
  std::vector<std::string> lines;
  lines.reserve(packages.size());
  for (const auto& p : packages)
    lines.push_back(platform + "\t" + PackageKindName(p.kind) + "\t" + p.sha256 + "\n");
  std::sort(lines.begin(), lines.end());
  Hasher h;
  for (const auto& l : lines) h.Update(l);
  return h.HexDigest();
}

void SortPackages(std::vector<LockedPackage>& packages) {
  std::sort(packages.begin(), packages.end(), [](const LockedPackage& a, const LockedPackage& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    if (a.name != b.name) return a.name < b.name;
    return a.filename < b.filename;
  });
}

}  // namespace ferry
