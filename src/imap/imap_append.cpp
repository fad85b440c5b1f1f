#include "imap/imap_session_impl.h"
#include "imap/imap_urls.h"

// APPEND: one message or several (MULTIAPPEND, RFC 3502), each a literal
// (cut out of the command by the assembler, its memory reserved as it
// arrived) or put together from TEXT literals and IMAP URLs of this
// account's messages (CATENATE, RFC 4469); stored all or none with flags
// and dates; APPENDUID (RFC 4315) with the set of new UIDs.
namespace mailfort::imap {

asio::awaitable<bool> ImapSession::cmd_append(Command& c) {
  std::string name = from_wire(c.args[0]);
  const uint64_t max_message = cfg_->imap.max_literal_size;
  const uint64_t max_total = std::max(cfg_->imap.max_append_size, max_message);
  struct Meta {
    uint32_t bits = 0;
    std::vector<std::string> keywords;
  };
  std::vector<Meta> meta(c.appends.size());
  std::size_t urls = 0;
  for (std::size_t i = 0; i < c.appends.size(); ++i) {
    if (!split_flags(c.appends[i].flags, meta[i].bits, meta[i].keywords))
      co_return co_await tagged(c.tag, "BAD", "Invalid flag");
    for (const auto& p : c.appends[i].parts) urls += p.url;
  }
  if (c.appends.size() > cfg_->imap.max_append_messages)
    co_return co_await tagged(c.tag, "NO", "[LIMIT] Too many messages in one APPEND");
  if (urls > cfg_->imap.max_catenate_urls)
    co_return co_await tagged(c.tag, "NO", "[LIMIT] Too many URLs in one APPEND");
  auto* mb = account().mailbox.get();
  // A missing mailbox first: the client creates it and tries again
  // (TRYCREATE), before any URL is looked at.
  auto exists = co_await blocking([&] { return mb->status(name); });
  if (!exists) {
    if (exists.error().code == Errc::NotFound)
      co_return co_await tagged(c.tag, "NO", "[TRYCREATE] Mailbox does not exist");
    co_return co_await tagged(c.tag, "NO", error_code(exists.error()) + exists.error().message);
  }
  std::vector<std::string> messages(c.appends.size());
  uint64_t total = 0;
  for (std::size_t i = 0; i < c.appends.size(); ++i) {
    auto& m = c.appends[i];
    std::string& out = messages[i];
    if (!m.catenate) out = std::move(m.literal);
    for (auto& p : m.parts) {
      if (!p.url) {
        if (out.empty())
          out = std::move(p.data);  // a large TEXT literal is not copied
        else
          out += p.data;
        std::string().swap(p.data);
      } else {
        auto u = parse_imap_url(p.data);
        if (!u) co_return co_await tagged(c.tag, "NO", badurl_code(p.data) + "Invalid URL");
        auto msg = co_await url_message(*u);
        if (!msg && msg.error().code == Errc::Temp)
          co_return co_await tagged(c.tag, "NO", "[UNAVAILABLE] " + msg.error().message);
        std::optional<std::string> bytes;
        if (msg) bytes = url_bytes(*msg, *u);
        if (!bytes) co_return co_await tagged(c.tag, "NO", badurl_code(p.data) + "Invalid URL");
        out += *bytes;
      }
      if (out.size() > max_message) co_return co_await tagged(c.tag, "NO", "[TOOBIG] Message too large");
    }
    if (out.size() > max_message) co_return co_await tagged(c.tag, "NO", "[TOOBIG] Message too large");
    total += out.size();
    if (total > max_total) co_return co_await tagged(c.tag, "NO", "[TOOBIG] Messages too large together");
    // bare LF -> CRLF: sizes match BODY[]; a literal8's binary parts as base64
    out = append_form(std::move(out), m.binary);
  }
  std::vector<store::AppendItem> items(c.appends.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i].message = messages[i];
    items[i].flags = meta[i].bits;
    items[i].keywords = std::move(meta[i].keywords);
    items[i].internal_date = c.appends[i].date.value_or(0);
  }
  auto r = co_await blocking([&] { return mb->append_many(name, items); });
  if (!r) {
    if (r.error().code == Errc::NotFound)
      co_return co_await tagged(c.tag, "NO", "[TRYCREATE] Mailbox does not exist");
    co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  }
  if (auto* s = selected()) co_await updates(*s, false);
  co_return co_await tagged(c.tag, "OK",
                            "[APPENDUID " + std::to_string(r->uidvalidity) + " " + seq_set_text(r->uids) + "] " +
                                completed(c));
}

}  // namespace mailfort::imap
