#include "imap/imap_render.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/text.h"
#include "imap/imap_objectid.h"
#include "proto/mime/mime.h"

namespace mailfort::imap {
namespace {

using proto::imap::SearchKey;

// Case-insensitive substring test (ASCII folding; UTF-8 bytes compared as is).
bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

std::string_view header_block(std::string_view message) {
  proto::mime::Part root = proto::mime::parse(message);
  return message.substr(0, root.body_begin);
}

// A header value as SEARCH sees it: encoded words decoded (their raw form
// is not searched: "utf" must not find every encoded subject), tabs as
// spaces; for SUBJECT, which RFC 3501 matches against the envelope's
// subject, runs of blanks collapsed and the ends trimmed as ENVELOPE shows
// it. The same text Dovecot searches.
std::string searchable_value(std::string_view raw, bool collapse) {
  std::string v = proto::mime::decode_header_value(raw);
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    bool blank = c == ' ' || c == '\t';
    if (!collapse) {
      out += blank ? ' ' : c;
    } else if (!blank) {
      out += c;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  if (collapse && !out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool header_contains(std::string_view message, std::string_view field, std::string_view text) {
  auto hdr = header_block(message);
  bool subject = field == "Subject";
  for (auto& v : proto::mime::header_values(hdr, field))
    if (icontains(searchable_value(v, subject), text)) return true;
  return false;
}

// FROM/TO/CC/BCC: the addresses normalised (proto::mime::searchable_addresses),
// so "user (comment)@domain" is found as "user@domain", as in Dovecot.
bool address_contains(std::string_view message, std::string_view field, std::string_view text) {
  auto hdr = header_block(message);
  for (auto& v : proto::mime::header_values(hdr, field))
    if (icontains(proto::mime::searchable_addresses(v), text)) return true;
  return false;
}

int64_t day_of(int64_t seconds) {
  return seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
}

}  // namespace

std::string build_cache(std::string_view message) {
  proto::mime::Part root = proto::mime::parse(message);
  std::string out = proto::mime::imap_envelope(message, root);
  out.push_back('\0');
  out += proto::mime::imap_bodystructure(message, root, false);
  out.push_back('\0');
  out += proto::mime::imap_bodystructure(message, root, true);
  out.push_back('\0');
  out += cache_extras(message, root);  // THREADID, PREVIEW (imap_objectid.h)
  return out;
}

CachedStructure parse_cache(std::string_view blob) {
  CachedStructure c;
  auto a = blob.find('\0');
  if (a == std::string_view::npos) return c;
  auto b = blob.find('\0', a + 1);
  if (b == std::string_view::npos) return c;
  c.envelope = blob.substr(0, a);
  c.body = blob.substr(a + 1, b - a - 1);
  auto e = blob.find('\0', b + 1);  // the extras follow (npos in older blobs)
  c.bodystructure = blob.substr(b + 1, e == std::string_view::npos ? e : e - b - 1);
  return c;
}

std::string append_form(std::string message, bool literal8) {
  if (literal8) message = proto::mime::binary_parts_to_base64(std::move(message));
  // Most clients send CRLF already: then the message is kept as it is,
  // without a second copy of a large APPEND in memory.
  bool clean = true;
  for (std::size_t i = 0; i < message.size() && clean; ++i) {
    if (message[i] == '\r')
      clean = i + 1 < message.size() && message[i + 1] == '\n';
    else if (message[i] == '\n')
      clean = i > 0 && message[i - 1] == '\r';
  }
  if (clean) return message;
  return proto::mime::with_crlf(message);
}

std::optional<std::string> body_section(std::string_view message, const proto::imap::Section& s) {
  proto::mime::Part root = proto::mime::parse(message);
  proto::mime::Section ms;
  ms.part = s.part;
  ms.fields = s.fields;
  using K = proto::imap::Section::Kind;
  switch (s.kind) {
    case K::Full:
      ms.kind = proto::mime::SectionKind::Full;
      break;
    case K::Header:
      ms.kind = proto::mime::SectionKind::Header;
      break;
    case K::HeaderFields:
      ms.kind = proto::mime::SectionKind::HeaderFields;
      break;
    case K::HeaderFieldsNot:
      ms.kind = proto::mime::SectionKind::HeaderFieldsNot;
      break;
    case K::Text:
      ms.kind = proto::mime::SectionKind::Text;
      break;
    case K::Mime:
      ms.kind = proto::mime::SectionKind::Mime;
      break;
  }
  return proto::mime::section(message, root, ms);
}

std::optional<std::string> binary_section(std::string_view message, const std::vector<uint32_t>& path,
                                          bool& unknown_cte) {
  proto::mime::Part root = proto::mime::parse(message);
  auto data = proto::mime::binary(message, root, path, unknown_cte);
  if (!data && !unknown_cte) return std::string();  // no such part: empty, like BODY[] (and Dovecot)
  return data;
}

SearchFacts search_facts(const store::MessageMeta& m, uint32_t seq, uint32_t max_seq, uint32_t max_uid,
                         const std::set<uint32_t>* recent) {
  SearchFacts f;
  f.seq = seq;
  f.uid = m.uid;
  f.flags = m.flags;
  f.keywords = m.keywords;
  f.internal_date = m.internal_date;
  f.size = m.size;
  f.modseq = m.modseq;
  f.recent = recent && recent->count(m.uid);
  f.max_seq = max_seq;
  f.max_uid = max_uid;
  return f;
}

bool search_needs_text(const SearchKey& k) {
  using Op = SearchKey::Op;
  switch (k.op) {
    case Op::Bcc:
    case Op::Cc:
    case Op::From:
    case Op::To:
    case Op::Subject:
    case Op::Body:
    case Op::Text:
    case Op::Header:
    case Op::SentBefore:
    case Op::SentOn:
    case Op::SentSince:
      return true;
    default:
      break;
  }
  for (const auto& c : k.children)
    if (search_needs_text(c)) return true;
  return false;
}

bool search_matches(const SearchKey& k, const SearchFacts& m) {
  using Op = SearchKey::Op;
  auto has = [&](uint32_t bit) { return (m.flags & bit) != 0; };
  auto kw = [&](const std::string& name) {
    std::string l = to_lower(name);
    const char* sys[] = {"\\seen", "\\answered", "\\flagged", "\\deleted", "\\draft"};
    for (int i = 0; i < 5; ++i)
      if (l == sys[i]) return has(1u << i);
    for (const auto& w : m.keywords)
      if (to_lower(w) == l) return true;
    return false;
  };
  switch (k.op) {
    case Op::And:
      for (const auto& c : k.children)
        if (!search_matches(c, m)) return false;
      return true;
    case Op::Or:
      return search_matches(k.children[0], m) || search_matches(k.children[1], m);
    case Op::Not:
      return !search_matches(k.children[0], m);
    case Op::All:
      return true;
    case Op::Answered:
      return has(2);
    case Op::Deleted:
      return has(8);
    case Op::Draft:
      return has(16);
    case Op::Flagged:
      return has(4);
    case Op::Seen:
      return has(1);
    case Op::New:
      return m.recent && !has(1);
    case Op::Old:
      return !m.recent;
    case Op::Recent:
      return m.recent;
    case Op::Unanswered:
      return !has(2);
    case Op::Undeleted:
      return !has(8);
    case Op::Undraft:
      return !has(16);
    case Op::Unflagged:
      return !has(4);
    case Op::Unseen:
      return !has(1);
    case Op::Keyword:
      return kw(k.field);
    case Op::Unkeyword:
      return !kw(k.field);
    case Op::Bcc:
      return address_contains(m.message, "Bcc", k.text);
    case Op::Cc:
      return address_contains(m.message, "Cc", k.text);
    case Op::From:
      return address_contains(m.message, "From", k.text);
    case Op::To:
      return address_contains(m.message, "To", k.text);
    case Op::Subject:
      return header_contains(m.message, "Subject", k.text);
    case Op::Header: {
      auto values = proto::mime::header_values(header_block(m.message), k.field);
      if (k.text.empty()) return !values.empty();
      for (auto& v : values)
        if (icontains(searchable_value(v, false), k.text)) return true;
      return false;
    }
    case Op::Body: {
      proto::mime::Part root = proto::mime::parse(m.message);
      return icontains(proto::mime::searchable_body(m.message, root), k.text);
    }
    case Op::Text: {
      // The header of the message and of every part and embedded message,
      // then the text bodies (RFC 3501: "in the header or body").
      proto::mime::Part root = proto::mime::parse(m.message);
      return icontains(proto::mime::searchable_headers(m.message, root), k.text) ||
             icontains(proto::mime::searchable_body(m.message, root), k.text);
    }
    case Op::Before:
      return day_of(m.internal_date) < k.number;
    case Op::On:
      return day_of(m.internal_date) == k.number;
    case Op::Since:
      return day_of(m.internal_date) >= k.number;
    case Op::SentBefore:
    case Op::SentOn:
    case Op::SentSince: {
      auto values = proto::mime::header_values(header_block(m.message), "Date");
      std::optional<int64_t> day = values.empty() ? std::nullopt : rfc5322_day(values[0]);
      int64_t d = day ? *day : day_of(m.internal_date);  // RFC 9051: fall back to the internal date
      if (k.op == Op::SentBefore) return d < k.number;
      if (k.op == Op::SentOn) return d == k.number;
      return d >= k.number;
    }
    case Op::Larger:
      return m.size > static_cast<uint64_t>(k.number);
    case Op::Smaller:
      return m.size < static_cast<uint64_t>(k.number);
    case Op::Uid:
      return k.set.contains(m.uid, m.max_uid);
    case Op::SequenceSet:
      return k.set.contains(m.seq, m.max_seq);
    case Op::ModSeq:
      return m.modseq >= static_cast<uint64_t>(k.number);
    case Op::EmailId:
      return !m.emailid.empty() && m.emailid == k.text;  // objectids are case-sensitive
    case Op::ThreadId:
      return !m.threadid.empty() && m.threadid == k.text;
    case Op::SavedBefore:
      return m.savedate && day_of(*m.savedate) < k.number;
    case Op::SavedOn:
      return m.savedate && day_of(*m.savedate) == k.number;
    case Op::SavedSince:
      return m.savedate && day_of(*m.savedate) >= k.number;
    case Op::SaveDateSupported:
      return true;  // every folder keeps save dates
  }
  return false;
}

std::optional<int64_t> rfc5322_day(std::string_view v) {
  // [day-name ","] day month year ...
  std::string s(v);
  auto comma = s.find(',');
  if (comma != std::string::npos) s = s.substr(comma + 1);
  std::vector<std::string> tok;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (!cur.empty()) tok.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
    if (tok.size() >= 3) break;
  }
  if (!cur.empty() && tok.size() < 3) tok.push_back(cur);
  if (tok.size() < 3) return std::nullopt;
  std::string year = tok[2];
  for (char c : year)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  if (year.size() == 2) year = (std::stoi(year) < 50 ? "20" : "19") + year;  // RFC 5322 4.3 obsolete years
  if (tok[0].size() == 1) tok[0] = "0" + tok[0];
  if (tok[0].size() != 2 || tok[1].size() != 3 || year.size() != 4) return std::nullopt;
  for (char c : year)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return proto::imap::parse_date(tok[0] + "-" + tok[1] + "-" + year);
}

}  // namespace mailfort::imap
