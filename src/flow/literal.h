// Evaluation of Python literal expressions from tokens (like ast.literal_eval): strings (with
// implicit concatenation), numbers, booleans, None, lists, tuples, sets, dicts, unary +/-.
// Anything else (names, calls, f-strings, comprehensions, operators) is an error whose message
// says why ("name 'LIBS' is not a literal"). Pure.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "src/flow/tokenizer.h"
#include "src/status.h"

namespace ferry::flow {

struct Literal {
  enum class Type { kNone, kBool, kInt, kFloat, kString, kBytes, kList, kTuple, kSet, kDict };
  Type type = Type::kNone;
  std::string text;  // kString/kBytes: decoded value; kInt/kFloat: source text ("-3", "3.10")
  bool boolean = false;
  std::vector<Literal> items;                         // list / tuple / set
  std::vector<Literal> keys;    // dict keys, in source order
  std::vector<Literal> values;  // dict values, values[i] belongs to keys[i]
  int line = 0;

  const char* TypeName() const;  // "str", "int", "list", ... (Python names)
};

// Evaluates the expression made of tokens[begin, end). On error returns kUser with only the
// reason (no file/line prefix; the caller adds context), e.g. "name 'LIBS' is not a literal".
Result<Literal> EvaluateLiteral(const std::vector<Token>& tokens, size_t begin, size_t end);

}  // namespace ferry::flow
