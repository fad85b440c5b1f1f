#include "proto/smtp/path.h"

#include "base/text.h"

#include <arpa/inet.h>

#include <cctype>

namespace mailfort::proto::smtp {
namespace {

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool eof() const { return i_ >= s_.size(); }
  char peek() const { return eof() ? '\0' : s_[i_]; }
  char get() { return eof() ? '\0' : s_[i_++]; }
  bool take(char c) {
    if (peek() != c || eof()) return false;
    ++i_;
    return true;
  }
  std::size_t pos() const { return i_; }
  std::string_view rest() const { return s_.substr(i_); }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

bool parse_dot_string(Cursor& c, Mailbox& m) {
  bool need_atom = true;
  while (!c.eof()) {
    unsigned char ch = static_cast<unsigned char>(c.peek());
    if (is_atext(ch)) {
      if (ch >= 0x80) m.non_ascii = true;
      m.local.push_back(c.get());
      need_atom = false;
    } else if (ch == '.' && !need_atom) {
      m.local.push_back(c.get());
      need_atom = true;
    } else {
      break;
    }
  }
  return !need_atom;  // non-empty, no trailing dot
}

bool parse_quoted_string(Cursor& c, Mailbox& m) {
  if (!c.take('"')) return false;
  m.quoted = true;
  while (!c.eof()) {
    unsigned char ch = static_cast<unsigned char>(c.get());
    if (ch == '"') return true;
    if (ch == '\\') {
      unsigned char q = static_cast<unsigned char>(c.get());
      if (q < 32 || q == 127) return false;  // quoted-pair is %d92 %d32-126
      m.local.push_back(static_cast<char>(q));
      continue;
    }
    if (ch < 32 || ch == 127) return false;
    if (ch >= 0x80) m.non_ascii = true;
    m.local.push_back(static_cast<char>(ch));
  }
  return false;  // unterminated
}

bool valid_ip_literal(std::string_view lit) {
  // lit is the text between '[' and ']'.
  unsigned char buf[16];
  if (lit.size() > 5 && iequals(lit.substr(0, 5), "IPv6:")) {
    std::string a(lit.substr(5));
    return inet_pton(AF_INET6, a.c_str(), buf) == 1;
  }
  std::string a(lit);
  return inet_pton(AF_INET, a.c_str(), buf) == 1;
}

bool parse_domain(Cursor& c, Mailbox& m) {
  if (c.peek() == '[') {
    std::string lit;
    c.get();
    while (!c.eof() && c.peek() != ']') {
      char ch = c.get();
      if (static_cast<unsigned char>(ch) <= 32 || ch == '[' || ch == '\\') return false;
      lit.push_back(ch);
    }
    if (!c.take(']') || !valid_ip_literal(lit)) return false;
    m.ip_literal = true;
    m.domain = "[" + lit + "]";
    return true;
  }
  std::size_t label = 0;
  char prev = '.';
  while (!c.eof()) {
    unsigned char ch = static_cast<unsigned char>(c.peek());
    if (std::isalnum(ch) || ch >= 0x80) {
      if (ch >= 0x80) m.non_ascii = true;
      ++label;
    } else if (ch == '-') {
      if (prev == '.') return false;
      ++label;
    } else if (ch == '.') {
      if (prev == '.' || prev == '-') return false;
      label = 0;
    } else {
      break;
    }
    if (label > 63) return false;
    prev = static_cast<char>(ch);
    char got = c.get();
    m.domain.push_back(got >= 'A' && got <= 'Z' ? static_cast<char>(got - 'A' + 'a') : got);
  }
  return !m.domain.empty() && prev != '.' && prev != '-';
}

// Source route "@a,@b:" (RFC 5321 4.1.2 A-d-l): parsed and ignored.
bool skip_source_route(Cursor& c) {
  if (c.peek() != '@') return true;
  while (c.take('@')) {
    Mailbox scratch;
    if (!parse_domain(c, scratch)) return false;
    if (c.take(':')) return true;
    if (!c.take(',')) return false;
  }
  return false;
}

bool parse_params(std::string_view text, std::vector<EsmtpParam>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size()) break;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    std::string_view word = text.substr(start, i - start);
    EsmtpParam p;
    auto eq = word.find('=');
    std::string_view key = word.substr(0, eq);
    if (key.empty() || !std::isalnum(static_cast<unsigned char>(key[0]))) return false;
    for (char ch : key) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') return false;
      p.keyword.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    }
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.value = std::string(word.substr(eq + 1));
      if (p.value.empty()) return false;
      for (unsigned char ch : p.value)
        if (ch < 33 || ch == '=' || ch == 127) return false;
    }
    if (out.size() >= 16) return false;  // no real client sends more
    out.push_back(std::move(p));
  }
  return true;
}

}  // namespace

std::string Mailbox::str() const {
  bool needs_quote = quoted && ([&] {
                       if (local.empty() || local.front() == '.' || local.back() == '.') return true;
                       char prev = 0;
                       for (unsigned char ch : local) {
                         if (!is_atext(ch) && ch != '.') return true;
                         if (ch == '.' && prev == '.') return true;
                         prev = static_cast<char>(ch);
                       }
                       return false;
                     }());
  std::string l;
  if (needs_quote) {
    l.push_back('"');
    for (char ch : local) {
      if (ch == '"' || ch == '\\') l.push_back('\\');
      l.push_back(ch);
    }
    l.push_back('"');
  } else {
    l = local;
  }
  return domain.empty() ? l : l + "@" + domain;
}

PathResult parse_path_args(std::string_view args, std::string_view keyword) {
  PathResult r;
  if (args.size() < keyword.size() + 1 || !iequals(args.substr(0, keyword.size()), keyword) ||
      args[keyword.size()] != ':') {
    r.error = PathError::Syntax;
    return r;
  }
  Cursor c(args.substr(keyword.size() + 1));
  while (c.take(' ')) {
  }
  if (!c.take('<')) {
    r.error = PathError::Syntax;
    return r;
  }
  std::size_t path_start = c.pos();
  if (c.take('>')) {
    r.args.null_path = true;
  } else {
    if (!skip_source_route(c)) {
      r.error = PathError::BadAddress;
      return r;
    }
    Mailbox& m = r.args.mailbox;
    bool local_ok = c.peek() == '"' ? parse_quoted_string(c, m) : parse_dot_string(c, m);
    if (!local_ok) {
      r.error = PathError::BadAddress;
      return r;
    }
    if (c.take('@')) {
      if (!parse_domain(c, m)) {
        r.error = PathError::BadAddress;
        return r;
      }
    } else if (!m.quoted && iequals(m.local, "postmaster")) {
      r.args.postmaster_only = true;  // RFC 5321 4.1.1.3: <Postmaster> without domain
    } else {
      r.error = PathError::BadAddress;
      return r;
    }
    if (!c.take('>')) {
      r.error = PathError::BadAddress;  // e.g. user@remote@local
      return r;
    }
    if (m.local.size() > 64 || m.domain.size() > 255 || c.pos() - path_start > 256) {
      r.error = PathError::TooLong;
      return r;
    }
  }
  std::string_view rest = c.rest();
  if (!rest.empty() && rest.front() != ' ') {
    r.error = PathError::Syntax;
    return r;
  }
  if (!parse_params(rest, r.args.params)) r.error = PathError::BadParams;
  return r;
}

std::optional<Mailbox> parse_mailbox(std::string_view text) {
  Cursor c(text);
  Mailbox m;
  bool ok = c.peek() == '"' ? parse_quoted_string(c, m) : parse_dot_string(c, m);
  if (!ok || !c.take('@') || !parse_domain(c, m) || !c.eof()) return std::nullopt;
  if (m.local.size() > 64 || m.domain.size() > 255) return std::nullopt;
  return m;
}

}  // namespace mailfort::proto::smtp
