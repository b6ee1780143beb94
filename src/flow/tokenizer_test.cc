#include "src/flow/tokenizer.h"

#include <catch2/catch.hpp>

#include "src/flow/literal.h"

using namespace ferry;
using namespace ferry::flow;

namespace {

std::vector<Token> Lex(std::string_view src) {
  auto r = Tokenize(src, "t.py");
  INFO(r.status().message());
  REQUIRE(r.ok());
  return r.value();
}

std::vector<Token> Strings(const std::vector<Token>& toks) {
  std::vector<Token> out;
  for (const auto& t : toks)
    if (t.kind == TokenKind::kString) out.push_back(t);
  return out;
}

std::string Kinds(const std::vector<Token>& toks) {
  std::string s;
  for (const auto& t : toks) {
    switch (t.kind) {
      case TokenKind::kName: s += "N"; break;
      case TokenKind::kNumber: s += "#"; break;
      case TokenKind::kString: s += "S"; break;
      case TokenKind::kOp: s += t.text; break;
      case TokenKind::kNewline: s += ";"; break;
      case TokenKind::kIndent: s += ">"; break;
      case TokenKind::kDedent: s += "<"; break;
      case TokenKind::kEnd: s += "$"; break;
    }
  }
  return s;
}

}  // namespace

TEST_CASE("tokenizer: string forms and their decoded values") {
  auto s = Strings(Lex(
      "a = 'x\\ty'\n"
      "b = \"q\\\"q\"\n"
      "c = r'C:\\new\\dir'\n"
      "d = b'\\x41\\x42'\n"
      "e = '''multi\n'line'\n'''\n"
      "f = R\"raw\\d\"\n"
      "g = f'{x}'\n"
      "h = Rb'\\n'\n"
      "i = u'\\u00e9'\n"
      "j = \"\"\"has \"\" quotes\"\"\"\n"));
  REQUIRE(s.size() == 10);
  CHECK(s[0].value == "x\ty");
  CHECK(s[1].value == "q\"q");
  CHECK(s[2].value == "C:\\new\\dir");
  CHECK(s[3].value == "AB");
  CHECK(s[3].bytes);
  CHECK(s[4].value == "multi\n'line'\n");
  CHECK(s[4].line == 5);
  CHECK(s[5].value == "raw\\d");
  CHECK(s[6].fstring);
  CHECK(s[7].bytes);
  CHECK(s[7].value == "\\n");
  CHECK(s[8].value == "\xc3\xa9");
  CHECK(s[9].value == "has \"\" quotes");
}

TEST_CASE("tokenizer: line numbers after triple-quoted strings and continuations") {
  auto toks = Lex("x = '''a\nb\nc'''\ny = 1 + \\\n    2\nz = 3\n");
  int z_line = 0, two_line = 0;
  for (const auto& t : toks) {
    if (t.kind == TokenKind::kName && t.text == "z") z_line = t.line;
    if (t.kind == TokenKind::kNumber && t.text == "2") two_line = t.line;
  }
  CHECK(two_line == 5);
  CHECK(z_line == 6);
  // the continuation does not end the statement: exactly 3 NEWLINEs
  int newlines = 0;
  for (const auto& t : toks) newlines += t.kind == TokenKind::kNewline;
  CHECK(newlines == 3);
}

TEST_CASE("tokenizer: newlines inside brackets are not statement ends") {
  auto toks = Lex("f(a,\n  [1,\n   2],\n  {'k':\n 3})\nx\n");
  CHECK(Kinds(toks) == "N(N,[#,#],{S:#});N;$");
}

TEST_CASE("tokenizer: indentation, comments and blank lines") {
  auto toks = Lex(
      "class A:\n"
      "    # comment at another indent\n"
      "\n"
      "        # deeper comment\n"
      "    def f(self):\n"
      "        pass\n"
      "\n"
      "    x = 1  # trailing\n"
      "y = 2\n");
  CHECK(Kinds(toks) == "NN:;>NN(N):;>N;<N=#;<N=#;$");
}

TEST_CASE("tokenizer: tabs count to the next multiple of 8") {
  auto toks = Lex("if x:\n\tif y:\n\t\tz\n\tw\n");
  CHECK(Kinds(toks) == "NN:;>NN:;>N;<N;<$");
}

TEST_CASE("tokenizer: comments and strings hide '@conda(' text") {
  auto toks = Lex("# @conda(libraries={'x': '1'})\ns = \"@conda(python='2.7')\"\n");
  int at = 0;
  for (const auto& t : toks) at += t.kind == TokenKind::kOp && t.text == "@";
  CHECK(at == 0);
}

TEST_CASE("tokenizer: f-strings with nested quotes (PEP 701) and doubled braces") {
  auto s = Strings(Lex("a = f\"{d[\"k\"]} {{lit}} {x!r:>{w}}\"\nb = 'after'\n"));
  REQUIRE(s.size() == 2);
  CHECK(s[0].fstring);
  CHECK(s[1].value == "after");
}

TEST_CASE("tokenizer: numbers keep their source text") {
  auto toks = Lex("x = (1_000, 0x1F, 3.10, 1e-3, .5)\n");
  std::vector<std::string> nums;
  for (const auto& t : toks)
    if (t.kind == TokenKind::kNumber) nums.push_back(t.text);
  CHECK(nums == std::vector<std::string>{"1_000", "0x1F", "3.10", "1e-3", ".5"});
}

TEST_CASE("tokenizer: CRLF line endings and a BOM") {
  auto toks = Lex("\xEF\xBB\xBFx = 1\r\nif x:\r\n    y = '''a\r\nb'''\r\nz\r\n");
  CHECK(Kinds(toks) == "N=#;NN:;>N=S;<N;$");
}

TEST_CASE("tokenizer: errors name file and line") {
  auto r1 = Tokenize("x = 1\ny = 'abc\n", "flow.py");
  REQUIRE_FALSE(r1.ok());
  CHECK(r1.status().message() == "flow.py:2: unterminated string literal");
  auto r2 = Tokenize("x = '''abc\n\n", "flow.py");
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.status().message() == "flow.py:1: unterminated triple-quoted string literal");
  auto r3 = Tokenize("f(a,\n  b\n", "flow.py");
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.status().message() == "flow.py:1: '(' was never closed");
  auto r4 = Tokenize("x = [1, 2)\n", "flow.py");
  REQUIRE_FALSE(r4.ok());
  CHECK(r4.status().message() ==
        "flow.py:1: closing parenthesis ')' does not match opening parenthesis '[' on line 1");
  auto r5 = Tokenize("if x:\n    a\n  b\n", "flow.py");
  REQUIRE_FALSE(r5.ok());
  CHECK(r5.status().message() == "flow.py:3: unindent does not match any outer indentation level");
  auto r6 = Tokenize("x = 1 \\ y\n", "flow.py");
  REQUIRE_FALSE(r6.ok());
  CHECK(r6.status().code() == Code::kUser);
}

namespace {
Result<Literal> Eval(std::string_view expr) {
  auto toks = Tokenize(expr, "e.py");
  REQUIRE(toks.ok());
  // drop trailing NEWLINE/END
  size_t end = toks->size();
  while (end > 0 && ((*toks)[end - 1].kind == TokenKind::kEnd ||
                     (*toks)[end - 1].kind == TokenKind::kNewline))
    --end;
  return EvaluateLiteral(*toks, 0, end);
}
}  // namespace

TEST_CASE("literal: containers, implicit concatenation, unary minus") {
  auto v = Eval("{'numpy': '1.26' '.4', \"pandas\": \"\", 'x': (1, -2.5, None, True), 's': {1}}");
  REQUIRE(v.ok());
  REQUIRE(v->type == Literal::Type::kDict);
  REQUIRE(v->keys.size() == 4);
  CHECK(v->values[0].text == "1.26.4");
  CHECK(v->values[1].text.empty());
  const Literal& t = v->values[2];
  REQUIRE(t.type == Literal::Type::kTuple);
  CHECK(t.items[1].text == "-2.5");
  CHECK(t.items[2].type == Literal::Type::kNone);
  CHECK(t.items[3].boolean);
  CHECK(v->values[3].type == Literal::Type::kSet);
  auto paren = Eval("('a')");
  REQUIRE(paren.ok());
  CHECK(paren->type == Literal::Type::kString);
  auto one = Eval("('a',)");
  REQUIRE(one.ok());
  CHECK(one->type == Literal::Type::kTuple);
  auto trailing = Eval("[\n 'a',\n 'b',\n]");
  REQUIRE(trailing.ok());
  CHECK(trailing->items.size() == 2);
}

TEST_CASE("literal: non-literals are explained") {
  CHECK(Eval("LIBS").status().message() == "name 'LIBS' is not a literal");
  CHECK(Eval("dict(a=1)").status().message() == "call to 'dict' is not a literal");
  CHECK(Eval("f'{v}'").status().message() == "f-strings are not literals");
  CHECK(Eval("'a' f'{v}'").status().message() == "f-strings are not literals");
  CHECK(Eval("[x for x in y]").status().message() == "comprehensions are not literals");
  CHECK(Eval("{k: v for k, v in y}").status().message() == "comprehensions are not literals");
  CHECK(Eval("'a' + 'b'").status().message() == "operator '+' is not allowed in a literal");
  CHECK(Eval("{**base}").status().message() == "dict unpacking ('**') is not a literal");
  CHECK(Eval("-'x'").status().message() == "bad operand type for unary -: 'str'");
  CHECK(Eval("b'a' 'b'").status().message() == "cannot mix bytes and nonbytes literals");
  CHECK(Eval("{'a': VERSION}").status().message() == "name 'VERSION' is not a literal");
}

TEST_CASE("tokenizer: input must be UTF-8") {
  CHECK(CheckUtf8("caf\xc3\xa9 \xf0\x9f\x9a\xa2", "f.py").ok());
  auto bad = Tokenize("x = 1\ns = '\xcd'\n", "flow.py");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "flow.py:2: not valid UTF-8 (byte 0xCD)");
  CHECK_FALSE(CheckUtf8("\xc0\xaf", "f").ok());          // overlong
  CHECK_FALSE(CheckUtf8("\xed\xa0\x80", "f").ok());      // surrogate
  CHECK_FALSE(CheckUtf8("\xf4\x90\x80\x80", "f").ok());  // > U+10FFFF
  CHECK_FALSE(CheckUtf8("\xe2\x82", "f").ok());          // truncated
}
