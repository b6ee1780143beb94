#include "src/inputs/toml.h"
#include "src/utf8.h"

#include <cctype>

namespace ferry::inputs {

const TomlValue* TomlValue::Get(std::string_view key) const {
  if (type != Type::kTable) return nullptr;
  for (const auto& [k, v] : table)
    if (k == key) return &v;
  return nullptr;
}

const TomlValue* TomlValue::Find(std::initializer_list<std::string_view> path) const {
  const TomlValue* cur = this;
  for (std::string_view k : path) {
    cur = cur->Get(k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

const char* TomlValue::TypeName() const {
  switch (type) {
    case Type::kString: return "string";
    case Type::kInteger: return "integer";
    case Type::kFloat: return "float";
    case Type::kBool: return "boolean";
    case Type::kDateTime: return "date-time";
    case Type::kArray: return "array";
    case Type::kTable: return "table";
  }
  return "?";
}

namespace {

class Parser {
 public:
  Parser(std::string_view src, std::string_view filename) : s_(src), filename_(filename) {}

  Result<TomlValue> Run() {
    TomlValue root;
    root.type = TomlValue::Type::kTable;
    root.line = 1;
    TomlValue* current = &root;
    while (true) {
      SkipWsCommentsNewlines();
      if (p_ >= s_.size()) break;
      if (s_[p_] == '[') {
        bool array_table = p_ + 1 < s_.size() && s_[p_ + 1] == '[';
        int line = line_;
        p_ += array_table ? 2 : 1;
        SkipWs();
        FERRY_ASSIGN_OR_RETURN(std::vector<std::string> keys, Key());
        SkipWs();
        if (array_table) {
          if (s_.substr(p_, 2) != "]]") return Err("expected ']]' after table name");
          p_ += 2;
        } else {
          if (p_ >= s_.size() || s_[p_] != ']') return Err("expected ']' after table name");
          ++p_;
        }
        FERRY_RETURN_IF_ERROR(EndOfLine());
        FERRY_ASSIGN_OR_RETURN(current, OpenTable(root, keys, array_table, line));
        continue;
      }
      FERRY_RETURN_IF_ERROR(KeyValue(*current));
      FERRY_RETURN_IF_ERROR(EndOfLine());
    }
    return root;
  }

 private:
  Status Err(const std::string& msg) const { return ErrAt(line_, msg); }
  Status ErrAt(int line, const std::string& msg) const {
    return Status::User(std::string(filename_) + ":" + std::to_string(line) + ": " + msg);
  }

  void SkipWs() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t')) ++p_;
  }
  void SkipComment() {
    if (p_ < s_.size() && s_[p_] == '#') {
      while (p_ < s_.size() && s_[p_] != '\n') ++p_;
    }
  }
  bool AtNewline() const {
    return p_ < s_.size() && (s_[p_] == '\n' || (s_[p_] == '\r' && p_ + 1 < s_.size() &&
                                                  s_[p_ + 1] == '\n'));
  }
  void ConsumeNewline() {
    if (s_[p_] == '\r') ++p_;
    ++p_;
    ++line_;
  }
  void SkipWsCommentsNewlines() {
    while (true) {
      SkipWs();
      SkipComment();
      if (AtNewline()) {
        ConsumeNewline();
        continue;
      }
      return;
    }
  }
  Status EndOfLine() {
    SkipWs();
    SkipComment();
    if (p_ >= s_.size()) return Status::Ok();
    if (!AtNewline()) {
      return Err(std::string("unexpected '") + s_[p_] + "' (expected the end of the line)");
    }
    ConsumeNewline();
    return Status::Ok();
  }

  static bool IsBare(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  }

  Result<std::vector<std::string>> Key() {
    std::vector<std::string> parts;
    while (true) {
      SkipWs();
      if (p_ >= s_.size()) return Err("expected a key");
      if (s_[p_] == '"' || s_[p_] == '\'') {
        if (s_.substr(p_, 3) == "\"\"\"" || s_.substr(p_, 3) == "'''") {
          return Err("multi-line strings cannot be keys");
        }
        FERRY_ASSIGN_OR_RETURN(std::string k, String());
        parts.push_back(std::move(k));
      } else {
        size_t b = p_;
        while (p_ < s_.size() && IsBare(s_[p_])) ++p_;
        if (b == p_) {
          return Err(std::string("invalid key character '") + s_[p_] + "'");
        }
        parts.emplace_back(s_.substr(b, p_ - b));
      }
      SkipWs();
      if (p_ < s_.size() && s_[p_] == '.') {
        ++p_;
        continue;
      }
      return parts;
    }
  }

  static std::string JoinKey(const std::vector<std::string>& keys, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += (i ? "." : "") + keys[i];
    return s;
  }

  TomlValue* Child(TomlValue& t, const std::string& key) {
    for (auto& [k, v] : t.table)
      if (k == key) return &v;
    return nullptr;
  }

  Result<TomlValue*> OpenTable(TomlValue& root, const std::vector<std::string>& keys,
                               bool array_table, int line) {
    TomlValue* cur = &root;
    for (size_t i = 0; i < keys.size(); ++i) {
      bool last = i + 1 == keys.size();
      TomlValue* next = Child(*cur, keys[i]);
      if (next == nullptr) {
        TomlValue v;
        v.line = line;
        if (last && array_table) {
          v.type = TomlValue::Type::kArray;
          v.array_of_tables = true;
          TomlValue elem;
          elem.type = TomlValue::Type::kTable;
          elem.line = line;
          v.array.push_back(std::move(elem));
          cur->table.push_back(TomlMember{keys[i], std::move(v)});
          return &cur->table.back().second.array.back();
        }
        v.type = TomlValue::Type::kTable;
        v.defined_by_header = last;
        cur->table.push_back(TomlMember{keys[i], std::move(v)});
        cur = &cur->table.back().second;
        continue;
      }
      if (next->type == TomlValue::Type::kArray) {
        if (!next->array_of_tables) {
          return ErrAt(line, "'" + JoinKey(keys, i + 1) + "' is an array, not a table");
        }
        if (last && array_table) {
          TomlValue elem;
          elem.type = TomlValue::Type::kTable;
          elem.line = line;
          next->array.push_back(std::move(elem));
          return &next->array.back();
        }
        if (last) return ErrAt(line, "table '" + JoinKey(keys, i + 1) + "' defined twice");
        cur = &next->array.back();
        continue;
      }
      if (next->type != TomlValue::Type::kTable) {
        return ErrAt(line, "key '" + JoinKey(keys, i + 1) + "' is already a " +
                               next->TypeName() + ", not a table");
      }
      if (next->inline_table) {
        return ErrAt(line, "inline table '" + JoinKey(keys, i + 1) + "' cannot be extended");
      }
      if (last) {
        if (array_table) return ErrAt(line, "'" + JoinKey(keys, i + 1) + "' is a table, not an array of tables");
        if (next->defined_by_header || next->defined_by_dotted_key) {
          return ErrAt(line, "table '" + JoinKey(keys, i + 1) + "' defined twice");
        }
        next->defined_by_header = true;
      }
      cur = next;
    }
    return cur;
  }

  Status KeyValue(TomlValue& table) {
    int line = line_;
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> keys, Key());
    SkipWs();
    if (p_ >= s_.size() || s_[p_] != '=') {
      return Err("expected '=' after key '" + JoinKey(keys, keys.size()) + "'");
    }
    ++p_;
    SkipWs();
    FERRY_ASSIGN_OR_RETURN(TomlValue v, Value());
    TomlValue* cur = &table;
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
      TomlValue* next = Child(*cur, keys[i]);
      if (next == nullptr) {
        TomlValue t;
        t.type = TomlValue::Type::kTable;
        t.line = line;
        t.defined_by_dotted_key = true;
        cur->table.push_back(TomlMember{keys[i], std::move(t)});
        next = &cur->table.back().second;
      } else {
        if (next->type != TomlValue::Type::kTable || next->inline_table ||
            (next->defined_by_header && !next->defined_by_dotted_key)) {
          return ErrAt(line, "cannot add to key '" + JoinKey(keys, i + 1) + "'");
        }
      }
      cur = next;
    }
    if (Child(*cur, keys.back()) != nullptr) {
      return ErrAt(line, "duplicate key '" + JoinKey(keys, keys.size()) + "'");
    }
    cur->table.push_back(TomlMember{keys.back(), std::move(v)});
    return Status::Ok();
  }

  Result<std::string> String() {
    char q = s_[p_];
    bool multi = s_.substr(p_, 3) == std::string(3, q);
    bool literal = q == '\'';
    int start_line = line_;
    p_ += multi ? 3 : 1;
    if (multi && AtNewline()) ConsumeNewline();  // a newline right after the opener is trimmed
    std::string out;
    while (true) {
      if (p_ >= s_.size()) return ErrAt(start_line, "unterminated string");
      char c = s_[p_];
      if (c == q) {
        if (!multi) {
          ++p_;
          return out;
        }
        if (s_.substr(p_, 3) == std::string(3, q)) {
          // up to two extra quotes right before the closer belong to the content
          size_t extra = 0;
          while (extra < 2 && p_ + 3 + extra < s_.size() && s_[p_ + 3 + extra] == q) ++extra;
          out.append(extra, q);
          p_ += 3 + extra;
          return out;
        }
        out += c;
        ++p_;
        continue;
      }
      if (c == '\n' || (c == '\r' && p_ + 1 < s_.size() && s_[p_ + 1] == '\n')) {
        if (!multi) return ErrAt(start_line, "unterminated string (newline in a string)");
        if (c == '\r') ++p_;
        out += '\n';
        ++p_;
        ++line_;
        continue;
      }
      if (c == '\\' && !literal) {
        ++p_;
        if (p_ >= s_.size()) return ErrAt(start_line, "unterminated string");
        char e = s_[p_];
        if (multi && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
          // line-ending backslash: trim whitespace and newlines up to the next content
          size_t q2 = p_;
          while (q2 < s_.size() && (s_[q2] == ' ' || s_[q2] == '\t')) ++q2;
          if (q2 < s_.size() && (s_[q2] == '\n' || s_[q2] == '\r')) {
            p_ = q2;
            while (p_ < s_.size() &&
                   (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) {
              if (s_[p_] == '\n') ++line_;
              ++p_;
            }
            continue;
          }
          return Err("invalid escape sequence");
        }
        switch (e) {
          case 'b': out += '\b'; break;
          case 't': out += '\t'; break;
          case 'n': out += '\n'; break;
          case 'f': out += '\f'; break;
          case 'r': out += '\r'; break;
          case 'e': out += '\x1b'; break;
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case 'u':
          case 'U': {
            size_t n = e == 'u' ? 4 : 8;
            if (p_ + n >= s_.size()) return Err("invalid unicode escape");
            uint32_t cp = 0;
            for (size_t k = 1; k <= n; ++k) {
              char h = s_[p_ + k];
              int v = std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                      : (h >= 'a' && h <= 'f')                    ? h - 'a' + 10
                      : (h >= 'A' && h <= 'F')                    ? h - 'A' + 10
                                                                  : -1;
              if (v < 0) return Err("invalid unicode escape");
              cp = cp * 16 + static_cast<uint32_t>(v);
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
              return Err("invalid unicode scalar in escape");
            }
            AppendUtf8(out, cp);
            p_ += n;
            break;
          }
          default: return Err(std::string("invalid escape sequence '\\") + e + "'");
        }
        ++p_;
        continue;
      }
      out += c;
      ++p_;
    }
  }

  Result<TomlValue> Value() {
    TomlValue v;
    v.line = line_;
    if (p_ >= s_.size() || AtNewline()) return Err("expected a value");
    char c = s_[p_];
    if (c == '"' || c == '\'') {
      v.type = TomlValue::Type::kString;
      FERRY_ASSIGN_OR_RETURN(v.text, String());
      return v;
    }
    if (c == '[') return Array();
    if (c == '{') return InlineTable();
    if (s_.substr(p_, 4) == "true" && !IsBare(p_ + 4 < s_.size() ? s_[p_ + 4] : ' ')) {
      v.type = TomlValue::Type::kBool;
      v.boolean = true;
      v.text = "true";
      p_ += 4;
      return v;
    }
    if (s_.substr(p_, 5) == "false" && !IsBare(p_ + 5 < s_.size() ? s_[p_ + 5] : ' ')) {
      v.type = TomlValue::Type::kBool;
      v.text = "false";
      p_ += 5;
      return v;
    }
    // numbers, inf/nan, dates and times: read a token
    size_t b = p_;
    while (p_ < s_.size()) {
      char ch = s_[p_];
      if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '+' ||
          ch == '-' || ch == ':') {
        ++p_;
      } else if (ch == ' ' && p_ + 1 < s_.size() &&
                 std::isdigit(static_cast<unsigned char>(s_[p_ + 1])) && p_ - b == 10 &&
                 s_[b + 4] == '-') {
        ++p_;  // "1979-05-27 07:32:00": a date-time with a space separator
      } else {
        break;
      }
    }
    std::string tok(s_.substr(b, p_ - b));
    if (tok.empty()) return Err(std::string("unexpected '") + c + "' (expected a value)");
    v.text = tok;
    if (tok.size() >= 10 && std::isdigit(static_cast<unsigned char>(tok[0])) &&
        (tok[4] == '-' || tok[2] == ':')) {
      v.type = TomlValue::Type::kDateTime;
      return v;
    }
    if (tok.size() >= 8 && tok[2] == ':') {
      v.type = TomlValue::Type::kDateTime;
      return v;
    }
    std::string body = tok;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) body = body.substr(1);
    if (body == "inf" || body == "nan") {
      v.type = TomlValue::Type::kFloat;
      return v;
    }
    bool prefixed = body.size() > 2 && body[0] == '0' &&
                    (body[1] == 'x' || body[1] == 'o' || body[1] == 'b');
    bool is_float = !prefixed && body.find_first_of(".eE") != std::string::npos;
    for (size_t i = 0; i < body.size(); ++i) {
      char ch = body[i];
      bool ok = std::isdigit(static_cast<unsigned char>(ch)) || ch == '_' ||
                (prefixed && (i == 1 || std::isxdigit(static_cast<unsigned char>(ch)))) ||
                (is_float && (ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-'));
      if (!ok || body.empty()) return Err("invalid value '" + tok + "'");
    }
    v.type = is_float ? TomlValue::Type::kFloat : TomlValue::Type::kInteger;
    return v;
  }

  Result<TomlValue> Array() {
    TomlValue v;
    v.type = TomlValue::Type::kArray;
    v.line = line_;
    ++p_;  // '['
    while (true) {
      SkipWsCommentsNewlines();
      if (p_ >= s_.size()) return ErrAt(v.line, "unterminated array");
      if (s_[p_] == ']') {
        ++p_;
        return v;
      }
      FERRY_ASSIGN_OR_RETURN(TomlValue item, Value());
      v.array.push_back(std::move(item));
      SkipWsCommentsNewlines();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (p_ < s_.size() && s_[p_] == ']') {
        ++p_;
        return v;
      }
      if (p_ >= s_.size()) return ErrAt(v.line, "unterminated array");
      return Err(std::string("expected ',' or ']' in array, found '") + s_[p_] + "'");
    }
  }

  Result<TomlValue> InlineTable() {
    TomlValue v;
    v.type = TomlValue::Type::kTable;
    v.inline_table = true;
    v.line = line_;
    ++p_;  // '{'
    SkipWs();
    if (p_ < s_.size() && s_[p_] == '}') {
      ++p_;
      return v;
    }
    while (true) {
      SkipWs();
      FERRY_RETURN_IF_ERROR(KeyValue(v));
      SkipWs();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      if (p_ < s_.size() && s_[p_] == '}') {
        ++p_;
        break;
      }
      return Err("expected ',' or '}' in inline table");
    }
    return v;
  }

  std::string_view s_;
  std::string_view filename_;
  size_t p_ = 0;
  int line_ = 1;
};

}  // namespace

Result<TomlValue> ParseToml(std::string_view bytes, std::string_view filename) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  return Parser(bytes, filename).Run();
}

}  // namespace ferry::inputs
