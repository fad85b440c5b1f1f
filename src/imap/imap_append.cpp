#include "imap/imap_session_impl.h"

// APPEND: the message literal (cut out of the command by the assembler,
// its memory reserved as it arrived) stored with flags and date; APPENDUID.
namespace mailfort::imap {

asio::awaitable<bool> ImapSession::cmd_append(Command& c) {
  std::string name = from_wire(c.args[0]);
  uint32_t bits = 0;
  std::vector<std::string> kw;
  if (!split_flags(c.flags, bits, kw)) co_return co_await tagged(c.tag, "BAD", "Invalid flag");
  if (c.literal.size() > cfg_->imap.max_literal_size)
    co_return co_await tagged(c.tag, "NO", "[TOOBIG] Message too large");
  auto* mb = account().mailbox.get();
  int64_t date = c.append_date.value_or(0);
  // bare LF -> CRLF: sizes match BODY[]; a literal8's binary parts as base64
  std::string message = append_form(std::move(c.literal), c.literal8);
  auto r = co_await blocking([&] { return mb->append(name, message, bits, kw, date); });
  if (!r) {
    if (r.error().code == Errc::NotFound)
      co_return co_await tagged(c.tag, "NO", "[TRYCREATE] Mailbox does not exist");
    co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  }
  if (auto* s = selected()) co_await updates(*s, false);
  co_return co_await tagged(
      c.tag, "OK",
      "[APPENDUID " + std::to_string(r->uidvalidity) + " " + std::to_string(r->uid) + "] " + completed(c));
}

}  // namespace mailfort::imap
