#include "cli/publish.h"

#include "store/local/local_store.h"
#include "store/remote/object_store.h"

namespace ferry::cli {

Result<PublishResult> Publish(Context& ctx, const std::vector<LockedEnvironment>& envs,
                              const std::string& what, const std::optional<store::EnvName>& name,
                              const std::string& named_env_id) {
  if (ctx.config.store_url.empty()) {
    return Status::Usage(what +
                         " needs a remote store: set FERRY_STORE (s3://bucket/prefix or "
                         "file:///path)");
  }
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<store::LocalStore> local,
                         store::LocalStore::Open(ctx.config.ferry_home));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<store::ObjectStore> remote,
                         store::OpenObjectStore(ctx.config.store_url, *ctx.http));
  store::SyncOptions sync;
  sync.reporter = ctx.reporter.get();
  std::vector<LockedPackage> all;
  for (const auto& e : envs) all.insert(all.end(), e.packages.begin(), e.packages.end());
  PublishResult out;
  out.store = remote->Describe();
  FERRY_ASSIGN_OR_RETURN(out.fetched, store::FetchBlobsFromUrls(all, *local, *ctx.http, sync));
  FERRY_ASSIGN_OR_RETURN(out.pushed, store::Push(envs, *local, *remote, sync));
  if (name) FERRY_RETURN_IF_ERROR(store::Alias(named_env_id, *name, *remote));
  return out;
}

}  // namespace ferry::cli
