// The argument signature of every Sieve command and test: which tagged
// arguments it takes (and what follows each tag), which tags exclude each
// other (one match type, one address part, one comparator ...), and the
// number and types of its positional arguments (RFC 5228 section 2.6 and
// each extension's grammar). The compiler runs this on every node so a
// script with a misplaced or missing argument is refused when it is
// stored, not when mail arrives.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/ast.h"

namespace mailfort::sieve {

struct SignatureIssue {
  Position pos;
  std::string message;
  bool warning = false;  // reported, but the script still compiles
};

// Whether the script `require`d an extension.
using HasExtension = std::function<bool(std::string_view)>;

// Checks `args` of the command or test `name` (lower-cased, known to the
// compiler, written at `where`) and appends what is wrong to `out`.
void check_signature(const std::string& name, bool is_test, Position where, const std::vector<Argument>& args,
                     const HasExtension& has, std::vector<SignatureIssue>& out);

// RFC 5322 section 3.6.8: printable US-ASCII except ':', at least one.
bool is_field_name(std::string_view s);

// RFC 5229 section 3: identifier ("_" / ALPHA then "_" / ALPHA / DIGIT),
// or namespace components joined by "." (RFC 6609's "global.name").
bool is_variable_name(std::string_view s);

}  // namespace mailfort::sieve
