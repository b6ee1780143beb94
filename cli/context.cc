#include "cli/context.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "src/inputs/toml.h"

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

// Reads one ferry.toml into `c` (only keys not already set by a higher-priority file).
static Status ReadConfigFile(const std::string& path, Config& c, bool& home_set, bool& store_set,
                             bool& channels_set, bool& indexes_set) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Ok();
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = inputs::ParseToml(ss.str(), path);
  if (!doc.ok()) return doc.status();
  auto str = [&](const char* key, std::string& out, bool& set) -> Status {
    const inputs::TomlValue* v = doc->Get(key);
    if (!v || set) return Status::Ok();
    if (v->type != inputs::TomlValue::Type::kString)
      return Status::User(path + ":" + std::to_string(v->line) + ": '" + key + "' must be a string");
    out = v->text;
    set = true;
    return Status::Ok();
  };
  auto list = [&](const char* key, std::vector<std::string>& out, bool& set) -> Status {
    const inputs::TomlValue* v = doc->Get(key);
    if (!v || set) return Status::Ok();
    if (v->type == inputs::TomlValue::Type::kString) {
      out = {v->text};
    } else if (v->type == inputs::TomlValue::Type::kArray) {
      out.clear();
      for (const auto& item : v->array) {
        if (item.type != inputs::TomlValue::Type::kString)
          return Status::User(path + ":" + std::to_string(item.line) + ": '" + key +
                              "' must be a list of strings");
        out.push_back(item.text);
      }
    } else {
      return Status::User(path + ":" + std::to_string(v->line) + ": '" + key +
                          "' must be a string or a list of strings");
    }
    set = true;
    return Status::Ok();
  };
  FERRY_RETURN_IF_ERROR(str("home", c.ferry_home, home_set));
  FERRY_RETURN_IF_ERROR(str("store", c.store_url, store_set));
  FERRY_RETURN_IF_ERROR(list("channels", c.channels, channels_set));
  FERRY_RETURN_IF_ERROR(list("index-url", c.index_urls, indexes_set));
  return Status::Ok();
}

Result<Config> LoadConfig(const std::string& input_dir) {
  Config c;
  bool home_set = false, store_set = false, channels_set = false, indexes_set = false;
  // Environment variables win over files.
  if (std::string v = Env("FERRY_HOME"); !v.empty()) c.ferry_home = v, home_set = true;
  if (std::string v = Env("FERRY_STORE"); !v.empty()) c.store_url = v, store_set = true;
  if (std::string v = Env("FERRY_CHANNELS"); !v.empty()) c.channels = SplitList(v), channels_set = true;
  if (std::string v = Env("FERRY_INDEX_URL"); !v.empty())
    c.index_urls = SplitList(v), indexes_set = true;
  // ferry.toml next to the input, then the user's.
  std::string xdg = Env("XDG_CONFIG_HOME");
  if (xdg.empty()) xdg = Env("HOME") + "/.config";
  for (const std::string& path : {input_dir + "/ferry.toml", xdg + "/ferry/ferry.toml"}) {
    FERRY_RETURN_IF_ERROR(
        ReadConfigFile(path, c, home_set, store_set, channels_set, indexes_set));
  }
  if (c.ferry_home.empty()) {
    std::string cache = Env("XDG_CACHE_HOME");
    if (cache.empty()) cache = Env("HOME") + "/.cache";
    c.ferry_home = cache + "/ferry";
  }
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
