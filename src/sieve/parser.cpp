// The Sieve grammar (RFC 5228 sections 2 and 8.1). A single-pass lexer
// feeds a recursive-descent parser; recursion depth is bounded by
// max_nesting so hostile input cannot exhaust the stack.
#include "sieve/parser.h"

#include <cctype>
#include <limits>
#include <string>

namespace mailfort::sieve {
namespace {

enum class Tok {
  End,
  Error,
  Identifier,
  Tag,
  Number,
  String,
  MultiLine,
  LBracket,
  RBracket,
  LParen,
  RParen,
  LBrace,
  RBrace,
  Comma,
  Semicolon
};

struct Token {
  Tok kind = Tok::End;
  Position pos;
  std::string text;  // identifier/tag (lower-cased), string contents, or error message
  uint64_t number = 0;
};

bool is_alpha_(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token next() {
    if (auto err = skip_space_and_comments(); !err.empty()) return error(err_pos_, std::move(err));
    Token t;
    t.pos = here();
    if (i_ >= text_.size()) return t;
    char c = text_[i_];
    switch (c) {
      case '[':
        advance();
        t.kind = Tok::LBracket;
        return t;
      case ']':
        advance();
        t.kind = Tok::RBracket;
        return t;
      case '(':
        advance();
        t.kind = Tok::LParen;
        return t;
      case ')':
        advance();
        t.kind = Tok::RParen;
        return t;
      case '{':
        advance();
        t.kind = Tok::LBrace;
        return t;
      case '}':
        advance();
        t.kind = Tok::RBrace;
        return t;
      case ',':
        advance();
        t.kind = Tok::Comma;
        return t;
      case ';':
        advance();
        t.kind = Tok::Semicolon;
        return t;
      case '"':
        return quoted(t.pos);
      default:
        break;
    }
    if (c == ':') {
      advance();
      if (i_ >= text_.size() || !is_alpha_(text_[i_])) return error(t.pos, "expected a tag name after ':'");
      t.kind = Tok::Tag;
      t.text = identifier();
      return t;
    }
    if (is_digit(c)) return number(t.pos);
    if (is_alpha_(c)) {
      std::string id = identifier();
      if (id == "text" && i_ < text_.size() && text_[i_] == ':') {
        advance();
        return multiline(t.pos);
      }
      t.kind = Tok::Identifier;
      t.text = std::move(id);
      return t;
    }
    if (c == '\r' || c == '\n') return error(t.pos, "unexpected line break");
    std::string msg = "unexpected character '";
    if (std::isprint(static_cast<unsigned char>(c)))
      msg += c;
    else {
      static const char* hex = "0123456789abcdef";
      msg += "\\x";
      msg += hex[(static_cast<unsigned char>(c) >> 4) & 15];
      msg += hex[static_cast<unsigned char>(c) & 15];
    }
    msg += "'";
    return error(t.pos, std::move(msg));
  }

 private:
  Position here() const { return {line_, col_}; }

  // Advances one byte, counting lines: CRLF, a bare LF or a bare CR each end a line.
  void advance() {
    char c = text_[i_++];
    if (c == '\n' || (c == '\r' && (i_ >= text_.size() || text_[i_] != '\n'))) {
      ++line_;
      col_ = 1;
    } else if (c != '\r') {
      ++col_;
    }
  }

  Token error(Position p, std::string msg) {
    Token t;
    t.kind = Tok::Error;
    t.pos = p;
    t.text = std::move(msg);
    return t;
  }

  std::string skip_space_and_comments() {
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        advance();
      } else if (c == '#') {
        while (i_ < text_.size() && text_[i_] != '\n' && text_[i_] != '\r') advance();
      } else if (c == '/' && i_ + 1 < text_.size() && text_[i_ + 1] == '*') {
        err_pos_ = here();
        advance();
        advance();
        bool closed = false;
        while (i_ < text_.size()) {
          if (text_[i_] == '*' && i_ + 1 < text_.size() && text_[i_ + 1] == '/') {
            advance();
            advance();
            closed = true;
            break;
          }
          advance();
        }
        if (!closed) return "unterminated comment";
      } else {
        break;
      }
    }
    return {};
  }

  std::string identifier() {
    std::string id;
    while (i_ < text_.size() && (is_alpha_(text_[i_]) || is_digit(text_[i_]))) {
      id += static_cast<char>(std::tolower(static_cast<unsigned char>(text_[i_])));
      advance();
    }
    return id;
  }

  Token number(Position p) {
    uint64_t v = 0;
    bool overflow = false;
    while (i_ < text_.size() && is_digit(text_[i_])) {
      unsigned d = static_cast<unsigned>(text_[i_] - '0');
      if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) overflow = true;
      if (!overflow) v = v * 10 + d;
      advance();
    }
    if (i_ < text_.size()) {
      char q = static_cast<char>(std::toupper(static_cast<unsigned char>(text_[i_])));
      unsigned shift = q == 'K' ? 10 : q == 'M' ? 20 : q == 'G' ? 30 : 0;
      if (shift != 0) {
        advance();
        if (v > (std::numeric_limits<uint64_t>::max() >> shift)) overflow = true;
        v <<= shift;
      }
    }
    if (i_ < text_.size() && (is_alpha_(text_[i_]) || is_digit(text_[i_]))) return error(p, "invalid number");
    if (overflow) return error(p, "number too large");
    Token t;
    t.kind = Tok::Number;
    t.pos = p;
    t.number = v;
    return t;
  }

  Token quoted(Position p) {
    advance();  // the opening quote
    std::string s;
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (c == '"') {
        advance();
        Token t;
        t.kind = Tok::String;
        t.pos = p;
        t.text = std::move(s);
        return t;
      }
      if (c == '\\') {
        advance();
        if (i_ >= text_.size()) break;
        c = text_[i_];
      }
      // A bare CR or LF inside a string is kept as written (RFC 5228
      // section 2.4.2 allows line breaks in quoted strings).
      s += c;
      advance();
    }
    return error(p, "unterminated string");
  }

  // After "text:": optional white space and a hash comment, then a line
  // break; lines up to a line holding only "."; a leading ".." is one ".".
  Token multiline(Position p) {
    while (i_ < text_.size() && (text_[i_] == ' ' || text_[i_] == '\t')) advance();
    if (i_ < text_.size() && text_[i_] == '#')
      while (i_ < text_.size() && text_[i_] != '\n' && text_[i_] != '\r') advance();
    if (!eat_line_break()) return error(p, "expected a line break after 'text:'");
    std::string s;
    while (i_ < text_.size()) {
      std::size_t start = i_;
      while (i_ < text_.size() && text_[i_] != '\n' && text_[i_] != '\r') advance();
      std::string_view line = text_.substr(start, i_ - start);
      bool had_break = eat_line_break();
      if (line == ".") {
        if (!had_break && i_ < text_.size()) break;
        Token t;
        t.kind = Tok::MultiLine;
        t.pos = p;
        t.text = std::move(s);
        return t;
      }
      if (line.size() >= 2 && line[0] == '.' && line[1] == '.') line.remove_prefix(1);
      s.append(line);
      if (!had_break) break;
      s += "\r\n";
    }
    return error(p, "unterminated multi-line string (no line with a single '.')");
  }

  bool eat_line_break() {
    if (i_ < text_.size() && text_[i_] == '\r') {
      advance();
      if (i_ < text_.size() && text_[i_] == '\n') advance();
      return true;
    }
    if (i_ < text_.size() && text_[i_] == '\n') {
      advance();
      return true;
    }
    return false;
  }

  std::string_view text_;
  std::size_t i_ = 0;
  int line_ = 1;
  int col_ = 1;
  Position err_pos_;
};

const char* describe(Tok k) {
  switch (k) {
    case Tok::End:
      return "end of script";
    case Tok::Error:
      return "error";
    case Tok::Identifier:
      return "identifier";
    case Tok::Tag:
      return "tag";
    case Tok::Number:
      return "number";
    case Tok::String:
      return "string";
    case Tok::MultiLine:
      return "string";
    case Tok::LBracket:
      return "'['";
    case Tok::RBracket:
      return "']'";
    case Tok::LParen:
      return "'('";
    case Tok::RParen:
      return "')'";
    case Tok::LBrace:
      return "'{'";
    case Tok::RBrace:
      return "'}'";
    case Tok::Comma:
      return "','";
    case Tok::Semicolon:
      return "';'";
  }
  return "token";
}

struct Failed {};  // unwinds to parse() after the first syntax error

class Parser {
 public:
  Parser(std::string_view text, std::size_t max_nesting) : lex_(text), max_nesting_(max_nesting) {}

  ParseResult run() {
    ParseResult r;
    try {
      shift();
      while (cur_.kind != Tok::End) r.script.commands.push_back(command(0));
    } catch (const Failed&) {
      r.errors.push_back(error_);
      r.script = {};
    }
    return r;
  }

 private:
  void shift() {
    cur_ = lex_.next();
    if (cur_.kind == Tok::Error) fail(cur_.pos, cur_.text);
  }

  [[noreturn]] void fail(Position p, std::string msg) {
    error_ = {p, std::move(msg)};
    throw Failed{};
  }

  [[noreturn]] void unexpected(const char* wanted) {
    std::string msg = std::string("expected ") + wanted + ", found " + describe(cur_.kind);
    if (cur_.kind == Tok::Identifier) msg += " '" + cur_.text + "'";
    if (cur_.kind == Tok::Tag) msg += " ':" + cur_.text + "'";
    fail(cur_.pos, std::move(msg));
  }

  void check_depth(std::size_t depth) {
    if (depth >= max_nesting_)
      fail(cur_.pos, "nesting too deep (at most " + std::to_string(max_nesting_) + " levels)");
  }

  Command command(std::size_t depth) {
    if (cur_.kind != Tok::Identifier) unexpected("a command");
    Command c;
    c.name = cur_.text;
    c.pos = cur_.pos;
    shift();
    arguments(c.args);
    if (cur_.kind == Tok::LParen) {
      test_list(c.tests, depth + 1);
    } else if (cur_.kind == Tok::Identifier) {
      c.tests.push_back(test(depth + 1));
    }
    if (cur_.kind == Tok::Semicolon) {
      shift();
      return c;
    }
    if (cur_.kind == Tok::LBrace) {
      check_depth(depth + 1);
      shift();
      c.has_block = true;
      while (cur_.kind != Tok::RBrace) {
        if (cur_.kind == Tok::End) fail(cur_.pos, "missing '}' for the block of '" + c.name + "'");
        c.block.push_back(command(depth + 1));
      }
      shift();
      return c;
    }
    unexpected("';' or a block");
  }

  Test test(std::size_t depth) {
    check_depth(depth);
    if (cur_.kind != Tok::Identifier) unexpected("a test");
    Test t;
    t.name = cur_.text;
    t.pos = cur_.pos;
    shift();
    arguments(t.args);
    if (cur_.kind == Tok::LParen) {
      test_list(t.tests, depth + 1);
    } else if (cur_.kind == Tok::Identifier) {
      t.tests.push_back(test(depth + 1));
    }
    return t;
  }

  void test_list(std::vector<Test>& out, std::size_t depth) {
    check_depth(depth);
    shift();  // '('
    for (;;) {
      out.push_back(test(depth));
      if (cur_.kind == Tok::Comma) {
        shift();
        continue;
      }
      if (cur_.kind == Tok::RParen) {
        shift();
        return;
      }
      unexpected("',' or ')'");
    }
  }

  void arguments(std::vector<Argument>& out) {
    for (;;) {
      Argument a;
      a.pos = cur_.pos;
      switch (cur_.kind) {
        case Tok::Tag:
          a.kind = Argument::Kind::Tag;
          a.tag = cur_.text;
          shift();
          break;
        case Tok::Number:
          a.kind = Argument::Kind::Number;
          a.number = cur_.number;
          shift();
          break;
        case Tok::String:
        case Tok::MultiLine:
          a.kind = Argument::Kind::String;
          a.strings.push_back(std::move(cur_.text));
          shift();
          break;
        case Tok::LBracket:
          a.kind = Argument::Kind::StringList;
          shift();
          for (;;) {
            if (cur_.kind != Tok::String && cur_.kind != Tok::MultiLine)
              unexpected("a string in the string list");
            a.strings.push_back(std::move(cur_.text));
            shift();
            if (cur_.kind == Tok::Comma) {
              shift();
              continue;
            }
            if (cur_.kind == Tok::RBracket) {
              shift();
              break;
            }
            unexpected("',' or ']'");
          }
          break;
        default:
          return;
      }
      out.push_back(std::move(a));
    }
  }

  Lexer lex_;
  std::size_t max_nesting_;
  Token cur_;
  CompileError error_;
};

}  // namespace

ParseResult parse(std::string_view text, std::size_t max_nesting) {
  Parser p(text, max_nesting == 0 ? 1 : max_nesting);
  return p.run();
}

}  // namespace mailfort::sieve
