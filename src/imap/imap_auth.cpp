#include "imap/imap_session_impl.h"

// Session commands: CAPABILITY, NOOP/CHECK, ID, ENABLE, LOGOUT, and logging
// in: STARTTLS, LOGIN, AUTHENTICATE (PLAIN; LOGIN and AUTHENTICATE only over
// TLS), the per account+address session cap, failures to the ban service.
namespace mailfort::imap {

std::string ImapSession::capabilities() const {
  std::string caps = "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE";
  if (!logged_in()) {
    if (!tls_ok()) {
      caps += " STARTTLS LOGINDISABLED";
    } else {
      caps += " AUTH=PLAIN";
    }
    return caps;
  }
  caps +=
      " NAMESPACE UIDPLUS MOVE SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS QUOTA "
      "QUOTA=RES-STORAGE"
      " UNSELECT CHILDREN ESEARCH CONDSTORE QRESYNC NOTIFY BINARY STATUS=SIZE UTF8=ACCEPT"
      " SORT SORT=DISPLAY THREAD=REFERENCES THREAD=ORDEREDSUBJECT ESORT CONTEXT=SEARCH CONTEXT=SORT"
      " APPENDLIMIT=" +
      std::to_string(cfg_->imap.max_literal_size);
  if (cfg_->imap.compress) caps += " COMPRESS=DEFLATE";  // imap_ext.cpp
  caps += " UNAUTHENTICATE OBJECTID SAVEDATE PREVIEW";   // imap_ext.cpp, imap_objectid.cpp
  caps += " MULTIAPPEND CATENATE URLAUTH URLAUTH=BINARY";  // imap_append.cpp, imap_urlauth.cpp
  return caps;
}

asio::awaitable<bool> ImapSession::cmd_capability(Command& c) {
  untagged("CAPABILITY " + capabilities());
  co_return co_await tagged(c.tag, "OK", completed(c));
}

// NOOP and CHECK: a chance to report other sessions' changes.
asio::awaitable<bool> ImapSession::cmd_noop(Command& c) {
  if (auto* s = selected()) co_await updates(*s, true);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_logout(Command& c) {
  untagged("BYE Logging out");
  co_await tagged(c.tag, "OK", completed(c));
  co_return false;
}

asio::awaitable<bool> ImapSession::cmd_id(Command& c) {
  untagged("ID (\"name\" \"Mailfort\")");
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_enable(Command& c) {
  std::string enabled;
  for (const auto& cap : c.args) {
    if (cap == "CONDSTORE" && !condstore_) {
      enable_condstore();
      enabled += " CONDSTORE";
    } else if (cap == "UTF8=ACCEPT" && !utf8_) {
      utf8_ = true;
      enabled += " UTF8=ACCEPT";
    } else if (cap == "QRESYNC" && !qresync_) {  // implies CONDSTORE (RFC 7162 3.2.3)
      enable_condstore();
      qresync_ = true;
      enabled += " QRESYNC";
    } else if (cap == "IMAP4REV2" && !rev2_) {
      rev2_ = true;
      utf8_ = true;
      enabled += " IMAP4rev2";
    }
  }
  untagged("ENABLED" + enabled);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_starttls(Command& c) {
  if (listener_.tls != config::TlsMode::starttls || tls_ok() || !svc_.tls)
    co_return co_await tagged(c.tag, "BAD", "STARTTLS not available");
  if (!co_await tagged(c.tag, "OK", "Begin TLS negotiation now")) co_return false;
  std::size_t discarded = 0;
  if (!co_await conn_->start_tls(svc_.tls->current(), seconds(cfg_->limits.tls_handshake_timeout_seconds),
                                 discarded)) {
    spdlog::info("imap tls-failed session={} ip={}", conn_->id(), conn_->peer_ip());
    co_return false;
  }
  if (discarded)
    spdlog::warn("imap starttls-injection session={} ip={} discarded_bytes={}", conn_->id(), conn_->peer_ip(),
                 discarded);
  co_return true;
}

asio::awaitable<bool> ImapSession::cmd_login(Command& c) {
  if (!tls_ok())
    co_return co_await tagged(c.tag, "NO", "[PRIVACYREQUIRED] LOGIN requires TLS (use STARTTLS)");
  co_return co_await login_done(c.tag, c.args[0], c.args[1]);
}

asio::awaitable<bool> ImapSession::cmd_authenticate(Command& c) {
  using proto::sasl::Failure;
  using Kind = proto::sasl::Step::Kind;
  if (!tls_ok()) co_return co_await tagged(c.tag, "NO", "[PRIVACYREQUIRED] Authentication requires TLS");
  proto::sasl::Exchange sasl;
  std::optional<std::string_view> initial;
  if (c.args.size() > 1) initial = c.args[1];  // SASL-IR (RFC 4959)
  auto step = sasl.start(c.args[0], initial, proto::sasl::kPlain);
  while (step.kind == Kind::Challenge) {
    out_ += "+ " + step.challenge + "\r\n";
    if (!co_await flush()) co_return false;
    std::string response;
    auto st = co_await conn_->read_line(response, idle_timeout());
    if (st == Connection::ReadStatus::Timeout) {
      untagged("BYE Autologout; authentication took too long");
      co_await flush();
    }
    if (st != Connection::ReadStatus::Line) co_return false;
    step = sasl.respond(response);
  }
  if (step.kind == Kind::Failed) {
    switch (step.failure) {
      case Failure::UnknownMechanism:
        co_return co_await tagged(c.tag, "NO", "Unsupported authentication mechanism");
      case Failure::Cancelled:
        co_return co_await tagged(c.tag, "BAD", "Authentication cancelled");
      case Failure::AuthzidNotPermitted:
        co_return co_await tagged(c.tag, "NO", "[AUTHORIZATIONFAILED] Authorization identity not allowed");
      case Failure::BadBase64:
      case Failure::Malformed:
        break;
    }
    co_return co_await tagged(c.tag, "BAD", "Invalid SASL PLAIN response");
  }
  co_return co_await login_done(c.tag, step.credentials.authcid, step.credentials.password);
}

asio::awaitable<bool> ImapSession::login_done(const std::string& tag, const std::string& login,
                                              const std::string& password) {
  auto outcome = co_await check_login(svc_, "imap", *conn_, login, password);
  if (outcome.verdict == LoginVerdict::Temp)
    co_return co_await tagged(tag, "NO", "[UNAVAILABLE] Authentication temporarily unavailable");
  if (outcome.verdict != LoginVerdict::Ok) {
    spdlog::info("imap auth-failed session={} ip={} login={}", conn_->id(), conn_->peer_ip(),
                 log::quote(login));
    if (outcome.banned ||
        ++std::get<NotAuthenticated>(state_).auth_failures >= cfg_->limits.max_auth_failures_per_connection) {
      untagged("BYE Too many authentication failures");
      co_await tagged(tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
      co_return false;
    }
    co_return co_await tagged(tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
  }
  std::string key = outcome.account + "|" + conn_->peer_ip();
  if (!svc_.acquire_user_ip(key, cfg_->imap.max_connections_per_user_ip)) {
    spdlog::info("imap user-ip-limit session={} ip={} user={}", conn_->id(), conn_->peer_ip(),
                 outcome.account);
    co_return co_await tagged(tag, "NO", "[LIMIT] Too many connections from your address for this account");
  }
  auto* dir = svc_.directory.get();
  auto* reg = svc_.mailboxes.get();
  std::string account = outcome.account;
  auto opened = co_await blocking([&]() -> Result<std::shared_ptr<store::UserMailbox>> {
    auto mb = reg->open(account);
    if (!mb) return mb;
    auto acc = dir->find_account(account);
    if (acc && acc.value()) (*mb)->set_quota(acc.value()->quota_mb * 1024 * 1024);
    return mb;
  });
  if (!opened) {
    svc_.release_user_ip(key);  // this login never happened: a later one takes its own slot
    spdlog::error("imap mailbox-open-failed user={} error={}", account, log::quote(opened.error().message));
    co_return co_await tagged(tag, "NO", "[UNAVAILABLE] Mailbox temporarily unavailable");
  }
  user_ip_key_ = key;  // released when the session ends
  std::weak_ptr<Wake> weak = wake_;
  uint64_t watch_token = (*opened)->watch([weak] {
    if (auto w = weak.lock()) {
      w->dirty = true;
      asio::post(w->executor, [weak] {
        if (auto w2 = weak.lock()) w2->timer.cancel();
      });
    }
  });
  state_ = Authenticated{std::make_shared<Account>(account, std::move(*opened), watch_token)};
  conn_->mark_authenticated();
  spdlog::info("imap login session={} ip={} user={} auth={}", conn_->id(), conn_->peer_ip(), account,
               outcome.cached ? "cache" : "verified");
  co_return co_await tagged(tag, "OK", "[CAPABILITY " + capabilities() + "] Logged in");
}

}  // namespace mailfort::imap
