#include "src/flow/tokenizer.h"
#include "src/utf8.h"

#include <cctype>
#include <cstdio>
#include <cstring>

namespace ferry::flow {

const char* TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kName: return "name";
    case TokenKind::kNumber: return "number";
    case TokenKind::kString: return "string";
    case TokenKind::kOp: return "operator";
    case TokenKind::kNewline: return "newline";
    case TokenKind::kIndent: return "indent";
    case TokenKind::kDedent: return "dedent";
    case TokenKind::kEnd: return "end of file";
  }
  return "?";
}

namespace {

bool IsIdentStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool IsIdentChar(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the escapes of a non-raw string body (Python semantics; \N{...} is kept verbatim).
std::string DecodeEscapes(std::string_view body, bool bytes) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    switch (e) {
      case '\n': break;  // line continuation inside a string
      case '\r':
        if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
        break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        if (i + 2 < body.size() + 0 && HexVal(body[i + 1]) >= 0 && HexVal(body[i + 2]) >= 0) {
          int v = HexVal(body[i + 1]) * 16 + HexVal(body[i + 2]);
          if (bytes) {
            out += static_cast<char>(v);
          } else {
            AppendUtf8(out, static_cast<uint32_t>(v));
          }
          i += 2;
        } else {
          out += "\\x";
        }
        break;
      }
      case 'u':
      case 'U': {
        size_t n = e == 'u' ? 4 : 8;
        if (bytes || i + n >= body.size() + 0) {
          out += '\\';
          out += e;
          break;
        }
        uint32_t cp = 0;
        bool ok = true;
        for (size_t k = 1; k <= n; ++k) {
          int h = HexVal(body[i + k]);
          if (h < 0) {
            ok = false;
            break;
          }
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (!ok || cp > 0x10FFFF) {
          out += '\\';
          out += e;
          break;
        }
        AppendUtf8(out, cp);
        i += n;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0';
          int digits = 1;
          while (digits < 3 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7') {
            v = v * 8 + (body[++i] - '0');
            ++digits;
          }
          if (bytes) {
            out += static_cast<char>(v & 0xFF);
          } else {
            AppendUtf8(out, static_cast<uint32_t>(v));
          }
        } else {
          out += '\\';  // unknown escapes are kept (Python keeps them too)
          out += e;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view src, std::string_view filename) : src_(src), filename_(filename) {}

  Result<std::vector<Token>> Run() {
    indents_.push_back(0);
    while (true) {
      if (at_line_start_ && brackets_.empty()) {
        FERRY_RETURN_IF_ERROR(HandleIndentation());
        if (pos_ >= src_.size()) break;
        continue;  // HandleIndentation may have consumed a blank line
      }
      if (pos_ >= src_.size()) break;
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\f') {
        Advance(1);
        continue;
      }
      if (c == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n' && src_[pos_] != '\r') Advance(1);
        continue;
      }
      if (c == '\r' || c == '\n') {
        ConsumeNewline();
        if (brackets_.empty()) {
          if (!tokens_.empty() && tokens_.back().kind != TokenKind::kNewline &&
              tokens_.back().kind != TokenKind::kIndent &&
              tokens_.back().kind != TokenKind::kDedent) {
            Emit(TokenKind::kNewline, "\n", line_ - 1, 0);
          }
          at_line_start_ = true;
        }
        continue;
      }
      if (c == '\\') {
        size_t next = pos_ + 1;
        if (next < src_.size() && (src_[next] == '\n' || src_[next] == '\r')) {
          Advance(1);
          ConsumeNewline();
          if (pos_ >= src_.size()) return Error(line_, "unexpected end of file after '\\'");
          continue;
        }
        return Error(line_, "unexpected character after line continuation character");
      }
      if (IsIdentStart(static_cast<unsigned char>(c))) {
        FERRY_RETURN_IF_ERROR(LexNameOrString());
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c)) ||
          (c == '.' && pos_ + 1 < src_.size() &&
           std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
        LexNumber();
        continue;
      }
      if (c == '"' || c == '\'') {
        FERRY_RETURN_IF_ERROR(LexString(pos_, ""));
        continue;
      }
      FERRY_RETURN_IF_ERROR(LexOp());
    }
    if (!brackets_.empty()) {
      return Error(brackets_.back().line,
                   std::string("'") + brackets_.back().ch + "' was never closed");
    }
    if (!tokens_.empty() && tokens_.back().kind != TokenKind::kNewline &&
        tokens_.back().kind != TokenKind::kDedent) {
      Emit(TokenKind::kNewline, "", line_, col_);
    }
    while (indents_.size() > 1) {
      indents_.pop_back();
      Emit(TokenKind::kDedent, "", line_, 0);
    }
    Emit(TokenKind::kEnd, "", line_, 0);
    return std::move(tokens_);
  }

 private:
  struct Bracket {
    char ch;
    int line;
  };

  Status Error(int line, const std::string& msg) const {
    return Status::User(std::string(filename_) + ":" + std::to_string(line) + ": " + msg);
  }

  void Advance(size_t n) {
    pos_ += n;
    col_ += static_cast<int>(n);
  }

  void ConsumeNewline() {
    if (src_[pos_] == '\r' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
    col_ = 0;
  }

  void Emit(TokenKind kind, std::string text, int line, int col) {
    Token t;
    t.kind = kind;
    t.value = text;
    t.text = std::move(text);
    t.line = line;
    t.col = col;
    tokens_.push_back(std::move(t));
  }

  // At the start of a logical line: measures indentation; blank and comment-only lines are
  // skipped entirely; emits INDENT/DEDENT.
  Status HandleIndentation() {
    int width = 0;
    size_t p = pos_;
    while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\f')) {
      if (src_[p] == ' ') {
        ++width;
      } else if (src_[p] == '\t') {
        width = (width / 8 + 1) * 8;
      } else {
        width = 0;
      }
      ++p;
    }
    Advance(p - pos_);
    if (pos_ >= src_.size()) return Status::Ok();
    char c = src_[pos_];
    if (c == '#' || c == '\n' || c == '\r') {
      while (pos_ < src_.size() && src_[pos_] != '\n' && src_[pos_] != '\r') Advance(1);
      if (pos_ < src_.size()) ConsumeNewline();
      return Status::Ok();  // still at line start
    }
    at_line_start_ = false;
    if (width > indents_.back()) {
      indents_.push_back(width);
      Emit(TokenKind::kIndent, "", line_, 0);
    } else {
      while (width < indents_.back()) {
        indents_.pop_back();
        Emit(TokenKind::kDedent, "", line_, 0);
      }
      if (width != indents_.back()) {
        return Error(line_, "unindent does not match any outer indentation level");
      }
    }
    return Status::Ok();
  }

  Status LexNameOrString() {
    size_t start = pos_;
    size_t p = pos_;
    while (p < src_.size() && IsIdentChar(static_cast<unsigned char>(src_[p]))) ++p;
    std::string_view word = src_.substr(start, p - start);
    if (p < src_.size() && (src_[p] == '\'' || src_[p] == '"') && word.size() <= 2) {
      std::string lower;
      for (char ch : word) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      static const char* kPrefixes[] = {"r", "u", "b", "f", "br", "rb", "fr", "rf"};
      for (const char* pre : kPrefixes) {
        if (lower == pre) return LexString(start, lower);
      }
    }
    Emit(TokenKind::kName, std::string(word), line_, col_);
    Advance(p - start);
    return Status::Ok();
  }

  void LexNumber() {
    size_t start = pos_;
    size_t p = pos_;
    bool hex = src_.size() > p + 1 && src_[p] == '0' && (src_[p + 1] == 'x' || src_[p + 1] == 'X');
    while (p < src_.size()) {
      char ch = src_[p];
      if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.') {
        ++p;
      } else if ((ch == '+' || ch == '-') && !hex && p > start &&
                 (src_[p - 1] == 'e' || src_[p - 1] == 'E')) {
        ++p;
      } else {
        break;
      }
    }
    Emit(TokenKind::kNumber, std::string(src_.substr(start, p - start)), line_, col_);
    Advance(p - start);
  }

  // Scans a string literal body starting at the opening quote `q_pos`. On success sets `*end` to
  // the position after the closing quote(s) and `*body` to the raw body. Counts newlines.
  Status ScanString(size_t q_pos, bool raw, bool fstring, size_t* end, std::string_view* body,
                    int start_line) {
    char q = src_[q_pos];
    bool triple = q_pos + 2 < src_.size() && src_[q_pos + 1] == q && src_[q_pos + 2] == q;
    size_t open_len = triple ? 3 : 1;
    size_t p = q_pos + open_len;
    size_t body_start = p;
    while (true) {
      if (p >= src_.size()) {
        return Error(start_line, triple ? "unterminated triple-quoted string literal"
                                        : "unterminated string literal");
      }
      char ch = src_[p];
      if (ch == '\\') {
        if (p + 1 < src_.size() && (src_[p + 1] == '\n' || src_[p + 1] == '\r')) {
          ++line_;
          if (src_[p + 1] == '\r' && p + 2 < src_.size() && src_[p + 2] == '\n') ++p;
        }
        p += 2;
        continue;
      }
      if (ch == '\n' || ch == '\r') {
        if (!triple) return Error(start_line, "unterminated string literal");
        if (ch == '\r' && p + 1 < src_.size() && src_[p + 1] == '\n') ++p;
        ++line_;
        ++p;
        continue;
      }
      if (fstring && ch == '{') {
        if (p + 1 < src_.size() && src_[p + 1] == '{') {
          p += 2;
          continue;
        }
        // Replacement field: skip the expression, including nested strings (PEP 701).
        int depth = 1;
        ++p;
        while (depth > 0) {
          if (p >= src_.size()) return Error(start_line, "unterminated f-string");
          char e = src_[p];
          if (e == '{') {
            ++depth;
            ++p;
          } else if (e == '}') {
            --depth;
            ++p;
          } else if (e == '\'' || e == '"') {
            size_t nested_end;
            std::string_view nested_body;
            FERRY_RETURN_IF_ERROR(
                ScanString(p, false, false, &nested_end, &nested_body, line_));
            p = nested_end;
          } else if (e == '\n') {
            if (!triple) return Error(start_line, "unterminated string literal");
            ++line_;
            ++p;
          } else {
            ++p;
          }
        }
        continue;
      }
      if (ch == q) {
        if (!triple) {
          *body = src_.substr(body_start, p - body_start);
          *end = p + 1;
          return Status::Ok();
        }
        if (p + 2 < src_.size() + 0 && src_[p + 1] == q && src_[p + 2] == q) {
          *body = src_.substr(body_start, p - body_start);
          *end = p + 3;
          return Status::Ok();
        }
      }
      ++p;
    }
  }

  Status LexString(size_t start, const std::string& prefix) {
    bool raw = prefix.find('r') != std::string::npos;
    bool bytes = prefix.find('b') != std::string::npos;
    bool fstring = prefix.find('f') != std::string::npos;
    size_t q_pos = start + prefix.size();
    int start_line = line_;
    int start_col = col_;
    size_t end;
    std::string_view body;
    FERRY_RETURN_IF_ERROR(ScanString(q_pos, raw, fstring, &end, &body, start_line));
    Token t;
    t.kind = TokenKind::kString;
    t.text = std::string(src_.substr(start, end - start));
    t.value = raw ? std::string(body) : DecodeEscapes(body, bytes);
    t.line = start_line;
    t.col = start_col;
    t.fstring = fstring;
    t.bytes = bytes;
    tokens_.push_back(std::move(t));
    // Column after a multi-line string: distance from the last newline.
    size_t last_nl = src_.substr(0, end).find_last_of('\n');
    pos_ = end;
    col_ = last_nl == std::string_view::npos || last_nl < start ? start_col + static_cast<int>(end - start)
                                                               : static_cast<int>(end - last_nl - 1);
    return Status::Ok();
  }

  Status LexOp() {
    static const char* kOps3[] = {"**=", "//=", ">>=", "<<=", "...", "!="};
    static const char* kOps2[] = {"->", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "+=",
                                  "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":="};
    std::string_view rest = src_.substr(pos_);
    for (const char* op : kOps3) {
      if (rest.substr(0, 3) == op) {
        Emit(TokenKind::kOp, op, line_, col_);
        Advance(3);
        return Status::Ok();
      }
    }
    for (const char* op : kOps2) {
      if (rest.substr(0, 2) == op) {
        Emit(TokenKind::kOp, op, line_, col_);
        Advance(2);
        return Status::Ok();
      }
    }
    char c = rest[0];
    if (std::strchr("()[]{},:.;@=+-*/%&|^~<>!", c) == nullptr || c == '\0') {
      std::string shown = std::isprint(static_cast<unsigned char>(c))
                              ? std::string(1, c)
                              : "\\x" + std::string(1, "0123456789abcdef"[(c >> 4) & 0xF]) +
                                    "0123456789abcdef"[c & 0xF];
      return Error(line_, "invalid character '" + shown + "'");
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets_.push_back({c, line_});
    } else if (c == ')' || c == ']' || c == '}') {
      char open = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (brackets_.empty()) return Error(line_, std::string("unmatched '") + c + "'");
      if (brackets_.back().ch != open) {
        return Error(line_, std::string("closing parenthesis '") + c +
                                "' does not match opening parenthesis '" + brackets_.back().ch +
                                "' on line " + std::to_string(brackets_.back().line));
      }
      brackets_.pop_back();
    }
    Emit(TokenKind::kOp, std::string(1, c), line_, col_);
    Advance(1);
    return Status::Ok();
  }

  std::string_view src_;
  std::string_view filename_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 0;
  bool at_line_start_ = true;
  std::vector<int> indents_;
  std::vector<Bracket> brackets_;
  std::vector<Token> tokens_;
};

}  // namespace

Status CheckUtf8(std::string_view bytes, std::string_view filename) {
  size_t i = 0;
  int line = 1;
  while (i < bytes.size()) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if (c == '\n') ++line;
      ++i;
      continue;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    bool ok = n != 0 && c <= 0xF4 && c >= 0xC2 && i + n <= bytes.size();
    uint32_t cp = ok ? (c & (0xFF >> (n + 1))) : 0;
    for (size_t k = 1; ok && k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(bytes[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      ok = !((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
             (cp >= 0xD800 && cp <= 0xDFFF));
    }
    if (!ok) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      return Status::User(std::string(filename) + ":" + std::to_string(line) +
                          ": not valid UTF-8 (byte " + hex + ")");
    }
    i += n;
  }
  return Status::Ok();
}

Result<std::vector<Token>> Tokenize(std::string_view source, std::string_view filename) {
  FERRY_RETURN_IF_ERROR(CheckUtf8(source, filename));
  // Skip a UTF-8 byte order mark.
  if (source.substr(0, 3) == "\xEF\xBB\xBF") source.remove_prefix(3);
  return Lexer(source, filename).Run();
}

}  // namespace ferry::flow
