// POP3 session (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 SASL).
// Shows the INBOX of the store the IMAP server uses; UIDL is derived from
// the IMAP UID and UIDVALIDITY (Dovecot's %08Xu%08Xv), so it is stable
// across sessions and consistent with IMAP. DELE takes effect at QUIT
// (UPDATE state) as \Deleted + expunge; RETR marks \Seen.
#include "pop3/pop3_session.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <set>

#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "proto/sasl/exchange.h"
#include "proto/smtp/data_reader.h"
#include "server/auth.h"
#include "server/blocking.h"
#include "server/connection.h"
#include "server/services.h"
#include "store/mailbox.h"
#include "tls/context.h"

namespace mailfort::pop3 {
namespace {

using server::check_login;
using server::Connection;
using server::LoginVerdict;
using server::run_blocking;
using server::Services;
using std::chrono::seconds;

class Pop3Session {
 public:
  Pop3Session(std::shared_ptr<Connection> conn, Services& svc, std::shared_ptr<const config::Config> cfg,
              const config::Listener& l)
      : conn_(std::move(conn)), svc_(svc), cfg_(std::move(cfg)), listener_(l) {}
  ~Pop3Session() {
    if (!user_ip_key_.empty()) svc_.release_user_ip(user_ip_key_);
  }

  asio::awaitable<void> run() {
    if (listener_.tls == config::TlsMode::implicit) {
      std::size_t discarded = 0;
      if (!svc_.tls ||
          !co_await conn_->start_tls(svc_.tls->current(), seconds(cfg_->limits.tls_handshake_timeout_seconds),
                                     discarded)) {
        spdlog::info("pop3 tls-failed session={} ip={}", conn_->id(), conn_->peer_ip());
        co_return;
      }
    }
    // Log in within a bounded time; the read that passes it ends with -ERR.
    conn_->limit_unauthenticated(seconds(cfg_->limits.unauthenticated_session_seconds));
    if (!co_await send("+OK " + cfg_->hostname + " Mailfort POP3 ready\r\n")) co_return;
    std::string line;
    while (true) {
      auto st = co_await conn_->read_line(line, timeout());
      if (st == Connection::ReadStatus::Closed) break;
      if (st == Connection::ReadStatus::Timeout) {
        co_await timed_out();
        break;
      }
      if (st != Connection::ReadStatus::Line) {
        if (!co_await send("-ERR Line too long or not ending in CRLF\r\n")) break;
        continue;
      }
      if (!co_await command(line)) break;
    }
    co_await conn_->shutdown();
  }

 private:
  asio::awaitable<void> timed_out() {
    bool login = conn_->login_expired();
    spdlog::info("pop3 timeout session={} ip={} reason={}", conn_->id(), conn_->peer_ip(),
                 login ? "unauthenticated-too-long" : "idle");
    co_await send(login ? "-ERR [SYS/TEMP] Autologout; log in sooner\r\n"
                        : "-ERR Autologout; idle for too long\r\n");
  }
  seconds timeout() const {
    return seconds(mailbox_ ? cfg_->imap.idle_timeout_seconds : cfg_->limits.idle_timeout_seconds);
  }
  // By value: GCC 12 may end a temporary argument's life before the
  // coroutine is done with it.
  asio::awaitable<bool> send(std::string s) {
    bool ok = co_await conn_->write(s);
    co_return ok;
  }
  asio::awaitable<bool> err(std::string s) {
    bool ok = co_await send("-ERR " + s + "\r\n");
    co_return ok;
  }
  asio::awaitable<bool> ok(std::string s) {
    bool r = co_await send("+OK " + s + "\r\n");
    co_return r;
  }

  std::string capa() const {
    std::string c =
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
    if (!mailbox_) {
      if (conn_->is_tls())
        c += "USER\r\nSASL PLAIN\r\n";
      else if (listener_.tls == config::TlsMode::starttls && svc_.tls)
        c += "STLS\r\n";
    }
    c += "IMPLEMENTATION Mailfort\r\n.\r\n";
    return c;
  }

  // Message number argument -> index into msgs_, or -1.
  int message_index(const std::string& arg) const {
    if (arg.empty() || arg.size() > 9) return -1;
    for (char c : arg)
      if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    long n = std::stol(arg);
    if (n < 1 || static_cast<std::size_t>(n) > msgs_.size() ||
        deleted_.count(static_cast<std::size_t>(n - 1)))
      return -1;
    return static_cast<int>(n - 1);
  }

  std::string uidl(std::size_t i) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08X%08X", msgs_[i].uid, uidvalidity_);
    return buf;
  }

  asio::awaitable<bool> command(const std::string& line) {
    auto sp = line.find(' ');
    std::string verb = to_upper(line.substr(0, sp));
    std::string arg = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (verb == "CAPA") co_return co_await send(capa());
    if (verb == "QUIT") co_return co_await quit();
    if (verb == "NOOP" && mailbox_) co_return co_await ok("");
    if (!mailbox_) {
      if (verb == "STLS") {
        if (conn_->is_tls() || listener_.tls != config::TlsMode::starttls || !svc_.tls)
          co_return co_await err("STLS not available");
        if (!co_await ok("Begin TLS negotiation")) co_return false;
        std::size_t discarded = 0;
        if (!co_await conn_->start_tls(svc_.tls->current(),
                                       seconds(cfg_->limits.tls_handshake_timeout_seconds), discarded))
          co_return false;
        if (discarded)
          spdlog::warn("pop3 starttls-injection session={} ip={} discarded_bytes={}", conn_->id(),
                       conn_->peer_ip(), discarded);
        co_return true;
      }
      if (verb == "USER") {
        if (!conn_->is_tls()) co_return co_await err("[SYS/PERM] Use STLS first: no plaintext logins");
        user_ = arg;
        co_return co_await ok("Send your password");
      }
      if (verb == "PASS") {
        if (!conn_->is_tls()) co_return co_await err("[SYS/PERM] Use STLS first: no plaintext logins");
        if (user_.empty()) co_return co_await err("USER first");
        co_return co_await login(user_, arg);
      }
      if (verb == "AUTH") {
        if (!conn_->is_tls()) co_return co_await err("[SYS/PERM] Use STLS first: no plaintext logins");
        if (arg.empty()) co_return co_await send("+OK\r\nPLAIN\r\n.\r\n");
        co_return co_await authenticate(arg);
      }
      co_return co_await err("Log in first");
    }
    if (verb == "STAT") {
      uint64_t n = 0, size = 0;
      for (std::size_t i = 0; i < msgs_.size(); ++i)
        if (!deleted_.count(i)) ++n, size += msgs_[i].size;
      co_return co_await ok(std::to_string(n) + " " + std::to_string(size));
    }
    if (verb == "LIST" || verb == "UIDL") {
      bool list = verb == "LIST";
      if (!arg.empty()) {
        int i = message_index(arg);
        if (i < 0) co_return co_await err("No such message");
        // Not inside the co_await: GCC 12 destroys a ?: temporary of class
        // type in a coroutine's co_await argument twice ("LIST 1" crashed).
        std::string value = list ? std::to_string(msgs_[i].size) : uidl(i);
        co_return co_await ok(arg + " " + value);
      }
      std::string out = "+OK\r\n";
      for (std::size_t i = 0; i < msgs_.size(); ++i)
        if (!deleted_.count(i))
          out += std::to_string(i + 1) + " " + (list ? std::to_string(msgs_[i].size) : uidl(i)) + "\r\n";
      co_return co_await send(out + ".\r\n");
    }
    if (verb == "RETR" || verb == "TOP") {
      std::string num = arg.substr(0, arg.find(' '));
      int i = message_index(num);
      if (i < 0) co_return co_await err("No such message");
      long lines = -1;
      if (verb == "TOP") {
        auto sp2 = arg.find(' ');
        std::string l = sp2 == std::string::npos ? "" : arg.substr(sp2 + 1);
        if (l.empty() || l.size() > 9 || l.find_first_not_of("0123456789") != std::string::npos)
          co_return co_await err("Usage: TOP msg lines");
        lines = std::stol(l);
      }
      auto* mb = mailbox_.get();
      int64_t folder = folder_;
      uint32_t uid = msgs_[i].uid;
      auto text = co_await run_blocking(*svc_.workers, [&] { return mb->read(folder, uid); });
      if (!text) co_return co_await err("[SYS/TEMP] Message unavailable");
      std::string_view body = *text;
      if (lines >= 0) {
        // Header, blank line, then `lines` lines of the body.
        auto end = body.find("\r\n\r\n");
        std::size_t cut = end == std::string_view::npos ? body.size() : end + 4;
        std::size_t pos = cut;
        for (long k = 0; k < lines && pos < body.size(); ++k) {
          auto nl = body.find('\n', pos);
          pos = nl == std::string_view::npos ? body.size() : nl + 1;
        }
        body = body.substr(0, pos);
      } else {
        retrieved_.insert(uid);
      }
      co_return co_await send("+OK " + std::to_string(msgs_[i].size) + " octets\r\n" +
                              proto::smtp::dot_stuff(body));
    }
    if (verb == "DELE") {
      int i = message_index(arg);
      if (i < 0) co_return co_await err("No such message");
      deleted_.insert(static_cast<std::size_t>(i));
      co_return co_await ok("Marked for deletion");
    }
    if (verb == "RSET") {
      deleted_.clear();
      co_return co_await ok("");
    }
    co_return co_await err("Unknown command");
  }

  // AUTH mechanism [initial-response] (RFC 5034), PLAIN only.
  asio::awaitable<bool> authenticate(std::string arg) {
    auto sp = arg.find(' ');
    std::optional<std::string_view> initial;
    if (sp != std::string::npos) initial = std::string_view(arg).substr(sp + 1);
    proto::sasl::Exchange sasl;
    auto step = sasl.start(std::string_view(arg).substr(0, sp), initial, proto::sasl::kPlain);
    while (step.kind == proto::sasl::Step::Kind::Challenge) {
      bool sent = co_await send("+ " + step.challenge + "\r\n");
      if (!sent) co_return false;
      std::string response;
      auto st = co_await conn_->read_line(response, timeout());
      if (st == Connection::ReadStatus::Timeout) co_await timed_out();
      if (st != Connection::ReadStatus::Line) co_return false;
      step = sasl.respond(response);
    }
    if (step.kind == proto::sasl::Step::Kind::Done) {
      co_return co_await login(step.credentials.authcid, step.credentials.password);
    }
    switch (step.failure) {
      case proto::sasl::Failure::UnknownMechanism:
        co_return co_await err("Unsupported mechanism");
      case proto::sasl::Failure::Cancelled:
        co_return co_await err("Authentication cancelled");
      default:
        co_return co_await err("[AUTH] Invalid credentials");
    }
  }

  asio::awaitable<bool> login(const std::string& login, const std::string& password) {
    auto outcome = co_await check_login(svc_, "pop3", *conn_, login, password);
    if (outcome.verdict == LoginVerdict::Temp)
      co_return co_await err("[SYS/TEMP] Authentication unavailable");
    if (outcome.verdict != LoginVerdict::Ok) {
      spdlog::info("pop3 auth-failed session={} ip={} login={}", conn_->id(), conn_->peer_ip(),
                   log::quote(login));
      bool last = outcome.banned || ++failures_ >= cfg_->limits.max_auth_failures_per_connection;
      co_await err("[AUTH] Authentication failed");
      co_return !last;
    }
    std::string key = outcome.account + "|" + conn_->peer_ip();
    if (!svc_.acquire_user_ip(key, cfg_->imap.max_connections_per_user_ip))
      co_return co_await err("[IN-USE] Too many connections from your address for this account");
    user_ip_key_ = key;
    auto* reg = svc_.mailboxes.get();
    std::string account = outcome.account;
    struct Opened {
      std::shared_ptr<store::UserMailbox> mb;
      store::FolderStatus inbox;
      std::vector<store::MessageMeta> msgs;
    };
    auto r = co_await run_blocking(*svc_.workers, [&]() -> Result<Opened> {
      auto mb = reg->open(account);
      if (!mb) return mb.error();
      (void)(*mb)->sync_inbox();
      auto st = (*mb)->status("INBOX");
      if (!st) return st.error();
      auto msgs = (*mb)->messages(st->id);
      if (!msgs) return msgs.error();
      return Opened{*mb, *st, std::move(*msgs)};
    });
    if (!r) co_return co_await err("[SYS/TEMP] Mailbox unavailable");
    mailbox_ = r->mb;
    folder_ = r->inbox.id;
    uidvalidity_ = r->inbox.uidvalidity;
    msgs_ = std::move(r->msgs);
    conn_->mark_authenticated();
    spdlog::info("pop3 login session={} ip={} user={} messages={}", conn_->id(), conn_->peer_ip(), account,
                 msgs_.size());
    co_return co_await ok("Logged in");
  }

  asio::awaitable<bool> quit() {
    if (mailbox_ && (!deleted_.empty() || !retrieved_.empty())) {
      std::vector<uint32_t> del, seen(retrieved_.begin(), retrieved_.end());
      for (auto i : deleted_) del.push_back(msgs_[i].uid);
      auto* mb = mailbox_.get();
      int64_t folder = folder_;
      auto r = co_await run_blocking(*svc_.workers, [&]() -> Result<std::vector<uint32_t>> {
        if (!seen.empty()) {
          auto s = mb->store_flags(folder, seen, store::UserMailbox::FlagMode::Add, store::kSeen, {},
                                   std::nullopt);
          if (!s) return s.error();
        }
        if (del.empty()) return std::vector<uint32_t>{};
        auto s = mb->store_flags(folder, del, store::UserMailbox::FlagMode::Add, store::kDeleted, {},
                                 std::nullopt);
        if (!s) return s.error();
        return mb->expunge(folder, &del);
      });
      if (!r) {
        co_await err("[SYS/TEMP] Some deleted messages not removed");
        co_return false;
      }
    }
    co_await ok("Logging out");
    co_return false;
  }

  std::shared_ptr<Connection> conn_;
  Services& svc_;
  std::shared_ptr<const config::Config> cfg_;
  const config::Listener& listener_;
  std::string user_, user_ip_key_;
  uint32_t failures_ = 0;
  std::shared_ptr<store::UserMailbox> mailbox_;
  int64_t folder_ = 0;
  uint32_t uidvalidity_ = 0;
  std::vector<store::MessageMeta> msgs_;
  std::set<std::size_t> deleted_;
  std::set<uint32_t> retrieved_;
};

}  // namespace

asio::awaitable<void> run_session(std::shared_ptr<Connection> conn, Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener) {
  Pop3Session session(std::move(conn), services, std::move(cfg), listener);
  co_await session.run();
}

}  // namespace mailfort::pop3
