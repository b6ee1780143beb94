#include "src/specs/pep508.h"

#include <algorithm>
#include <cstdlib>

#include "src/specs/platform.h"

namespace ferry::specs {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

enum class MarkerOp : uint8_t { kLt, kLe, kEq, kNe, kGe, kGt, kCompatible, kArbitrary, kIn, kNotIn };
const char* OpText(MarkerOp op) {
  static const char* kText[] = {"<", "<=", "==", "!=", ">=", ">", "~=", "===", "in", "not in"};
  return kText[static_cast<int>(op)];
}

// Canonical variable names (aliases resolved).
std::string_view CanonicalVariable(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kAliases[] = {
      {"os.name", "os_name"},
      {"sys.platform", "sys_platform"},
      {"platform.version", "platform_version"},
      {"platform.machine", "platform_machine"},
      {"platform.python_implementation", "platform_python_implementation"},
      {"python_implementation", "platform_python_implementation"},
  };
  for (const auto& [alias, canon] : kAliases) {
    if (name == alias) return canon;
  }
  return name;
}

}  // namespace

struct Marker::Node {
  enum class Kind : uint8_t { kAnd, kOr, kCompare } kind = Kind::kCompare;
  std::vector<std::shared_ptr<const Node>> children;
  // kCompare
  bool lhs_is_var = false, rhs_is_var = false;
  std::string lhs, rhs;  // variable names (canonical) or literal values
  MarkerOp op = MarkerOp::kEq;
};

const std::string* MarkerEnvironment::Get(std::string_view name) const {
  name = CanonicalVariable(name);
  if (name == "python_version") return &python_version;
  if (name == "python_full_version") return &python_full_version;
  if (name == "sys_platform") return &sys_platform;
  if (name == "platform_machine") return &platform_machine;
  if (name == "platform_system") return &platform_system;
  if (name == "os_name") return &os_name;
  if (name == "implementation_name") return &implementation_name;
  if (name == "platform_python_implementation") return &platform_python_implementation;
  if (name == "platform_release") return &platform_release;
  if (name == "platform_version") return &platform_version;
  if (name == "implementation_version") return &implementation_version;
  if (name == "extra") return &extra;
  return nullptr;
}

Result<MarkerEnvironment> MarkerEnvironmentFor(std::string_view platform,
                                               std::string_view python_version) {
  FERRY_ASSIGN_OR_RETURN(Platform p, ParsePlatform(platform));
  MarkerEnvironment env;
  switch (p) {
    case Platform::kLinux64:
    case Platform::kLinuxAarch64:
    case Platform::kLinuxPpc64le:
      env.sys_platform = "linux";
      env.platform_system = "Linux";
      env.os_name = "posix";
      env.platform_machine = PlatformArch(p);
      break;
    case Platform::kOsx64:
    case Platform::kOsxArm64:
      env.sys_platform = "darwin";
      env.platform_system = "Darwin";
      env.os_name = "posix";
      env.platform_machine = PlatformArch(p);
      break;
    case Platform::kWin64:
      env.sys_platform = "win32";
      env.platform_system = "Windows";
      env.os_name = "nt";
      env.platform_machine = "AMD64";
      break;
    case Platform::kNoarch:
      return Status::User("marker environment needs a concrete platform, not noarch");
  }
  // python: X.Y or X.Y.Z, digits only.
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= python_version.size(); ++i) {
    if (i < python_version.size() && python_version[i] != '.') continue;
    parts.emplace_back(python_version.substr(start, i - start));
    start = i + 1;
  }
  bool ok = (parts.size() == 2 || parts.size() == 3);
  for (const auto& part : parts) {
    if (part.empty() || part.size() > 4 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      ok = false;
    }
  }
  if (!ok) {
    return Status::User("invalid python version \"" + std::string(python_version) +
                        "\" (expected X.Y or X.Y.Z)");
  }
  env.python_version = parts[0] + "." + parts[1];
  env.python_full_version = env.python_version + "." + (parts.size() == 3 ? parts[2] : "0");
  env.implementation_version = env.python_full_version;
  env.implementation_name = "cpython";
  env.platform_python_implementation = "CPython";
  return env;
}

// Parses marker expressions over a larger text so positions and messages name the whole input.
class MarkerParser {
 public:
  using Node = Marker::Node;
  MarkerParser(std::string_view text, size_t begin, size_t end, std::string label)
      : text_(text), p_(begin), end_(end), label_(std::move(label)) {}

  Status Error(size_t pos, std::string_view reason) const {
    return Status::User("invalid " + label_ + " \"" + std::string(text_) + "\" at position " +
                        std::to_string(pos) + ": " + std::string(reason));
  }

  Result<Marker> ParseAll() {
    SkipSpace();
    if (p_ >= end_) return Error(p_, "empty marker");
    FERRY_ASSIGN_OR_RETURN(auto root, ParseOr(0));
    SkipSpace();
    if (p_ < end_) {
      if (text_[p_] == ')') return Error(p_, "unbalanced ')'");
      return Error(p_, "expected 'and', 'or' or end of marker");
    }
    Marker m;
    m.root_ = std::move(root);
    return m;
  }

 private:
  void SkipSpace() {
    while (p_ < end_ && IsSpace(text_[p_])) ++p_;
  }
  // Matches keyword `w` followed by a non-identifier character.
  bool Keyword(std::string_view w) {
    if (end_ - p_ < w.size() || text_.substr(p_, w.size()) != w) return false;
    size_t after = p_ + w.size();
    if (after < end_ && (IsAlnum(text_[after]) || text_[after] == '_' || text_[after] == '.')) {
      return false;
    }
    p_ = after;
    return true;
  }

  Result<std::shared_ptr<const Node>> ParseOr(int depth) {
    if (depth > 64) return Error(p_, "too deeply nested");
    FERRY_ASSIGN_OR_RETURN(auto first, ParseAnd(depth));
    SkipSpace();
    size_t save = p_;
    if (!Keyword("or")) {
      p_ = save;
      return first;
    }
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kOr;
    node->children.push_back(std::move(first));
    do {
      FERRY_ASSIGN_OR_RETURN(auto next, ParseAnd(depth));
      node->children.push_back(std::move(next));
      SkipSpace();
      save = p_;
    } while (Keyword("or"));
    p_ = save;
    return std::shared_ptr<const Node>(std::move(node));
  }

  Result<std::shared_ptr<const Node>> ParseAnd(int depth) {
    FERRY_ASSIGN_OR_RETURN(auto first, ParseAtom(depth));
    SkipSpace();
    size_t save = p_;
    if (!Keyword("and")) {
      p_ = save;
      return first;
    }
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kAnd;
    node->children.push_back(std::move(first));
    do {
      FERRY_ASSIGN_OR_RETURN(auto next, ParseAtom(depth));
      node->children.push_back(std::move(next));
      SkipSpace();
      save = p_;
    } while (Keyword("and"));
    p_ = save;
    return std::shared_ptr<const Node>(std::move(node));
  }

  Result<std::shared_ptr<const Node>> ParseAtom(int depth) {
    SkipSpace();
    if (p_ >= end_) return Error(p_, "expected a marker expression");
    if (text_[p_] == '(') {
      size_t open = p_++;
      FERRY_ASSIGN_OR_RETURN(auto inner, ParseOr(depth + 1));
      SkipSpace();
      if (p_ >= end_ || text_[p_] != ')') return Error(open, "unbalanced '('");
      ++p_;
      return inner;
    }
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kCompare;
    FERRY_RETURN_IF_ERROR(ParseValue(&node->lhs_is_var, &node->lhs));
    SkipSpace();
    FERRY_RETURN_IF_ERROR(ParseOp(&node->op));
    SkipSpace();
    FERRY_RETURN_IF_ERROR(ParseValue(&node->rhs_is_var, &node->rhs));
    return std::shared_ptr<const Node>(std::move(node));
  }

  Status ParseValue(bool* is_var, std::string* out) {
    if (p_ >= end_) return Error(p_, "expected a marker variable or a quoted string");
    char c = text_[p_];
    if (c == '\'' || c == '"') {
      size_t close = text_.find(c, p_ + 1);
      if (close == std::string_view::npos || close >= end_) return Error(p_, "unterminated string");
      out->assign(text_.substr(p_ + 1, close - p_ - 1));
      *is_var = false;
      p_ = close + 1;
      return Status::Ok();
    }
    size_t s = p_;
    while (p_ < end_ && (IsAlnum(text_[p_]) || text_[p_] == '_' || text_[p_] == '.')) ++p_;
    std::string_view name = text_.substr(s, p_ - s);
    if (name.empty()) return Error(s, "expected a marker variable or a quoted string");
    static const MarkerEnvironment kProbe;
    if (kProbe.Get(name) == nullptr) {
      p_ = s;
      return Error(s, "unknown marker variable \"" + std::string(name) + "\"");
    }
    out->assign(CanonicalVariable(name));
    *is_var = true;
    return Status::Ok();
  }

  Status ParseOp(MarkerOp* op) {
    static const std::pair<std::string_view, MarkerOp> kOps[] = {
        {"===", MarkerOp::kArbitrary}, {"<=", MarkerOp::kLe}, {">=", MarkerOp::kGe},
        {"==", MarkerOp::kEq},         {"!=", MarkerOp::kNe}, {"~=", MarkerOp::kCompatible},
        {"<", MarkerOp::kLt},          {">", MarkerOp::kGt}};
    for (const auto& [text, value] : kOps) {
      if (text_.substr(p_, text.size()) == text && p_ + text.size() <= end_) {
        p_ += text.size();
        *op = value;
        return Status::Ok();
      }
    }
    size_t s = p_;
    if (Keyword("in")) {
      *op = MarkerOp::kIn;
      return Status::Ok();
    }
    if (Keyword("not")) {
      SkipSpace();
      if (Keyword("in")) {
        *op = MarkerOp::kNotIn;
        return Status::Ok();
      }
      return Error(p_, "expected 'in' after 'not'");
    }
    return Error(s, "expected a marker operator (<, <=, ==, !=, >=, >, ~=, ===, in, not in)");
  }

  std::string_view text_;
  size_t p_;
  size_t end_;
  std::string label_;
};

Marker::Marker() = default;

Result<Marker> Marker::Parse(std::string_view text) {
  return MarkerParser(text, 0, text.size(), "marker").ParseAll();
}

namespace {

bool EvalCompare(const Marker::Node& n, const MarkerEnvironment& env) {
  std::string lhs = n.lhs_is_var ? *env.Get(n.lhs) : n.lhs;
  std::string rhs = n.rhs_is_var ? *env.Get(n.rhs) : n.rhs;
  if ((n.lhs_is_var && n.lhs == "extra") || (n.rhs_is_var && n.rhs == "extra")) {
    lhs = NormalizeName(lhs);
    rhs = NormalizeName(rhs);
  }
  switch (n.op) {
    case MarkerOp::kIn:
      return rhs.find(lhs) != std::string::npos;
    case MarkerOp::kNotIn:
      return rhs.find(lhs) == std::string::npos;
    default:
      break;
  }
  auto spec = Specifier::Parse(std::string(OpText(n.op)) + rhs);
  if (spec.ok()) {
    auto v = Pep440Version::Parse(lhs);
    if (v.ok()) return spec->Contains(*v);
  }
  int c = lhs.compare(rhs);
  switch (n.op) {
    case MarkerOp::kLt: return c < 0;
    case MarkerOp::kLe: return c <= 0;
    case MarkerOp::kEq: return c == 0;
    case MarkerOp::kNe: return c != 0;
    case MarkerOp::kGe: return c >= 0;
    case MarkerOp::kGt: return c > 0;
    default: return false;  // ~= and === are undefined on non-versions
  }
}

bool EvalNode(const Marker::Node& n, const MarkerEnvironment& env) {
  switch (n.kind) {
    case Marker::Node::Kind::kAnd:
      for (const auto& c : n.children) {
        if (!EvalNode(*c, env)) return false;
      }
      return true;
    case Marker::Node::Kind::kOr:
      for (const auto& c : n.children) {
        if (EvalNode(*c, env)) return true;
      }
      return false;
    case Marker::Node::Kind::kCompare:
      return EvalCompare(n, env);
  }
  return false;
}

void PrintNode(const Marker::Node& n, bool in_and, std::string* out) {
  switch (n.kind) {
    case Marker::Node::Kind::kCompare: {
      auto value = [](bool is_var, const std::string& v) {
        if (is_var) return v;
        char q = v.find('"') == std::string::npos ? '"' : '\'';
        return q + v + q;
      };
      *out += value(n.lhs_is_var, n.lhs) + " " + OpText(n.op) + " " + value(n.rhs_is_var, n.rhs);
      return;
    }
    case Marker::Node::Kind::kAnd:
    case Marker::Node::Kind::kOr: {
      bool is_or = n.kind == Marker::Node::Kind::kOr;
      if (is_or && in_and) *out += "(";
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) *out += is_or ? " or " : " and ";
        PrintNode(*n.children[i], !is_or, out);
      }
      if (is_or && in_and) *out += ")";
      return;
    }
  }
}

}  // namespace

bool Marker::Evaluate(const MarkerEnvironment& env) const {
  return root_ == nullptr || EvalNode(*root_, env);
}

bool Marker::EvaluateForExtras(const MarkerEnvironment& env,
                               const std::vector<std::string>& extras) const {
  if (root_ == nullptr) return true;
  MarkerEnvironment e = env;
  if (extras.empty()) {
    e.extra.clear();
    return EvalNode(*root_, e);
  }
  for (const auto& x : extras) {
    e.extra = x;
    if (EvalNode(*root_, e)) return true;
  }
  return false;
}

std::string Marker::ToString() const {
  std::string out;
  if (root_) PrintNode(*root_, false, &out);
  return out;
}

// ---------------------------------------------------------------------------------------------

Result<Requirement> Requirement::Parse(std::string_view text) {
  auto error = [&](size_t pos, std::string_view reason) {
    return Status::User("invalid requirement \"" + std::string(text) + "\" at position " +
                        std::to_string(pos) + ": " + std::string(reason));
  };
  size_t p = 0, end = text.size();
  while (end > 0 && IsSpace(text[end - 1])) --end;
  auto skip = [&] {
    while (p < end && IsSpace(text[p])) ++p;
  };
  auto is_name_char = [](char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; };
  auto read_name = [&](std::string* out) -> bool {
    size_t s = p;
    if (p >= end || !IsAlnum(text[p])) return false;
    while (p < end && is_name_char(text[p])) ++p;
    while (p > s + 1 && !IsAlnum(text[p - 1])) --p;  // names end with a letter or digit
    out->assign(text.substr(s, p - s));
    return true;
  };
  skip();
  Requirement req;
  if (p >= end) return error(p, "empty requirement");
  if (!read_name(&req.name)) return error(p, "expected a package name");
  skip();
  if (p < end && text[p] == '[') {
    size_t open = p++;
    skip();
    if (p < end && text[p] == ']') {
      ++p;
    } else {
      while (true) {
        skip();
        std::string extra;
        if (!read_name(&extra)) {
          if (p >= end) return error(open, "unterminated '['");
          return error(p, "expected an extra name");
        }
        req.extras.push_back(NormalizeName(extra));
        skip();
        if (p < end && text[p] == ',') {
          ++p;
          continue;
        }
        if (p < end && text[p] == ']') {
          ++p;
          break;
        }
        if (p >= end) return error(open, "unterminated '['");
        return error(p, "expected ',' or ']' in extras");
      }
    }
    std::sort(req.extras.begin(), req.extras.end());
    req.extras.erase(std::unique(req.extras.begin(), req.extras.end()), req.extras.end());
    skip();
  }
  size_t marker_at = std::string_view::npos;
  if (p < end && text[p] == '@') {
    ++p;
    skip();
    size_t s = p;
    while (p < end && !IsSpace(text[p])) ++p;
    if (p == s) return error(s, "expected a URL after '@'");
    req.url.assign(text.substr(s, p - s));
    if (req.url.find("://") == std::string::npos && req.url.rfind("file:", 0) != 0) {
      return error(s, "expected a URL with a scheme (https://, file:...)");
    }
    skip();
    if (p < end) {
      if (text[p] != ';') return error(p, "expected ';' before the marker after a URL");
      marker_at = p + 1;
    }
  } else {
    size_t spec_begin = p, spec_end;
    if (p < end && text[p] == '(') {
      size_t close = text.find(')', p);
      if (close == std::string_view::npos || close >= end) return error(p, "unbalanced '('");
      spec_begin = p + 1;
      spec_end = close;
      p = close + 1;
      skip();
      if (p < end && text[p] != ';') return error(p, "expected ';' or end after ')'");
    } else {
      size_t semi = text.find(';', p);
      spec_end = semi == std::string_view::npos || semi > end ? end : semi;
      p = spec_end;
    }
    std::string_view spec_text = text.substr(spec_begin, spec_end - spec_begin);
    auto set = SpecifierSet::Parse(spec_text);
    if (!set.ok()) {
      const std::string& m = set.status().message();
      size_t at = m.rfind("\" at position ");
      size_t colon = m.find(": ", at);
      size_t inner = std::strtoul(m.c_str() + at + 14, nullptr, 10);
      return error(spec_begin + inner, m.substr(colon + 2));
    }
    req.specifier = std::move(set).value();
    if (p < end && text[p] == ';') marker_at = p + 1;
  }
  if (marker_at != std::string_view::npos) {
    FERRY_ASSIGN_OR_RETURN(req.marker,
                           MarkerParser(text, marker_at, end, "requirement").ParseAll());
  }
  return req;
}

std::string Requirement::ToString() const {
  std::string out = name;
  if (!extras.empty()) {
    out += "[";
    for (size_t i = 0; i < extras.size(); ++i) {
      if (i > 0) out += ",";
      out += extras[i];
    }
    out += "]";
  }
  if (!url.empty()) {
    out += " @ " + url;
    if (!marker.empty()) out += " ; " + marker.ToString();
    return out;
  }
  out += specifier.ToString();
  if (!marker.empty()) out += "; " + marker.ToString();
  return out;
}

}  // namespace ferry::specs
