#include "server/smtp_session.h"

#include <array>
#include <optional>
#include <string>

#include "base/log.h"
#include "directory/directory.h"
#include "policy/ban_service.h"
#include "proto/smtp/command.h"
#include "proto/smtp/reply.h"
#include "proto/smtp/sasl.h"
#include "server/auth.h"
#include "server/blocking.h"
#include "server/connection.h"
#include "server/services.h"
#include "tls/context.h"

namespace mailfort::server {
namespace {

using proto::smtp::format_reply;
using proto::smtp::Verb;
using std::chrono::seconds;

// Per-command gate flags (Postfix smtpd_cmd_table style).
enum Flags : unsigned {
  kNone = 0,
  kBeforeTls = 1u << 0,       // allowed on a TLS-required listener before STARTTLS
  kLastInPipeline = 1u << 1,  // nothing may follow it in the same packet
};

struct CommandSpec {
  Verb verb;
  unsigned flags;
};

constexpr std::array kCommands{
    CommandSpec{Verb::Ehlo, kBeforeTls},
    CommandSpec{Verb::Helo, kBeforeTls},
    CommandSpec{Verb::Starttls, kBeforeTls | kLastInPipeline},
    CommandSpec{Verb::Noop, kBeforeTls},
    CommandSpec{Verb::Rset, kBeforeTls},
    CommandSpec{Verb::Quit, kBeforeTls},
    CommandSpec{Verb::Help, kBeforeTls},
    CommandSpec{Verb::Auth, kLastInPipeline},
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

constexpr unsigned kMaxUnknownCommands = 10;

class SmtpSession {
 public:
  SmtpSession(std::shared_ptr<Connection> conn, Services& services, std::shared_ptr<const config::Config> cfg,
              const config::Listener& listener)
      : conn_(std::move(conn)), services_(services), cfg_(std::move(cfg)), listener_(listener) {}

  asio::awaitable<void> run();

 private:
  bool is_submission() const { return listener_.protocol == config::Protocol::submission; }
  bool tls_required() const { return is_submission() && listener_.tls == config::TlsMode::starttls; }
  bool starttls_offered() const {
    return !conn_->is_tls() && listener_.tls == config::TlsMode::starttls && services_.tls != nullptr;
  }
  bool auth_offered() const { return conn_->is_tls() && (is_submission() || cfg_->smtp.auth_on_mx); }
  const std::string& host() const { return cfg_->hostname; }

  asio::awaitable<bool> reply(int code, std::string_view enhanced, std::string_view text) {
    co_return co_await conn_->write(format_reply(code, enhanced, text));
  }

  // Each handler returns false when the session must end.
  asio::awaitable<bool> handle(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_ehlo(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_starttls(const proto::smtp::Command& cmd);
  asio::awaitable<bool> on_auth(const proto::smtp::Command& cmd);
  asio::awaitable<std::optional<std::string>> read_sasl_response(std::string_view challenge);
  asio::awaitable<bool> verify_login(const std::string& mech, const std::string& user,
                                     const std::string& password);

  std::shared_ptr<Connection> conn_;
  Services& services_;
  std::shared_ptr<const config::Config> cfg_;
  const config::Listener& listener_;
  std::string helo_;  // empty until HELO/EHLO
  bool esmtp_ = false;
  std::string auth_user_;  // empty until AUTH succeeded
  unsigned auth_failures_ = 0;
  unsigned unknown_commands_ = 0;
};

asio::awaitable<void> SmtpSession::run() {
  const seconds idle{cfg_->limits.idle_timeout_seconds};
  if (listener_.tls == config::TlsMode::implicit) {
    std::size_t discarded = 0;
    if (!services_.tls ||
        !co_await conn_->start_tls(services_.tls->current(),
                                   seconds(cfg_->limits.tls_handshake_timeout_seconds), discarded)) {
      spdlog::info("smtp tls-failed session={} ip={}", conn_->id(), conn_->peer_ip());
      co_return;
    }
    auto info = conn_->tls_info();
    spdlog::info("smtp tls session={} ip={} version={} cipher={}", conn_->id(), conn_->peer_ip(),
                 info.version, info.cipher);
  }
  std::string greeting =
      host() + " " + (cfg_->smtp.greeting.empty() ? "ESMTP Mailfort" : cfg_->smtp.greeting);
  if (!co_await reply(220, "", greeting)) co_return;

  std::string line;
  while (true) {
    auto status = co_await conn_->read_line(line, idle);
    switch (status) {
      case Connection::ReadStatus::Closed:
        co_return;
      case Connection::ReadStatus::Timeout:
        spdlog::info("smtp timeout session={} ip={}", conn_->id(), conn_->peer_ip());
        co_await reply(421, "4.4.2", host() + " Error: timeout exceeded");
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
  if (spec == nullptr) {
    if (++unknown_commands_ > kMaxUnknownCommands) {
      co_await reply(421, "4.7.0", host() + " Error: too many unrecognized commands");
      co_return false;
    }
    co_return co_await reply(500, "5.5.2", "Error: command not recognized");
  }
  // Pipelining discipline (RFC 2920 3.1): commands that change the
  // connection state must end the client's packet.
  if ((spec->flags & kLastInPipeline) && conn_->buffered() > 0 && cmd.verb != Verb::Starttls) {
    spdlog::info("smtp pipelining-violation session={} ip={} command={}", conn_->id(), conn_->peer_ip(),
                 cmd.verb_text);
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
    case Verb::Noop:
      co_return co_await reply(250, "2.0.0", "OK");
    case Verb::Rset:
      co_return co_await reply(250, "2.0.0", "OK");
    case Verb::Quit:
      co_await reply(221, "2.0.0", "Bye");
      co_return false;
    case Verb::Help:
      co_return co_await reply(214, "2.0.0", "Commands: EHLO HELO STARTTLS AUTH NOOP RSET QUIT");
    case Verb::Vrfy:
    case Verb::Expn:
      // Address harvesting aid; Postfix's disable_vrfy_command = yes.
      co_return co_await reply(502, "5.5.1", "Error: command disabled");
    default:
      co_return co_await reply(502, "5.5.1", "Error: command not implemented");
  }
}

asio::awaitable<bool> SmtpSession::on_ehlo(const proto::smtp::Command& cmd) {
  if (cmd.args.empty() || !proto::smtp::is_valid_helo_domain(cmd.args)) {
    co_return co_await reply(
        501, "5.5.4",
        "Syntax: " + std::string(cmd.verb == Verb::Ehlo ? "EHLO" : "HELO") + " domain or address literal");
  }
  helo_ = cmd.args;
  if (cmd.verb == Verb::Helo) {
    esmtp_ = false;
    co_return co_await reply(250, "", host());
  }
  esmtp_ = true;
  std::vector<std::string> lines{host() + " Hello " + helo_, "PIPELINING", "ENHANCEDSTATUSCODES"};
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
    // CVE-2011-0411: plaintext sent after STARTTLS must never be executed
    // inside the TLS session.
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
  helo_.clear();
  esmtp_ = false;
  auth_user_.clear();
  co_return true;
}

asio::awaitable<std::optional<std::string>> SmtpSession::read_sasl_response(std::string_view challenge) {
  if (!co_await reply(334, "", challenge)) co_return std::nullopt;
  std::string line;
  auto status = co_await conn_->read_line(line, seconds(cfg_->limits.idle_timeout_seconds));
  if (status != Connection::ReadStatus::Line) co_return std::nullopt;
  co_return line;
}

asio::awaitable<bool> SmtpSession::on_auth(const proto::smtp::Command& cmd) {
  if (!conn_->is_tls() && (is_submission() || cfg_->smtp.auth_on_mx)) {
    co_return co_await reply(530, "5.7.0", "Must issue a STARTTLS command first");
  }
  if (!auth_offered()) co_return co_await reply(502, "5.5.1", "Error: authentication not enabled");
  if (!esmtp_) co_return co_await reply(503, "5.5.1", "Error: send EHLO first");
  if (!auth_user_.empty()) co_return co_await reply(503, "5.5.1", "Error: already authenticated");
  auto args = proto::smtp::parse_auth_args(cmd.args);
  if (!args) co_return co_await reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");

  auto decode = [](const std::string& b64) -> std::optional<std::string> {
    if (b64 == "=") return std::string();
    return proto::sasl::base64_decode(b64);
  };
  std::string user, password;
  if (args->mechanism == "PLAIN") {
    std::string response;
    if (args->initial_response) {
      response = *args->initial_response;
    } else {
      auto r = co_await read_sasl_response("");
      if (!r) co_return false;
      response = *r;
    }
    if (response == "*") co_return co_await reply(501, "5.0.0", "Authentication aborted");
    auto decoded = decode(response);
    if (!decoded) co_return co_await reply(501, "5.5.2", "Error: invalid base64 data");
    auto creds = proto::sasl::parse_plain(*decoded);
    if (!creds) co_return co_await reply(501, "5.5.2", "Error: malformed PLAIN response");
    if (!creds->authzid.empty() && creds->authzid != creds->authcid) {
      co_return co_await reply(535, "5.7.8", "Error: authorization identity not permitted");
    }
    user = std::move(creds->authcid);
    password = std::move(creds->password);
  } else if (args->mechanism == "LOGIN") {
    std::optional<std::string> u;
    if (args->initial_response) {
      u = decode(*args->initial_response);
    } else {
      auto r = co_await read_sasl_response("VXNlcm5hbWU6");  // "Username:"
      if (!r) co_return false;
      if (*r == "*") co_return co_await reply(501, "5.0.0", "Authentication aborted");
      u = decode(*r);
    }
    if (!u || u->empty()) co_return co_await reply(501, "5.5.2", "Error: invalid base64 data");
    auto r = co_await read_sasl_response("UGFzc3dvcmQ6");  // "Password:"
    if (!r) co_return false;
    if (*r == "*") co_return co_await reply(501, "5.0.0", "Authentication aborted");
    auto p = decode(*r);
    if (!p || p->empty()) co_return co_await reply(501, "5.5.2", "Error: invalid base64 data");
    user = std::move(*u);
    password = std::move(*p);
  } else {
    co_return co_await reply(504, "5.5.4", "Error: unsupported authentication mechanism");
  }
  co_return co_await verify_login(args->mechanism, user, password);
}

asio::awaitable<bool> SmtpSession::verify_login(const std::string& mech, const std::string& user,
                                                const std::string& password) {
  auto outcome = co_await check_login(services_, "smtp", conn_->peer_ip(), user, password);
  switch (outcome.verdict) {
    case LoginVerdict::Ok:
      auth_user_ = outcome.account;
      spdlog::info("smtp auth ok session={} ip={} user={} mechanism={}", conn_->id(), conn_->peer_ip(),
                   log::quote(auth_user_), mech);
      co_return co_await reply(235, "2.7.0", "Authentication successful");
    case LoginVerdict::Temp:
      co_return co_await reply(454, "4.7.0", "Temporary authentication failure");
    case LoginVerdict::Failed:
      break;
  }
  spdlog::info("smtp auth failed session={} ip={} user={} mechanism={}", conn_->id(), conn_->peer_ip(),
               log::quote(user), mech);
  if (outcome.banned) {
    co_await reply(421, "4.7.0", host() + " Too many failed logins from your address; try again later");
    co_return false;
  }
  if (++auth_failures_ >= cfg_->limits.max_auth_failures_per_connection) {
    co_await reply(421, "4.7.0", host() + " Error: too many authentication failures");
    co_return false;
  }
  co_return co_await reply(535, "5.7.8", "Authentication credentials invalid");
}

}  // namespace

asio::awaitable<void> run_smtp_session(std::shared_ptr<Connection> conn, Services& services,
                                       std::shared_ptr<const config::Config> cfg,
                                       const config::Listener& listener) {
  SmtpSession session(std::move(conn), services, std::move(cfg), listener);
  co_await session.run();
}

}  // namespace mailfort::server
