// ferry verify PREFIX: check a materialized environment against its conda-meta records and
// dist-info RECORDs (store/materialize/verify.h). Exit 0 clean; 1 files missing, edited or
// added; 3 content changed at the same size or an unreadable record (looks like corruption).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "store/materialize/verify.h"

namespace ferry::cli {

void RegisterVerify(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "verify", "Check a materialized environment against its records (missing, modified, extra "
                "files). Exit 1 if it differs, 3 if it looks corrupt");
  auto prefix = std::make_shared<std::string>();
  sub->add_option("PREFIX", *prefix, "Environment prefix (as printed by `ferry fetch`)")->required();
  sub->callback([&ctx, prefix] {
    auto r = store::VerifyEnvironment(*prefix);
    if (!r.ok()) {
      ctx.exit_code = ReportError(ctx, r.status());
      return;
    }
    const auto& rep = *r;
    if (ctx.opts.json) {
      nlohmann::json j = {{"prefix", *prefix},       {"clean", rep.clean()},
                          {"checked", rep.checked},  {"missing", rep.missing},
                          {"modified", rep.modified}, {"corrupt", rep.corrupt},
                          {"extra", rep.extra}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      for (const auto& p : rep.missing) std::printf("missing   %s\n", p.c_str());
      for (const auto& p : rep.modified) std::printf("modified  %s\n", p.c_str());
      for (const auto& p : rep.corrupt) std::printf("corrupt   %s\n", p.c_str());
      for (const auto& p : rep.extra) std::printf("extra     %s\n", p.c_str());
      if (!ctx.opts.quiet) {
        if (rep.clean())
          std::fprintf(stderr, "ferry: %s: %llu paths verified, clean\n", prefix->c_str(),
                       static_cast<unsigned long long>(rep.checked));
        else
          std::fprintf(stderr,
                       "ferry: %s differs from its records: %zu missing, %zu modified, %zu corrupt, "
                       "%zu extra\n",
                       prefix->c_str(), rep.missing.size(), rep.modified.size(),
                       rep.corrupt.size(), rep.extra.size());
      }
    }
    ctx.exit_code = rep.ExitCode();
  });
}

}  // namespace ferry::cli
