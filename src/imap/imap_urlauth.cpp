#include <ctime>

#include "base/text.h"
#include "imap/imap_session_impl.h"
#include "imap/imap_urls.h"
#include "proto/mime/mime.h"
#include "tls/hmac.h"

// IMAP URLs in the session: CATENATE's URL parts (RFC 4469) and URLAUTH
// (RFC 4467): GENURLAUTH signs a URL's rump with the folder's access key
// (HMAC-SHA256, mechanism INTERNAL; the key is random, kept in the
// owner's index and replaced by RESETKEY), URLFETCH checks the access
// identifier, the expiry and the MAC, then returns the message (part) the
// URL names, also another user's. An invalid URL is answered NIL, never
// with why.
namespace mailfort::imap {
namespace {

constexpr std::string_view kMechanism = "INTERNAL";

std::string hex(std::string_view raw) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (char ch : raw) {
    auto u = static_cast<unsigned char>(ch);
    out.push_back(digits[u >> 4]);
    out.push_back(digits[u & 15]);
  }
  return out;
}

// The account a URL's userinfo names: "u@example.org", or "u" on host
// "example.org" (imap://u@example.org/...).
std::string url_owner(const ImapUrl& u, const std::string& self) {
  if (u.user.empty()) return self;
  if (u.user.find('@') == std::string::npos && !u.host.empty()) return to_lower(u.user + "@" + u.host);
  return to_lower(u.user);
}

// Whether `user` may use a URL with this access identifier (RFC 4467 3).
// "submit+" is for a submission server acting for that user, which IMAP
// sessions are not.
bool access_allows(std::string_view access, const std::string& user) {
  if (iequals(access, "authuser") || iequals(access, "anonymous")) return true;
  if (access.size() > 5 && iequals(access.substr(0, 5), "user+")) return iequals(access.substr(5), user);
  return false;
}

// The URL's section as BINARY and BODYPARTSTRUCTURE take it: part numbers
// only (the whole message when there are none); nullopt otherwise.
std::optional<std::vector<uint32_t>> part_path(const ImapUrl& u) {
  if (u.section.empty()) return std::vector<uint32_t>{};
  auto s = url_section(u.section);
  if (!s || s->kind != Section::Kind::Full) return std::nullopt;
  return s->part;
}

// The encodings of `orig`'s parts onto `conv`, the same tree parsed from
// the BINARY form (whose headers say "binary"): BODYPARTSTRUCTURE then
// names the encodings as stored and the sizes as sent (Dovecot's).
void keep_encodings(proto::mime::Part& conv, const proto::mime::Part& orig, int depth = 0) {
  conv.encoding = orig.encoding;
  if (depth > 300) return;
  for (std::size_t i = 0; i < conv.children.size() && i < orig.children.size(); ++i)
    keep_encodings(conv.children[i], orig.children[i], depth + 1);
}

// "(BODYPARTSTRUCTURE (...) BINARY ~{n}... BODY {n}...)" of RFC 5524 for
// the message (part) a URL names; `data` is the URL's bytes.
std::string url_metadata(std::string_view message, const ImapUrl& u, const UrlFetchParams& params,
                         const std::string& data) {
  namespace mime = proto::mime;
  auto path = part_path(u);
  mime::Part root = mime::parse(message);
  const mime::Part* part = path ? mime::find_part(root, *path) : nullptr;
  std::optional<std::string> binary;
  bool unknown_cte = false;
  if (params.binary && part) binary = mime::binary(message, root, *path, unknown_cte);
  std::vector<std::string> items;
  if (params.bodypartstructure) {
    std::string bps = "NIL";
    if (part && binary && (part->is_message_rfc822() || path->empty())) {
      // The structure of the BINARY form: parsed again, with the stored
      // encodings' names.
      mime::Part inner = mime::parse(*binary);
      keep_encodings(inner, path->empty() ? *part : part->children[0]);
      if (path->empty()) {
        bps = mime::imap_bodystructure(*binary, inner, true);
      } else {
        mime::Part wrap = *part;
        wrap.header_begin = wrap.body_begin = 0;
        wrap.body_end = binary->size();
        wrap.lines = static_cast<std::size_t>(std::count(binary->begin(), binary->end(), '\n'));
        wrap.children = {std::move(inner)};
        bps = mime::imap_bodystructure(*binary, wrap, true);
      }
    } else if (part && binary && part->children.empty()) {
      mime::Part leaf = *part;
      leaf.header_begin = leaf.body_begin = 0;
      leaf.body_end = binary->size();
      leaf.lines = static_cast<std::size_t>(std::count(binary->begin(), binary->end(), '\n'));
      bps = mime::imap_bodystructure(*binary, leaf, true);
    } else if (part) {
      bps = mime::imap_bodystructure(message, *part, true);
    }
    items.push_back("BODYPARTSTRUCTURE " + bps);
  }
  if (params.binary) {
    if (!binary)
      items.push_back("BINARY NIL");
    else if (binary->find('\0') != std::string::npos)
      items.push_back("BINARY ~{" + std::to_string(binary->size()) + "}\r\n" + *binary);
    else
      items.push_back("BINARY " + quote(*binary));
  }
  if (params.body) items.push_back("BODY " + quote(data));
  std::string out = "(";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + items[i];
  return out + ")";
}

}  // namespace

std::string badurl_code(std::string_view url) {
  std::string out = "[BADURL ";
  for (char ch : url.substr(0, 1024)) out.push_back(ch == ']' || ch == '\r' || ch == '\n' ? '?' : ch);
  return out + "] ";
}

std::optional<std::string> url_bytes(std::string_view message, const ImapUrl& u) {
  std::string data;
  if (u.section.empty()) {
    data = std::string(message);
  } else {
    auto section = url_section(u.section);
    if (!section) return std::nullopt;
    auto part = body_section(message, *section);
    if (!part) return std::nullopt;
    data = std::move(*part);
  }
  if (u.partial_offset) {
    uint64_t offset = *u.partial_offset;
    if (offset >= data.size()) return std::string();
    data = data.substr(offset, u.partial_length ? *u.partial_length : std::string::npos);
  }
  return data;
}

asio::awaitable<Result<std::string>> ImapSession::url_message(const ImapUrl& u) {
  const std::string& self = account().user;
  std::string owner = url_owner(u, self);
  std::shared_ptr<store::UserMailbox> mb = account().mailbox;
  std::string folder;
  if (u.has_mailbox) {
    folder = u.mailbox;
  } else if (auto* s = selected()) {
    folder = s->name;
  } else {
    co_return Error{Errc::Invalid, "relative URL without a selected mailbox"};
  }
  const bool urlauth = u.rump_size > 0;
  if (urlauth) {
    // Only the complete, signed form; and only for whom it was made.
    if (!u.absolute || u.mechanism != kMechanism || !access_allows(u.access, self))
      co_return Error{Errc::Invalid, "not authorized"};
    if (u.expire && *u.expire <= std::time(nullptr)) co_return Error{Errc::Invalid, "expired"};
  } else if (owner != to_lower(self)) {
    co_return Error{Errc::Invalid, "another user's message without URLAUTH"};
  }
  auto* dir = svc_.directory.get();
  auto* reg = svc_.mailboxes.get();
  bool other = owner != to_lower(self);
  co_return co_await blocking([&, other]() -> Result<std::string> {
    if (other) {
      auto acc = dir->find_account(owner);
      if (!acc) return acc.error();
      if (!*acc || !acc->value().enabled) return Error{Errc::Invalid, "no such user"};
      auto opened = reg->open(owner);
      if (!opened) return opened.error();
      mb = std::move(*opened);
    }
    auto st = mb->status(folder);
    if (!st) return st.error().code == Errc::Temp ? st.error() : Error{Errc::Invalid, "no such mailbox"};
    if (u.uidvalidity && *u.uidvalidity != st->uidvalidity) return Error{Errc::Invalid, "UIDVALIDITY changed"};
    if (urlauth) {
      auto key = mb->urlauth_key(folder, false);
      if (!key) return key.error().code == Errc::Temp ? key.error() : Error{Errc::Invalid, "no key"};
      if (key->empty()) return Error{Errc::Invalid, "no key"};
      std::string want = hex(tls::hmac_sha256(*key, u.rump));
      if (!tls::equal_constant_time(want, to_lower(u.token))) return Error{Errc::Invalid, "bad token"};
    }
    auto msg = mb->read(st->id, u.uid);
    if (!msg) return msg.error().code == Errc::Temp ? msg.error() : Error{Errc::Invalid, "no such message"};
    return msg;
  });
}

asio::awaitable<bool> ImapSession::cmd_genurlauth(Command& c) {
  std::string line = "GENURLAUTH";
  for (std::size_t i = 0; i + 1 < c.args.size(); i += 2) {
    const std::string& url = c.args[i];
    if (c.args[i + 1] != kMechanism)
      co_return co_await tagged(c.tag, "NO", badurl_code(url) + "Unsupported URLAUTH mechanism");
    auto u = parse_imap_url(url);
    // An absolute URL of this account's that ends in ";URLAUTH=access".
    if (!u || !u->absolute || u->rump_size != url.size() || !u->has_mailbox ||
        url_owner(*u, account().user) != to_lower(account().user))
      co_return co_await tagged(c.tag, "NO", badurl_code(url) + "Invalid URL for GENURLAUTH");
    auto* mb = account().mailbox.get();
    std::string folder = u->mailbox;
    auto key = co_await blocking([&] { return mb->urlauth_key(folder, true); });
    if (!key) {
      if (key.error().code == Errc::NotFound)
        co_return co_await tagged(c.tag, "NO", badurl_code(url) + "No such mailbox");
      co_return co_await tagged(c.tag, "NO", error_code(key.error()) + key.error().message);
    }
    line += " " + quote(url + ":internal:" + hex(tls::hmac_sha256(*key, url)));
  }
  untagged(line);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_resetkey(Command& c) {
  for (std::size_t i = 1; i < c.args.size(); ++i)
    if (c.args[i] != kMechanism) co_return co_await tagged(c.tag, "NO", "Unsupported URLAUTH mechanism");
  auto* mb = account().mailbox.get();
  std::optional<std::string> folder;
  if (!c.args.empty()) folder = from_wire(c.args[0]);
  auto r = co_await blocking([&] { return mb->reset_urlauth_keys(folder ? &*folder : nullptr); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

// The response is one line with every URL's data; it is written URL by
// URL, so that at most one message is held at a time.
asio::awaitable<bool> ImapSession::cmd_urlfetch(Command& c) {
  out_ += "* URLFETCH";
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    const std::string& url = c.args[i];
    const UrlFetchParams& params = c.url_fetch[i];
    std::optional<std::string> data, message;
    auto u = parse_imap_url(url);
    // URLFETCH takes only URLAUTH-authorized URLs (RFC 4467 7).
    if (u && u->absolute && u->rump_size > 0) {
      auto msg = co_await url_message(*u);
      if (msg) data = url_bytes(*msg, *u);
      if (data && params.extended) message = std::move(*msg);
    }
    out_ += " " + quote(url) + " ";
    if (!data)
      out_ += "NIL";
    else if (!params.extended)
      out_ += quote(*data);
    else
      out_ += url_metadata(*message, *u, params, *data);
    if (!co_await flush()) co_return false;
  }
  out_ += "\r\n";
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
