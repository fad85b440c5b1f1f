#include "proto/imap/sort.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "base/text.h"

namespace mailfort::proto::imap {
namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool istarts(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// subj-blob = "[" *BLOBCHAR "]" *WSP at `pos`: the position after it, or npos.
std::size_t blob_end(std::string_view s, std::size_t pos) {
  if (pos >= s.size() || s[pos] != '[') return std::string_view::npos;
  for (std::size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '[') return std::string_view::npos;
    if (s[i] == ']') {
      ++i;
      while (i < s.size() && s[i] == ' ') ++i;
      return i;
    }
  }
  return std::string_view::npos;
}

// subj-leader = (*subj-blob subj-refwd) / WSP at the start: its length, or 0.
std::size_t leader_length(std::string_view s) {
  if (!s.empty() && s[0] == ' ') return 1;
  std::size_t p = 0;
  for (std::size_t e; (e = blob_end(s, p)) != std::string_view::npos;) p = e;
  // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
  std::string_view rest = s.substr(p);
  if (istarts(rest, "re"))
    p += 2;
  else if (istarts(rest, "fwd"))
    p += 3;
  else if (istarts(rest, "fw"))
    p += 2;
  else
    return 0;
  while (p < s.size() && s[p] == ' ') ++p;
  if (auto e = blob_end(s, p); e != std::string_view::npos) p = e;
  if (p >= s.size() || s[p] != ':') return 0;
  return p + 1;
}

bool has_nonblank(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c != ' '; });
}

// Decodes one UTF-8 sequence at s[i]; 0xFFFFFFFF (and one byte) when invalid.
char32_t next_codepoint(std::string_view s, std::size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFFFFFF;
  }
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 2) {
      ++i;
      return 0xFFFFFFFF;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

locale_t utf8_locale() {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(0));
  return loc;
}

// Canonical decompositions of the Latin-1 capitals (what most European
// text needs; RFC 5051 asks for full decomposition).
struct Decomposition {
  char32_t from;
  char base;
  char32_t mark;
};
constexpr Decomposition kLatin1[] = {
    {0xC0, 'A', 0x300}, {0xC1, 'A', 0x301}, {0xC2, 'A', 0x302}, {0xC3, 'A', 0x303}, {0xC4, 'A', 0x308},
    {0xC5, 'A', 0x30A}, {0xC7, 'C', 0x327}, {0xC8, 'E', 0x300}, {0xC9, 'E', 0x301}, {0xCA, 'E', 0x302},
    {0xCB, 'E', 0x308}, {0xCC, 'I', 0x300}, {0xCD, 'I', 0x301}, {0xCE, 'I', 0x302}, {0xCF, 'I', 0x308},
    {0xD1, 'N', 0x303}, {0xD2, 'O', 0x300}, {0xD3, 'O', 0x301}, {0xD4, 'O', 0x302}, {0xD5, 'O', 0x303},
    {0xD6, 'O', 0x308}, {0xD9, 'U', 0x300}, {0xDA, 'U', 0x301}, {0xDB, 'U', 0x302}, {0xDC, 'U', 0x308},
    {0xDD, 'Y', 0x301},
};

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int to_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// ---- The address tokenizer of first_address().

struct AddressReader {
  std::string_view s;
  std::size_t p = 0;
  std::string comment;  // the first comment seen

  void skip_cfws() {
    while (p < s.size()) {
      if (is_wsp(s[p])) {
        ++p;
      } else if (s[p] == '(') {
        int depth = 0;
        std::size_t start = p + 1;
        for (; p < s.size(); ++p) {
          if (s[p] == '\\') {
            ++p;
          } else if (s[p] == '(') {
            ++depth;
          } else if (s[p] == ')' && --depth == 0) {
            break;
          }
        }
        if (comment.empty() && p > start)
          comment = std::string(s.substr(start, std::min(p, s.size()) - start));
        if (p < s.size()) ++p;
      } else {
        break;
      }
    }
  }
  // A word: quoted string (unquoted) or a run of atext and dots; "" at a special.
  std::optional<std::string> word() {
    skip_cfws();
    if (p >= s.size()) return std::nullopt;
    if (s[p] == '"') {
      std::string out;
      for (++p; p < s.size() && s[p] != '"'; ++p) {
        if (s[p] == '\\' && p + 1 < s.size()) ++p;
        out.push_back(s[p]);
      }
      if (p < s.size()) ++p;
      return out;
    }
    std::size_t start = p;
    while (p < s.size() && !is_wsp(s[p]) &&
           std::string_view("()<>@,;:\\\"[]").find(s[p]) == std::string_view::npos)
      ++p;
    if (p == start) return std::nullopt;
    return std::string(s.substr(start, p - start));
  }
  char special() {
    skip_cfws();
    return p < s.size() ? s[p] : '\0';
  }
};

// ---- Thread trees, flat: nodes by index, -1 for none.

struct Node {
  int msg = -1;  // index into the messages; -1: dummy
  int parent = -1;
  std::vector<int> children;
};

struct Forest {
  const std::vector<ThreadFacts>& msgs;
  std::vector<Node> nodes;
  std::vector<int> roots;

  bool dummy(int n) const { return nodes[n].msg < 0; }
  // A node's date and mailbox position for sorting: a dummy's are its first child's.
  std::pair<int64_t, uint32_t> when(int n) const {
    for (int depth = 0; dummy(n) && !nodes[n].children.empty() && depth < 2; ++depth)
      n = nodes[n].children[0];
    if (dummy(n)) return {0, 0};
    const auto& m = msgs[nodes[n].msg];
    return {m.sent, m.seq};
  }
  void sort_siblings(std::vector<int>& list) {
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) { return when(a) < when(b); });
  }
  // Every node reachable from the roots, children after their parent.
  std::vector<int> preorder() const {
    std::vector<int> out, stack(roots.rbegin(), roots.rend());
    while (!stack.empty()) {
      int n = stack.back();
      stack.pop_back();
      out.push_back(n);
      for (auto it = nodes[n].children.rbegin(); it != nodes[n].children.rend(); ++it) stack.push_back(*it);
    }
    return out;
  }
  // RFC 5256 2.2 step 6 (and 5.A): siblings by sent date, the deepest first.
  void sort_all() {
    auto order = preorder();
    for (auto it = order.rbegin(); it != order.rend(); ++it) sort_siblings(nodes[*it].children);
    sort_siblings(roots);
  }
  uint32_t id(int n) const { return dummy(n) ? 0 : msgs[nodes[n].msg].id; }

  std::string text() const {
    std::string out;
    // Writes "(" and a chain of single children; returns the node where
    // the chain ends (a leaf, or a node with two or more children).
    auto open = [&](int n) {
      out += '(';
      bool first = true;
      while (true) {
        if (!dummy(n)) {
          if (!first) out += ' ';
          out += std::to_string(id(n));
          first = false;
        }
        if (nodes[n].children.size() == 1) {
          n = nodes[n].children[0];
          continue;
        }
        if (nodes[n].children.size() >= 2 && !first) out += ' ';
        return n;
      }
    };
    std::vector<std::pair<int, std::size_t>> stack;
    for (int r : roots) {
      stack.push_back({open(r), 0});
      while (!stack.empty()) {
        auto [n, i] = stack.back();
        if (i < nodes[n].children.size()) {
          stack.back().second = i + 1;
          stack.push_back({open(nodes[n].children[i]), 0});
        } else {
          out += ')';
          stack.pop_back();
        }
      }
    }
    return out;
  }
};

}  // namespace

std::optional<SortKey> sort_key_named(std::string_view name) {
  static const std::pair<std::string_view, SortKey> keys[] = {
      {"ARRIVAL", SortKey::Arrival},
      {"CC", SortKey::Cc},
      {"DATE", SortKey::Date},
      {"FROM", SortKey::From},
      {"SIZE", SortKey::Size},
      {"SUBJECT", SortKey::Subject},
      {"TO", SortKey::To},
      {"DISPLAYFROM", SortKey::DisplayFrom},
      {"DISPLAYTO", SortKey::DisplayTo},
  };
  for (auto& [n, k] : keys)
    if (iequals(n, name)) return k;
  return std::nullopt;
}

std::string base_subject(std::string_view decoded, bool* reply) {
  // Step 1: blanks (tabs, folding) as single spaces.
  std::string s;
  s.reserve(decoded.size());
  for (char c : decoded) {
    if (is_wsp(c)) {
      if (!s.empty() && s.back() != ' ') s += ' ';
      if (s.empty()) s += ' ';
    } else {
      s += c;
    }
  }
  bool is_reply = false;
  while (true) {
    // Step 2: trailing blanks and "(fwd)" trailers.
    while (true) {
      if (!s.empty() && s.back() == ' ') {
        s.pop_back();
      } else if (s.size() >= 5 && iequals(std::string_view(s).substr(s.size() - 5), "(fwd)")) {
        s.resize(s.size() - 5);
        is_reply = true;
      } else {
        break;
      }
    }
    // Steps 3-5: leaders and a leading blob, until nothing changes.
    bool changed = true;
    while (changed) {
      changed = false;
      while (std::size_t n = leader_length(s)) {
        if (s[0] != ' ') is_reply = true;
        s.erase(0, n);
        changed = true;
      }
      std::size_t e = blob_end(s, 0);
      if (e != std::string::npos && has_nonblank(std::string_view(s).substr(e))) {
        s.erase(0, e);
        changed = true;
      }
    }
    // Step 6: "[fwd: ...]".
    if (s.size() >= 6 && istarts(s, "[fwd:") && s.back() == ']') {
      s = s.substr(5, s.size() - 6);
      is_reply = true;
      continue;
    }
    break;
  }
  if (reply) *reply = is_reply;
  return s;
}

std::string casemap(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  locale_t loc = utf8_locale();
  for (std::size_t i = 0; i < utf8.size();) {
    std::size_t start = i;
    char32_t cp = next_codepoint(utf8, i);
    if (cp == 0xFFFFFFFF) {
      out += utf8[start];
      continue;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp >= 'a' && cp <= 'z' ? cp - 32 : cp);
      continue;
    }
    if (loc != locale_t(0)) cp = static_cast<char32_t>(towupper_l(static_cast<wint_t>(cp), loc));
    auto d = std::find_if(std::begin(kLatin1), std::end(kLatin1), [&](auto& x) { return x.from == cp; });
    if (d != std::end(kLatin1)) {
      out += d->base;
      append_utf8(out, d->mark);
    } else {
      append_utf8(out, cp);
    }
  }
  return out;
}

std::optional<FirstAddress> first_address(std::string_view value) {
  AddressReader r{value, 0, {}};
  while (r.p < value.size()) {
    std::vector<std::string> phrase;
    r.comment.clear();
    while (auto w = r.word()) {
      if (phrase.size() < 100) phrase.push_back(std::move(*w));
    }
    auto joined = [&](char sep) {
      std::string out;
      for (auto& w : phrase) out += (out.empty() ? "" : std::string(1, sep)) + w;
      return out;
    };
    char c = r.special();
    FirstAddress a;
    if (c == ':') {  // group start
      a.group = true;
      a.name = joined(' ');
      a.mailbox = a.name;
      return a;
    }
    if (c == '<') {  // [phrase] "<" [route ":"] addr-spec ">"
      ++r.p;
      a.name = joined(' ');
      std::size_t close = value.find('>', r.p);
      std::string_view inner = value.substr(r.p, close == std::string_view::npos ? value.npos : close - r.p);
      if (auto colon = inner.rfind(':'); colon != std::string_view::npos) inner = inner.substr(colon + 1);
      AddressReader in{inner, 0, {}};
      std::string local;
      while (auto w = in.word()) local += *w;
      if (in.special() == '@') {
        ++in.p;
        while (auto w = in.word()) a.domain += *w;
      }
      a.mailbox = std::move(local);
      return a;
    }
    if (c == '@') {  // addr-spec, perhaps with a comment for a name
      ++r.p;
      a.mailbox = joined('.');
      while (auto w = r.word()) a.domain += *w;
      r.skip_cfws();
      a.name = r.comment;
      return a;
    }
    if (!phrase.empty()) {  // a bare local part
      a.mailbox = joined('.');
      a.name = r.comment;
      return a;
    }
    if (r.p >= value.size()) break;
    ++r.p;  // a stray special (",", ";", ">"): skip it
  }
  return std::nullopt;
}

std::optional<int64_t> rfc5322_date_time(std::string_view v) {
  std::vector<std::string_view> tok;
  std::size_t i = 0;
  while (i < v.size() && tok.size() < 8) {
    while (i < v.size() && (is_wsp(v[i]) || v[i] == ',')) ++i;
    if (i < v.size() && v[i] == '(') break;  // a trailing comment
    std::size_t start = i;
    while (i < v.size() && !is_wsp(v[i]) && v[i] != ',') ++i;
    if (i > start) tok.push_back(v.substr(start, i - start));
  }
  std::size_t t = 0;
  if (!tok.empty() && !all_digits(tok[0])) ++t;  // day name
  if (tok.size() < t + 4) return std::nullopt;
  std::string_view day = tok[t], mon = tok[t + 1], year = tok[t + 2], time = tok[t + 3];
  static const char* months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  unsigned m = 0;
  for (unsigned k = 0; k < 12; ++k)
    if (mon.size() >= 3 && iequals(mon.substr(0, 3), months[k])) m = k + 1;
  if (!all_digits(day) || !all_digits(year) || !m || day.size() > 2 || year.size() > 4) return std::nullopt;
  int d = to_int(day), y = to_int(year);
  if (year.size() == 2)
    y += y < 50 ? 2000 : 1900;
  else if (year.size() == 3)
    y += 1900;
  if (d < 1 || d > 31) return std::nullopt;
  // hh:mm[:ss]
  int hms[3] = {0, 0, 0};
  int parts = 0;
  for (std::size_t a = 0; a <= time.size() && parts < 3;) {
    std::size_t b = time.find(':', a);
    if (b == std::string_view::npos) b = time.size();
    auto num = time.substr(a, b - a);
    if (!all_digits(num) || num.size() > 2) return std::nullopt;
    hms[parts++] = to_int(num);
    a = b + 1;
  }
  if (parts < 2 || hms[0] > 23 || hms[1] > 59 || hms[2] > 60) return std::nullopt;
  int64_t zone = 0;
  if (tok.size() > t + 4) {
    std::string_view z = tok[t + 4];
    if ((z[0] == '+' || z[0] == '-') && z.size() == 5 && all_digits(z.substr(1))) {
      zone = (to_int(z.substr(1, 2)) * 60 + to_int(z.substr(3, 2))) * 60;
      if (z[0] == '-') zone = -zone;
    } else {
      static const std::pair<const char*, int> named[] = {{"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5},
                                                          {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}};
      for (auto& [n, h] : named)
        if (iequals(z, n)) zone = h * 3600;
    }
  }
  return days_from_civil(y, m, static_cast<unsigned>(d)) * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2] -
         zone;
}

std::vector<std::string> message_ids(std::string_view v, std::size_t max) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (out.size() < max) {
    std::size_t open = v.find('<', i);
    if (open == std::string_view::npos) break;
    std::size_t close = v.find('>', open + 1);
    if (close == std::string_view::npos) break;
    std::string id;
    for (char c : v.substr(open + 1, close - open - 1))
      if (!is_wsp(c)) id += c;
    if (!id.empty() && id.find('@') != std::string::npos && id.find('<') == std::string::npos)
      out.push_back(std::move(id));
    i = close + 1;
  }
  return out;
}

std::vector<uint32_t> sort_messages(std::vector<SortFacts> msgs, const std::vector<SortCriterion>& criteria) {
  auto cmp_key = [](const SortFacts& a, const SortFacts& b, SortKey k) -> int {
    auto three = [](const auto& x, const auto& y) { return x < y ? -1 : y < x ? 1 : 0; };
    switch (k) {
      case SortKey::Arrival:
        return three(a.arrival, b.arrival);
      case SortKey::Date:
        return three(a.sent, b.sent);
      case SortKey::Size:
        return three(a.size, b.size);
      case SortKey::Subject:
        return a.subject.compare(b.subject);
      case SortKey::From:
        return a.from.compare(b.from);
      case SortKey::To:
        return a.to.compare(b.to);
      case SortKey::Cc:
        return a.cc.compare(b.cc);
      case SortKey::DisplayFrom:
        return a.display_from.compare(b.display_from);
      case SortKey::DisplayTo:
        return a.display_to.compare(b.display_to);
    }
    return 0;
  };
  std::sort(msgs.begin(), msgs.end(), [&](const SortFacts& a, const SortFacts& b) {
    for (const auto& c : criteria) {
      int r = cmp_key(a, b, c.key);
      if (r != 0) return c.reverse ? r > 0 : r < 0;
    }
    return a.seq < b.seq;
  });
  std::vector<uint32_t> out;
  out.reserve(msgs.size());
  for (auto& m : msgs) out.push_back(m.id);
  return out;
}

std::string thread_references(const std::vector<ThreadFacts>& msgs) {
  Forest f{msgs, {}, {}};
  auto& nodes = f.nodes;
  std::unordered_map<std::string, int> by_id;
  auto container = [&](const std::string& id) {
    auto [it, added] = by_id.try_emplace(id, static_cast<int>(nodes.size()));
    if (added) nodes.emplace_back();
    return it->second;
  };
  // Whether `a` is `b` or one of its ancestors (a node without children
  // is nobody's: the usual case, answered without walking up).
  auto ancestor = [&](int a, int b) {
    if (nodes[a].children.empty()) return a == b;
    for (int n = b; n >= 0; n = nodes[n].parent)
      if (n == a) return true;
    return false;
  };
  auto unlink = [&](int child) {
    int p = nodes[child].parent;
    if (p < 0) return;
    auto& ch = nodes[p].children;
    ch.erase(std::remove(ch.begin(), ch.end(), child), ch.end());
    nodes[child].parent = -1;
  };
  auto link = [&](int parent, int child) {
    nodes[child].parent = parent;
    nodes[parent].children.push_back(child);
  };
  // Step 1: containers by message id, linked by References.
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = msgs[i];
    int self = -1;
    if (!m.message_id.empty()) {
      self = container(m.message_id);
      if (nodes[self].msg >= 0) self = -1;  // a duplicate id: as if it had none
    }
    if (self < 0) {
      self = static_cast<int>(nodes.size());
      nodes.emplace_back();
    }
    nodes[self].msg = static_cast<int>(i);
    int prev = -1;
    for (const auto& ref : m.references) {
      int c = container(ref);
      if (prev >= 0 && nodes[c].parent < 0 && !ancestor(c, prev)) link(prev, c);
      prev = c;
    }
    unlink(self);
    if (prev >= 0 && !ancestor(self, prev)) link(prev, self);
  }
  // Step 2: the root set.
  for (int n = 0; n < static_cast<int>(nodes.size()); ++n)
    if (nodes[n].parent < 0) f.roots.push_back(n);
  // Step 4: prune dummies, children before their parents.
  auto prune = [&](std::vector<int>& list, bool root) {
    std::vector<int> kept;
    for (int n : list) {
      if (!f.dummy(n)) {
        kept.push_back(n);
      } else if (!nodes[n].children.empty()) {
        if (root && nodes[n].children.size() > 1) {
          kept.push_back(n);
          continue;
        }
        for (int c : nodes[n].children) {
          nodes[c].parent = root ? -1 : nodes[n].parent;
          kept.push_back(c);
        }
        nodes[n].children.clear();
      }
    }
    list = std::move(kept);
  };
  auto order = f.preorder();
  for (auto it = order.rbegin(); it != order.rend(); ++it) prune(nodes[*it].children, false);
  prune(f.roots, true);
  // Step 5: threads with the same base subject gathered.
  f.sort_all();
  auto top = [&](int n) { return f.dummy(n) ? nodes[n].children[0] : n; };
  auto subject_of = [&](int n) -> const std::string& { return msgs[nodes[top(n)].msg].subject; };
  auto reply_of = [&](int n) { return !f.dummy(n) && msgs[nodes[n].msg].reply; };
  std::unordered_map<std::string, int> table;
  for (int n : f.roots) {
    const std::string& subject = subject_of(n);
    if (subject.empty()) continue;
    auto [it, added] = table.try_emplace(subject, n);
    if (added) continue;
    int t = it->second;
    if (!f.dummy(t) && (f.dummy(n) || (reply_of(t) && !reply_of(n)))) it->second = n;
  }
  std::vector<int> candidates = f.roots;
  for (int n : f.roots) {
    if (nodes[n].parent >= 0) continue;  // merged into another thread already
    const std::string& subject = subject_of(n);
    auto it = subject.empty() ? table.end() : table.find(subject);
    if (it == table.end() || it->second == n) continue;
    int t = it->second;
    if (f.dummy(t) && f.dummy(n)) {
      for (int c : nodes[n].children) link(t, c);
      nodes[n].children.clear();
    } else if (f.dummy(t) || (reply_of(n) && !reply_of(t))) {
      link(t, n);
    } else {
      // A new dummy holding both, in the table message's place.
      int d = static_cast<int>(nodes.size());
      nodes.emplace_back();
      link(d, t);
      link(d, n);
      it->second = d;
      candidates.push_back(d);
    }
  }
  f.roots.clear();
  for (int n : candidates)
    if (nodes[n].parent < 0 && !(f.dummy(n) && nodes[n].children.empty())) f.roots.push_back(n);
  // Step 6.
  f.sort_all();
  return f.text();
}

std::string thread_orderedsubject(const std::vector<ThreadFacts>& msgs) {
  Forest f{msgs, {}, {}};
  std::vector<int> order(msgs.size());
  for (std::size_t i = 0; i < msgs.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const auto &x = msgs[a], &y = msgs[b];
    if (int c = x.subject.compare(y.subject)) return c < 0;
    return std::pair(x.sent, x.seq) < std::pair(y.sent, y.seq);
  });
  f.nodes.resize(msgs.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    int n = order[i];
    f.nodes[n].msg = n;
    if (i > 0 && msgs[order[i - 1]].subject == msgs[n].subject) {
      int parent = f.nodes[order[i - 1]].parent >= 0 ? f.nodes[order[i - 1]].parent : order[i - 1];
      f.nodes[n].parent = parent;
      f.nodes[parent].children.push_back(n);
    } else {
      f.roots.push_back(n);
    }
  }
  f.sort_siblings(f.roots);
  return f.text();
}

}  // namespace mailfort::proto::imap
