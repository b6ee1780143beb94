#include "cli/context.h"

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ferry::cli {

static std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

static std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Config LoadConfig(const std::string& input_dir) {
  Config c;
  c.ferry_home = Env("FERRY_HOME");
  if (c.ferry_home.empty()) {
    std::string cache = Env("XDG_CACHE_HOME");
    if (cache.empty()) cache = Env("HOME") + "/.cache";
    c.ferry_home = cache + "/ferry";
  }
  c.store_url = Env("FERRY_STORE");
  c.channels = SplitList(Env("FERRY_CHANNELS"));
  c.index_urls = SplitList(Env("FERRY_INDEX_URL"));
  return c;
}

int ReportError(const Context& ctx, const Status& status, const std::string& json_kind) {
  if (ctx.opts.json) {
    nlohmann::json j = {{"error", json_kind}, {"message", status.message()}};
    std::cout << j.dump() << std::endl;
  }
  std::cerr << "ferry: error: " << status.message() << std::endl;
  return status.exit_code();
}

}  // namespace ferry::cli
