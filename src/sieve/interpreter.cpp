// The Sieve interpreter: walks compiled scripts (Command::code /
// Test::code) over one message and collects what they decide. Run-time
// errors are thrown as RunError and turned into an Outcome that holds only
// the implicit keep (RFC 5228 2.10.6).
#include "sieve/interpreter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "base/text.h"
#include "sieve/match.h"
#include "sieve/message_access.h"
#include "sieve/signature.h"

namespace mailfort::sieve {
namespace {

struct RunError {
  int line = 0;
  std::string message;
};

std::string lower(std::string_view s) {
  return to_lower(s);
}

// The same redirect target: the local part as written (RFC 5321 2.4: it
// may be case-sensitive), the domain in any case; as Pigeonhole compares.
bool same_mailbox(std::string_view a, std::string_view b) {
  auto at_a = a.rfind('@'), at_b = b.rfind('@');
  if (at_a == std::string_view::npos || at_b == std::string_view::npos) return a == b;
  return a.substr(0, at_a) == b.substr(0, at_b) && iequals(a.substr(at_a), b.substr(at_b));
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t max) {
  if (s.size() <= max) return;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
}

// A command's or test's arguments split into tags (with the value that
// follows the tags that take one) and positional arguments.
struct Args {
  struct Tag {
    std::string_view name;
    const Argument* value = nullptr;
  };
  std::vector<Tag> tags;
  std::vector<const Argument*> pos;

  bool has(std::string_view t) const {
    for (const auto& x : tags)
      if (x.name == t) return true;
    return false;
  }
  const Argument* val(std::string_view t) const {
    for (const auto& x : tags)
      if (x.name == t) return x.value;
    return nullptr;
  }
};

bool tag_takes_value(std::string_view t) {
  static constexpr std::string_view kValueTags[] = {
      "comparator", "index",  "zone",     "days",  "seconds", "subject", "from", "addresses", "handle",
      "flags",      "header", "uniqueid", "value", "count",   "content", "over", "under"};
  for (auto v : kValueTags)
    if (v == t) return true;
  return false;
}

Args split_args(const std::vector<Argument>& args) {
  Args a;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const Argument& x = args[i];
    if (x.kind == Argument::Kind::Tag) {
      Args::Tag t{x.tag, nullptr};
      if (tag_takes_value(x.tag) && i + 1 < args.size() && args[i + 1].kind != Argument::Kind::Tag)
        t.value = &args[++i];
      a.tags.push_back(t);
    } else {
      a.pos.push_back(&x);
    }
  }
  return a;
}

struct Frame {
  const ScriptRef* ref = nullptr;  // the chain script this frame belongs to
  const Script* script = nullptr;
  std::string name;  // for error messages
  bool global = false;
  bool variables = false;  // "variables" required: expand ${...}, set match variables
  bool imap4flags = false;
  std::map<std::string, std::string> locals;
  std::set<std::string> global_names;
};

enum class Flow { Next, Stop, Return };

bool script_requires(const Script& s, std::string_view ext) {
  for (const auto& r : s.requires_)
    if (iequals(r, ext)) return true;
  for (const auto& c : s.commands) {
    if (c.code != CommandCode::Require && c.name != "require") continue;
    for (const auto& a : c.args)
      for (const auto& str : a.strings)
        if (iequals(str, ext)) return true;
  }
  return false;
}

const char* kSystemFlags[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};

// RFC 5232: flags are space-separated words; system flags compare
// case-insensitively (shown in their usual case), duplicates go.
void add_flags(std::vector<std::string>& set, const std::vector<std::string>& values) {
  for (const auto& v : values) {
    std::size_t i = 0;
    while (i < v.size()) {
      while (i < v.size() && v[i] == ' ') ++i;
      std::size_t j = i;
      while (j < v.size() && v[j] != ' ') ++j;
      if (j > i) {
        std::string f = v.substr(i, j - i);
        for (const char* sf : kSystemFlags)
          if (iequals(f, sf)) f = sf;
        bool dup = false;
        for (const auto& e : set)
          if (iequals(e, f)) dup = true;
        if (!dup) set.push_back(std::move(f));
      }
      i = j;
    }
  }
}

void remove_flags(std::vector<std::string>& set, const std::vector<std::string>& values) {
  std::vector<std::string> gone;
  add_flags(gone, values);
  std::erase_if(set, [&](const std::string& f) {
    for (const auto& g : gone)
      if (iequals(f, g)) return true;
    return false;
  });
}

std::string base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// RFC 2047 B encoding of a UTF-8 value in words of at most 45 input bytes
// (cut at UTF-8 boundaries) so each encoded word stays under 75 chars.
std::string encode_words(std::string_view v) {
  std::string out;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t n = std::min<std::size_t>(45, v.size() - i);
    while (n > 1 && i + n < v.size() && (static_cast<unsigned char>(v[i + n]) & 0xC0) == 0x80) --n;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(v.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    std::size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 99;
    if (n == 99 || i + n >= s.size() + (n ? 0 : 1)) return false;
    for (std::size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}

uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// RFC 5322 field-name, within the 998-octet line limit with its colon.
bool valid_field_name(std::string_view n) {
  return n.size() <= 997 && is_field_name(n);
}

bool is_protected_field(std::string_view n) {
  return iequals(n, "received") || iequals(n, "auto-submitted");
}

// The header fields of a message (raw, each including its CRLF) and where
// the header ends.
struct HeaderSplit {
  std::vector<std::string_view> fields;
  std::size_t header_end = 0;  // offset of the blank line (or the end)
};

HeaderSplit split_header(std::string_view m) {
  HeaderSplit h;
  std::size_t i = 0;
  while (i < m.size()) {
    if (m[i] == '\n' || (m[i] == '\r' && i + 1 < m.size() && m[i + 1] == '\n')) break;  // blank line
    std::size_t start = i;
    for (;;) {
      std::size_t nl = m.find('\n', i);
      if (nl == std::string_view::npos) {
        i = m.size();
        break;
      }
      i = nl + 1;
      if (i >= m.size() || (m[i] != ' ' && m[i] != '\t')) break;
    }
    h.fields.push_back(m.substr(start, i - start));
  }
  h.header_end = i;
  return h;
}

std::string_view field_name(std::string_view f) {
  std::size_t c = f.find(':');
  std::string_view n = c == std::string_view::npos ? f : f.substr(0, c);
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
  return n;
}

// The unfolded, trimmed value of a raw field.
std::string field_value(std::string_view f) {
  std::size_t c = f.find(':');
  if (c == std::string_view::npos) return {};
  std::string v;
  for (char ch : f.substr(c + 1))
    if (ch != '\r' && ch != '\n') v += ch;
  std::size_t b = v.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  std::size_t e = v.find_last_not_of(" \t");
  return v.substr(b, e - b + 1);
}

class Interp {
 public:
  Interp(const MessageInput& in, Host& host, const Limits& lim) : in_(in), host_(host), lim_(lim) {}

  Outcome run_chain(const std::vector<ScriptRef>& chain);

 private:
  const MessageInput& in_;
  Host& host_;
  const Limits& lim_;
  Outcome out_;

  // The message as editheader left it; null = the original.
  std::shared_ptr<const std::string> edited_;
  std::unique_ptr<MessageAccess> access_;
  uint32_t header_edits_ = 0;

  std::vector<std::string> flags_;  // imap4flags' internal variable
  bool flags_touched_ = false;
  std::map<std::string, std::string> globals_;
  std::vector<std::string> match_vars_;
  bool vacation_done_ = false;
  std::map<std::string, bool> duplicate_checked_;
  uint32_t redirects_ = 0;
  bool kept_explicitly_ = false;  // `keep` ran in the current chain script
  std::string chain_name_;
  bool chain_global_ = false;
  std::vector<std::pair<std::string, bool>> include_stack_;  // name, global
  std::set<std::pair<std::string, bool>> included_once_;
  std::vector<std::shared_ptr<const CompiledScript>> loaded_;  // keeps included scripts alive

  std::string_view message() const { return edited_ ? std::string_view(*edited_) : in_.message; }
  const MessageAccess& access() {
    if (!access_) access_ = std::make_unique<MessageAccess>(message());
    return *access_;
  }
  // Decoded header values and addresses by field name: scripts test the
  // same few fields in many rules, so each is decoded once per message state.
  std::map<std::string, std::vector<std::string>> header_cache_, address_cache_;
  const std::vector<std::string>& cached_header(const std::string& name) {
    std::string key = lower(name);
    auto it = header_cache_.find(key);
    if (it == header_cache_.end()) it = header_cache_.emplace(key, access().header(name)).first;
    return it->second;
  }
  const std::vector<std::string>& cached_addresses(const std::string& name) {
    std::string key = lower(name);
    auto it = address_cache_.find(key);
    if (it == address_cache_.end()) it = address_cache_.emplace(key, access().addresses(name)).first;
    return it->second;
  }

  [[noreturn]] void fail(const Position& p, std::string msg) { throw RunError{p.line, std::move(msg)}; }
  void step(const Position& p) {
    if (++out_.steps > lim_.max_steps)
      fail(p, "too many steps (limit " + std::to_string(lim_.max_steps) + ")");
  }

  // Variables (RFC 5229).
  std::string* lookup_var(Frame& f, const std::string& lname) {
    if (lname.starts_with("global.")) {
      auto it = globals_.find(lname.substr(7));
      return it == globals_.end() ? nullptr : &it->second;
    }
    auto& m = f.global_names.count(lname) ? globals_ : f.locals;
    auto it = m.find(lname);
    return it == m.end() ? nullptr : &it->second;
  }
  void set_var(Frame& f, const Position& p, const std::string& name, std::string value) {
    std::string lname = lower(name);
    std::map<std::string, std::string>* m = &f.locals;
    if (lname.starts_with("global.")) {
      lname = lname.substr(7);
      m = &globals_;
    } else if (f.global_names.count(lname)) {
      m = &globals_;
    }
    truncate_utf8(value, lim_.max_variable_size);
    auto it = m->find(lname);
    if (it != m->end()) {
      it->second = std::move(value);
      return;
    }
    if (m->size() >= lim_.max_variables)
      fail(p, "too many variables (limit " + std::to_string(lim_.max_variables) + ")");
    m->emplace(std::move(lname), std::move(value));
  }
  std::string expand(Frame& f, const std::string& s);
  std::string str(Frame& f, const Argument& a) {
    const std::string& s = a.strings.empty() ? empty_ : a.strings.front();
    if (f.variables && s.find("${") != std::string::npos) return expand(f, s);
    return s;
  }
  std::vector<std::string> list(Frame& f, const Argument& a) {
    std::vector<std::string> r;
    r.reserve(a.strings.size());
    for (const auto& s : a.strings)
      r.push_back(f.variables && s.find("${") != std::string::npos ? expand(f, s) : s);
    return r;
  }
  const std::string empty_;

  // Matching.
  MatchSpec spec_of(Frame& f, const Args& a, const Position& p, Comparator dflt = Comparator::AsciiCasemap);
  bool match_values(Frame& f, const MatchSpec& spec, const std::vector<std::string>& values,
                    const std::vector<std::string>& keys);

  // Execution.
  Flow exec_block(Frame& f, const std::vector<Command>& cmds);
  Flow exec(Frame& f, const Command& c);
  bool test(Frame& f, const Test& t);
  void run_script(const ScriptRef& ref);
  Flow include(Frame& f, const Command& c, const Args& a);

  // Actions.
  void add_action(const Position& p, Action a);
  void check_reject_conflict(const Position& p, const Action& a);
  std::vector<std::string> flags_for(Frame& f, const Args& a);
  void set_store_flags(Frame& f, const Args& a, Action& x);

  // editheader.
  void replace_message(std::string m) {
    edited_ = std::make_shared<const std::string>(std::move(m));
    access_.reset();
    header_cache_.clear();
    address_cache_.clear();
  }
  void count_edit(const Position& p) {
    if (++header_edits_ > lim_.max_header_edits)
      fail(p, "too many header edits (limit " + std::to_string(lim_.max_header_edits) + ")");
  }

  // Tests.
  bool test_header(Frame& f, const Test& t, const Args& a);
  bool test_address(Frame& f, const Test& t, const Args& a, bool envelope);
  bool test_date(Frame& f, const Test& t, const Args& a, bool current);
  bool test_duplicate(Frame& f, const Test& t, const Args& a);
  bool test_spam(Frame& f, const Test& t, const Args& a, bool virus);
};

std::string Interp::expand(Frame& f, const std::string& s) {
  std::string r;
  r.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t b = s.find("${", i);
    if (b == std::string::npos) {
      r.append(s, i, std::string::npos);
      break;
    }
    r.append(s, i, b - i);
    std::size_t e = s.find('}', b + 2);
    if (e == std::string::npos) {
      r.append(s, b, std::string::npos);
      break;
    }
    std::string_view name(s.data() + b + 2, e - b - 2);
    bool numeric =
        !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
    bool ident = !name.empty() && !numeric;
    if (ident) {
      // identifier ("." joins a namespace to a name, RFC 5229 3)
      bool start = true;
      for (char c : name) {
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (c == '.') {
          if (start) ident = false;
          start = true;
          continue;
        }
        if (start ? !alpha : !(alpha || digit)) ident = false;
        start = false;
      }
      if (start) ident = false;
    }
    if (numeric) {
      std::size_t k = name.find_first_not_of('0');
      std::size_t idx = k == std::string_view::npos
                            ? 0
                            : (name.size() - k > 2 ? 100 : std::stoul(std::string(name.substr(k))));
      if (idx < match_vars_.size()) r += match_vars_[idx];
      i = e + 1;
    } else if (ident) {
      std::string lname = lower(name);
      if (lname.find('.') == std::string::npos || lname.starts_with("global.")) {
        if (const std::string* v = lookup_var(f, lname)) r += *v;
        i = e + 1;
      } else {  // an unknown namespace: left as written
        r.append(s, b, e + 1 - b);
        i = e + 1;
      }
    } else {  // not a variable reference: the text stays
      r += "${";
      i = b + 2;
    }
    if (r.size() > lim_.max_variable_size * 4 + s.size())
      truncate_utf8(r, lim_.max_variable_size * 4 + s.size());
  }
  return r;
}

MatchSpec Interp::spec_of(Frame& f, const Args& a, const Position& p, Comparator dflt) {
  MatchSpec m;
  m.comparator = dflt;
  if (const Argument* c = a.val("comparator")) {
    std::string name = str(f, *c);
    auto cmp = comparator_from_name(name);
    if (!cmp) fail(p, "unknown comparator '" + name + "'");
    m.comparator = *cmp;
  }
  if (a.has("contains"))
    m.type = MatchType::Contains;
  else if (a.has("matches"))
    m.type = MatchType::Matches;
  else if (a.has("regex"))
    m.type = MatchType::Regex;
  else if (a.has("value") || a.has("count")) {
    m.type = a.has("value") ? MatchType::Value : MatchType::Count;
    const Argument* r = a.val(a.has("value") ? "value" : "count");
    std::string op = r ? str(f, *r) : "";
    auto rel = relop_from_name(op);
    if (!rel) fail(p, "unknown relational operator '" + op + "'");
    m.rel = *rel;
  }
  return m;
}

bool Interp::match_values(Frame& f, const MatchSpec& spec, const std::vector<std::string>& values,
                          const std::vector<std::string>& keys) {
  if (spec.type == MatchType::Count) return match_count(spec, values.size(), keys);
  bool want_captures = f.variables && (spec.type == MatchType::Matches || spec.type == MatchType::Regex);
  std::vector<std::string> caps;
  for (const auto& v : values) {
    if (match_value(spec, v, keys, want_captures ? &caps : nullptr)) {
      if (want_captures) {
        for (auto& c : caps) truncate_utf8(c, lim_.max_variable_size);
        match_vars_ = std::move(caps);
      }
      return true;
    }
  }
  return false;
}

void Interp::check_reject_conflict(const Position& p, const Action& a) {
  using K = Action::Kind;
  // As Pigeonhole: every delivery (with :copy too) and every response
  // conflicts with reject/ereject (RFC 5429 2.1); discard does not.
  auto delivers = [](const Action& x) {
    return x.kind == K::Keep || x.kind == K::FileInto || x.kind == K::Redirect || x.kind == K::Vacation ||
           x.kind == K::Reject || x.kind == K::EReject;
  };
  bool is_reject = a.kind == K::Reject || a.kind == K::EReject;
  for (const auto& x : out_.actions) {
    bool x_reject = x.kind == K::Reject || x.kind == K::EReject;
    if ((is_reject && delivers(x)) || (x_reject && delivers(a)))
      fail(p, std::string(is_reject ? (a.kind == K::Reject ? "reject" : "ereject") : "this action") +
                  " conflicts with an earlier action (" +
                  (x_reject ? "reject" : "keep, fileinto, redirect or vacation") + ")");
  }
}

void Interp::add_action(const Position& p, Action a) {
  using K = Action::Kind;
  check_reject_conflict(p, a);
  auto same_target = [&](const Action& x) {
    if ((x.kind == K::Keep || x.kind == K::FileInto) && (a.kind == K::Keep || a.kind == K::FileInto)) {
      auto folder = [](const Action& y) { return y.kind == K::Keep ? std::string("INBOX") : y.folder; };
      std::string fx = folder(x), fa = folder(a);
      return iequals(fx, "INBOX") && iequals(fa, "INBOX") ? true : fx == fa;
    }
    if (x.kind == K::Redirect && a.kind == K::Redirect) return same_mailbox(x.address, a.address);
    if (x.kind == K::Discard && a.kind == K::Discard) return true;
    return false;
  };
  if (a.kind != K::Keep && a.kind != K::FileInto && a.kind != K::Redirect) {
    // nothing to merge beyond discard
  }
  for (auto& x : out_.actions) {
    if (!same_target(x)) continue;
    // RFC 5228 2.10.3: the same delivery once; the later one's flags win
    // for imap4flags (RFC 5232 keeps the last :flags seen).
    if (a.flags_given) {
      x.flags = a.flags;
      x.flags_given = true;
    }
    x.copy = x.copy && a.copy;
    x.create = x.create || a.create;
    if (a.message) x.message = a.message;
    return;
  }
  if (a.kind == K::Vacation) {
    if (vacation_done_) fail(p, "only one vacation action per message");
    vacation_done_ = true;
  }
  if (a.kind == K::Redirect && ++redirects_ > lim_.max_redirects)
    fail(p, "too many redirect actions (limit " + std::to_string(lim_.max_redirects) + ")");
  if (out_.actions.size() >= lim_.max_actions)
    fail(p, "too many actions (limit " + std::to_string(lim_.max_actions) + ")");
  a.script = chain_name_;
  if (edited_ && !a.message && a.kind != K::Discard) a.message = edited_;
  out_.actions.push_back(std::move(a));
}

std::vector<std::string> Interp::flags_for(Frame& f, const Args& a) {
  std::vector<std::string> r;
  if (const Argument* fl = a.val("flags")) add_flags(r, list(f, *fl));
  return r;
}

// keep/fileinto: the :flags given, else the internal variable's flags once
// a script touched them (RFC 5232 section 3).
void Interp::set_store_flags(Frame& f, const Args& a, Action& x) {
  if (a.has("flags")) {
    x.flags = flags_for(f, a);
    x.flags_given = true;
  } else if (flags_touched_) {
    x.flags = flags_;
    x.flags_given = true;
  }
}

Flow Interp::exec_block(Frame& f, const std::vector<Command>& cmds) {
  bool prev_taken = true;  // whether the preceding if/elsif chain ran a branch
  for (const Command& c : cmds) {
    switch (c.code) {
      case CommandCode::If:
      case CommandCode::ElsIf:
      case CommandCode::Else: {
        step(c.pos);
        bool take;
        if (c.code == CommandCode::If) {
          take = !c.tests.empty() && test(f, c.tests.front());
        } else if (prev_taken) {
          continue;
        } else {
          take = c.code == CommandCode::Else || (!c.tests.empty() && test(f, c.tests.front()));
        }
        prev_taken = take;
        if (take) {
          Flow fl = exec_block(f, c.block);
          if (fl != Flow::Next) return fl;
        }
        continue;
      }
      default: {
        Flow fl = exec(f, c);
        if (fl != Flow::Next) return fl;
      }
    }
  }
  return Flow::Next;
}

Flow Interp::exec(Frame& f, const Command& c) {
  using K = Action::Kind;
  step(c.pos);
  Args a = split_args(c.args);
  auto arg = [&](std::size_t i) -> const Argument& {
    if (i >= a.pos.size()) fail(c.pos, c.name + ": missing argument");
    return *a.pos[i];
  };
  switch (c.code) {
    case CommandCode::Require:
      return Flow::Next;
    case CommandCode::Stop:
      return Flow::Stop;
    case CommandCode::Return:
      return Flow::Return;
    case CommandCode::Keep: {
      Action x;
      x.kind = K::Keep;
      x.folder = "INBOX";
      set_store_flags(f, a, x);
      add_action(c.pos, std::move(x));
      out_.implicit_keep = false;
      kept_explicitly_ = true;
      return Flow::Next;
    }
    case CommandCode::Discard: {
      Action x;
      x.kind = K::Discard;
      add_action(c.pos, std::move(x));
      out_.implicit_keep = false;
      return Flow::Next;
    }
    case CommandCode::FileInto: {
      Action x;
      x.kind = K::FileInto;
      x.folder = str(f, arg(0));
      if (x.folder.empty() || !valid_utf8(x.folder))
        fail(c.pos, "fileinto: invalid folder name '" + x.folder + "'");
      for (char ch : x.folder)
        if (ch == '\r' || ch == '\n' || ch == '\0') fail(c.pos, "fileinto: invalid folder name");
      x.copy = a.has("copy");
      x.create = a.has("create");
      set_store_flags(f, a, x);
      add_action(c.pos, std::move(x));
      if (!a.has("copy")) out_.implicit_keep = false;
      return Flow::Next;
    }
    case CommandCode::Redirect: {
      Action x;
      x.kind = K::Redirect;
      std::string addr = str(f, arg(0));
      std::size_t lt = addr.find('<'), gt = addr.rfind('>');
      if (lt != std::string::npos && gt != std::string::npos && gt > lt)
        addr = addr.substr(lt + 1, gt - lt - 1);
      std::size_t b = addr.find_first_not_of(" \t"), e = addr.find_last_not_of(" \t");
      addr = b == std::string::npos ? "" : addr.substr(b, e - b + 1);
      std::size_t at = addr.rfind('@');
      bool ok = at != std::string::npos && at > 0 && at + 1 < addr.size();
      for (char ch : addr)
        if (static_cast<unsigned char>(ch) <= ' ' || ch == '<' || ch == '>' || ch == ',') ok = false;
      if (!ok) fail(c.pos, "redirect: invalid address '" + addr + "'");
      x.address = addr;
      x.copy = a.has("copy");
      bool copy = x.copy;
      add_action(c.pos, std::move(x));
      if (!copy) out_.implicit_keep = false;
      return Flow::Next;
    }
    case CommandCode::Reject:
    case CommandCode::EReject: {
      Action x;
      x.kind = c.code == CommandCode::Reject ? K::Reject : K::EReject;
      x.reason = str(f, arg(0));
      add_action(c.pos, std::move(x));
      out_.implicit_keep = false;
      return Flow::Next;
    }
    case CommandCode::SetFlag:
    case CommandCode::AddFlag:
    case CommandCode::RemoveFlag: {
      if (a.pos.empty()) fail(c.pos, c.name + ": missing flags");
      std::vector<std::string> values = list(f, *a.pos.back());
      std::vector<std::string> target;
      std::string var;
      if (a.pos.size() >= 2) {
        var = a.pos[0]->strings.empty() ? "" : a.pos[0]->strings.front();
        if (const std::string* cur = lookup_var(f, lower(var))) add_flags(target, {*cur});
      } else {
        target = flags_;
      }
      if (c.code == CommandCode::SetFlag) {
        target.clear();
        add_flags(target, values);
      } else if (c.code == CommandCode::AddFlag) {
        add_flags(target, values);
      } else {
        remove_flags(target, values);
      }
      if (a.pos.size() >= 2) {
        std::string joined;
        for (const auto& fl : target) joined += (joined.empty() ? "" : " ") + fl;
        set_var(f, c.pos, var, std::move(joined));
      } else {
        flags_ = std::move(target);
        flags_touched_ = true;
      }
      return Flow::Next;
    }
    case CommandCode::Set: {
      // Variable names are never expanded (RFC 5229 3: they are not strings that hold variables).
      std::string name = arg(0).strings.empty() ? "" : arg(0).strings.front();
      std::string v = str(f, arg(1));
      // RFC 5229 4.1: higher precedence first.
      auto has = [&](std::string_view t) { return a.has(t); };
      if (has("lower")) v = lower(v);
      if (has("upper"))
        for (char& ch : v)
          if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
      if (!v.empty() && has("lowerfirst") && v[0] >= 'A' && v[0] <= 'Z')
        v[0] = static_cast<char>(v[0] - 'A' + 'a');
      if (!v.empty() && has("upperfirst") && v[0] >= 'a' && v[0] <= 'z')
        v[0] = static_cast<char>(v[0] - 'a' + 'A');
      if (has("quotewildcard") || has("quoteregex")) {
        const char* specials = has("quoteregex") ? "\\^$.[]|()?*+{}" : "*?\\";
        std::string q;
        for (char ch : v) {
          if (std::strchr(specials, ch)) q += '\\';
          q += ch;
        }
        v = std::move(q);
      }
      if (has("length")) {
        std::size_t n = 0;
        for (unsigned char ch : v)
          if ((ch & 0xC0) != 0x80) ++n;
        v = std::to_string(n);
      }
      set_var(f, c.pos, name, std::move(v));
      return Flow::Next;
    }
    case CommandCode::Vacation: {
      Action x;
      x.kind = K::Vacation;
      VacationReply& r = x.vacation;
      r.reason = str(f, arg(0));
      r.mime = a.has("mime");
      uint64_t period = lim_.vacation_default_seconds;
      if (const Argument* d = a.val("days")) period = d->number * 86400;
      if (const Argument* s = a.val("seconds")) period = s->number;
      if (period > lim_.vacation_max_seconds) period = lim_.vacation_max_seconds;
      if (period < lim_.vacation_min_seconds) period = lim_.vacation_min_seconds;
      r.period_seconds = period;
      if (const Argument* s = a.val("subject")) {
        r.subject = str(f, *s);
      } else {
        auto subj = access().header("subject");
        r.subject = subj.empty() || subj.front().empty() ? "Automated reply" : "Auto: " + subj.front();
      }
      if (const Argument* s = a.val("from")) r.from = str(f, *s);
      if (const Argument* s = a.val("addresses")) r.addresses = list(f, *s);
      if (const Argument* s = a.val("handle")) {
        r.handle = str(f, *s);
      } else {
        // RFC 5230 4.2: the same arguments give the same handle.
        uint64_t h = fnv1a(r.reason);
        h = fnv1a("\x01" + (a.val("subject") ? r.subject : std::string()), h);
        h = fnv1a("\x01" + r.from, h);
        h = fnv1a(r.mime ? "\x01m" : "\x01", h);
        for (const auto& ad : r.addresses) h = fnv1a("\x02" + ad, h);
        char buf[20];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
        r.handle = buf;
      }
      add_action(c.pos, std::move(x));
      return Flow::Next;
    }
    case CommandCode::AddHeader: {
      std::string name = str(f, arg(0));
      std::string value = str(f, arg(1));
      if (!valid_field_name(name)) fail(c.pos, "addheader: invalid field name '" + name + "'");
      count_edit(c.pos);
      if (is_protected_field(name)) return Flow::Next;  // refused as Pigeonhole does: a warning, no change
      // Newlines become folding whitespace; other controls are refused.
      std::string v;
      for (std::size_t i = 0; i < value.size(); ++i) {
        char ch = value[i];
        if (ch == '\r' || ch == '\n') {
          if (ch == '\r' && i + 1 < value.size() && value[i + 1] == '\n') ++i;
          v += ' ';
          continue;
        }
        if (ch == '\0') fail(c.pos, "addheader: invalid value");
        v += ch;
      }
      bool ascii =
          std::all_of(v.begin(), v.end(), [](char ch) { return static_cast<unsigned char>(ch) < 128; });
      std::string field = name + ": " + (ascii ? v : encode_words(v)) + "\r\n";
      std::string_view m = message();
      std::string nm;
      nm.reserve(m.size() + field.size());
      if (a.has("last")) {
        HeaderSplit h = split_header(m);
        std::size_t at = h.header_end;
        nm.append(m.substr(0, at));
        if (at > 0 && m[at - 1] != '\n') nm += "\r\n";
        nm += field;
        nm.append(m.substr(at));
        if (at >= m.size()) nm += "\r\n";
      } else {
        nm = field;
        nm.append(m);
      }
      replace_message(std::move(nm));
      return Flow::Next;
    }
    case CommandCode::DeleteHeader: {
      std::string name = str(f, arg(0));
      if (!valid_field_name(name)) fail(c.pos, "deleteheader: invalid field name '" + name + "'");
      count_edit(c.pos);
      if (is_protected_field(name)) return Flow::Next;
      std::vector<std::string> keys;
      bool have_keys = a.pos.size() >= 2;
      if (have_keys) keys = list(f, *a.pos[1]);
      MatchSpec spec = spec_of(f, a, c.pos);
      std::string_view m = message();
      HeaderSplit h = split_header(m);
      uint64_t index = 0;
      if (const Argument* ix = a.val("index")) index = ix->number;
      std::vector<std::size_t> occ;  // fields with the name
      for (std::size_t i = 0; i < h.fields.size(); ++i)
        if (iequals(field_name(h.fields[i]), name)) occ.push_back(i);
      std::vector<bool> drop(h.fields.size(), false);
      for (std::size_t k = 0; k < occ.size(); ++k) {
        if (index) {
          std::size_t want =
              a.has("last") ? (index <= occ.size() ? occ.size() - index : SIZE_MAX) : index - 1;
          if (k != want) continue;
        }
        if (have_keys) {
          // RFC 5293 6: patterns match the field's decoded value, as the header test sees it.
          if (spec.type == MatchType::Count) continue;
          std::string one =
              std::string(field_name(h.fields[occ[k]])) + ": " + field_value(h.fields[occ[k]]) + "\r\n\r\n";
          MessageAccess ma(one);
          auto vals = ma.header(name);
          if (vals.empty()) vals.push_back(field_value(h.fields[occ[k]]));
          if (!match_value(spec, vals.front(), keys, nullptr)) continue;
        }
        drop[occ[k]] = true;
      }
      if (std::find(drop.begin(), drop.end(), true) == drop.end()) return Flow::Next;
      std::string nm;
      nm.reserve(m.size());
      for (std::size_t i = 0; i < h.fields.size(); ++i)
        if (!drop[i]) nm.append(h.fields[i]);
      nm.append(m.substr(h.header_end));
      replace_message(std::move(nm));
      return Flow::Next;
    }
    case CommandCode::Include:
      return include(f, c, a);
    case CommandCode::Global: {
      if (a.pos.empty()) return Flow::Next;
      for (const auto& n : a.pos[0]->strings) f.global_names.insert(lower(n));
      return Flow::Next;
    }
    case CommandCode::Error:
      fail(c.pos, a.pos.empty() ? std::string("error") : str(f, *a.pos[0]));
    case CommandCode::If:
    case CommandCode::ElsIf:
    case CommandCode::Else:
      return Flow::Next;  // handled by exec_block
    case CommandCode::Unknown:
      break;
  }
  fail(c.pos, "unsupported command '" + c.name + "'");
}

Flow Interp::include(Frame& f, const Command& c, const Args& a) {
  if (a.pos.empty()) fail(c.pos, "include: missing script name");
  std::string name = a.pos[0]->strings.empty() ? "" : a.pos[0]->strings.front();
  bool global = a.has("global");
  if (!global && chain_global_) fail(c.pos, "include: a global script cannot include a personal script");
  std::pair<std::string, bool> key{name, global};
  if (a.has("once") && included_once_.count(key)) return Flow::Next;
  for (const auto& s : include_stack_)
    if (s == key) fail(c.pos, "include: '" + name + "' includes itself (include cycle)");
  if (include_stack_.size() >= lim_.max_include_depth)
    fail(c.pos, "include: nested too deeply (limit " + std::to_string(lim_.max_include_depth) + ")");
  auto loaded = host_.load_include(name, global);
  if (auto* err = std::get_if<std::string>(&loaded)) {
    if (a.has("optional")) return Flow::Next;
    fail(c.pos, "include: cannot include '" + name + "': " + *err);
  }
  auto script = std::get<std::shared_ptr<const CompiledScript>>(loaded);
  if (!script) {
    if (a.has("optional")) return Flow::Next;
    fail(c.pos, "include: cannot include '" + name + "'");
  }
  loaded_.push_back(script);
  included_once_.insert(key);
  Frame sub;
  sub.ref = f.ref;
  sub.script = &script->script;
  sub.name = (global ? "global:" : "personal:") + name;
  sub.global = global;
  sub.variables = script_requires(script->script, "variables");
  sub.imap4flags = script_requires(script->script, "imap4flags");
  include_stack_.push_back(key);
  Flow fl;
  try {
    fl = exec_block(sub, script->script.commands);
  } catch (RunError& e) {
    include_stack_.pop_back();
    if (e.message.find(':') == std::string::npos || !e.message.starts_with("in "))
      e.message = "in included script '" + name + "' line " + std::to_string(e.line) + ": " + e.message;
    e.line = c.pos.line;
    throw;
  }
  include_stack_.pop_back();
  return fl == Flow::Stop ? Flow::Stop : Flow::Next;  // `return` ends only the included script
}

bool Interp::test_header(Frame& f, const Test& t, const Args& a) {
  if (a.pos.size() < 2) fail(t.pos, "header: missing arguments");
  std::vector<std::string> names = list(f, *a.pos[0]);
  std::vector<std::string> keys = list(f, *a.pos[1]);
  MatchSpec spec = spec_of(f, a, t.pos);
  const Argument* ix = a.val("index");
  std::vector<std::string> values;
  for (const auto& n : names) {
    const auto& v = cached_header(n);
    if (ix) {
      uint64_t i = ix->number;
      if (i == 0 || i > v.size()) continue;
      values.push_back(v[a.has("last") ? v.size() - i : i - 1]);
    } else {
      values.insert(values.end(), v.begin(), v.end());
    }
  }
  return match_values(f, spec, values, keys);
}

bool Interp::test_address(Frame& f, const Test& t, const Args& a, bool envelope) {
  if (a.pos.size() < 2) fail(t.pos, t.name + ": missing arguments");
  std::vector<std::string> names = list(f, *a.pos[0]);
  std::vector<std::string> keys = list(f, *a.pos[1]);
  MatchSpec spec = spec_of(f, a, t.pos);
  AddressPart part = AddressPart::All;
  if (a.has("localpart"))
    part = AddressPart::LocalPart;
  else if (a.has("domain"))
    part = AddressPart::Domain;
  else if (a.has("user"))
    part = AddressPart::User;
  else if (a.has("detail"))
    part = AddressPart::Detail;
  std::vector<std::string> addrs;
  const Argument* ix = a.val("index");
  for (const auto& n : names) {
    if (envelope) {
      std::string ln = lower(n);
      if (ln == "from")
        addrs.push_back(in_.envelope_from);
      else if (ln == "to")
        addrs.push_back(in_.envelope_to);
      else if (ln == "auth") {
        if (!in_.envelope_auth.empty()) addrs.push_back(in_.envelope_auth);
      } else {
        fail(t.pos, "envelope: unknown envelope part '" + n + "'");
      }
    } else if (ix) {
      auto raw = access().header(n, false);
      uint64_t i = ix->number;
      if (i == 0 || i > raw.size()) continue;
      std::string one = std::string(n) + ": " + raw[a.has("last") ? raw.size() - i : i - 1] + "\r\n\r\n";
      MessageAccess ma(one);
      for (auto& x : ma.addresses(n)) addrs.push_back(std::move(x));
    } else {
      const auto& v = cached_addresses(n);
      addrs.insert(addrs.end(), v.begin(), v.end());
    }
  }
  if (spec.type == MatchType::Count) return match_count(spec, addrs.size(), keys);
  std::vector<std::string> values;
  for (const auto& ad : addrs) {
    if (ad.empty()) {  // the null reverse-path: every part is ""
      if (part != AddressPart::Detail) values.emplace_back();
      continue;
    }
    if (auto p = address_part(ad, part)) values.push_back(std::move(*p));
  }
  return match_values(f, spec, values, keys);
}

bool Interp::test_date(Frame& f, const Test& t, const Args& a, bool current) {
  std::size_t need = current ? 2 : 3;
  if (a.pos.size() < need) fail(t.pos, t.name + ": missing arguments");
  std::string part = lower(str(f, *a.pos[need - 2]));
  std::vector<std::string> keys = list(f, *a.pos[need - 1]);
  MatchSpec spec = spec_of(f, a, t.pos);
  std::optional<int> zone;
  if (const Argument* z = a.val("zone")) {
    std::string zs = str(f, *z);
    zone = parse_zone(zs);
    if (!zone) return false;  // RFC 5260 4.1: an invalid zone fails the test... Pigeonhole: false
  }
  if (!is_date_part(part)) return false;
  std::vector<DateTime> dates;
  if (current) {
    dates.push_back(DateTime{in_.now, in_.local_zone_minutes});
  } else {
    std::string name = str(f, *a.pos[0]);
    auto raw = access().header(name);
    const Argument* ix = a.val("index");
    if (ix) {
      uint64_t i = ix->number;
      if (i == 0 || i > raw.size()) return false;
      raw = {raw[a.has("last") ? raw.size() - i : i - 1]};
    }
    for (auto& v : raw) {
      std::string_view dv = v;
      if (iequals(name, "received")) {  // RFC 5260 4.2: the date after the last ';'
        std::size_t sc = dv.rfind(';');
        if (sc == std::string_view::npos) continue;
        dv = dv.substr(sc + 1);
      }
      if (auto d = parse_date(dv)) dates.push_back(*d);
    }
  }
  std::vector<std::string> values;
  for (const auto& d : dates) {
    int z = zone ? *zone : (a.has("originalzone") && !current ? d.zone_minutes : in_.local_zone_minutes);
    if (auto p = date_part(d, part, z)) values.push_back(std::move(*p));
  }
  return match_values(f, spec, values, keys);
}

bool Interp::test_duplicate(Frame& f, const Test& t, const Args& a) {
  std::string handle;
  if (const Argument* h = a.val("handle")) handle = str(f, *h);
  std::string value;
  if (const Argument* u = a.val("uniqueid")) {
    value = str(f, *u);
  } else {
    std::string hn = "message-id";
    if (const Argument* h = a.val("header")) hn = str(f, *h);
    auto v = access().header(hn, false);
    if (v.empty() || v.front().empty()) return false;  // nothing to track: not a duplicate
    value = v.front();
  }
  uint64_t seconds = lim_.duplicate_default_seconds;
  if (const Argument* s = a.val("seconds")) seconds = s->number;
  if (seconds > lim_.duplicate_max_seconds) seconds = lim_.duplicate_max_seconds;
  std::string id = std::to_string(handle.size()) + ":" + handle + ":" + value;
  // One check per id and run: a later test of the same id in the run gives
  // the first one's answer and tracks nothing more.
  if (auto it = duplicate_checked_.find(id); it != duplicate_checked_.end()) return it->second;
  bool seen = host_.duplicate_seen(id, seconds);
  duplicate_checked_.emplace(id, seen);
  if (!seen || a.has("last")) out_.duplicate_marks.push_back(DuplicateMark{id, seconds});
  return seen;
}

bool Interp::test_spam(Frame& f, const Test& t, const Args& a, bool virus) {
  if (a.pos.empty()) fail(t.pos, t.name + ": missing value");
  std::vector<std::string> keys = list(f, *a.pos[0]);
  MatchSpec spec = spec_of(f, a, t.pos);
  std::string value = "0";
  if (virus) {
    if (in_.virus) value = std::to_string(std::clamp(*in_.virus, 1, 5));
  } else if (in_.spam_score) {
    double s = *in_.spam_score, mx = in_.spam_max > 0 ? in_.spam_max : 1;
    if (a.has("percent")) {
      value = std::to_string(static_cast<int>(std::clamp(std::lround(s / mx * 100.0), 0l, 100l)));
    } else {
      // Linear from 1 (score 0 or below) to 10 (at or above spam_max).
      int v = s <= 0 ? 1 : s >= mx ? 10 : std::clamp(1 + static_cast<int>(s / mx * 9.0), 1, 9);
      value = std::to_string(v);
    }
  }
  if (spec.type == MatchType::Count) return match_count(spec, 1, keys);
  return match_values(f, spec, {value}, keys);
}

bool Interp::test(Frame& f, const Test& t) {
  step(t.pos);
  switch (t.code) {
    case TestCode::True:
      return true;
    case TestCode::False:
      return false;
    case TestCode::Not:
      return t.tests.empty() ? true : !test(f, t.tests.front());
    case TestCode::AllOf:
      for (const auto& x : t.tests)
        if (!test(f, x)) return false;
      return true;
    case TestCode::AnyOf:
      for (const auto& x : t.tests)
        if (test(f, x)) return true;
      return false;
    default:
      break;
  }
  Args a = split_args(t.args);
  switch (t.code) {
    case TestCode::Header:
      return test_header(f, t, a);
    case TestCode::Address:
      return test_address(f, t, a, false);
    case TestCode::Envelope:
      return test_address(f, t, a, true);
    case TestCode::Exists: {
      if (a.pos.empty()) fail(t.pos, "exists: missing header names");
      for (const auto& n : list(f, *a.pos[0]))
        if (!access().has_header(n)) return false;
      return true;
    }
    case TestCode::Size: {
      uint64_t n = 0;
      const Argument* v = a.val("over");
      if (!v) v = a.val("under");
      if (!v && !a.pos.empty()) v = a.pos[0];
      if (v) n = v->number;
      return a.has("over") ? message().size() > n : message().size() < n;
    }
    case TestCode::Body: {
      if (a.pos.empty()) fail(t.pos, "body: missing keys");
      std::vector<std::string> keys = list(f, *a.pos[0]);
      MatchSpec spec = spec_of(f, a, t.pos);
      std::vector<std::string> values;
      if (a.has("raw"))
        values.emplace_back(access().body_raw());
      else if (const Argument* ct = a.val("content"))
        values = access().body_content(list(f, *ct));
      else
        values = access().body_text();
      return match_values(f, spec, values, keys);
    }
    case TestCode::Date:
      return test_date(f, t, a, false);
    case TestCode::CurrentDate:
      return test_date(f, t, a, true);
    case TestCode::String: {
      if (a.pos.size() < 2) fail(t.pos, "string: missing arguments");
      std::vector<std::string> src = list(f, *a.pos[0]);
      std::vector<std::string> keys = list(f, *a.pos[1]);
      MatchSpec spec = spec_of(f, a, t.pos);
      if (spec.type == MatchType::Count) {  // RFC 5229 5: empty strings are not counted
        std::size_t n =
            std::count_if(src.begin(), src.end(), [](const std::string& s) { return !s.empty(); });
        return match_count(spec, n, keys);
      }
      return match_values(f, spec, src, keys);
    }
    case TestCode::HasFlag: {
      if (a.pos.empty()) fail(t.pos, "hasflag: missing flags");
      std::vector<std::string> keys = list(f, *a.pos.back());
      std::vector<std::string> have;
      if (a.pos.size() >= 2) {
        for (const auto& v : a.pos[0]->strings)
          if (const std::string* cur = lookup_var(f, lower(v))) add_flags(have, {*cur});
      } else {
        have = flags_;
      }
      MatchSpec spec = spec_of(f, a, t.pos);
      if (spec.type !=
          MatchType::Count) {  // keys are flag lists too ("a b" = a, b), as Pigeonhole reads them
        std::vector<std::string> split;
        for (const auto& k : keys) {
          std::size_t i = 0;
          while (i < k.size()) {
            while (i < k.size() && k[i] == ' ') ++i;
            std::size_t j = k.find(' ', i);
            if (j == std::string::npos) j = k.size();
            if (j > i) split.push_back(k.substr(i, j - i));
            i = j;
          }
        }
        keys = std::move(split);
      }
      return match_values(f, spec, have, keys);
    }
    case TestCode::MailboxExists: {
      if (a.pos.empty()) fail(t.pos, "mailboxexists: missing names");
      for (const auto& n : list(f, *a.pos[0]))
        if (!host_.mailbox_exists(n)) return false;
      return true;
    }
    case TestCode::Duplicate:
      return test_duplicate(f, t, a);
    case TestCode::SpamTest:
      return test_spam(f, t, a, false);
    case TestCode::VirusTest:
      return test_spam(f, t, a, true);
    case TestCode::Environment: {
      if (a.pos.size() < 2) fail(t.pos, "environment: missing arguments");
      std::string item = lower(str(f, *a.pos[0]));
      auto it = in_.environment.find(item);
      if (it == in_.environment.end()) return false;
      std::vector<std::string> keys = list(f, *a.pos[1]);
      return match_values(f, spec_of(f, a, t.pos), {it->second}, keys);
    }
    case TestCode::Ihave: {
      if (a.pos.empty()) return false;
      const auto& sup = supported_extensions();
      for (const auto& n : list(f, *a.pos[0]))
        if (std::none_of(sup.begin(), sup.end(), [&](const std::string& s) { return iequals(s, n); }))
          return false;
      return true;
    }
    default:
      break;
  }
  fail(t.pos, "unsupported test '" + t.name + "'");
}

void Interp::run_script(const ScriptRef& ref) {
  Frame f;
  f.ref = &ref;
  f.script = &ref.script->script;
  f.name = ref.name;
  f.global = ref.global;
  f.variables = script_requires(*f.script, "variables");
  f.imap4flags = script_requires(*f.script, "imap4flags");
  chain_name_ = ref.name;
  chain_global_ = ref.global;
  flags_.clear();
  flags_touched_ = false;
  match_vars_.clear();
  kept_explicitly_ = false;
  include_stack_.clear();
  included_once_.clear();
  include_stack_.push_back({ref.name, ref.global});
  exec_block(f, f.script->commands);
  include_stack_.clear();
}

Outcome Interp::run_chain(const std::vector<ScriptRef>& chain) {
  std::string current;
  try {
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const ScriptRef& ref = chain[i];
      if (!ref.script) continue;
      current = ref.name;
      out_.implicit_keep = true;
      run_script(ref);
      bool kept = out_.implicit_keep || kept_explicitly_;
      bool last = i + 1 == chain.size();
      if (!kept) break;
      if (!last) {
        // The keep passes to the next script: its own actions decide it.
        std::erase_if(out_.actions, [](const Action& x) { return x.kind == Action::Kind::Keep; });
        out_.implicit_keep = true;
      }
    }
  } catch (const RunError& e) {
    Outcome o;
    o.steps = out_.steps;
    o.errors.push_back(current + ":" + std::to_string(e.line) + ": " + e.message);
    return o;
  }
  if (out_.implicit_keep) {
    // A keep or `fileinto :copy "INBOX"` already stores into INBOX: the
    // implicit keep would store the same message twice (RFC 5228 2.10.3).
    for (const auto& a : out_.actions)
      if ((a.kind == Action::Kind::Keep || a.kind == Action::Kind::FileInto) && iequals(a.folder, "INBOX"))
        out_.implicit_keep = false;
  }
  if (out_.implicit_keep) {
    out_.implicit_keep_flags = flags_;
    out_.implicit_keep_flags_given = flags_touched_;
    out_.final_message = edited_;
  }
  return std::move(out_);
}

}  // namespace

Outcome run(const std::vector<ScriptRef>& chain, const MessageInput& input, Host& host,
            const Limits& limits) {
  Interp in(input, host, limits);
  return in.run_chain(chain);
}

}  // namespace mailfort::sieve
