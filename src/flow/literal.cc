#include "src/flow/literal.h"

namespace ferry::flow {

const char* Literal::TypeName() const {
  switch (type) {
    case Type::kNone: return "None";
    case Type::kBool: return "bool";
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kString: return "str";
    case Type::kBytes: return "bytes";
    case Type::kList: return "list";
    case Type::kTuple: return "tuple";
    case Type::kSet: return "set";
    case Type::kDict: return "dict";
  }
  return "?";
}

namespace {

class Evaluator {
 public:
  Evaluator(const std::vector<Token>& toks, size_t begin, size_t end)
      : toks_(toks), pos_(begin), end_(end) {}

  Result<Literal> Run() {
    if (pos_ >= end_) return Status::User("empty expression");
    FERRY_ASSIGN_OR_RETURN(Literal v, Expr());
    if (pos_ < end_) return Trailing();
    return v;
  }

 private:
  bool AtOp(const char* op) const {
    return pos_ < end_ && toks_[pos_].kind == TokenKind::kOp && toks_[pos_].text == op;
  }
  bool AtName(const char* name) const {
    return pos_ < end_ && toks_[pos_].kind == TokenKind::kName && toks_[pos_].text == name;
  }

  // Explains why the token after a complete literal makes the expression non-literal.
  Status Trailing() const {
    const Token& t = toks_[pos_];
    if (t.kind == TokenKind::kName && (t.text == "for" || t.text == "async")) {
      return Status::User("comprehensions are not literals");
    }
    if (t.kind == TokenKind::kName && t.text == "if") {
      return Status::User("conditional expressions are not literals");
    }
    if (t.kind == TokenKind::kOp && (t.text == "(" || t.text == "[" || t.text == ".")) {
      return Status::User("calls, subscripts and attributes are not literals");
    }
    if (t.kind == TokenKind::kOp) {
      return Status::User("operator '" + t.text + "' is not allowed in a literal");
    }
    return Status::User("unexpected " + std::string(TokenKindName(t.kind)) + " '" + t.text +
                        "' in a literal");
  }

  Result<Literal> Expr() {
    if (pos_ >= end_) return Status::User("unexpected end of expression");
    if (AtOp("-") || AtOp("+")) {
      bool neg = toks_[pos_].text == "-";
      ++pos_;
      FERRY_ASSIGN_OR_RETURN(Literal v, Expr());
      if (v.type != Literal::Type::kInt && v.type != Literal::Type::kFloat) {
        return Status::User(std::string("bad operand type for unary ") + (neg ? "-" : "+") +
                            ": '" + v.TypeName() + "'");
      }
      if (neg) v.text = v.text.rfind('-', 0) == 0 ? v.text.substr(1) : "-" + v.text;
      return v;
    }
    const Token& t = toks_[pos_];
    Literal v;
    v.line = t.line;
    switch (t.kind) {
      case TokenKind::kString: {
        bool bytes = t.bytes;
        v.type = bytes ? Literal::Type::kBytes : Literal::Type::kString;
        while (pos_ < end_ && toks_[pos_].kind == TokenKind::kString) {
          const Token& s = toks_[pos_];
          if (s.fstring) return Status::User("f-strings are not literals");
          if (s.bytes != bytes) return Status::User("cannot mix bytes and nonbytes literals");
          v.text += s.value;
          ++pos_;
        }
        return v;
      }
      case TokenKind::kNumber: {
        const std::string& s = t.text;
        bool is_float = false;
        bool hex = s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' ||
                                                   s[1] == 'O' || s[1] == 'b' || s[1] == 'B');
        for (char c : s) {
          if (c == '.' || (!hex && (c == 'e' || c == 'E'))) is_float = true;
          if (c == 'j' || c == 'J') return Status::User("complex numbers are not supported");
        }
        v.type = is_float ? Literal::Type::kFloat : Literal::Type::kInt;
        v.text = s;
        ++pos_;
        return v;
      }
      case TokenKind::kName: {
        if (t.text == "True" || t.text == "False") {
          v.type = Literal::Type::kBool;
          v.boolean = t.text == "True";
          ++pos_;
          return v;
        }
        if (t.text == "None") {
          ++pos_;
          return v;
        }
        if (t.text == "lambda") return Status::User("lambdas are not literals");
        if (pos_ + 1 < end_ && toks_[pos_ + 1].kind == TokenKind::kOp &&
            toks_[pos_ + 1].text == "(") {
          return Status::User("call to '" + t.text + "' is not a literal");
        }
        return Status::User("name '" + t.text + "' is not a literal");
      }
      case TokenKind::kOp: {
        if (t.text == "[") return Sequence("]", Literal::Type::kList);
        if (t.text == "(") return Sequence(")", Literal::Type::kTuple);
        if (t.text == "{") return Braces();
        if (t.text == "*" || t.text == "**") {
          return Status::User("unpacking ('" + t.text + "') is not a literal");
        }
        return Status::User("unexpected '" + t.text + "' in a literal");
      }
      default:
        return Status::User(std::string("unexpected ") + TokenKindName(t.kind) + " in a literal");
    }
  }

  // After an element inside brackets: ',' or the closer, else explain.
  Status ExpectSeparator(const char* close) {
    if (AtOp(",") || AtOp(close)) return Status::Ok();
    if (pos_ >= end_) return Status::User(std::string("expected '") + close + "'");
    return Trailing();
  }

  Result<Literal> Sequence(const char* close, Literal::Type type) {
    Literal v;
    v.type = type;
    v.line = toks_[pos_].line;
    ++pos_;  // opener
    bool saw_comma = false;
    while (!AtOp(close)) {
      if (pos_ >= end_) return Status::User(std::string("expected '") + close + "'");
      FERRY_ASSIGN_OR_RETURN(Literal item, Expr());
      v.items.push_back(std::move(item));
      FERRY_RETURN_IF_ERROR(ExpectSeparator(close));
      if (AtOp(",")) {
        saw_comma = true;
        ++pos_;
      }
    }
    ++pos_;  // closer
    if (type == Literal::Type::kTuple && v.items.size() == 1 && !saw_comma) {
      Literal inner = std::move(v.items[0]);  // parenthesized expression, not a tuple
      return inner;
    }
    return v;
  }

  Result<Literal> Braces() {
    Literal v;
    v.line = toks_[pos_].line;
    ++pos_;  // '{'
    if (AtOp("}")) {
      ++pos_;
      v.type = Literal::Type::kDict;
      return v;
    }
    if (AtOp("**")) return Status::User("dict unpacking ('**') is not a literal");
    FERRY_ASSIGN_OR_RETURN(Literal first, Expr());
    if (AtOp(":")) {
      v.type = Literal::Type::kDict;
      ++pos_;
      FERRY_ASSIGN_OR_RETURN(Literal value, Expr());
      v.keys.push_back(std::move(first));
      v.values.push_back(std::move(value));
      FERRY_RETURN_IF_ERROR(ExpectSeparator("}"));
      while (AtOp(",")) {
        ++pos_;
        if (AtOp("}")) break;
        if (AtOp("**")) return Status::User("dict unpacking ('**') is not a literal");
        FERRY_ASSIGN_OR_RETURN(Literal k, Expr());
        if (!AtOp(":")) {
          if (pos_ >= end_) return Status::User("expected ':'");
          return Trailing();
        }
        ++pos_;
        FERRY_ASSIGN_OR_RETURN(Literal val, Expr());
        v.keys.push_back(std::move(k));
        v.values.push_back(std::move(val));
        FERRY_RETURN_IF_ERROR(ExpectSeparator("}"));
      }
    } else {
      v.type = Literal::Type::kSet;
      v.items.push_back(std::move(first));
      FERRY_RETURN_IF_ERROR(ExpectSeparator("}"));
      while (AtOp(",")) {
        ++pos_;
        if (AtOp("}")) break;
        FERRY_ASSIGN_OR_RETURN(Literal item, Expr());
        v.items.push_back(std::move(item));
        FERRY_RETURN_IF_ERROR(ExpectSeparator("}"));
      }
    }
    if (!AtOp("}")) return Status::User("expected '}'");
    ++pos_;
    return v;
  }

  const std::vector<Token>& toks_;
  size_t pos_;
  size_t end_;
};

}  // namespace

Result<Literal> EvaluateLiteral(const std::vector<Token>& tokens, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    if (tokens[i].kind == TokenKind::kName && tokens[i].text == "for") {
      return Status::User("comprehensions are not literals");
    }
  }
  return Evaluator(tokens, begin, end).Run();
}

}  // namespace ferry::flow
