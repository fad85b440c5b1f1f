#include "proto/dkim/signature.h"

#include <limits>

#include "base/base64.h"
#include "base/text.h"

namespace mailfort::proto::dkim {
namespace {

std::nullopt_t fail(std::string* error, const char* msg) {
  if (error) *error = msg;
  return std::nullopt;
}

bool domain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  if (d.find("..") != std::string_view::npos) return false;
  for (char c : d)
    if (!domain_char(c)) return false;
  return true;
}

bool field_name_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != ':';
}

// "relaxed/simple" etc. (3.5 c=): header part, then optional body part.
bool parse_canon(std::string_view v, Canon& header, Canon& body) {
  auto word = [](std::string_view w, Canon& out) {
    if (iequals(w, "simple"))
      out = Canon::Simple;
    else if (iequals(w, "relaxed"))
      out = Canon::Relaxed;
    else
      return false;
    return true;
  };
  auto slash = v.find('/');
  if (slash == std::string_view::npos) {
    body = Canon::Simple;
    return word(v, header);
  }
  return word(v.substr(0, slash), header) && word(v.substr(slash + 1), body);
}

// b=, bh=, p=: base64 that may be folded.
std::optional<std::string> decode_b64(std::string_view v) {
  return base64::decode(strip_fws(v));
}

}  // namespace

const char* key_type_name(KeyType k) {
  return k == KeyType::Ed25519 ? "ed25519" : "rsa";
}
const char* hash_name(Hash h) {
  return h == Hash::Sha1 ? "sha1" : "sha256";
}

std::optional<int64_t> parse_decimal(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) {
      v = std::numeric_limits<int64_t>::max();
      continue;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<Signature> parse_signature(std::string_view value, std::string* error) {
  auto list = parse_tag_list(value, error);
  if (!list) return std::nullopt;
  Signature s;
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
    if (!list->find(required)) {
      if (error) *error = std::string("missing ") + required + "= tag";
      return std::nullopt;
    }
  if (list->find("v")->value != "1") return fail(error, "unsupported version");

  s.algorithm = to_lower(list->find("a")->value);
  if (s.algorithm == "rsa-sha256") {
    s.key_type = KeyType::Rsa, s.hash = Hash::Sha256;
  } else if (s.algorithm == "rsa-sha1") {
    s.key_type = KeyType::Rsa, s.hash = Hash::Sha1;
  } else if (s.algorithm == "ed25519-sha256") {
    s.key_type = KeyType::Ed25519, s.hash = Hash::Sha256;
  } else {
    return fail(error, "unsupported algorithm");
  }

  s.b_text = strip_fws(list->find("b")->value);
  auto b = base64::decode(s.b_text);
  if (!b || b->empty()) return fail(error, "bad b= base64");
  s.b = std::move(*b);
  auto bh = decode_b64(list->find("bh")->value);
  if (!bh || bh->empty()) return fail(error, "bad bh= base64");
  s.bh = std::move(*bh);

  if (auto* c = list->find("c"))
    if (!parse_canon(c->value, s.header_canon, s.body_canon)) return fail(error, "unknown canonicalization");

  std::string_view d = list->find("d")->value;
  if (!valid_domain(d)) return fail(error, "bad d= domain");
  s.domain = to_lower(d);

  std::string_view sel = list->find("s")->value;
  if (!valid_domain(sel)) return fail(error, "bad s= selector");
  s.selector = std::string(sel);

  bool has_from = false;
  for (auto name : split_colon_list(list->find("h")->value)) {
    if (name.empty()) return fail(error, "empty name in h=");
    for (char c : name)
      if (!field_name_char(c)) return fail(error, "bad name in h=");
    if (s.headers.size() >= kMaxSignedHeaders) return fail(error, "too many names in h=");
    s.headers.push_back(to_lower(name));
    if (s.headers.back() == "from") has_from = true;
  }
  if (!has_from) return fail(error, "h= does not sign From");

  if (auto* i = list->find("i")) {
    // [ Local-part ] "@" domain-name, the domain d= or a subdomain of it.
    auto at = i->value.rfind('@');
    if (at == std::string_view::npos) return fail(error, "bad i= identity");
    std::string idom = to_lower(i->value.substr(at + 1));
    if (!valid_domain(idom)) return fail(error, "bad i= identity");
    bool within = idom == s.domain || (idom.size() > s.domain.size() && idom.ends_with(s.domain) &&
                                       idom[idom.size() - s.domain.size() - 1] == '.');
    if (!within) return fail(error, "i= not within d=");
    s.identity = std::string(i->value);
  } else {
    s.identity = "@" + s.domain;
  }

  if (auto* l = list->find("l")) {
    auto v = parse_decimal(l->value, 76);
    if (!v) return fail(error, "bad l= length");
    s.length = *v;
  }
  if (auto* q = list->find("q")) {
    bool dns_txt = false;
    for (auto m : split_colon_list(q->value)) {
      // "dns/txt" with optional "/" options of future methods (3.5 q=).
      if (iequals(m, "dns/txt") || iequals(m, "dns")) dns_txt = true;
    }
    if (!dns_txt) return fail(error, "no supported q= query method");
  }
  if (auto* t = list->find("t")) {
    auto v = parse_decimal(t->value, 12);
    if (!v) return fail(error, "bad t= timestamp");
    s.timestamp = *v;
  }
  if (auto* x = list->find("x")) {
    auto v = parse_decimal(x->value, 12);
    if (!v) return fail(error, "bad x= expiration");
    s.expiration = *v;
  }
  if (s.timestamp >= 0 && s.expiration >= 0 && s.expiration < s.timestamp) return fail(error, "x= before t=");
  return s;
}

std::optional<KeyRecord> parse_key_record(std::string_view text, std::string* error) {
  auto list = parse_tag_list(text, error);
  if (!list) return std::nullopt;
  KeyRecord k;
  if (auto* v = list->find("v")) {
    if (&list->tags.front() != v) return fail(error, "v= not first in key record");
    if (v->value != "DKIM1") return fail(error, "unsupported key record version");
  }
  if (auto* h = list->find("h")) {
    k.hash_restricted = true;
    for (auto name : split_colon_list(h->value)) {
      if (iequals(name, "sha256"))
        k.hashes.push_back(Hash::Sha256);
      else if (iequals(name, "sha1"))
        k.hashes.push_back(Hash::Sha1);
      // unknown hash names are ignored (3.6.1)
    }
  }
  if (auto* t = list->find("k")) {
    if (iequals(t->value, "rsa"))
      k.type = KeyType::Rsa;
    else if (iequals(t->value, "ed25519"))
      k.type = KeyType::Ed25519;
    else
      return fail(error, "unknown key type");
  }
  auto* p = list->find("p");
  if (!p) return fail(error, "key record without p=");
  auto key = decode_b64(p->value);
  if (!key) return fail(error, "bad p= base64");
  k.public_key = std::move(*key);
  if (auto* s = list->find("s")) {
    k.email_service = false;
    for (auto name : split_colon_list(s->value))
      if (name == "*" || iequals(name, "email")) k.email_service = true;
  }
  if (auto* t = list->find("t")) {
    for (auto flag : split_colon_list(t->value)) {
      if (flag == "y") k.testing = true;
      if (flag == "s") k.strict_identity = true;
    }
  }
  return k;
}

}  // namespace mailfort::proto::dkim
