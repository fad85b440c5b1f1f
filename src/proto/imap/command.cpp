#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "base/text.h"
#include "proto/imap/command.h"
#include "proto/imap/command_assembler.h"

namespace mailfort::proto::imap {
namespace {

constexpr int kMaxDepth = 32;             // nesting of lists and SEARCH keys
constexpr std::size_t kMaxItems = 10000;  // items in one list / keys in one program

bool is_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x1f || u == 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case ' ':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
      return false;
    default:
      return true;
  }
}

}  // namespace

// Recursive-descent reader over one command's text.
class ArgReader {
 public:
  explicit ArgReader(std::string_view t) : t_(t) {}

  bool at_end() const { return p_ >= t_.size(); }
  char peek() const { return at_end() ? '\0' : t_[p_]; }
  bool eat(char c) {
    if (peek() != c || at_end()) return false;
    ++p_;
    return true;
  }
  bool sp() { return eat(' '); }
  std::size_t pos() const { return p_; }
  void set_pos(std::size_t p) { p_ = p; }

  // atom, optionally allowing extra characters (']' for astrings, wildcards for list-mailbox)
  std::optional<std::string> atom(std::string_view extra = {}) {
    std::size_t start = p_;
    while (!at_end() && (is_atom_char(t_[p_]) || extra.find(t_[p_]) != std::string_view::npos)) ++p_;
    if (p_ == start) return std::nullopt;
    return std::string(t_.substr(start, p_ - start));
  }

  std::optional<std::string> quoted() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (!at_end()) {
      char c = t_[p_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) return std::nullopt;
        c = t_[p_++];
        if (c != '"' && c != '\\') return std::nullopt;
      } else if (c == '\r' || c == '\n' || c == '\0') {
        return std::nullopt;
      }
      out.push_back(c);
    }
    return std::nullopt;
  }

  // NUL is not a CHAR8 (RFC 3501 9): only literal8 "~{n}" and APPEND's
  // message may carry it.
  std::optional<std::string> literal(bool allow_nul = false) {
    std::size_t start = p_;
    bool binary = eat('~');
    if (!eat('{')) {
      p_ = start;
      return std::nullopt;
    }
    std::size_t digits = p_;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(t_[p_]))) ++p_;
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(t_.data() + digits, t_.data() + p_, n);
    if (ec != std::errc() || p_ == digits) return std::nullopt;
    eat('+');
    if (!eat('}') || !eat('\r') || !eat('\n')) return std::nullopt;
    if (n > t_.size() - p_) return std::nullopt;
    std::string out(t_.substr(p_, n));
    if (!binary && !allow_nul && out.find('\0') != std::string::npos) return std::nullopt;
    p_ += n;
    return out;
  }

  // string = quoted / literal. A literal8 ("~{n}") is not a string: only
  // APPEND's message takes one (literal(true)); "~foo" is an atom.
  std::optional<std::string> string() {
    if (peek() == '"') return quoted();
    if (peek() == '{') return literal();
    return std::nullopt;
  }

  // astring = 1*ASTRING-CHAR / string; ASTRING-CHAR = ATOM-CHAR / "]"
  std::optional<std::string> astring() {
    if (peek() == '"' || peek() == '{') return string();
    return atom("]");
  }

  // list-mailbox = 1*list-char / string; list-char = ATOM-CHAR / "%" / "*" / "]"
  std::optional<std::string> list_mailbox() {
    if (peek() == '"' || peek() == '{') return string();
    return atom("]%*");
  }

  std::optional<uint64_t> number() {
    std::size_t start = p_;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(t_[p_]))) ++p_;
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(t_.data() + start, t_.data() + p_, n);
    if (ec != std::errc() || p_ == start) {
      p_ = start;
      return std::nullopt;
    }
    return n;
  }

  // nz-number: 1 to 4294967295 (RFC 9051 9: a 32-bit unsigned number).
  std::optional<uint32_t> nz_number32() {
    std::size_t start = p_;
    auto n = number();
    if (!n || *n == 0 || *n > UINT32_MAX) {
      p_ = start;
      return std::nullopt;
    }
    return static_cast<uint32_t>(*n);
  }

  std::optional<SequenceSet> sequence_set() {
    SequenceSet set;
    if (eat('$')) {
      set.saved = true;
      return set;
    }
    do {
      auto one = seq_number();
      if (!one) return std::nullopt;
      uint32_t lo = *one, hi = *one;
      if (eat(':')) {
        auto two = seq_number();
        if (!two) return std::nullopt;
        hi = *two;
        // "*" (kStar) stays the upper end; numbers in ascending order.
        if (lo == SequenceSet::kStar || (hi != SequenceSet::kStar && lo > hi)) std::swap(lo, hi);
      }
      if (set.ranges.size() >= kMaxItems * 10) return std::nullopt;
      set.ranges.push_back({lo, hi});
    } while (eat(','));
    return set;
  }

 private:
  std::optional<uint32_t> seq_number() {
    if (eat('*')) return SequenceSet::kStar;
    return nz_number32();
  }

  std::string_view t_;
  std::size_t p_ = 0;
};

namespace {

// flag-list "(" [flag *(SP flag)] ")"
bool parse_flag_list(ArgReader& r, std::vector<std::string>& out) {
  if (!r.eat('(')) return false;
  if (r.eat(')')) return true;
  do {
    std::string flag;
    if (r.eat('\\')) {
      auto a = r.atom();
      if (!a) return false;
      flag = "\\" + *a;
    } else {
      auto a = r.atom();
      if (!a) return false;
      flag = *a;
    }
    if (out.size() >= kMaxItems) return false;
    out.push_back(std::move(flag));
  } while (r.sp());
  return r.eat(')');
}

bool parse_section(ArgReader& r, Section& s, bool binary) {
  // after '['
  std::size_t start = r.pos();
  if (r.eat(']')) return true;
  while (true) {
    auto n = r.nz_number32();
    if (!n) break;
    s.part.push_back(*n);
    if (s.part.size() > 64) return false;
    if (!r.eat('.')) {
      if (!r.eat(']')) return false;
      s.text = "";
      for (std::size_t i = 0; i < s.part.size(); ++i) s.text += (i ? "." : "") + std::to_string(s.part[i]);
      return true;
    }
  }
  if (binary) return false;  // BINARY takes only part numbers
  auto word = r.atom();
  if (!word) return false;
  std::string w = to_upper(*word);
  if (w == "HEADER") {
    s.kind = Section::Kind::Header;
  } else if (w == "TEXT") {
    s.kind = Section::Kind::Text;
  } else if (w == "MIME") {
    if (s.part.empty()) return false;
    s.kind = Section::Kind::Mime;
  } else if (w == "HEADER.FIELDS" || w == "HEADER.FIELDS.NOT") {
    s.kind = w == "HEADER.FIELDS" ? Section::Kind::HeaderFields : Section::Kind::HeaderFieldsNot;
    if (!r.sp() || !r.eat('(')) return false;
    do {
      auto f = r.astring();
      if (!f || f->empty()) return false;
      if (s.fields.size() >= 1000) return false;
      s.fields.push_back(to_upper(*f));
    } while (r.sp());
    if (!r.eat(')')) return false;
  } else {
    return false;
  }
  if (!r.eat(']')) return false;
  // Section text for the response: part numbers, keyword, field list as sent (upper-cased).
  std::string text;
  for (std::size_t i = 0; i < s.part.size(); ++i) text += std::to_string(s.part[i]) + ".";
  text += w;
  if (!s.fields.empty()) {
    text += " (";
    for (std::size_t i = 0; i < s.fields.size(); ++i) text += (i ? " " : "") + s.fields[i];
    text += ")";
  }
  s.text = text;
  (void)start;
  return true;
}

bool parse_partial(ArgReader& r, FetchItem& item) {
  if (!r.eat('<')) return true;
  auto o = r.number();
  if (!o || *o > UINT32_MAX || !r.eat('.')) return false;
  auto l = r.number();
  if (!l || *l == 0 || *l > UINT32_MAX || !r.eat('>')) return false;
  item.partial_offset = static_cast<uint32_t>(*o);
  item.partial_length = static_cast<uint32_t>(*l);
  return true;
}

// RFC 8970: PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"], the only
// modifier being LAZY. Without parentheses after FETCH's set, a "(" that
// does not hold preview modifiers is FETCH's own modifier list: left alone.
bool parse_preview(ArgReader& r, std::vector<FetchItem>& out) {
  FetchItem item;
  item.kind = FetchItem::Kind::Preview;
  std::size_t save = r.pos();
  if (r.sp() && r.eat('(')) {
    auto a = r.atom();
    if (a && to_upper(*a) == "LAZY") {
      item.lazy = true;
      while (r.sp()) {
        auto m = r.atom();
        if (!m || to_upper(*m) != "LAZY") return false;
      }
      if (!r.eat(')')) return false;
      out.push_back(std::move(item));
      return true;
    }
  }
  r.set_pos(save);
  out.push_back(std::move(item));
  return true;
}

bool parse_fetch_att(ArgReader& r, std::vector<FetchItem>& out) {
  auto a = r.atom("[]");
  if (!a) return false;
  // The atom may have swallowed "BODY[...": split at '['.
  std::string word = to_upper(*a);
  auto bracket = word.find('[');
  if (bracket != std::string::npos) {
    r.set_pos(r.pos() - (word.size() - bracket));
    word.resize(bracket);
  }
  using K = FetchItem::Kind;
  auto push = [&](K k) {
    FetchItem item;
    item.kind = k;
    out.push_back(std::move(item));
    return true;
  };
  if (word == "ALL") return push(K::Flags), push(K::InternalDate), push(K::Rfc822Size), push(K::Envelope);
  if (word == "FAST") return push(K::Flags), push(K::InternalDate), push(K::Rfc822Size);
  if (word == "FULL")
    return push(K::Flags), push(K::InternalDate), push(K::Rfc822Size), push(K::Envelope), push(K::Body);
  if (word == "FLAGS") return push(K::Flags);
  if (word == "UID") return push(K::Uid);
  if (word == "INTERNALDATE") return push(K::InternalDate);
  if (word == "RFC822.SIZE") return push(K::Rfc822Size);
  if (word == "ENVELOPE") return push(K::Envelope);
  if (word == "BODYSTRUCTURE") return push(K::BodyStructure);
  if (word == "RFC822") return push(K::Rfc822);
  if (word == "RFC822.HEADER") return push(K::Rfc822Header);
  if (word == "RFC822.TEXT") return push(K::Rfc822Text);
  if (word == "MODSEQ") return push(K::ModSeq);
  if (word == "EMAILID") return push(K::EmailId);
  if (word == "THREADID") return push(K::ThreadId);
  if (word == "SAVEDATE") return push(K::SaveDate);
  if (word == "PREVIEW") return parse_preview(r, out);
  if (word == "BODY" && r.peek() != '[') return push(K::Body);
  FetchItem item;
  item.kind = K::BodySection;
  bool binary = false;
  if (word == "BODY" || word == "BODY.PEEK") {
    item.peek = word == "BODY.PEEK";
  } else if (word == "BINARY" || word == "BINARY.PEEK") {
    item.kind = K::BinarySection;
    item.peek = word == "BINARY.PEEK";
    binary = true;
  } else if (word == "BINARY.SIZE") {
    item.kind = K::BinarySize;
    binary = true;
  } else {
    return false;
  }
  if (!r.eat('[')) return false;
  if (!parse_section(r, item.section, binary)) return false;
  if (item.kind != K::BinarySize && !parse_partial(r, item)) return false;
  out.push_back(std::move(item));
  return true;
}

const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool parse_search_key(ArgReader& r, SearchKey& key, int depth);

bool parse_search_program(ArgReader& r, std::vector<SearchKey>& out, int depth, bool in_parens) {
  do {
    if (in_parens && r.peek() == ')') break;
    SearchKey k;
    if (!parse_search_key(r, k, depth + 1)) return false;
    if (out.size() >= kMaxItems) return false;
    out.push_back(std::move(k));
  } while (r.sp());
  return true;
}

bool parse_search_key(ArgReader& r, SearchKey& key, int depth) {
  using Op = SearchKey::Op;
  if (depth > kMaxDepth) return false;
  if (r.eat('(')) {
    key.op = Op::And;
    if (!parse_search_program(r, key.children, depth, true)) return false;
    return !key.children.empty() && r.eat(')');
  }
  char c = r.peek();
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '*' || c == '$') {
    auto set = r.sequence_set();
    if (!set || set->saved) return false;
    key.op = Op::SequenceSet;
    key.set = std::move(*set);
    return true;
  }
  auto a = r.atom();
  if (!a) return false;
  std::string w = to_upper(*a);
  struct Simple {
    const char* name;
    Op op;
  };
  static const Simple simple[] = {
      {"ALL", Op::All},
      {"ANSWERED", Op::Answered},
      {"DELETED", Op::Deleted},
      {"DRAFT", Op::Draft},
      {"FLAGGED", Op::Flagged},
      {"SEEN", Op::Seen},
      {"NEW", Op::New},
      {"OLD", Op::Old},
      {"RECENT", Op::Recent},
      {"UNANSWERED", Op::Unanswered},
      {"UNDELETED", Op::Undeleted},
      {"UNDRAFT", Op::Undraft},
      {"UNFLAGGED", Op::Unflagged},
      {"UNSEEN", Op::Unseen},
  };
  for (const auto& s : simple) {
    if (w == s.name) {
      key.op = s.op;
      return true;
    }
  }
  static const Simple text_keys[] = {{"BCC", Op::Bcc},  {"CC", Op::Cc},           {"FROM", Op::From},
                                     {"TO", Op::To},    {"SUBJECT", Op::Subject}, {"BODY", Op::Body},
                                     {"TEXT", Op::Text}};
  for (const auto& s : text_keys) {
    if (w == s.name) {
      key.op = s.op;
      auto v = r.sp() ? r.astring() : std::nullopt;
      if (!v) return false;
      key.text = std::move(*v);
      return true;
    }
  }
  static const Simple date_keys[] = {{"BEFORE", Op::Before}, {"ON", Op::On},
                                     {"SINCE", Op::Since},   {"SENTBEFORE", Op::SentBefore},
                                     {"SENTON", Op::SentOn}, {"SENTSINCE", Op::SentSince}};
  for (const auto& s : date_keys) {
    if (w == s.name) {
      key.op = s.op;
      if (!r.sp()) return false;
      auto v = r.astring();
      if (!v) return false;
      auto d = parse_date(*v);
      if (!d) return false;
      key.number = *d;
      return true;
    }
  }
  if (w == "KEYWORD" || w == "UNKEYWORD") {
    key.op = w == "KEYWORD" ? Op::Keyword : Op::Unkeyword;
    if (!r.sp()) return false;
    bool system = r.eat('\\');
    auto v = r.atom();
    if (!v) return false;
    key.field = (system ? "\\" : "") + *v;
    return true;
  }
  if (w == "HEADER") {
    key.op = Op::Header;
    if (!r.sp()) return false;
    auto f = r.astring();
    if (!f || !r.sp()) return false;
    auto v = r.astring();
    if (!v) return false;
    key.field = std::move(*f);
    key.text = std::move(*v);
    return true;
  }
  if (w == "LARGER" || w == "SMALLER") {
    key.op = w == "LARGER" ? Op::Larger : Op::Smaller;
    if (!r.sp()) return false;
    auto n = r.number();
    if (!n || *n > (uint64_t{1} << 62)) return false;
    key.number = static_cast<int64_t>(*n);
    return true;
  }
  if (w == "UID") {
    key.op = Op::Uid;
    if (!r.sp()) return false;
    auto set = r.sequence_set();
    if (!set || set->saved) return false;
    key.set = std::move(*set);
    return true;
  }
  if (w == "NOT") {
    key.op = Op::Not;
    key.children.resize(1);
    return r.sp() && parse_search_key(r, key.children[0], depth + 1);
  }
  if (w == "OR") {
    key.op = Op::Or;
    key.children.resize(2);
    return r.sp() && parse_search_key(r, key.children[0], depth + 1) && r.sp() &&
           parse_search_key(r, key.children[1], depth + 1);
  }
  if (w == "EMAILID" || w == "THREADID") {
    key.op = w == "EMAILID" ? Op::EmailId : Op::ThreadId;
    auto v = r.sp() ? r.atom() : std::nullopt;  // objectid: letters, digits, "-" and "_"
    if (!v || v->size() > 255) return false;
    for (char ch : *v)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') return false;
    key.text = std::move(*v);
    return true;
  }
  if (w == "SAVEDATESUPPORTED") {
    key.op = Op::SaveDateSupported;
    return true;
  }
  if (w == "SAVEDBEFORE" || w == "SAVEDON" || w == "SAVEDSINCE") {
    key.op = w == "SAVEDBEFORE" ? Op::SavedBefore : w == "SAVEDON" ? Op::SavedOn : Op::SavedSince;
    auto v = r.sp() ? r.astring() : std::nullopt;
    auto d = v ? parse_date(*v) : std::nullopt;
    if (!d) return false;
    key.number = *d;
    return true;
  }
  if (w == "MODSEQ") {
    key.op = Op::ModSeq;
    if (!r.sp()) return false;
    // Optional entry-name and entry-type-req: MODSEQ "/flags/\\draft" all 620162338
    if (r.peek() == '"') {
      if (!r.quoted() || !r.sp() || !r.atom() || !r.sp()) return false;
    }
    auto n = r.number();
    if (!n || *n > (uint64_t{1} << 62)) return false;
    key.number = static_cast<int64_t>(*n);
    return true;
  }
  return false;
}

bool parse_status_items(ArgReader& r, StatusItems& s) {
  if (!r.eat('(')) return false;
  do {
    auto a = r.atom();
    if (!a) return false;
    std::string w = to_upper(*a);
    if (w == "MESSAGES")
      s.messages = true;
    else if (w == "RECENT")
      s.recent = true;
    else if (w == "UIDNEXT")
      s.uidnext = true;
    else if (w == "UIDVALIDITY")
      s.uidvalidity = true;
    else if (w == "UNSEEN")
      s.unseen = true;
    else if (w == "DELETED")
      s.deleted = true;
    else if (w == "SIZE")
      s.size = true;
    else if (w == "HIGHESTMODSEQ")
      s.highestmodseq = true;
    else if (w == "MAILBOXID")
      s.mailboxid = true;
    else
      return false;
  } while (r.sp());
  return r.eat(')');
}

bool parse_list(ArgReader& r, ListArgs& l) {
  if (r.eat('(')) {
    l.extended = true;
    if (!r.eat(')')) {
      do {
        auto a = r.atom();
        if (!a) return false;
        std::string w = to_upper(*a);
        if (w == "SUBSCRIBED")
          l.subscribed = true;
        else if (w == "RECURSIVEMATCH")
          l.recursive_match = true;
        else if (w == "SPECIAL-USE")
          l.special_use = true;
        else if (w != "REMOTE")
          return false;
      } while (r.sp());
      if (!r.eat(')')) return false;
    }
    if (!r.sp()) return false;
  }
  auto ref = r.astring();
  if (!ref || !r.sp()) return false;
  l.reference = std::move(*ref);
  if (r.eat('(')) {
    l.extended = true;
    do {
      auto p = r.list_mailbox();
      if (!p || l.patterns.size() >= 100) return false;
      l.patterns.push_back(std::move(*p));
    } while (r.sp());
    if (!r.eat(')')) return false;
  } else {
    auto p = r.list_mailbox();
    if (!p) return false;
    l.patterns.push_back(std::move(*p));
  }
  if (r.sp()) {
    auto a = r.atom();
    if (!a || to_upper(*a) != "RETURN" || !r.sp() || !r.eat('(')) return false;
    l.extended = true;
    if (!r.eat(')')) {
      do {
        auto o = r.atom();
        if (!o) return false;
        std::string w = to_upper(*o);
        if (w == "SUBSCRIBED")
          l.return_subscribed = true;
        else if (w == "CHILDREN")
          l.return_children = true;
        else if (w == "SPECIAL-USE")
          l.return_special_use = true;
        else if (w == "STATUS") {
          StatusItems s;
          if (!r.sp() || !parse_status_items(r, s)) return false;
          l.return_status = s;
        } else {
          return false;
        }
      } while (r.sp());
      if (!r.eat(')')) return false;
    }
  }
  // RECURSIVEMATCH needs a selection it can recurse on (RFC 5258 3; REMOTE is none).
  if (l.recursive_match && !l.subscribed && !l.special_use) return false;
  return true;
}

// ---- Arguments of each command (the table's grammar); `r` stands just past
// the command name.

bool need_sp(ArgReader& r, std::string& why) {
  if (r.sp()) return true;
  why = "missing argument";
  return false;
}

bool one_astring(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto a = r.astring();
  if (!a) return false;
  c.args.push_back(std::move(*a));
  return true;
}

bool parse_nothing(ArgReader&, Command&, std::string&) {
  return true;
}

// LOGIN user password, RENAME from to
bool parse_two_astrings(ArgReader& r, Command& c, std::string& why) {
  return one_astring(r, c, why) && one_astring(r, c, why);
}

// DELETE, (UN)SUBSCRIBE, GETQUOTA, GETQUOTAROOT
bool parse_one_astring(ArgReader& r, Command& c, std::string& why) {
  return one_astring(r, c, why);
}

bool parse_authenticate(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto mech = r.atom();
  if (!mech) return false;
  c.args.push_back(to_upper(*mech));
  if (r.sp()) {
    auto ir = r.atom("=");
    if (!ir) return false;
    c.args.push_back(std::move(*ir));
  }
  return true;
}

// QRESYNC's "(" uidvalidity SP mod-sequence-value [SP known-uids]
// [SP seq-match-data] ")" (RFC 7162 3.2.5).
bool parse_qresync(ArgReader& r, QresyncParams& q) {
  if (!r.eat('(')) return false;
  auto validity = r.nz_number32();
  if (!validity || !r.sp()) return false;
  auto modseq = r.number();
  if (!modseq || *modseq > INT64_MAX) return false;
  q.uidvalidity = *validity;
  q.modseq = *modseq;
  if (r.sp() && r.peek() != '(') {
    auto known = r.sequence_set();
    if (!known || known->saved) return false;
    q.known_uids = std::move(*known);
    if (!r.sp()) return r.eat(')');
  }
  if (r.eat('(')) {
    auto seqs = r.sequence_set();
    if (!seqs || seqs->saved || !r.sp()) return false;
    auto uids = r.sequence_set();
    if (!uids || uids->saved || !r.eat(')')) return false;
    q.match_seqs = std::move(*seqs);
    q.match_uids = std::move(*uids);
  }
  return r.eat(')');
}

// SELECT, EXAMINE: mailbox [(CONDSTORE / QRESYNC (...))]
bool parse_select(ArgReader& r, Command& c, std::string& why) {
  if (!one_astring(r, c, why)) return false;
  if (r.sp()) {
    if (!r.eat('(')) return false;
    do {
      auto a = r.atom();
      if (!a) return false;
      if (to_upper(*a) == "CONDSTORE") {
        c.condstore = true;
      } else if (to_upper(*a) == "QRESYNC" && !c.qresync) {
        if (!r.sp() || !parse_qresync(r, c.qresync.emplace())) return false;
      } else {
        return false;
      }
    } while (r.sp());
    return r.eat(')');
  }
  return true;
}

bool parse_create(ArgReader& r, Command& c, std::string& why) {
  if (!one_astring(r, c, why)) return false;
  if (r.sp()) {
    // (USE (\Sent ...))
    if (!r.eat('(')) return false;
    auto a = r.atom();
    if (!a || to_upper(*a) != "USE" || !r.sp()) return false;
    std::vector<std::string> flags;
    if (!parse_flag_list(r, flags)) return false;
    c.special_use = std::move(flags);
    return r.eat(')');
  }
  return true;
}

bool parse_lsub(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto ref = r.astring();
  if (!ref || !r.sp()) return false;
  auto p = r.list_mailbox();
  if (!p) return false;
  c.list.reference = std::move(*ref);
  c.list.patterns.push_back(std::move(*p));
  c.list.subscribed = true;
  return true;
}

bool parse_list_args(ArgReader& r, Command& c, std::string& why) {
  return need_sp(r, why) && parse_list(r, c.list);
}

bool parse_status(ArgReader& r, Command& c, std::string& why) {
  return one_astring(r, c, why) && need_sp(r, why) && parse_status_items(r, c.status);
}

bool parse_enable(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  do {
    auto a = r.atom();
    if (!a) return false;
    c.args.push_back(to_upper(*a));
  } while (r.sp() && c.args.size() < 100);
  return true;
}

bool parse_id(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  if (r.eat('(')) {
    if (r.eat(')')) return true;
    do {
      auto a = r.string();
      if (!a || c.args.size() >= 60) return false;
      c.args.push_back(std::move(*a));
    } while (r.sp());
    if (!r.eat(')')) return false;
    return true;
  }
  auto a = r.atom();
  return a && to_upper(*a) == "NIL";
}

// COMPRESS mechanism (upper-cased; the session refuses all but DEFLATE).
bool parse_compress(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto a = r.atom();
  if (!a) return false;
  c.args.push_back(to_upper(*a));
  return true;
}

// A message literal of APPEND (a message, or CATENATE's TEXT): inline, or
// kCutLiteral for the next literal the assembler cut out.
bool append_literal(ArgReader& r, std::string& out, int& cut, bool& binary, int& next_cut) {
  std::size_t start = r.pos();
  binary = r.eat('~');
  bool cut_out = true;
  for (char ch : kCutLiteral) cut_out = cut_out && r.eat(ch);
  if (cut_out && r.eat('\r') && r.eat('\n')) {
    cut = next_cut++;
    return true;
  }
  r.set_pos(start);
  auto lit = r.literal(true);
  if (!lit) return false;
  out = std::move(*lit);
  return true;
}

// CATENATE "(" cat-part *(SP cat-part) ")" (RFC 4469), after "CATENATE".
bool parse_catenate(ArgReader& r, AppendMessage& m, int& next_cut) {
  m.catenate = true;
  if (!r.sp() || !r.eat('(')) return false;
  do {
    auto kind = r.atom();
    if (!kind || !r.sp() || m.parts.size() >= kMaxItems) return false;
    std::string k = to_upper(*kind);
    AppendPart& p = m.parts.emplace_back();
    bool binary = false;
    if (k == "TEXT") {
      if (!append_literal(r, p.data, p.cut, binary, next_cut)) return false;
    } else if (k == "URL") {
      p.url = true;
      auto u = r.astring();
      if (!u) return false;
      p.data = std::move(*u);
    } else {
      return false;
    }
  } while (r.sp());
  return r.eat(')');
}

// APPEND mailbox 1*(SP [flag-list SP] [date-time SP] (literal / CATENATE (...)))
// (RFC 3502 MULTIAPPEND, RFC 4469 CATENATE).
bool parse_append(ArgReader& r, Command& c, std::string& why) {
  if (!one_astring(r, c, why)) return false;
  int next_cut = 0;
  while (r.sp()) {
    if (c.appends.size() >= kMaxItems) return false;
    AppendMessage& m = c.appends.emplace_back();
    if (r.peek() == '(') {
      if (!parse_flag_list(r, m.flags) || !need_sp(r, why)) return false;
    }
    if (r.peek() == '"') {
      auto d = r.quoted();
      if (!d) return false;
      auto t = parse_date_time(*d);
      if (!t) {
        why = "invalid date-time";
        return false;
      }
      m.date = *t;
      if (!need_sp(r, why)) return false;
    }
    if (r.peek() == '{' || r.peek() == '~') {
      if (!append_literal(r, m.literal, m.cut, m.binary, next_cut)) return false;
      continue;
    }
    auto a = r.atom();
    if (!a || to_upper(*a) != "CATENATE" || !parse_catenate(r, m, next_cut)) return false;
  }
  if (c.appends.empty()) {
    why = "missing argument";
    return false;
  }
  return true;
}

// GENURLAUTH 1*(SP url-rump SP mechanism) (RFC 4467): args url, mech, ...
bool parse_genurlauth(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  do {
    auto url = r.astring();
    if (!url || !r.sp() || c.args.size() >= 2 * 1000) return false;
    auto mech = r.atom();
    if (!mech) return false;
    c.args.push_back(std::move(*url));
    c.args.push_back(to_upper(*mech));
  } while (r.sp());
  return true;
}

// RESETKEY [SP mailbox *(SP mechanism)]: args [mailbox, mech, ...]
bool parse_resetkey(ArgReader& r, Command& c, std::string& why) {
  (void)why;
  if (!r.sp()) return true;
  auto mailbox = r.astring();
  if (!mailbox) return false;
  c.args.push_back(std::move(*mailbox));
  while (r.sp()) {
    auto mech = r.atom();
    if (!mech || c.args.size() >= 100) return false;
    c.args.push_back(to_upper(*mech));
  }
  return true;
}

// URLFETCH 1*(SP (url / "(" url *(SP fetch-param) ")")) (RFC 4467, RFC
// 5524): args the URLs, url_fetch their parameters.
bool parse_urlfetch(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  do {
    UrlFetchParams params;
    params.extended = r.eat('(');
    auto url = r.astring();
    if (!url || c.args.size() >= 1000) return false;
    if (params.extended) {
      while (r.sp()) {
        auto a = r.atom();
        if (!a) return false;
        std::string w = to_upper(*a);
        if (w == "BODYPARTSTRUCTURE")
          params.bodypartstructure = true;
        else if (w == "BINARY")
          params.binary = true;
        else if (w == "BODY")
          params.body = true;
        else
          return false;
      }
      if (!r.eat(')')) return false;
    }
    c.args.push_back(std::move(*url));
    c.url_fetch.push_back(params);
  } while (r.sp());
  return true;
}

bool parse_fetch(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto set = r.sequence_set();
  if (!set || set->saved || !need_sp(r, why)) return false;
  c.set = std::move(*set);
  if (r.eat('(')) {
    do {
      if (c.fetch.size() >= 1000 || !parse_fetch_att(r, c.fetch)) return false;
    } while (r.sp());
    if (!r.eat(')')) return false;
  } else if (!parse_fetch_att(r, c.fetch)) {
    return false;
  }
  if (r.sp()) {
    if (!r.eat('(')) return false;
    do {
      auto a = r.atom();
      if (!a) return false;
      std::string w = to_upper(*a);
      if (w == "CHANGEDSINCE") {
        if (!r.sp()) return false;
        auto v = r.number();
        if (!v) return false;
        c.changed_since = *v;
      } else if (w == "VANISHED") {
        c.vanished = true;
      } else {
        return false;
      }
    } while (r.sp());
    if (c.vanished && (!c.uid || !c.changed_since)) {  // RFC 7162 3.2.6
      why = "VANISHED needs UID FETCH and CHANGEDSINCE";
      return false;
    }
    return r.eat(')');
  }
  return true;
}

bool parse_store(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto set = r.sequence_set();
  if (!set || set->saved || !need_sp(r, why)) return false;
  c.set = std::move(*set);
  if (r.eat('(')) {
    auto a = r.atom();
    if (!a || to_upper(*a) != "UNCHANGEDSINCE" || !r.sp()) return false;
    auto v = r.number();
    if (!v || !r.eat(')') || !need_sp(r, why)) return false;
    c.store.unchanged_since = *v;
  }
  auto a = r.atom();
  if (!a) return false;
  std::string w = to_upper(*a);
  if (w.starts_with("+")) {
    c.store.mode = StoreArgs::Mode::Add;
    w.erase(0, 1);
  } else if (w.starts_with("-")) {
    c.store.mode = StoreArgs::Mode::Remove;
    w.erase(0, 1);
  }
  if (w == "FLAGS.SILENT")
    c.store.silent = true;
  else if (w != "FLAGS")
    return false;
  if (!need_sp(r, why)) return false;
  if (r.peek() == '(') return parse_flag_list(r, c.store.flags);
  // flag *(SP flag) without parentheses
  do {
    bool sys = r.eat('\\');
    auto f = r.atom();
    if (!f || c.store.flags.size() >= kMaxItems) return false;
    c.store.flags.push_back((sys ? "\\" : "") + *f);
  } while (r.sp());
  return true;
}

// COPY, MOVE: sequence-set mailbox
bool parse_copy(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto set = r.sequence_set();
  if (!set || set->saved) return false;
  c.set = std::move(*set);
  return one_astring(r, c, why);
}

// EXPUNGE takes nothing; UID EXPUNGE a UID set.
bool parse_expunge(ArgReader& r, Command& c, std::string& why) {
  if (!c.uid) return true;
  if (!need_sp(r, why)) return false;
  auto set = r.sequence_set();
  if (!set || set->saved) return false;
  c.set = std::move(*set);
  return true;
}

// The RETURN options of RFC 5267 beside ESEARCH's: PARTIAL lo:hi (either
// order), UPDATE, and CONTEXT (only a hint). `w` is the option's name.
bool parse_context_option(ArgReader& r, Command& c, const std::string& w) {
  if (w == "UPDATE") {
    c.search_update = true;
    return true;
  }
  if (w == "CONTEXT") return true;
  if (!r.sp()) return false;
  auto lo = r.nz_number32();
  if (!lo || !r.eat(':')) return false;
  auto hi = r.nz_number32();
  if (!hi) return false;
  c.search_partial = std::pair(std::min(*lo, *hi), std::max(*lo, *hi));
  return true;
}

bool is_context_option(const std::string& w) {
  return w == "PARTIAL" || w == "UPDATE" || w == "CONTEXT";
}

// SEARCH/SORT RETURN "(" [option *(SP option)] ")" SP, after "RETURN"
// (RFC 4731 ESEARCH, RFC 5267 ESORT and contexts; SAVE, RFC 5182, is
// SEARCH's only).
bool parse_return_options(ArgReader& r, Command& c, bool allow_save) {
  c.search_esearch = true;
  if (!r.sp() || !r.eat('(')) return false;
  if (!r.eat(')')) {
    do {
      auto o = r.atom();
      if (!o) return false;
      std::string w = to_upper(*o);
      if (is_context_option(w)) {
        if (!parse_context_option(r, c, w)) return false;
        continue;
      }
      bool known = w == "MIN" || w == "MAX" || w == "ALL" || w == "COUNT" || (allow_save && w == "SAVE");
      if (!known) return false;
      c.search_return.push_back(w);
    } while (r.sp());
    if (!r.eat(')')) return false;
  }
  return r.sp();
}

bool parse_search(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  std::size_t save = r.pos();
  auto a = r.atom();
  if (a && to_upper(*a) == "RETURN") {
    if (!parse_return_options(r, c, /*allow_save=*/true)) return false;
    save = r.pos();
    a = r.atom();
  }
  if (a && to_upper(*a) == "CHARSET") {
    if (!r.sp()) return false;
    auto cs = r.astring();
    if (!cs) return false;
    std::string u = to_upper(*cs);
    if (u != "UTF-8" && u != "US-ASCII") {
      why = "[BADCHARSET (UTF-8 US-ASCII)] unsupported charset";
      return false;
    }
    if (!r.sp()) return false;
  } else {
    r.set_pos(save);
  }
  c.search.op = SearchKey::Op::And;
  return parse_search_program(r, c.search.children, 0, false);
}

// SORT [RETURN (options)] (criteria) charset search-program (RFC 5256,
// RFC 5267 ESORT). The charset is checked by the session (NO [BADCHARSET]).
bool parse_sort(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  std::size_t save = r.pos();
  auto a = r.atom();
  if (a && to_upper(*a) == "RETURN") {
    if (!parse_return_options(r, c, /*allow_save=*/false)) return false;
  } else {
    r.set_pos(save);
  }
  if (!r.eat('(')) return false;
  do {
    auto k = r.atom();
    if (!k) return false;
    bool reverse = iequals(*k, "REVERSE");
    if (reverse && (!r.sp() || !(k = r.atom()))) return false;
    auto key = sort_key_named(*k);
    if (!key) {
      why = "unknown sort criterion";
      return false;
    }
    if (c.sort.size() >= 32) return false;
    c.sort.push_back({*key, reverse});
  } while (r.sp());
  if (!r.eat(')') || !r.sp()) return false;
  auto cs = r.astring();
  if (!cs || !r.sp()) return false;
  c.charset = to_upper(*cs);
  c.search.op = SearchKey::Op::And;
  return parse_search_program(r, c.search.children, 0, false);
}

// THREAD algorithm charset search-program (RFC 5256).
bool parse_thread(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto alg = r.atom();
  if (!alg || !r.sp()) return false;
  c.thread_algorithm = to_upper(*alg);
  if (c.thread_algorithm != "REFERENCES" && c.thread_algorithm != "ORDEREDSUBJECT") {
    why = "unknown threading algorithm";
    return false;
  }
  auto cs = r.astring();
  if (!cs || !r.sp()) return false;
  c.charset = to_upper(*cs);
  c.search.op = SearchKey::Op::And;
  return parse_search_program(r, c.search.children, 0, false);
}

// CANCELUPDATE tag-string *(SP tag-string) (RFC 5267 4.3).
bool parse_cancelupdate(ArgReader& r, Command& c, std::string& why) {
  do {
    if (!need_sp(r, why)) return false;
    auto t = r.astring();
    if (!t || c.args.size() >= 100) return false;
    c.args.push_back(std::move(*t));
  } while (!r.at_end());
  return true;
}

// ---- NOTIFY (RFC 5465)

// one-or-more-mailbox: a mailbox or "(" mailbox *(SP mailbox) ")"
bool parse_notify_mailboxes(ArgReader& r, std::vector<std::string>& out) {
  if (!r.eat('(')) {
    auto m = r.astring();
    if (!m) return false;
    out.push_back(std::move(*m));
    return true;
  }
  do {
    auto m = r.astring();
    if (!m || out.size() >= kMaxItems) return false;
    out.push_back(std::move(*m));
  } while (r.sp());
  return r.eat(')');
}

// events: "NONE" or "(" event *(SP event) ")"; MessageNew may carry fetch-att
// in a selected filter.
bool parse_notify_events(ArgReader& r, NotifyFilter& f, bool selected) {
  static constexpr std::string_view kNames[] = {"MESSAGENEW",        "MESSAGEEXPUNGE",        "FLAGCHANGE",
                                                "ANNOTATIONCHANGE",  "MAILBOXNAME",           "SUBSCRIPTIONCHANGE",
                                                "MAILBOXMETADATACHANGE", "SERVERMETADATACHANGE"};
  if (!r.eat('(')) {
    auto a = r.atom();
    return a && to_upper(*a) == "NONE";
  }
  do {
    auto a = r.atom();
    if (!a) return false;
    std::string w = to_upper(*a);
    uint32_t bit = 0;
    for (std::size_t i = 0; i < std::size(kNames); ++i)
      if (w == kNames[i]) bit = 1u << i;
    if (!bit) return false;
    f.events |= bit;
    std::size_t save = r.pos();
    if (bit == kNotifyMessageNew && selected && r.sp() && r.eat('(')) {
      do {
        if (f.fetch.size() >= 100 || !parse_fetch_att(r, f.fetch)) return false;
      } while (r.sp());
      if (!r.eat(')')) return false;
    } else {
      r.set_pos(save);
    }
  } while (r.sp());
  return r.eat(')') && f.events != 0;
}

// NOTIFY NONE / NOTIFY SET [STATUS] event-group *(SP event-group), where
// event-group = "(" filter-mailboxes SP events ")".
bool parse_notify(ArgReader& r, Command& c, std::string& why) {
  if (!need_sp(r, why)) return false;
  auto verb = r.atom();
  if (!verb) return false;
  if (to_upper(*verb) == "NONE") return true;
  if (to_upper(*verb) != "SET" || !need_sp(r, why)) return false;
  NotifyArgs& n = c.notify;
  n.set = true;
  if (r.peek() != '(') {
    auto s = r.atom();
    if (!s || to_upper(*s) != "STATUS" || !need_sp(r, why)) return false;
    n.status = true;
  }
  using Kind = NotifyFilter::Kind;
  bool have_selected = false;
  do {
    if (!r.eat('(') || n.filters.size() >= 100) return false;
    auto k = r.atom();
    if (!k || !r.sp()) return false;
    NotifyFilter f;
    std::string w = to_upper(*k);
    if (w == "SELECTED")
      f.kind = Kind::Selected;
    else if (w == "SELECTED-DELAYED")
      f.kind = Kind::SelectedDelayed;
    else if (w == "INBOXES")
      f.kind = Kind::Inboxes;
    else if (w == "PERSONAL")
      f.kind = Kind::Personal;
    else if (w == "SUBSCRIBED")
      f.kind = Kind::Subscribed;
    else if (w == "SUBTREE")
      f.kind = Kind::Subtree;
    else if (w == "MAILBOXES")
      f.kind = Kind::Mailboxes;
    else
      return false;
    if (f.kind == Kind::Subtree || f.kind == Kind::Mailboxes) {
      if (!parse_notify_mailboxes(r, f.mailboxes) || !r.sp()) return false;
    }
    bool selected = f.kind == Kind::Selected || f.kind == Kind::SelectedDelayed;
    if (!parse_notify_events(r, f, selected) || !r.eat(')')) return false;
    if (selected) {
      if (have_selected) {
        why = "Duplicate selected filter";
        return false;
      }
      have_selected = true;
      constexpr uint32_t both = kNotifyMessageNew | kNotifyMessageExpunge;
      if ((f.events & both) != 0 && (f.events & both) != both) {
        why = "MessageNew and MessageExpunge must be together";
        return false;
      }
      if ((f.events & (kNotifyFlagChange | kNotifyAnnotationChange)) && !(f.events & kNotifyMessageExpunge)) {
        why = "FlagChange requires MessageNew and MessageExpunge";
        return false;
      }
    }
    n.filters.push_back(std::move(f));
  } while (r.sp());
  return true;
}

// ---- The table

using K = CommandKind;
using L = LiteralLimit;
constexpr auto kRun = StateVerdict::Run;
// By SessionState: not authenticated, authenticated, selected.
constexpr std::array<StateVerdict, 3> kAnyState{kRun, kRun, kRun};
constexpr std::array<StateVerdict, 3> kBeforeLogin{kRun, StateVerdict::AlreadyAuthenticated,
                                                   StateVerdict::AlreadyAuthenticated};
constexpr std::array<StateVerdict, 3> kLoggedIn{StateVerdict::LogInFirst, kRun, kRun};
constexpr std::array<StateVerdict, 3> kSelected{StateVerdict::LogInFirst, StateVerdict::NoMailboxSelected,
                                                kRun};
// CHECK is answered like NOOP in every state, but runs only with a mailbox.
constexpr std::array<StateVerdict, 3> kCheck{StateVerdict::NoMailboxSelected, StateVerdict::NoMailboxSelected,
                                             kRun};

// In CommandKind order.
constexpr CommandSpec kCommands[] = {
    {K::Capability, "CAPABILITY", kAnyState, false, L::CommandText, parse_nothing},
    {K::Noop, "NOOP", kAnyState, false, L::CommandText, parse_nothing},
    {K::Logout, "LOGOUT", kAnyState, false, L::CommandText, parse_nothing},
    {K::Id, "ID", kAnyState, false, L::CommandText, parse_id},
    {K::Starttls, "STARTTLS", kBeforeLogin, false, L::CommandText, parse_nothing},
    {K::Login, "LOGIN", kBeforeLogin, false, L::CommandText, parse_two_astrings},
    {K::Authenticate, "AUTHENTICATE", kBeforeLogin, false, L::CommandText, parse_authenticate},
    {K::Enable, "ENABLE", kLoggedIn, false, L::CommandText, parse_enable},
    {K::Select, "SELECT", kLoggedIn, false, L::CommandText, parse_select},
    {K::Examine, "EXAMINE", kLoggedIn, false, L::CommandText, parse_select},
    {K::Create, "CREATE", kLoggedIn, false, L::CommandText, parse_create},
    {K::Delete, "DELETE", kLoggedIn, false, L::CommandText, parse_one_astring},
    {K::Rename, "RENAME", kLoggedIn, false, L::CommandText, parse_two_astrings},
    {K::Subscribe, "SUBSCRIBE", kLoggedIn, false, L::CommandText, parse_one_astring},
    {K::Unsubscribe, "UNSUBSCRIBE", kLoggedIn, false, L::CommandText, parse_one_astring},
    {K::List, "LIST", kLoggedIn, false, L::CommandText, parse_list_args},
    {K::Lsub, "LSUB", kLoggedIn, false, L::CommandText, parse_lsub},
    {K::Status, "STATUS", kLoggedIn, false, L::CommandText, parse_status},
    {K::Append, "APPEND", kLoggedIn, false, L::Message, parse_append},
    {K::Namespace, "NAMESPACE", kLoggedIn, false, L::CommandText, parse_nothing},
    {K::GetQuota, "GETQUOTA", kLoggedIn, false, L::CommandText, parse_one_astring},
    {K::GetQuotaRoot, "GETQUOTAROOT", kLoggedIn, false, L::CommandText, parse_one_astring},
    {K::Idle, "IDLE", kLoggedIn, false, L::CommandText, parse_nothing},
    {K::Notify, "NOTIFY", kLoggedIn, false, L::CommandText, parse_notify},
    {K::Compress, "COMPRESS", kLoggedIn, false, L::CommandText, parse_compress},
    {K::Unauthenticate, "UNAUTHENTICATE", kLoggedIn, false, L::CommandText, parse_nothing},
    {K::Check, "CHECK", kCheck, false, L::CommandText, parse_nothing},
    {K::Fetch, "FETCH", kSelected, true, L::CommandText, parse_fetch},
    {K::Store, "STORE", kSelected, true, L::CommandText, parse_store},
    {K::Copy, "COPY", kSelected, true, L::CommandText, parse_copy},
    {K::Move, "MOVE", kSelected, true, L::CommandText, parse_copy},
    {K::Expunge, "EXPUNGE", kSelected, true, L::CommandText, parse_expunge},
    {K::Search, "SEARCH", kSelected, true, L::CommandText, parse_search},
    {K::Sort, "SORT", kSelected, true, L::CommandText, parse_sort},
    {K::Thread, "THREAD", kSelected, true, L::CommandText, parse_thread},
    {K::CancelUpdate, "CANCELUPDATE", kSelected, false, L::CommandText, parse_cancelupdate},
    {K::Close, "CLOSE", kSelected, false, L::CommandText, parse_nothing},
    {K::Unselect, "UNSELECT", kSelected, false, L::CommandText, parse_nothing},
    {K::GenUrlAuth, "GENURLAUTH", kLoggedIn, false, L::CommandText, parse_genurlauth},
    {K::ResetKey, "RESETKEY", kLoggedIn, false, L::CommandText, parse_resetkey},
    {K::UrlFetch, "URLFETCH", kLoggedIn, false, L::CommandText, parse_urlfetch},
};

constexpr bool table_in_kind_order() {
  if (std::size(kCommands) != kCommandKinds) return false;
  for (std::size_t i = 0; i < std::size(kCommands); ++i)
    if (static_cast<std::size_t>(kCommands[i].kind) != i) return false;
  return true;
}
static_assert(table_in_kind_order(), "kCommands must list every CommandKind once, in enum order");

// The prefix of UID FETCH, UID STORE, ... (the entries with `uid`).
constexpr std::string_view kUidPrefix = "UID";

}  // namespace

std::string_view verdict_text(StateVerdict v) {
  switch (v) {
    case StateVerdict::Run:
      break;
    case StateVerdict::LogInFirst:
      return "Log in first";
    case StateVerdict::AlreadyAuthenticated:
      return "Already authenticated";
    case StateVerdict::NoMailboxSelected:
      return "No mailbox selected";
  }
  return "";
}

const CommandSpec& command_spec(CommandKind kind) {
  return kCommands[static_cast<std::size_t>(kind)];
}

const CommandSpec* find_command(std::string_view name) {
  for (const auto& spec : kCommands)
    if (iequals(spec.name, name)) return &spec;
  return nullptr;
}

bool SequenceSet::contains(uint32_t n, uint32_t star) const {
  if (star == kStar) star = UINT32_MAX;
  for (const auto& r : ranges) {
    uint32_t lo = r.lo == kStar ? star : r.lo;
    uint32_t hi = r.hi == kStar ? star : r.hi;
    if (lo > hi) std::swap(lo, hi);
    if (n >= lo && n <= hi) return true;
  }
  return false;
}

ParseResult parse_command(std::string_view text) {
  ParseResult res;
  ArgReader r(text);
  auto tag = r.atom("]");  // tag = 1*<any ASTRING-CHAR except "+">
  if (!tag || tag->find('+') != std::string::npos || tag->size() > 64) {
    res.error = {"", "invalid tag"};
    return res;
  }
  auto bad = [&](std::string why) {
    ParseResult out;
    out.error = {*tag, std::move(why)};
    return out;
  };
  Command c;
  c.tag = *tag;
  auto name = r.sp() ? r.atom() : std::nullopt;
  if (!name) return bad("missing command");
  const CommandSpec* spec = find_command(*name);
  if (!spec && iequals(*name, kUidPrefix)) {
    c.uid = true;
    auto sub = r.sp() ? r.atom() : std::nullopt;
    if (!sub) return bad("UID needs a command");
    spec = find_command(*sub);
    if (!spec || !spec->uid) return bad("unknown UID command");
  }
  if (!spec) return bad("unknown command");
  c.kind = spec->kind;
  std::string why;
  if (!spec->parse(r, c, why) || !r.at_end())
    return bad(why.empty() ? "syntax error in " + std::string(spec->name) + " arguments" : why);
  res.command = std::move(c);
  return res;
}

std::optional<LiteralMarker> trailing_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  auto open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view inner = line.substr(open + 1, line.size() - open - 2);
  LiteralMarker m{0, false, open > 0 && line[open - 1] == '~'};
  if (!inner.empty() && inner.back() == '+') {
    m.non_sync = true;
    inner.remove_suffix(1);
  }
  if (inner.empty() || inner.size() > 19) return std::nullopt;
  for (char c : inner)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  std::from_chars(inner.data(), inner.data() + inner.size(), m.size);
  return m;
}

std::optional<int64_t> parse_date(std::string_view t) {
  // d-Mon-yyyy or dd-Mon-yyyy
  auto dash1 = t.find('-');
  if (dash1 == std::string_view::npos || dash1 == 0 || dash1 > 2) return std::nullopt;
  unsigned day = 0;
  if (std::from_chars(t.data(), t.data() + dash1, day).ec != std::errc()) return std::nullopt;
  if (t.size() != dash1 + 9 || t[dash1 + 4] != '-') return std::nullopt;
  std::string mon = to_upper(t.substr(dash1 + 1, 3));
  unsigned month = 0;
  for (unsigned i = 0; i < 12; ++i)
    if (to_upper(kMonths[i]) == mon) month = i + 1;
  int year = 0;
  auto ys = t.substr(dash1 + 5);
  if (!month || std::from_chars(ys.data(), ys.data() + ys.size(), year).ec != std::errc())
    return std::nullopt;
  static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day < 1 || day > mdays[month - 1] || year < 1000 || year > 9999) return std::nullopt;
  return days_from_civil(year, month, day);
}

std::optional<int64_t> parse_date_time(std::string_view t) {
  // "dd-Mon-yyyy hh:mm:ss +zzzz", day may be " d"
  if (t.size() != 26) return std::nullopt;
  std::string day(t.substr(0, 2));
  if (day[0] == ' ') day.erase(0, 1);
  auto d = parse_date(day + std::string(t.substr(2, 9)));
  if (!d || t[11] != ' ' || t[14] != ':' || t[17] != ':' || t[20] != ' ') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t len) -> int {
    int v = -1;
    auto s = t.substr(at, len);
    for (char c : s)
      if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  };
  int hh = num(12, 2), mm = num(15, 2), ss = num(18, 2), zh = num(22, 2), zm = num(24, 2);
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 || zh < 0 || zm < 0 || zm > 59 ||
      (t[21] != '+' && t[21] != '-'))
    return std::nullopt;
  int64_t zone = (zh * 60 + zm) * 60 * (t[21] == '-' ? -1 : 1);
  return *d * 86400 + hh * 3600 + mm * 60 + ss - zone;
}

std::string format_date_time(int64_t s) {
  int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
  int64_t secs = s - days * 86400;
  // civil_from_days
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  static const char* names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02u-%s-%04lld %02lld:%02lld:%02lld +0000", d, names[m - 1],
                static_cast<long long>(y), static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

std::string quote(std::string_view s) {
  bool literal = s.size() > 1024;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u == '\r' || u == '\n' || u == 0 || u >= 0x80) {
      literal = true;
      break;
    }
  }
  if (literal) return "{" + std::to_string(s.size()) + "}\r\n" + std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {
const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

// Decodes UTF-8 to code points; false on invalid input.
bool utf8_codepoints(std::string_view s, std::vector<uint32_t>& out) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    out.push_back(cp);
    i += len;
  }
  return true;
}
}  // namespace

std::string mutf7_encode(std::string_view utf8) {
  std::vector<uint32_t> cps;
  if (!utf8_codepoints(utf8, cps)) return std::string(utf8);
  std::string out;
  std::vector<uint16_t> units;
  auto flush = [&] {
    if (units.empty()) return;
    out.push_back('&');
    uint32_t bits = 0;
    int nbits = 0;
    for (uint16_t u : units) {
      bits = (bits << 16) | u;
      nbits += 16;
      while (nbits >= 6) {
        nbits -= 6;
        out.push_back(kB64[(bits >> nbits) & 0x3F]);
      }
    }
    if (nbits > 0) out.push_back(kB64[(bits << (6 - nbits)) & 0x3F]);
    out.push_back('-');
    units.clear();
  };
  for (uint32_t cp : cps) {
    if (cp >= 0x20 && cp <= 0x7e) {
      flush();
      if (cp == '&')
        out += "&-";
      else
        out.push_back(static_cast<char>(cp));
    } else if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      units.push_back(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      units.push_back(static_cast<uint16_t>(cp));
    }
  }
  flush();
  return out;
}

std::optional<std::string> mutf7_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) return std::nullopt;
    if (c != '&') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    auto end = s.find('-', i + 1);
    if (end == std::string_view::npos) return std::nullopt;
    if (end == i + 1) {
      out.push_back('&');
      i = end;
      continue;
    }
    uint32_t bits = 0;
    int nbits = 0;
    std::vector<uint16_t> units;
    for (std::size_t k = i + 1; k < end; ++k) {
      const char* p = std::strchr(kB64, s[k]);
      if (!p || !*p) return std::nullopt;
      bits = (bits << 6) | static_cast<uint32_t>(p - kB64);
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        units.push_back(static_cast<uint16_t>((bits >> nbits) & 0xFFFF));
      }
    }
    for (std::size_t k = 0; k < units.size(); ++k) {
      uint32_t u = units[k];
      if (u >= 0xD800 && u <= 0xDBFF && k + 1 < units.size()) {
        uint32_t lo = units[++k];
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      }
      append_utf8(out, u);
    }
    i = end;
  }
  return out;
}

bool list_match(std::string_view pattern, std::string_view name, char delim) {
  // Iterative wildcard matching with backtracking bounded by pattern * name.
  std::size_t p = 0, n = 0, star_p = std::string_view::npos, star_n = 0;
  // '%' cannot cross the delimiter; handle by recursion-free DP for small inputs.
  if (pattern.size() > 1024 || name.size() > 1024) return false;
  std::vector<char> prev(name.size() + 1, 0), cur(name.size() + 1, 0);
  prev[0] = 1;
  for (p = 0; p < pattern.size(); ++p) {
    char pc = pattern[p];
    std::fill(cur.begin(), cur.end(), 0);
    if (pc == '*' || pc == '%') {
      cur[0] = prev[0];
      for (n = 1; n <= name.size(); ++n) {
        bool can_eat = pc == '*' || name[n - 1] != delim;
        cur[n] = prev[n] || (can_eat && cur[n - 1]);
      }
    } else {
      for (n = 1; n <= name.size(); ++n) cur[n] = prev[n - 1] && name[n - 1] == pc;
    }
    std::swap(prev, cur);
  }
  (void)star_p;
  (void)star_n;
  return prev[name.size()];
}

}  // namespace mailfort::proto::imap
