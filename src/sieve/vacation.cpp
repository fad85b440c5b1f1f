#include "sieve/vacation.h"

#include <algorithm>

#include "base/base64.h"
#include "base/text.h"
#include "proto/mail/address.h"
#include "proto/mail/header.h"

namespace mailfort::sieve {
namespace {

namespace mail = proto::mail;

// Bounds on what the reply copies from the original (References can be
// long; the reply must stay small).
constexpr std::size_t kMaxReferences = 8 * 1024;
constexpr std::size_t kMaxHeaderValue = 998;

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

// The raw values (after the colon, CRLF kept) of every field `name`.
std::vector<std::string_view> raw_values(std::string_view message, const mail::HeaderBlock& hb,
                                         std::string_view name) {
  std::vector<std::string_view> out;
  for (auto& f : hb.fields) {
    if (!iequals(f.name, name)) continue;
    std::string_view field = message.substr(f.begin, f.end - f.begin);
    auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    out.push_back(field.substr(colon + 1));
  }
  return out;
}

// A value unfolded onto one line, trimmed.
std::string unfolded(std::string_view raw) {
  std::string s;
  s.reserve(raw.size());
  for (char c : raw)
    if (c != '\r' && c != '\n') s += c;
  return trim(s);
}

std::string first_value(std::string_view message, const mail::HeaderBlock& hb, std::string_view name) {
  auto v = raw_values(message, hb, name);
  return v.empty() ? std::string() : unfolded(v.front());
}

// "a@b" of "Name <a@b>" or "a@b"; the address lower-cased for comparison.
std::string bare_address(std::string_view a) {
  auto lt = a.rfind('<');
  if (lt != std::string_view::npos) {
    auto gt = a.find('>', lt);
    a = a.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
  }
  return to_lower(trim(a));
}

std::string local_part(std::string_view address) {
  auto at = address.rfind('@');
  return to_lower(at == std::string_view::npos ? address : address.substr(0, at));
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// RFC 5230 4.5 ("MAILER-DAEMON", "LISTSERV", "majordomo", "-request",
// "owner-"), as Pigeonhole checks them.
bool is_robot_sender(std::string_view sender) {
  std::string lp = local_part(sender);
  return lp == "mailer-daemon" || lp == "listserv" || lp == "majordomo" || starts_with(lp, "owner-") ||
         ends_with(lp, "-request");
}

// No CR/LF or NUL from a script reaches the reply's header; bounded.
std::string single_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\t' || c == '\0')
      out += ' ';
    else
      out += c;
    if (out.size() >= kMaxHeaderValue) break;
  }
  return trim(out);
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x80; });
}

std::string crlf_lines(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 40);
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool needs_qp(std::string_view crlf_text) {
  if (!is_ascii(crlf_text)) return true;
  std::size_t line = 0;
  for (char c : crlf_text) {
    if (c == '\n') {
      line = 0;
    } else if (++line > 998) {
      return true;
    }
  }
  return false;
}

// RFC 2045 6.7 quoted-printable of CRLF text: lines at most 76 characters.
std::string quoted_printable(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  std::size_t col = 0;
  auto put = [&](std::string_view piece) {
    if (col + piece.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += piece;
    col += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      out += "\r\n";
      col = 0;
      ++i;
      continue;
    }
    bool at_line_end = i + 1 == text.size() || text[i + 1] == '\r';
    if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end)) {
      char one[1] = {static_cast<char>(c)};
      put(std::string_view(one, 1));
    } else {
      char enc[3] = {'=', hex[c >> 4], hex[c & 15]};
      put(std::string_view(enc, 3));
    }
  }
  return out;
}

// Splits UTF-8 text into pieces of at most `max` bytes without cutting a
// character.
std::vector<std::string_view> utf8_chunks(std::string_view s, std::size_t max) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    std::size_t n = std::min(max, s.size());
    while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = std::min(max, s.size());  // not UTF-8: cut anywhere
    out.push_back(s.substr(0, n));
    s.remove_prefix(n);
  }
  return out;
}

}  // namespace

std::string encode_header_words(std::string_view value) {
  if (is_ascii(value)) return std::string(value);
  std::string out;
  // 45 bytes -> 60 base64 characters + 12 of wrapping: within 76 (RFC 2047 2).
  for (auto piece : utf8_chunks(value, 45)) {
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64::encode(piece) + "?=";
  }
  return out;
}

VacationDecision should_reply(std::string_view message, const VacationContext& ctx, const VacationReply& v) {
  auto skip = [](std::string why) { return VacationDecision{false, std::move(why)}; };
  const std::string sender = to_lower(trim(ctx.envelope_from));
  if (sender.empty()) return skip("null envelope sender");
  if (is_robot_sender(sender)) return skip("envelope sender " + sender + " is a list or system address");

  std::vector<std::string> mine;
  for (auto& a : ctx.user_addresses)
    if (auto b = bare_address(a); !b.empty()) mine.push_back(b);
  for (auto& a : v.addresses)
    if (auto b = bare_address(a); !b.empty()) mine.push_back(b);
  if (!v.from.empty())
    if (auto b = bare_address(v.from); !b.empty()) mine.push_back(b);
  if (std::find(mine.begin(), mine.end(), sender) != mine.end())
    return skip("envelope sender is one of the user's own addresses");

  auto hb = mail::parse_header_block(message);
  for (auto& raw : raw_values(message, hb, "Auto-Submitted")) {
    std::string val = to_lower(unfolded(raw));
    auto semi = val.find(';');
    if (semi != std::string::npos) val = trim(val.substr(0, semi));
    if (val != "no") return skip("message is auto-submitted (" + val + ")");
  }
  for (auto& raw : raw_values(message, hb, "Precedence")) {
    std::string val = to_lower(unfolded(raw));
    if (val == "bulk" || val == "list" || val == "junk") return skip("message has Precedence: " + val);
  }
  for (std::string_view list_field : {"List-Id", "List-Unsubscribe", "List-Post", "List-Help", "List-Owner"})
    if (mail::has_field(hb, list_field))
      return skip("message is list mail (" + std::string(list_field) + ")");

  // RFC 5230 4.5: only mail that names the user in a recipient field.
  bool addressed = false;
  for (std::string_view f : {"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"}) {
    for (auto& raw : raw_values(message, hb, f)) {
      auto list = mail::parse_address_list(raw);
      for (auto& mb : list.mailboxes) {
        std::string a = to_lower(mb.str());
        if (std::find(mine.begin(), mine.end(), a) != mine.end()) addressed = true;
      }
    }
  }
  if (!addressed) return skip("none of the user's addresses is in To, Cc, Bcc or Resent-*");
  return {true, {}};
}

std::string compose_reply(std::string_view original, const VacationReply& v, const ReplyParams& p) {
  auto hb = mail::parse_header_block(original);
  std::string from = single_line(v.from.empty() ? p.user : v.from);
  if (from.find('<') == std::string::npos) from = "<" + from + ">";
  std::string subject = single_line(v.subject);
  if (subject.empty()) subject = "Auto: (no subject)";

  std::string out;
  out += "From: " + from + "\r\n";
  out += "To: <" + single_line(p.to) + ">\r\n";
  out += "Subject: " + encode_header_words(subject) + "\r\n";
  out += "Date: " + mail::rfc5322_date(static_cast<long>(p.now)) + "\r\n";
  out += "Message-ID: <" + p.unique + "@" + p.hostname + ">\r\n";
  // RFC 5230 5.8: In-Reply-To and References tie the reply to the original.
  std::string orig_id = single_line(first_value(original, hb, "Message-ID"));
  if (!orig_id.empty()) {
    std::string refs = single_line(first_value(original, hb, "References"));
    if (refs.size() > kMaxReferences) refs.clear();  // too long to carry: the id alone
    if (refs.empty()) {
      refs = orig_id;
    } else {
      refs += " " + orig_id;
    }
    out += "In-Reply-To: " + orig_id + "\r\n";
    out += "References: " + refs + "\r\n";
  }
  out += "Auto-Submitted: auto-replied\r\n";
  out += "MIME-Version: 1.0\r\n";
  if (v.mime) {
    // The reason is a MIME entity: its own header (Content-Type ...) and body.
    std::string entity = crlf_lines(v.reason);
    if (entity.find("\r\n\r\n") == std::string::npos && !starts_with(entity, "\r\n"))
      entity = "\r\n" + entity;
    out += entity;
  } else {
    std::string body = crlf_lines(v.reason);
    if (needs_qp(body)) {
      out += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
      out += quoted_printable(body);
    } else {
      out += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
      out += body;
    }
  }
  if (out.size() < 2 || out.substr(out.size() - 2) != "\r\n") out += "\r\n";
  return out;
}

}  // namespace mailfort::sieve
