#include "proto/arc/arc_header.h"

#include <utility>

#include "base/base64.h"
#include "base/text.h"
#include "proto/dkim/signature.h"
#include "proto/dkim/tag_list.h"

namespace mailfort::proto::arc {
namespace {

bool fws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && fws(s.back())) s.remove_suffix(1);
  return s;
}

using proto::dkim::Tag;
using proto::dkim::TagList;

Result<TagList> tag_list(std::string_view s) {
  std::string error;
  auto tags = proto::dkim::parse_tag_list(s, &error);
  if (!tags) return make_error(Errc::Invalid, error);
  return std::move(*tags);
}

std::optional<int> parse_instance(std::string_view v) {
  auto n = proto::dkim::parse_decimal(v, 2);
  if (!n || *n < 1 || *n > kMaxInstance) return std::nullopt;
  return static_cast<int>(*n);
}

// 12 digits: far past any real clock.
std::optional<int64_t> parse_timestamp(std::string_view v) {
  return proto::dkim::parse_decimal(v, 12);
}

Result<std::string> base64_tag(const TagList& tags, std::string_view name) {
  const Tag* t = tags.find(name);
  if (!t) return make_error(Errc::Invalid, "missing " + std::string(name) + "=");
  auto raw = base64::decode(proto::dkim::strip_fws(t->value));
  if (!raw || raw->empty()) return make_error(Errc::Invalid, std::string(name) + "= is not base64");
  return std::move(*raw);
}

// The tags every ARC signature shares: i=, a=, b=, d=, s=, t=.
struct Common {
  int instance = 0;
  SigningAlgorithm algorithm = SigningAlgorithm::RsaSha256;
  std::string signature;
  std::string domain;
  std::string selector;
  std::optional<int64_t> timestamp;
};

Result<Common> parse_common(const TagList& tags) {
  Common c;
  const Tag* i = tags.find("i");
  if (!i) return make_error(Errc::Invalid, "missing i=");
  auto n = parse_instance(i->value);
  if (!n) return make_error(Errc::Invalid, "i= is not an instance 1..50");
  c.instance = *n;
  const Tag* a = tags.find("a");
  if (!a) return make_error(Errc::Invalid, "missing a=");
  auto alg = parse_algorithm(a->value);
  if (!alg) return make_error(Errc::Invalid, "unsupported algorithm a=" + std::string(a->value));
  c.algorithm = *alg;
  auto b = base64_tag(tags, "b");
  if (!b) return b.error();
  c.signature = std::move(*b);
  const Tag* d = tags.find("d");
  if (!d || !is_valid_domain(d->value)) return make_error(Errc::Invalid, "missing or invalid d=");
  c.domain = to_lower(d->value);
  const Tag* s = tags.find("s");
  if (!s || s->value.empty()) return make_error(Errc::Invalid, "missing s=");
  for (char ch : s->value)
    if (!alpha(ch) && !digit(ch) && ch != '-' && ch != '.' && ch != '_')
      return make_error(Errc::Invalid, "invalid s=");
  c.selector = std::string(s->value);
  if (const Tag* t = tags.find("t")) {
    c.timestamp = parse_timestamp(t->value);
    if (!c.timestamp) return make_error(Errc::Invalid, "t= is not a number");
  }
  return c;
}

std::optional<Canon> parse_canon(std::string_view s) {
  if (s == "simple") return Canon::Simple;
  if (s == "relaxed") return Canon::Relaxed;
  return std::nullopt;
}

}  // namespace

std::optional<SigningAlgorithm> parse_algorithm(std::string_view a) {
  if (a == "rsa-sha256") return SigningAlgorithm::RsaSha256;
  if (a == "ed25519-sha256") return SigningAlgorithm::Ed25519Sha256;
  return std::nullopt;
}

const char* chain_validation_name(ChainValidation cv) {
  switch (cv) {
    case ChainValidation::Pass:
      return "pass";
    case ChainValidation::Fail:
      return "fail";
    case ChainValidation::None:
      break;
  }
  return "none";
}

std::optional<int> instance_of(std::string_view field_name, std::string_view value) {
  if (iequals(field_name, "ARC-Authentication-Results")) {
    std::string_view v = trim(value);
    auto semi = v.find(';');
    std::string_view first = trim(v.substr(0, semi));
    if (first.size() < 2 || first[0] != 'i') return std::nullopt;
    std::string_view rest = trim(first.substr(1));
    if (rest.empty() || rest[0] != '=') return std::nullopt;
    return parse_instance(trim(rest.substr(1)));
  }
  auto tags = tag_list(value);
  if (!tags) return std::nullopt;
  const Tag* i = tags->find("i");
  return i ? parse_instance(i->value) : std::nullopt;
}

Result<ArcSeal> parse_arc_seal(std::string_view value) {
  auto tags = tag_list(value);
  if (!tags) return tags.error();
  auto c = parse_common(*tags);
  if (!c) return c.error();
  if (tags->find("h")) return make_error(Errc::Invalid, "h= is not allowed in ARC-Seal");
  const Tag* cv = tags->find("cv");
  if (!cv) return make_error(Errc::Invalid, "missing cv=");
  ArcSeal seal;
  if (cv->value == "none")
    seal.cv = ChainValidation::None;
  else if (cv->value == "pass")
    seal.cv = ChainValidation::Pass;
  else if (cv->value == "fail")
    seal.cv = ChainValidation::Fail;
  else
    return make_error(Errc::Invalid, "invalid cv=");
  seal.instance = c->instance;
  seal.algorithm = c->algorithm;
  seal.signature = std::move(c->signature);
  seal.domain = std::move(c->domain);
  seal.selector = std::move(c->selector);
  seal.timestamp = c->timestamp;
  return seal;
}

Result<ArcMessageSignature> parse_arc_message_signature(std::string_view value) {
  auto tags = tag_list(value);
  if (!tags) return tags.error();
  auto c = parse_common(*tags);
  if (!c) return c.error();
  ArcMessageSignature ams;
  auto bh = base64_tag(*tags, "bh");
  if (!bh) return bh.error();
  ams.body_hash = std::move(*bh);
  if (const Tag* canon = tags->find("c")) {
    std::string_view v = canon->value;
    auto slash = v.find('/');
    auto h = parse_canon(v.substr(0, slash));
    auto b = slash == std::string_view::npos ? std::optional<Canon>(Canon::Simple)
                                             : parse_canon(v.substr(slash + 1));
    if (!h || !b) return make_error(Errc::Invalid, "invalid c=");
    ams.header_canon = *h;
    ams.body_canon = *b;
  }
  const Tag* h = tags->find("h");
  if (!h) return make_error(Errc::Invalid, "missing h=");
  for (std::string_view name : proto::dkim::split_colon_list(h->value))
    if (!name.empty()) ams.headers.push_back(to_lower(name));
  for (const auto& n : ams.headers)
    if (n == "arc-seal") return make_error(Errc::Invalid, "h= signs ARC-Seal (RFC 8617 4.1.2)");
  ams.instance = c->instance;
  ams.algorithm = c->algorithm;
  ams.signature = std::move(c->signature);
  ams.domain = std::move(c->domain);
  ams.selector = std::move(c->selector);
  ams.timestamp = c->timestamp;
  return ams;
}

Result<ArcAuthenticationResults> parse_arc_authentication_results(std::string_view value) {
  // "i=N;" FWS authserv-id [";" resinfo...] (RFC 8617 4.1.1).
  std::string_view v = trim(value);
  auto semi = v.find(';');
  if (semi == std::string_view::npos)
    return make_error(Errc::Invalid, "ARC-Authentication-Results without \"i=N;\"");
  auto n = instance_of("ARC-Authentication-Results", v);
  if (!n) return make_error(Errc::Invalid, "ARC-Authentication-Results does not start with i=1..50");
  ArcAuthenticationResults aar;
  aar.instance = *n;
  std::string_view rest = trim(v.substr(semi + 1));
  auto id_end = rest.find(';');
  std::string_view id = trim(rest.substr(0, id_end));
  if (id.empty()) return make_error(Errc::Invalid, "ARC-Authentication-Results without authserv-id");
  aar.authserv_id = std::string(id);
  std::string_view results =
      id_end == std::string_view::npos ? std::string_view() : trim(rest.substr(id_end + 1));
  // Unfold: CRLF and the WSP runs around it become one space.
  std::string out;
  out.reserve(results.size());
  bool space = false;
  for (char c : results) {
    if (fws(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  aar.results = std::move(out);
  return aar;
}

std::string without_signature(std::string_view value) {
  auto tags = proto::dkim::parse_tag_list(value);
  const Tag* b = tags ? tags->find("b") : nullptr;
  if (!b) return std::string(value);
  std::string out(value.substr(0, b->value_begin));
  out += value.substr(b->value_end);
  return out;
}

}  // namespace mailfort::proto::arc
