// Compiling a Sieve script: parse (parser.h), then check every command and
// test against its signature (arguments, tags and their values, tests,
// blocks, position rules such as `require` first and `elsif` after `if`),
// that each extension it uses was `require`d and is supported, and the
// static parts the RFCs ask to be refused at compile time (an unknown
// comparator, a bad :regex, an invalid `set` modifier, a bad date part,
// `:count` with a non-numeric comparator...). Pure: no I/O; `include`d
// scripts are compiled when the interpreter loads them.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/ast.h"

namespace mailfort::sieve {

struct CompileError {
  Position pos;
  std::string message;  // "unknown command 'fileinot'", no position in the text
};

struct CompileOptions {
  std::size_t max_script_size = 1 << 20;  // bytes; larger texts are refused before parsing
  std::size_t max_nesting = 64;           // blocks and tests inside each other
  std::size_t max_errors = 20;            // stop reporting after this many
  // Extensions a script may require; empty = all of supported_extensions().
  std::vector<std::string> extensions;
};

struct CompiledScript {
  Script script;                      // codes filled in
  std::vector<std::string> warnings;  // not errors (e.g. an unknown :comparator under ihave)
};

struct CompileResult {
  std::shared_ptr<const CompiledScript> script;  // null when errors is not empty
  std::vector<CompileError> errors;
  bool ok() const { return script != nullptr; }
};

CompileResult compile(std::string_view text, const CompileOptions& options = {});

// Every extension this implementation supports, in the order ManageSieve's
// SIEVE capability and `ihave` name them: "fileinto", "reject", "ereject",
// "envelope", "encoded-character", "imap4flags", "body", "variables",
// "vacation", "vacation-seconds", "relational", "comparator-i;ascii-numeric",
// "subaddress", "copy", "date", "index", "editheader", "mailbox",
// "include", "duplicate", "spamtest", "spamtestplus", "virustest",
// "environment", "ihave", "regex".
const std::vector<std::string>& supported_extensions();

// "SCRIPT:line:column: message" lines, as `mailfort sieve check` prints them
// and ManageSieve's NO replies carry them ("line 3, column 5: ...").
std::string format_error(const std::string& script_name, const CompileError& e);

}  // namespace mailfort::sieve
