#include "src/inputs/resolve_plan.h"

#include <catch2/catch.hpp>
#include <map>

#include "src/digest.h"

using namespace ferry;
using namespace ferry::inputs;

namespace {

const char* kFlowV1 =
    "from metaflow import FlowSpec, step, conda_base, conda, pypi, named_env\n"
    "@conda_base(python='3.11', libraries={'numpy': '1.26.4'})\n"
    "class T(FlowSpec):\n"
    "    @step\n"
    "    def start(self): self.next(self.train)\n"
    "    @conda(libraries={'scikit-learn': '1.4.1'})\n"
    "    @step\n"
    "    def train(self): self.next(self.explain)\n"
    "    @named_env(name='explainer:v1')\n"
    "    @step\n"
    "    def explain(self): self.next(self.end)\n"
    "    @step\n"
    "    def end(self): pass\n";

CombinedInputs Read(const std::string& flow_text) {
  InputReaders readers;
  readers.read = [flow_text](const std::string&) -> Result<std::string> { return flow_text; };
  auto r = CombineInputs({{"flow.py"}, {}, {}, "", {}}, readers);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return r.value();
}

// A fake solver: one conda package per spec name, deterministic digests.
LockedEnvironment FakeSolve(const RequirementSet& req, const std::string& salt = "") {
  LockedEnvironment e;
  for (const auto& spec : req.conda) {
    LockedPackage p;
    p.kind = PackageKind::kConda;
    p.name = spec.substr(0, spec.find(' '));
    p.version = "1.0";
    p.build = "h_0";
    p.subdir = req.platform;
    p.filename = p.name + "-1.0-h_0.conda";
    p.url = "https://c.example/" + req.platform + "/" + p.filename;
    p.sha256 = Sha256Hex(p.url + salt);
    p.md5 = Md5Hex(p.url);
    e.packages.push_back(p);
  }
  e.env_id = ComputeEnvId(req.platform, e.packages);
  return e;
}

PlanOptions Options() {
  PlanOptions o;
  o.platforms = {"linux-64", "osx-arm64"};
  o.default_channels = {"https://c.example"};
  o.default_indexes = {"https://pypi.example/simple"};
  return o;
}

std::string SolveAndWrite(const CombinedInputs& in, ResolvePlan& plan, const std::string& salt = "") {
  for (auto& e : plan.entries)
    if (e.solve) e.result = FakeSolve(e.requirements, salt);
  auto lock = AssembleLock(in, plan);
  REQUIRE(lock.ok());
  return lock::WriteLock(*lock);
}

}  // namespace

TEST_CASE("plan: first resolve, no-op re-resolve, one edited decorator") {
  CombinedInputs in = Read(kFlowV1);
  auto plan = PlanResolve(in, nullptr, Options());
  REQUIRE(plan.ok());
  CHECK(plan->entries.size() == 4);  // 2 environments x 2 platforms
  CHECK(plan->ToSolve() == 4);
  CHECK(plan->entries[0].reason == "new");
  std::string text = SolveAndWrite(in, *plan);
  auto lock = lock::ParseLock(text, "ferry.lock");
  INFO(lock.status().message());
  REQUIRE(lock.ok());
  CHECK(lock->steps.size() == 4);

  // Re-running with the same inputs: everything reused, identical bytes.
  auto again = PlanResolve(in, &*lock, Options());
  REQUIRE(again.ok());
  CHECK(again->ToSolve() == 0);
  CHECK(SolveAndWrite(in, *again, "other-solver-output") == text);

  // --locked passes when nothing changed.
  PlanOptions locked = Options();
  locked.locked = true;
  CHECK(PlanResolve(in, &*lock, locked).ok());

  // Editing the train decorator changes exactly that environment (on both platforms).
  std::string v2 = kFlowV1;
  v2.replace(v2.find("'scikit-learn': '1.4.1'"), 23, "'scikit-learn': '1.4.1', 'scipy': ''");
  CombinedInputs in2 = Read(v2);
  auto plan2 = PlanResolve(in2, &*lock, Options());
  REQUIRE(plan2.ok());
  CHECK(plan2->ToSolve() == 2);
  for (const auto& e : plan2->entries) {
    if (e.label.rfind("train", 0) == 0) {
      CHECK(e.solve);
      CHECK(e.reason == "requirements changed (conda: +scipy)");
    } else {
      CHECK_FALSE(e.solve);
    }
  }
  std::string text2 = SolveAndWrite(in2, *plan2);
  auto lock2 = lock::ParseLock(text2, "ferry.lock");
  REQUIRE(lock2.ok());
  // the start/end environments are byte-for-byte the same entries
  for (const auto& e : lock->environments) {
    if (e.steps[0] == "end") CHECK(lock2->ReusableEntry(e.req_id, e.platform) != nullptr);
    if (e.steps[0] == "train") CHECK(lock2->ReusableEntry(e.req_id, e.platform) == nullptr);
  }

  // --locked with the edited flow fails and names what changed.
  auto stale = PlanResolve(in2, &*lock, locked);
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.status().code() == Code::kUser);
  CHECK(stale.status().message() ==
        "--locked: ferry.lock is out of date: train (linux-64): requirements changed (conda: "
        "+scipy); train (osx-arm64): requirements changed (conda: +scipy)");
}

TEST_CASE("plan: --upgrade, --upgrade-package, new platform, --locked without a lock") {
  CombinedInputs in = Read(kFlowV1);
  auto plan = PlanResolve(in, nullptr, Options());
  REQUIRE(plan.ok());
  std::string text = SolveAndWrite(in, *plan);
  auto lock = lock::ParseLock(text, "ferry.lock");
  REQUIRE(lock.ok());

  PlanOptions up = Options();
  up.upgrade = true;
  auto all = PlanResolve(in, &*lock, up);
  REQUIRE(all.ok());
  CHECK(all->ToSolve() == 4);
  CHECK(all->entries[0].previous.has_value());

  PlanOptions one = Options();
  one.upgrade_packages = {"scikit-learn"};
  auto some = PlanResolve(in, &*lock, one);
  REQUIRE(some.ok());
  CHECK(some->ToSolve() == 2);  // only the train environments contain scikit-learn
  one.upgrade_packages = {"tensorflow"};
  auto none = PlanResolve(in, &*lock, one);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Code::kUsage);

  PlanOptions more = Options();
  more.platforms.push_back("osx-64");
  auto extra = PlanResolve(in, &*lock, more);
  REQUIRE(extra.ok());
  CHECK(extra->ToSolve() == 2);  // the new platform only

  PlanOptions locked = Options();
  locked.locked = true;
  auto missing = PlanResolve(in, nullptr, locked);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        "--locked: ferry.lock does not exist (run `ferry resolve` without --locked first)");

  // a virtual-package override is part of the requirement set
  PlanOptions glibc = Options();
  glibc.virtual_overrides["__glibc"] = "2.28";
  auto changed = PlanResolve(in, &*lock, glibc);
  REQUIRE(changed.ok());
  CHECK(changed->ToSolve() == 4);
  CHECK(changed->entries[0].reason ==
        "requirements changed (virtual packages: {} -> {__glibc=2.28})");
}
