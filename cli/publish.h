// Publishing locked environments to the remote store, shared by `push`, `resolve --push/--name`
// and `compose --push/--name`: package files missing from the local store are first fetched from
// their lock URLs (verified), then blobs, manifests and req-id pointers are pushed (SPEC.md §5),
// then the optional name is set.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "src/lock/lock.h"
#include "src/status.h"
#include "store/manifest.h"
#include "store/sync.h"

namespace ferry::cli {

struct PublishResult {
  std::string store;             // the remote store, described without credentials
  store::TransferStats fetched;  // package files fetched from lock URLs into the local store
  store::TransferStats pushed;
};

// Pushes `envs` to ctx's remote store; with `name`, then points it at `named_env_id`.
// kUsage when no remote store is configured (`what` names the command or flag that needs one).
Result<PublishResult> Publish(Context& ctx, const std::vector<LockedEnvironment>& envs,
                              const std::string& what,
                              const std::optional<store::EnvName>& name = std::nullopt,
                              const std::string& named_env_id = "");

}  // namespace ferry::cli
