#include "src/flow/flow_reader.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "src/flow/literal.h"
#include "src/flow/tokenizer.h"

namespace ferry::flow {

const char* StepEnvKindName(StepEnvKind kind) {
  switch (kind) {
    case StepEnvKind::kEnvironment: return "environment";
    case StepEnvKind::kDisabled: return "disabled";
    case StepEnvKind::kNamed: return "named";
    case StepEnvKind::kNone: return "none";
  }
  return "?";
}

namespace {

// Metaflow names the reader understands.
const std::set<std::string>& KnownNames() {
  static const std::set<std::string> k = {"FlowSpec", "step",      "conda",        "conda_base",
                                          "pypi",     "pypi_base", "named_env",    "named_env_base"};
  return k;
}

struct Decorator {
  std::string name;  // canonical metaflow name ("conda_base"), or "" if not ours
  std::string shown;  // as written ("cb", "metaflow.conda")
  int line = 0;
  bool has_call = false;
  size_t args_begin = 0;  // token range inside the parentheses
  size_t args_end = 0;
};

struct Method {
  std::string name;
  int line = 0;
  std::vector<Decorator> decorators;
};

struct ClassInfo {
  std::string name;
  int line = 0;
  std::vector<std::string> bases;  // canonical "FlowSpec" or a local class name
  std::vector<Decorator> decorators;
  std::vector<Method> methods;
};

// Settings of one level (flow or step), as given by its decorators.
struct Level {
  bool has_conda = false;
  bool has_pypi = false;
  bool has_named = false;
  std::map<std::string, std::string> conda_libs;
  std::map<std::string, std::string> pypi_pkgs;
  std::optional<std::vector<std::string>> channels;
  std::optional<std::vector<std::string>> extra_indices;
  std::optional<std::string> python;
  std::optional<bool> disabled;
  std::string named;
  bool fetch_at_exec = false;
  int named_line = 0;
};

class Reader {
 public:
  Reader(std::string_view source, std::string_view filename)
      : source_(source), filename_(filename) {}

  Result<FlowFile> Run() {
    FERRY_ASSIGN_OR_RETURN(toks_, Tokenize(source_, filename_));
    pos_ = 0;
    FERRY_RETURN_IF_ERROR(ModuleBlock(/*top=*/true));
    return Build();
  }

 private:
  Status ErrorAt(int line, const std::string& msg) const {
    return Status::User(std::string(filename_) + ":" + std::to_string(line) + ": " + msg);
  }
  const Token& Cur() const { return toks_[pos_]; }
  bool IsOp(size_t i, const char* op) const {
    return toks_[i].kind == TokenKind::kOp && toks_[i].text == op;
  }
  bool IsName(size_t i, const char* name) const {
    return toks_[i].kind == TokenKind::kName && toks_[i].text == name;
  }

  // Skips to the token after the NEWLINE ending the current logical line.
  void SkipLine() {
    while (Cur().kind != TokenKind::kEnd && Cur().kind != TokenKind::kNewline) ++pos_;
    if (Cur().kind == TokenKind::kNewline) ++pos_;
  }
  // Skips an indented block if one starts here (after a compound statement's header line).
  void SkipBlock() {
    if (Cur().kind != TokenKind::kIndent) return;
    int depth = 0;
    do {
      if (Cur().kind == TokenKind::kIndent) ++depth;
      if (Cur().kind == TokenKind::kDedent) --depth;
      ++pos_;
    } while (depth > 0 && Cur().kind != TokenKind::kEnd);
  }

  // Resolves a dotted decorator/base name to a canonical metaflow name, or "".
  std::string Canonical(const std::vector<std::string>& parts) const {
    if (parts.size() == 1) {
      auto it = names_.find(parts[0]);
      if (it != names_.end()) return it->second;
      if (star_import_ && KnownNames().count(parts[0])) return parts[0];
      return "";
    }
    if (parts.size() == 2 && modules_.count(parts[0]) && KnownNames().count(parts[1])) {
      return parts[1];
    }
    return "";
  }

  // Reads a dotted name at pos_ (NAME (. NAME)*).
  std::vector<std::string> DottedName() {
    std::vector<std::string> parts;
    if (Cur().kind != TokenKind::kName) return parts;
    parts.push_back(Cur().text);
    ++pos_;
    while (IsOp(pos_, ".") && toks_[pos_ + 1].kind == TokenKind::kName) {
      parts.push_back(toks_[pos_ + 1].text);
      pos_ += 2;
    }
    return parts;
  }

  static std::string Join(const std::vector<std::string>& parts) {
    std::string s;
    for (size_t i = 0; i < parts.size(); ++i) s += (i ? "." : "") + parts[i];
    return s;
  }

  // Parses a decorator line starting at '@'.
  Result<Decorator> ParseDecorator() {
    Decorator d;
    d.line = Cur().line;
    ++pos_;  // '@'
    std::vector<std::string> parts = DottedName();
    d.shown = Join(parts);
    d.name = parts.empty() ? "" : Canonical(parts);
    if (!parts.empty() && IsOp(pos_, "(")) {
      d.has_call = true;
      size_t open = pos_;
      int depth = 0;
      size_t i = open;
      for (; toks_[i].kind != TokenKind::kEnd; ++i) {
        if (toks_[i].kind != TokenKind::kOp) continue;
        const std::string& t = toks_[i].text;
        if (t == "(" || t == "[" || t == "{") ++depth;
        if (t == ")" || t == "]" || t == "}") {
          if (--depth == 0) break;
        }
      }
      d.args_begin = open + 1;
      d.args_end = i;
      pos_ = i + 1;
    }
    if (Cur().kind != TokenKind::kNewline) {
      if (!d.name.empty()) {
        return ErrorAt(d.line, "@" + d.shown + ": unsupported decorator expression");
      }
      d.name.clear();  // PEP 614 expression we do not need to understand
    }
    SkipLine();
    return d;
  }

  Status ParseFromImport() {
    int line = Cur().line;
    ++pos_;  // 'from'
    std::string module;
    while (Cur().kind == TokenKind::kName || IsOp(pos_, ".")) {
      if (IsName(pos_, "import")) break;
      module += Cur().text;
      ++pos_;
    }
    if (!IsName(pos_, "import")) {
      SkipLine();
      return Status::Ok();
    }
    ++pos_;
    if (module != "metaflow") {
      SkipLine();
      return Status::Ok();
    }
    bool paren = IsOp(pos_, "(");
    if (paren) ++pos_;
    while (Cur().kind != TokenKind::kNewline && Cur().kind != TokenKind::kEnd) {
      if (IsOp(pos_, "*")) {
        star_import_ = true;
        ++pos_;
      } else if (Cur().kind == TokenKind::kName) {
        std::string name = Cur().text;
        std::string local = name;
        ++pos_;
        if (IsName(pos_, "as") && toks_[pos_ + 1].kind == TokenKind::kName) {
          local = toks_[pos_ + 1].text;
          pos_ += 2;
        }
        if (KnownNames().count(name)) {
          names_[local] = name;
        } else {
          names_.erase(local);
        }
      } else if (IsOp(pos_, ",") || IsOp(pos_, ")")) {
        ++pos_;
      } else {
        return ErrorAt(line, "cannot parse 'from metaflow import' statement");
      }
    }
    SkipLine();
    return Status::Ok();
  }

  void ParseImport() {
    ++pos_;  // 'import'
    while (Cur().kind != TokenKind::kNewline && Cur().kind != TokenKind::kEnd) {
      std::vector<std::string> parts = DottedName();
      if (parts.empty()) {
        ++pos_;
        continue;
      }
      std::string local = parts[0];
      bool aliased = false;
      if (IsName(pos_, "as") && toks_[pos_ + 1].kind == TokenKind::kName) {
        local = toks_[pos_ + 1].text;
        aliased = true;
        pos_ += 2;
      }
      if (parts.size() == 1 && parts[0] == "metaflow") modules_.insert(local);
      // `import metaflow.x` binds `metaflow` too.
      if (parts.size() > 1 && parts[0] == "metaflow" && !aliased) modules_.insert("metaflow");
      if (IsOp(pos_, ",")) ++pos_;
    }
    SkipLine();
  }

  // A block of statements at module level (or nested in if/try/with at module level).
  Status ModuleBlock(bool top) {
    while (true) {
      const Token& t = Cur();
      if (t.kind == TokenKind::kEnd) return Status::Ok();
      if (t.kind == TokenKind::kDedent) {
        if (top) {
          ++pos_;
          continue;
        }
        ++pos_;
        return Status::Ok();
      }
      if (t.kind == TokenKind::kNewline || t.kind == TokenKind::kIndent) {
        ++pos_;
        continue;
      }
      std::vector<Decorator> decorators;
      while (IsOp(pos_, "@")) {
        FERRY_ASSIGN_OR_RETURN(Decorator d, ParseDecorator());
        decorators.push_back(std::move(d));
      }
      if (IsName(pos_, "class")) {
        FERRY_RETURN_IF_ERROR(ParseClass(std::move(decorators)));
        continue;
      }
      for (const Decorator& d : decorators) {
        if (!d.name.empty() && d.name != "step") {
          return ErrorAt(d.line, "@" + d.shown + " is only understood on a FlowSpec class or a "
                                                 "@step method");
        }
      }
      if (IsName(pos_, "from")) {
        FERRY_RETURN_IF_ERROR(ParseFromImport());
        continue;
      }
      if (IsName(pos_, "import")) {
        ParseImport();
        continue;
      }
      bool def = IsName(pos_, "def") || IsName(pos_, "async");
      SkipLine();
      if (Cur().kind == TokenKind::kIndent) {
        if (def) {
          SkipBlock();
        } else {
          ++pos_;  // INDENT: recurse into if/try/with/for bodies for imports and classes
          FERRY_RETURN_IF_ERROR(ModuleBlock(false));
        }
      }
    }
  }

  Status ParseClass(std::vector<Decorator> decorators) {
    ClassInfo c;
    c.line = Cur().line;
    ++pos_;  // 'class'
    if (Cur().kind != TokenKind::kName) return ErrorAt(c.line, "expected a class name");
    c.name = Cur().text;
    ++pos_;
    if (IsOp(pos_, "(")) {
      ++pos_;
      while (!IsOp(pos_, ")") && Cur().kind != TokenKind::kEnd) {
        if (Cur().kind == TokenKind::kName && IsOp(pos_ + 1, "=")) {
          // keyword (metaclass=...): skip to the next top-level comma
          int depth = 0;
          while (Cur().kind != TokenKind::kEnd) {
            if (IsOp(pos_, "(") || IsOp(pos_, "[") || IsOp(pos_, "{")) ++depth;
            if (IsOp(pos_, ")") || IsOp(pos_, "]") || IsOp(pos_, "}")) {
              if (depth == 0) break;
              --depth;
            }
            if (depth == 0 && IsOp(pos_, ",")) break;
            ++pos_;
          }
        } else {
          std::vector<std::string> parts = DottedName();
          if (!parts.empty()) {
            std::string canon = Canonical(parts);
            c.bases.push_back(canon == "FlowSpec" ? canon : Join(parts));
          } else {
            ++pos_;
          }
        }
        if (IsOp(pos_, ",")) ++pos_;
      }
    }
    c.decorators = std::move(decorators);
    SkipLine();  // rest of the header (':' and maybe a one-line body)
    if (Cur().kind == TokenKind::kIndent) {
      ++pos_;
      FERRY_RETURN_IF_ERROR(ClassBody(c));
    }
    classes_.push_back(std::move(c));
    return Status::Ok();
  }

  Status ClassBody(ClassInfo& c) {
    while (true) {
      const Token& t = Cur();
      if (t.kind == TokenKind::kEnd) return Status::Ok();
      if (t.kind == TokenKind::kDedent) {
        ++pos_;
        return Status::Ok();
      }
      if (t.kind == TokenKind::kNewline) {
        ++pos_;
        continue;
      }
      std::vector<Decorator> decorators;
      while (IsOp(pos_, "@")) {
        FERRY_ASSIGN_OR_RETURN(Decorator d, ParseDecorator());
        decorators.push_back(std::move(d));
      }
      if (IsName(pos_, "def") || (IsName(pos_, "async") && IsName(pos_ + 1, "def"))) {
        if (IsName(pos_, "async")) ++pos_;
        Method m;
        m.line = Cur().line;
        if (toks_[pos_ + 1].kind == TokenKind::kName) m.name = toks_[pos_ + 1].text;
        m.decorators = std::move(decorators);
        c.methods.push_back(std::move(m));
        SkipLine();
        SkipBlock();
        continue;
      }
      if (IsName(pos_, "class")) {
        // A nested class: parse it (it may not be the flow) but keep it out of the flow's methods.
        FERRY_RETURN_IF_ERROR(ParseClass(std::move(decorators)));
        continue;
      }
      for (const Decorator& d : decorators) {
        if (!d.name.empty()) return ErrorAt(d.line, "@" + d.shown + " must decorate a method");
      }
      SkipLine();
      SkipBlock();
    }
  }

  // ---- decorator arguments ----

  struct Arg {
    std::string name;
    int line = 0;
    Literal value;
  };

  Result<std::vector<Arg>> EvaluateArgs(const Decorator& d) {
    std::vector<Arg> args;
    if (!d.has_call) return args;
    size_t i = d.args_begin;
    while (i < d.args_end) {
      size_t start = i;
      int depth = 0;
      size_t j = i;
      for (; j < d.args_end; ++j) {
        if (toks_[j].kind != TokenKind::kOp) continue;
        const std::string& t = toks_[j].text;
        if (t == "(" || t == "[" || t == "{") ++depth;
        if (t == ")" || t == "]" || t == "}") --depth;
        if (depth == 0 && t == ",") break;
      }
      Arg a;
      a.line = toks_[start].line;
      if (toks_[start].kind == TokenKind::kName && start + 1 < j && IsOp(start + 1, "=")) {
        a.name = toks_[start].text;
        if (start + 2 >= j) {
          return ErrorAt(a.line, "@" + d.shown + ": argument '" + a.name + "' has no value");
        }
        auto v = EvaluateLiteral(toks_, start + 2, j);
        if (!v.ok()) {
          return ErrorAt(a.line, "@" + d.shown + ": cannot evaluate argument '" + a.name +
                                     "': " + v.status().message());
        }
        a.value = std::move(v).value();
      } else if (IsOp(start, "**") || IsOp(start, "*")) {
        return ErrorAt(a.line, "@" + d.shown + ": cannot evaluate argument '" +
                                   toks_[start].text + (start + 1 < j ? toks_[start + 1].text : "") +
                                   "': unpacking is not a literal");
      } else {
        return ErrorAt(a.line, "@" + d.shown +
                                   ": positional arguments are not supported (use name=value)");
      }
      for (const Arg& prev : args) {
        if (prev.name == a.name) {
          return ErrorAt(a.line, "@" + d.shown + ": argument '" + a.name + "' given twice");
        }
      }
      args.push_back(std::move(a));
      i = j + 1;
    }
    return args;
  }

  Status TypeError(const Decorator& d, const Arg& a, const std::string& expected) {
    return ErrorAt(a.line, "@" + d.shown + ": argument '" + a.name + "' must be " + expected +
                               ", got " + a.value.TypeName());
  }

  // A version value inside a libraries/packages dict: str, a number (its source text) or None.
  Result<std::string> VersionText(const Decorator& d, const Arg& a, const Literal& key,
                                  const Literal& v) {
    switch (v.type) {
      case Literal::Type::kString: return v.text;
      case Literal::Type::kInt:
      case Literal::Type::kFloat: return v.text;
      case Literal::Type::kNone: return std::string();
      default:
        return ErrorAt(v.line ? v.line : a.line,
                       "@" + d.shown + ": argument '" + a.name + "': version of '" + key.text +
                           "' must be a string, got " + v.TypeName());
    }
  }

  Result<std::map<std::string, std::string>> PackageDict(const Decorator& d, const Arg& a) {
    if (a.value.type != Literal::Type::kDict) {
      return TypeError(d, a, "a dict of package name -> version");
    }
    std::map<std::string, std::string> out;
    for (size_t e = 0; e < a.value.keys.size(); ++e) {
      const Literal& k = a.value.keys[e];
      const Literal& v = a.value.values[e];
      if (k.type != Literal::Type::kString) {
        return ErrorAt(k.line ? k.line : a.line, "@" + d.shown + ": argument '" + a.name +
                                                     "': package names must be strings, got " +
                                                     k.TypeName());
      }
      std::string name = Trim(k.text);
      if (name.empty()) {
        return ErrorAt(a.line, "@" + d.shown + ": argument '" + a.name + "': empty package name");
      }
      FERRY_ASSIGN_OR_RETURN(std::string ver, VersionText(d, a, k, v));
      if (out.count(name)) {
        return ErrorAt(a.line, "@" + d.shown + ": argument '" + a.name + "': package '" + name +
                                   "' given twice");
      }
      out[name] = Trim(ver);
    }
    return out;
  }

  Result<std::vector<std::string>> StringList(const Decorator& d, const Arg& a) {
    if (a.value.type != Literal::Type::kList && a.value.type != Literal::Type::kTuple) {
      return TypeError(d, a, "a list of strings");
    }
    std::vector<std::string> out;
    for (const Literal& item : a.value.items) {
      if (item.type != Literal::Type::kString) {
        return ErrorAt(a.line, "@" + d.shown + ": argument '" + a.name +
                                   "' must be a list of strings, found " + item.TypeName());
      }
      out.push_back(Trim(item.text));
    }
    return out;
  }

  Result<std::optional<std::string>> PythonVersion(const Decorator& d, const Arg& a) {
    switch (a.value.type) {
      case Literal::Type::kNone: return std::optional<std::string>();
      case Literal::Type::kString:
      case Literal::Type::kInt:
      case Literal::Type::kFloat: {
        std::string v = Trim(a.value.text);
        if (v.empty()) return std::optional<std::string>();
        return std::optional<std::string>(v);
      }
      default: return TypeError(d, a, "a version string such as \"3.11\"");
    }
  }

  Result<std::optional<bool>> Bool(const Decorator& d, const Arg& a) {
    if (a.value.type == Literal::Type::kNone) return std::optional<bool>();
    if (a.value.type != Literal::Type::kBool) return TypeError(d, a, "True or False");
    return std::optional<bool>(a.value.boolean);
  }

  static std::string Trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
  }

  Status SetScalar(const Decorator& d, int line, const char* key, std::optional<std::string>& slot,
                   const std::string& v) {
    if (slot && *slot != v) {
      return ErrorAt(line, "@" + d.shown + ": '" + key + "' is \"" + v +
                               "\" but another decorator on the same " +
                               (d.name.find("_base") != std::string::npos ? "flow" : "step") +
                               " says \"" + *slot + "\"");
    }
    slot = v;
    return Status::Ok();
  }

  // Applies one environment decorator to a level.
  Status Apply(const Decorator& d, Level& level) {
    FERRY_ASSIGN_OR_RETURN(std::vector<Arg> args, EvaluateArgs(d));
    std::string kind = d.name;
    if (kind.size() > 5 && kind.compare(kind.size() - 5, 5, "_base") == 0) {
      kind = kind.substr(0, kind.size() - 5);
    }
    bool* seen = kind == "conda" ? &level.has_conda : kind == "pypi" ? &level.has_pypi
                                                                     : &level.has_named;
    if (*seen) return ErrorAt(d.line, "@" + d.shown + ": decorator given twice");
    *seen = true;
    bool saw_libraries = false;
    for (const Arg& a : args) {
      const std::string& n = a.name;
      if (kind == "conda" && (n == "libraries" || n == "packages")) {
        if (saw_libraries) {
          return ErrorAt(a.line, "@" + d.shown + ": give either 'libraries' or 'packages', not both");
        }
        saw_libraries = true;
        FERRY_ASSIGN_OR_RETURN(level.conda_libs, PackageDict(d, a));
      } else if (kind == "pypi" && n == "packages") {
        FERRY_ASSIGN_OR_RETURN(level.pypi_pkgs, PackageDict(d, a));
      } else if (kind == "conda" && n == "channels") {
        FERRY_ASSIGN_OR_RETURN(auto v, StringList(d, a));
        level.channels = v;
      } else if (kind == "pypi" && n == "extra_indices") {
        FERRY_ASSIGN_OR_RETURN(auto v, StringList(d, a));
        level.extra_indices = v;
      } else if ((kind == "conda" || kind == "pypi") && n == "python") {
        FERRY_ASSIGN_OR_RETURN(auto v, PythonVersion(d, a));
        if (v) FERRY_RETURN_IF_ERROR(SetScalar(d, a.line, "python", level.python, *v));
      } else if (n == "disabled") {
        FERRY_ASSIGN_OR_RETURN(auto v, Bool(d, a));
        if (v) {
          if (level.disabled && *level.disabled != *v) {
            return ErrorAt(a.line, "@" + d.shown +
                                       ": 'disabled' conflicts with another decorator on the "
                                       "same " +
                                       (d.name.find("_base") != std::string::npos ? "flow"
                                                                                  : "step"));
          }
          level.disabled = v;
        }
      } else if (kind == "named_env" && n == "name") {
        if (a.value.type != Literal::Type::kString) return TypeError(d, a, "a string NAME[:TAG]");
        level.named = Trim(a.value.text);
        level.named_line = a.line;
        if (level.named.empty()) {
          return ErrorAt(a.line, "@" + d.shown + ": argument 'name' is empty");
        }
      } else if (kind == "named_env" && n == "fetch_at_exec") {
        FERRY_ASSIGN_OR_RETURN(auto v, Bool(d, a));
        level.fetch_at_exec = v.value_or(false);
      } else {
        std::string expected = kind == "conda"  ? "libraries, channels, python, disabled"
                               : kind == "pypi" ? "packages, extra_indices, python, disabled"
                                                : "name, fetch_at_exec, disabled";
        return ErrorAt(a.line, "@" + d.shown + ": unsupported argument '" + n +
                                   "' (supported: " + expected + ")");
      }
    }
    if (kind == "named_env" && level.named.empty()) {
      return ErrorAt(d.line, "@" + d.shown + ": missing argument 'name'");
    }
    if (kind == "named_env" && !level.named_line) level.named_line = d.line;
    return Status::Ok();
  }

  // ---- assembling the flow ----

  const ClassInfo* FindClass(const std::string& name) const {
    for (auto it = classes_.rbegin(); it != classes_.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }

  // Chain from the most basic flow class to `c` (only classes defined in this file).
  bool FlowChain(const ClassInfo* c, std::vector<const ClassInfo*>& chain, int depth) const {
    if (depth > 50) return false;
    for (const std::string& b : c->bases) {
      if (b == "FlowSpec") {
        chain.push_back(c);
        return true;
      }
      const ClassInfo* base = FindClass(b);
      if (base && base != c && FlowChain(base, chain, depth + 1)) {
        chain.push_back(c);
        return true;
      }
    }
    return false;
  }

  static std::string CondaSpec(const std::string& name, const std::string& version) {
    if (version.empty()) return name;
    return name + " " + version;
  }

  static std::string PypiSpec(const std::string& name, const std::string& version) {
    if (version.empty()) return name;
    char c = version[0];
    if (c == '<' || c == '>' || c == '=' || c == '!' || c == '~') return name + version;
    if (c == '@' || c == ';') return name + " " + version;
    return name + "==" + version;
  }

  static std::string PythonSpec(const std::string& python) {
    char c = python[0];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (python.back() == '*') return "python " + python;
      return "python " + python + ".*";
    }
    return "python " + python;
  }

  Result<FlowFile> Build() {
    FlowFile out;
    out.filename = std::string(filename_);
    std::vector<std::vector<const ClassInfo*>> flows;
    std::set<std::string> used_as_base;
    for (const ClassInfo& c : classes_) {
      std::vector<const ClassInfo*> chain;
      if (FlowChain(&c, chain, 0)) {
        flows.push_back(chain);
        for (size_t i = 0; i + 1 < chain.size(); ++i) used_as_base.insert(chain[i]->name);
      }
    }
    std::vector<std::vector<const ClassInfo*>> leaves;
    for (auto& chain : flows) {
      if (!used_as_base.count(chain.back()->name)) leaves.push_back(chain);
    }
    if (leaves.empty()) {
      return Status::User(std::string(filename_) +
                          ": no FlowSpec subclass found (expected `class MyFlow(FlowSpec):` with "
                          "FlowSpec imported from metaflow)");
    }
    if (leaves.size() > 1) {
      std::string names;
      for (auto& chain : leaves) {
        names += (names.empty() ? "" : ", ") + chain.back()->name + " (line " +
                 std::to_string(chain.back()->line) + ")";
      }
      return Status::User(std::string(filename_) + ": several flow classes: " + names);
    }
    const std::vector<const ClassInfo*>& chain = leaves[0];
    out.flow_class = chain.back()->name;
    out.flow_line = chain.back()->line;

    // Flow-level decorators: base classes first; a subclass's decorator replaces the base's.
    std::map<std::string, const Decorator*> flow_decos;
    for (const ClassInfo* c : chain) {
      std::map<std::string, const Decorator*> own;
      for (const Decorator& d : c->decorators) {
        if (d.name.empty()) continue;
        if (d.name != "conda_base" && d.name != "pypi_base" && d.name != "named_env_base") {
          return ErrorAt(d.line, "@" + d.shown + " is a step decorator; on a flow class use @" +
                                     d.name + "_base");
        }
        if (own.count(d.name)) return ErrorAt(d.line, "@" + d.shown + ": decorator given twice");
        own[d.name] = &d;
      }
      for (auto& [k, v] : own) flow_decos[k] = v;
    }
    Level flow_level;
    for (const char* k : {"conda_base", "pypi_base", "named_env_base"}) {
      auto it = flow_decos.find(k);
      if (it != flow_decos.end()) FERRY_RETURN_IF_ERROR(Apply(*it->second, flow_level));
    }
    if (flow_level.has_named && (flow_level.has_conda || flow_level.has_pypi)) {
      return ErrorAt(flow_decos["named_env_base"]->line,
                     "@named_env_base cannot be combined with @conda_base or @pypi_base");
    }

    // Steps: methods along the chain, a subclass's method replacing the base's.
    std::vector<const Method*> methods;
    for (const ClassInfo* c : chain) {
      for (const Method& m : c->methods) {
        auto same = std::find_if(methods.begin(), methods.end(),
                                 [&](const Method* x) { return x->name == m.name; });
        if (same != methods.end()) {
          *same = &m;
        } else {
          methods.push_back(&m);
        }
      }
    }
    std::map<std::string, int> env_by_key;
    for (const Method* m : methods) {
      bool is_step = false;
      for (const Decorator& d : m->decorators) is_step = is_step || d.name == "step";
      if (!is_step) {
        for (const Decorator& d : m->decorators) {
          if (!d.name.empty()) {
            return ErrorAt(d.line, "@" + d.shown + " on '" + m->name + "', which is not a @step");
          }
        }
        continue;
      }
      FlowStep s;
      s.name = m->name;
      s.line = m->line;
      Level step_level;
      for (const Decorator& d : m->decorators) {
        if (d.name.empty() || d.name == "step") continue;
        if (d.name.find("_base") != std::string::npos) {
          return ErrorAt(d.line, "@" + d.shown + " is a flow decorator; on a step use @" +
                                     d.name.substr(0, d.name.size() - 5));
        }
        if (d.name == "FlowSpec") return ErrorAt(d.line, "@" + d.shown + " is not a decorator");
        FERRY_RETURN_IF_ERROR(Apply(d, step_level));
      }
      if (step_level.has_named && (step_level.has_conda || step_level.has_pypi)) {
        return ErrorAt(step_level.named_line,
                       "step '" + s.name +
                           "': @named_env cannot be combined with @conda or @pypi on one step");
      }
      bool disabled = step_level.disabled.value_or(flow_level.disabled.value_or(false));
      if (disabled) {
        s.kind = StepEnvKind::kDisabled;
      } else if (step_level.has_named) {
        s.kind = StepEnvKind::kNamed;
        s.named_env = step_level.named;
        s.fetch_at_exec = step_level.fetch_at_exec;
      } else if (flow_level.has_named && !step_level.has_conda && !step_level.has_pypi) {
        s.kind = StepEnvKind::kNamed;
        s.named_env = flow_level.named;
        s.fetch_at_exec = flow_level.fetch_at_exec;
      } else if (!flow_level.has_conda && !flow_level.has_pypi && !step_level.has_conda &&
                 !step_level.has_pypi) {
        s.kind = StepEnvKind::kNone;
      } else {
        RequirementSet req;
        std::map<std::string, std::string> libs = flow_level.conda_libs;
        for (const auto& [k, v] : step_level.conda_libs) libs[k] = v;
        std::map<std::string, std::string> pkgs = flow_level.pypi_pkgs;
        for (const auto& [k, v] : step_level.pypi_pkgs) pkgs[k] = v;
        std::optional<std::string> python = step_level.python ? step_level.python
                                                              : flow_level.python;
        bool python_in_libs = false;
        for (const auto& [k, v] : libs) {
          req.conda.push_back(CondaSpec(k, v));
          if (k == "python") python_in_libs = true;
        }
        for (const auto& [k, v] : pkgs) req.pypi.push_back(PypiSpec(k, v));
        if (python) {
          req.python = *python;
          if (!python_in_libs) req.conda.push_back(PythonSpec(*python));
        }
        std::sort(req.conda.begin(), req.conda.end());
        std::sort(req.pypi.begin(), req.pypi.end());
        req.channels = step_level.channels ? *step_level.channels
                                           : flow_level.channels.value_or(std::vector<std::string>{});
        req.indexes = step_level.extra_indices
                          ? *step_level.extra_indices
                          : flow_level.extra_indices.value_or(std::vector<std::string>{});
        std::string key = CanonicalRequirementJson(req);
        auto it = env_by_key.find(key);
        if (it == env_by_key.end()) {
          it = env_by_key.emplace(key, static_cast<int>(out.environments.size())).first;
          out.environments.push_back(FlowEnvironment{req, {}});
        }
        s.kind = StepEnvKind::kEnvironment;
        s.env_index = it->second;
        out.environments[it->second].steps.push_back(s.name);
      }
      out.steps.push_back(std::move(s));
    }
    for (auto& e : out.environments) std::sort(e.steps.begin(), e.steps.end());
    if (out.steps.empty()) {
      return ErrorAt(out.flow_line, "flow class '" + out.flow_class + "' has no @step methods");
    }
    return out;
  }

  std::string_view source_;
  std::string_view filename_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  std::map<std::string, std::string> names_;  // local name -> metaflow name
  std::set<std::string> modules_;             // local names bound to the metaflow module
  bool star_import_ = false;
  std::vector<ClassInfo> classes_;
};

}  // namespace

Result<FlowFile> ReadFlow(std::string_view source, std::string_view filename) {
  return Reader(source, filename).Run();
}

}  // namespace ferry::flow
