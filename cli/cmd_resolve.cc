// ferry resolve INPUT... [-o LOCK] [--platform P]... [--channel URL]... [--index-url URL]
//               [--extra-index-url URL]... [--conda SPEC]... [--pypi REQ]... [--python VER]
//               [--locked] [--upgrade] [--upgrade-package NAME]... [--name NAME:TAG] [--push]
//
// Inputs (flow files, requirements.txt, environment.yml, pyproject.toml, --conda/--pypi) become
// requirement sets (src/inputs/combine.h); each is planned against the existing lock (reuse by
// req-id, --locked, --upgrade: src/inputs/resolve_plan.h), the entries to solve are resolved
// (conda side, then PyPI for the chosen python: cli/resolve_env.h), and the lock is written only
// when its bytes change. --push uploads every environment; --name also publishes the name.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/publish.h"
#include "cli/fetch_env.h"
#include "cli/inputs/read_inputs.h"
#include "cli/resolve_env.h"
#include "src/inputs/resolve_plan.h"
#include "src/lock/lock.h"
#include "src/lock/lock_file.h"
#include "src/specs/platform.h"
#include "store/local/local_store.h"
#include "store/manifest.h"
#include "store/remote/object_store.h"
#include "store/sync.h"

namespace ferry::cli {
namespace {

struct ResolveArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> conda;
  std::vector<std::string> pypi;
  std::vector<std::string> channels;
  std::vector<std::string> index_urls;
  std::vector<std::string> extra_index_urls;
  std::vector<std::string> platforms;
  std::vector<std::string> virtual_packages;  // "__cuda=12.2"
  std::vector<std::string> extras;
  std::string python;
  std::string output;
  bool locked = false;
  bool upgrade = false;
  std::vector<std::string> upgrade_packages;
  bool merge_indexes = false;
  bool pre = false;
  std::string name;
  bool push = false;
};

int RunResolve(Context& ctx, const ResolveArgs& args) {
  inputs::InputSpec spec;
  spec.paths = args.inputs;
  spec.conda = args.conda;
  spec.pypi = args.pypi;
  spec.python = args.python;
  spec.extras = args.extras;
  if (spec.paths.empty() && spec.conda.empty() && spec.pypi.empty())
    return ReportError(ctx, Status::Usage("nothing to resolve: give an INPUT file, --conda or --pypi"));
  const std::string lock_path = args.output.empty() ? DefaultLockPath(spec) : args.output;

  // ferry.toml next to the first input (flags > environment > that file > the user's file).
  if (!spec.paths.empty()) {
    auto config = LoadConfig(DirName(spec.paths.front()));
    if (!config.ok()) return ReportError(ctx, config.status());
    ctx.config = std::move(config).value();
  }

  auto combined = ReadInputs(*ctx.fs, spec, DirName(lock_path));
  if (!combined.ok()) return ReportError(ctx, combined.status());
  for (const auto& w : combined->warnings) ctx.reporter->Warn(w);

  std::optional<lock::LockFile> existing;
  if (auto info = ctx.fs->Stat(lock_path); info.ok() && info->exists) {
    auto text = ctx.fs->ReadFile(lock_path);
    if (!text.ok()) return ReportError(ctx, text.status());
    auto parsed = lock::ParseLock(*text, lock_path);
    if (!parsed.ok()) return ReportError(ctx, parsed.status());
    existing = std::move(parsed).value();
  }

  inputs::PlanOptions options;
  options.platforms = args.platforms;
  if (options.platforms.empty()) options.platforms.push_back(HostPlatform());
  options.default_channels = args.channels.empty() ? ctx.config.channels : args.channels;
  if (!args.index_urls.empty() || !args.extra_index_urls.empty()) {
    options.default_indexes = args.index_urls;
    if (options.default_indexes.empty()) options.default_indexes = ctx.config.index_urls;
    for (const auto& u : args.extra_index_urls) options.default_indexes.push_back(u);
  } else {
    options.default_indexes = ctx.config.index_urls;
  }
  options.virtual_overrides = specs::OverridesFromEnvironment();
  for (const auto& v : args.virtual_packages) {
    auto eq = v.find('=');
    if (eq == std::string::npos || v.compare(0, 2, "__") != 0)
      return ReportError(ctx, Status::Usage("--virtual-package expects __NAME=VERSION, got '" + v + "'"));
    options.virtual_overrides[v.substr(0, eq)] = v.substr(eq + 1);
  }
  options.locked = args.locked;
  options.upgrade = args.upgrade;
  options.upgrade_packages = args.upgrade_packages;
  options.lock_path = lock_path;

  auto plan = inputs::PlanResolve(*combined, existing ? &*existing : nullptr, options);
  if (!plan.ok()) return ReportError(ctx, plan.status());

  for (auto& entry : plan->entries) {
    if (!entry.solve) {
      ctx.reporter->Info(entry.label + ": reused from " + lock_path);
      continue;
    }
    ctx.reporter->Info(entry.label + ": resolving (" + entry.reason + ")");
    EnvResolveOptions prefer;
    prefer.merge_indexes = args.merge_indexes;
    prefer.allow_prereleases = args.pre;
    if (entry.previous && !args.upgrade) {
      // --upgrade-package: keep every other package of the previous lock where possible.
      for (const auto& p : entry.previous->packages) {
        if (std::find(args.upgrade_packages.begin(), args.upgrade_packages.end(), p.name) !=
            args.upgrade_packages.end())
          continue;
        (p.kind == PackageKind::kConda ? prefer.prefer_conda : prefer.prefer_pypi)[p.name] = p.version;
      }
    }
    auto res = ResolveEnvironment(ctx, entry.requirements, prefer);
    if (!res.ok()) return ReportError(ctx, res.status().WithContext(entry.label));
    if (!res->solved) {
      std::string message = entry.label + " is unsolvable:\n" + res->explanation;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return ReportError(ctx, Status::User(message), "unsolvable");
    }
    LockedEnvironment env;
    env.platform = entry.platform;
    env.requirements = entry.requirements;
    env.req_id = entry.req_id;
    env.packages = std::move(res->packages);
    env.env_id = ComputeEnvId(env.platform, env.packages);
    if (entry.previous) env.name = entry.previous->name;
    entry.result = std::move(env);
  }

  auto lock = inputs::AssembleLock(*combined, *plan);
  if (!lock.ok()) return ReportError(ctx, lock.status());

  std::optional<store::EnvName> name;
  std::string named_env_id;
  if (!args.name.empty()) {
    auto substituted = store::SubstituteVarsFromEnv(args.name);
    if (!substituted.ok()) return ReportError(ctx, substituted.status());
    auto parsed = store::ParseEnvName(*substituted);
    if (!parsed.ok()) return ReportError(ctx, parsed.status());
    if (lock->environments.size() != 1) {
      return ReportError(ctx, Status::Usage(
          "--name needs exactly one environment, but " + lock_path + " has " +
          std::to_string(lock->environments.size()) +
          " (resolve one platform, or name one with `ferry alias ENV NAME`)"));
    }
    name = *parsed;
    lock->environments[0].name = parsed->ToString();
    named_env_id = lock->environments[0].env_id;
  }

  if (!args.locked) {
    std::string data = lock::WriteLock(*lock);
    bool same = existing && lock::WriteLock(*existing) == data;
    if (!same) {
      Status st = ctx.fs->WriteFileAtomic(lock_path, data);
      if (!st.ok()) return ReportError(ctx, st.WithContext("writing " + lock_path));
    }
  }

  if (args.push || name) {
    auto published = Publish(ctx, lock->environments, "--push and --name", name, named_env_id);
    if (!published.ok()) return ReportError(ctx, published.status());
    const store::TransferStats& stats = published->pushed;
    ctx.reporter->Info("pushed " + std::to_string(stats.blobs_transferred) + " blobs (" +
                       std::to_string(stats.bytes_transferred) + " bytes), " +
                       std::to_string(stats.manifests_written) + " manifests to " +
                       published->store);
  }

  if (ctx.opts.json) {
    std::cout << lock::ToSpecJson(*lock);
  } else if (!ctx.opts.quiet) {
    for (const auto& entry : plan->entries) {
      const LockedEnvironment& env = *entry.result;
      size_t conda = 0, pypi = 0;
      for (const auto& p : env.packages) (p.kind == PackageKind::kConda ? conda : pypi)++;
      std::cout << env.env_id.substr(0, 12) << "  " << entry.label << "  " << conda << " conda + "
                << pypi << " pypi packages  " << (entry.solve ? "resolved" : "unchanged") << "\n";
    }
    std::cerr << (args.locked ? "checked " : "wrote ") << lock_path
              << (name ? " and published " + name->ToString() : "") << "\n";
  }
  return 0;
}

}  // namespace

void RegisterResolve(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ResolveArgs>();
  auto* sub = app.add_subcommand("resolve", "Resolve requirements into a lock file");
  sub->add_option("inputs", args->inputs,
                  "Flow file (*.py), requirements.txt, environment.yml or pyproject.toml");
  sub->add_option("--conda", args->conda, "Conda match spec (repeatable)");
  sub->add_option("--pypi", args->pypi, "PEP 508 requirement (repeatable)");
  sub->add_option("--channel,-c", args->channels,
                  "Conda channel URL, highest priority first (default: FERRY_CHANNELS)");
  sub->add_option("--index-url,-i", args->index_urls, "PyPI index URL (default: FERRY_INDEX_URL)");
  sub->add_option("--extra-index-url", args->extra_index_urls,
                  "Further PyPI index; a project is taken from the FIRST index that has it");
  sub->add_flag("--index-strategy-merge", args->merge_indexes,
                "Merge a project's files from every index (unsafe: dependency confusion)");
  sub->add_flag("--pre", args->pre, "Allow pre-releases of every PyPI project");
  sub->add_option("--platform", args->platforms,
                  "Target platform, e.g. linux-64, osx-arm64 (repeatable; default: this machine)");
  sub->add_option("--python", args->python, "Python version X.Y for the environment");
  sub->add_option("--extra", args->extras, "pyproject.toml optional-dependencies group");
  sub->add_option("--virtual-package", args->virtual_packages,
                  "Virtual package override, e.g. __glibc=2.28 or __cuda=12.2 (repeatable)");
  sub->add_option("-o,--output", args->output, "Lock file (default: ferry.lock beside the input)");
  sub->add_flag("--locked", args->locked,
                "Fail (exit 1) if the lock is missing or out of date; write nothing");
  sub->add_flag("--upgrade,-U", args->upgrade, "Re-resolve every environment");
  sub->add_option("--upgrade-package,-P", args->upgrade_packages,
                  "Re-resolve the environments containing NAME, keeping other versions");
  sub->add_option("--name", args->name, "Publish the environment as NAME[:TAG] (implies --push)");
  sub->add_flag("--push", args->push, "Upload every environment to the remote store (FERRY_STORE)");
  sub->callback([&ctx, args] { ctx.exit_code = RunResolve(ctx, *args); });
}

}  // namespace ferry::cli
