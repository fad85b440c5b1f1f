// IMAP renderings: ENVELOPE, BODY/BODYSTRUCTURE and BODY[section]. String
// quoting and the choice between NIL, "quoted" and {literal} follow what
// Dovecot sends, so clients that cache or compare these see no difference.
#include <algorithm>
#include <optional>
#include <unordered_set>

#include "base/base64.h"
#include "base/text.h"
#include "proto/mime/mime_internal.h"

namespace mailfort::proto::mime {
namespace {

using detail::HeaderField;
using detail::Lexer;

constexpr std::size_t kMaxAddresses = 10000;
// Past this many quote/backslash escapes a literal is shorter than a
// quoted string (Dovecot uses the same cut-off).
constexpr std::size_t kMaxEscapes = 4;
// Deeper than the parser ever nests; only a hand-made Part gets here.
constexpr std::size_t kMaxRenderDepth = 300;

// --- strings -----------------------------------------------------------------

void append_literal(std::string& out, std::string_view s) {
  out += '{';
  out += std::to_string(s.size());
  out += "}\r\n";
  std::size_t start = out.size();
  out.append(s);
  for (std::size_t i = start; i < out.size(); ++i)
    if (out[i] == '\0') out[i] = '\x80';  // literals cannot carry NUL
}

// IMAP string: "quoted" when it can be, else a literal.
void append_string(std::string& out, std::string_view s) {
  std::size_t escapes = 0;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      if (++escapes <= kMaxEscapes) continue;
    } else if (c != '\r' && c != '\n' && u < 0x80 && u != 0) {
      continue;
    }
    append_literal(out, s);
    return;
  }
  out += '"';
  if (escapes == 0) {
    out.append(s);
  } else {
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
  }
  out += '"';
}

void append_nstring(std::string& out, const std::optional<std::string>& s) {
  if (!s)
    out += "NIL";
  else
    append_string(out, *s);
}

// Line breaks removed; a break directly followed by text becomes a space.
std::string without_newlines(std::string_view s) {
  std::string r;
  r.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\r' && s[i] != '\n') {
      r += s[i];
    } else if (i + 1 < s.size() && !detail::is_lwsp(s[i + 1])) {
      r += ' ';
    }
  }
  return r;
}

void append_nstring_nolf(std::string& out, const std::optional<std::string>& s) {
  if (!s)
    out += "NIL";
  else
    append_string(out, without_newlines(*s));
}

// Text meant for people (subjects, display names): blanks and line breaks
// collapse to single spaces, leading and trailing ones go, NUL becomes
// 0x80. Unchanged plain text is sent quoted, anything else as a literal.
void append_for_humans(std::string& out, std::string_view s) {
  std::string clean;
  clean.reserve(s.size());
  bool special = false, pending_space = false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (detail::is_lwsp(c)) {
      pending_space = !clean.empty();
      continue;
    }
    if (pending_space) clean += ' ';
    pending_space = false;
    if (c == '"' || c == '\\' || u >= 0x80 || u == 0) special = true;
    clean += c == '\0' ? '\x80' : c;
  }
  if (!special && clean == s) {
    out += '"';
    out += clean;
    out += '"';
  } else if (clean.empty()) {
    out += "\"\"";
  } else {
    append_literal(out, clean);
  }
}

// --- addresses -----------------------------------------------------------------

struct Address {
  std::optional<std::string> name, route, mailbox, domain;
};

// RFC 5322 address lists with the obsolete forms, and Dovecot's recovery
// from broken ones (MISSING_MAILBOX, MISSING_DOMAIN, SYNTAX_ERROR,
// INVALID_ROUTE placeholders; a bare comment after an addr-spec is the
// display name). Garbage after an address ends the list.
class AddressParser {
 public:
  AddressParser(std::string_view value, std::vector<Address>& out, std::size_t& budget)
      : lx_(value), out_(out), budget_(budget) {}

  void parse_list() {
    if (lx_.skip_cfws() <= 0) return;
    while (budget_ > 0) {
      std::size_t start = lx_.pos();
      if (!group()) {
        lx_.set_pos(start);
        mailbox();
      }
      if (lx_.at_end() || lx_.peek() != ',') return;
      lx_.advance();
      if (lx_.skip_cfws() <= 0) return;
    }
  }

 private:
  struct Parsed {
    Address a;
    bool invalid = false;
  };

  void push(Address a) {
    if (budget_ == 0) return;
    --budget_;
    out_.push_back(std::move(a));
  }

  // display-name ":" [mailbox-list] ";"
  bool group() {
    std::string name;
    if (lx_.phrase(name) <= 0 || lx_.peek() != ':') return false;
    if (budget_ < 2) {  // a group start is useless without its end
      budget_ = 0;
      return true;
    }
    lx_.advance();
    int r = lx_.skip_cfws();
    push(Address{std::nullopt, std::nullopt, std::move(name), std::nullopt});
    --budget_;  // reserved for the end marker
    if (r > 0 && lx_.peek() != ';') {
      while (budget_ > 0) {
        mailbox();
        if (lx_.at_end() || lx_.peek() != ',') break;
        lx_.advance();
        if (lx_.skip_cfws() <= 0) {
          r = -1;
          break;
        }
      }
    }
    if (r >= 0 && !lx_.at_end() && lx_.peek() == ';') {
      lx_.advance();
      lx_.skip_cfws();
    }
    ++budget_;
    push(Address{});
    return true;
  }

  void mailbox() {
    Parsed p;
    std::size_t start = lx_.pos();
    if (!name_addr(p)) {
      lx_.set_pos(start);
      p = Parsed{};
      addr_spec(p);
      if (p.invalid && !p.a.name && p.a.mailbox && !p.a.domain) {
        p.a.name = std::move(p.a.mailbox);
        p.a.mailbox.reset();
      }
    }
    if (!p.a.mailbox) p.a.mailbox = "MISSING_MAILBOX";
    if (!p.a.domain || p.a.domain->empty()) p.a.domain = "MISSING_DOMAIN";
    push(std::move(p.a));
  }

  // [phrase] "<" [route ":"] addr-spec ">"
  bool name_addr(Parsed& p) {
    std::string name;
    if (lx_.phrase(name) <= 0 || lx_.peek() != '<') return false;
    if (!name.empty()) p.a.name = std::move(name);
    if (!angle_addr(p)) p.a.domain = "SYNTAX_ERROR";
    return true;
  }

  bool angle_addr(Parsed& p) {
    lx_.advance();  // '<'
    if (lx_.skip_cfws() <= 0) return false;
    if (lx_.peek() == '@') {
      std::string route;
      if (domain_list(route) > 0 && lx_.peek() == ':') {
        lx_.advance();
        p.a.route = std::move(route);
      } else {
        p.a.route = "INVALID_ROUTE";
        if (lx_.at_end()) return false;
      }
      if (lx_.skip_cfws() <= 0) return false;
    }
    if (lx_.peek() != '>') {
      if (local_part(p) <= 0) return false;
      if (lx_.peek() == '@') {
        std::string d;
        if (lx_.domain(d) <= 0) return false;
        p.a.domain = std::move(d);
      }
    }
    if (lx_.peek() != '>') return false;
    lx_.advance();
    lx_.skip_cfws();
    return true;
  }

  // obs-domain-list: "@" domain *("," ["@" domain])
  int domain_list(std::string& route) {
    for (;;) {
      if (lx_.at_end()) return 0;
      if (lx_.peek() != '@') return 1;
      if (!route.empty()) route += ',';
      route += '@';
      int r = lx_.domain(route);
      if (r <= 0) return r;
      while (lx_.skip_cfws() > 0 && lx_.peek() == ',') lx_.advance();
    }
  }

  int local_part(Parsed& p) {
    std::string s;
    int r = lx_.peek() == '"' ? lx_.quoted(s) : lx_.dot_atom(s);
    if (r < 0) return -1;
    p.a.mailbox = std::move(s);
    return r;
  }

  void addr_spec(Parsed& p) {
    lx_.last_comment.clear();
    bool quoted = lx_.peek() == '"';
    int r = local_part(p);
    if (r <= 0) p.invalid = true;
    bool has_domain = false;
    if (r != 0 && !lx_.at_end() && lx_.peek() == '@') {
      std::string d;
      int r2 = lx_.domain(d);
      p.a.domain = std::move(d);
      has_domain = true;
      if (r2 <= 0) p.invalid = true;
    }
    if (!lx_.last_comment.empty()) {
      p.a.name = lx_.last_comment;  // "user@host (Full Name)"
    } else if (!has_domain) {
      // "user" alone is a mailbox without a domain; "John Smith" is a
      // display name without an address.
      std::string words = p.a.mailbox.value_or("") + " ";
      std::size_t before = words.size();
      lx_.phrase(words);
      if (words.size() != before) {
        p.a.mailbox.reset();
        p.a.name = std::move(words);
      } else if (!quoted) {
        p.a.domain = "";
      }
      p.invalid = true;
    }
  }

  Lexer lx_;
  std::vector<Address>& out_;
  std::size_t& budget_;
};

void append_addresses(std::string& out, const std::vector<Address>& list) {
  if (list.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (const Address& a : list) {
    out += '(';
    if (a.name)
      append_for_humans(out, *a.name);
    else
      out += "NIL";
    out += ' ';
    append_nstring(out, a.route);
    out += ' ';
    append_nstring(out, a.mailbox);
    out += ' ';
    append_nstring(out, a.domain);
    out += ')';
  }
  out += ')';
}

std::string_view header_of(std::string_view message, const Part& part) {
  if (part.header_begin > part.body_begin || part.body_begin > message.size()) return {};
  return message.substr(part.header_begin, part.body_begin - part.header_begin);
}

std::string_view body_of(std::string_view message, const Part& part) {
  if (part.body_begin > part.body_end || part.body_end > message.size()) return {};
  return message.substr(part.body_begin, part.body_end - part.body_begin);
}

// --- BODYSTRUCTURE -----------------------------------------------------------

void append_params(std::string& out, const std::vector<Param>& params, bool default_charset) {
  if (params.empty() && !default_charset) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true, charset = false;
  for (const Param& p : params) {
    if (!first) out += ' ';
    first = false;
    if (iequals(p.name, "charset")) charset = true;
    append_string(out, p.name);
    out += ' ';
    append_string(out, p.value);
  }
  if (default_charset && !charset) {
    if (!first) out += ' ';
    out += "\"charset\" \"us-ascii\"";
  }
  out += ')';
}

// Disposition, language, location: the tail every extended body has.
void append_extension_common(std::string& out, const Part& p) {
  out += ' ';
  if (p.disposition.empty()) {
    out += "NIL";
  } else {
    out += '(';
    append_string(out, p.disposition);
    out += ' ';
    append_params(out, p.disposition_params, false);
    out += ')';
  }
  out += ' ';
  std::vector<std::string> langs = detail::language_tags(p.language);
  if (langs.empty()) {
    out += "NIL";
  } else {
    out += '(';
    for (std::size_t i = 0; i < langs.size(); ++i) {
      if (i) out += ' ';
      append_string(out, langs[i]);
    }
    out += ')';
  }
  out += ' ';
  append_nstring_nolf(out, p.location.empty() ? std::nullopt : std::optional<std::string>(p.location));
}

// The Content-Type as written in the part's header, if it is the one the
// parser used (a demoted multipart shows the type it was given instead).
std::pair<std::string, std::string> written_type(std::string_view message, const Part& p) {
  std::optional<detail::ContentType> ct;
  detail::for_each_field(header_of(message, p), [&](const HeaderField& f) {
    if (!f.has_colon || !iequals(f.name, "Content-Type")) return true;
    ct = detail::parse_content_type(detail::unfold(f.raw));
    return false;
  });
  if (ct && iequals(ct->type, p.type) && iequals(ct->subtype, p.subtype)) return {ct->type, ct->subtype};
  return {p.type, p.subtype};
}

void append_body(std::string& out, std::string_view message, const Part& p, bool extended, std::size_t depth);

void append_multipart(std::string& out, std::string_view message, const Part& p, bool extended,
                      std::size_t depth) {
  if (p.children.empty()) {
    // A multipart without parts is not allowed; show one empty text part.
    out += extended ? "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
                    : "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
  } else {
    for (const Part& c : p.children) append_body(out, message, c, extended, depth + 1);
  }
  out += ' ';
  append_string(out, written_type(message, p).second);
  if (!extended) return;
  out += ' ';
  append_params(out, p.params, false);
  append_extension_common(out, p);
}

void append_leaf(std::string& out, std::string_view message, const Part& p, bool extended,
                 std::size_t depth) {
  bool rfc822 = p.is_message_rfc822();
  bool text = !rfc822 && iequals(p.type, "text");
  if (rfc822) {
    out += "\"message\" \"rfc822\"";
  } else {
    auto [type, subtype] = written_type(message, p);
    append_string(out, type);
    out += ' ';
    append_string(out, subtype);
  }
  out += ' ';
  append_params(out, p.params, text);
  out += ' ';
  append_nstring_nolf(out, p.id.empty() ? std::nullopt : std::optional<std::string>(p.id));
  out += ' ';
  append_nstring_nolf(out, p.description.empty() ? std::nullopt : std::optional<std::string>(p.description));
  out += ' ';
  if (auto cte = detail::cte_token(p.encoding))
    append_string(out, *cte);
  else
    out += "\"7bit\"";
  out += ' ';
  out += std::to_string(detail::crlf_size(body_of(message, p)));
  if (text) {
    out += ' ';
    out += std::to_string(p.lines);
  } else if (rfc822) {
    out += ' ';
    out += imap_envelope(message, p.children[0]);
    out += ' ';
    append_body(out, message, p.children[0], extended, depth + 1);
    out += ' ';
    out += std::to_string(p.lines);
  }
  if (!extended) return;
  out += ' ';
  append_nstring_nolf(out, p.md5.empty() ? std::nullopt : std::optional<std::string>(p.md5));
  append_extension_common(out, p);
}

void append_body(std::string& out, std::string_view message, const Part& p, bool extended,
                 std::size_t depth) {
  out += '(';
  if (depth > kMaxRenderDepth)
    out += "\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0";
  else if (p.is_multipart())
    append_multipart(out, message, p, extended, depth);
  else
    append_leaf(out, message, p, extended, depth);
  out += ')';
}

// --- sections ------------------------------------------------------------------

// HEADER.FIELDS: the named fields, each ending in CRLF, then the blank
// line. HEADER.FIELDS.NOT: the header minus the named fields, byte for
// byte, so like HEADER it ends in a blank line only when the header has
// one (RFC 3501 6.4.5: not for "a message which has no body and no blank
// line"), and a last line cut short stays so. Both as Dovecot sends them.
void append_fields(std::string& out, std::string_view header, const std::vector<std::string>& names,
                   bool include) {
  std::unordered_set<std::string> wanted;
  for (const std::string& n : names) wanted.insert(to_lower(n));
  detail::for_each_field(header, [&](const HeaderField& f) {
    if ((wanted.count(to_lower(f.name)) != 0) == include) {
      std::string_view bytes = header.substr(f.begin, f.end - f.begin);
      detail::append_crlf(out, bytes);
      if (include && (bytes.empty() || bytes.back() != '\n')) out += "\r\n";  // last line cut short
    }
    return true;
  });
  bool blank_line =
      header == "\n" || header == "\r\n" || header.ends_with("\n\n") || header.ends_with("\n\r\n");
  if (include || blank_line) out += "\r\n";
}

enum class Cte { Identity, Base64, QuotedPrintable, Unknown };

Cte cte_of(const Part& p) {
  auto token = detail::cte_token(p.encoding);
  if (!token) return Cte::Identity;  // absent or malformed: 7bit, as BODYSTRUCTURE says
  std::string t = to_lower(*token);
  if (t == "7bit" || t == "8bit" || t == "binary") return Cte::Identity;
  if (t == "base64") return Cte::Base64;
  if (t == "quoted-printable") return Cte::QuotedPrintable;
  return Cte::Unknown;
}

// Appends the BINARY form of `p` (with its header when include_header):
// leaves decoded; containers with their boundaries, preambles and
// epilogues as they are and their parts in BINARY form, each decoded part's
// header saying "Content-Transfer-Encoding: binary". False on an unknown
// transfer encoding anywhere inside.
bool append_binary(std::string& out, std::string_view message, const Part& p, bool include_header) {
  Cte cte = cte_of(p);
  if (cte == Cte::Unknown) return false;
  bool decoded = cte == Cte::Base64 || cte == Cte::QuotedPrintable;
  if (include_header) {
    std::string_view header = header_of(message, p);
    if (!decoded) {
      detail::append_crlf(out, header);
    } else {
      std::size_t fields_end = 0;
      detail::for_each_field(header, [&](const HeaderField& f) {
        fields_end = f.end;
        if (!iequals(f.name, "Content-Transfer-Encoding")) {
          std::string_view bytes = header.substr(f.begin, f.end - f.begin);
          detail::append_crlf(out, bytes);
          if (bytes.empty() || bytes.back() != '\n') out += "\r\n";
        }
        return true;
      });
      out += "Content-Transfer-Encoding: binary\r\n";
      detail::append_crlf(out, header.substr(std::min(fields_end, header.size())));  // the blank line
    }
  }
  if (!p.children.empty()) {
    std::size_t pos = p.body_begin;
    for (const Part& c : p.children) {
      if (c.header_begin > pos) detail::append_crlf(out, message.substr(pos, c.header_begin - pos));
      if (!append_binary(out, message, c, true)) return false;
      pos = std::max(pos, c.body_end);
    }
    if (p.body_end > pos) detail::append_crlf(out, message.substr(pos, p.body_end - pos));
    return true;
  }
  std::string_view body = body_of(message, p);
  if (cte == Cte::Base64)
    base64::decode_lenient(body, out);
  else if (cte == Cte::QuotedPrintable)
    detail::qp_decode(body, out, false);
  else
    detail::append_crlf(out, body);
  return true;
}

}  // namespace

std::string with_crlf(std::string_view message) {
  std::string out;
  out.reserve(detail::crlf_size(message));
  detail::append_crlf(out, message);
  return out;
}

const Part* find_part(const Part& root, const std::vector<std::uint32_t>& path) {
  const Part* p = &root;
  for (std::size_t i = 0; i < path.size(); ++i) {
    std::uint32_t n = path[i];
    bool more = i + 1 < path.size();
    if (p->is_multipart()) {
      if (n == 0 || n > p->children.size()) return nullptr;
      p = &p->children[n - 1];
    } else if (n != 1 || (more && !p->is_message_rfc822())) {
      return nullptr;
    }
    if (more && p->is_message_rfc822()) p = &p->children[0];
  }
  return p;
}

std::optional<std::string> binary(std::string_view message, const Part& root,
                                  const std::vector<std::uint32_t>& path, bool& unknown_cte) {
  unknown_cte = false;
  const Part* p = find_part(root, path);
  if (!p) return std::nullopt;
  std::string out;
  if (!append_binary(out, message, *p, path.empty())) {
    unknown_cte = true;
    return std::nullopt;
  }
  return out;
}

std::string imap_envelope(std::string_view message, const Part& part) {
  std::optional<std::string> date, subject, in_reply_to, message_id;
  std::vector<Address> from, sender, reply_to, to, cc, bcc;
  std::size_t budget = kMaxAddresses;
  detail::for_each_field(header_of(message, part), [&](const HeaderField& f) {
    if (!f.has_colon) return true;
    std::string_view n = f.name;
    std::vector<Address>* list = nullptr;
    if (iequals(n, "Date")) {
      date = std::string(f.raw);
    } else if (iequals(n, "Subject")) {
      subject = std::string(f.raw);
    } else if (iequals(n, "In-Reply-To")) {
      in_reply_to = std::string(f.raw);
    } else if (iequals(n, "Message-ID")) {
      message_id = std::string(f.raw);
    } else if (iequals(n, "From")) {
      list = &from;
    } else if (iequals(n, "Sender")) {
      list = &sender;
    } else if (iequals(n, "Reply-To")) {
      list = &reply_to;
    } else if (iequals(n, "To")) {
      list = &to;
    } else if (iequals(n, "Cc")) {
      list = &cc;
    } else if (iequals(n, "Bcc")) {
      list = &bcc;
    }
    // Repeated address fields are merged, as if comma-separated: a second
    // From cannot hide behind the first.
    if (list && budget > 0) AddressParser(f.raw, *list, budget).parse_list();
    return true;
  });

  std::string out = "(";
  append_nstring_nolf(out, date);
  out += ' ';
  if (subject)
    append_for_humans(out, *subject);
  else
    out += "NIL";
  out += ' ';
  append_addresses(out, from);
  out += ' ';
  append_addresses(out, sender.empty() ? from : sender);
  out += ' ';
  append_addresses(out, reply_to.empty() ? from : reply_to);
  out += ' ';
  append_addresses(out, to);
  out += ' ';
  append_addresses(out, cc);
  out += ' ';
  append_addresses(out, bcc);
  out += ' ';
  append_nstring_nolf(out, in_reply_to);
  out += ' ';
  append_nstring_nolf(out, message_id);
  out += ')';
  return out;
}

std::string searchable_addresses(std::string_view raw) {
  std::vector<Address> list;
  std::size_t budget = kMaxAddresses;
  AddressParser(raw, list, budget).parse_list();
  std::string out;
  bool first = true, in_group = false;
  for (const Address& a : list) {
    if (!first) out += ", ";
    first = false;
    if (!a.domain) {  // a group's start (its name in `mailbox`) or end
      if (!in_group) {
        if (a.mailbox) out += *a.mailbox;
        out += ": ";
        first = true;
      } else {
        if (out.size() >= 2) out.resize(out.size() - 2);  // the ", " or ": " before it
        out += ';';
      }
      in_group = !in_group;
      continue;
    }
    bool angle = (a.name && !a.name->empty()) || a.route;
    if (a.name && !a.name->empty()) out += *a.name + " ";
    if (angle) out += '<';
    if (a.route) out += *a.route + ":";
    out += a.mailbox.value_or("");
    if (!a.domain->empty()) out += "@" + *a.domain;
    if (angle) out += '>';
  }
  return decode_header_value(out);
}

std::string imap_bodystructure(std::string_view message, const Part& part, bool extended) {
  std::string out;
  append_body(out, message, part, extended, 0);
  return out;
}

std::optional<std::string> section(std::string_view message, const Part& root, const Section& s) {
  const Part* p = find_part(root, s.part);
  if (!p) return std::nullopt;
  bool top = s.part.empty();
  std::string out;
  switch (s.kind) {
    case SectionKind::Full:
      detail::append_crlf(out, top ? message : body_of(message, *p));
      return out;
    case SectionKind::Mime:
      if (top) return std::nullopt;
      detail::append_crlf(out, header_of(message, *p));
      return out;
    case SectionKind::Header:
    case SectionKind::HeaderFields:
    case SectionKind::HeaderFieldsNot:
    case SectionKind::Text:
      break;
  }
  // The header or text of a message: the root, or an embedded message.
  if (!top) {
    if (!p->is_message_rfc822()) return std::nullopt;
    p = &p->children[0];
  }
  if (s.kind == SectionKind::Text)
    detail::append_crlf(out, body_of(message, *p));
  else if (s.kind == SectionKind::Header)
    detail::append_crlf(out, header_of(message, *p));
  else
    append_fields(out, header_of(message, *p), s.fields, s.kind == SectionKind::HeaderFields);
  return out;
}

}  // namespace mailfort::proto::mime
