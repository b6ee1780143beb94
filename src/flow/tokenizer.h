// A tokenizer for the subset of Python that a static flow reader needs (SPEC.md §4).
//
// It follows the Python 3 lexical rules closely enough to never be fooled by source text:
// all string forms (single/double quotes, triple-quoted, prefixes r/b/u/f/rb/br/fr/rf in any case,
// escapes decoded for non-raw strings), comments, backslash line continuations, newlines inside
// brackets (not statement ends), and INDENT/DEDENT tokens for block structure. Numbers are kept as
// their source text. f-strings are returned as kString with `fstring` set (never evaluated).
// Pure: bytes in, tokens out; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::flow {

enum class TokenKind {
  kName,      // identifiers and keywords (def, class, import, True, None, ...)
  kNumber,    // source text: 1, 1_000, 0x1f, 3.11, 1e-3, 2j
  kString,    // one string literal; `value` is the decoded content
  kOp,        // operators and punctuation: ( ) [ ] { } , : . = @ -> ** ...
  kNewline,   // end of a logical line (never emitted inside brackets)
  kIndent,    // the next logical line is indented deeper than the previous level
  kDedent,    // one indentation level closed
  kEnd,       // end of input (after closing NEWLINE and DEDENTs)
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;   // source text (for strings: the whole literal including prefix/quotes)
  std::string value;  // kString: decoded content (raw strings verbatim); otherwise == text
  int line = 0;       // 1-based line of the first character
  int col = 0;        // 0-based column of the first character
  bool fstring = false;  // kString: an f-string (not a literal)
  bool bytes = false;    // kString: a bytes literal b'...'
};

// Tokenizes `source`. Errors (kUser) name the file and line: "flow.py:7: unterminated string",
// "flow.py:3: unmatched ')'", "flow.py:9: unindent does not match any outer indentation level".
// Tabs advance the indentation column to the next multiple of 8 (as CPython does).
Result<std::vector<Token>> Tokenize(std::string_view source, std::string_view filename);

const char* TokenKindName(TokenKind kind);

// Ok if `bytes` is valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF); else
// kUser "<filename>:<line>: not valid UTF-8 (byte 0xCD)". Inputs are checked with it before
// their text reaches JSON (req-ids, the lock), which requires valid UTF-8.
Status CheckUtf8(std::string_view bytes, std::string_view filename);

}  // namespace ferry::flow
