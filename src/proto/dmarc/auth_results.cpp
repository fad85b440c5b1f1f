#include "proto/dmarc/auth_results.h"

#include <cctype>

namespace mailfort::proto::dmarc {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A cursor over the value with RFC 5322 CFWS skipping.
class Reader {
 public:
  Reader(std::string_view s, std::size_t max_depth) : s_(s), max_depth_(max_depth) {}

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void advance() { ++pos_; }

  // Blanks, line breaks and (nested) comments. False on an unterminated
  // or too deep comment.
  bool skip_cfws() {
    while (!at_end()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '(') {
        if (!skip_comment()) return false;
      } else {
        break;
      }
    }
    return true;
  }

  // RFC 5322 quoted-string (the opening quote is at pos_), unescaped.
  std::optional<std::string> quoted() {
    std::string out;
    ++pos_;
    while (!at_end()) {
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) return std::nullopt;
        out.push_back(s_[pos_++]);
      } else if (c != '\r' && c != '\n') {
        out.push_back(c);
      }
    }
    return std::nullopt;
  }

  // A run of characters none of which is in `stops`, a blank, a control,
  // '(' or '"'.
  std::string word(std::string_view stops) {
    std::size_t start = pos_;
    while (!at_end()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c <= ' ' || c == 0x7f || c == '(' || c == '"' ||
          stops.find(static_cast<char>(c)) != std::string_view::npos)
        break;
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  // RFC 2045 token / quoted-string (RFC 8601 "value"); also accepts the
  // "[local-part "@"] domain-name" of pvalue, which a token covers except
  // for '@', allowed here.
  std::optional<std::string> value(std::string_view stops) {
    if (peek() == '"') return quoted();
    std::string w = word(stops);
    if (w.empty()) return std::nullopt;
    return w;
  }

 private:
  bool skip_comment() {
    std::size_t depth = 0;
    while (!at_end()) {
      char c = s_[pos_++];
      if (c == '\\') {
        if (at_end()) return false;
        ++pos_;
      } else if (c == '(') {
        if (++depth > max_depth_) return false;
      } else if (c == ')') {
        if (--depth == 0) return true;
      }
    }
    return false;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t max_depth_;
};

bool is_keyword(const std::string& k) {
  if (k.empty()) return false;
  for (char c : k) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

bool all_digits(const std::string& k) {
  if (k.empty()) return false;
  for (char c : k) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

AuthResults parse_auth_results(std::string_view value, const AuthResultsLimits& limits) {
  AuthResults out;
  Reader r(value, limits.max_comment_depth);
  auto fail = [&](const char* why) {
    out.ok = false;
    out.error = why;
    return out;
  };
  if (!r.skip_cfws()) return fail("bad comment");
  // authserv-id = value; ';' ends it (it is not a token character).
  auto id = r.value(";");
  if (!id) return fail("no authserv-id");
  out.authserv_id = *id;
  if (!r.skip_cfws()) return fail("bad comment");
  if (std::isdigit(static_cast<unsigned char>(r.peek()))) {
    std::string v = r.word(";");
    if (!all_digits(v)) return fail("bad version");
    out.version = v;
    if (!r.skip_cfws()) return fail("bad comment");
  }
  while (true) {
    if (!r.skip_cfws()) return fail("bad comment");
    if (r.at_end()) break;
    if (r.peek() != ';') return fail("expected ';'");
    r.advance();
    if (!r.skip_cfws()) return fail("bad comment");
    if (r.at_end()) break;  // a trailing ';' is tolerated
    std::string method = lower(r.word(";=/."));
    if (!is_keyword(method)) return fail("bad method");
    if (!r.skip_cfws()) return fail("bad comment");
    if (method == "none" && out.results.empty() && (r.at_end())) {
      out.none = true;
      break;
    }
    if (out.results.size() >= limits.max_results) return fail("too many results");
    AuthResult res;
    res.method = method;
    if (r.peek() == '/') {
      r.advance();
      if (!r.skip_cfws()) return fail("bad comment");
      res.version = r.word(";=");
      if (!all_digits(res.version)) return fail("bad method version");
      if (!r.skip_cfws()) return fail("bad comment");
    }
    if (r.peek() != '=') return fail("expected '=' after method");
    r.advance();
    if (!r.skip_cfws()) return fail("bad comment");
    res.result = lower(r.word(";=."));
    if (!is_keyword(res.result)) return fail("bad result");
    // [reasonspec] [1*propspec], in that order.
    while (true) {
      if (!r.skip_cfws()) return fail("bad comment");
      if (r.at_end() || r.peek() == ';') break;
      std::string key = lower(r.word(";=."));
      if (!is_keyword(key)) return fail("bad property");
      if (!r.skip_cfws()) return fail("bad comment");
      if (key == "reason" && r.peek() == '=' && res.properties.empty() && res.reason.empty()) {
        r.advance();
        if (!r.skip_cfws()) return fail("bad comment");
        auto v = r.value(";");
        if (!v) return fail("bad reason");
        res.reason = *v;
        continue;
      }
      if (r.peek() != '.') return fail("expected ptype.property");
      r.advance();
      if (!r.skip_cfws()) return fail("bad comment");
      AuthProperty p;
      p.ptype = key;
      p.property = lower(r.word(";="));
      if (p.property.empty()) return fail("bad property");
      if (!r.skip_cfws()) return fail("bad comment");
      if (r.peek() != '=') return fail("expected '=' after property");
      r.advance();
      if (!r.skip_cfws()) return fail("bad comment");
      // pvalue may be empty (e.g. smtp.mailfrom= for the null sender is
      // written as "<>" by some, but an empty value is seen too).
      if (r.peek() == '"') {
        auto q = r.quoted();
        if (!q) return fail("bad quoted string");
        p.value = *q;
      } else {
        p.value = r.word(";");
      }
      if (res.properties.size() >= limits.max_properties) return fail("too many properties");
      res.properties.push_back(std::move(p));
    }
    out.results.push_back(std::move(res));
  }
  out.ok = true;
  return out;
}

std::optional<std::string> result_of(const AuthResults& ar, std::string_view method) {
  for (const auto& r : ar.results) {
    if (r.method == method) return r.result;
  }
  return std::nullopt;
}

}  // namespace mailfort::proto::dmarc
