#include "src/specs/match_spec.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>
#include <vector>

namespace ferry::specs {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

constexpr std::array<std::string_view, 16> kKnownSubdirs = {
    "noarch",      "linux-64",    "linux-aarch64", "linux-ppc64le", "linux-armv6l",
    "linux-armv7l", "linux-s390x", "linux-32",     "osx-64",        "osx-arm64",
    "win-64",      "win-32",      "win-arm64",     "emscripten-wasm32", "wasi-wasm32",
    "zos-z"};

bool IsKnownSubdir(std::string_view s) {
  return std::find(kKnownSubdirs.begin(), kKnownSubdirs.end(), s) != kKnownSubdirs.end();
}

bool ValidChannel(std::string_view c) {
  return c.find_first_of(" \t[]#'\",") == std::string_view::npos;
}

Status SpecError(std::string_view text, std::string_view reason) {
  return Status::User("invalid match spec \"" + std::string(text) + "\": " + std::string(reason));
}

// conda's _parse_version_plus_build: the build is the text after the first ' ' or '=' (not
// preceded by an operator character) whose remainder contains none of "-=,|<>~".
std::pair<std::string, std::string> SplitVersionBuild(std::string_view s) {
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] != ' ' && s[i] != '=') continue;
    char prev = s[i - 1];
    if (prev == '=' || prev == '!' || prev == '|' || prev == ',' || prev == '<' || prev == '>' ||
        prev == '~') {
      continue;
    }
    std::string_view rest = s.substr(i + 1);
    if (rest.find_first_of("-=,|<>~") != std::string_view::npos) continue;
    std::string_view build = Trim(rest);
    if (build.empty()) continue;
    std::string version;
    for (char c : s.substr(0, i)) {
      if (!IsSpace(c)) version.push_back(c);
    }
    return {version, std::string(build)};
  }
  std::string version;
  for (char c : s) {
    if (!IsSpace(c)) version.push_back(c);
  }
  return {version, ""};
}

bool IsBareVersion(std::string_view v) {
  if (v.empty()) return false;
  char c = v.front();
  if (c == '=' || c == '<' || c == '>' || c == '!' || c == '~' || c == '^' || c == '(') {
    return false;
  }
  return v.find_first_of(",|()*$") == std::string_view::npos;
}

bool NeedsQuotes(std::string_view v) {
  return v.find_first_of("><$^|,=[]'\" ()") != std::string_view::npos;
}

}  // namespace

bool GlobMatch(std::string_view pat, std::string_view val) {
  size_t p = 0, v = 0, star = std::string_view::npos, mark = 0;
  while (v < val.size()) {
    if (p < pat.size() && pat[p] != '*' && pat[p] == val[v]) {
      ++p;
      ++v;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

Result<StringMatcher> StringMatcher::Parse(std::string_view text) {
  StringMatcher m;
  text = Trim(text);
  m.text_.assign(text);
  if (text.empty() || text.find_first_not_of('*') == std::string_view::npos) {
    m.kind_ = Kind::kAny;
    m.text_ = "*";
    return m;
  }
  if (text.size() >= 2 && text.front() == '^' && text.back() == '$') {
    FERRY_RETURN_IF_ERROR(CheckRegexLimits(text));
    try {
      m.regex_ = std::make_shared<const std::regex>(m.text_, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::User("invalid regex \"" + m.text_ + "\": " + e.what());
    }
    m.kind_ = Kind::kRegex;
    return m;
  }
  m.kind_ = text.find('*') != std::string_view::npos ? Kind::kGlob : Kind::kExact;
  return m;
}

bool StringMatcher::Matches(std::string_view value) const {
  switch (kind_) {
    case Kind::kAny: return true;
    case Kind::kExact: return value == text_;
    case Kind::kGlob: return GlobMatch(text_, value);
    case Kind::kRegex:
      try {
        return std::regex_search(value.begin(), value.end(), *regex_);
      } catch (const std::regex_error&) {
        return false;
      }
  }
  return false;
}

Result<BuildNumberSpec> BuildNumberSpec::Parse(std::string_view text) {
  std::string_view s = Trim(text);
  BuildNumberSpec spec;
  auto starts = [&](std::string_view p) { return s.substr(0, p.size()) == p; };
  if (starts("==")) { spec.op = Op::kEq; s.remove_prefix(2); }
  else if (starts("!=")) { spec.op = Op::kNe; s.remove_prefix(2); }
  else if (starts("<=")) { spec.op = Op::kLe; s.remove_prefix(2); }
  else if (starts(">=")) { spec.op = Op::kGe; s.remove_prefix(2); }
  else if (starts("<")) { spec.op = Op::kLt; s.remove_prefix(1); }
  else if (starts(">")) { spec.op = Op::kGt; s.remove_prefix(1); }
  else if (starts("=")) { spec.op = Op::kEq; s.remove_prefix(1); }
  s = Trim(s);
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::User("invalid build_number \"" + std::string(text) +
                        "\": expected an integer with an optional operator (==, !=, <, <=, >, >=)");
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), spec.value);
  if (ec != std::errc()) {
    return Status::User("invalid build_number \"" + std::string(text) + "\": out of range");
  }
  return spec;
}

bool BuildNumberSpec::Matches(int64_t n) const {
  switch (op) {
    case Op::kEq: return n == value;
    case Op::kNe: return n != value;
    case Op::kLt: return n < value;
    case Op::kLe: return n <= value;
    case Op::kGt: return n > value;
    case Op::kGe: return n >= value;
  }
  return false;
}

std::string BuildNumberSpec::ToString() const {
  const char* ops[] = {"", "!=", "<", "<=", ">", ">="};
  return ops[static_cast<int>(op)] + std::to_string(value);
}

Result<VersionSpec> ParseMatchSpecVersion(std::string_view text, bool has_build) {
  std::string_view v = Trim(text);
  if (v.size() >= 2 && v[0] == '=' && v[1] != '=') {
    std::string_view t = v.substr(1);
    if (t.find_first_of("=,|") == std::string_view::npos) {
      if (!has_build && t.back() != '*') return VersionSpec::Parse(std::string(t) + "*");
      return VersionSpec::Parse(t);
    }
    return VersionSpec::Parse(v);
  }
  if (!has_build && IsBareVersion(v)) {
    // Validate the version alone first so positions refer to the user's text.
    auto ver = Version::Parse(v);
    if (!ver.ok()) return VersionSpec::Parse(v);  // yields the positioned error
    return VersionSpec::Parse(std::string(v) + "*");
  }
  return VersionSpec::Parse(v);
}

Result<MatchSpec> MatchSpec::Parse(std::string_view text) {
  MatchSpec spec;
  std::string_view s = text;
  // A '#' outside brackets and quotes starts a comment.
  {
    char quote = 0;
    int depth = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (depth > 0 && (c == '\'' || c == '"')) {
        quote = c;
      } else if (c == '[') {
        ++depth;
      } else if (c == ']') {
        if (depth > 0) --depth;
      } else if (c == '#' && depth == 0) {
        s = s.substr(0, i);
        break;
      }
    }
  }
  s = Trim(s);
  if (s.empty()) return SpecError(text, "empty match spec");

  // Bracket section.
  std::vector<std::pair<std::string, std::string>> brackets;
  size_t open = s.find('[');
  if (open != std::string_view::npos) {
    size_t i = open + 1;
    char quote = 0;
    size_t close = std::string_view::npos;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == ']') {
        close = i;
        break;
      }
    }
    if (close == std::string_view::npos) return SpecError(text, "unterminated '['");
    if (!Trim(s.substr(close + 1)).empty()) {
      return SpecError(text, "unexpected text after ']'");
    }
    std::string_view body = s.substr(open + 1, close - open - 1);
    // Split on ',' outside quotes.
    size_t start = 0;
    quote = 0;
    for (size_t k = 0; k <= body.size(); ++k) {
      if (k < body.size()) {
        char c = body[k];
        if (quote) {
          if (c == quote) quote = 0;
          continue;
        }
        if (c == '\'' || c == '"') {
          quote = c;
          continue;
        }
        if (c != ',') continue;
      }
      std::string_view item = Trim(body.substr(start, k - start));
      start = k + 1;
      if (item.empty()) {
        if (k == body.size() && brackets.empty() && Trim(body).empty()) break;
        return SpecError(text, "empty entry in brackets");
      }
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        return SpecError(text, "bracket entry \"" + std::string(item) + "\" is not key=value");
      }
      std::string key = ToLower(Trim(item.substr(0, eq)));
      std::string_view value = Trim(item.substr(eq + 1));
      if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') &&
          value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
      } else if (value.find_first_of("'\"") != std::string_view::npos) {
        return SpecError(text, "unterminated quote in bracket value for \"" + key + "\"");
      }
      static const std::array<std::string_view, 10> kKeys = {
          "version", "build", "build_number", "md5", "sha256", "subdir", "license", "channel",
          "fn", "url"};
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        return SpecError(text, "unknown bracket key \"" + key +
                                   "\" (expected version, build, build_number, md5, sha256, "
                                   "subdir, license, channel, fn or url)");
      }
      brackets.emplace_back(key, std::string(value));
    }
    s = Trim(s.substr(0, open));
  }

  // Channel and subdir.
  size_t colons = s.rfind("::");
  if (colons != std::string_view::npos) {
    std::string_view channel = Trim(s.substr(0, colons));
    s = Trim(s.substr(colons + 2));
    while (!channel.empty() && channel.back() == '/') channel.remove_suffix(1);
    size_t slash = channel.rfind('/');
    if (slash != std::string_view::npos && IsKnownSubdir(channel.substr(slash + 1))) {
      spec.subdir.assign(channel.substr(slash + 1));
      channel = channel.substr(0, slash);
    }
    if (!ValidChannel(channel)) return SpecError(text, "invalid channel \"" + std::string(channel) + "\"");
    if (channel != "*") spec.channel.assign(channel);
  }

  // Name.
  size_t name_end = 0;
  while (name_end < s.size() && !IsSpace(s[name_end]) &&
         std::string_view("=<>!~").find(s[name_end]) == std::string_view::npos) {
    ++name_end;
  }
  spec.name.assign(s.substr(0, name_end));
  if (spec.name.empty() && brackets.empty()) return SpecError(text, "missing package name");
  for (char c : spec.name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '*' || c == '+';
    if (!ok) {
      return SpecError(text, std::string("invalid character '") + c + "' in package name");
    }
  }
  if (spec.name.empty()) spec.name = "*";

  std::string version_text, build_text;
  std::string_view rest = Trim(s.substr(name_end));
  if (!rest.empty()) {
    size_t bad = rest.find_first_of("'\"]");
    if (bad != std::string_view::npos) {
      return SpecError(text, std::string("unexpected character '") + rest[bad] + "'");
    }
    auto [v, b] = SplitVersionBuild(rest);
    version_text = std::move(v);
    build_text = std::move(b);
    if (version_text == "=") version_text.clear();  // "numpy=" is any version (conda)
    if (version_text == "==" || version_text.empty()) {
      if (version_text == "==") return SpecError(text, "missing version after '=='");
    }
  }
  bool version_from_brackets = false;
  for (auto& [k, v] : brackets) {
    if (k == "version") {
      version_text = v;
      version_from_brackets = true;
    } else if (k == "build") {
      build_text = v;
    }
  }
  if (!build_text.empty()) {
    auto b = StringMatcher::Parse(build_text);
    if (!b.ok()) return SpecError(text, b.status().message());
    if (!b->IsAny()) spec.build = std::move(b).value();
  }
  if (!version_text.empty()) {
    bool has_build = !build_text.empty();  // conda: any build (even "*") keeps "1.2" exact
    auto vs = ParseMatchSpecVersion(version_text, has_build);
    if (!vs.ok()) return SpecError(text, vs.status().message());
    if (!vs->IsAny()) spec.version = std::move(vs).value();
  }
  (void)version_from_brackets;
  for (auto& [k, v] : brackets) {
    if (k == "build_number") {
      auto bn = BuildNumberSpec::Parse(v);
      if (!bn.ok()) return SpecError(text, bn.status().message());
      spec.build_number = *bn;
    } else if (k == "md5") {
      spec.md5 = ToLower(v);
    } else if (k == "sha256") {
      spec.sha256 = ToLower(v);
    } else if (k == "subdir") {
      spec.subdir = v;
    } else if (k == "license") {
      spec.license = v;
    } else if (k == "channel") {
      std::string_view c = Trim(v);
      while (!c.empty() && c.back() == '/') c.remove_suffix(1);
      size_t slash = c.rfind('/');
      if (slash != std::string_view::npos && IsKnownSubdir(c.substr(slash + 1))) {
        spec.subdir.assign(c.substr(slash + 1));
        c = c.substr(0, slash);
      }
      if (!ValidChannel(c)) return SpecError(text, "invalid channel \"" + std::string(c) + "\"");
      spec.channel = c == "*" ? "" : std::string(c);
    } else if (k == "fn") {
      spec.fn = v;
    } else if (k == "url") {
      spec.url = v;
    }
  }
  return spec;
}

bool MatchSpec::HasExactName() const { return name.find('*') == std::string::npos; }

bool MatchSpec::Matches(const PackageRecord& r) const {
  if (HasExactName()) {
    if (r.name != name) return false;
  } else if (name != "*" && !GlobMatch(name, r.name)) {
    return false;
  }
  if (version && !version->Matches(r.version)) return false;
  if (build && !build->Matches(r.build)) return false;
  if (build_number && !build_number->Matches(r.build_number)) return false;
  if (!subdir.empty() && r.subdir != subdir) return false;
  if (!md5.empty() && !EqualsIgnoreCase(md5, r.md5)) return false;
  if (!sha256.empty() && !EqualsIgnoreCase(sha256, r.sha256)) return false;
  if (!license.empty() && r.license != license) return false;
  if (!fn.empty() && r.fn != fn) return false;
  if (!url.empty() && r.url != url) return false;
  if (!channel.empty()) {
    std::string_view want = channel, have = r.channel;
    while (!want.empty() && want.back() == '/') want.remove_suffix(1);
    while (!have.empty() && have.back() == '/') have.remove_suffix(1);
    if (have != want) {
      if (have.size() <= want.size() || have.substr(have.size() - want.size()) != want ||
          have[have.size() - want.size() - 1] != '/') {
        return false;
      }
    }
  }
  return true;
}

std::string MatchSpec::ToString() const {
  std::string out;
  std::vector<std::pair<std::string, std::string>> br;
  if (!channel.empty()) {
    out += channel;
    if (!subdir.empty()) out += "/" + subdir;
    out += "::";
  } else if (!subdir.empty()) {
    br.emplace_back("subdir", subdir);
  }
  out += name;
  bool exact_version = version && version->IsExact();
  if (version) {
    std::string vs = version->ToString();
    bool glob = false;
    {
      size_t last = vs.find_last_not_of('*');
      glob = last != std::string::npos && vs.substr(0, last + 1).find('*') != std::string::npos &&
             vs.compare(0, 2, "!=") != 0;
      if (vs.size() > 2 && vs.compare(vs.size() - 2, 2, ".*") == 0 &&
          vs.substr(0, vs.size() - 2).find('*') == std::string::npos) {
        glob = false;
      }
    }
    if (vs.find_first_of("><$^|,()") != std::string::npos || glob) {
      br.emplace_back("version", vs);
    } else if (vs.compare(0, 2, "!=") == 0 || vs.compare(0, 2, "~=") == 0) {
      if (build) br.emplace_back("version", vs); else out += vs;
    } else if (vs.size() > 2 && vs.compare(vs.size() - 2, 2, ".*") == 0) {
      if (build) br.emplace_back("version", vs); else out += "=" + vs.substr(0, vs.size() - 2);
    } else {
      out += vs;  // "==V"
    }
  }
  if (build) {
    const std::string& b = build->str();
    if (exact_version && build->IsExact() && !NeedsQuotes(b)) {
      out += "=" + b;
    } else {
      br.emplace_back("build", b);
    }
  }
  if (build_number) br.emplace_back("build_number", build_number->ToString());
  if (!md5.empty()) br.emplace_back("md5", md5);
  if (!sha256.empty()) br.emplace_back("sha256", sha256);
  if (!license.empty()) br.emplace_back("license", license);
  if (!fn.empty()) br.emplace_back("fn", fn);
  if (!url.empty()) br.emplace_back("url", url);
  if (!br.empty()) {
    std::sort(br.begin(), br.end());
    out += "[";
    for (size_t i = 0; i < br.size(); ++i) {
      if (i > 0) out += ",";
      out += br[i].first + "=";
      if (NeedsQuotes(br[i].second) || br[i].second.find(':') != std::string::npos) {
        char q = br[i].second.find('\'') == std::string::npos ? '\'' : '"';
        out += q + br[i].second + q;
      } else {
        out += br[i].second;
      }
    }
    out += "]";
  }
  return out;
}

}  // namespace ferry::specs
