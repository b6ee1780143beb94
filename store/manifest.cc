#include "store/manifest.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "src/digest.h"

namespace ferry::store {

namespace {

using Json = nlohmann::ordered_json;

// Field readers: each throws FieldError with the JSON path of the bad field.
struct FieldError {
  std::string message;
};

const Json& Field(const Json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) throw FieldError{where + ": missing field \"" + key + "\""};
  return *it;
}

std::string Str(const Json& obj, const char* key, const std::string& where) {
  const Json& v = Field(obj, key, where);
  if (!v.is_string()) throw FieldError{where + "." + key + ": expected a string"};
  return v.get<std::string>();
}

std::string OptStr(const Json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  if (!it->is_string()) throw FieldError{where + "." + key + ": expected a string"};
  return it->get<std::string>();
}

int64_t Int(const Json& obj, const char* key, const std::string& where, bool optional = false) {
  auto it = obj.find(key);
  if (it == obj.end() || (optional && it->is_null())) {
    if (optional) return 0;
    throw FieldError{where + ": missing field \"" + key + "\""};
  }
  if (!it->is_number_integer()) throw FieldError{where + "." + key + ": expected an integer"};
  return it->get<int64_t>();
}

std::vector<std::string> StrList(const Json& obj, const char* key, const std::string& where,
                                 bool optional = false) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (optional) return out;
    throw FieldError{where + ": missing field \"" + key + "\""};
  }
  if (!it->is_array()) throw FieldError{where + "." + key + ": expected a list of strings"};
  for (const auto& e : *it) {
    if (!e.is_string()) throw FieldError{where + "." + key + ": expected a list of strings"};
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::string Sha(const Json& obj, const char* key, const std::string& where) {
  std::string s = Str(obj, key, where);
  if (!IsSha256Hex(s))
    throw FieldError{where + "." + key + ": not a sha256 (64 lower-case hex): \"" + s + "\""};
  return s;
}

Json PackageToJson(const LockedPackage& p) {
  Json j;
  j["kind"] = PackageKindName(p.kind);
  j["name"] = p.name;
  j["version"] = p.version;
  j["build"] = p.build;
  j["build_number"] = p.build_number;
  j["subdir"] = p.subdir;
  j["noarch"] = p.noarch;
  j["filename"] = p.filename;
  j["url"] = p.url;
  j["sha256"] = p.sha256;
  j["md5"] = p.md5;
  j["size"] = p.size;
  j["depends"] = p.depends;
  j["constrains"] = p.constrains;
  j["requires_python"] = p.requires_python;
  j["channel"] = p.channel;
  return j;
}

// Parses one package; `lenient` accepts the SPEC.md §3 subset (build may be null, optional
// metadata fields may be absent).
LockedPackage PackageFromJson(const Json& j, const std::string& where, bool lenient) {
  if (!j.is_object()) throw FieldError{where + ": expected an object"};
  LockedPackage p;
  std::string kind = Str(j, "kind", where);
  if (kind == "conda") {
    p.kind = PackageKind::kConda;
  } else if (kind == "pypi") {
    p.kind = PackageKind::kPypi;
  } else {
    throw FieldError{where + ".kind: expected \"conda\" or \"pypi\", got \"" + kind + "\""};
  }
  p.name = Str(j, "name", where);
  if (p.name.empty()) throw FieldError{where + ".name: empty"};
  p.version = Str(j, "version", where);
  p.build = lenient ? OptStr(j, "build", where) : Str(j, "build", where);
  p.build_number = Int(j, "build_number", where, lenient);
  p.subdir = lenient ? OptStr(j, "subdir", where) : Str(j, "subdir", where);
  p.noarch = lenient ? OptStr(j, "noarch", where) : Str(j, "noarch", where);
  p.filename = Str(j, "filename", where);
  if (p.filename.empty() || p.filename.find('/') != std::string::npos ||
      p.filename == "." || p.filename == "..")
    throw FieldError{where + ".filename: not a plain file name: \"" + p.filename + "\""};
  p.url = Str(j, "url", where);
  p.sha256 = Sha(j, "sha256", where);
  p.md5 = lenient ? OptStr(j, "md5", where) : Str(j, "md5", where);
  int64_t size = Int(j, "size", where);
  if (size < 0) throw FieldError{where + ".size: negative"};
  p.size = static_cast<uint64_t>(size);
  p.depends = StrList(j, "depends", where, lenient);
  p.constrains = StrList(j, "constrains", where, lenient);
  p.requires_python = lenient ? OptStr(j, "requires_python", where)
                              : Str(j, "requires_python", where);
  p.channel = lenient ? OptStr(j, "channel", where) : Str(j, "channel", where);
  return p;
}

Json RequirementsToJson(const RequirementSet& r) {
  Json j;
  j["channels"] = r.channels;
  j["conda"] = r.conda;
  j["indexes"] = r.indexes;
  j["platform"] = r.platform;
  j["pypi"] = r.pypi;
  j["python"] = r.python;
  Json ov = Json::object();
  for (const auto& [k, v] : r.virtual_overrides) ov[k] = v;
  j["virtual_overrides"] = ov;
  return j;
}

RequirementSet RequirementsFromJson(const Json& j, const std::string& where) {
  if (!j.is_object()) throw FieldError{where + ": expected an object"};
  RequirementSet r;
  r.channels = StrList(j, "channels", where);
  r.conda = StrList(j, "conda", where);
  r.indexes = StrList(j, "indexes", where);
  r.platform = Str(j, "platform", where);
  r.pypi = StrList(j, "pypi", where);
  r.python = Str(j, "python", where);
  const Json& ov = Field(j, "virtual_overrides", where);
  if (!ov.is_object()) throw FieldError{where + ".virtual_overrides: expected an object"};
  for (const auto& [k, v] : ov.items()) {
    if (!v.is_string()) throw FieldError{where + ".virtual_overrides." + k + ": expected a string"};
    r.virtual_overrides[k] = v.get<std::string>();
  }
  return r;
}

bool IsNameChar(char c, bool allow_slash) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
         (allow_slash && c == '/');
}

bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

EnvManifest MakeEnvManifest(const LockedEnvironment& env) {
  EnvManifest m;
  m.env = env;
  m.env.steps.clear();
  m.env.name.reset();
  SortPackages(m.env.packages);
  std::map<std::string, uint64_t> blobs;
  for (const auto& p : m.env.packages) blobs[p.sha256] = p.size;
  for (const auto& [sha, size] : blobs) m.blobs.push_back({sha, size});
  return m;
}

std::string SerializeEnvManifest(const EnvManifest& m) {
  Json j;
  j["manifest_version"] = kEnvManifestVersion;
  j["env_id"] = m.env.env_id;
  j["platform"] = m.env.platform;
  j["req_id"] = m.env.req_id;
  j["requirements"] = RequirementsToJson(m.env.requirements);
  Json pkgs = Json::array();
  for (const auto& p : m.env.packages) pkgs.push_back(PackageToJson(p));
  j["packages"] = pkgs;
  Json blobs = Json::array();
  for (const auto& b : m.blobs) blobs.push_back(Json{{"sha256", b.sha256}, {"size", b.size}});
  j["blobs"] = blobs;
  return j.dump(2) + "\n";
}

Result<EnvManifest> ParseEnvManifest(std::string_view text, const std::string& origin,
                                     const std::string& expected_env_id) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const std::exception& e) {
    return Status::Integrity(origin + ": corrupt manifest: " + e.what());
  }
  try {
    if (!j.is_object()) throw FieldError{"manifest: expected a JSON object"};
    int64_t version = Int(j, "manifest_version", "manifest");
    if (version > kEnvManifestVersion)
      return Status::User(origin + ": manifest_version " + std::to_string(version) +
                          " is newer than this ferry supports (" +
                          std::to_string(kEnvManifestVersion) + "); upgrade ferry");
    if (version != kEnvManifestVersion)
      throw FieldError{"manifest.manifest_version: unsupported value " + std::to_string(version)};
    EnvManifest m;
    m.env.env_id = Sha(j, "env_id", "manifest");
    m.env.platform = Str(j, "platform", "manifest");
    if (m.env.platform.empty()) throw FieldError{"manifest.platform: empty"};
    m.env.req_id = Str(j, "req_id", "manifest");
    if (!m.env.req_id.empty() && !IsSha256Hex(m.env.req_id))
      throw FieldError{"manifest.req_id: not a sha256"};
    m.env.requirements = RequirementsFromJson(Field(j, "requirements", "manifest"),
                                              "manifest.requirements");
    const Json& pkgs = Field(j, "packages", "manifest");
    if (!pkgs.is_array()) throw FieldError{"manifest.packages: expected a list"};
    for (size_t i = 0; i < pkgs.size(); ++i)
      m.env.packages.push_back(
          PackageFromJson(pkgs[i], "manifest.packages[" + std::to_string(i) + "]", false));
    const Json& blobs = Field(j, "blobs", "manifest");
    if (!blobs.is_array()) throw FieldError{"manifest.blobs: expected a list"};
    for (size_t i = 0; i < blobs.size(); ++i) {
      std::string where = "manifest.blobs[" + std::to_string(i) + "]";
      if (!blobs[i].is_object()) throw FieldError{where + ": expected an object"};
      int64_t size = Int(blobs[i], "size", where);
      if (size < 0) throw FieldError{where + ".size: negative"};
      m.blobs.push_back({Sha(blobs[i], "sha256", where), static_cast<uint64_t>(size)});
    }
    // Cross-checks.
    std::string computed = ComputeEnvId(m.env.platform, m.env.packages);
    if (computed != m.env.env_id)
      throw FieldError{"manifest.env_id " + m.env.env_id +
                       " does not match its packages (computed " + computed + ")"};
    if (!expected_env_id.empty() && m.env.env_id != expected_env_id)
      throw FieldError{"manifest is for environment " + m.env.env_id + ", expected " +
                       expected_env_id};
    std::map<std::string, uint64_t> expected;
    for (const auto& p : m.env.packages) {
      auto [it, inserted] = expected.emplace(p.sha256, p.size);
      if (!inserted && it->second != p.size)
        throw FieldError{"manifest.packages: sha256 " + p.sha256 + " listed with two sizes"};
    }
    std::vector<BlobRef> want;
    for (const auto& [sha, size] : expected) want.push_back({sha, size});
    std::vector<BlobRef> got = m.blobs;
    std::sort(got.begin(), got.end(),
              [](const BlobRef& a, const BlobRef& b) { return a.sha256 < b.sha256; });
    if (got != want) throw FieldError{"manifest.blobs does not match the package digests"};
    m.blobs = std::move(got);
    SortPackages(m.env.packages);
    return m;
  } catch (const FieldError& e) {
    return Status::Integrity(origin + ": invalid manifest: " + e.message);
  } catch (const std::exception& e) {
    return Status::Integrity(origin + ": invalid manifest: " + e.what());
  }
}

Result<LockedEnvironment> ParseSpecEnvironmentJson(std::string_view text,
                                                   const std::string& origin) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const std::exception& e) {
    return Status::User(origin + ": invalid JSON: " + e.what());
  }
  try {
    if (!j.is_object()) throw FieldError{"environment: expected an object"};
    LockedEnvironment env;
    env.env_id = Sha(j, "env_id", "environment");
    env.req_id = OptStr(j, "req_id", "environment");
    if (!env.req_id.empty() && !IsSha256Hex(env.req_id))
      throw FieldError{"environment.req_id: not a sha256"};
    env.platform = Str(j, "platform", "environment");
    env.steps = StrList(j, "steps", "environment", true);
    std::string name = OptStr(j, "name", "environment");
    if (!name.empty()) env.name = name;
    if (j.contains("requirements") && !j["requirements"].is_null())
      env.requirements = RequirementsFromJson(j["requirements"], "environment.requirements");
    const Json& pkgs = Field(j, "packages", "environment");
    if (!pkgs.is_array()) throw FieldError{"environment.packages: expected a list"};
    for (size_t i = 0; i < pkgs.size(); ++i)
      env.packages.push_back(
          PackageFromJson(pkgs[i], "environment.packages[" + std::to_string(i) + "]", true));
    std::string computed = ComputeEnvId(env.platform, env.packages);
    if (computed != env.env_id)
      return Status::Integrity(origin + ": env_id " + env.env_id +
                               " does not match its packages (computed " + computed + ")");
    SortPackages(env.packages);
    return env;
  } catch (const FieldError& e) {
    return Status::User(origin + ": " + e.message);
  } catch (const std::exception& e) {
    return Status::User(origin + ": " + e.what());
  }
}

std::string BlobKey(const std::string& sha256) {
  return std::string(kBlobPrefix) + sha256.substr(0, 2) + "/" + sha256;
}

std::string ManifestKey(const std::string& env_id) {
  return std::string(kManifestPrefix) + env_id + ".json";
}

std::string ReqKey(const std::string& platform, const std::string& req_id) {
  return "v1/reqs/" + platform + "/" + req_id;
}

bool IsMutableTag(std::string_view tag) {
  return tag == "latest" || tag == "candidate" || tag == "stable";
}

bool EnvName::IsMutable() const { return IsMutableTag(tag); }

Result<EnvName> ParseEnvName(std::string_view text) {
  EnvName out;
  std::string_view name = text, tag = "latest";
  size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    name = text.substr(0, colon);
    tag = text.substr(colon + 1);
  }
  auto bad = [&](const std::string& why) {
    return Status::User("invalid environment name '" + std::string(text) + "': " + why);
  };
  if (name.empty()) return bad("NAME is empty");
  if (name.size() > 200) return bad("NAME is longer than 200 characters");
  if (!IsAlnumLower(name[0]))
    return bad("NAME must start with a lower-case letter or a digit ([a-z0-9][a-z0-9_./-]*)");
  for (char c : name)
    if (!IsNameChar(c, true))
      return bad(std::string("character '") + c + "' is not allowed in NAME ([a-z0-9_./-])");
  if (name.back() == '/') return bad("NAME must not end with '/'");
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string_view seg = name.substr(start, slash == std::string_view::npos ? name.npos
                                                                                : slash - start);
    if (seg.empty() || seg == "." || seg == "..")
      return bad("NAME must not contain empty, '.' or '..' path segments");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (tag.empty()) return bad("TAG is empty");
  if (tag.size() > 200) return bad("TAG is longer than 200 characters");
  if (!IsAlnumLower(tag[0]))
    return bad("TAG must start with a lower-case letter or a digit ([a-z0-9][a-z0-9_.-]*)");
  for (char c : tag)
    if (!IsNameChar(c, false))
      return bad(std::string("character '") + c + "' is not allowed in TAG ([a-z0-9_.-])");
  out.name = std::string(name);
  out.tag = std::string(tag);
  return out;
}

std::string NameKey(const EnvName& name) { return "v1/names/" + name.name + "/" + name.tag; }

Result<std::string> SubstituteVars(
    std::string_view text,
    const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t at = text.find("@{", i);
    if (at == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, at - i));
    size_t close = text.find('}', at + 2);
    if (close == std::string_view::npos)
      return Status::User("'" + std::string(text) + "': unterminated @{ (expected @{VAR})");
    std::string var(text.substr(at + 2, close - at - 2));
    bool ok = !var.empty() && (std::isalpha(static_cast<unsigned char>(var[0])) || var[0] == '_');
    for (char c : var) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok)
      return Status::User("'" + std::string(text) + "': invalid variable reference @{" + var +
                          "} (expected @{VAR} with VAR = [A-Za-z_][A-Za-z0-9_]*)");
    std::optional<std::string> value = lookup(var);
    if (!value)
      return Status::User("environment variable " + var + " is not set (needed by @{" + var +
                          "} in '" + std::string(text) + "')");
    out.append(*value);
    i = close + 1;
  }
  return out;
}

Result<std::string> SubstituteVarsFromEnv(std::string_view text) {
  return SubstituteVars(text, [](const std::string& var) -> std::optional<std::string> {
    const char* v = std::getenv(var.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

std::string SerializeNamePointer(const NamePointer& p) {
  Json j;
  j["env_id"] = p.env_id;
  j["created_at"] = p.created_at;
  return j.dump() + "\n";
}

Result<NamePointer> ParseNamePointer(std::string_view text, const std::string& origin) {
  try {
    Json j = Json::parse(text);
    if (!j.is_object()) throw FieldError{"expected a JSON object"};
    NamePointer p;
    p.env_id = Sha(j, "env_id", "name");
    p.created_at = Str(j, "created_at", "name");
    return p;
  } catch (const FieldError& e) {
    return Status::Integrity(origin + ": invalid name pointer: " + e.message);
  } catch (const std::exception& e) {
    return Status::Integrity(origin + ": invalid name pointer: " + e.what());
  }
}

std::string UtcNowIso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string SerializeReqPointer(const std::string& env_id) { return env_id + "\n"; }

Result<std::string> ParseReqPointer(std::string_view text, const std::string& origin) {
  size_t b = text.find_first_not_of(" \t\r\n");
  size_t e = text.find_last_not_of(" \t\r\n");
  std::string id = b == std::string_view::npos ? "" : std::string(text.substr(b, e - b + 1));
  if (!IsSha256Hex(id)) return Status::Integrity(origin + ": not an env-id pointer");
  return id;
}

}  // namespace ferry::store
