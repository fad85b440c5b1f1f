// ManageSieve session (RFC 5804): users upload, check, list, activate,
// download, rename and delete their Sieve scripts. Logins only over TLS
// (STARTTLS or an implicit-TLS listener); scripts are compiled before they
// are stored; every store call runs on the worker pool.
#include "managesieve/managesieve_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "base/log.h"
#include "proto/managesieve/command.h"
#include "proto/sasl/exchange.h"
#include "server/auth.h"
#include "server/blocking.h"
#include "server/connection.h"
#include "server/message_memory.h"
#include "server/services.h"
#include "sieve/compile.h"
#include "sieve/sieve_service.h"
#include "tls/context.h"

namespace mailfort::managesieve {
namespace {

using proto::managesieve::Argument;
using proto::managesieve::Command;
using proto::managesieve::CommandParser;
using proto::managesieve::quoted;
using proto::managesieve::response;
using proto::managesieve::string_value;
using server::check_login;
using server::Connection;
using server::LoginVerdict;
using server::MessageMemory;
using server::run_blocking;
using server::Services;
using std::chrono::seconds;

// Syntax errors and unknown commands a connection may make before BYE.
constexpr uint32_t kMaxBadCommands = 20;
// Compile errors quoted in a NO reply.
constexpr std::size_t kMaxReportedErrors = 5;

class ManageSieveSession {
 public:
  ManageSieveSession(std::shared_ptr<Connection> conn, Services& svc,
                     std::shared_ptr<const config::Config> cfg, const config::Listener& l)
      : conn_(std::move(conn)), svc_(svc), cfg_(std::move(cfg)), listener_(l), parser_(parser_limits()) {}

  asio::awaitable<void> run() {
    if (listener_.tls == config::TlsMode::implicit) {
      std::size_t discarded = 0;
      if (!svc_.tls ||
          !co_await conn_->start_tls(svc_.tls->current(), seconds(cfg_->limits.tls_handshake_timeout_seconds),
                                     discarded)) {
        spdlog::info("managesieve tls-failed session={} ip={}", conn_->id(), conn_->peer_ip());
        co_return;
      }
    }
    if (!svc_.sieve) {
      co_await send(response("BYE", "TRYLATER", "Sieve is not available"));
      co_return;
    }
    conn_->limit_unauthenticated(seconds(cfg_->limits.unauthenticated_session_seconds));
    if (!co_await send(capabilities() + response("OK", "", cfg_->hostname + " Mailfort ManageSieve ready")))
      co_return;
    while (true) {
      Command cmd;
      auto got = co_await read_command(cmd, false);
      if (got == Read::Closed) break;
      if (got == Read::Bad) {
        if (++bad_commands_ >= kMaxBadCommands) {
          co_await send(response("BYE", "", "Too many bad commands"));
          break;
        }
        continue;
      }
      if (!co_await command(cmd)) break;
    }
    co_await conn_->shutdown();
  }

 private:
  enum class Read { Ok, Bad, Closed };

  proto::managesieve::Limits parser_limits() const {
    proto::managesieve::Limits l;
    // A script plus what a client may reasonably wrap around it.
    l.max_literal = cfg_->sieve.max_script_size + 1024;
    l.max_command = l.max_literal + 2 * cfg_->limits.max_line_length;
    l.max_args = 4;
    return l;
  }

  seconds timeout() const { return seconds(cfg_->limits.idle_timeout_seconds); }

  // By value: GCC 12 may end a temporary argument's life before the
  // coroutine is done with it.
  asio::awaitable<bool> send(std::string s) {
    bool ok = co_await conn_->write(s);
    co_return ok;
  }
  asio::awaitable<bool> reply(std::string kind, std::string code, std::string text) {
    bool ok = co_await send(response(kind, code, text));
    co_return ok;
  }

  asio::awaitable<void> timed_out() {
    bool login = conn_->login_expired();
    spdlog::info("managesieve timeout session={} ip={} reason={}", conn_->id(), conn_->peer_ip(),
                 login ? "unauthenticated-too-long" : "idle");
    co_await send(response("BYE", "", login ? "Autologout; log in sooner" : "Autologout; idle for too long"));
  }

  bool tls_possible() const {
    return !conn_->is_tls() && listener_.tls == config::TlsMode::starttls && svc_.tls != nullptr;
  }

  // The capability response (RFC 5804 1.7), without its closing OK.
  std::string capabilities() const {
    std::string sieve_ext;
    for (const auto& e : sieve::supported_extensions()) {
      if (!sieve_ext.empty()) sieve_ext += ' ';
      sieve_ext += e;
    }
    std::string out = "\"IMPLEMENTATION\" \"Mailfort\"\r\n";
    if (user_.empty())
      out += std::string("\"SASL\" ") + (conn_->is_tls() ? "\"PLAIN LOGIN\"" : "\"\"") + "\r\n";
    out += "\"SIEVE\" " + quoted(sieve_ext) + "\r\n";
    if (tls_possible()) out += "\"STARTTLS\"\r\n";
    out += "\"MAXREDIRECTS\" \"" + std::to_string(cfg_->sieve.max_redirects) + "\"\r\n";
    if (!user_.empty()) out += "\"OWNER\" " + quoted(user_) + "\r\n";
    out += "\"VERSION\" \"1.0\"\r\n\"UNAUTHENTICATE\"\r\n";
    return out;
  }

  // Reads one command (or, with `response_only`, one SASL response: a lone
  // string), literals included. Bad: a NO was sent. Closed: the connection
  // is over (a BYE was sent where one fits).
  asio::awaitable<Read> read_command(Command& out, bool response_only) {
    std::string line;
    auto st = co_await conn_->read_line(line, timeout());
    if (st == Connection::ReadStatus::Closed) co_return Read::Closed;
    if (st == Connection::ReadStatus::Timeout) {
      co_await timed_out();
      co_return Read::Closed;
    }
    if (st != Connection::ReadStatus::Line) {
      bool sent = co_await reply("NO", "", "Line too long or not ending in CRLF");
      co_return sent ? Read::Bad : Read::Closed;
    }
    // A SASL response has no command name; parse it as the argument of one.
    auto status = parser_.feed_line(response_only ? "R " + line : line);
    MessageMemory::Reservation budget(svc_.message_memory, cfg_->smtp.max_inflight_message_bytes);
    uint64_t held = 0;
    while (status == CommandParser::Status::NeedLiteral) {
      std::size_t want = parser_.literal_size();
      held += want;
      if (!budget.cover(held)) {
        parser_.reset();
        co_await send(response("BYE", "TRYLATER", "Server busy; try again later"));
        co_return Read::Closed;
      }
      std::string bytes;
      auto transfer = Connection::begin_transfer(timeout(), cfg_->limits.min_data_rate_bytes_per_second);
      while (bytes.size() < want) {
        std::string chunk;
        auto rs =
            co_await conn_->read_raw(chunk, std::min<std::size_t>(want - bytes.size(), 65536), transfer);
        if (rs != Connection::ReadStatus::Line) {
          if (rs == Connection::ReadStatus::Timeout)
            co_await send(response("BYE", "", "Literal data too slow"));
          parser_.reset();
          co_return Read::Closed;
        }
        bytes += chunk;
      }
      parser_.feed_literal(std::move(bytes));
      std::string rest;
      auto rst = co_await conn_->read_line(rest, timeout());
      if (rst == Connection::ReadStatus::Closed) co_return Read::Closed;
      if (rst == Connection::ReadStatus::Timeout) {
        co_await timed_out();
        co_return Read::Closed;
      }
      if (rst != Connection::ReadStatus::Line) {
        parser_.reset();
        bool sent = co_await reply("NO", "", "Line too long or not ending in CRLF");
        co_return sent ? Read::Bad : Read::Closed;
      }
      status = parser_.feed_line(rest);
    }
    if (status == CommandParser::Status::Error) {
      if (parser_.literal_too_big()) {
        // Its bytes are on their way ({N+}) and would read as commands:
        // refuse without reading them and close.
        spdlog::info("managesieve literal-too-large session={} ip={} bytes={}", conn_->id(), conn_->peer_ip(),
                     parser_.literal_size());
        co_await send(response(
            "BYE", "QUOTA/MAXSIZE",
            "Literal too large (at most " + std::to_string(parser_limits().max_literal) + " bytes)"));
        parser_.reset();
        co_return Read::Closed;
      }
      bool sent = co_await reply("NO", "", parser_.error());
      co_return sent ? Read::Bad : Read::Closed;
    }
    out = parser_.take();
    co_return Read::Ok;
  }

  // Checks the argument count and kinds: 's' string, 'n' number, '?' an
  // optional string. Sends NO when they do not match.
  asio::awaitable<bool> args_match(const Command& c, std::string_view shape, bool& sent) {
    std::size_t required =
        static_cast<std::size_t>(std::count_if(shape.begin(), shape.end(), [](char k) { return k != '?'; }));
    bool ok = c.args.size() >= required && c.args.size() <= shape.size();
    for (std::size_t i = 0; ok && i < c.args.size(); ++i) {
      bool number = c.args[i].kind == Argument::Kind::Number;
      ok = shape[i] == 'n' ? number : !number;
    }
    sent = true;
    if (!ok) sent = co_await reply("NO", "", "Wrong arguments for " + c.name);
    co_return ok;
  }

  asio::awaitable<bool> command(const Command& c) {
    const std::string& v = c.name;
    bool sent = true;
    if (v == "CAPABILITY") {
      if (!co_await args_match(c, "", sent)) co_return sent;
      co_return co_await send(capabilities() + response("OK", "", "Capability completed"));
    }
    if (v == "LOGOUT") {
      co_await reply("OK", "", "Logout completed");
      co_return false;
    }
    if (v == "NOOP") {
      if (!co_await args_match(c, "?", sent)) co_return sent;
      std::string code = c.args.empty() ? "" : "TAG " + string_value(c.args[0].text);
      co_return co_await reply("OK", code, "Done");
    }
    if (v == "STARTTLS") co_return co_await starttls(c);
    if (v == "AUTHENTICATE") {
      if (!user_.empty()) co_return co_await reply("NO", "", "Already authenticated");
      if (!co_await args_match(c, "s?", sent)) co_return sent;
      if (!conn_->is_tls()) co_return co_await reply("NO", "ENCRYPT-NEEDED", "Use STARTTLS first");
      co_return co_await authenticate(c);
    }
    if (user_.empty()) {
      if (v == "HAVESPACE" || v == "PUTSCRIPT" || v == "CHECKSCRIPT" || v == "LISTSCRIPTS" ||
          v == "SETACTIVE" || v == "GETSCRIPT" || v == "DELETESCRIPT" || v == "RENAMESCRIPT" ||
          v == "UNAUTHENTICATE")
        co_return co_await reply("NO", "", "Authenticate first");
      co_return co_await unknown(c);
    }
    if (v == "UNAUTHENTICATE") {
      if (!co_await args_match(c, "", sent)) co_return sent;
      spdlog::info("managesieve unauthenticate session={} ip={} user={}", conn_->id(), conn_->peer_ip(),
                   user_);
      user_.clear();
      conn_->mark_unauthenticated();
      conn_->limit_unauthenticated(seconds(cfg_->limits.unauthenticated_session_seconds));
      co_return co_await reply("OK", "", "Unauthenticate completed");
    }
    if (v == "HAVESPACE") {
      if (!co_await args_match(c, "sn", sent)) co_return sent;
      if (!sieve::ScriptStore::valid_name(c.args[0].text))
        co_return co_await reply("NO", "", "Invalid script name");
      std::string name = c.args[0].text, user = user_;
      uint64_t size = c.args[1].number;
      auto* store = &svc_.sieve->scripts();
      auto space = co_await run_blocking(*svc_.workers, [&] { return store->have_space(user, name, size); });
      co_return co_await space_reply(space, "Putscript would succeed");
    }
    if (v == "PUTSCRIPT") {
      if (!co_await args_match(c, "ss", sent)) co_return sent;
      co_return co_await putscript(c.args[0].text, c.args[1].text);
    }
    if (v == "CHECKSCRIPT") {
      if (!co_await args_match(c, "s", sent)) co_return sent;
      co_return co_await putscript(std::nullopt, c.args[0].text);
    }
    if (v == "LISTSCRIPTS") {
      if (!co_await args_match(c, "", sent)) co_return sent;
      std::string user = user_;
      auto* store = &svc_.sieve->scripts();
      auto list = co_await run_blocking(*svc_.workers, [&] { return store->list(user); });
      if (!list) co_return co_await store_failure(list.error());
      std::string out;
      for (const auto& e : *list) out += string_value(e.name) + (e.active ? " ACTIVE\r\n" : "\r\n");
      co_return co_await send(out + response("OK", "", "Listscripts completed"));
    }
    if (v == "SETACTIVE") {
      if (!co_await args_match(c, "s", sent)) co_return sent;
      std::string user = user_, name = c.args[0].text;
      auto* store = &svc_.sieve->scripts();
      auto r = co_await run_blocking(*svc_.workers, [&] { return store->activate(user, name); });
      if (!r) co_return co_await store_failure(r.error());
      spdlog::info("managesieve setactive session={} user={} name={}", conn_->id(), user_, log::quote(name));
      co_return co_await reply("OK", "", name.empty() ? "No script active" : "Script activated");
    }
    if (v == "GETSCRIPT") {
      if (!co_await args_match(c, "s", sent)) co_return sent;
      std::string user = user_, name = c.args[0].text;
      auto* store = &svc_.sieve->scripts();
      auto r = co_await run_blocking(*svc_.workers, [&] { return store->get(user, name); });
      if (!r) co_return co_await store_failure(r.error());
      co_return co_await send(proto::managesieve::literal(*r) + "\r\n" +
                              response("OK", "", "Getscript completed"));
    }
    if (v == "DELETESCRIPT") {
      if (!co_await args_match(c, "s", sent)) co_return sent;
      std::string user = user_, name = c.args[0].text;
      auto* store = &svc_.sieve->scripts();
      auto r = co_await run_blocking(*svc_.workers, [&] { return store->remove(user, name); });
      if (!r) co_return co_await store_failure(r.error());
      spdlog::info("managesieve deletescript session={} user={} name={}", conn_->id(), user_,
                   log::quote(name));
      co_return co_await reply("OK", "", "Deletescript completed");
    }
    if (v == "RENAMESCRIPT") {
      if (!co_await args_match(c, "ss", sent)) co_return sent;
      std::string user = user_, from = c.args[0].text, to = c.args[1].text;
      auto* store = &svc_.sieve->scripts();
      auto r = co_await run_blocking(*svc_.workers, [&] { return store->rename(user, from, to); });
      if (!r) co_return co_await store_failure(r.error());
      spdlog::info("managesieve renamescript session={} user={} from={} to={}", conn_->id(), user_,
                   log::quote(from), log::quote(to));
      co_return co_await reply("OK", "", "Renamescript completed");
    }
    co_return co_await unknown(c);
  }

  asio::awaitable<bool> unknown(const Command& c) {
    if (++bad_commands_ >= kMaxBadCommands) {
      co_await send(response("BYE", "", "Too many bad commands"));
      co_return false;
    }
    co_return co_await reply("NO", "", "Unknown command " + c.name);
  }

  asio::awaitable<bool> space_reply(sieve::Space space, std::string ok_text) {
    switch (space) {
      case sieve::Space::Ok:
        co_return co_await reply("OK", "", ok_text);
      case sieve::Space::TooBig:
        co_return co_await reply("NO", "QUOTA/MAXSIZE",
                                 "Script too large (at most " +
                                     std::to_string(svc_.sieve->scripts().quota().max_script_size) +
                                     " bytes)");
      case sieve::Space::TooMany:
        co_return co_await reply(
            "NO", "QUOTA/MAXSCRIPTS",
            "Too many scripts (at most " + std::to_string(svc_.sieve->scripts().quota().max_scripts) + ")");
      case sieve::Space::Full:
        co_return co_await reply("NO", "QUOTA", "Script storage full");
    }
    co_return false;
  }

  // A store error as RFC 5804 words it.
  asio::awaitable<bool> store_failure(const Error& e) {
    switch (e.code) {
      case Errc::NotFound:
        co_return co_await reply("NO", "NONEXISTENT", "There is no script by that name");
      case Errc::Exists:
        co_return co_await reply("NO", "ALREADYEXISTS", "A script by that name already exists");
      case Errc::Denied:
        co_return co_await reply("NO", "ACTIVE", "You may not delete an active script");
      case Errc::Invalid:
        co_return co_await reply("NO", "", "Invalid script name");
      case Errc::OverQuota:
        co_return co_await reply("NO", "QUOTA", e.message);
      default:
        spdlog::warn("managesieve store-error session={} user={} error={}", conn_->id(), user_,
                     log::quote(e.message));
        co_return co_await reply("NO", "TRYLATER", "Script storage unavailable; try again later");
    }
  }

  // PUTSCRIPT (with a name) and CHECKSCRIPT (without): compile, then for
  // PUTSCRIPT the quota and the write.
  asio::awaitable<bool> putscript(std::optional<std::string> name, const std::string& text) {
    if (name && !sieve::ScriptStore::valid_name(*name))
      co_return co_await reply("NO", "", "Invalid script name");
    if (text.size() > svc_.sieve->scripts().quota().max_script_size)
      co_return co_await space_reply(sieve::Space::TooBig, "");
    auto* service = svc_.sieve.get();
    auto compiled = co_await run_blocking(*svc_.workers, [&] { return service->check(text); });
    if (!compiled.ok()) {
      std::string msg;
      for (std::size_t i = 0; i < compiled.errors.size() && i < kMaxReportedErrors; ++i) {
        const auto& e = compiled.errors[i];
        if (!msg.empty()) msg += "\r\n";
        msg += "line " + std::to_string(e.pos.line) + ", column " + std::to_string(e.pos.column) + ": " +
               e.message;
      }
      if (compiled.errors.size() > kMaxReportedErrors)
        msg += "\r\n(" + std::to_string(compiled.errors.size() - kMaxReportedErrors) + " more errors)";
      if (msg.empty()) msg = "Script does not compile";
      co_return co_await reply("NO", "", msg);
    }
    std::string warnings;
    for (const auto& w : compiled.script->warnings) warnings += (warnings.empty() ? "" : "\r\n") + w;
    if (name) {
      std::string user = user_, n = *name;
      auto* store = &svc_.sieve->scripts();
      struct Stored {
        sieve::Space space = sieve::Space::Ok;
        Result<void> result;
      };
      auto r = co_await run_blocking(*svc_.workers, [&] {
        Stored s;
        s.space = store->have_space(user, n, text.size());
        if (s.space == sieve::Space::Ok) s.result = store->put(user, n, text);
        return s;
      });
      if (r.space != sieve::Space::Ok) co_return co_await space_reply(r.space, "");
      if (!r.result) co_return co_await store_failure(r.result.error());
      spdlog::info("managesieve putscript session={} user={} name={} bytes={}", conn_->id(), user_,
                   log::quote(n), text.size());
    }
    if (!warnings.empty()) co_return co_await reply("OK", "WARNINGS", warnings);
    co_return co_await reply("OK", "", name ? "Putscript completed" : "Script is valid");
  }

  asio::awaitable<bool> starttls(const Command& c) {
    bool sent = true;
    if (!co_await args_match(c, "", sent)) co_return sent;
    if (!tls_possible()) co_return co_await reply("NO", "", "STARTTLS not available");
    if (!co_await reply("OK", "", "Begin TLS negotiation now")) co_return false;
    std::size_t discarded = 0;
    if (!co_await conn_->start_tls(svc_.tls->current(), seconds(cfg_->limits.tls_handshake_timeout_seconds),
                                   discarded))
      co_return false;
    if (discarded)
      spdlog::warn("managesieve starttls-injection session={} ip={} discarded_bytes={}", conn_->id(),
                   conn_->peer_ip(), discarded);
    // RFC 5804 2.2: the capabilities again, now over TLS.
    co_return co_await send(capabilities() + response("OK", "", "TLS negotiation successful"));
  }

  // AUTHENTICATE mechanism [initial-response] (RFC 5804 2.1): challenges
  // are sent as strings, responses come back as strings; "*" aborts.
  asio::awaitable<bool> authenticate(const Command& c) {
    std::optional<std::string_view> initial;
    if (c.args.size() > 1) initial = c.args[1].text;
    proto::sasl::Exchange sasl;
    auto step = sasl.start(c.args[0].text, initial, proto::sasl::kPlain | proto::sasl::kLogin);
    while (step.kind == proto::sasl::Step::Kind::Challenge) {
      if (!co_await send(string_value(step.challenge) + "\r\n")) co_return false;
      Command r;
      auto got = co_await read_command(r, true);
      if (got == Read::Closed) co_return false;
      if (got == Read::Bad) co_return true;
      if (r.args.size() != 1 || r.args[0].kind != Argument::Kind::String)
        co_return co_await reply("NO", "", "Expected one string as the response");
      step = sasl.respond(r.args[0].text);
    }
    if (step.kind == proto::sasl::Step::Kind::Done)
      co_return co_await login(step.credentials.authcid, step.credentials.password);
    switch (step.failure) {
      case proto::sasl::Failure::UnknownMechanism:
        co_return co_await reply("NO", "", "Unsupported mechanism");
      case proto::sasl::Failure::Cancelled:
        co_return co_await reply("NO", "", "Authentication cancelled");
      case proto::sasl::Failure::AuthzidNotPermitted:
        co_return co_await reply("NO", "", "Authorization identity not permitted");
      default:
        co_return co_await reply("NO", "", "Malformed authentication response");
    }
  }

  asio::awaitable<bool> login(const std::string& login, const std::string& password) {
    auto outcome = co_await check_login(svc_, "managesieve", *conn_, login, password);
    if (outcome.verdict == LoginVerdict::Temp)
      co_return co_await reply("NO", "TRYLATER", "Authentication unavailable; try again later");
    if (outcome.verdict != LoginVerdict::Ok) {
      spdlog::info("managesieve auth-failed session={} ip={} login={}", conn_->id(), conn_->peer_ip(),
                   log::quote(login));
      if (outcome.banned) {
        co_await reply("BYE", "", "Too many failed logins from your address");
        co_return false;
      }
      if (++auth_failures_ >= cfg_->limits.max_auth_failures_per_connection) {
        co_await reply("BYE", "", "Too many failed logins");
        co_return false;
      }
      co_return co_await reply("NO", "", "Authentication failed");
    }
    user_ = outcome.account;
    conn_->mark_authenticated();
    spdlog::info("managesieve login session={} ip={} user={}", conn_->id(), conn_->peer_ip(), user_);
    co_return co_await reply("OK", "", "Logged in");
  }

  std::shared_ptr<Connection> conn_;
  Services& svc_;
  std::shared_ptr<const config::Config> cfg_;
  const config::Listener& listener_;
  CommandParser parser_;
  std::string user_;  // the account once logged in
  uint32_t auth_failures_ = 0;
  uint32_t bad_commands_ = 0;
};

}  // namespace

asio::awaitable<void> run_session(std::shared_ptr<server::Connection> conn, server::Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener) {
  ManageSieveSession session(std::move(conn), services, std::move(cfg), listener);
  co_await session.run();
}

}  // namespace mailfort::managesieve
