#include "sieve/match.h"

#include <re2/re2.h>

#include <algorithm>
#include <list>
#include <memory>
#include <utility>

namespace mailfort::sieve {
namespace {

constexpr std::size_t kMaxCaptures = 10;     // ${0}..${9} (RFC 5229 3.2)
constexpr std::size_t kRegexCacheSize = 64;  // per thread; a large script has a few dozen :regex keys
constexpr int64_t kRegexMaxMem = 8 << 20;    // bytes RE2 may use for one compiled program

unsigned char fold(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (fold(static_cast<unsigned char>(a[i])) != fold(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// i;ascii-numeric (RFC 4790 9.1): the leading digits as an unbounded
// integer; a string that does not start with a digit is +infinity, and all
// such strings are equal.
int compare_numeric(std::string_view a, std::string_view b) {
  auto digits = [](std::string_view s) -> std::optional<std::string_view> {
    if (s.empty() || !is_digit(s[0])) return std::nullopt;
    std::size_t end = 0;
    while (end < s.size() && is_digit(s[end])) ++end;
    std::size_t start = 0;
    while (start + 1 < end && s[start] == '0') ++start;  // leading zeros carry no value
    return s.substr(start, end - start);
  };
  auto da = digits(a), db = digits(b);
  if (!da && !db) return 0;
  if (!da) return 1;
  if (!db) return -1;
  if (da->size() != db->size()) return da->size() < db->size() ? -1 : 1;
  int c = da->compare(*db);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

int compare(Comparator comp, std::string_view a, std::string_view b) {
  switch (comp) {
    case Comparator::AsciiNumeric:
      return compare_numeric(a, b);
    case Comparator::AsciiCasemap: {
      std::size_t n = std::min(a.size(), b.size());
      for (std::size_t i = 0; i < n; ++i) {
        unsigned char x = fold(static_cast<unsigned char>(a[i])), y = fold(static_cast<unsigned char>(b[i]));
        if (x != y) return x < y ? -1 : 1;
      }
      return a.size() == b.size() ? 0 : a.size() < b.size() ? -1 : 1;
    }
    case Comparator::Octet:
      break;
  }
  int c = a.compare(b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

bool relation_holds(RelOp op, int c) {
  switch (op) {
    case RelOp::Gt:
      return c > 0;
    case RelOp::Ge:
      return c >= 0;
    case RelOp::Lt:
      return c < 0;
    case RelOp::Le:
      return c <= 0;
    case RelOp::Eq:
      return c == 0;
    case RelOp::Ne:
      return c != 0;
  }
  return false;
}

bool contains(Comparator comp, std::string_view value, std::string_view key) {
  if (key.empty()) return true;
  if (key.size() > value.size()) return false;
  if (comp == Comparator::Octet) return value.find(key) != std::string_view::npos;
  auto it = std::search(value.begin(), value.end(), key.begin(), key.end(), [](char x, char y) {
    return fold(static_cast<unsigned char>(x)) == fold(static_cast<unsigned char>(y));
  });
  return it != value.end();
}

// Length of the UTF-8 character at s[i]: `?` and `*` step over whole
// characters so a capture never splits one. A malformed sequence counts
// as one octet.
std::size_t char_len(std::string_view s, std::size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}

// A :matches pattern with its escapes resolved.
struct Glob {
  enum Kind : char { Lit, One, Star };
  struct Tok {
    Kind kind;
    char c;           // for Lit
    std::size_t var;  // wildcard ordinal (1-based) for One/Star
  };
  std::vector<Tok> toks;
  std::size_t wildcards = 0;
};

Glob compile_glob(std::string_view key) {
  Glob g;
  g.toks.reserve(key.size());
  for (std::size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '\\' && i + 1 < key.size()) {
      g.toks.push_back({Glob::Lit, key[++i], 0});
    } else if (c == '*') {
      g.toks.push_back({Glob::Star, 0, ++g.wildcards});
    } else if (c == '?') {
      g.toks.push_back({Glob::One, 0, ++g.wildcards});
    } else {
      g.toks.push_back({Glob::Lit, c, 0});
    }
  }
  return g;
}

// Classic wildcard matching: literals and `?` advance both sides; a `*`
// first matches nothing and, on a later mismatch, the most recent `*` takes
// one more character and matching resumes after it. Earlier stars never
// grow again, which is correct (any match found by re-growing them can be
// found by growing the last one) and gives RFC 5229's captures: every star
// but the last matches as little as possible. O(|value| * |pattern|).
bool glob_match(const Glob& g, std::string_view v, Comparator comp,
                std::vector<std::pair<std::size_t, std::size_t>>* spans) {
  const bool fold_case = comp == Comparator::AsciiCasemap;
  std::size_t p = 0, s = 0;
  std::size_t star_p = std::string_view::npos, star_s = 0;
  while (s < v.size() || p < g.toks.size()) {
    if (p < g.toks.size()) {
      const Glob::Tok& t = g.toks[p];
      if (t.kind == Glob::Star) {
        if (spans) (*spans)[t.var] = {s, s};
        star_p = p++;
        star_s = s;
        continue;
      }
      if (s < v.size()) {
        if (t.kind == Glob::One) {
          std::size_t n = char_len(v, s);
          if (spans) (*spans)[t.var] = {s, s + n};
          s += n;
          ++p;
          continue;
        }
        unsigned char a = static_cast<unsigned char>(t.c), b = static_cast<unsigned char>(v[s]);
        if (fold_case ? fold(a) == fold(b) : a == b) {
          ++s;
          ++p;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos || star_s >= v.size()) return false;
    star_s += char_len(v, star_s);
    s = star_s;
    p = star_p + 1;
    if (spans) (*spans)[g.toks[star_p].var].second = s;
  }
  return true;
}

bool matches(Comparator comp, std::string_view value, std::string_view key,
             std::vector<std::string>* captures) {
  Glob g = compile_glob(key);
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (captures) spans.assign(g.wildcards + 1, {0, 0});
  if (!glob_match(g, value, comp, captures ? &spans : nullptr)) return false;
  if (captures) {
    captures->clear();
    captures->emplace_back(value);
    for (std::size_t i = 1; i < spans.size() && captures->size() < kMaxCaptures; ++i)
      captures->emplace_back(value.substr(spans[i].first, spans[i].second - spans[i].first));
  }
  return true;
}

RE2::Options regex_options(bool case_insensitive) {
  RE2::Options o;
  // POSIX ERE as draft-ietf-sieve-regex asks (leftmost-longest), with the
  // Perl classes and \b that scripts written for Pigeonhole use.
  o.set_posix_syntax(true);
  o.set_longest_match(true);
  o.set_perl_classes(true);
  o.set_word_boundary(true);
  o.set_case_sensitive(!case_insensitive);
  o.set_log_errors(false);
  o.set_max_mem(kRegexMaxMem);
  return o;
}

// A small per-thread LRU of compiled patterns: a script is run for every
// delivered message, and compiling its :regex keys each time would cost
// more than matching them.
const RE2* cached_regex(std::string_view pattern, bool case_insensitive) {
  struct Entry {
    std::string key;
    std::unique_ptr<RE2> re;
  };
  thread_local std::list<Entry> cache;
  std::string key;
  key.reserve(pattern.size() + 1);
  key += case_insensitive ? 'i' : 's';
  key += pattern;
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    if (it->key == key) {
      cache.splice(cache.begin(), cache, it);
      return cache.front().re.get();
    }
  }
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()),
                                  regex_options(case_insensitive));
  cache.push_front(Entry{std::move(key), std::move(re)});
  if (cache.size() > kRegexCacheSize) cache.pop_back();
  return cache.front().re.get();
}

bool regex_match(Comparator comp, std::string_view value, std::string_view key,
                 std::vector<std::string>* captures) {
  const RE2* re = cached_regex(key, comp == Comparator::AsciiCasemap);
  if (!re->ok()) return false;  // compile time rejects these (check_regex); never match at run time
  std::size_t groups = captures ? std::min<std::size_t>(re->NumberOfCapturingGroups(), kMaxCaptures - 1) : 0;
  std::vector<re2::StringPiece> sub(groups + 1);
  re2::StringPiece text(value.data(), value.size());
  if (!re->Match(text, 0, text.size(), RE2::UNANCHORED, sub.data(), static_cast<int>(sub.size())))
    return false;
  if (captures) {
    captures->clear();
    for (const re2::StringPiece& piece : sub)
      captures->emplace_back(piece.data() ? std::string(piece.data(), piece.size()) : std::string());
  }
  return true;
}

bool match_one(const MatchSpec& spec, std::string_view value, std::string_view key,
               std::vector<std::string>* captures) {
  switch (spec.type) {
    case MatchType::Is:
      return compare(spec.comparator, value, key) == 0;
    case MatchType::Contains:
      // i;ascii-numeric has no substring operation (RFC 4790 9.1.1).
      return spec.comparator != Comparator::AsciiNumeric && contains(spec.comparator, value, key);
    case MatchType::Matches:
      return spec.comparator != Comparator::AsciiNumeric && matches(spec.comparator, value, key, captures);
    case MatchType::Regex:
      return spec.comparator != Comparator::AsciiNumeric &&
             regex_match(spec.comparator, value, key, captures);
    case MatchType::Value:
      return relation_holds(spec.rel, compare(spec.comparator, value, key));
    case MatchType::Count:
      return false;  // match_count
  }
  return false;
}

}  // namespace

std::optional<Comparator> comparator_from_name(std::string_view name) {
  if (ieq(name, "i;octet")) return Comparator::Octet;
  if (ieq(name, "i;ascii-casemap")) return Comparator::AsciiCasemap;
  if (ieq(name, "i;ascii-numeric")) return Comparator::AsciiNumeric;
  return std::nullopt;
}

std::optional<RelOp> relop_from_name(std::string_view name) {
  static constexpr std::pair<std::string_view, RelOp> kOps[] = {
      {"gt", RelOp::Gt}, {"ge", RelOp::Ge}, {"lt", RelOp::Lt},
      {"le", RelOp::Le}, {"eq", RelOp::Eq}, {"ne", RelOp::Ne},
  };
  for (const auto& [n, op] : kOps)
    if (ieq(name, n)) return op;
  return std::nullopt;
}

bool match_value(const MatchSpec& spec, std::string_view value, const std::vector<std::string>& keys,
                 std::vector<std::string>* captures) {
  for (const std::string& key : keys)
    if (match_one(spec, value, key, captures)) return true;
  return false;
}

bool match_count(const MatchSpec& spec, std::size_t count, const std::vector<std::string>& keys) {
  std::string n = std::to_string(count);
  for (const std::string& key : keys)
    if (relation_holds(spec.rel, compare(spec.comparator, n, key))) return true;
  return false;
}

std::string check_regex(std::string_view pattern) {
  RE2 re(re2::StringPiece(pattern.data(), pattern.size()), regex_options(false));
  if (re.ok()) return "";
  return re.error().empty() ? "invalid regular expression" : re.error();
}

}  // namespace mailfort::sieve
