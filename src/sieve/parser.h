// The Sieve grammar (RFC 5228 sections 2 and 8): tokens (identifiers, tags,
// numbers with K/M/G, quoted strings with \" and \\, multi-line "text:"
// strings with dot-stuffing, bracket comments, hash comments) and the
// generic tree of commands, tests and blocks. Knows no command. Pure.
#pragma once
#include <string_view>
#include <vector>

#include "sieve/ast.h"
#include "sieve/compile.h"

namespace mailfort::sieve {

struct ParseResult {
  Script script;
  std::vector<CompileError> errors;  // empty = the tree is complete
};

// Strings are kept as written ("${hex:...}" is decoded by the compiler
// when the script requires "encoded-character").
ParseResult parse(std::string_view text, std::size_t max_nesting = 64);

}  // namespace mailfort::sieve
