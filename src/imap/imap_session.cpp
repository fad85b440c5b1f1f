#include "imap/imap_session_impl.h"

#include "policy/client_key.h"

// The IMAP session's read loop and dispatch: a command is assembled
// (proto/imap CommandAssembler, with the I/O and the memory budget here),
// parsed, checked against the command table's verdict for the current
// state and handed to its handler (one file per command or family:
// imap_auth.cpp, imap_folders.cpp, imap_append.cpp, imap_fetch.cpp,
// imap_search.cpp, imap_messages.cpp, imap_idle.cpp).
namespace mailfort::imap {

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
  limits.max_messages = cfg_->imap.max_append_messages;
  limits.max_total = std::max(cfg_->imap.max_append_size, cfg_->imap.max_literal_size);
  CommandAssembler assembler(limits);
  uint64_t message_bytes = 0;  // of every message literal so far (MULTIAPPEND)
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
        Connection::ReadStatus st;
        if (pending_line_) {  // read by notify_wait()
          st = pending_line_->first;
          line = std::move(pending_line_->second);
          pending_line_.reset();
        } else {
          st = co_await conn_->read_line(line, idle_timeout());
        }
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
        if (message && !append_budget_) {
          uint64_t smtp_total = cfg_->smtp.max_inflight_message_bytes;
          MessageMemory::ImapCaps caps{std::min(cfg_->imap.max_inflight_append_bytes, smtp_total / 2),
                                       cfg_->imap.max_inflight_append_bytes_per_user,
                                       cfg_->imap.max_inflight_append_bytes_per_ip};
          append_budget_ = std::make_unique<MessageMemory::Reservation>(
              svc_.message_memory, smtp_total, caps, account().user,
              policy::client_key(conn_->peer_ip(), cfg_->limits.ipv6_prefix_length));
        }
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
            if (message) message_bytes += chunk.size();
            if (message && !append_budget_->cover(message_bytes)) {
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
    if (notify_ && !co_await notify_wait()) break;
    auto in = co_await read_command();
    if (in.closed) break;
    if (in.error) continue;
    auto parsed = parse_command(in.command.text);
    if (parsed.command && !attach_cut_literals(*parsed.command, in.command.messages))
      parsed = {std::nullopt, {parsed.command->tag, "syntax error in APPEND arguments"}};
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
  StateVerdict verdict = command_spec(c.kind).in(session_state());
  if (verdict != StateVerdict::Run)
    co_return co_await tagged(c.tag, "BAD", std::string(verdict_text(verdict)));
  switch (c.kind) {
    case CommandKind::Capability:
      co_return co_await cmd_capability(c);
    case CommandKind::Noop:
    case CommandKind::Check:
      co_return co_await cmd_noop(c);
    case CommandKind::Logout:
      co_return co_await cmd_logout(c);
    case CommandKind::Id:
      co_return co_await cmd_id(c);
    case CommandKind::Starttls:
      co_return co_await cmd_starttls(c);
    case CommandKind::Login:
      co_return co_await cmd_login(c);
    case CommandKind::Authenticate:
      co_return co_await cmd_authenticate(c);
    case CommandKind::Enable:
      co_return co_await cmd_enable(c);
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
      co_return co_await cmd_namespace(c);
    case CommandKind::GetQuota:
    case CommandKind::GetQuotaRoot:
      co_return co_await cmd_quota(c);
    case CommandKind::Idle:
      co_return co_await cmd_idle(c);
    case CommandKind::Notify:
      co_return co_await cmd_notify(c);
    case CommandKind::Compress:
      co_return co_await cmd_compress(c);
    case CommandKind::Unauthenticate:
      co_return co_await cmd_unauthenticate(c);
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
    case CommandKind::Sort:
      co_return co_await cmd_sort(c, std::get<Selected>(state_));
    case CommandKind::Thread:
      co_return co_await cmd_thread(c, std::get<Selected>(state_));
    case CommandKind::CancelUpdate:
      co_return co_await cmd_cancelupdate(c, std::get<Selected>(state_));
    case CommandKind::Close:
    case CommandKind::Unselect:
      co_return co_await cmd_close(c, std::get<Selected>(state_), c.kind == CommandKind::Close);
    case CommandKind::GenUrlAuth:
      co_return co_await cmd_genurlauth(c);
    case CommandKind::ResetKey:
      co_return co_await cmd_resetkey(c);
    case CommandKind::UrlFetch:
      co_return co_await cmd_urlfetch(c);
  }
  co_return co_await tagged(c.tag, "BAD", "Unknown command");
}

asio::awaitable<void> run_session(std::shared_ptr<Connection> conn, Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener) {
  ImapSession session(std::move(conn), services, std::move(cfg), listener);
  co_await session.run();
}

}  // namespace mailfort::imap
