#include "imap/imap_session_impl.h"

#include "policy/client_key.h"

namespace mailfort::server::imap_detail {

using namespace proto::imap;
using std::chrono::seconds;
using store::MessageMeta;

const char* kSystemFlags[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};

std::string flags_text(uint32_t flags, const std::vector<std::string>& keywords) {
  std::string out = "(";
  for (int i = 0; i < 5; ++i) {
    if (flags & (1u << i)) {
      if (out.size() > 1) out += ' ';
      out += kSystemFlags[i];
    }
  }
  for (const auto& k : keywords) {
    if (out.size() > 1) out += ' ';
    out += k;
  }
  return out + ")";
}

// Splits client flags into system bits and keywords; false on \Recent or an
// unknown system flag (RFC 9051: BAD).
bool split_flags(const std::vector<std::string>& in, uint32_t& bits, std::vector<std::string>& keywords) {
  bits = 0;
  for (const auto& f : in) {
    if (!f.empty() && f[0] == '\\') {
      bool found = false;
      for (int i = 0; i < 5; ++i) {
        if (strcasecmp(f.c_str(), kSystemFlags[i]) == 0) {
          bits |= 1u << i;
          found = true;
        }
      }
      if (!found) return false;
    } else if (std::find(keywords.begin(), keywords.end(), f) == keywords.end()) {
      keywords.push_back(f);
    }
  }
  return true;
}

std::string error_code(const Error& e) {
  switch (e.code) {
    case Errc::NotFound:
      return "[NONEXISTENT] ";
    case Errc::Exists:
      return "[ALREADYEXISTS] ";
    case Errc::OverQuota:
      return "[OVERQUOTA] ";
    case Errc::Temp:
      return "[UNAVAILABLE] ";
    default:
      return "[CANNOT] ";
  }
}

std::string seq_set_text(const std::vector<uint32_t>& sorted) {
  std::string out;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(sorted[i]);
    if (j > i) out += ':' + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

bool valid_seqs(const SequenceSet& set, std::size_t n) {
  for (auto r : set.ranges) {
    if ((r.lo != SequenceSet::kStar && r.lo > n) || (r.hi != SequenceSet::kStar && r.hi > n)) return false;
  }
  return n > 0 || set.ranges.empty();
}

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
      " UNSELECT CHILDREN ESEARCH CONDSTORE BINARY STATUS=SIZE UTF8=ACCEPT APPENDLIMIT=" +
      std::to_string(cfg_->imap.max_literal_size);
  return caps;
}

// Reads one command with its literals; the CommandAssembler decides what to
// read next and enforces the limits (before login 64 KiB for the whole
// command; after it max_command_size for everything except at most one
// message literal of APPEND, max_literal_size). This adds the I/O: the
// continuations and refusals it answers with, the deadlines, and the
// memory budget: the message literal's bytes are reserved against the
// in-flight budget as they arrive, never as announced, and the
// reservation (append_budget_) is held until the command completes.
asio::awaitable<ImapSession::Incoming> ImapSession::read_command() {
  Incoming in;
  const bool authed = logged_in();
  AssemblerLimits limits;
  limits.max_command =
      authed ? cfg_->imap.max_command_size : std::min<uint64_t>(cfg_->imap.max_command_size, 65536);
  limits.max_message = cfg_->imap.max_literal_size;
  limits.message_literals = authed;
  CommandAssembler assembler(limits);
  CommandAssembler::Step step;
  std::string line, chunk;
  while (true) {
    switch (step.next) {
      case CommandAssembler::Next::Complete:
        in.command = assembler.take();
        co_return std::move(in);
      case CommandAssembler::Next::Refused:
        out_ += step.reply;
        if (!co_await flush() || step.close)
          in.closed = true;
        else
          in.error = true;
        co_return std::move(in);
      case CommandAssembler::Next::Line: {
        auto st = co_await conn_->read_line(line, idle_timeout());
        switch (st) {
          case Connection::ReadStatus::Line:
            step = assembler.line(line);
            break;
          case Connection::ReadStatus::Closed:
            in.closed = true;
            co_return std::move(in);
          case Connection::ReadStatus::Timeout:
            untagged(conn_->login_expired() ? "BYE Login time limit exceeded"
                                            : "BYE Autologout; idle for too long");
            co_await flush();
            in.closed = true;
            co_return std::move(in);
          case Connection::ReadStatus::TooLong:
            step = assembler.bad_line(CommandAssembler::LineProblem::TooLong, line);
            break;
          default:  // a bare CR or LF
            step = assembler.bad_line(CommandAssembler::LineProblem::NoCrlf, line);
            break;
        }
        break;
      }
      case CommandAssembler::Next::Literal: {
        if (!step.reply.empty()) {  // the continuation of a synchronising literal
          out_ += step.reply;
          if (!co_await flush()) {
            in.closed = true;
            co_return std::move(in);
          }
        }
        const bool message = step.message;
        if (message) {
          uint64_t smtp_total = cfg_->smtp.max_inflight_message_bytes;
          MessageMemory::ImapCaps caps{std::min(cfg_->imap.max_inflight_append_bytes, smtp_total / 2),
                                       cfg_->imap.max_inflight_append_bytes_per_user,
                                       cfg_->imap.max_inflight_append_bytes_per_ip};
          append_budget_ = std::make_unique<MessageMemory::Reservation>(
              svc_.message_memory, smtp_total, caps, account().user,
              policy::client_key(conn_->peer_ip(), cfg_->limits.ipv6_prefix_length));
        }
        uint64_t received = 0;
        auto transfer = literal_transfer();
        do {
          chunk.clear();
          if (assembler.literal_left() > 0) {
            auto rs = co_await conn_->read_raw(
                chunk, static_cast<std::size_t>(std::min<uint64_t>(assembler.literal_left(), 65536)),
                transfer);
            if (rs != Connection::ReadStatus::Line) {
              if (rs == Connection::ReadStatus::Timeout) {
                untagged("BYE Literal data too slow");
                co_await flush();
              }
              in.closed = true;
              co_return std::move(in);
            }
            received += chunk.size();
            if (message && !append_budget_->cover(received)) {
              spdlog::warn("imap append-memory-exhausted session={} ip={} user={}", conn_->id(),
                           conn_->peer_ip(), account().user);
              untagged("BYE [UNAVAILABLE] Server busy; try again later");
              co_await flush();
              in.closed = true;
              co_return std::move(in);
            }
          }
          step = assembler.literal(chunk);
        } while (step.next == CommandAssembler::Next::Literal);
        break;
      }
    }
  }
}

asio::awaitable<void> ImapSession::run() {
  if (listener_.tls == config::TlsMode::implicit) {
    std::size_t discarded = 0;
    if (!svc_.tls ||
        !co_await conn_->start_tls(svc_.tls->current(), seconds(cfg_->limits.tls_handshake_timeout_seconds),
                                   discarded)) {
      spdlog::info("imap tls-failed session={} ip={}", conn_->id(), conn_->peer_ip());
      co_return;
    }
  }
  // Log in within a bounded time; the read that passes it ends with BYE.
  conn_->limit_unauthenticated(seconds(cfg_->limits.unauthenticated_session_seconds));
  auto ex = co_await asio::this_coro::executor;
  wake_ = std::make_shared<Wake>(ex);
  untagged("OK [CAPABILITY " + capabilities() + "] " + cfg_->hostname + " Mailfort IMAP ready");
  if (!co_await flush()) co_return;
  while (true) {
    append_budget_.reset();  // the previous command is complete
    auto in = co_await read_command();
    if (in.closed) break;
    if (in.error) continue;
    auto parsed = parse_command(in.command.text);
    if (parsed.command && in.command.has_message) parsed.command->literal = std::move(in.command.message);
    if (!parsed.command) {
      if (parsed.error.tag.empty()) {
        untagged("BAD " + parsed.error.message);
        if (!co_await flush()) break;
      } else {
        std::string msg = parsed.error.message;
        if (msg == "unknown command") msg = "Unknown command";
        if (!co_await tagged(parsed.error.tag, "BAD", msg)) break;
      }
      continue;
    }
    if (!co_await dispatch(*parsed.command)) break;
  }
  co_await flush();
  co_await conn_->shutdown();
}

std::string ImapSession::completed(const Command& c) {
  return std::string(c.uid ? "UID " : "") + std::string(c.name()) + " completed";
}

// The table says in which states a command runs (and what it gets in the
// others); the kind says which handler runs it.
asio::awaitable<bool> ImapSession::dispatch(Command& c) {
  const std::string& tag = c.tag;
  StateVerdict verdict = command_spec(c.kind).in(session_state());
  if (verdict != StateVerdict::Run) co_return co_await tagged(tag, "BAD", std::string(verdict_text(verdict)));
  switch (c.kind) {
    case CommandKind::Capability:
      untagged("CAPABILITY " + capabilities());
      co_return co_await tagged(tag, "OK", completed(c));
    case CommandKind::Noop:
    case CommandKind::Check:
      if (auto* s = selected()) co_await updates(*s, true);
      co_return co_await tagged(tag, "OK", completed(c));
    case CommandKind::Logout:
      untagged("BYE Logging out");
      co_await tagged(tag, "OK", completed(c));
      co_return false;
    case CommandKind::Id:
      untagged("ID (\"name\" \"Mailfort\")");
      co_return co_await tagged(tag, "OK", completed(c));
    case CommandKind::Starttls:
      co_return co_await cmd_starttls(c);
    case CommandKind::Login:
      co_return co_await cmd_login(c);
    case CommandKind::Authenticate:
      co_return co_await cmd_authenticate(c);
    case CommandKind::Enable: {
      std::string enabled;
      for (const auto& cap : c.args) {
        if (cap == "CONDSTORE" && !condstore_) {
          condstore_ = true;
          enabled += " CONDSTORE";
        } else if (cap == "UTF8=ACCEPT" && !utf8_) {
          utf8_ = true;
          enabled += " UTF8=ACCEPT";
        } else if (cap == "IMAP4REV2" && !rev2_) {
          rev2_ = true;
          utf8_ = true;
          enabled += " IMAP4rev2";
        }
      }
      untagged("ENABLED" + enabled);
      co_return co_await tagged(tag, "OK", completed(c));
    }
    case CommandKind::Select:
    case CommandKind::Examine:
      co_return co_await cmd_select(c);
    case CommandKind::Create:
      co_return co_await cmd_create(c);
    case CommandKind::Delete:
      co_return co_await cmd_delete(c);
    case CommandKind::Rename:
      co_return co_await cmd_rename(c);
    case CommandKind::Subscribe:
    case CommandKind::Unsubscribe:
      co_return co_await cmd_subscribe(c, c.kind == CommandKind::Subscribe);
    case CommandKind::List:
    case CommandKind::Lsub:
      co_return co_await cmd_list(c);
    case CommandKind::Status:
      co_return co_await cmd_status(c);
    case CommandKind::Append:
      co_return co_await cmd_append(c);
    case CommandKind::Namespace:
      untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
      co_return co_await tagged(tag, "OK", completed(c));
    case CommandKind::GetQuota:
    case CommandKind::GetQuotaRoot:
      co_return co_await cmd_quota(c);
    case CommandKind::Idle:
      co_return co_await cmd_idle(c);
    case CommandKind::Fetch:
      co_return co_await cmd_fetch(c, std::get<Selected>(state_));
    case CommandKind::Store:
      co_return co_await cmd_store(c, std::get<Selected>(state_));
    case CommandKind::Copy:
    case CommandKind::Move:
      co_return co_await cmd_copy(c, std::get<Selected>(state_), c.kind == CommandKind::Move);
    case CommandKind::Expunge:
      co_return co_await cmd_expunge(c, std::get<Selected>(state_));
    case CommandKind::Search:
      co_return co_await cmd_search(c, std::get<Selected>(state_));
    case CommandKind::Close:
    case CommandKind::Unselect:
      co_return co_await cmd_close(c, std::get<Selected>(state_), c.kind == CommandKind::Close);
  }
  co_return co_await tagged(tag, "BAD", "Unknown command");
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
  if (!tls_ok()) co_return co_await tagged(c.tag, "NO", "[PRIVACYREQUIRED] Authentication requires TLS");
  if (c.args[0] != "PLAIN") co_return co_await tagged(c.tag, "NO", "Unsupported authentication mechanism");
  std::string response;
  if (c.args.size() > 1) {
    response = c.args[1];
  } else {
    out_ += "+ \r\n";
    if (!co_await flush()) co_return false;
    auto st = co_await conn_->read_line(response, idle_timeout());
    if (st == Connection::ReadStatus::Timeout) {
      untagged("BYE Autologout; authentication took too long");
      co_await flush();
    }
    if (st != Connection::ReadStatus::Line) co_return false;
  }
  if (response == "*") co_return co_await tagged(c.tag, "BAD", "Authentication cancelled");
  std::optional<proto::sasl::PlainCredentials> creds;
  if (auto decoded = proto::sasl::base64_decode(response == "=" ? "" : response))
    creds = proto::sasl::parse_plain(*decoded);
  if (!creds) co_return co_await tagged(c.tag, "BAD", "Invalid SASL PLAIN response");
  if (!creds->authzid.empty() && creds->authzid != creds->authcid)
    co_return co_await tagged(c.tag, "NO", "[AUTHORIZATIONFAILED] Authorization identity not allowed");
  co_return co_await login_done(c.tag, creds->authcid, creds->password);
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
  user_ip_key_ = key;
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
    spdlog::error("imap mailbox-open-failed user={} error={}", account, log::quote(opened.error().message));
    co_return co_await tagged(tag, "NO", "[UNAVAILABLE] Mailbox temporarily unavailable");
  }
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

}  // namespace mailfort::server::imap_detail

namespace mailfort::server {

asio::awaitable<void> run_imap_session(std::shared_ptr<Connection> conn, Services& services,
                                       std::shared_ptr<const config::Config> cfg,
                                       const config::Listener& listener) {
  imap_detail::ImapSession session(std::move(conn), services, std::move(cfg), listener);
  co_await session.run();
}

}  // namespace mailfort::server
