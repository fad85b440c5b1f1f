#include "proto/mail/address.h"

#include "base/text.h"

namespace mailfort::proto::mail {
namespace {

bool is_control(unsigned char c) {
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

struct Token {
  enum class Kind { End, Atom, Quoted, Literal, Special };
  Kind kind = Kind::End;
  std::string text;           // atom, unquoted string, "[literal]"; the character of a Special
  bool space_before = false;  // CFWS between this token and the one before
  bool is(char c) const { return kind == Kind::Special && text.size() == 1 && text[0] == c; }
  bool is_word() const { return kind == Kind::Atom || kind == Kind::Quoted; }
};

// Splits the field body into tokens, dropping comments and folding
// whitespace (remembered as `space_before`).
class Lexer {
 public:
  Lexer(std::string_view s, std::size_t max_depth) : s_(s), max_depth_(max_depth) {}
  AddressError error() const { return error_; }

  Token next() {
    Token t;
    t.space_before = skip_cfws();
    if (error_ != AddressError::None || i_ >= s_.size()) return t;
    unsigned char c = static_cast<unsigned char>(s_[i_]);
    if (is_atext(c)) {
      t.kind = Token::Kind::Atom;
      while (i_ < s_.size() && is_atext(static_cast<unsigned char>(s_[i_]))) t.text.push_back(s_[i_++]);
    } else if (c == '"') {
      t.kind = Token::Kind::Quoted;
      if (!quoted_string(t.text)) return fail(AddressError::Syntax);
    } else if (c == '[') {
      t.kind = Token::Kind::Literal;
      if (!domain_literal(t.text)) return fail(AddressError::Syntax);
    } else if (is_control(c) || c == '\r' || c == '\n' || c == '\\' || c == ']' || c == ')') {
      return fail(AddressError::Syntax);
    } else {
      t.kind = Token::Kind::Special;  // < > : ; @ , .
      t.text.push_back(static_cast<char>(c));
      ++i_;
    }
    return t;
  }

 private:
  Token fail(AddressError e) {
    error_ = e;
    i_ = s_.size();
    return Token{};
  }

  // FWS (RFC 5322 3.2.2): blanks, and CRLF only when a blank follows.
  bool fws() {
    bool any = false;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t') {
        ++i_;
      } else if (c == '\r' && i_ + 2 < s_.size() && s_[i_ + 1] == '\n' &&
                 (s_[i_ + 2] == ' ' || s_[i_ + 2] == '\t')) {
        i_ += 2;
      } else if (c == '\r' && i_ + 2 == s_.size() && s_[i_ + 1] == '\n') {
        i_ += 2;  // the field's own line end
      } else {
        break;
      }
      any = true;
    }
    return any;
  }

  bool skip_cfws() {
    bool any = false;
    while (true) {
      any |= fws();
      if (i_ >= s_.size() || s_[i_] != '(') return any;
      any = true;
      if (!comment()) return any;
    }
  }

  // Nested comments with quoted-pairs; the depth is bounded.
  bool comment() {
    std::size_t depth = 0;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '(') {
        if (++depth > max_depth_) {
          fail(AddressError::TooDeep);
          return false;
        }
        ++i_;
      } else if (c == ')') {
        ++i_;
        if (--depth == 0) return true;
      } else if (c == '\\') {
        if (i_ + 1 >= s_.size() || !quoted_pair_ok(s_[i_ + 1])) break;
        i_ += 2;
      } else if (c == '\r' || c == '\n') {
        if (!fws()) break;
      } else if (is_control(static_cast<unsigned char>(c))) {
        break;
      } else {
        ++i_;
      }
    }
    fail(AddressError::Syntax);
    return false;
  }

  static bool quoted_pair_ok(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  }

  bool quoted_string(std::string& out) {
    ++i_;  // opening quote
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c == '\\') {
        if (i_ + 1 >= s_.size() || !quoted_pair_ok(s_[i_ + 1])) return false;
        out.push_back(s_[i_ + 1]);
        i_ += 2;
      } else if (c == '\r' || c == '\n') {
        std::size_t before = i_;
        if (!fws() || i_ >= s_.size()) return false;
        // Unfolding keeps the blanks, drops the CRLF.
        for (std::size_t k = before; k < i_; ++k)
          if (s_[k] == ' ' || s_[k] == '\t') out.push_back(s_[k]);
      } else if (is_control(static_cast<unsigned char>(c))) {
        return false;
      } else {
        out.push_back(c);
        ++i_;
      }
    }
    return false;  // unterminated
  }

  // "[" *dtext "]" without folding or quoted-pairs (those are obsolete).
  bool domain_literal(std::string& out) {
    out.push_back(s_[i_++]);
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == ']') {
        out.push_back(s_[i_++]);
        return true;
      }
      if (c <= 0x20 || c == 0x7f || c == '[' || c == '\\') return false;
      out.push_back(static_cast<char>(c));
      ++i_;
    }
    return false;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::size_t max_depth_;
  AddressError error_ = AddressError::None;
};

class Parser {
 public:
  Parser(std::string_view s, const AddressLimits& limits)
      : lex_(s, limits.max_comment_depth), limits_(limits) {
    advance();
  }

  AddressList run() {
    while (ok() && cur_.kind != Token::Kind::End) {
      if (cur_.is(',')) {  // obs-addr-list: empty elements
        advance();
        continue;
      }
      if (!address(true)) break;
      if (cur_.is(',')) {
        advance();
      } else if (cur_.kind != Token::Kind::End) {
        set(AddressError::Syntax);
      }
    }
    if (lex_.error() != AddressError::None && out_.error == AddressError::None) out_.error = lex_.error();
    if (!ok()) out_.mailboxes.clear();
    return std::move(out_);
  }

 private:
  bool ok() const { return out_.error == AddressError::None && lex_.error() == AddressError::None; }
  void advance() { cur_ = lex_.next(); }
  bool set(AddressError e) {
    if (out_.error == AddressError::None) out_.error = e;
    return false;
  }

  // address = mailbox / group; mailbox = name-addr / addr-spec.
  bool address(bool allow_group) {
    if (cur_.is('<')) return angle_addr();
    // A display name, a group name or a local part: words and dots until
    // the token that tells which.
    std::vector<Token> words;
    while (cur_.is_word() || cur_.is('.')) {
      words.push_back(std::move(cur_));
      advance();
    }
    if (!ok()) return false;
    if (words.empty() || !words.front().is_word()) return set(AddressError::Syntax);
    if (cur_.is('<')) return angle_addr();  // name-addr; obs-phrase allows the dots
    if (cur_.is(':')) {
      if (!allow_group) return set(AddressError::Syntax);
      return group();
    }
    if (cur_.is('@')) return addr_spec_after_local(words);
    return set(AddressError::Syntax);
  }

  bool group() {
    ++out_.groups;
    advance();  // ':'
    while (ok()) {
      if (cur_.is(';')) {
        advance();
        return true;
      }
      if (cur_.is(',')) {
        advance();
        continue;
      }
      if (cur_.kind == Token::Kind::End) return set(AddressError::Syntax);
      if (!address(false)) return false;
      if (!cur_.is(',') && !cur_.is(';')) return set(AddressError::Syntax);
    }
    return false;
  }

  bool angle_addr() {
    advance();  // '<'
    std::vector<Token> words;
    while (cur_.is_word() || cur_.is('.')) {
      words.push_back(std::move(cur_));
      advance();
    }
    if (!ok()) return false;
    // Route addresses (<@a,@b:x@y>) and "<>" are refused here.
    if (words.empty() || !cur_.is('@')) return set(AddressError::Syntax);
    if (!addr_spec_after_local(words)) return false;
    if (!cur_.is('>')) return set(AddressError::Syntax);
    advance();
    return true;
  }

  // `words` is the local part; the current token is '@'.
  bool addr_spec_after_local(const std::vector<Token>& words) {
    HeaderMailbox m;
    if (words.size() == 1 && words[0].kind == Token::Kind::Quoted) {
      m.local = words[0].text;
      m.quoted = true;
    } else {
      // dot-atom-text: atom *("." atom), no CFWS inside.
      for (std::size_t i = 0; i < words.size(); ++i) {
        const Token& w = words[i];
        bool want_atom = i % 2 == 0;
        if (i > 0 && w.space_before) return set(AddressError::Syntax);
        if (want_atom ? w.kind != Token::Kind::Atom : !w.is('.')) return set(AddressError::Syntax);
        m.local += w.text;
      }
      if (words.size() % 2 == 0) return set(AddressError::Syntax);  // trailing dot
    }
    if (m.local.empty()) return set(AddressError::Syntax);
    advance();  // '@'
    if (cur_.kind == Token::Kind::Literal) {
      m.domain = to_lower(cur_.text);
      m.domain_literal = true;
      advance();
    } else {
      bool want_atom = true;
      bool first = true;
      while (want_atom ? cur_.kind == Token::Kind::Atom : cur_.is('.')) {
        if (!first && cur_.space_before) return set(AddressError::Syntax);
        m.domain += cur_.text;
        want_atom = !want_atom;
        first = false;
        advance();
      }
      if (!ok()) return false;
      if (m.domain.empty() || want_atom) return set(AddressError::Syntax);  // empty or trailing dot
      // "a@b.c d" is not a domain with a space in it.
      if (cur_.kind == Token::Kind::Atom || cur_.kind == Token::Kind::Quoted)
        return set(AddressError::Syntax);
      m.domain = to_lower(m.domain);
    }
    if (out_.mailboxes.size() >= limits_.max_mailboxes) return set(AddressError::TooMany);
    out_.mailboxes.push_back(std::move(m));
    return true;
  }

  Lexer lex_;
  AddressLimits limits_;
  Token cur_;
  AddressList out_;
};

}  // namespace

AddressList parse_address_list(std::string_view value, const AddressLimits& limits) {
  return Parser(value, limits).run();
}

const char* address_error_name(AddressError e) {
  switch (e) {
    case AddressError::None:
      return "none";
    case AddressError::Syntax:
      return "syntax";
    case AddressError::TooMany:
      return "too-many";
    case AddressError::TooDeep:
      return "too-deep";
  }
  return "?";
}

}  // namespace mailfort::proto::mail
