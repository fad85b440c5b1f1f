#include "outbound/smtp_client.h"

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <optional>

#include <spdlog/spdlog.h>

#include "base/use_tuple.h"
#include "proto/smtp/client_reply.h"
#include "proto/smtp/data_reader.h"
#include "server/connection.h"

namespace mailfort::outbound {

using server::Connection;

namespace {

using proto::smtp::ServerReply;

// A remote server's reply is bounded (RFC 5321 4.5.3.1.5: 512-octet reply
// lines; EHLO lists a few dozen): at most 200 lines of 8 KiB, so a hostile
// MX cannot make us buffer more than 1.6 MB per connection.
constexpr std::size_t kMaxReplyLine = 8192;
constexpr std::size_t kMaxReplyLines = 200;

class Client {
 public:
  Client(std::shared_ptr<Connection> c, std::chrono::seconds timeout)
      : conn_(std::move(c)), timeout_(timeout) {}

  // One complete reply; code 0 when the connection failed or the reply was malformed.
  asio::awaitable<ServerReply> reply() {
    proto::smtp::ReplyAssembler a;
    std::string line;
    ServerReply out;
    while (true) {
      auto st = co_await conn_->read_line(line, timeout_);
      if (st != Connection::ReadStatus::Line) break;
      auto r = a.feed(line, kMaxReplyLines);
      if (r == proto::smtp::ReplyAssembler::Status::Error) break;
      if (r == proto::smtp::ReplyAssembler::Status::Done) {
        out = a.take();
        break;
      }
    }
    co_return out;
  }
  // By value: GCC 12 may end a temporary argument's life before the
  // coroutine has finished with it.
  asio::awaitable<bool> send(std::string s) {
    bool ok = co_await conn_->write(s);
    co_return ok;
  }
  // Plain statements around co_await: GCC 12 miscompiles some co_await
  // inside conditions and conditional expressions.
  asio::awaitable<ServerReply> command(std::string s) {
    s += "\r\n";
    bool ok = co_await conn_->write(s);
    ServerReply r;
    if (ok) r = co_await reply();
    co_return r;
  }

 private:
  std::shared_ptr<Connection> conn_;
  std::chrono::seconds timeout_;
};

std::string describe(const ServerReply& r, const char* stage) {
  if (r.code == 0) return std::string("connection lost or malformed reply after ") + stage;
  return r.summary() + " (in reply to " + stage + ")";
}

// A refusal (or no reply) at `stage` as a recipient's outcome.
RecipientOutcome refused(const ServerReply& r, const char* stage) {
  return RecipientOutcome::failure(r.permanent(), describe(r, stage));
}

}  // namespace

SmtpSession::SmtpSession(std::shared_ptr<Connection> conn, ClientSettings settings, std::string remote_name)
    : conn_(std::move(conn)), settings_(std::move(settings)), remote_name_(std::move(remote_name)) {}

SmtpSession::~SmtpSession() = default;

// smtp_open()'s steps, in order: connect, greet (greeting and EHLO),
// secure (STARTTLS as the TLS requirement demands), then the session. A
// step that fails returns false with out.error (and for TLS reports
// out.tls_result) set, and the attempt ends there.
class SessionSetup {
 public:
  SessionSetup(std::string remote_name, TlsRequirement tls, std::shared_ptr<tls::ClientContext> tls_ctx,
               std::string helo, ClientSettings settings)
      : remote_name_(std::move(remote_name)),
        tls_(std::move(tls)),
        tls_ctx_(std::move(tls_ctx)),
        helo_(std::move(helo)),
        settings_(std::move(settings)) {}

  // The TCP connection, from [delivery] source_address when that is of the
  // remote's address family, within the connect timeout.
  asio::awaitable<bool> connect(asio::ip::tcp::endpoint remote) {
    auto ex = co_await asio::this_coro::executor;
    // Kept here after the move into the Connection: a timer handler that
    // was already queued when it was cancelled still closes it.
    auto& sock = sock_.emplace(ex);
    std::error_code ec;
    sock.open(remote.protocol(), ec);
    if (!ec && !settings_.source_address.empty()) {
      auto addr = asio::ip::make_address(settings_.source_address, ec);
      if (!ec && addr.is_v4() == remote.address().is_v4()) sock.bind({addr, 0}, ec);
      ec = {};
    }
    if (ec) {
      out.error = "cannot create socket: " + ec.message();
      co_return false;
    }
    asio::steady_timer t(ex, settings_.connect_timeout);
    t.async_wait([&sock](std::error_code e) {
      if (!e) sock.close();
    });
    auto [cec] = co_await sock.async_connect(remote, use_tuple);
    t.cancel();
    if (cec || !sock.is_open()) {
      out.error = "connect to " + remote_name_ + "[" + remote.address().to_string() +
                  "]:" + std::to_string(remote.port()) + " failed: " + (cec ? cec.message() : "timeout");
      co_return false;
    }
    conn_ = std::make_shared<Connection>(std::move(sock), kMaxReplyLine, 0);
    spdlog::debug("smtp-client connected remote={} local={}", remote.address().to_string(),
                  settings_.source_address);
    co_return true;
  }

  // The greeting (a 5xx one is a permanent failure), then EHLO, or HELO
  // when EHLO is refused.
  asio::awaitable<bool> greet() {
    Client c = client();
    auto greeting = co_await c.reply();
    if (greeting.code != 220) {
      out.permanent = greeting.permanent();
      co_await quit_with(describe(greeting, "the greeting"));
      co_return false;
    }
    auto ehlo = co_await c.command("EHLO " + helo_);
    esmtp_ = ehlo.code == 250;
    if (!esmtp_) {
      auto h = co_await c.command("HELO " + helo_);
      if (h.code != 250) {
        out.error = describe(h, "HELO");
        co_return false;
      }
    }
    ext_ = esmtp_ ? proto::smtp::parse_ehlo(ehlo) : proto::smtp::Extensions{};
    co_return true;
  }

  // STARTTLS when the policy attempts TLS and the host offers it; a policy
  // that makes TLS mandatory and cannot have it ends the connection, never
  // a plaintext fallback.
  asio::awaitable<bool> secure() {
    if (tls_.attempt) out.tls_attempted = true;
    const bool offered = ext_.starttls;  // EHLO after STARTTLS no longer lists it
    if (tls_.attempt && offered) {
      bool ok = co_await starttls();
      if (!ok) co_return false;
    } else if (tls_.attempt) {
      out.tls_result = TlsResult::StarttlsNotSupported;
    }
    if (tls_.mandatory && !(tls_.attempt && offered)) {
      co_await quit_with("TLS required by policy " + tls_.policy + " but " + remote_name_ +
                         " does not offer STARTTLS");
      co_return false;
    }
    co_return true;
  }

  SessionOpen finish() {
    out.session = std::make_unique<SmtpSession>(conn_, settings_, remote_name_);
    SmtpSession& s = *out.session;
    s.esmtp_ = esmtp_;
    s.pipelining_ = ext_.pipelining;
    s.smtputf8_ = ext_.smtputf8;
    s.eightbitmime_ = ext_.eightbitmime;
    s.has_size_ = ext_.size.has_value();
    s.size_limit_ = ext_.size ? *ext_.size : 0;
    s.tls_ = std::move(tls_desc_);
    return std::move(out);
  }

  SessionOpen out;

 private:
  Client client() { return Client(conn_, settings_.command_timeout); }

  // Fails the attempt with `error`, saying QUIT to the remote.
  asio::awaitable<void> quit_with(std::string error) {
    out.error = std::move(error);
    Client c = client();
    co_await c.send("QUIT\r\n");
  }

  // The STARTTLS command (refused: StarttlsNotSupported, fatal when TLS is
  // mandatory), the handshake with the policy's verification, EHLO again.
  asio::awaitable<bool> starttls() {
    Client c = client();
    auto st = co_await c.command("STARTTLS");
    if (st.code != 220) {
      out.tls_result = TlsResult::StarttlsNotSupported;
      if (tls_.mandatory) {
        co_await quit_with("STARTTLS refused by " + remote_name_ + ": " + st.summary());
        co_return false;
      }
      co_return true;
    }
    bool ok = co_await handshake();
    if (!ok) co_return false;
    auto ehlo = co_await c.command("EHLO " + helo_);
    if (ehlo.code != 250) {
      out.error = describe(ehlo, "EHLO after STARTTLS");
      co_return false;
    }
    ext_ = proto::smtp::parse_ehlo(ehlo);
    co_return true;
  }

  // The TLS handshake and the certificate check the policy asks for (DANE,
  // CA and name, fingerprint; MTA-STS testing only reports what enforce
  // would have found).
  asio::awaitable<bool> handshake() {
    tls::ClientOutcome to;
    bool ok = co_await conn_->start_tls_client(tls_ctx_, tls_.params, to, settings_.connect_timeout);
    if (!ok) {
      out.error = "TLS handshake with " + remote_name_ + " failed";
      out.tls_result = TlsResult::ValidationFailure;
      co_return false;  // never continue in plaintext on the same connection
    }
    bool needs_verify = tls_.params.verify != tls::ClientParams::Verify::None;
    if (needs_verify && !to.verified) {
      out.tls_result = classify_verify(tls_.params.verify, to.error);
      if (out.tls_result == TlsResult::Success) out.tls_result = TlsResult::ValidationFailure;
      co_await quit_with("TLS policy " + tls_.policy + " not met by " + remote_name_ + ": " + to.why);
      co_return false;
    }
    // MTA-STS testing: what enforce would have found (delivery goes on).
    if (!needs_verify && !tls_.params.report_names.empty())
      out.tls_result = classify_verify(tls_.params.verify, to.error);
    tls_desc_ = to.version + " " + to.cipher + (to.verified ? " verified" : " unverified");
    co_return true;
  }

  std::string remote_name_;
  TlsRequirement tls_;
  std::shared_ptr<tls::ClientContext> tls_ctx_;
  std::string helo_;
  ClientSettings settings_;
  std::optional<asio::ip::tcp::socket> sock_;
  std::shared_ptr<Connection> conn_;
  bool esmtp_ = false;
  proto::smtp::Extensions ext_;
  std::string tls_desc_;  // "TLSv1.3 TLS_AES_256_GCM_SHA384 verified", "" without TLS
};

asio::awaitable<SessionOpen> smtp_open(asio::ip::tcp::endpoint remote, std::string remote_name,
                                       TlsRequirement tls_req, std::shared_ptr<tls::ClientContext> tls_ctx,
                                       std::string helo, ClientSettings settings) {
  SessionSetup s(std::move(remote_name), std::move(tls_req), std::move(tls_ctx), std::move(helo),
                 std::move(settings));
  bool ok = co_await s.connect(remote);
  if (ok) ok = co_await s.greet();
  if (ok) ok = co_await s.secure();
  if (!ok) co_return std::move(s.out);
  co_return s.finish();
}

asio::awaitable<HostOutcome> SmtpSession::transaction(ClientTransaction tx) {
  HostOutcome out;
  out.tls = tls_;
  out.recipients.resize(tx.recipients.size());
  Client c(conn_, settings_.command_timeout);
  ++transactions_;
  if (!usable_) {
    out.error = "connection to " + remote_name_ + " no longer usable";
    out.lost_before_mail = true;
    co_return out;
  }
  if (tx.smtputf8 && !smtputf8_) {
    out.permanent = true;
    out.error = "550 5.6.7 " + remote_name_ + " does not support SMTPUTF8, which this message needs";
    co_return out;
  }
  if (has_size_ && size_limit_ > 0 && tx.message->size() > size_limit_) {
    out.permanent = true;
    out.error = "552 5.3.4 message larger than " + remote_name_ + " accepts (SIZE " +
                std::to_string(size_limit_) + ")";
    co_return out;
  }
  std::string mail = "MAIL FROM:<" + tx.sender + ">";
  if (has_size_) mail += " SIZE=" + std::to_string(tx.message->size());
  if (tx.eight_bit && eightbitmime_) mail += " BODY=8BITMIME";
  if (tx.smtputf8) mail += " SMTPUTF8";
  std::vector<std::string> cmds{mail};
  for (auto& r : tx.recipients) cmds.push_back("RCPT TO:<" + r + ">");
  cmds.push_back("DATA");
  std::vector<ServerReply> replies;
  if (pipelining_) {
    // RFC 2920: MAIL, every RCPT and DATA in one write, replies in order.
    std::string batch;
    for (auto& cmd : cmds) batch += cmd + "\r\n";
    bool sent = co_await c.send(batch);
    if (!sent) {
      out.error = "connection lost while sending the envelope";
      out.lost_before_mail = true;
      usable_ = false;
      co_return out;
    }
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      auto r = co_await c.reply();
      replies.push_back(r);
      if (r.code == 0) break;  // connection gone: no more replies will come
    }
  } else {
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      auto r = co_await c.command(cmds[i]);  // not inside a call's arguments (GCC 12)
      replies.push_back(r);
      if (replies.back().code == 0) break;
      if (i == 0 && replies[0].code != 250) break;
      if (i + 2 == cmds.size()) {
        bool any = false;
        for (std::size_t k = 1; k <= tx.recipients.size(); ++k) any = any || replies[k].code / 100 == 2;
        if (!any) break;
      }
    }
  }
  auto& mail_reply = replies[0];
  if (mail_reply.code != 250) {
    out.error = describe(mail_reply, "MAIL FROM");
    out.permanent = mail_reply.permanent();
    if (mail_reply.code == 0) {
      out.lost_before_mail = true;
      usable_ = false;
      co_return out;
    }
    bool in_data = replies.size() == cmds.size() && replies.back().code == 354;
    co_await abandon(in_data);
    co_return out;
  }
  out.session_ok = true;
  std::vector<std::size_t> accepted;
  for (std::size_t i = 0; i < tx.recipients.size(); ++i) {
    auto& o = out.recipients[i];
    if (i + 1 >= replies.size()) {
      o = {RecipientOutcome::Kind::Temp, "not attempted"};
      continue;
    }
    auto& r = replies[i + 1];
    if (r.code / 100 == 2) {
      accepted.push_back(i);
    } else {
      o = refused(r, "RCPT TO");
      if (r.code == 0) usable_ = false;
    }
  }
  if (!usable_) co_return out;
  bool data_sent = replies.size() == cmds.size();
  if (accepted.empty()) {
    bool in_data = data_sent && replies.back().code == 354;
    co_await abandon(in_data);
    co_return out;
  }
  if (!data_sent) {
    auto r = co_await c.command("DATA");
    replies.push_back(r);
  }
  auto& data_reply = replies.back();
  if (data_reply.code != 354) {
    for (auto i : accepted) out.recipients[i] = refused(data_reply, "DATA");
    if (data_reply.code == 0) {
      usable_ = false;
      co_return out;
    }
    co_await abandon(false);
    co_return out;
  }
  ServerReply final_reply;
  bool sent = co_await c.send(proto::smtp::dot_stuff(*tx.message));
  if (sent) final_reply = co_await c.reply();
  if (final_reply.code == 0) usable_ = false;
  for (auto i : accepted) {
    if (final_reply.code / 100 == 2)
      out.recipients[i] = {RecipientOutcome::Kind::Delivered, final_reply.summary()};
    else
      out.recipients[i] = refused(final_reply, "end of data");
  }
  co_return out;
}

asio::awaitable<void> SmtpSession::abandon(bool in_data) {
  Client c(conn_, settings_.command_timeout);
  if (in_data) {
    co_await c.send(".\r\n");
    (void)co_await c.reply();
  }
  auto rset = co_await c.command("RSET");
  usable_ = rset.code == 250;
}

asio::awaitable<void> SmtpSession::quit() {
  if (usable_) {
    Client c(conn_, settings_.command_timeout);
    (void)co_await c.command("QUIT");
  }
  usable_ = false;
  co_await conn_->shutdown();
}

}  // namespace mailfort::outbound
