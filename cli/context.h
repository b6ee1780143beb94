// The composition root's context: global flags, configuration and the real I/O implementations,
// built once in main() and passed to every command. No globals.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/fs.h"
#include "src/http.h"
#include "src/reporter.h"
#include "src/status.h"

namespace ferry::cli {

struct GlobalOptions {
  bool json = false;
  bool verbose = false;
  bool quiet = false;
};

// Configuration: flags win over environment variables, which win over ferry.toml
// (next to the input or in $XDG_CONFIG_HOME/ferry/). See README "Configuration".
struct Config {
  std::string ferry_home;     // local store root (FERRY_HOME, default $XDG_CACHE_HOME/ferry)
  std::string store_url;      // remote store (FERRY_STORE): s3://bucket/prefix or file:///path
  std::vector<std::string> channels;  // FERRY_CHANNELS (comma separated)
  std::vector<std::string> index_urls;  // FERRY_INDEX_URL (comma separated)
};

struct Context {
  GlobalOptions opts;
  Config config;
  std::unique_ptr<FileSystem> fs;
  std::unique_ptr<HttpClient> http;
  std::unique_ptr<Reporter> reporter;
  int exit_code = 0;  // set by the command that ran
};

// Reads the configuration: environment variables, then `<input_dir>/ferry.toml`, then
// `$XDG_CONFIG_HOME/ferry/ferry.toml` (keys: home, store, channels, index-url); the first source
// that sets a key wins. Command flags are applied by each command on top. A malformed
// ferry.toml is kUser naming the file and line.
Result<Config> LoadConfig(const std::string& input_dir);

// Prints an error the SPEC way: "ferry: error: <message>" on stderr; with --json also
// {"error": kind, "message": ...} on stdout. Returns the exit code of the status.
int ReportError(const Context& ctx, const Status& status, const std::string& json_kind = "error");

}  // namespace ferry::cli
