// A small TOML reader: enough of TOML 1.0 for pyproject.toml and ferry.toml.
// Supported: comments, bare/quoted/dotted keys, [tables], [[arrays of tables]], basic and literal
// strings (single- and multi-line, escapes incl. \uXXXX), integers (dec/hex/oct/bin, '_'),
// floats, booleans, dates/times (kept as text), arrays (multi-line, trailing commas, comments),
// inline tables. Redefining a key or table is an error. Pure: bytes in, tree out.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/status.h"

namespace ferry::inputs {

struct TomlMember;

struct TomlValue {
  enum class Type { kString, kInteger, kFloat, kBool, kDateTime, kArray, kTable };
  Type type = Type::kTable;
  std::string text;  // kString: decoded; kInteger/kFloat/kDateTime: source text; kBool: true/false
  bool boolean = false;
  std::vector<TomlValue> array;                          // kArray
  std::vector<TomlMember> table;  // kTable, in definition order
  int line = 0;                                          // where the value (or table) starts

  // Parser bookkeeping for TOML's table rules (kept in the value so it survives moves).
  bool defined_by_header = false;  // [a.b] named this table explicitly
  bool defined_by_dotted_key = false;  // created by a dotted key (a.b = 1)
  bool inline_table = false;       // { ... }: closed to later additions
  bool array_of_tables = false;    // created by [[a]]

  // Member lookup in a table; nullptr if absent or not a table.
  const TomlValue* Get(std::string_view key) const;
  // Nested lookup: Find({"project", "optional-dependencies"}).
  const TomlValue* Find(std::initializer_list<std::string_view> path) const;
  const char* TypeName() const;  // "string", "array", "table", ...
};

// One key of a table (a struct rather than std::pair so TomlValue can hold a vector of them
// while still incomplete).
struct TomlMember {
  std::string first;  // key
  TomlValue second;   // value
};

// Parses a TOML document into its root table. Errors (kUser) name the file and line:
// "pyproject.toml:7: expected '=' after key 'dependencies'", "pyproject.toml:3: duplicate key
// 'name'".
Result<TomlValue> ParseToml(std::string_view bytes, std::string_view filename);

}  // namespace ferry::inputs
