#include "smtp/smtp_session.h"

#include <spdlog/spdlog.h>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <optional>
#include <string>
#include <variant>

#include "base/cidr.h"
#include "base/log.h"
#include "base/text.h"
#include "proto/sasl/exchange.h"
#include "proto/smtp/bdat.h"
#include "proto/smtp/command.h"
#include "proto/smtp/data_reader.h"
#include "proto/smtp/envelope.h"
#include "proto/smtp/path.h"
#include "proto/smtp/reply.h"
#include "server/auth.h"
#include "server/connection.h"
#include "server/services.h"
#include "smtp/smtp_policy.h"
#include "tls/context.h"

namespace mailfort::smtp {
namespace {

using proto::smtp::ChunkReceiver;
using proto::smtp::format_reply;
using proto::smtp::Verb;
using server::check_login;
using server::Connection;
using server::LoginVerdict;
using server::MessageMemory;
using server::Services;
using std::chrono::seconds;

// Per-command gate flags (Postfix smtpd_cmd_table style), checked by one gate
// before any handler runs.
enum Flags : unsigned {
  kNone = 0,
  kBeforeTls = 1u << 0,       // allowed on a TLS-required listener before STARTTLS
  kLastInPipeline = 1u << 1,  // RFC 2920: nothing may follow it in the same packet
};

struct CommandSpec {
  Verb verb;
  unsigned flags;
};

constexpr std::array kCommands{
    CommandSpec{Verb::Ehlo, kBeforeTls | kLastInPipeline},
    CommandSpec{Verb::Helo, kBeforeTls | kLastInPipeline},
    CommandSpec{Verb::Starttls, kBeforeTls | kLastInPipeline},
    CommandSpec{Verb::Noop, kBeforeTls},
    CommandSpec{Verb::Rset, kBeforeTls},
    CommandSpec{Verb::Quit, kBeforeTls},
    CommandSpec{Verb::Help, kBeforeTls},
    CommandSpec{Verb::Auth, kNone},
    CommandSpec{Verb::Mail, kNone},
    CommandSpec{Verb::Rcpt, kNone},
    CommandSpec{Verb::Data, kLastInPipeline},
    CommandSpec{Verb::Bdat, kNone},
    CommandSpec{Verb::Vrfy, kNone},
    CommandSpec{Verb::Expn, kNone},
};

const CommandSpec* find_spec(Verb v) {
  for (const auto& s : kCommands)
    if (s.verb == v) return &s;
  return nullptr;
}

// Replies that mean the client broke the protocol: unknown command, syntax
// error, command not implemented, bad sequence, parameter not implemented.
// They count toward smtp.max_bad_commands (Postfix counts the same errors
// toward smtpd_hard_error_limit); policy refusals (55x, 45x) do not.
bool is_protocol_error(int code) {
  return (code >= 500 && code <= 504) || code == 555;
}

constexpr std::size_t kRawReadSize = 65536;

// A message being received is copied once more when its trace header is
// prepended at the end of data; the budget covers that copy (and some room
// for the header) too, so the process stays under
// [smtp] max_inflight_message_bytes.
constexpr uint64_t kHeaderRoom = 64 * 1024;

// Grows `message` for `incoming` more bytes, the reservation covering its
// capacity (what is really allocated), not only its size. False when the
// budget is exhausted: nothing changes then.
bool grow_within(std::string& message, std::size_t incoming, MessageMemory::Reservation& budget) {
  std::size_t need = message.size() + incoming;
  if (need <= message.capacity()) return true;
  std::size_t old_cap = message.capacity();
  std::size_t cap = std::max<std::size_t>(need, old_cap * 2);
  // While the bytes move, the old and the new buffer both exist.
  if (!budget.cover(old_cap + cap)) {
    cap = need;
    if (!budget.cover(old_cap + cap)) return false;
  }
  message.reserve(cap);
  budget.shrink_to(message.capacity());
  return true;
}

// Drops a refused message's bytes and its share of the budget at once, so
// the concurrent messages that still fit can use it while this one drains.
void give_back(std::string& message, MessageMemory::Reservation& budget) {
  std::string().swap(message);
  budget.release();
}

// The reply to an AUTH exchange that ended without credentials.
SmtpReply sasl_failure_reply(proto::sasl::Failure f, proto::sasl::Mechanism m) {
  using proto::sasl::Failure;
  switch (f) {
    case Failure::UnknownMechanism:
      return {504, "5.5.4", "Error: unsupported authentication mechanism"};
    case Failure::Cancelled:
      return {501, "5.0.0", "Authentication aborted"};
    case Failure::BadBase64:
      break;
    case Failure::Malformed:
      // An empty LOGIN name or password has always had the base64 reply.
      if (m == proto::sasl::Mechanism::Plain) return {501, "5.5.2", "Error: malformed PLAIN response"};
      break;
    case Failure::AuthzidNotPermitted:
      return {535, "5.7.8", "Error: authorization identity not permitted"};
  }
  return {501, "5.5.2", "Error: invalid base64 data"};
}

class SmtpSession {
 public:
  SmtpSession(std::shared_ptr<Connection> conn, Services& services, std::shared_ptr<const config::Config> cfg,
              const config::Listener& listener)
      : conn_(std::move(conn)),
        services_(services),
        cfg_(std::move(cfg)),
        listener_(listener),
        policy_(make_smtp_policy(services, cfg_, listener)),
        chunks_(cfg_->smtp.max_message_size) {
    client_.session = conn_->id();
    client_.ip = conn_->peer_ip();
    client_.listener = listener.name;
  }

  asio::awaitable<void> run();

 private:
  bool is_submission() const { return listener_.protocol == config::Protocol::submission; }
  bool tls_required() const { return is_submission() && listener_.tls == config::TlsMode::starttls; }
  bool starttls_offered() const {
    return !conn_->is_tls() && listener_.tls == config::TlsMode::starttls && services_.tls != nullptr;
  }
  bool auth_offered() const { return conn_->is_tls() && (is_submission() || cfg_->smtp.auth_on_mx); }
  const std::string& host() const { return cfg_->hostname; }
  seconds idle() const { return seconds(cfg_->limits.idle_timeout_seconds); }
  // DATA and BDAT chunks: a minimum rate, not a deadline per read.
  Connection::Transfer transfer() const {
    return Connection::begin_transfer(idle(), cfg_->limits.min_data_rate_bytes_per_second);
  }
  // Submission clients must log in, and get a bounded time to do so. MX
  // clients never log in and trusted networks relay without AUTH: they are
  // bounded by the per-line deadline and the data rate.
  bool must_log_in() const {
    if (!is_submission()) return false;
    for (const auto& n : cfg_->smtp.trusted_networks)
      if (auto c = Cidr::parse(n); c && c->contains(conn_->peer_ip())) return false;
    return true;
  }
  asio::awaitable<void> timeout_reply() {
    bool login = conn_->login_expired();
    spdlog::info("smtp timeout session={} ip={} reason={}", conn_->id(), conn_->peer_ip(),
                 login ? "unauthenticated-too-long" : "idle");
    co_await reply(
        421, "4.4.2",
        host() + (login ? " Error: timeout exceeded before authentication" : " Error: timeout exceeded"));
  }

  asio::awaitable<bool> reply(int code, std::string_view enhanced, std::string_view text) {
    if (is_protocol_error(code)) ++bad_commands_;
    co_return co_await conn_->write(format_reply(code, enhanced, text));
  }
  asio::awaitable<bool> reply(const SmtpReply& r) { co_return co_await reply(r.code, r.enhanced, r.text); }

  // Each handler returns false when the session must end.
  asio::awaitable<bool> handle(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_ehlo(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_starttls(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_auth(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_mail(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_rcpt(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_data(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_bdat(const proto::smtp::Command& cmd);
  asio::awaitable<bool> finish_message(std::string message);
  asio::awaitable<std::optional<std::string>> read_sasl_response(std::string challenge);
  asio::awaitable<bool> verify_login(const std::string& mech, const std::string& user,
                                     const std::string& password);
  asio::awaitable<bool> protocol_violation(const char* what);
  asio::awaitable<bool> within_error_limit();

  // 452 4.3.1 for a message the memory budget cannot hold; the transaction ends.
  asio::awaitable<bool> out_of_memory();

  void reset_transaction() {
    txn_.reset();
    chunks_.reset();
    bdat_.reset();
  }

  // The message of a BDAT transaction and its share of the memory budget.
  struct BdatMessage {
    BdatMessage(Services& s, uint64_t cap) : budget(s.message_memory, cap) {}
    std::string message;
    MessageMemory::Reservation budget;
  };

  std::shared_ptr<Connection> conn_;
  Services& services_;
  std::shared_ptr<const config::Config> cfg_;
  const config::Listener& listener_;
  std::unique_ptr<SmtpPolicy> policy_;
  SmtpClient client_;
  std::optional<SmtpTransaction> txn_;
  ChunkReceiver chunks_;               // BDAT accounting of this transaction
  std::unique_ptr<BdatMessage> bdat_;  // set once BDAT was used in this transaction
  unsigned auth_failures_ = 0;
  unsigned bad_commands_ = 0;  // protocol errors so far (is_protocol_error)
};

asio::awaitable<bool> SmtpSession::protocol_violation(const char* what) {
  spdlog::info("smtp protocol-violation session={} ip={} what={}", conn_->id(), conn_->peer_ip(), what);
  co_await reply(554, "5.5.0", "Error: SMTP protocol synchronization; " + std::string(what));
  co_return false;
}

// Checked before each command is read: past the limit the session ends
// with 421, so a client that pipelines thousands of bad commands gets at
// most smtp.max_bad_commands replies.
asio::awaitable<bool> SmtpSession::within_error_limit() {
  if (bad_commands_ < cfg_->smtp.max_bad_commands) co_return true;
  spdlog::info("smtp too-many-errors session={} ip={} errors={}", conn_->id(), conn_->peer_ip(),
               bad_commands_);
  co_await reply(421, "4.7.0", host() + " Error: too many errors");
  co_return false;
}

asio::awaitable<void> SmtpSession::run() {
  if (must_log_in()) conn_->limit_unauthenticated(seconds(cfg_->limits.unauthenticated_session_seconds));
  if (listener_.tls == config::TlsMode::implicit) {
    std::size_t discarded = 0;
    if (!services_.tls ||
        !co_await conn_->start_tls(services_.tls->current(),
                                   seconds(cfg_->limits.tls_handshake_timeout_seconds), discarded)) {
      spdlog::info("smtp tls-failed session={} ip={}", conn_->id(), conn_->peer_ip());
      co_return;
    }
    auto info = conn_->tls_info();
    client_.tls = true;
    client_.tls_version = info.version;
    client_.tls_cipher = info.cipher;
    client_.tls_bits = info.bits;
    spdlog::info("smtp tls session={} ip={} version={} cipher={}", conn_->id(), conn_->peer_ip(),
                 info.version, info.cipher);
  } else if (cfg_->smtp.greet_pause_ms > 0 && listener_.protocol == config::Protocol::smtp) {
    // S7: a client that talks before the greeting is not a real MTA.
    asio::steady_timer pause(co_await asio::this_coro::executor,
                             std::chrono::milliseconds(cfg_->smtp.greet_pause_ms));
    co_await pause.async_wait(asio::use_awaitable);
  }
  if (listener_.tls != config::TlsMode::implicit && conn_->socket_available() > 0) {
    co_await protocol_violation("talked before the greeting");
    co_return;
  }
  // Postscreen (MX): access list, DNS lists, FCrDNS; a refusal ends the session.
  std::optional<SmtpReply> refusal = co_await policy_->on_connect(client_);
  if (refusal) {
    co_await reply(*refusal);
    co_return;
  }
  std::string greeting =
      host() + " " + (cfg_->smtp.greeting.empty() ? "ESMTP Mailfort" : cfg_->smtp.greeting);
  if (!co_await reply(220, "", greeting)) co_return;

  std::string line;
  while (true) {
    if (!co_await within_error_limit()) co_return;
    auto status = co_await conn_->read_line(line, idle());
    switch (status) {
      case Connection::ReadStatus::Closed:
        co_return;
      case Connection::ReadStatus::Timeout:
        co_await timeout_reply();
        co_return;
      case Connection::ReadStatus::TooLong:
        if (!co_await reply(500, "5.5.2", "Error: line too long")) co_return;
        continue;
      case Connection::ReadStatus::BareLf:
      case Connection::ReadStatus::BareCr:
        spdlog::info("smtp bare-newline session={} ip={}", conn_->id(), conn_->peer_ip());
        if (!co_await reply(500, "5.5.2", "Error: bare CR or LF received; lines must end with CRLF"))
          co_return;
        continue;
      case Connection::ReadStatus::Line:
        break;
    }
    auto cmd = proto::smtp::parse_command(line);
    if (!co_await handle(cmd)) co_return;
  }
}

asio::awaitable<bool> SmtpSession::handle(const proto::smtp::Command& cmd) {
  const CommandSpec* spec = find_spec(cmd.verb);
  if (spec == nullptr) co_return co_await reply(500, "5.5.2", "Error: command not recognized");
  // S7 pipelining discipline (RFC 2920 3.1): a command that changes the
  // session state must end the client's packet; before EHLO the client has
  // not even been told that PIPELINING exists. STARTTLS handles its own
  // leftovers (they are discarded, CVE-2011-0411).
  if (conn_->buffered() > 0 && cmd.verb != Verb::Starttls && cmd.verb != Verb::Quit &&
      ((spec->flags & kLastInPipeline) || !client_.esmtp)) {
    co_return co_await protocol_violation("improper command pipelining");
  }
  if (tls_required() && !conn_->is_tls() && !(spec->flags & kBeforeTls)) {
    co_return co_await reply(530, "5.7.0", "Must issue a STARTTLS command first");
  }
  switch (cmd.verb) {
    case Verb::Ehlo:
    case Verb::Helo:
      co_return co_await on_ehlo(cmd);
    case Verb::Starttls:
      co_return co_await on_starttls(cmd);
    case Verb::Auth:
      co_return co_await on_auth(cmd);
    case Verb::Mail:
      co_return co_await on_mail(cmd);
    case Verb::Rcpt:
      co_return co_await on_rcpt(cmd);
    case Verb::Data:
      co_return co_await on_data(cmd);
    case Verb::Bdat:
      co_return co_await on_bdat(cmd);
    case Verb::Noop:
      co_return co_await reply(250, "2.0.0", "Ok");
    case Verb::Rset:
      reset_transaction();
      co_return co_await reply(250, "2.0.0", "Ok");
    case Verb::Quit:
      co_await reply(221, "2.0.0", "Bye");
      co_return false;
    case Verb::Help:
      co_return co_await reply(214, "2.0.0", "See RFC 5321");
    case Verb::Vrfy:
    case Verb::Expn:
      // Address harvesting aid; Postfix's disable_vrfy_command = yes.
      co_return co_await reply(502, "5.5.1", "Error: command disabled");
    default:
      co_return co_await reply(502, "5.5.1", "Error: command not implemented");
  }
}

asio::awaitable<bool> SmtpSession::on_ehlo(const proto::smtp::Command& cmd) {
  bool ehlo = cmd.verb == Verb::Ehlo;
  if (cmd.args.empty() || !proto::smtp::is_valid_helo_domain(cmd.args)) {
    co_return co_await reply(
        501, "5.5.4", std::string("Syntax: ") + (ehlo ? "EHLO" : "HELO") + " hostname or address literal");
  }
  auto verdict = co_await policy_->on_helo(client_, cmd.args);
  if (!verdict.ok()) co_return co_await reply(verdict);
  reset_transaction();
  client_.helo = cmd.args;
  client_.esmtp = ehlo;
  if (!ehlo) co_return co_await reply(250, "", host());
  std::vector<std::string> lines{
      host(),     "PIPELINING", "SIZE " + std::to_string(cfg_->smtp.max_message_size),
      "8BITMIME", "SMTPUTF8",   "ENHANCEDSTATUSCODES",
      "CHUNKING"};
  if (starttls_offered()) lines.push_back("STARTTLS");
  if (auth_offered()) lines.push_back("AUTH PLAIN LOGIN");
  co_return co_await conn_->write(format_reply(250, "", lines));
}

asio::awaitable<bool> SmtpSession::on_starttls(const proto::smtp::Command& cmd) {
  if (!cmd.args.empty()) co_return co_await reply(501, "5.5.4", "Syntax: STARTTLS");
  if (conn_->is_tls()) co_return co_await reply(503, "5.5.1", "Error: TLS already active");
  if (!starttls_offered()) co_return co_await reply(502, "5.5.1", "Error: command not implemented");
  if (!co_await reply(220, "2.0.0", "Ready to start TLS")) co_return false;
  std::size_t discarded = 0;
  bool ok = co_await conn_->start_tls(services_.tls->current(),
                                      seconds(cfg_->limits.tls_handshake_timeout_seconds), discarded);
  if (discarded > 0) {
    // CVE-2011-0411: plaintext sent after STARTTLS is never executed inside
    // the TLS session.
    spdlog::warn("smtp starttls-injection session={} ip={} discarded={}", conn_->id(), conn_->peer_ip(),
                 discarded);
  }
  if (!ok) {
    spdlog::info("smtp tls-failed session={} ip={}", conn_->id(), conn_->peer_ip());
    co_return false;
  }
  auto info = conn_->tls_info();
  spdlog::info("smtp tls session={} ip={} version={} cipher={}", conn_->id(), conn_->peer_ip(), info.version,
               info.cipher);
  // RFC 3207 4.2: forget everything learned before TLS.
  reset_transaction();
  client_.helo.clear();
  client_.esmtp = false;
  client_.auth_user.clear();
  client_.tls = true;
  client_.tls_version = info.version;
  client_.tls_cipher = info.cipher;
  client_.tls_bits = info.bits;
  co_return true;
}

asio::awaitable<std::optional<std::string>> SmtpSession::read_sasl_response(std::string challenge) {
  if (!co_await reply(334, "", challenge)) co_return std::nullopt;
  std::string line;
  auto status = co_await conn_->read_line(line, idle());
  if (status != Connection::ReadStatus::Line) co_return std::nullopt;
  co_return line;
}

asio::awaitable<bool> SmtpSession::on_auth(const proto::smtp::Command& cmd) {
  if (!conn_->is_tls() && (is_submission() || cfg_->smtp.auth_on_mx)) {
    co_return co_await reply(530, "5.7.0", "Must issue a STARTTLS command first");
  }
  if (!auth_offered()) co_return co_await reply(502, "5.5.1", "Error: authentication not enabled");
  if (!client_.esmtp) co_return co_await reply(503, "5.5.1", "Error: send EHLO first");
  if (!client_.auth_user.empty()) co_return co_await reply(503, "5.5.1", "Error: already authenticated");
  if (txn_) co_return co_await reply(503, "5.5.1", "Error: AUTH not allowed during a mail transaction");
  auto args = proto::smtp::parse_auth_args(cmd.args);
  if (!args) co_return co_await reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");

  proto::sasl::Exchange sasl;
  auto step = sasl.start(args->mechanism, args->initial_response, proto::sasl::kPlain | proto::sasl::kLogin);
  while (step.kind == proto::sasl::Step::Kind::Challenge) {
    auto response = co_await read_sasl_response(step.challenge);
    if (!response) co_return false;
    step = sasl.respond(*response);
  }
  if (step.kind == proto::sasl::Step::Kind::Failed) {
    co_return co_await reply(sasl_failure_reply(step.failure, sasl.mechanism()));
  }
  const auto& creds = step.credentials;
  if (creds.authcid.find('\0') != std::string::npos || creds.authcid.size() > 320) {
    co_return co_await verify_login(args->mechanism, std::string(), creds.password);
  }
  co_return co_await verify_login(args->mechanism, creds.authcid, creds.password);
}

asio::awaitable<bool> SmtpSession::verify_login(const std::string& mech, const std::string& user,
                                                const std::string& password) {
  auto outcome = co_await check_login(services_, "smtp", *conn_, user, password);
  switch (outcome.verdict) {
    case LoginVerdict::Ok:
      client_.auth_user = outcome.account;
      conn_->mark_authenticated();
      spdlog::info("smtp auth ok session={} ip={} user={} mechanism={}", conn_->id(), conn_->peer_ip(),
                   log::quote(client_.auth_user), mech);
      co_return co_await reply(235, "2.7.0", "Authentication successful");
    case LoginVerdict::Temp:
      co_return co_await reply(454, "4.7.0", "Temporary authentication failure");
    case LoginVerdict::Failed:
      break;
  }
  spdlog::info("smtp auth failed session={} ip={} user={} mechanism={}", conn_->id(), conn_->peer_ip(),
               log::quote(user), mech);
  if (outcome.banned) {
    // The client learns the login failed; the connection ends and new ones
    // from its address are refused until the ban expires.
    co_await reply(535, "5.7.8", "Authentication credentials invalid");
    co_return false;
  }
  if (++auth_failures_ >= cfg_->limits.max_auth_failures_per_connection) {
    co_await reply(421, "4.7.0", host() + " Error: too many authentication failures");
    co_return false;
  }
  co_return co_await reply(535, "5.7.8", "Authentication credentials invalid");
}

asio::awaitable<bool> SmtpSession::on_mail(const proto::smtp::Command& cmd) {
  if (client_.helo.empty()) co_return co_await reply(503, "5.5.1", "Error: send HELO/EHLO first");
  if (txn_) co_return co_await reply(503, "5.5.1", "Error: nested MAIL command");
  auto parsed = proto::smtp::read_mail_from(cmd.args, cfg_->smtp.max_message_size);
  if (const auto* refusal = std::get_if<SmtpReply>(&parsed)) co_return co_await reply(*refusal);
  const auto& from = std::get<proto::smtp::MailFrom>(parsed);
  SmtpTransaction txn;
  txn.smtputf8 = from.smtputf8;
  txn.eight_bit = from.eight_bit;
  auto verdict = co_await policy_->on_mail(client_, from.path, txn);
  if (!verdict.ok()) co_return co_await reply(verdict);
  txn.sender = from.path.null_path ? std::string() : from.path.mailbox.str();
  reset_transaction();
  txn_ = std::move(txn);
  co_return co_await reply(verdict);
}

asio::awaitable<bool> SmtpSession::on_rcpt(const proto::smtp::Command& cmd) {
  if (!txn_) co_return co_await reply(503, "5.5.1", "Error: need MAIL command");
  if (chunks_.in_use()) co_return co_await reply(503, "5.5.1", "Error: RCPT not allowed after BDAT");
  auto parsed = proto::smtp::read_rcpt_to(cmd.args, txn_->smtputf8);
  if (const auto* refusal = std::get_if<SmtpReply>(&parsed)) co_return co_await reply(*refusal);
  const auto& to = std::get<proto::smtp::PathArgs>(parsed);
  if (txn_->rcpts.size() >= cfg_->smtp.max_recipients) {
    co_return co_await reply(452, "4.5.3", "Error: too many recipients");
  }
  auto verdict = co_await policy_->on_rcpt(client_, to, *txn_);
  if (!verdict.ok()) {
    spdlog::info("smtp rcpt-rejected session={} ip={} rcpt={} reply={}", conn_->id(), conn_->peer_ip(),
                 log::quote(to.mailbox.str()), verdict.code);
  }
  co_return co_await reply(verdict);
}

asio::awaitable<bool> SmtpSession::on_data(const proto::smtp::Command& cmd) {
  if (!cmd.args.empty()) co_return co_await reply(501, "5.5.4", "Syntax: DATA");
  if (!txn_) co_return co_await reply(503, "5.5.1", "Error: need MAIL command");
  if (chunks_.in_use()) co_return co_await reply(503, "5.5.1", "Error: DATA not allowed after BDAT");
  if (txn_->rcpts.empty()) co_return co_await reply(554, "5.5.1", "Error: no valid recipients");
  if (!co_await reply(354, "", "End data with <CR><LF>.<CR><LF>")) co_return false;

  proto::smtp::DataReader reader(cfg_->smtp.max_message_size, cfg_->smtp.max_data_line_length);
  MessageMemory::Reservation budget(services_.message_memory, cfg_->smtp.max_inflight_message_bytes);
  bool over_budget = false;
  std::string message, chunk, discard;
  std::size_t fed = 0;  // bytes of `message` given to txn_->inbound
  auto deadline = transfer();
  while (!reader.done()) {
    auto st = co_await conn_->read_raw(chunk, kRawReadSize, deadline);
    if (st != Connection::ReadStatus::Line) {
      if (st == Connection::ReadStatus::Timeout) co_await timeout_reply();
      co_return false;  // nothing was acknowledged; nothing is kept
    }
    if (!over_budget && !grow_within(message, chunk.size(), budget)) {
      over_budget = true;
      give_back(message, budget);
    }
    std::size_t used = reader.feed(chunk, over_budget ? discard : message);
    discard.clear();  // a refused message keeps draining to the end marker
    if (txn_->inbound && !over_budget) {
      // Inbound authentication hashes the body as it arrives (inbound_auth.h).
      txn_->inbound->feed(std::string_view(message).substr(fed));
      fed = message.size();
    }
    if (reader.done()) conn_->unread(std::string_view(chunk).substr(used));
  }
  if (!over_budget && reader.error() == proto::smtp::DataReader::Error::None &&
      !budget.cover(message.capacity() + message.size() + kHeaderRoom)) {
    over_budget = true;
    give_back(message, budget);
  }
  if (over_budget) co_return co_await out_of_memory();
  using E = proto::smtp::DataReader::Error;
  switch (reader.error()) {
    case E::None:
      break;
    case E::TooBig:
      reset_transaction();
      co_return co_await reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    case E::BareNewline:
      spdlog::info("smtp bare-newline-in-data session={} ip={}", conn_->id(), conn_->peer_ip());
      reset_transaction();
      co_return co_await reply(550, "5.6.0", "Message contains bare CR or LF; lines must end with CRLF");
    case E::LineTooLong:
      reset_transaction();
      co_return co_await reply(552, "5.3.4", "Message line too long");
  }
  co_return co_await finish_message(std::move(message));
}

asio::awaitable<bool> SmtpSession::on_bdat(const proto::smtp::Command& cmd) {
  // RFC 3030: "BDAT <size> [LAST]". The chunk bytes follow at once, so they
  // are consumed even when the command is refused, or the session would
  // read message content as commands.
  auto args = proto::smtp::parse_bdat_args(cmd.args);
  if (!args) {
    co_await reply(501, "5.5.4", "Syntax: BDAT size [LAST]");
    co_return false;  // cannot know where the chunk ends
  }
  chunks_.begin_chunk(*args, txn_.has_value(), txn_ && !txn_->rcpts.empty());
  if (chunks_.in_use() && !bdat_)
    bdat_ = std::make_unique<BdatMessage>(services_, cfg_->smtp.max_inflight_message_bytes);
  std::string chunk;
  auto deadline = transfer();
  while (chunks_.remaining() > 0) {
    auto st = co_await conn_->read_raw(
        chunk, static_cast<std::size_t>(std::min<uint64_t>(chunks_.remaining(), kRawReadSize)), deadline);
    if (st != Connection::ReadStatus::Line) {
      if (st == Connection::ReadStatus::Timeout) co_await timeout_reply();
      co_return false;
    }
    switch (chunks_.admit(chunk.size())) {
      case ChunkReceiver::Admit::Keep:
        if (grow_within(bdat_->message, chunk.size(), bdat_->budget)) {
          bdat_->message.append(chunk);
          if (txn_ && txn_->inbound) txn_->inbound->feed(chunk);  // hashed as it arrives (inbound_auth.h)
          break;
        }
        chunks_.out_of_memory();
        give_back(bdat_->message, bdat_->budget);
        break;
      case ChunkReceiver::Admit::DropMessage:
        give_back(bdat_->message, bdat_->budget);
        break;
      case ChunkReceiver::Admit::Skip:
        break;
    }
  }
  switch (chunks_.end_chunk()) {
    case ChunkReceiver::Outcome::NeedMail:
      co_return co_await reply(503, "5.5.1", "Error: need MAIL command");
    case ChunkReceiver::Outcome::NoRecipients:
      co_return co_await reply(554, "5.5.1", "Error: no valid recipients");
    case ChunkReceiver::Outcome::TooBig:
      reset_transaction();
      co_return co_await reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    case ChunkReceiver::Outcome::OutOfMemory:
      co_return co_await out_of_memory();
    case ChunkReceiver::Outcome::ChunkAccepted:
      co_return co_await reply(250, "2.0.0",
                               "Ok: " + std::to_string(chunks_.chunk_size()) + " octets received");
    case ChunkReceiver::Outcome::Complete:
      break;
  }
  if (!bdat_->budget.cover(bdat_->message.capacity() + bdat_->message.size() + kHeaderRoom)) {
    co_return co_await out_of_memory();
  }
  // The reservation stays held until the message is committed.
  std::unique_ptr<BdatMessage> state = std::move(bdat_);
  std::string message = std::move(state->message);
  co_return co_await finish_message(std::move(message));
}

asio::awaitable<bool> SmtpSession::out_of_memory() {
  spdlog::warn("smtp message-memory-exhausted session={} ip={}", conn_->id(), conn_->peer_ip());
  reset_transaction();
  co_return co_await reply(452, "4.3.1", "Insufficient system storage; try again later");
}

asio::awaitable<bool> SmtpSession::finish_message(std::string message) {
  SmtpTransaction txn = std::move(*txn_);
  reset_transaction();
  auto verdict = co_await policy_->on_message(client_, txn, std::move(message));
  // Q7: only an accepted message stays counted against the sending limits.
  if (verdict.ok()) txn.send_quota.keep();
  co_return co_await reply(verdict);
}

}  // namespace

asio::awaitable<void> run_session(std::shared_ptr<Connection> conn, Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener) {
  SmtpSession session(std::move(conn), services, std::move(cfg), listener);
  co_await session.run();
}

}  // namespace mailfort::smtp
