#include "src/specs/conda_version_spec.h"

#include <cstdlib>

namespace ferry::specs {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// '*'-glob, case-insensitive.
bool GlobMatchCI(std::string_view pat, std::string_view val) {
  size_t p = 0, v = 0, star = std::string_view::npos, mark = 0;
  while (v < val.size()) {
    if (p < pat.size() && pat[p] != '*' && Lower(pat[p]) == Lower(val[v])) {
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

}  // namespace

Status CheckRegexLimits(std::string_view pattern) {
  if (pattern.size() > 256) return Status::User("regex is too long (more than 256 characters)");
  int braces = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') continue;
    if (++braces > 2) return Status::User("regex has too many counted repetitions");
    size_t j = i + 1;
    while (j < pattern.size() && pattern[j] != '}') {
      if (pattern[j] >= '0' && pattern[j] <= '9') {
        size_t k = j;
        while (k < pattern.size() && pattern[k] >= '0' && pattern[k] <= '9') ++k;
        if (k - j > 2) return Status::User("regex repetition count is too large (max 99)");
        j = k;
      } else {
        ++j;
      }
    }
  }
  // Reject the shapes that make backtracking regex engines (std::regex) exponential: a
  // quantifier applied to a quantifier ("a**", "a+*", "a*?*"), or to a group that already
  // contains one ("(a+)*") or has alternatives ("(1|1)*"). And at most kMaxQuantifiers
  // quantifiers in all: n characters split among k of them in sequence ("^.*.*.*x$") is
  // ~n^(k-1) steps when the match fails.
  constexpr int kMaxQuantifiers = 4;
  int quantifiers = 0;
  std::vector<bool> group_has_quant;  // one entry per open group: a quantifier or a '|' inside
  bool last_quant = false;            // previous token was a quantifier
  bool last_lazy = false;             // ... made lazy by a '?' ("a*?" is still "a" repeated)
  bool last_group_quant = false;      // previous token closed a group containing a quantifier
  auto is_quant = [](char c) { return c == '*' || c == '+' || c == '?' || c == '{'; };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {  // escaped character: a plain atom
      ++i;
      last_quant = last_group_quant = last_lazy = false;
      continue;
    }
    if (c == '[') {  // character class: a plain atom
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '^') ++j;
      if (j < pattern.size() && pattern[j] == ']') ++j;
      while (j < pattern.size() && pattern[j] != ']') j += pattern[j] == '\\' ? 2 : 1;
      i = j;
      last_quant = last_group_quant = last_lazy = false;
      continue;
    }
    if (is_quant(c)) {
      const bool lazy = c == '?' && last_quant && !last_lazy;
      if (!lazy && (last_quant || last_group_quant)) {
        return Status::User(
            "regex applies a quantifier to a repeated expression or a group with alternatives");
      }
      if (!lazy && ++quantifiers > kMaxQuantifiers) {
        return Status::User("regex has more than " + std::to_string(kMaxQuantifiers) +
                            " quantifiers");
      }
      if (c == '{') {
        while (i < pattern.size() && pattern[i] != '}') ++i;
      }
      for (size_t g = 0; g < group_has_quant.size(); ++g) group_has_quant[g] = true;
      last_quant = true;
      last_lazy = lazy;
      last_group_quant = false;
      continue;
    }
    if (c == '(') {
      group_has_quant.push_back(false);
    } else if (c == '|') {
      for (size_t g = 0; g < group_has_quant.size(); ++g) group_has_quant[g] = true;
    } else if (c == ')') {
      last_group_quant = !group_has_quant.empty() && group_has_quant.back();
      if (!group_has_quant.empty()) group_has_quant.pop_back();
      last_quant = last_lazy = false;
      continue;
    }
    last_quant = last_group_quant = last_lazy = false;
  }
  return Status::Ok();
}

// Recursive-descent parser over the whole text, so errors carry absolute positions.
class VersionSpecParser {
 public:
  using Node = VersionSpec::Node;
  using Kind = VersionSpec::Kind;
  explicit VersionSpecParser(std::string_view text) : text_(text) {}

  Status Error(size_t pos, std::string_view reason) const {
    return Status::User("invalid conda version spec \"" + std::string(text_) + "\" at position " +
                        std::to_string(pos) + ": " + std::string(reason));
  }

  Result<Node> ParseAll() {
    SkipSpace();
    if (pos_ == text_.size()) return Error(pos_, "empty version spec");
    FERRY_ASSIGN_OR_RETURN(Node node, ParseOr(0));
    SkipSpace();
    if (pos_ != text_.size()) {
      if (text_[pos_] == ')') return Error(pos_, "unbalanced ')'");
      return Error(pos_, "unexpected character");
    }
    return node;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }

  static void Append(Node* group, Node child) {
    if (child.kind == group->kind) {
      for (auto& c : child.children) group->children.push_back(std::move(c));
    } else {
      group->children.push_back(std::move(child));
    }
  }

  Result<Node> ParseOr(int depth) {
    if (depth > 64) return Error(pos_, "too deeply nested");
    FERRY_ASSIGN_OR_RETURN(Node first, ParseAnd(depth));
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '|') return first;
    Node group;
    group.kind = Kind::kOr;
    Append(&group, std::move(first));
    while (pos_ < text_.size() && text_[pos_] == '|') {
      ++pos_;
      FERRY_ASSIGN_OR_RETURN(Node next, ParseAnd(depth));
      Append(&group, std::move(next));
      SkipSpace();
    }
    return group;
  }

  Result<Node> ParseAnd(int depth) {
    FERRY_ASSIGN_OR_RETURN(Node first, ParseTerm(depth));
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != ',') return first;
    Node group;
    group.kind = Kind::kAnd;
    Append(&group, std::move(first));
    while (pos_ < text_.size() && text_[pos_] == ',') {
      ++pos_;
      FERRY_ASSIGN_OR_RETURN(Node next, ParseTerm(depth));
      Append(&group, std::move(next));
      SkipSpace();
    }
    return group;
  }

  Result<Node> ParseTerm(int depth) {
    SkipSpace();
    if (pos_ >= text_.size()) return Error(pos_, "empty expression");
    char c = text_[pos_];
    if (c == '(') {
      size_t open = pos_;
      ++pos_;
      FERRY_ASSIGN_OR_RETURN(Node inner, ParseOr(depth + 1));
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ')') return Error(open, "unbalanced '('");
      ++pos_;
      return inner;
    }
    if (c == ',' || c == '|' || c == ')') return Error(pos_, "empty expression");
    // A leaf runs to the next delimiter. A regex leaf ("^...$") may contain delimiters: it runs to
    // the first '$' that is followed by a delimiter or the end.
    size_t start = pos_;
    size_t end = start;
    if (c == '^') {
      size_t i = start + 1;
      end = std::string_view::npos;
      for (; i < text_.size(); ++i) {
        if (text_[i] != '$') continue;
        size_t k = i + 1;
        while (k < text_.size() && IsSpace(text_[k])) ++k;
        if (k == text_.size() || text_[k] == ',' || text_[k] == '|' || text_[k] == ')') {
          end = i + 1;
          break;
        }
      }
      if (end == std::string_view::npos) {
        return Error(start, "regex specs must start with '^' and end with '$'");
      }
    } else {
      while (end < text_.size() && text_[end] != ',' && text_[end] != '|' && text_[end] != ')' &&
             text_[end] != '(') {
        ++end;
      }
      if (end < text_.size() && text_[end] == '(') return Error(end, "unexpected '('");
    }
    pos_ = end;
    size_t e = end;
    while (e > start && IsSpace(text_[e - 1])) --e;
    return ParseLeaf(start, e);
  }

  // Re-bases a Version::Parse error onto this spec's text.
  Status VersionErrorAt(size_t offset, const Status& st) {
    const std::string& m = st.message();
    size_t at = m.rfind("\" at position ");
    if (at != std::string::npos) {
      const char* p = m.c_str() + at + 14;
      char* endp = nullptr;
      unsigned long inner = std::strtoul(p, &endp, 10);
      if (endp && endp[0] == ':' && endp[1] == ' ') {
        return Error(offset + inner, std::string("invalid version: ") + (endp + 2));
      }
    }
    return Error(offset, "invalid version");
  }

  Result<Version> ParseVersion(size_t from, size_t to) {
    size_t star = text_.substr(from, to - from).find('*');
    if (star != std::string_view::npos) {
      return Error(from + star, "'*' is only allowed as a trailing wildcard or in a glob");
    }
    auto v = Version::Parse(text_.substr(from, to - from));
    if (!v.ok()) return VersionErrorAt(from, v.status());
    return std::move(v).value();
  }

  Result<Node> ParseLeaf(size_t b, size_t e) {
    std::string_view s = text_.substr(b, e - b);
    Node node;
    if (s.empty()) return Error(b, "empty expression");
    if (s.find_first_not_of('*') == std::string_view::npos) {
      node.kind = Kind::kAny;
      return node;
    }
    if (s.front() == '^' || s.back() == '$') {
      if (s.front() != '^' || s.back() != '$' || s.size() < 2) {
        return Error(b, "regex specs must start with '^' and end with '$'");
      }
      if (Status st = CheckRegexLimits(s); !st.ok()) return Error(b, st.message());
      node.kind = Kind::kRegex;
      node.pattern.assign(s);
      try {
        node.regex = std::make_shared<const std::regex>(node.pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& err) {
        return Error(b, std::string("invalid regex: ") + err.what());
      }
      return node;
    }
    char c = s.front();
    if (c == '=' || c == '<' || c == '>' || c == '!' || c == '~') {
      std::string_view op;
      if (s.size() >= 2 && (s.substr(0, 2) == "==" || s.substr(0, 2) == "!=" ||
                            s.substr(0, 2) == "<=" || s.substr(0, 2) == ">=" ||
                            s.substr(0, 2) == "~=")) {
        op = s.substr(0, 2);
      } else if (c == '<' || c == '>' || c == '=') {
        op = s.substr(0, 1);
      } else {
        return Error(b, "invalid operator");
      }
      size_t vb = b + op.size();
      if (vb < e) {
        char n = text_[vb];
        if (n == '=' || n == '<' || n == '>' || n == '!' || n == '~') {
          return Error(b, "invalid operator");
        }
      }
      while (vb < e && IsSpace(text_[vb])) ++vb;
      if (vb == e) return Error(vb, "missing version after operator '" + std::string(op) + "'");
      size_t ve = e;
      bool wildcard = false;
      if (text_[ve - 1] == '*') {
        wildcard = true;
        while (ve > vb && text_[ve - 1] == '*') --ve;
        if (ve > vb && text_[ve - 1] == '.') --ve;
        if (ve == vb) return Error(vb, "missing version before '*'");
      }
      for (size_t i = vb; i < ve; ++i) {
        if (IsSpace(text_[i])) return Error(i, "unexpected whitespace in version");
      }
      FERRY_ASSIGN_OR_RETURN(node.version, ParseVersion(vb, ve));
      if (op == "==") {
        node.kind = wildcard ? Kind::kStartsWith : Kind::kEq;
      } else if (op == "=") {
        node.kind = Kind::kStartsWith;
      } else if (op == "!=") {
        node.kind = wildcard ? Kind::kNotStartsWith : Kind::kNe;
      } else if (op == "<") {
        node.kind = Kind::kLt;
      } else if (op == "<=") {
        node.kind = Kind::kLe;
      } else if (op == ">") {
        node.kind = Kind::kGt;
      } else if (op == ">=") {
        node.kind = Kind::kGe;
      } else {  // ~=
        if (wildcard) return Error(b, "invalid operator '~=' with '.*'");
        node.kind = Kind::kCompatible;
        std::string_view vtext = text_.substr(vb, ve - vb);
        size_t dot = vtext.rfind('.');
        if (dot == std::string_view::npos || dot == 0) {
          return Error(vb, "'~=' needs a version with at least two components");
        }
        FERRY_ASSIGN_OR_RETURN(node.compat, ParseVersion(vb, vb + dot));
      }
      return node;
    }
    for (size_t i = b; i < e; ++i) {
      if (IsSpace(text_[i])) return Error(i, "unexpected whitespace in version");
    }
    size_t last_non_star = s.find_last_not_of('*');
    if (s.substr(0, last_non_star + 1).find('*') != std::string_view::npos) {
      // Inner '*': glob over the version string. Validate characters like a version would.
      for (size_t i = 0; i < s.size(); ++i) {
        char ch = Lower(s[i]);
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-' || ch == '+' || ch == '!' || ch == '*';
        if (!ok) return Error(b + i, std::string("invalid character '") + s[i] + "'");
      }
      node.kind = Kind::kGlob;
      node.pattern.reserve(s.size());
      for (char ch : s) node.pattern.push_back(Lower(ch));
      return node;
    }
    if (s.back() == '*') {
      size_t ve = b + last_non_star + 1;
      while (ve > b && text_[ve - 1] == '.') --ve;
      if (ve == b) return Error(b, "missing version before '*'");
      FERRY_ASSIGN_OR_RETURN(node.version, ParseVersion(b, ve));
      node.kind = Kind::kStartsWith;
      return node;
    }
    FERRY_ASSIGN_OR_RETURN(node.version, ParseVersion(b, e));
    node.kind = Kind::kEq;
    return node;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

VersionSpec::VersionSpec() = default;

Result<VersionSpec> VersionSpec::Parse(std::string_view text) {
  VersionSpecParser parser(text);
  FERRY_ASSIGN_OR_RETURN(Node root, parser.ParseAll());
  VersionSpec spec;
  spec.root_ = std::move(root);
  return spec;
}

bool VersionSpec::MatchNode(const Node& node, const Version& v) {
  switch (node.kind) {
    case Kind::kAny:
      return true;
    case Kind::kEq:
      return v.Compare(node.version) == 0;
    case Kind::kNe:
      return v.Compare(node.version) != 0;
    case Kind::kLt:
      return v.Compare(node.version) < 0;
    case Kind::kLe:
      return v.Compare(node.version) <= 0;
    case Kind::kGt:
      return v.Compare(node.version) > 0;
    case Kind::kGe:
      return v.Compare(node.version) >= 0;
    case Kind::kCompatible:
      return v.Compare(node.version) >= 0 && v.StartsWith(node.compat);
    case Kind::kStartsWith:
      return v.StartsWith(node.version);
    case Kind::kNotStartsWith:
      return !v.StartsWith(node.version);
    case Kind::kGlob:
      return GlobMatchCI(node.pattern, v.str());
    case Kind::kRegex:
      try {
        return std::regex_search(v.str(), *node.regex);
      } catch (const std::regex_error&) {
        return false;  // e.g. complexity limits
      }
    case Kind::kAnd:
      for (const Node& c : node.children) {
        if (!MatchNode(c, v)) return false;
      }
      return true;
    case Kind::kOr:
      for (const Node& c : node.children) {
        if (MatchNode(c, v)) return true;
      }
      return false;
  }
  return false;
}

bool VersionSpec::Matches(const Version& version) const { return MatchNode(root_, version); }

bool VersionSpec::IsExact(Version* out) const {
  if (root_.kind != Kind::kEq) return false;
  if (out != nullptr) *out = root_.version;
  return true;
}

void VersionSpec::PrintNode(const Node& node, bool in_and, std::string* out) {
  switch (node.kind) {
    case Kind::kAny: *out += "*"; return;
    case Kind::kEq: *out += "=="; break;
    case Kind::kNe: *out += "!="; break;
    case Kind::kLt: *out += "<"; break;
    case Kind::kLe: *out += "<="; break;
    case Kind::kGt: *out += ">"; break;
    case Kind::kGe: *out += ">="; break;
    case Kind::kCompatible: *out += "~="; break;
    case Kind::kStartsWith:
      *out += node.version.str();
      *out += ".*";
      return;
    case Kind::kNotStartsWith:
      *out += "!=";
      *out += node.version.str();
      *out += ".*";
      return;
    case Kind::kGlob:
    case Kind::kRegex:
      *out += node.pattern;
      return;
    case Kind::kAnd:
    case Kind::kOr: {
      bool is_or = node.kind == Kind::kOr;
      bool paren = is_or && in_and;
      if (paren) *out += "(";
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i > 0) *out += is_or ? "|" : ",";
        PrintNode(node.children[i], !is_or, out);
      }
      if (paren) *out += ")";
      return;
    }
  }
  *out += node.version.str();
}

std::string VersionSpec::ToString() const {
  std::string out;
  PrintNode(root_, false, &out);
  return out;
}

}  // namespace ferry::specs
