// ferry: composition root. Builds the context (config, file system, HTTP client, reporter),
// registers one subcommand per file and runs the one the user named.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/terminal_reporter.h"
#include "src/platform/curl_http.h"
#include "src/platform/posix_fs.h"

int main(int argc, char** argv) {
  using namespace ferry;
  cli::Context ctx;
  CLI::App app{"ferry: build, pack and ship portable environments for data-science flows"};
  app.set_version_flag("--version", "ferry 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_flag("--json", ctx.opts.json, "Machine-readable output on stdout");
  app.add_flag("-v,--verbose", ctx.opts.verbose, "More detail on stderr");
  app.add_flag("-q,--quiet", ctx.opts.quiet, "Only errors on stderr");

  cli::RegisterResolve(app, ctx);
  cli::RegisterShow(app, ctx);
  cli::RegisterPush(app, ctx);
  cli::RegisterAlias(app, ctx);
  cli::RegisterFetch(app, ctx);
  cli::RegisterRun(app, ctx);
  cli::RegisterCompose(app, ctx);
  cli::RegisterExportImport(app, ctx);
  cli::RegisterCache(app, ctx);
  cli::RegisterVerify(app, ctx);
  cli::RegisterSpec(app, ctx);

  // Real implementations are created before any callback runs (CLI11 runs callbacks in parse).
  app.parse_complete_callback([&] {
    auto config = cli::LoadConfig(".");
    if (!config.ok()) {
      std::cerr << "ferry: error: " << config.status().message() << std::endl;
      std::exit(config.status().exit_code());
    }
    ctx.config = std::move(config).value();
    ctx.fs = std::make_unique<PosixFileSystem>();
    CurlHttpOptions http_options;
    http_options.cache_dir = ctx.config.ferry_home + "/http-cache";
    ctx.http = std::make_unique<CurlHttpClient>(http_options);
    ctx.reporter = cli::MakeTerminalReporter(ctx.opts.verbose, ctx.opts.quiet);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors are exit 2 (SPEC.md §2)
  }
  std::fflush(stdout);
  return ctx.exit_code;
}
