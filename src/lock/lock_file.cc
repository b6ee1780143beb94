#include "src/lock/lock_file.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "src/digest.h"

namespace ferry::lock {

using Json = nlohmann::ordered_json;

const char* StepKindName(StepKind kind) {
  switch (kind) {
    case StepKind::kEnvironment: return "environment";
    case StepKind::kDisabled: return "disabled";
    case StepKind::kNamed: return "named";
    case StepKind::kNone: return "none";
  }
  return "?";
}

const LockedEnvironment* LockFile::ReusableEntry(std::string_view req_id,
                                                 std::string_view platform) const {
  for (const auto& e : environments) {
    if (e.req_id == req_id && e.platform == platform) return &e;
  }
  return nullptr;
}

std::string EnvironmentLabel(const LockedEnvironment& env) {
  if (!env.steps.empty()) {
    std::string s;
    for (size_t i = 0; i < env.steps.size(); ++i) s += (i ? ", " : "") + env.steps[i];
    return s;
  }
  if (env.name) return *env.name;
  if (!env.env_id.empty()) return env.env_id.substr(0, 12);
  return "(unnamed)";
}

namespace {

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string PackageConsistency(const LockedPackage& p);

std::string FirstStep(const LockedEnvironment& e) { return e.steps.empty() ? "" : e.steps[0]; }

Json RequirementsJson(const RequirementSet& r) {
  // Same keys and normalization as CanonicalRequirementJson, so the stored object is exactly
  // what the req-id hashes.
  Json j = Json::object();
  j["channels"] = r.channels;
  j["conda"] = SortedUnique(r.conda);
  j["indexes"] = r.indexes;
  j["platform"] = r.platform;
  j["pypi"] = SortedUnique(r.pypi);
  j["python"] = r.python;
  Json ov = Json::object();
  for (const auto& [k, v] : r.virtual_overrides) ov[k] = v;
  j["virtual_overrides"] = ov;
  return j;
}

Json NullOr(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

Json PackageJson(const LockedPackage& p) {
  Json j = Json::object();
  j["kind"] = PackageKindName(p.kind);
  j["name"] = p.name;
  j["version"] = p.version;
  if (p.kind == PackageKind::kConda) {
    j["build"] = p.build;
    j["build_number"] = p.build_number;
    j["subdir"] = p.subdir;
    j["noarch"] = NullOr(p.noarch);
    j["filename"] = p.filename;
    j["url"] = p.url;
    j["channel"] = p.channel;
    j["size"] = p.size;
    j["sha256"] = p.sha256;
    j["md5"] = p.md5;
    j["depends"] = p.depends;
    j["constrains"] = p.constrains;
  } else {
    j["build"] = nullptr;
    j["filename"] = p.filename;
    j["url"] = p.url;
    j["index"] = p.channel;
    j["size"] = p.size;
    j["sha256"] = p.sha256;
    j["requires_python"] = NullOr(p.requires_python);
    j["depends"] = p.depends;
  }
  return j;
}

// ---- reading ----

class Reader {
 public:
  explicit Reader(std::string_view filename) : filename_(filename) {}

  Status Err(const std::string& where, const std::string& msg) const {
    return Status::User(filename_ + ": " + (where.empty() ? "" : where + ": ") + msg);
  }

  Result<const Json*> Field(const Json& obj, const char* key, const std::string& where) const {
    auto it = obj.find(key);
    if (it == obj.end()) return Err(where, std::string("missing '") + key + "'");
    return &*it;
  }

  Result<std::string> Str(const Json& obj, const char* key, const std::string& where,
                          bool nullable = false) const {
    FERRY_ASSIGN_OR_RETURN(const Json* v, Field(obj, key, where));
    if (nullable && v->is_null()) return std::string();
    if (!v->is_string()) return Err(where, std::string("'") + key + "' must be a string");
    return v->get<std::string>();
  }

  Result<std::vector<std::string>> StrList(const Json& obj, const char* key,
                                           const std::string& where) const {
    FERRY_ASSIGN_OR_RETURN(const Json* v, Field(obj, key, where));
    if (!v->is_array()) return Err(where, std::string("'") + key + "' must be a list of strings");
    std::vector<std::string> out;
    for (const auto& item : *v) {
      if (!item.is_string()) {
        return Err(where, std::string("'") + key + "' must be a list of strings");
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  // A string -> string object ('environments' of a step, 'virtual_overrides').
  Result<std::map<std::string, std::string>> StrMap(const Json& obj, const char* key,
                                                    const std::string& where) const {
    FERRY_ASSIGN_OR_RETURN(const Json* v, Field(obj, key, where));
    std::string what = std::string("'") + key + "' must be an object of strings";
    if (!v->is_object()) return Err(where, what);
    std::map<std::string, std::string> out;
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it.value().is_string()) return Err(where, what);
      out[it.key()] = it.value().get<std::string>();
    }
    return out;
  }

  // Calls fn(element, "key[i]") for each element of the list `key` of `obj`; with `objects`,
  // every element must be a JSON object.
  template <typename Fn>
  Status EachElement(const Json& obj, const char* key, const std::string& where, bool objects,
                     Fn&& fn) const {
    FERRY_ASSIGN_OR_RETURN(const Json* list, Field(obj, key, where));
    if (!list->is_array()) return Err(where, std::string("'") + key + "' must be a list");
    for (size_t i = 0; i < list->size(); ++i) {
      std::string at = (where.empty() ? "" : where + ".") + key + "[" + std::to_string(i) + "]";
      if (objects && !(*list)[i].is_object()) return Err(at, "must be an object");
      FERRY_RETURN_IF_ERROR(fn((*list)[i], at));
    }
    return Status::Ok();
  }

  Result<uint64_t> UInt(const Json& obj, const char* key, const std::string& where) const {
    FERRY_ASSIGN_OR_RETURN(const Json* v, Field(obj, key, where));
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
      return Err(where, std::string("'") + key + "' must be a non-negative integer");
    }
    return v->get<uint64_t>();
  }

  Result<RequirementSet> Requirements(const Json& j, const std::string& where) const {
    if (!j.is_object()) return Err(where, "'requirements' must be an object");
    RequirementSet r;
    FERRY_ASSIGN_OR_RETURN(r.channels, StrList(j, "channels", where));
    FERRY_ASSIGN_OR_RETURN(r.conda, StrList(j, "conda", where));
    FERRY_ASSIGN_OR_RETURN(r.indexes, StrList(j, "indexes", where));
    FERRY_ASSIGN_OR_RETURN(r.platform, Str(j, "platform", where));
    FERRY_ASSIGN_OR_RETURN(r.pypi, StrList(j, "pypi", where));
    FERRY_ASSIGN_OR_RETURN(r.python, Str(j, "python", where));
    FERRY_ASSIGN_OR_RETURN(r.virtual_overrides, StrMap(j, "virtual_overrides", where));
    return r;
  }

  Result<LockedPackage> Package(const Json& j, const std::string& where) const {
    if (!j.is_object()) return Err(where, "a package must be an object");
    LockedPackage p;
    FERRY_ASSIGN_OR_RETURN(std::string kind, Str(j, "kind", where));
    if (kind == "conda") {
      p.kind = PackageKind::kConda;
    } else if (kind == "pypi") {
      p.kind = PackageKind::kPypi;
    } else {
      return Err(where, "unknown package kind '" + kind + "' (expected conda or pypi)");
    }
    FERRY_ASSIGN_OR_RETURN(p.name, Str(j, "name", where));
    FERRY_ASSIGN_OR_RETURN(p.version, Str(j, "version", where));
    FERRY_ASSIGN_OR_RETURN(p.filename, Str(j, "filename", where));
    FERRY_ASSIGN_OR_RETURN(p.url, Str(j, "url", where));
    FERRY_ASSIGN_OR_RETURN(p.size, UInt(j, "size", where));
    FERRY_ASSIGN_OR_RETURN(p.sha256, Str(j, "sha256", where));
    FERRY_ASSIGN_OR_RETURN(p.depends, StrList(j, "depends", where));
    if (p.name.empty() || p.version.empty() || p.filename.empty() || p.url.empty()) {
      return Err(where, "'name', 'version', 'filename' and 'url' must not be empty");
    }
    if (p.kind == PackageKind::kConda) {
      FERRY_ASSIGN_OR_RETURN(p.build, Str(j, "build", where));
      FERRY_ASSIGN_OR_RETURN(const Json* bn, Field(j, "build_number", where));
      if (!bn->is_number_integer()) return Err(where, "'build_number' must be an integer");
      p.build_number = bn->get<int64_t>();
      FERRY_ASSIGN_OR_RETURN(p.subdir, Str(j, "subdir", where));
      FERRY_ASSIGN_OR_RETURN(p.noarch, Str(j, "noarch", where, /*nullable=*/true));
      FERRY_ASSIGN_OR_RETURN(p.channel, Str(j, "channel", where));
      FERRY_ASSIGN_OR_RETURN(p.md5, Str(j, "md5", where));
      FERRY_ASSIGN_OR_RETURN(p.constrains, StrList(j, "constrains", where));
      if (!p.md5.empty() &&
          (p.md5.size() != 32 ||
           p.md5.find_first_not_of("0123456789abcdef") != std::string::npos)) {
        return Status::Integrity(filename_ + ": " + where + " (" + p.filename +
                                 "): malformed md5 '" + p.md5 + "'");
      }
    } else {
      FERRY_ASSIGN_OR_RETURN(p.channel, Str(j, "index", where));
      FERRY_ASSIGN_OR_RETURN(p.requires_python, Str(j, "requires_python", where, true));
    }
    if (!IsSha256Hex(p.sha256)) {
      return Status::Integrity(filename_ + ": " + where + " (" + p.filename +
                               "): malformed sha256 '" + p.sha256 + "'");
    }
    return p;
  }

  Result<LockFile> Parse(std::string_view bytes) {
    Json doc;
    try {
      doc = Json::parse(bytes.begin(), bytes.end());
    } catch (const Json::exception& e) {
      return Err("", std::string("not a valid lock file (invalid JSON): ") + e.what());
    }
    if (!doc.is_object()) return Err("", "not a valid lock file (expected a JSON object)");
    auto v = doc.find("lock_version");
    if (v == doc.end()) return Err("", "not a ferry lock file (no 'lock_version')");
    if (!v->is_number_integer()) return Err("", "'lock_version' must be an integer");
    int version = v->get<int>();
    if (version != kLockVersion) {
      return Err("", "lock_version " + std::to_string(version) +
                         " is not supported by this ferry (it reads lock_version " +
                         std::to_string(kLockVersion) + ")" +
                         (version > kLockVersion ? "; upgrade ferry" : ""));
    }
    return ParseV1(doc);
  }

  // The reader for lock_version 1.
  Result<LockFile> ParseV1(const Json& doc) {
    LockFile lock;
    lock.lock_version = 1;
    FERRY_RETURN_IF_ERROR(EachElement(doc, "inputs", "", true, [&](const Json& in,
                                                                  const std::string& where) {
      LockInput li;
      FERRY_ASSIGN_OR_RETURN(li.path, Str(in, "path", where));
      FERRY_ASSIGN_OR_RETURN(li.sha256, Str(in, "sha256", where));
      if (!IsSha256Hex(li.sha256)) return Err(where, "malformed sha256 '" + li.sha256 + "'");
      lock.inputs.push_back(std::move(li));
      return Status::Ok();
    }));
    FERRY_ASSIGN_OR_RETURN(const Json* flow, Field(doc, "flow", ""));
    if (!flow->is_null()) {
      if (!flow->is_object()) return Err("flow", "must be an object or null");
      FERRY_ASSIGN_OR_RETURN(lock.flow_file, Str(*flow, "file", "flow"));
      FERRY_ASSIGN_OR_RETURN(lock.flow_class, Str(*flow, "class", "flow"));
    }
    FERRY_RETURN_IF_ERROR(EachElement(doc, "steps", "", true, [&](const Json& s,
                                                                 const std::string& where) {
      LockStep ls;
      FERRY_ASSIGN_OR_RETURN(ls.name, Str(s, "name", where));
      FERRY_ASSIGN_OR_RETURN(std::string kind, Str(s, "kind", where));
      if (kind == "environment") {
        ls.kind = StepKind::kEnvironment;
        FERRY_ASSIGN_OR_RETURN(ls.req_ids, StrMap(s, "environments", where));
        if (ls.req_ids.empty()) {
          return Err(where, "'environments' must be a non-empty object platform -> req_id");
        }
      } else if (kind == "disabled") {
        ls.kind = StepKind::kDisabled;
      } else if (kind == "named") {
        ls.kind = StepKind::kNamed;
        FERRY_ASSIGN_OR_RETURN(ls.named_env, Str(s, "named_env", where));
        FERRY_ASSIGN_OR_RETURN(const Json* f, Field(s, "fetch_at_exec", where));
        if (!f->is_boolean()) return Err(where, "'fetch_at_exec' must be true or false");
        ls.fetch_at_exec = f->get<bool>();
      } else if (kind == "none") {
        ls.kind = StepKind::kNone;
      } else {
        return Err(where, "unknown step kind '" + kind + "'");
      }
      lock.steps.push_back(std::move(ls));
      return Status::Ok();
    }));
    FERRY_RETURN_IF_ERROR(EachElement(doc, "environments", "", true, [&](const Json& e,
                                                                        const std::string& where) {
      LockedEnvironment env;
      FERRY_ASSIGN_OR_RETURN(env.req_id, Str(e, "req_id", where));
      FERRY_ASSIGN_OR_RETURN(env.env_id, Str(e, "env_id", where));
      FERRY_ASSIGN_OR_RETURN(env.platform, Str(e, "platform", where));
      FERRY_ASSIGN_OR_RETURN(env.steps, StrList(e, "steps", where));
      FERRY_ASSIGN_OR_RETURN(std::string name, Str(e, "name", where, /*nullable=*/true));
      if (!name.empty()) env.name = name;
      FERRY_ASSIGN_OR_RETURN(const Json* req, Field(e, "requirements", where));
      FERRY_ASSIGN_OR_RETURN(env.requirements, Requirements(*req, where + ".requirements"));
      FERRY_RETURN_IF_ERROR(EachElement(e, "packages", where, false, [&](const Json& j,
                                                                        const std::string& at) {
        FERRY_ASSIGN_OR_RETURN(LockedPackage p, Package(j, at));
        env.packages.push_back(std::move(p));
        return Status::Ok();
      }));
      lock.environments.push_back(std::move(env));
      return Status::Ok();
    }));
    FERRY_RETURN_IF_ERROR(Verify(lock));
    return lock;
  }

  Status Integrity(const LockedEnvironment& e, const std::string& msg) const {
    return Status::Integrity(filename_ + ": environment '" + EnvironmentLabel(e) + "' (" +
                             e.platform + "): " + msg);
  }

  Status Verify(const LockFile& lock) const {
    std::set<std::pair<std::string, std::string>> seen;
    for (const LockedEnvironment& e : lock.environments) {
      if (e.platform.empty()) return Integrity(e, "empty platform");
      if (e.requirements.platform != e.platform) {
        return Integrity(e, "requirements are for platform '" + e.requirements.platform +
                                "' but the environment is for '" + e.platform + "'");
      }
      std::string req_id = ComputeReqId(e.requirements);
      if (req_id != e.req_id) {
        return Integrity(e, "req_id mismatch: recorded " + e.req_id + ", computed " + req_id +
                                " from its requirements (was the lock edited by hand?)");
      }
      std::string env_id = ComputeEnvId(e.platform, e.packages);
      if (env_id != e.env_id) {
        return Integrity(e, "env_id mismatch: recorded " + e.env_id + ", computed " + env_id +
                                " from its packages (was the lock edited by hand?)");
      }
      if (!seen.insert({e.req_id, e.platform}).second) {
        return Integrity(e, "duplicate environment for req_id " + e.req_id.substr(0, 12));
      }
      std::set<std::pair<int, std::string>> names;
      for (const LockedPackage& p : e.packages) {
        std::string why = PackageConsistency(p);
        if (!why.empty()) return Integrity(e, "package '" + p.name + "': " + why);
        if (!names.insert({static_cast<int>(p.kind), p.name}).second) {
          return Integrity(e, std::string("package '") + p.name + "' (" +
                                  PackageKindName(p.kind) + ") is locked twice");
        }
      }
    }
    for (const LockStep& s : lock.steps) {
      for (const auto& [platform, req_id] : s.req_ids) {
        const LockedEnvironment* e = lock.ReusableEntry(req_id, platform);
        if (e == nullptr) {
          return Status::Integrity(filename_ + ": step '" + s.name + "' (" + platform +
                                   ") refers to a missing environment (req_id " + req_id + ")");
        }
        if (std::find(e->steps.begin(), e->steps.end(), s.name) == e->steps.end()) {
          return Integrity(*e, "does not list step '" + s.name + "' which refers to it");
        }
      }
    }
    for (const LockedEnvironment& e : lock.environments) {
      for (const std::string& step : e.steps) {
        auto it = std::find_if(lock.steps.begin(), lock.steps.end(),
                               [&](const LockStep& s) { return s.name == step; });
        if (it == lock.steps.end() || it->kind != StepKind::kEnvironment ||
            it->req_ids.count(e.platform) == 0 || it->req_ids.at(e.platform) != e.req_id) {
          return Integrity(e, "lists step '" + step + "' but the step map does not point here");
        }
      }
    }
    return Status::Ok();
  }

 private:
  std::string filename_;
};

// Checks that the fields a hand edit would change agree with each other (the env-id covers only
// the sha256s): the URL ends with the file name; a conda file name is
// "<name>-<version>-<build>.conda|.tar.bz2"; a wheel/sdist file name starts with the project
// name. Returns "" when consistent, else the reason.
std::string PackageConsistency(const LockedPackage& p) {
  if (p.filename.find('/') != std::string::npos) return "file name '" + p.filename + "' has a '/'";
  std::string_view url = p.url;
  size_t cut = url.find_first_of("?#");
  if (cut != std::string_view::npos) url = url.substr(0, cut);
  if (url.size() < p.filename.size() + 1 ||
      url.substr(url.size() - p.filename.size()) != p.filename ||
      url[url.size() - p.filename.size() - 1] != '/') {
    return "url '" + p.url + "' does not end with its file name '" + p.filename + "'";
  }
  if (p.kind == PackageKind::kConda) {
    std::string stem = p.name + "-" + p.version + "-" + p.build;
    if (p.filename != stem + ".conda" && p.filename != stem + ".tar.bz2") {
      return "file name '" + p.filename + "' does not match name, version and build '" + p.name +
             " " + p.version + " " + p.build + "'";
    }
  } else {
    std::string norm_file;
    std::string_view first = std::string_view(p.filename).substr(0, p.filename.find('-'));
    bool sep = false;
    for (char c : first) {
      if (c == '-' || c == '_' || c == '.') {
        sep = true;
        continue;
      }
      if (sep && !norm_file.empty()) norm_file += '-';
      sep = false;
      norm_file += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string norm_name;
    sep = false;
    for (char c : p.name) {
      if (c == '-' || c == '_' || c == '.') {
        sep = true;
        continue;
      }
      if (sep && !norm_name.empty()) norm_name += '-';
      sep = false;
      norm_name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    bool wheel = p.filename.size() > 4 && p.filename.compare(p.filename.size() - 4, 4, ".whl") == 0;
    // Wheel names never contain '-'; an sdist name may, so only its normalized prefix is checked.
    std::string norm_full;
    for (char c : p.filename) norm_full += c == '_' || c == '.' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (wheel ? norm_file != norm_name : norm_full.rfind(norm_name + "-", 0) != 0) {
      return "file name '" + p.filename + "' is not a distribution of '" + p.name + "'";
    }
  }
  return "";
}

bool IsHexPrefix(std::string_view s) {
  return s.size() >= 8 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

void Canonicalize(LockFile& lock) {
  std::sort(lock.inputs.begin(), lock.inputs.end(),
            [](const LockInput& a, const LockInput& b) { return a.path < b.path; });
  std::sort(lock.steps.begin(), lock.steps.end(),
            [](const LockStep& a, const LockStep& b) { return a.name < b.name; });
  for (LockedEnvironment& e : lock.environments) {
    std::sort(e.steps.begin(), e.steps.end());
    e.steps.erase(std::unique(e.steps.begin(), e.steps.end()), e.steps.end());
    e.requirements.conda = SortedUnique(e.requirements.conda);
    e.requirements.pypi = SortedUnique(e.requirements.pypi);
    SortPackages(e.packages);
  }
  std::sort(lock.environments.begin(), lock.environments.end(),
            [](const LockedEnvironment& a, const LockedEnvironment& b) {
              return std::make_tuple(FirstStep(a), a.name.value_or(""), a.platform, a.req_id) <
                     std::make_tuple(FirstStep(b), b.name.value_or(""), b.platform, b.req_id);
            });
}

std::string WriteLock(const LockFile& in) {
  LockFile lock = in;
  Canonicalize(lock);
  Json doc = Json::object();
  doc["lock_version"] = kLockVersion;
  Json inputs = Json::array();
  for (const LockInput& i : lock.inputs) {
    Json j = Json::object();
    j["path"] = i.path;
    j["sha256"] = i.sha256;
    inputs.push_back(std::move(j));
  }
  doc["inputs"] = std::move(inputs);
  if (lock.flow_file.empty() && lock.flow_class.empty()) {
    doc["flow"] = nullptr;
  } else {
    Json f = Json::object();
    f["file"] = lock.flow_file;
    f["class"] = lock.flow_class;
    doc["flow"] = std::move(f);
  }
  Json steps = Json::array();
  for (const LockStep& s : lock.steps) {
    Json j = Json::object();
    j["name"] = s.name;
    j["kind"] = StepKindName(s.kind);
    if (s.kind == StepKind::kEnvironment) {
      Json m = Json::object();
      for (const auto& [platform, req_id] : s.req_ids) m[platform] = req_id;
      j["environments"] = std::move(m);
    } else if (s.kind == StepKind::kNamed) {
      j["named_env"] = s.named_env;
      j["fetch_at_exec"] = s.fetch_at_exec;
    }
    steps.push_back(std::move(j));
  }
  doc["steps"] = std::move(steps);
  Json envs = Json::array();
  for (const LockedEnvironment& e : lock.environments) {
    Json j = Json::object();
    j["req_id"] = e.req_id;
    j["env_id"] = e.env_id;
    j["platform"] = e.platform;
    j["steps"] = e.steps;
    j["name"] = e.name ? Json(*e.name) : Json(nullptr);
    j["requirements"] = RequirementsJson(e.requirements);
    Json pkgs = Json::array();
    for (const LockedPackage& p : e.packages) pkgs.push_back(PackageJson(p));
    j["packages"] = std::move(pkgs);
    envs.push_back(std::move(j));
  }
  doc["environments"] = std::move(envs);
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<LockFile> ParseLock(std::string_view bytes, std::string_view filename) {
  return Reader(filename).Parse(bytes);
}

Result<const LockedEnvironment*> FindEnvironment(const LockFile& lock, std::string_view selector,
                                                 std::string_view platform) {
  std::vector<const LockedEnvironment*> candidates;
  std::string what;
  auto on_platform = [&](const LockedEnvironment& e) {
    return platform.empty() || e.platform == platform;
  };
  if (selector.empty()) {
    what = "the lock";
    for (const auto& e : lock.environments)
      if (on_platform(e)) candidates.push_back(&e);
  } else {
    auto step = std::find_if(lock.steps.begin(), lock.steps.end(),
                             [&](const LockStep& s) { return s.name == selector; });
    if (step != lock.steps.end()) {
      what = "step '" + step->name + "'";
      switch (step->kind) {
        case StepKind::kDisabled:
          return Status::User(what + " is disabled: it has no environment");
        case StepKind::kNone:
          return Status::User(what + " has no environment decorator: it has no environment");
        case StepKind::kNamed:
          return Status::User(what + " uses the named environment '" + step->named_env +
                              "': show it by name");
        case StepKind::kEnvironment:
          for (const auto& [p, req_id] : step->req_ids) {
            const LockedEnvironment* e = lock.ReusableEntry(req_id, p);
            if (e && on_platform(*e)) candidates.push_back(e);
          }
      }
    } else {
      std::string sel(selector);
      for (const auto& e : lock.environments) {
        if (e.name && (*e.name == sel || *e.name == sel + ":latest") && on_platform(e)) {
          candidates.push_back(&e);
        }
      }
      what = "'" + sel + "'";
      if (candidates.empty() && IsHexPrefix(selector)) {
        for (const auto& e : lock.environments) {
          if ((e.env_id.rfind(sel, 0) == 0 || e.req_id.rfind(sel, 0) == 0) && on_platform(e)) {
            candidates.push_back(&e);
          }
        }
      }
      if (candidates.empty()) {
        bool anywhere = false;
        for (const auto& e : lock.environments) {
          anywhere = anywhere || (e.name && *e.name == sel) ||
                     (IsHexPrefix(selector) &&
                      (e.env_id.rfind(sel, 0) == 0 || e.req_id.rfind(sel, 0) == 0));
        }
        if (!anywhere) {
          std::string steps;
          for (const auto& s : lock.steps) steps += (steps.empty() ? "" : ", ") + s.name;
          return Status::User("no step, name or id " + what + " in the lock" +
                              (steps.empty() ? std::string() : " (steps: " + steps + ")"));
        }
      }
    }
  }
  if (candidates.empty()) {
    std::string platforms;
    std::set<std::string> ps;
    for (const auto& e : lock.environments) ps.insert(e.platform);
    for (const auto& p : ps) platforms += (platforms.empty() ? "" : ", ") + p;
    if (lock.environments.empty()) return Status::User("the lock holds no environment");
    return Status::User(what + " has no environment for platform '" + std::string(platform) +
                        "' (locked platforms: " + platforms + ")");
  }
  if (candidates.size() > 1) {
    std::set<std::string> ps;
    for (const auto* e : candidates) ps.insert(e->platform);
    if (ps.size() == candidates.size() && platform.empty()) {
      std::string platforms;
      for (const auto& p : ps) platforms += (platforms.empty() ? "" : ", ") + p;
      return Status::User(what + " has environments for several platforms (" + platforms +
                          "); choose one with --platform");
    }
    std::string labels;
    for (const auto* e : candidates) {
      labels += (labels.empty() ? "" : "; ") + EnvironmentLabel(*e) + " [" +
                e->env_id.substr(0, 12) + "]";
    }
    return Status::User(what + " matches several environments (" + labels +
                        "); choose one with --step");
  }
  return candidates[0];
}

std::string ToSpecJson(const LockFile& lock, const std::vector<const LockedEnvironment*>* only) {
  Json doc = Json::object();
  doc["lock_version"] = lock.lock_version;
  Json envs = Json::array();
  auto add = [&](const LockedEnvironment& e) {
    Json j = Json::object();
    j["req_id"] = e.req_id;
    j["env_id"] = e.env_id;
    j["platform"] = e.platform;
    j["steps"] = e.steps;
    j["name"] = e.name ? Json(*e.name) : Json(nullptr);
    std::vector<LockedPackage> pkgs = e.packages;
    SortPackages(pkgs);
    Json arr = Json::array();
    for (const LockedPackage& p : pkgs) {
      Json pj = Json::object();
      pj["kind"] = PackageKindName(p.kind);
      pj["name"] = p.name;
      pj["version"] = p.version;
      pj["build"] = p.kind == PackageKind::kConda ? Json(p.build) : Json(nullptr);
      pj["filename"] = p.filename;
      pj["url"] = p.url;
      pj["sha256"] = p.sha256;
      pj["size"] = p.size;
      arr.push_back(std::move(pj));
    }
    j["packages"] = std::move(arr);
    envs.push_back(std::move(j));
  };
  if (only) {
    for (const LockedEnvironment* e : *only) add(*e);
  } else {
    for (const LockedEnvironment& e : lock.environments) add(e);
  }
  doc["environments"] = std::move(envs);
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace ferry::lock
