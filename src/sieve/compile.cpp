// Compiling a Sieve script: parse, then check each command and test against
// a table of names (-> code, the extension that provides it, whether it
// takes a block or tests), its arguments against its signature
// (signature.h), and the static values (comparators, relational operators, :regex
// keys). Decodes encoded-character and marks strings for variable
// expansion.
#include "sieve/compile.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "base/text.h"
#include "sieve/match.h"
#include "sieve/parser.h"
#include "sieve/signature.h"

namespace mailfort::sieve {
namespace {

struct CommandInfo {
  const char* name;
  CommandCode code;
  const char* extension;  // nullptr: base language
  bool takes_test;
  bool takes_block;
};

const CommandInfo kCommands[] = {
    {"require", CommandCode::Require, nullptr, false, false},
    {"if", CommandCode::If, nullptr, true, true},
    {"elsif", CommandCode::ElsIf, nullptr, true, true},
    {"else", CommandCode::Else, nullptr, false, true},
    {"stop", CommandCode::Stop, nullptr, false, false},
    {"keep", CommandCode::Keep, nullptr, false, false},
    {"discard", CommandCode::Discard, nullptr, false, false},
    {"redirect", CommandCode::Redirect, nullptr, false, false},
    {"fileinto", CommandCode::FileInto, "fileinto", false, false},
    {"reject", CommandCode::Reject, "reject", false, false},
    {"ereject", CommandCode::EReject, "ereject", false, false},
    {"setflag", CommandCode::SetFlag, "imap4flags", false, false},
    {"addflag", CommandCode::AddFlag, "imap4flags", false, false},
    {"removeflag", CommandCode::RemoveFlag, "imap4flags", false, false},
    {"set", CommandCode::Set, "variables", false, false},
    {"vacation", CommandCode::Vacation, "vacation", false, false},
    {"addheader", CommandCode::AddHeader, "editheader", false, false},
    {"deleteheader", CommandCode::DeleteHeader, "editheader", false, false},
    {"include", CommandCode::Include, "include", false, false},
    {"return", CommandCode::Return, "include", false, false},
    {"global", CommandCode::Global, "include", false, false},
    {"error", CommandCode::Error, "ihave", false, false},
};

struct TestInfo {
  const char* name;
  TestCode code;
  const char* extension;
  int subtests;  // 0 none, 1 exactly one, -1 a list
};

const TestInfo kTests[] = {
    {"allof", TestCode::AllOf, nullptr, -1},
    {"anyof", TestCode::AnyOf, nullptr, -1},
    {"not", TestCode::Not, nullptr, 1},
    {"true", TestCode::True, nullptr, 0},
    {"false", TestCode::False, nullptr, 0},
    {"address", TestCode::Address, nullptr, 0},
    {"envelope", TestCode::Envelope, "envelope", 0},
    {"header", TestCode::Header, nullptr, 0},
    {"exists", TestCode::Exists, nullptr, 0},
    {"size", TestCode::Size, nullptr, 0},
    {"body", TestCode::Body, "body", 0},
    {"date", TestCode::Date, "date", 0},
    {"currentdate", TestCode::CurrentDate, "date", 0},
    {"string", TestCode::String, "variables", 0},
    {"hasflag", TestCode::HasFlag, "imap4flags", 0},
    {"mailboxexists", TestCode::MailboxExists, "mailbox", 0},
    {"duplicate", TestCode::Duplicate, "duplicate", 0},
    {"spamtest", TestCode::SpamTest, "spamtest", 0},
    {"virustest", TestCode::VirusTest, "virustest", 0},
    {"environment", TestCode::Environment, "environment", 0},
    {"ihave", TestCode::Ihave, "ihave", 0},
};

// RFC 5231 section 5; checked here so the compiler does not depend on
// the matcher for a fixed list.
bool is_relop(std::string_view s) {
  if (s.size() != 2) return false;
  std::string l{static_cast<char>(std::tolower(static_cast<unsigned char>(s[0]))),
                static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])))};
  return l == "gt" || l == "ge" || l == "lt" || l == "le" || l == "eq" || l == "ne";
}

// "${hex:...}" / "${unicode:...}" (RFC 5228 section 2.4.2.4); a sequence
// that is not valid is left as written.
bool decode_encoded(std::string_view body, bool unicode, std::string& out) {
  std::string res;
  std::size_t i = 0;
  auto ws = [&] {
    while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) ++i;
  };
  ws();
  bool any = false;
  while (i < body.size()) {
    std::size_t start = i;
    uint64_t v = 0;
    while (i < body.size() && hex_value(body[i]) >= 0) {
      v = v * 16 + static_cast<unsigned>(hex_value(body[i]));
      if (v > 0x10FFFF && unicode) return false;
      if (!unicode && i - start >= 2) return false;
      ++i;
    }
    if (i == start) return false;
    if (unicode) {
      if (v >= 0xD800 && v <= 0xDFFF) return false;
      append_utf8(res, static_cast<char32_t>(v));
    } else {
      res += static_cast<char>(v);
    }
    any = true;
    std::size_t before = i;
    ws();
    if (i < body.size() && i == before) return false;
  }
  (void)any;
  out += res;
  return true;
}

std::string decode_string(const std::string& s) {
  if (s.find("${") == std::string::npos) return s;
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "${") == 0) {
      std::size_t close = s.find('}', i + 2);
      if (close != std::string::npos) {
        std::string_view inner(s.data() + i + 2, close - i - 2);
        std::size_t colon = inner.find(':');
        if (colon != std::string_view::npos) {
          std::string kind(inner.substr(0, colon));
          for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if ((kind == "hex" || kind == "unicode") &&
              decode_encoded(inner.substr(colon + 1), kind == "unicode", out)) {
            i = close + 1;
            continue;
          }
        }
      }
    }
    out += s[i++];
  }
  return out;
}

class Compiler {
 public:
  Compiler(const CompileOptions& o) : opts_(o) {}

  void run(Script& s) {
    bool requires_allowed = true;
    commands(s.commands, requires_allowed, false);
    s.requires_ = required_;
  }

  std::vector<CompileError> errors;
  std::vector<std::string> warnings;

 private:
  bool has(std::string_view ext) const {
    return std::find(required_.begin(), required_.end(), ext) != required_.end();
  }
  bool supported(const std::string& ext) const {
    const auto& list = opts_.extensions.empty() ? supported_extensions() : opts_.extensions;
    return std::find(list.begin(), list.end(), ext) != list.end();
  }
  void error(Position p, std::string msg) {
    if (errors.size() < opts_.max_errors) errors.push_back({p, std::move(msg)});
  }

  void commands(std::vector<Command>& cmds, bool& requires_allowed, bool unchecked) {
    CommandCode prev = CommandCode::Unknown;
    for (auto& c : cmds) {
      command(c, requires_allowed, prev, unchecked);
      prev = c.code;
    }
  }

  void command(Command& c, bool& requires_allowed, CommandCode prev, bool unchecked) {
    const CommandInfo* info = nullptr;
    for (const auto& ci : kCommands)
      if (c.name == ci.name) info = &ci;
    if (info == nullptr) {
      if (!unchecked) error(c.pos, "unknown command '" + c.name + "'");
      requires_allowed = false;
      return;
    }
    c.code = info->code;
    if (c.code != CommandCode::Require) requires_allowed = false;
    if (info->extension != nullptr && !has(info->extension) && !unchecked)
      error(c.pos, "command '" + c.name + "' requires the extension \"" + info->extension + "\"");
    if (c.code == CommandCode::Require) {
      if (!requires_allowed) error(c.pos, "'require' must come before other commands");
      if (c.args.size() != 1 || !c.args[0].is_list() || !c.tests.empty() || c.has_block) {
        error(c.pos, "'require' takes a string or a string list");
        return;
      }
      for (const auto& ext : c.args[0].strings) {
        std::string e = ext;
        for (auto& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (!supported(e))
          error(c.args[0].pos, "unsupported extension '" + ext + "'");
        else if (!has(e))
          required_.push_back(e);
        // These extend another one and imply it.
        if (e == "spamtestplus" && !has("spamtest")) required_.push_back("spamtest");
        if (e == "vacation-seconds" && !has("vacation")) required_.push_back("vacation");
      }
      return;
    }
    if ((c.code == CommandCode::ElsIf || c.code == CommandCode::Else) && prev != CommandCode::If &&
        prev != CommandCode::ElsIf)
      error(c.pos, "'" + c.name + "' without a preceding 'if'");
    if (info->takes_test && c.tests.size() != 1) error(c.pos, "'" + c.name + "' takes exactly one test");
    if (!info->takes_test && !c.tests.empty()) error(c.tests[0].pos, "'" + c.name + "' takes no test");
    if (info->takes_block && !c.has_block) error(c.pos, "'" + c.name + "' needs a block");
    if (!info->takes_block && c.has_block) error(c.pos, "'" + c.name + "' takes no block");
    arguments(c.args);
    if (!unchecked) signature(c.name, false, c.pos, c.args);
    bool inner_unchecked = unchecked;
    for (auto& t : c.tests) test(t, unchecked);
    // RFC 5463: inside `if ihave "x"` for an extension we lack, the block
    // is not checked.
    if (c.code == CommandCode::If || c.code == CommandCode::ElsIf)
      if (!c.tests.empty() && c.tests[0].code == TestCode::Ihave)
        for (const auto& a : c.tests[0].args)
          for (const auto& e : a.strings)
            if (!supported(e)) inner_unchecked = true;
    bool no_require = false;
    commands(c.block, no_require, inner_unchecked);
  }

  void test(sieve::Test& t, bool unchecked) {
    const TestInfo* info = nullptr;
    for (const auto& ti : kTests)
      if (t.name == ti.name) info = &ti;
    if (info == nullptr) {
      if (!unchecked) error(t.pos, "unknown test '" + t.name + "'");
      return;
    }
    t.code = info->code;
    if (info->extension != nullptr && !has(info->extension) && !unchecked)
      error(t.pos, "test '" + t.name + "' requires the extension \"" + info->extension + "\"");
    if (info->subtests == 0 && !t.tests.empty()) error(t.tests[0].pos, "'" + t.name + "' takes no test");
    if (info->subtests == 1 && t.tests.size() != 1) error(t.pos, "'not' takes exactly one test");
    if (info->subtests == -1 && t.tests.empty()) error(t.pos, "'" + t.name + "' takes a list of tests");
    arguments(t.args);
    if (!unchecked) signature(t.name, true, t.pos, t.args);
    if (t.code == TestCode::Header || t.code == TestCode::Exists) {
      bool skip = false;
      for (const auto& a : t.args) {
        if (a.kind == Argument::Kind::Tag) {
          skip = a.tag == "comparator" || a.tag == "count" || a.tag == "value" || a.tag == "index";
          continue;
        }
        if (skip) {
          skip = false;
          continue;
        }
        {
          for (const auto& h : a.strings)
            if (!a.may_expand && !is_field_name(h)) error(a.pos, "invalid header name '" + h + "'");
          break;
        }
      }
    }
    for (auto& sub : t.tests) test(sub, unchecked);
  }

  void signature(const std::string& name, bool is_test, Position where, const std::vector<Argument>& args) {
    std::vector<SignatureIssue> issues;
    check_signature(
        name, is_test, where, args, [this](std::string_view ext) { return has(ext); }, issues);
    for (auto& i : issues) {
      if (i.warning)
        warnings.push_back(std::to_string(i.pos.line) + ":" + std::to_string(i.pos.column) + ": " +
                           i.message);
      else
        error(i.pos, std::move(i.message));
    }
  }

  void arguments(std::vector<Argument>& args) {
    bool regex = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
      Argument& a = args[i];
      if (a.kind == Argument::Kind::Tag) {
        if (a.tag == "regex") regex = true;
        if (a.tag == "comparator") {
          if (i + 1 >= args.size() || !args[i + 1].is_string()) {
            error(a.pos, "':comparator' needs a string");
          } else {
            const std::string& name = args[i + 1].strings[0];
            if (!comparator_from_name(name) && name != "i;octet" && name != "i;ascii-casemap" &&
                name != "i;ascii-numeric")
              error(args[i + 1].pos, "unknown comparator '" + name + "'");
            else if (name == "i;ascii-numeric" && !has("comparator-i;ascii-numeric"))
              error(args[i + 1].pos,
                    "comparator 'i;ascii-numeric' requires the extension "
                    "\"comparator-i;ascii-numeric\"");
          }
        }
        if (a.tag == "count" || a.tag == "value") {
          if (i + 1 >= args.size() || !args[i + 1].is_string())
            error(a.pos, "':" + a.tag + "' needs a relational operator");
          else if (!is_relop(args[i + 1].strings[0]))
            error(args[i + 1].pos, "invalid relational operator '" + args[i + 1].strings[0] + "'");
        }
        continue;
      }
      if (a.kind == Argument::Kind::Number) continue;
      if (has("encoded-character"))
        for (auto& s : a.strings) s = decode_string(s);
      if (has("variables"))
        for (const auto& s : a.strings)
          if (s.find("${") != std::string::npos) a.may_expand = true;
    }
    if (regex && !args.empty()) {
      const Argument& keys = args.back();
      if (keys.kind != Argument::Kind::Tag && !keys.may_expand)
        for (const auto& k : keys.strings)
          if (auto problem = check_regex(k); !problem.empty())
            error(keys.pos, "invalid regular expression '" + k + "': " + problem);
    }
  }

  const CompileOptions& opts_;
  std::vector<std::string> required_;
};

}  // namespace

CompileResult compile(std::string_view text, const CompileOptions& options) {
  CompileResult r;
  if (text.size() > options.max_script_size) {
    r.errors.push_back(
        {{1, 1}, "script too large (at most " + std::to_string(options.max_script_size) + " bytes)"});
    return r;
  }
  auto parsed = parse(text, options.max_nesting);
  if (!parsed.errors.empty()) {
    r.errors = std::move(parsed.errors);
    return r;
  }
  Compiler c(options);
  c.run(parsed.script);
  if (!c.errors.empty()) {
    r.errors = std::move(c.errors);
    return r;
  }
  auto out = std::make_shared<CompiledScript>();
  out->script = std::move(parsed.script);
  out->warnings = std::move(c.warnings);
  r.script = std::move(out);
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
