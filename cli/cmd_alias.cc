// ferry alias ENV NAME[:TAG]: publish a name for an environment in the remote store (SPEC.md §2).
// Immutable tags are created with a conditional write; latest/candidate/stable move.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "src/lock/lock_file.h"
#include "store/local/local_store.h"
#include "store/manifest.h"
#include "store/remote/object_store.h"
#include "store/sync.h"

namespace ferry::cli {

namespace {

struct AliasArgs {
  std::string env;
  std::string name;
  std::string step;
};

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status RunAlias(Context& ctx, const AliasArgs& args) {
  if (ctx.config.store_url.empty())
    return Status::Usage(
        "alias needs a remote store: set FERRY_STORE (s3://bucket/prefix or file:///path)");
  FERRY_ASSIGN_OR_RETURN(std::string name_text, store::SubstituteVarsFromEnv(args.name));
  FERRY_ASSIGN_OR_RETURN(store::EnvName name, store::ParseEnvName(name_text));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<store::LocalStore> local,
                         store::LocalStore::Open(ctx.config.ferry_home));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<store::ObjectStore> remote,
                         store::OpenObjectStore(ctx.config.store_url, *ctx.http));
  std::string env_id;
  if (IsRegularFile(args.env)) {
    FERRY_ASSIGN_OR_RETURN(std::string bytes, ctx.fs->ReadFile(args.env));
    FERRY_ASSIGN_OR_RETURN(lock::LockFile lf, lock::ParseLock(bytes, args.env));
    FERRY_ASSIGN_OR_RETURN(const LockedEnvironment* e, lock::FindEnvironment(lf, args.step, ""));
    env_id = e->env_id;
  } else {
    if (!args.step.empty()) return Status::Usage("--step is only valid with a lock file");
    FERRY_ASSIGN_OR_RETURN(env_id, store::ResolveEnvRef(args.env, local.get(), remote.get()));
  }
  FERRY_RETURN_IF_ERROR(store::Alias(env_id, name, *remote));
  if (ctx.opts.json) {
    nlohmann::ordered_json j;
    j["name"] = name.ToString();
    j["env_id"] = env_id;
    j["mutable"] = name.IsMutable();
    j["key"] = store::NameKey(name);
    j["store"] = remote->Describe();
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << name.ToString() << " -> " << env_id << std::endl;
  }
  return Status::Ok();
}

}  // namespace

void RegisterAlias(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<AliasArgs>();
  auto* sub = app.add_subcommand("alias", "Publish NAME[:TAG] for an environment in the remote store");
  sub->add_option("ENV", args->env, "Lock file, env-id (or 8+ hex prefix) or NAME[:TAG]")
      ->required();
  sub->add_option("NAME", args->name, "NAME[:TAG] (default tag: latest)")->required();
  sub->add_option("--step", args->step, "With a lock file: the step whose environment to name");
  sub->callback([&ctx, args] {
    Status s = RunAlias(ctx, *args);
    ctx.exit_code = s.ok() ? 0 : ReportError(ctx, s);
  });
}

}  // namespace ferry::cli
