// PLACEHOLDER: replaced by the compiler helper.
#include "sieve/compile.h"

#include "sieve/parser.h"

namespace mailfort::sieve {

CompileResult compile(std::string_view text, const CompileOptions& options) {
  CompileResult r;
  auto parsed = parse(text, options.max_nesting);
  if (!parsed.errors.empty()) {
    r.errors = std::move(parsed.errors);
    return r;
  }
  auto c = std::make_shared<CompiledScript>();
  c->script = std::move(parsed.script);
  r.script = std::move(c);
  return r;
}

const std::vector<std::string>& supported_extensions() {
  static const std::vector<std::string> e{"fileinto",
                                          "reject",
                                          "ereject",
                                          "envelope",
                                          "encoded-character",
                                          "imap4flags",
                                          "body",
                                          "variables",
                                          "vacation",
                                          "vacation-seconds",
                                          "relational",
                                          "comparator-i;ascii-numeric",
                                          "subaddress",
                                          "copy",
                                          "date",
                                          "index",
                                          "editheader",
                                          "mailbox",
                                          "include",
                                          "duplicate",
                                          "spamtest",
                                          "spamtestplus",
                                          "virustest",
                                          "environment",
                                          "ihave",
                                          "regex"};
  return e;
}

std::string format_error(const std::string& script_name, const CompileError& e) {
  return script_name + ":" + std::to_string(e.pos.line) + ":" + std::to_string(e.pos.column) + ": " +
         e.message;
}

}  // namespace mailfort::sieve
