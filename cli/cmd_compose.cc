// ferry compose BASE [--conda SPEC]... [--pypi REQ]... [-r FILE] [--name NAME:TAG] [-o LOCK]
//
// Resolves a new environment that contains BASE's locked packages plus extra requirements.
// BASE's versions are kept when possible: first a strict solve pins every base package exactly;
// if that is unsolvable, a flexible solve keeps what it can (preferences) and the output lists
// every base package whose version changed, with the strict solve's explanation of why.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/publish.h"
#include "cli/resolve_env.h"
#include "src/inputs/requirements_txt.h"
#include "src/lock/lock_file.h"
#include "store/local/local_store.h"
#include "store/manifest.h"
#include "store/remote/object_store.h"
#include "store/sync.h"

namespace ferry::cli {
namespace {

struct ComposeArgs {
  std::string base;
  std::string step;
  std::string platform;
  std::vector<std::string> conda;
  std::vector<std::string> pypi;
  std::vector<std::string> requirement_files;
  std::string name;
  std::string output;
  bool push = false;
};

// BASE as a lock file (with --step/--platform), an env-id (prefix) or NAME[:TAG] with @{VAR}.
Result<LockedEnvironment> LoadBase(Context& ctx, const ComposeArgs& a) {
  struct stat sb;
  if (::stat(a.base.c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) {
    FERRY_ASSIGN_OR_RETURN(std::string text, ctx.fs->ReadFile(a.base));
    FERRY_ASSIGN_OR_RETURN(lock::LockFile lock, lock::ParseLock(text, a.base));
    FERRY_ASSIGN_OR_RETURN(const LockedEnvironment* env,
                           lock::FindEnvironment(lock, a.step, a.platform));
    return *env;
  }
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<store::LocalStore> local,
                         store::LocalStore::Open(ctx.config.ferry_home));
  std::unique_ptr<store::ObjectStore> remote;
  if (!ctx.config.store_url.empty()) {
    FERRY_ASSIGN_OR_RETURN(remote, store::OpenObjectStore(ctx.config.store_url, *ctx.http));
  }
  FERRY_ASSIGN_OR_RETURN(std::string env_id, store::ResolveEnvRef(a.base, local.get(), remote.get()));
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> text, local->GetManifest(env_id));
  if (!text && remote) {
    FERRY_ASSIGN_OR_RETURN(text, remote->Get(store::ManifestKey(env_id)));
  }
  if (!text) return Status::User("environment " + env_id.substr(0, 12) + " (" + a.base + ") has no manifest in the local or remote store");
  FERRY_ASSIGN_OR_RETURN(store::EnvManifest m,
                         store::ParseEnvManifest(*text, store::ManifestKey(env_id), env_id));
  return m.env;
}

std::string CondaPin(const LockedPackage& p) {
  return p.name + " ==" + p.version + " " + p.build;
}

Status Run(Context& ctx, const ComposeArgs& a) {
  FERRY_ASSIGN_OR_RETURN(LockedEnvironment base, LoadBase(ctx, a));

  // The new requirement set: BASE's own requirements, BASE's packages by name, the extras.
  RequirementSet req = base.requirements;
  req.platform = base.platform;
  if (req.channels.empty()) req.channels = ctx.config.channels;
  if (req.indexes.empty()) req.indexes = ctx.config.index_urls;
  for (const auto& s : a.conda) req.conda.push_back(s);
  for (const auto& s : a.pypi) req.pypi.push_back(s);
  for (const auto& file : a.requirement_files) {
    FERRY_ASSIGN_OR_RETURN(inputs::RequirementsTxt txt,
                           inputs::ReadRequirementsTxt(file, [&ctx](const std::string& p) { return ctx.fs->ReadFile(p); }));
    for (const auto& r : txt.requirements) req.pypi.push_back(r.requirement);
    if (!txt.index_url.empty() && std::find(req.indexes.begin(), req.indexes.end(), txt.index_url) == req.indexes.end())
      req.indexes.push_back(txt.index_url);
    for (const auto& u : txt.extra_index_urls)
      if (std::find(req.indexes.begin(), req.indexes.end(), u) == req.indexes.end()) req.indexes.push_back(u);
  }
  EnvResolveOptions prefer;
  std::vector<std::string> base_conda, base_pypi;
  RequirementSet strict = req;
  for (const auto& p : base.packages) {
    if (p.kind == PackageKind::kConda) {
      prefer.prefer_conda[p.name] = p.version + (p.build.empty() ? "" : " " + p.build);
      req.conda.push_back(p.name);
      strict.conda.push_back(CondaPin(p));
    } else {
      prefer.prefer_pypi[p.name] = p.version;
      req.pypi.push_back(p.name);
      strict.pypi.push_back(p.name + "==" + p.version);
    }
  }

  // 1. Strict: every base package exactly as locked.
  ctx.reporter->Info("compose: trying with every package of the base kept exactly");
  FERRY_ASSIGN_OR_RETURN(EnvResolution strict_res, ResolveEnvironment(ctx, strict, prefer));
  EnvResolution res = strict_res;
  std::vector<std::string> changed;
  if (!strict_res.solved) {
    // 2. Flexible: base versions are preferences only.
    FERRY_ASSIGN_OR_RETURN(res, ResolveEnvironment(ctx, req, prefer));
    if (!res.solved) {
      return Status::User("cannot compose " + a.base + " with the extra requirements:\n" +
                          res.explanation);
    }
    for (const auto& b : base.packages) {
      std::string now = "(removed)";
      for (const auto& p : res.packages)
        if (p.kind == b.kind && p.name == b.name) now = p.version + (p.build.empty() ? "" : " " + p.build);
      std::string was = b.version + (b.build.empty() ? "" : " " + b.build);
      if (now != was) changed.push_back(b.name + " " + was + " -> " + now);
    }
    std::cerr << "ferry: warning: not every package of " << a.base
              << " can keep its locked version:\n";
    for (const auto& c : changed) std::cerr << "  " << c << "\n";
    std::cerr << "because, with every base package kept exactly:\n" << strict_res.explanation << "\n";
  }

  LockedEnvironment env;
  env.platform = base.platform;
  env.requirements = req;
  env.packages = res.packages;
  env.req_id = ComputeReqId(req);
  env.env_id = ComputeEnvId(env.platform, env.packages);
  std::optional<store::EnvName> name;
  if (!a.name.empty()) {
    FERRY_ASSIGN_OR_RETURN(std::string substituted, store::SubstituteVarsFromEnv(a.name));
    FERRY_ASSIGN_OR_RETURN(store::EnvName n, store::ParseEnvName(substituted));
    name = n;
    env.name = n.ToString();
  }

  lock::LockFile lock;
  lock.environments.push_back(env);
  lock::Canonicalize(lock);
  std::string out = a.output.empty() ? "compose.lock" : a.output;
  {
    std::string data = lock::WriteLock(lock);
    FERRY_RETURN_IF_ERROR(ctx.fs->WriteFileAtomic(out, data));
  }

  if (name || a.push) {
    FERRY_RETURN_IF_ERROR(Publish(ctx, {env}, "--name and --push", name, env.env_id).status());
  }

  if (ctx.opts.json) {
    std::cout << lock::ToSpecJson(lock);
  } else if (!ctx.opts.quiet) {
    std::cout << env.env_id.substr(0, 12) << "  " << env.platform << "  " << env.packages.size()
              << " packages" << (name ? "  " + name->ToString() : "") << "  -> " << out << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterCompose(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ComposeArgs>();
  auto* sub = app.add_subcommand(
      "compose", "Resolve a new environment: BASE's packages (kept at their locked versions where "
                 "possible) plus extra requirements");
  sub->add_option("base", args->base, "Lock file, env-id (8+ hex prefix) or NAME[:TAG] (@{VAR} allowed)")
      ->required();
  sub->add_option("--step", args->step, "Environment of a lock file (step, name or env-id)");
  sub->add_option("--platform", args->platform, "Platform of the base in a multi-platform lock");
  sub->add_option("--conda", args->conda, "Extra conda match spec (repeatable)");
  sub->add_option("--pypi", args->pypi, "Extra PEP 508 requirement (repeatable)");
  sub->add_option("-r,--requirements", args->requirement_files, "Extra requirements.txt");
  sub->add_option("--name", args->name, "Publish the result as NAME[:TAG] (pushes it)");
  sub->add_flag("--push", args->push, "Push the result to the remote store");
  sub->add_option("-o,--output", args->output, "Lock file to write (default compose.lock)");
  sub->callback([&ctx, args] {
    Status st = Run(ctx, *args);
    if (!st.ok()) ctx.exit_code = ReportError(ctx, st);
  });
}

}  // namespace ferry::cli
