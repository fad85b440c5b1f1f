// Local rules: the rule file parser and the matcher (syntax in
// docs/spam-rules.md). Faces administrator input (the files) and untrusted
// messages. Every pattern is compiled by RE2 under a memory budget, so a
// pattern is either refused at load (with file:line) or matches in time
// linear in the text; the texts matched are bounded (rawbody and full read
// at most kMaxRawBytes). A bad line is reported and skipped, never fatal.
#include "filter/rules.h"

#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "filter/message_view.h"
#include "filter/url_extract.h"

namespace mailfort::filter {
namespace {

// RE2's budget for one compiled pattern (program and DFA cache): enough
// for any sensible rule, and a blow-up like (a{100}){100} is refused.
constexpr int64_t kMaxPatternMemory = 2 << 20;
constexpr std::size_t kMaxPatternBytes = 16 << 10;
constexpr std::size_t kMaxLineBytes = 64 << 10;
constexpr std::size_t kMaxFileBytes = 16 << 20;
constexpr std::size_t kMaxRules = 10000;
constexpr std::size_t kMaxRawBytes = 1 << 20;  // of the raw body and the full message a rule reads
constexpr std::size_t kMaxNameBytes = 64;
constexpr std::size_t kMaxMetaDepth = 32;
constexpr double kMaxScore = 1000;

enum class Kind { Header, Body, RawBody, Uri, Full, Meta };
enum class HeaderTest { Matches, DoesNotMatch, Exists };

// A meta expression in postfix: operands are rule indices.
struct MetaOp {
  enum class Op { Rule, Not, And, Or } op = Op::Rule;
  std::size_t rule = 0;
  std::string name;  // until resolved
};

struct Rule {
  std::string name;
  Kind kind = Kind::Body;
  double score = 0;
  std::string description;
  std::string file;
  int line = 0;
  // header
  std::string field;  // "" with all_headers
  bool all_headers = false;
  bool raw_value = false;  // Field:raw: the value as written, encoded words not decoded
  HeaderTest test = HeaderTest::Matches;
  std::unique_ptr<RE2> re;
  std::vector<MetaOp> meta;
};

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool valid_symbol_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool valid_field_name(std::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// A cursor over one line with the little lexer the grammar needs.
class LineCursor {
 public:
  explicit LineCursor(std::string_view line) : s_(line) {}
  void skip_space() {
    while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  // Up to white space or one of `stops`.
  std::string_view word(std::string_view stops = {}) {
    skip_space();
    std::size_t begin = pos_;
    while (pos_ < s_.size() && !is_space(s_[pos_]) && stops.find(s_[pos_]) == std::string_view::npos) ++pos_;
    return s_.substr(begin, pos_ - begin);
  }
  std::string_view rest() {
    skip_space();
    std::string_view r = s_.substr(pos_);
    while (!r.empty() && is_space(r.back())) r.remove_suffix(1);
    pos_ = s_.size();
    return r;
  }
  bool consume(std::string_view token) {
    skip_space();
    if (s_.substr(pos_).starts_with(token)) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  // A Perl-style /pattern/flags or m{pattern}flags: the pattern as written
  // (escapes kept; RE2 reads \/ as /) and the flags.
  Result<std::pair<std::string, std::string>> regex() {
    skip_space();
    if (at_end()) return Error{Errc::Invalid, "a /pattern/ is missing"};
    char open = s_[pos_];
    if (open == 'm' && pos_ + 1 < s_.size() && std::ispunct(static_cast<unsigned char>(s_[pos_ + 1]))) {
      open = s_[++pos_];
    } else if (open != '/') {
      return Error{Errc::Invalid, "a pattern starts with / or m followed by a delimiter"};
    }
    char close = open == '{' ? '}' : open == '(' ? ')' : open == '[' ? ']' : open == '<' ? '>' : open;
    std::string pattern;
    std::size_t i = pos_ + 1;
    for (; i < s_.size() && s_[i] != close; ++i) {
      if (s_[i] == '\\' && i + 1 < s_.size()) pattern.push_back(s_[i++]);
      pattern.push_back(s_[i]);
    }
    if (i >= s_.size()) return Error{Errc::Invalid, std::string("the pattern has no closing ") + close};
    pos_ = i + 1;
    std::size_t flags_begin = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return std::pair{std::move(pattern), std::string(s_.substr(flags_begin, pos_ - flags_begin))};
  }
  // The balanced (...) of a meta rule.
  Result<std::string_view> parenthesized() {
    skip_space();
    if (peek() != '(') return Error{Errc::Invalid, "a meta expression is written in parentheses"};
    int depth = 0;
    std::size_t begin = pos_;
    for (; pos_ < s_.size(); ++pos_) {
      if (s_[pos_] == '(') ++depth;
      if (s_[pos_] == ')' && --depth == 0) {
        ++pos_;
        return s_.substr(begin, pos_ - begin);
      }
    }
    return Error{Errc::Invalid, "the meta expression has no closing )"};
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

Result<std::unique_ptr<RE2>> compile(const std::string& pattern, std::string_view flags) {
  if (pattern.size() > kMaxPatternBytes)
    return Error{Errc::Invalid, "pattern longer than " + std::to_string(kMaxPatternBytes) + " bytes"};
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kMaxPatternMemory);
  std::string prefix;
  for (char f : flags) {
    switch (f) {
      case 'i':
        options.set_case_sensitive(false);
        break;
      case 's':
        options.set_dot_nl(true);
        break;
      case 'm':
        prefix = "(?m)";
        break;
      default:
        return Error{Errc::Invalid, std::string("flag '") + f + "' is not supported (only i, m, s)"};
    }
  }
  auto re = std::make_unique<RE2>(prefix + pattern, options);
  if (!re->ok()) return Error{Errc::Invalid, "RE2 refuses the pattern: " + re->error()};
  return re;
}

Result<double> parse_score(std::string_view text) {
  if (text.empty()) return Error{Errc::Invalid, "the score is missing"};
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno != 0 || !std::isfinite(v) || std::fabs(v) > kMaxScore)
    return Error{Errc::Invalid, "bad score \"" + s + "\" (a number from -1000 to 1000)"};
  return v;
}

// expr := and ('||' and)* ; and := unary ('&&' unary)* ;
// unary := '!' unary | '(' expr ')' | NAME
class MetaParser {
 public:
  explicit MetaParser(std::string_view s) : s_(s) {}
  Result<std::vector<MetaOp>> parse() {
    if (auto r = expr(0); !r) return r.error();
    skip();
    if (pos_ != s_.size())
      return Error{Errc::Invalid, "unexpected \"" + std::string(s_.substr(pos_)) + "\" in meta"};
    return std::move(out_);
  }

 private:
  void skip() {
    while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
  }
  bool take(std::string_view t) {
    skip();
    if (!s_.substr(pos_).starts_with(t)) return false;
    pos_ += t.size();
    return true;
  }
  Result<void> expr(std::size_t depth) {
    if (auto r = conj(depth); !r) return r;
    while (take("||")) {
      if (auto r = conj(depth); !r) return r;
      out_.push_back(MetaOp{MetaOp::Op::Or});
    }
    return {};
  }
  Result<void> conj(std::size_t depth) {
    if (auto r = unary(depth); !r) return r;
    while (take("&&")) {
      if (auto r = unary(depth); !r) return r;
      out_.push_back(MetaOp{MetaOp::Op::And});
    }
    return {};
  }
  Result<void> unary(std::size_t depth) {
    if (depth > kMaxMetaDepth) return Error{Errc::Invalid, "meta expression nested too deeply"};
    if (take("!")) {
      if (auto r = unary(depth + 1); !r) return r;
      out_.push_back(MetaOp{MetaOp::Op::Not});
      return {};
    }
    if (take("(")) {
      if (auto r = expr(depth + 1); !r) return r;
      if (!take(")")) return Error{Errc::Invalid, "a ) is missing in meta"};
      return {};
    }
    skip();
    std::size_t begin = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      ++pos_;
    std::string_view name = s_.substr(begin, pos_ - begin);
    if (!valid_symbol_name(name))
      return Error{Errc::Invalid, name.empty() ? std::string("a rule name is missing in meta")
                                               : "bad rule name \"" + std::string(name) + "\" in meta"};
    out_.push_back(MetaOp{MetaOp::Op::Rule, 0, std::string(name)});
    return {};
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::vector<MetaOp> out_;
};

// The rule of one line (not a comment or blank).
Result<Rule> parse_line(std::string_view line) {
  LineCursor c(line);
  std::string_view keyword = c.word();
  Rule rule;
  if (keyword == "header")
    rule.kind = Kind::Header;
  else if (keyword == "body")
    rule.kind = Kind::Body;
  else if (keyword == "rawbody")
    rule.kind = Kind::RawBody;
  else if (keyword == "uri")
    rule.kind = Kind::Uri;
  else if (keyword == "full")
    rule.kind = Kind::Full;
  else if (keyword == "meta")
    rule.kind = Kind::Meta;
  else
    return Error{Errc::Invalid, "unknown rule type \"" + std::string(keyword) +
                                    "\" (header, body, rawbody, uri, full, meta)"};

  std::string_view name = c.word();
  if (!valid_symbol_name(name))
    return Error{Errc::Invalid,
                 name.empty() ? std::string("the rule name is missing")
                              : "bad rule name \"" + std::string(name) + "\" (A-Z, 0-9, _; at most 64)"};
  rule.name = std::string(name);

  if (rule.kind == Kind::Header) {
    std::string_view field = c.word("=!");
    if (field.starts_with("exists:")) {
      rule.test = HeaderTest::Exists;
      field.remove_prefix(7);
    } else {
      if (field.ends_with(":raw")) {
        rule.raw_value = true;
        field.remove_suffix(4);
      }
      if (c.consume("=~"))
        rule.test = HeaderTest::Matches;
      else if (c.consume("!~"))
        rule.test = HeaderTest::DoesNotMatch;
      else
        return Error{Errc::Invalid, "a header rule needs =~ or !~ after the field name"};
    }
    rule.all_headers = field == "ALL" && rule.test != HeaderTest::Exists;
    if (!rule.all_headers) {
      if (!valid_field_name(field))
        return Error{Errc::Invalid, "bad header field name \"" + std::string(field) + "\""};
      rule.field = std::string(field);
    }
  }
  if (rule.kind == Kind::Meta) {
    auto expr = c.parenthesized();
    if (!expr) return expr.error();
    auto program = MetaParser(expr.value()).parse();
    if (!program) return program.error();
    rule.meta = std::move(program.value());
  } else if (rule.test != HeaderTest::Exists) {
    auto re = c.regex();
    if (!re) return re.error();
    auto compiled = compile(re.value().first, re.value().second);
    if (!compiled) return compiled.error();
    rule.re = std::move(compiled.value());
  }
  auto score = parse_score(c.word());
  if (!score) return score.error();
  rule.score = score.value();
  rule.description = std::string(c.rest());
  return rule;
}

class CompiledRules : public RuleSet {
 public:
  std::vector<Symbol> match(const MessageView& view, const std::vector<Url>& urls) const override {
    std::vector<char> hit(rules_.size(), 0);
    std::vector<std::vector<std::string>> options(rules_.size());
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      const Rule& r = rules_[i];
      hit[i] = r.kind == Kind::Meta ? evaluate_meta(r, hit) : evaluate(r, view, urls, options[i]);
    }
    std::vector<Symbol> out;
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      // "__NAME" rules are parts of metas, not symbols of their own (as in SpamAssassin).
      if (!hit[i] || rules_[i].name.starts_with("__")) continue;
      out.push_back(Symbol{rules_[i].name, rules_[i].score, std::move(options[i])});
    }
    return out;
  }
  std::size_t size() const override { return rules_.size(); }

  std::vector<Rule> rules_;

 private:
  static bool evaluate(const Rule& r, const MessageView& view, const std::vector<Url>& urls,
                       std::vector<std::string>& options) {
    switch (r.kind) {
      case Kind::Header:
        return evaluate_header(r, view);
      case Kind::Body:
        return RE2::PartialMatch(view.all_text(), *r.re);
      case Kind::RawBody:
        return RE2::PartialMatch(view.body().substr(0, kMaxRawBytes), *r.re);
      case Kind::Full:
        return RE2::PartialMatch(view.raw().substr(0, kMaxRawBytes), *r.re);
      case Kind::Uri:
        for (const auto& u : urls) {
          if (!RE2::PartialMatch(u.text, *r.re)) continue;
          options.push_back(u.host);
          return true;
        }
        return false;
      case Kind::Meta:
        break;
    }
    return false;
  }

  static bool evaluate_header(const Rule& r, const MessageView& view) {
    if (r.all_headers)
      return RE2::PartialMatch(view.header_block(), *r.re) == (r.test == HeaderTest::Matches);
    if (r.test == HeaderTest::Exists) return view.count(r.field) > 0;
    bool any_field = false, matched = false;
    for (const auto& f : view.headers()) {
      if (!ieq(f.name, r.field)) continue;
      any_field = true;
      if (RE2::PartialMatch(r.raw_value ? f.raw : f.value, *r.re)) {
        matched = true;
        break;
      }
    }
    // An absent field reads as "" (SpamAssassin's semantics: "Subject !~ /./" hits on no Subject).
    if (!any_field) matched = RE2::PartialMatch("", *r.re);
    return matched == (r.test == HeaderTest::Matches);
  }

  static bool evaluate_meta(const Rule& r, const std::vector<char>& hit) {
    std::vector<char> stack;
    for (const auto& op : r.meta) {
      switch (op.op) {
        case MetaOp::Op::Rule:
          stack.push_back(hit[op.rule]);
          break;
        case MetaOp::Op::Not:
          stack.back() = !stack.back();
          break;
        case MetaOp::Op::And:
        case MetaOp::Op::Or: {
          char b = stack.back();
          stack.pop_back();
          stack.back() = op.op == MetaOp::Op::And ? (stack.back() && b) : (stack.back() || b);
          break;
        }
      }
    }
    return !stack.empty() && stack.back();
  }
};

// Collects the rules of every file, then resolves the metas.
class RuleBuilder {
 public:
  explicit RuleBuilder(std::vector<RuleProblem>& problems) : problems_(problems) {}

  void add_text(std::string_view text, const std::string& file) {
    int line_no = 0;
    while (!text.empty()) {
      std::size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      std::size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos || line[first] == '#') continue;
      if (line.size() > kMaxLineBytes) {
        problem(file, line_no, "line longer than " + std::to_string(kMaxLineBytes) + " bytes");
        continue;
      }
      if (set_->rules_.size() >= kMaxRules) {
        problem(file, line_no, "more than " + std::to_string(kMaxRules) + " rules: the rest are ignored");
        return;
      }
      auto rule = parse_line(line);
      if (!rule) {
        problem(file, line_no, rule.error().message);
        continue;
      }
      rule.value().file = file;
      rule.value().line = line_no;
      if (auto it = index_.find(rule.value().name); it != index_.end()) {
        const Rule& first_rule = set_->rules_[it->second];
        problem(file, line_no,
                "rule " + rule.value().name + " is already defined at " + first_rule.file + ":" +
                    std::to_string(first_rule.line));
        continue;
      }
      if (rule.value().kind == Kind::Meta && !resolve_meta(rule.value())) continue;
      index_.emplace(rule.value().name, set_->rules_.size());
      set_->rules_.push_back(std::move(rule.value()));
    }
  }

  std::unique_ptr<RuleSet> finish() { return std::move(set_); }

 private:
  // A meta may name any rule defined before it (a later one would be
  // evaluated after it), metas included.
  bool resolve_meta(Rule& meta) {
    for (auto& op : meta.meta) {
      if (op.op != MetaOp::Op::Rule) continue;
      auto it = index_.find(op.name);
      if (it == index_.end()) {
        problem(meta.file, meta.line,
                "meta " + meta.name + " names " + op.name + ", which is not defined before it");
        return false;
      }
      op.rule = it->second;
    }
    return true;
  }

  void problem(const std::string& file, int line, std::string message) {
    problems_.push_back(RuleProblem{file, line, std::move(message)});
  }

  std::vector<RuleProblem>& problems_;
  std::unique_ptr<CompiledRules> set_ = std::make_unique<CompiledRules>();
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace

std::unique_ptr<RuleSet> parse_rules(std::string_view text, const std::string& name,
                                     std::vector<RuleProblem>& problems) {
  RuleBuilder builder(problems);
  builder.add_text(text, name);
  return builder.finish();
}

std::unique_ptr<RuleSet> load_rule_files(const std::vector<std::string>& files,
                                         std::vector<RuleProblem>& problems) {
  RuleBuilder builder(problems);
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      problems.push_back(
          RuleProblem{file, 0, std::string("cannot read the rule file: ") + std::strerror(errno)});
      continue;
    }
    std::error_code ec;
    auto size = std::filesystem::file_size(file, ec);
    if (!ec && size > kMaxFileBytes) {
      problems.push_back(
          RuleProblem{file, 0, "rule file larger than " + std::to_string(kMaxFileBytes) + " bytes"});
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    builder.add_text(text.str(), file);
  }
  return builder.finish();
}

}  // namespace mailfort::filter
