// The Bayes tokenizer (see tokenizer.h). Faces untrusted input (any
// message's text): one pass over the bytes, no regex, at most max_tokens
// distinct tokens kept however long the text.
//
// Words: maximal runs of letters and digits after UTF-8 decoding; ASCII,
// Latin-1, Latin Extended-A, Greek and Cyrillic capitals folded to lower
// case; apostrophes inside a word and invisible characters that spammers
// put inside words to break them (zero-width spaces and joiners, soft
// hyphens, BOM) dropped; invalid UTF-8 bytes kept as letters so text in a
// charset we could not convert still yields tokens. Words under 2 bytes
// are dropped; a word longer than max_word_bytes becomes the one "long
// word" marker; a word of digits only becomes "#<digits>" (prices, dates
// and IDs are noise one by one, their shape is not).
//
// Tokens are 64-bit hashes, stable across runs and machines (the store
// keeps them): FNV-1a over the normalised word, then a murmur3 finaliser;
// a pair token mixes both word hashes, their distance and what the text
// was (body, Subject), so "cheap pills" in the Subject and in the body are
// different tokens.
#include "filter/tokenizer.h"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "filter/message_view.h"
#include "filter/url_extract.h"
#include "proto/mail/address.h"

namespace mailfort::filter {
namespace {

// What a token was made from. Values are part of the stored tokens: never
// change one.
enum class Kind : uint64_t {
  BodyPair = 0x6a09e667f3bcc908ULL,
  SubjectPair = 0xbb67ae8584caa73bULL,
  SubjectWord = 0x3c6ef372fe94f82bULL,
  FromName = 0xa54ff53a5f1d36f1ULL,
  FromDomain = 0x510e527fade682d1ULL,
  ToName = 0x9b05688c2b3e6c1fULL,
  ToDomain = 0x1f83d9abfb41bd6bULL,
  UrlHost = 0x5be0cd19137e2179ULL,
  AttachmentType = 0xcbbb9d5dc1059ed8ULL,
  AttachmentExtension = 0x629a292a367cd507ULL,
};

constexpr std::size_t kMaxHeaderWords = 64;     // per header field
constexpr std::size_t kMaxUrlHosts = 200;       // distinct URL hosts looked at
constexpr std::size_t kMaxUrlsPerText = 1000;   // URLs extracted from one text
constexpr std::size_t kMaxAddresses = 20;       // domains of From/To
constexpr std::size_t kMaxAttachments = 100;    // attachments whose types count
constexpr std::size_t kMaxExtensionBytes = 10;  // "docx.exe" tail kept

uint64_t mix64(uint64_t k) {  // murmur3 fmix64
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

uint64_t hash_bytes(std::string_view s, uint64_t seed) {  // FNV-1a 64, seeded
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

constexpr uint64_t kWordSeed = 0x243f6a8885a308d3ULL;

uint64_t word_hash(std::string_view word) {
  return hash_bytes(word, kWordSeed);
}

// The "long word" marker: no normalised word can be this (a NUL byte).
const uint64_t kLongWord = word_hash(std::string_view("\0long", 5));

Token pair_token(Kind kind, uint64_t first, uint64_t second, std::size_t distance) {
  uint64_t rotated = (second << 31) | (second >> 33);
  return mix64(first * 0x9e3779b97f4a7c15ULL + rotated * 0xc2b2ae3d27d4eb4fULL +
               static_cast<uint64_t>(distance) * 0x165667b19e3779f9ULL + static_cast<uint64_t>(kind));
}

Token single_token(Kind kind, uint64_t word) {
  return mix64(word ^ static_cast<uint64_t>(kind));
}

// --- characters ---

// One code point from `s` at `i` (advanced); an invalid or truncated
// sequence yields its first byte alone, `valid` false.
char32_t next_code_point(std::string_view s, std::size_t& i, bool& valid) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  valid = true;
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = b0 >= 0xf0 && b0 <= 0xf4 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc2 && b0 <= 0xdf ? 2 : 0;
  if (b0 >= 0xf5) len = 0;
  if (len == 0 || i + len > s.size()) {
    valid = false;
    ++i;
    return b0;
  }
  char32_t cp = b0 & (0x7f >> len);
  for (std::size_t k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xc0) != 0x80) {
      valid = false;
      ++i;
      return b0;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    valid = false;
    ++i;
    return b0;
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

char32_t to_lower(char32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 0x20;  // Latin-1 capitals
  if (c >= 0x100 && c <= 0x17f) {                            // Latin Extended-A: pairs
    if (c == 0x178) return 0xff;                             // Ÿ
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17f) return c;
    bool odd_capitals = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
    bool capital = odd_capitals ? (c % 2 == 1) : (c % 2 == 0);
    return capital ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 0x20;  // Greek
  if (c >= 0x410 && c <= 0x42f) return c + 0x20;                // Cyrillic
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  return c;
}

// Characters that vanish inside a word: apostrophes ("don't" is one word)
// and invisible ones spammers insert to split words.
bool is_ignorable_in_word(char32_t c) {
  return c == '\'' || c == 0x2019 || c == 0xad || c == 0x200b || c == 0x200c || c == 0x200d || c == 0x2060 ||
         c == 0xfeff;
}

bool is_word_char(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (c < 0xc0) return c == 0xaa || c == 0xb5 || c == 0xba;  // controls, symbols, NBSP out
  if (c == 0xd7 || c == 0xf7) return false;                  // × ÷
  if (c >= 0x2000 && c <= 0x2bff) return false;              // punctuation, arrows, math, box drawing, shapes
  if (c >= 0x3000 && c <= 0x303f) return false;              // CJK punctuation
  if (c >= 0xfe30 && c <= 0xfe4f) return false;              // CJK compatibility forms
  if (c >= 0xff00 && c <= 0xff0f) return false;              // fullwidth punctuation
  if ((c >= 0xff1a && c <= 0xff20) || (c >= 0xff3b && c <= 0xff40) || (c >= 0xff5b && c <= 0xff65))
    return false;
  if (c >= 0xfff0 && c <= 0xffff) return false;    // specials
  if (c >= 0x1f000 && c <= 0x1faff) return false;  // emoji and pictographs
  if (c >= 0xe000 && c <= 0xf8ff) return false;    // private use
  return true;
}

// Splits text into normalised words and hands each word's hash to
// `on_word` (the long-word marker for overlong ones) until it returns
// false. Linear: a word is built at most max_word_bytes + 4 bytes long,
// then only skipped.
template <typename OnWord>
void for_each_word(std::string_view text, std::size_t max_word_bytes, OnWord&& on_word) {
  std::string word;
  bool in_word = false, too_long = false, digits_only = true, more = true;
  auto finish = [&] {
    if (!in_word) return;
    if (too_long) {
      more = on_word(kLongWord);
    } else if (word.size() >= 2) {
      if (digits_only) word = "#" + std::to_string(word.size());
      more = on_word(word_hash(word));
    }
    word.clear();
    in_word = too_long = false;
    digits_only = true;
  };
  std::size_t i = 0;
  while (more && i < text.size()) {
    bool valid = true;
    char32_t c = next_code_point(text, i, valid);
    if (!valid || is_word_char(c)) {
      in_word = true;
      if (too_long) continue;
      if (!valid) {
        word.push_back(static_cast<char>(c));
        digits_only = false;
      } else {
        if (c < '0' || c > '9') digits_only = false;
        append_utf8(word, to_lower(c));
      }
      if (word.size() > max_word_bytes) too_long = true;
    } else if (!(in_word && is_ignorable_in_word(c))) {
      finish();
    }
  }
  finish();
}

// Distinct tokens in first-seen order, at most `max`.
class TokenSet {
 public:
  explicit TokenSet(std::size_t max) : max_(max) { seen_.reserve(std::min<std::size_t>(max, 4096)); }
  void add(Token t) {
    if (full()) return;
    if (seen_.insert(t).second) tokens_.push_back(t);
  }
  bool full() const { return tokens_.size() >= max_; }
  std::vector<Token> sorted() && {
    std::sort(tokens_.begin(), tokens_.end());
    return std::move(tokens_);
  }

 private:
  std::size_t max_;
  std::unordered_set<Token> seen_;
  std::vector<Token> tokens_;
};

// OSB: each word paired with each of the window - 1 words before it.
void add_pairs(std::string_view text, Kind kind, const TokenizerLimits& limits, TokenSet& out) {
  std::size_t span = std::max<std::size_t>(limits.window, 2) - 1;
  std::vector<uint64_t> recent(span);  // ring buffer of the last `span` word hashes
  std::size_t seen = 0;
  for_each_word(text, limits.max_word_bytes, [&](uint64_t h) {
    for (std::size_t d = 1; d <= span && d <= seen; ++d) {
      out.add(pair_token(kind, recent[(seen - d) % span], h, d));
    }
    recent[seen % span] = h;
    ++seen;
    return !out.full();
  });
}

void add_words(std::string_view text, Kind kind, const TokenizerLimits& limits, TokenSet& out) {
  std::size_t n = 0;
  for_each_word(text, limits.max_word_bytes, [&](uint64_t h) {
    out.add(single_token(kind, h));
    return ++n < kMaxHeaderWords && !out.full();
  });
}

void add_value(std::string_view value, Kind kind, TokenSet& out) {
  out.add(single_token(kind, word_hash(value)));
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 0x20);
  return out;
}

// The display name of a decoded address field: the text before the first
// unquoted '<', quotes removed ("Jane Doe" <jane@x> -> Jane Doe).
std::string display_name(std::string_view value) {
  std::string name;
  bool quoted = false;
  for (char c : value) {
    if (c == '"') {
      quoted = !quoted;
      continue;
    }
    if (c == '<' && !quoted) return name;
    name.push_back(c);
  }
  return {};  // a bare address has no display name
}

void add_address_field(const HeaderField& field, Kind name_kind, Kind domain_kind,
                       const TokenizerLimits& limits, TokenSet& out) {
  add_words(display_name(field.value), name_kind, limits, out);
  proto::mail::AddressLimits address_limits;
  address_limits.max_mailboxes = kMaxAddresses;
  auto list = proto::mail::parse_address_list(field.raw, address_limits);
  if (list.ok()) {
    for (const auto& m : list.mailboxes) add_value(m.domain, domain_kind, out);
    return;
  }
  // Not RFC 5322: the domain after the last '@' still says something.
  auto at = field.raw.rfind('@');
  if (at == std::string::npos) return;
  auto end = field.raw.find_first_of(">) \t,;\"", at + 1);
  std::string domain = ascii_lower(field.raw.substr(at + 1, end == std::string::npos ? end : end - at - 1));
  if (!domain.empty()) add_value(domain, domain_kind, out);
}

// The host and its parent domain ("www.shop.example" -> also "shop.example").
void add_host(const Url& url, TokenSet& out) {
  if (url.host.empty()) return;
  add_value(url.host, Kind::UrlHost, out);
  if (url.ip_host) return;
  auto last = url.host.rfind('.');
  if (last == std::string::npos || last == 0) return;
  auto second = url.host.rfind('.', last - 1);
  if (second != std::string::npos)
    add_value(std::string_view(url.host).substr(second + 1), Kind::UrlHost, out);
}

void add_url_hosts(const MessageView& view, TokenSet& out) {
  std::unordered_set<std::string> hosts;
  auto take = [&](const std::vector<Url>& urls) {
    for (const auto& u : urls) {
      if (hosts.size() >= kMaxUrlHosts) return;
      if (hosts.insert(u.host).second) add_host(u, out);
    }
  };
  take(extract_urls(view.all_text(), kMaxUrlsPerText));
  for (const auto& part : view.text_parts()) {
    if (!part.html.empty()) take(extract_html_urls(part.html, kMaxUrlsPerText));
  }
}

void add_attachments(const MessageView& view, TokenSet& out) {
  std::size_t n = 0;
  for (const auto& a : view.attachments()) {
    if (n++ >= kMaxAttachments) break;
    if (!a.content_type.empty()) add_value(ascii_lower(a.content_type), Kind::AttachmentType, out);
    auto dot = a.filename.rfind('.');
    if (dot != std::string::npos && a.filename.size() - dot - 1 <= kMaxExtensionBytes &&
        dot + 1 < a.filename.size())
      add_value(ascii_lower(std::string_view(a.filename).substr(dot + 1)), Kind::AttachmentExtension, out);
  }
}

}  // namespace

std::vector<Token> tokenize(const MessageView& view, const TokenizerLimits& limits) {
  TokenSet out(limits.max_tokens);
  // The few header tokens first, so a long body cannot crowd them out.
  if (auto subject = view.first("Subject")) {
    add_words(*subject, Kind::SubjectWord, limits, out);
    add_pairs(*subject, Kind::SubjectPair, limits, out);
  }
  std::size_t fields = 0;
  for (const auto& f : view.headers()) {
    bool from = f.name.size() == 4 && ascii_lower(f.name) == "from";
    bool to = f.name.size() == 2 && ascii_lower(f.name) == "to";
    if (!from && !to) continue;
    if (fields++ >= 4) break;  // repeated From/To fields are malformed anyway
    if (from) add_address_field(f, Kind::FromName, Kind::FromDomain, limits, out);
    if (to) add_address_field(f, Kind::ToName, Kind::ToDomain, limits, out);
  }
  add_attachments(view, out);
  add_url_hosts(view, out);
  add_pairs(view.all_text(), Kind::BodyPair, limits, out);
  return std::move(out).sorted();
}

std::vector<Token> tokenize_text(std::string_view text, const TokenizerLimits& limits) {
  TokenSet out(limits.max_tokens);
  add_pairs(text, Kind::BodyPair, limits, out);
  return std::move(out).sorted();
}

}  // namespace mailfort::filter
