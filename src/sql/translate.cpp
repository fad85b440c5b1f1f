// :name parameters to the engine's placeholders, and the values in their
// order. A small lexer that knows just enough of each dialect's quoting to
// tell a parameter from a colon inside data: '...' strings ('' doubled;
// MySQL also backslash escapes, in "..." too; PostgreSQL E'...' and
// $tag$...$tag$), "..." and `...` identifiers (SQLite also [...]), -- and
// /* */ comments (nested in PostgreSQL; MySQL also #), and "::" casts.
// Pure; faces configuration text (custom directory queries), so it never
// reads past the input and fails with Invalid rather than guessing.
#include <cctype>
#include <string>

#include "sql/sql.h"

namespace mailfort::sql {

namespace {

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

class Lexer {
 public:
  Lexer(std::string_view sql, Dialect d) : s_(sql), d_(d) {}

  Result<Translated> run() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      Result<void> r;
      if (c == '\'') {
        r = quoted('\'', backslash_string());
      } else if (c == '"') {
        r = quoted('"', d_ == Dialect::MySQL);
      } else if (c == '`' && d_ != Dialect::PostgreSQL) {
        r = quoted('`', false);
      } else if (c == '[' && d_ == Dialect::SQLite) {
        r = until("]", "'[' identifier");
      } else if (c == '-' && at("--") && line_comment_dashes()) {
        r = until("\n", nullptr);
      } else if (c == '#' && d_ == Dialect::MySQL) {
        r = until("\n", nullptr);
      } else if (c == '/' && at("/*")) {
        r = block_comment();
      } else if (c == '$' && d_ == Dialect::PostgreSQL && !after_ident()) {
        r = dollar();
      } else if (c == '?' && d_ != Dialect::PostgreSQL) {
        return make_error(Errc::Invalid, "'?' outside quotes: write parameters as :name");
      } else if (c == ':') {
        r = colon();
      } else {
        out_.text += c;
        ++i_;
      }
      if (!r) return r.error();
    }
    return std::move(out_);
  }

 private:
  bool at(std::string_view p) const { return s_.substr(i_, p.size()) == p; }
  bool after_ident() const { return i_ > 0 && (ident_char(s_[i_ - 1]) || s_[i_ - 1] == '$'); }

  // MySQL strings take backslash escapes (unless NO_BACKSLASH_ESCAPES, where
  // treating them so is still safe for finding the end: it only makes
  // translate() reject more); PostgreSQL only in E'...'.
  bool backslash_string() const {
    if (d_ == Dialect::MySQL) return true;
    if (d_ != Dialect::PostgreSQL || i_ == 0) return false;
    char p = s_[i_ - 1];
    if (p != 'E' && p != 'e') return false;
    return i_ == 1 || !ident_char(s_[i_ - 2]);
  }

  // MySQL needs whitespace (or the end) after "--" for a comment.
  bool line_comment_dashes() const {
    if (d_ != Dialect::MySQL) return true;
    if (i_ + 2 >= s_.size()) return true;
    return std::isspace(static_cast<unsigned char>(s_[i_ + 2])) ||
           std::iscntrl(static_cast<unsigned char>(s_[i_ + 2]));
  }

  // From the opening quote through the closing one; a doubled quote is one.
  Result<void> quoted(char q, bool backslash) {
    std::size_t start = i_++;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (backslash && c == '\\') {
        if (i_ + 1 >= s_.size()) break;
        i_ += 2;
        continue;
      }
      ++i_;
      if (c == q) {
        if (i_ < s_.size() && s_[i_] == q) {
          ++i_;
          continue;
        }
        out_.text.append(s_.substr(start, i_ - start));
        return {};
      }
    }
    return make_error(Errc::Invalid, std::string("the statement ends inside ") + q + "..." + q);
  }

  // Copies through `end` (included); a missing end is fine for a line
  // comment (what = nullptr), an error otherwise.
  Result<void> until(std::string_view end, const char* what) {
    std::size_t e = s_.find(end, i_ + 1);
    if (e == std::string_view::npos) {
      if (what) return make_error(Errc::Invalid, std::string("the statement ends inside a ") + what);
      out_.text.append(s_.substr(i_));
      i_ = s_.size();
      return {};
    }
    out_.text.append(s_.substr(i_, e + end.size() - i_));
    i_ = e + end.size();
    return {};
  }

  Result<void> block_comment() {
    std::size_t start = i_;
    int depth = 0;
    while (i_ < s_.size()) {
      if (at("/*") && (depth == 0 || d_ == Dialect::PostgreSQL)) {
        ++depth;
        i_ += 2;
      } else if (at("*/")) {
        i_ += 2;
        if (--depth == 0) {
          out_.text.append(s_.substr(start, i_ - start));
          return {};
        }
      } else {
        ++i_;
      }
    }
    return make_error(Errc::Invalid, "the statement ends inside a /* comment */");
  }

  // PostgreSQL: $tag$...$tag$ is a string; $1 a positional parameter
  // (refused: parameters are :name).
  Result<void> dollar() {
    std::size_t j = i_ + 1;
    if (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j])))
      return make_error(Errc::Invalid, "'$n' outside quotes: write parameters as :name");
    if (j < s_.size() && ident_start(s_[j]))
      while (j < s_.size() && ident_char(s_[j])) ++j;
    if (j >= s_.size() || s_[j] != '$') {  // not a dollar quote: an ordinary character
      out_.text += s_[i_++];
      return {};
    }
    std::string_view tag = s_.substr(i_, j + 1 - i_);
    std::size_t e = s_.find(tag, j + 1);
    if (e == std::string_view::npos)
      return make_error(Errc::Invalid, "the statement ends inside a " + std::string(tag) + " string");
    out_.text.append(s_.substr(i_, e + tag.size() - i_));
    i_ = e + tag.size();
    return {};
  }

  Result<void> colon() {
    if (at("::")) {
      out_.text += "::";
      i_ += 2;
      return {};
    }
    std::size_t j = i_ + 1;
    if (j >= s_.size() || !ident_start(s_[j]))
      return make_error(Errc::Invalid, "':' without a parameter name at offset " + std::to_string(i_) +
                                           " (parameters are :name; a cast is '::')");
    while (j < s_.size() && ident_char(s_[j])) ++j;
    std::string name(s_.substr(i_ + 1, j - i_ - 1));
    i_ = j;
    if (d_ != Dialect::PostgreSQL) {
      out_.text += '?';
      out_.names.push_back(std::move(name));
      return {};
    }
    // PostgreSQL: a name used again reuses its $n, so names lists each
    // distinct name once, $1 first.
    std::size_t n = 0;
    while (n < out_.names.size() && out_.names[n] != name) ++n;
    if (n == out_.names.size()) out_.names.push_back(std::move(name));
    out_.text += '$';
    out_.text += std::to_string(n + 1);
    return {};
  }

  std::string_view s_;
  Dialect d_;
  std::size_t i_ = 0;
  Translated out_;
};

}  // namespace

Result<Translated> translate(std::string_view sql, Dialect dialect) {
  return Lexer(sql, dialect).run();
}

Result<std::vector<Value>> bind_order(const std::vector<std::string>& names, const Params& params) {
  std::vector<Value> out;
  out.reserve(names.size());
  for (const auto& n : names) {
    const Param* found = nullptr;
    for (const auto& p : params)
      if (p.name == n) {
        found = &p;
        break;
      }
    if (!found) return make_error(Errc::Invalid, "no value for parameter :" + n);
    out.push_back(found->value);
  }
  return out;
}

}  // namespace mailfort::sql
