#include "server/imap_session.h"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "base/log.h"
#include "directory/directory.h"
#include "proto/imap/command.h"
#include "proto/smtp/sasl.h"
#include "server/auth.h"
#include "server/blocking.h"
#include "server/connection.h"
#include "server/imap_render.h"
#include "server/services.h"
#include "store/mailbox.h"
#include "tls/context.h"

namespace mailfort::server {
namespace {

using namespace proto::imap;
using std::chrono::seconds;
using store::MessageMeta;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

enum class State { NotAuthenticated, Authenticated, Selected, Logout };

// Wakes an IDLE session when its mailbox changes; outlives the session's
// watch registration safely (the watcher holds a weak reference).
struct Wake {
  explicit Wake(asio::any_io_executor ex) : timer(ex), executor(ex) {}
  asio::steady_timer timer;
  asio::any_io_executor executor;
  std::atomic<bool> dirty{false};
};

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

class ImapSession {
 public:
  ImapSession(std::shared_ptr<Connection> conn, Services& services, std::shared_ptr<const config::Config> cfg,
              const config::Listener& l)
      : conn_(std::move(conn)), svc_(services), cfg_(std::move(cfg)), listener_(l) {}

  ~ImapSession() {
    if (mailbox_ && watch_token_) mailbox_->unwatch(watch_token_);
    if (!user_ip_key_.empty()) svc_.release_user_ip(user_ip_key_);
  }

  asio::awaitable<void> run();

 private:
  // ---- output
  void untagged(std::string_view s) {
    out_ += "* ";
    out_ += s;
    out_ += "\r\n";
  }
  asio::awaitable<bool> flush() {
    if (out_.empty()) co_return true;
    std::string data;
    data.swap(out_);
    co_return co_await conn_->write(data);
  }
  // Arguments by value: GCC 12 may end a temporary argument's life before
  // the coroutine is done with it.
  asio::awaitable<bool> tagged(std::string tag, std::string status, std::string text) {
    out_ += tag + " " + status + " " + text + "\r\n";
    co_return co_await flush();
  }

  std::string capabilities() const;
  bool tls_ok() const { return conn_->is_tls(); }
  seconds idle_timeout() const {
    return seconds(state_ == State::NotAuthenticated ? cfg_->limits.idle_timeout_seconds
                                                     : cfg_->imap.idle_timeout_seconds);
  }

  // Mailbox names on the wire: modified UTF-7 unless UTF8=ACCEPT.
  std::string wire_name(const std::string& utf8) const { return utf8_ ? utf8 : mutf7_encode(utf8); }
  std::string from_wire(const std::string& name) const {
    if (utf8_) return name;
    auto d = mutf7_decode(name);
    return d ? *d : name;
  }

  template <class F>
  auto blocking(F fn) {
    return run_blocking(*svc_.workers, std::move(fn));
  }

  // ---- reading
  struct Incoming {
    std::string text;
    bool closed = false;
    bool error = false;  // answered already (BAD), continue
  };
  asio::awaitable<Incoming> read_command();

  // ---- command handlers
  asio::awaitable<bool> dispatch(Command& c);
  asio::awaitable<bool> cmd_starttls(Command& c);
  asio::awaitable<bool> cmd_login(Command& c);
  asio::awaitable<bool> cmd_authenticate(Command& c);
  asio::awaitable<bool> login_done(const std::string& tag, const std::string& login,
                                   const std::string& password);
  asio::awaitable<bool> cmd_select(Command& c);
  asio::awaitable<bool> cmd_create(Command& c);
  asio::awaitable<bool> cmd_delete(Command& c);
  asio::awaitable<bool> cmd_rename(Command& c);
  asio::awaitable<bool> cmd_subscribe(Command& c, bool on);
  asio::awaitable<bool> cmd_list(Command& c);
  asio::awaitable<bool> cmd_status(Command& c);
  asio::awaitable<bool> cmd_append(Command& c);
  asio::awaitable<bool> cmd_quota(Command& c);
  asio::awaitable<bool> cmd_fetch(Command& c);
  asio::awaitable<bool> cmd_store(Command& c);
  asio::awaitable<bool> cmd_copy(Command& c, bool move);
  asio::awaitable<bool> cmd_expunge(Command& c);
  asio::awaitable<bool> cmd_search(Command& c);
  asio::awaitable<bool> cmd_idle(Command& c);
  asio::awaitable<bool> cmd_close(Command& c, bool expunge);

  // ---- selected-state helpers
  void deselect();
  // Reports other sessions' changes (new mail, flags; expunges only when
  // `allow_expunge`, RFC 9051 7.5.1).
  asio::awaitable<void> updates(bool allow_expunge);
  // Message numbers (1-based) addressed by a set; UIDs when `uid`.
  std::vector<uint32_t> resolve(const SequenceSet& set, bool uid) const;
  uint32_t seq_of_uid(uint32_t uid) const {
    auto it = std::lower_bound(view_.begin(), view_.end(), uid,
                               [](const MessageMeta& m, uint32_t u) { return m.uid < u; });
    return it != view_.end() && it->uid == uid ? static_cast<uint32_t>(it - view_.begin() + 1) : 0;
  }
  std::string status_line(const store::FolderStatus& f, const StatusItems& items);

  std::shared_ptr<Connection> conn_;
  Services& svc_;
  std::shared_ptr<const config::Config> cfg_;
  const config::Listener& listener_;
  std::string out_;
  State state_ = State::NotAuthenticated;
  std::string user_, user_ip_key_;
  std::shared_ptr<store::UserMailbox> mailbox_;
  std::shared_ptr<Wake> wake_;
  uint64_t watch_token_ = 0;
  uint32_t auth_failures_ = 0;
  bool utf8_ = false, rev2_ = false, condstore_ = false;

  // Selected folder
  int64_t folder_ = 0;
  std::string folder_name_;
  bool read_only_ = false;
  std::vector<MessageMeta> view_;  // by ascending UID; index = seq - 1
  uint64_t modseq_seen_ = 0;
  uint32_t uidvalidity_ = 0;
};

std::string ImapSession::capabilities() const {
  std::string caps = "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE";
  if (state_ == State::NotAuthenticated) {
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

asio::awaitable<ImapSession::Incoming> ImapSession::read_command() {
  Incoming in;
  std::string line;
  uint64_t literal_total = 0;
  while (true) {
    auto st = co_await conn_->read_line(line, idle_timeout());
    if (st == Connection::ReadStatus::Closed) {
      in.closed = true;
      co_return in;
    }
    if (st == Connection::ReadStatus::Timeout) {
      untagged("BYE Autologout; idle for too long");
      co_await flush();
      in.closed = true;
      co_return in;
    }
    if (st != Connection::ReadStatus::Line) {
      untagged(st == Connection::ReadStatus::TooLong ? "BAD Command line too long"
                                                     : "BAD Lines must end with CRLF");
      in.error = true;
      if (!co_await flush()) in.closed = true;
      co_return in;
    }
    in.text += line;
    if (in.text.size() > cfg_->imap.max_command_size + literal_total) {
      untagged("BAD Command too long");
      co_await flush();
      in.closed = true;  // cannot resynchronise safely
      co_return in;
    }
    auto lit = trailing_literal(line);
    if (!lit) co_return in;
    // Only APPEND's message may use the big literal limit; everything else
    // counts against the command size (many large literals, CVE-2024-34055).
    bool is_append = false;
    {
      auto sp1 = in.text.find(' ');
      if (sp1 != std::string::npos) {
        std::string verb = in.text.substr(sp1 + 1, 7);
        for (auto& ch : verb) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        is_append = verb == "APPEND ";
      }
    }
    // Before login nothing needs more than a password: 64 KiB for every
    // literal and for the whole command, so an unauthenticated client
    // cannot make the server buffer megabytes.
    bool authed = state_ != State::NotAuthenticated;
    uint64_t command_cap =
        authed ? cfg_->imap.max_command_size : std::min<uint64_t>(cfg_->imap.max_command_size, 65536);
    uint64_t limit = is_append && authed ? cfg_->imap.max_literal_size : command_cap;
    bool too_big = lit->size > limit || ((!is_append || !authed) && in.text.size() + lit->size > command_cap);
    std::string tag = in.text.substr(0, in.text.find(' '));
    if (too_big) {
      if (lit->non_sync) {
        // The client sends it anyway: we cannot stay in sync (RFC 7888 4).
        untagged("BYE [TOOBIG] Literal too large");
        co_await flush();
        in.closed = true;
        co_return in;
      }
      out_ += tag + " NO [TOOBIG] Literal too large\r\n";
      in.error = true;
      if (!co_await flush()) in.closed = true;
      co_return in;
    }
    if (!lit->non_sync) {
      out_ += "+ OK\r\n";
      if (!co_await flush()) {
        in.closed = true;
        co_return in;
      }
    }
    // Big literals count against the server-wide in-flight budget.
    bool reserved = false;
    if (lit->size > 65536) {
      if (!svc_.reserve_message_bytes(lit->size, cfg_->smtp.max_inflight_message_bytes)) {
        untagged("BYE [UNAVAILABLE] Server busy; try again later");
        co_await flush();
        in.closed = true;
        co_return in;
      }
      reserved = true;
    }
    in.text += "\r\n";
    std::size_t want = static_cast<std::size_t>(lit->size);
    std::string chunk;
    while (want > 0) {
      auto rs = co_await conn_->read_raw(chunk, want, idle_timeout());
      if (rs != Connection::ReadStatus::Line) {
        if (reserved) svc_.release_message_bytes(lit->size);
        in.closed = true;
        co_return in;
      }
      in.text += chunk;
      want -= chunk.size();
    }
    if (reserved) svc_.release_message_bytes(lit->size);
    literal_total += lit->size;
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
  wake_ = std::make_shared<Wake>(co_await asio::this_coro::executor);
  untagged("OK [CAPABILITY " + capabilities() + "] " + cfg_->hostname + " Mailfort IMAP ready");
  if (!co_await flush()) co_return;
  while (state_ != State::Logout) {
    auto in = co_await read_command();
    if (in.closed) break;
    if (in.error) continue;
    auto parsed = parse_command(in.text);
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

asio::awaitable<bool> ImapSession::dispatch(Command& c) {
  const std::string& n = c.name;
  const std::string& tag = c.tag;
  // Commands valid in any state.
  if (n == "CAPABILITY") {
    untagged("CAPABILITY " + capabilities());
    co_return co_await tagged(tag, "OK", "CAPABILITY completed");
  }
  if (n == "NOOP" || n == "CHECK") {
    if (n == "CHECK" && state_ != State::Selected)
      co_return co_await tagged(tag, "BAD", "No mailbox selected");
    if (state_ == State::Selected) co_await updates(true);
    co_return co_await tagged(tag, "OK", n + " completed");
  }
  if (n == "LOGOUT") {
    untagged("BYE Logging out");
    state_ = State::Logout;
    co_await tagged(tag, "OK", "LOGOUT completed");
    co_return false;
  }
  if (n == "ID") {
    untagged("ID (\"name\" \"Mailfort\")");
    co_return co_await tagged(tag, "OK", "ID completed");
  }
  if (state_ == State::NotAuthenticated) {
    if (n == "STARTTLS") co_return co_await cmd_starttls(c);
    if (n == "LOGIN") co_return co_await cmd_login(c);
    if (n == "AUTHENTICATE") co_return co_await cmd_authenticate(c);
    co_return co_await tagged(tag, "BAD", "Log in first");
  }
  if (n == "STARTTLS" || n == "LOGIN" || n == "AUTHENTICATE")
    co_return co_await tagged(tag, "BAD", "Already authenticated");
  if (n == "ENABLE") {
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
    co_return co_await tagged(tag, "OK", "ENABLE completed");
  }
  if (n == "SELECT" || n == "EXAMINE") co_return co_await cmd_select(c);
  if (n == "CREATE") co_return co_await cmd_create(c);
  if (n == "DELETE") co_return co_await cmd_delete(c);
  if (n == "RENAME") co_return co_await cmd_rename(c);
  if (n == "SUBSCRIBE" || n == "UNSUBSCRIBE") co_return co_await cmd_subscribe(c, n == "SUBSCRIBE");
  if (n == "LIST" || n == "LSUB") co_return co_await cmd_list(c);
  if (n == "STATUS") co_return co_await cmd_status(c);
  if (n == "APPEND") co_return co_await cmd_append(c);
  if (n == "NAMESPACE") {
    untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
    co_return co_await tagged(tag, "OK", "NAMESPACE completed");
  }
  if (n == "GETQUOTA" || n == "GETQUOTAROOT") co_return co_await cmd_quota(c);
  if (n == "IDLE") co_return co_await cmd_idle(c);
  if (state_ != State::Selected) co_return co_await tagged(tag, "BAD", "No mailbox selected");
  if (n == "FETCH") co_return co_await cmd_fetch(c);
  if (n == "STORE") co_return co_await cmd_store(c);
  if (n == "COPY") co_return co_await cmd_copy(c, false);
  if (n == "MOVE") co_return co_await cmd_copy(c, true);
  if (n == "EXPUNGE") co_return co_await cmd_expunge(c);
  if (n == "SEARCH") co_return co_await cmd_search(c);
  if (n == "CLOSE") co_return co_await cmd_close(c, true);
  if (n == "UNSELECT") co_return co_await cmd_close(c, false);
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
  auto outcome = co_await check_login(svc_, "imap", conn_->peer_ip(), login, password);
  if (outcome.verdict == LoginVerdict::Temp)
    co_return co_await tagged(tag, "NO", "[UNAVAILABLE] Authentication temporarily unavailable");
  if (outcome.verdict != LoginVerdict::Ok) {
    spdlog::info("imap auth-failed session={} ip={} login={}", conn_->id(), conn_->peer_ip(),
                 log::quote(login));
    if (outcome.banned || ++auth_failures_ >= cfg_->limits.max_auth_failures_per_connection) {
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
  mailbox_ = *opened;
  std::weak_ptr<Wake> weak = wake_;
  watch_token_ = mailbox_->watch([weak] {
    if (auto w = weak.lock()) {
      w->dirty = true;
      asio::post(w->executor, [weak] {
        if (auto w2 = weak.lock()) w2->timer.cancel();
      });
    }
  });
  user_ = account;
  state_ = State::Authenticated;
  spdlog::info("imap login session={} ip={} user={}", conn_->id(), conn_->peer_ip(), user_);
  co_return co_await tagged(tag, "OK", "[CAPABILITY " + capabilities() + "] Logged in");
}

void ImapSession::deselect() {
  folder_ = 0;
  view_.clear();
  folder_name_.clear();
  state_ = State::Authenticated;
}

asio::awaitable<bool> ImapSession::cmd_select(Command& c) {
  bool had = state_ == State::Selected;
  deselect();
  if (had) untagged("OK [CLOSED] Previous mailbox closed");
  std::string name = from_wire(c.args[0]);
  auto* mb = mailbox_.get();
  struct Selected {
    store::FolderStatus status;
    std::vector<MessageMeta> messages;
    std::vector<std::string> keywords;
  };
  auto r = co_await blocking([&]() -> Result<Selected> {
    if (strcasecmp(name.c_str(), "INBOX") == 0) (void)mb->sync_inbox();
    auto st = mb->status(name);
    if (!st) return st.error();
    Selected s;
    s.status = *st;
    auto msgs = mb->messages(st->id);
    if (!msgs) return msgs.error();
    s.messages = std::move(*msgs);
    auto kw = mb->keywords(st->id);
    if (kw) s.keywords = std::move(*kw);
    return s;
  });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + "Mailbox does not exist");
  if (c.condstore) condstore_ = true;
  folder_ = r->status.id;
  folder_name_ = r->status.name;
  view_ = std::move(r->messages);
  modseq_seen_ = r->status.highest_modseq;
  uidvalidity_ = r->status.uidvalidity;
  read_only_ = c.name == "EXAMINE";
  state_ = State::Selected;
  std::string kw;
  for (auto& k : r->keywords) kw += " " + k;
  untagged(std::to_string(view_.size()) + " EXISTS");
  if (!rev2_) untagged("0 RECENT");
  untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + ")");
  untagged(std::string("OK [PERMANENTFLAGS (") +
           (read_only_ ? "" : "\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + " \\*") +
           ")] Flags permitted");
  if (!rev2_) {
    for (std::size_t i = 0; i < view_.size(); ++i) {
      if (!(view_[i].flags & store::kSeen)) {
        untagged("OK [UNSEEN " + std::to_string(i + 1) + "] First unseen");
        break;
      }
    }
  }
  untagged("OK [UIDVALIDITY " + std::to_string(uidvalidity_) + "] UIDs valid");
  untagged("OK [UIDNEXT " + std::to_string(r->status.uidnext) + "] Predicted next UID");
  untagged("OK [HIGHESTMODSEQ " + std::to_string(modseq_seen_) + "] Highest");
  if (rev2_) untagged("LIST () \"/\" " + quote(wire_name(folder_name_)));
  co_return co_await tagged(c.tag, "OK",
                            read_only_ ? "[READ-ONLY] EXAMINE completed" : "[READ-WRITE] SELECT completed");
}

asio::awaitable<bool> ImapSession::cmd_create(Command& c) {
  std::string name = from_wire(c.args[0]);
  while (!name.empty() && name.back() == '/') name.pop_back();  // "foo/" creates "foo"
  std::string use;
  for (auto& f : c.special_use) {
    static const char* allowed[] = {"\\Sent",    "\\Trash", "\\Junk",   "\\Drafts",
                                    "\\Archive", "\\All",   "\\Flagged"};
    bool ok = false;
    for (auto* a : allowed) ok = ok || strcasecmp(a, f.c_str()) == 0;
    if (!ok) co_return co_await tagged(c.tag, "NO", "[USEATTR] Unsupported special-use attribute");
    use = f;
  }
  if (strcasecmp(name.c_str(), "INBOX") == 0)
    co_return co_await tagged(c.tag, "NO", "[ALREADYEXISTS] INBOX always exists");
  auto* mb = mailbox_.get();
  auto r = co_await blocking([&] { return mb->create(name, use); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  co_return co_await tagged(c.tag, "OK", "CREATE completed");
}

asio::awaitable<bool> ImapSession::cmd_delete(Command& c) {
  std::string name = from_wire(c.args[0]);
  if (state_ == State::Selected && name == folder_name_) deselect();
  auto* mb = mailbox_.get();
  auto r = co_await blocking([&] { return mb->remove(name); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  co_return co_await tagged(c.tag, "OK", "DELETE completed");
}

asio::awaitable<bool> ImapSession::cmd_rename(Command& c) {
  std::string from = from_wire(c.args[0]), to = from_wire(c.args[1]);
  auto* mb = mailbox_.get();
  auto r = co_await blocking([&] { return mb->rename(from, to); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  if (state_ == State::Selected && (folder_name_ == from || folder_name_.starts_with(from + "/"))) deselect();
  co_return co_await tagged(c.tag, "OK", "RENAME completed");
}

asio::awaitable<bool> ImapSession::cmd_subscribe(Command& c, bool on) {
  std::string name = from_wire(c.args[0]);
  auto* mb = mailbox_.get();
  auto r = co_await blocking([&] { return mb->subscribe(name, on); });
  if (!r && on) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + "No such mailbox");
  co_return co_await tagged(c.tag, "OK", on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

std::string ImapSession::status_line(const store::FolderStatus& f, const StatusItems& s) {
  std::string items;
  auto add = [&](const char* k, uint64_t v) {
    items += (items.empty() ? "" : " ") + std::string(k) + " " + std::to_string(v);
  };
  if (s.messages) add("MESSAGES", f.messages);
  if (s.recent) add("RECENT", 0);
  if (s.uidnext) add("UIDNEXT", f.uidnext);
  if (s.uidvalidity) add("UIDVALIDITY", f.uidvalidity);
  if (s.unseen) add("UNSEEN", f.unseen);
  if (s.deleted) add("DELETED", f.deleted);
  if (s.size) add("SIZE", f.size);
  if (s.highestmodseq) add("HIGHESTMODSEQ", f.highest_modseq);
  return "STATUS " + quote(wire_name(f.name)) + " (" + items + ")";
}

asio::awaitable<bool> ImapSession::cmd_list(Command& c) {
  auto& l = c.list;
  bool lsub = c.name == "LSUB";
  if (!lsub && l.patterns.size() == 1 && l.patterns[0].empty() && !l.extended) {
    untagged("LIST (\\Noselect) \"/\" \"\"");
    co_return co_await tagged(c.tag, "OK", "LIST completed");
  }
  auto* mb = mailbox_.get();
  auto folders = co_await blocking([&] {
    (void)mb->sync_inbox();
    return mb->folders();
  });
  if (!folders) co_return co_await tagged(c.tag, "NO", "[UNAVAILABLE] Cannot list folders");
  std::set<std::string> names;
  for (auto& f : *folders) names.insert(f.name);
  std::string ref = from_wire(l.reference);
  for (auto& f : *folders) {
    bool matched = false;
    for (auto& p : l.patterns) {
      std::string pat = ref + from_wire(p);
      if (list_match(pat, f.name, '/') ||
          (strcasecmp(f.name.c_str(), "INBOX") == 0 && list_match(pat, "INBOX", '/')) ||
          (f.name == "INBOX" && strcasecmp(pat.c_str(), "inbox") == 0))
        matched = true;
    }
    if (!matched) continue;
    if ((l.subscribed || lsub) && !f.subscribed) continue;
    bool children = false;
    for (auto it = names.upper_bound(f.name); it != names.end() && it->starts_with(f.name + "/"); ++it)
      children = true;
    std::string attrs;
    auto add = [&](const std::string& a) { attrs += (attrs.empty() ? "" : " ") + a; };
    if (!lsub) add(children ? "\\HasChildren" : "\\HasNoChildren");
    if (!lsub && l.subscribed && f.subscribed)
      add("\\Subscribed");
    else if (!lsub && l.return_subscribed && f.subscribed)
      add("\\Subscribed");
    if (!f.special_use.empty() && !lsub) add(f.special_use);
    if (l.special_use && f.special_use.empty()) continue;
    untagged(std::string(lsub ? "LSUB" : "LIST") + " (" + attrs + ") \"/\" " + quote(wire_name(f.name)));
    if (l.return_status) untagged(status_line(f, *l.return_status));
  }
  co_return co_await tagged(c.tag, "OK", lsub ? "LSUB completed" : "LIST completed");
}

asio::awaitable<bool> ImapSession::cmd_status(Command& c) {
  std::string name = from_wire(c.args[0]);
  auto* mb = mailbox_.get();
  auto st = co_await blocking([&] {
    if (strcasecmp(name.c_str(), "INBOX") == 0) (void)mb->sync_inbox();
    return mb->status(name);
  });
  if (!st) co_return co_await tagged(c.tag, "NO", error_code(st.error()) + "Mailbox does not exist");
  untagged(status_line(*st, c.status));
  co_return co_await tagged(c.tag, "OK", "STATUS completed");
}

asio::awaitable<bool> ImapSession::cmd_append(Command& c) {
  std::string name = from_wire(c.args[0]);
  uint32_t bits = 0;
  std::vector<std::string> kw;
  if (!split_flags(c.flags, bits, kw)) co_return co_await tagged(c.tag, "BAD", "Invalid flag");
  if (c.literal.size() > cfg_->imap.max_literal_size)
    co_return co_await tagged(c.tag, "NO", "[TOOBIG] Message too large");
  auto* mb = mailbox_.get();
  int64_t date = c.append_date.value_or(0);
  std::string message = imap::append_form(c.literal);  // bare LF -> CRLF: sizes match BODY[]
  auto r = co_await blocking([&] { return mb->append(name, message, bits, kw, date); });
  if (!r) {
    if (r.error().code == Errc::NotFound)
      co_return co_await tagged(c.tag, "NO", "[TRYCREATE] Mailbox does not exist");
    co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  }
  if (state_ == State::Selected) co_await updates(false);
  co_return co_await tagged(
      c.tag, "OK",
      "[APPENDUID " + std::to_string(r->uidvalidity) + " " + std::to_string(r->uid) + "] APPEND completed");
}

asio::awaitable<bool> ImapSession::cmd_quota(Command& c) {
  auto* mb = mailbox_.get();
  uint64_t used = co_await blocking([&] { return mb->usage(); });
  uint64_t limit = mb->quota();
  if (c.name == "GETQUOTAROOT") {
    untagged("QUOTAROOT " + quote(c.args[0]) + (limit ? " \"\"" : ""));
  } else if (!c.args[0].empty()) {
    co_return co_await tagged(c.tag, "NO", "[NONEXISTENT] No such quota root");
  }
  if (limit)
    untagged("QUOTA \"\" (STORAGE " + std::to_string((used + 1023) / 1024) + " " +
             std::to_string(limit / 1024) + ")");
  co_return co_await tagged(c.tag, "OK", c.name + " completed");
}

std::vector<uint32_t> ImapSession::resolve(const SequenceSet& set, bool uid) const {
  std::vector<uint32_t> out;
  if (view_.empty()) return out;
  if (uid) {
    uint32_t max_uid = view_.back().uid;
    for (auto& m : view_)
      if (set.contains(m.uid, max_uid)) out.push_back(static_cast<uint32_t>(&m - view_.data() + 1));
    return out;
  }
  uint32_t n = static_cast<uint32_t>(view_.size());
  std::vector<bool> in(n + 1, false);
  for (auto r : set.ranges) {
    uint32_t lo = r.lo == SequenceSet::kStar ? n : r.lo, hi = r.hi == SequenceSet::kStar ? n : r.hi;
    if (lo > hi) std::swap(lo, hi);
    for (uint32_t i = lo; i <= std::min(hi, n); ++i) in[i] = true;
  }
  for (uint32_t i = 1; i <= n; ++i)
    if (in[i]) out.push_back(i);
  return out;
}

bool valid_seqs(const SequenceSet& set, std::size_t n) {
  for (auto r : set.ranges) {
    if ((r.lo != SequenceSet::kStar && r.lo > n) || (r.hi != SequenceSet::kStar && r.hi > n)) return false;
  }
  return n > 0 || set.ranges.empty();
}

asio::awaitable<void> ImapSession::updates(bool allow_expunge) {
  if (state_ != State::Selected) co_return;
  wake_->dirty = false;
  auto* mb = mailbox_.get();
  int64_t folder = folder_;
  uint64_t since = modseq_seen_;
  bool inbox = folder_name_ == "INBOX";
  auto ch = co_await blocking([&] {
    if (inbox) (void)mb->sync_inbox();
    return mb->changes_since(folder, since);
  });
  if (!ch) co_return;
  bool expunges_pending = false;
  if (!ch->expunged.empty()) {
    if (allow_expunge) {
      for (uint32_t uid : ch->expunged) {
        uint32_t seq = seq_of_uid(uid);
        if (!seq) continue;
        view_.erase(view_.begin() + (seq - 1));
        untagged(std::to_string(seq) + " EXPUNGE");
      }
    } else {
      for (uint32_t uid : ch->expunged) expunges_pending = expunges_pending || seq_of_uid(uid) != 0;
    }
  }
  uint32_t last_uid = view_.empty() ? 0 : view_.back().uid;
  std::size_t before = view_.size();
  for (auto& m : ch->changed) {
    if (m.uid > last_uid) {
      view_.push_back(m);
      continue;
    }
    uint32_t seq = seq_of_uid(m.uid);
    if (!seq) continue;
    auto& v = view_[seq - 1];
    bool flags_changed = v.flags != m.flags || v.keywords != m.keywords;
    v = m;
    if (flags_changed || condstore_) {
      std::string line = std::to_string(seq) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS " +
                         flags_text(m.flags, m.keywords);
      if (condstore_) line += " MODSEQ (" + std::to_string(m.modseq) + ")";
      untagged(line + ")");
    }
  }
  if (view_.size() != before) untagged(std::to_string(view_.size()) + " EXISTS");
  if (!expunges_pending) modseq_seen_ = ch->highest_modseq;
}

asio::awaitable<bool> ImapSession::cmd_fetch(Command& c) {
  if (!c.uid && !valid_seqs(c.set, view_.size()))
    co_return co_await tagged(c.tag, "BAD", "Invalid message sequence number");
  auto seqs = resolve(c.set, c.uid);
  bool needs_text = false, needs_cache = false, sets_seen = false, wants_flags = false, wants_uid = c.uid;
  bool wants_modseq = c.changed_since.has_value();
  for (auto& it : c.fetch) {
    using K = FetchItem::Kind;
    switch (it.kind) {
      case K::BodySection:
      case K::BinarySection:
      case K::BinarySize:
      case K::Rfc822:
      case K::Rfc822Header:
      case K::Rfc822Text:
        needs_text = true;
        if ((it.kind == K::BodySection || it.kind == K::BinarySection) && !it.peek) sets_seen = true;
        if (it.kind == K::Rfc822 || it.kind == K::Rfc822Text) sets_seen = true;
        break;
      case K::Envelope:
      case K::Body:
      case K::BodyStructure:
        needs_cache = true;
        break;
      case K::Flags:
        wants_flags = true;
        break;
      case K::Uid:
        wants_uid = true;
        break;
      case K::ModSeq:
        wants_modseq = true;
        break;
      default:
        break;
    }
  }
  if (wants_modseq) condstore_ = true;
  if (read_only_) sets_seen = false;
  auto* mb = mailbox_.get();
  int64_t folder = folder_;
  // Mark \Seen first so the FETCH responses carry the new flags.
  if (sets_seen) {
    std::vector<uint32_t> unseen;
    for (uint32_t s : seqs)
      if (!(view_[s - 1].flags & store::kSeen)) unseen.push_back(view_[s - 1].uid);
    if (!unseen.empty()) {
      auto r = co_await blocking([&] {
        return mb->store_flags(folder, unseen, store::UserMailbox::FlagMode::Add, store::kSeen, {},
                               std::nullopt);
      });
      if (r) {
        for (auto& m : r->updated) {
          uint32_t s = seq_of_uid(m.uid);
          if (s) view_[s - 1] = m;
        }
        wants_flags = true;
      }
    }
  }
  // Work in batches so a FETCH 1:* of a large folder streams out with
  // bounded memory.
  constexpr std::size_t kBatch = 64;
  for (std::size_t b = 0; b < seqs.size(); b += kBatch) {
    std::vector<uint32_t> batch(seqs.begin() + b, seqs.begin() + std::min(seqs.size(), b + kBatch));
    std::vector<uint32_t> uids;
    for (uint32_t s : batch) uids.push_back(view_[s - 1].uid);
    struct Loaded {
      std::string cache, text;
      bool ok = true;
    };
    auto loaded = co_await blocking([&] {
      std::vector<Loaded> out(uids.size());
      for (std::size_t i = 0; i < uids.size(); ++i) {
        if (needs_cache) {
          auto r = mb->cache(folder, uids[i]);
          if (r)
            out[i].cache = std::move(*r);
          else
            out[i].ok = false;
        }
        if (needs_text) {
          auto r = mb->read(folder, uids[i]);
          if (r)
            out[i].text = std::move(*r);
          else
            out[i].ok = false;
        }
      }
      return out;
    });
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const MessageMeta& m = view_[batch[i] - 1];
      if (c.changed_since && m.modseq <= *c.changed_since) continue;
      if (!loaded[i].ok) continue;  // expunged meanwhile by another session
      std::string items;
      auto add = [&](const std::string& s) {
        if (!items.empty()) items += ' ';
        items += s;
      };
      if (wants_uid) add("UID " + std::to_string(m.uid));
      if (wants_flags) add("FLAGS " + flags_text(m.flags, m.keywords));
      if (wants_modseq || (condstore_ && c.changed_since)) add("MODSEQ (" + std::to_string(m.modseq) + ")");
      imap::CachedStructure cs;
      if (needs_cache) cs = imap::parse_cache(loaded[i].cache);
      const std::string& text = loaded[i].text;
      for (auto& it : c.fetch) {
        using K = FetchItem::Kind;
        auto partial = [&](std::string data, const std::string& name) {
          std::string label = name;
          if (it.partial_offset) {
            std::size_t o = *it.partial_offset;
            data = o >= data.size() ? std::string() : data.substr(o, *it.partial_length);
            label += "<" + std::to_string(o) + ">";
          }
          return label + " {" + std::to_string(data.size()) + "}\r\n" + data;
        };
        switch (it.kind) {
          case K::Flags:
          case K::Uid:
          case K::ModSeq:
            break;
          case K::InternalDate:
            add("INTERNALDATE \"" + format_date_time(m.internal_date) + "\"");
            break;
          case K::Rfc822Size:
            add("RFC822.SIZE " + std::to_string(m.size));
            break;
          case K::Envelope:
            add("ENVELOPE " + cs.envelope);
            break;
          case K::Body:
            add("BODY " + cs.body);
            break;
          case K::BodyStructure:
            add("BODYSTRUCTURE " + cs.bodystructure);
            break;
          case K::Rfc822:
            add("RFC822 {" + std::to_string(text.size()) + "}\r\n" + text);
            break;
          case K::Rfc822Header: {
            Section s;
            s.kind = Section::Kind::Header;
            auto h = imap::body_section(text, s).value_or("");
            add("RFC822.HEADER {" + std::to_string(h.size()) + "}\r\n" + h);
            break;
          }
          case K::Rfc822Text: {
            Section s;
            s.kind = Section::Kind::Text;
            auto t = imap::body_section(text, s).value_or("");
            add("RFC822.TEXT {" + std::to_string(t.size()) + "}\r\n" + t);
            break;
          }
          case K::BodySection: {
            auto data = imap::body_section(text, it.section).value_or("");
            add(partial(std::move(data), "BODY[" + it.section.text + "]"));
            break;
          }
          case K::BinarySection:
          case K::BinarySize: {
            bool unknown = false;
            auto data = imap::binary_section(text, it.section.part, unknown);
            if (unknown) {
              out_ += c.tag + " NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding\r\n";
              co_return co_await flush();
            }
            std::string label =
                "BINARY" + std::string(it.kind == K::BinarySize ? ".SIZE" : "") + "[" + it.section.text + "]";
            if (it.kind == K::BinarySize) {
              add(label + " " + std::to_string(data ? data->size() : 0));
            } else if (!data) {
              add(label + " NIL");
            } else {
              std::string d = std::move(*data);
              if (it.partial_offset) {
                std::size_t o = *it.partial_offset;
                d = o >= d.size() ? std::string() : d.substr(o, *it.partial_length);
                label += "<" + std::to_string(o) + ">";
              }
              bool nul = d.find('\0') != std::string::npos;
              add(label + (nul ? " ~{" : " {") + std::to_string(d.size()) + "}\r\n" + d);
            }
            break;
          }
        }
      }
      untagged(std::to_string(batch[i]) + " FETCH (" + items + ")");
    }
    if (out_.size() > 256 * 1024 && !co_await flush()) co_return false;
  }
  co_await updates(false);
  co_return co_await tagged(c.tag, "OK", std::string(c.uid ? "UID " : "") + "FETCH completed");
}

asio::awaitable<bool> ImapSession::cmd_store(Command& c) {
  if (read_only_) co_return co_await tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  if (!c.uid && !valid_seqs(c.set, view_.size()))
    co_return co_await tagged(c.tag, "BAD", "Invalid message sequence number");
  uint32_t bits = 0;
  std::vector<std::string> kw;
  if (!split_flags(c.store.flags, bits, kw)) co_return co_await tagged(c.tag, "BAD", "Invalid flag");
  auto seqs = resolve(c.set, c.uid);
  std::vector<uint32_t> uids;
  for (uint32_t s : seqs) uids.push_back(view_[s - 1].uid);
  auto mode = c.store.mode == StoreArgs::Mode::Add      ? store::UserMailbox::FlagMode::Add
              : c.store.mode == StoreArgs::Mode::Remove ? store::UserMailbox::FlagMode::Remove
                                                        : store::UserMailbox::FlagMode::Replace;
  if (c.store.unchanged_since) condstore_ = true;
  auto* mb = mailbox_.get();
  int64_t folder = folder_;
  auto r = co_await blocking(
      [&] { return mb->store_flags(folder, uids, mode, bits, kw, c.store.unchanged_since); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  for (auto& m : r->updated) {
    uint32_t s = seq_of_uid(m.uid);
    if (!s) continue;
    // Only messages whose flags (or modseq) changed are reported, as Dovecot does.
    bool changed = view_[s - 1].flags != m.flags || view_[s - 1].keywords != m.keywords ||
                   view_[s - 1].modseq != m.modseq;
    view_[s - 1] = m;
    if (changed && (!c.store.silent || condstore_)) {
      std::string items;
      if (c.uid) items += "UID " + std::to_string(m.uid) + " ";
      items += "FLAGS " + flags_text(m.flags, m.keywords);
      if (condstore_) items += " MODSEQ (" + std::to_string(m.modseq) + ")";
      untagged(std::to_string(s) + " FETCH (" + items + ")");
    }
  }
  co_await updates(false);
  if (!r->modified.empty()) {
    std::vector<uint32_t> ids;
    for (uint32_t uid : r->modified) ids.push_back(c.uid ? uid : seq_of_uid(uid));
    std::sort(ids.begin(), ids.end());
    co_return co_await tagged(c.tag, "OK", "[MODIFIED " + seq_set_text(ids) + "] Conditional STORE failed");
  }
  co_return co_await tagged(c.tag, "OK", std::string(c.uid ? "UID " : "") + "STORE completed");
}

asio::awaitable<bool> ImapSession::cmd_copy(Command& c, bool move) {
  if (move && read_only_) co_return co_await tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  if (!c.uid && !valid_seqs(c.set, view_.size()))
    co_return co_await tagged(c.tag, "BAD", "Invalid message sequence number");
  auto seqs = resolve(c.set, c.uid);
  std::vector<uint32_t> uids;
  for (uint32_t s : seqs) uids.push_back(view_[s - 1].uid);
  std::string dest = from_wire(c.args[0]);
  auto* mb = mailbox_.get();
  int64_t folder = folder_;
  if (uids.empty()) co_return co_await tagged(c.tag, "OK", "No messages");
  auto r = co_await blocking([&] { return mb->copy(folder, uids, dest, move); });
  if (!r) {
    if (r.error().code == Errc::NotFound)
      co_return co_await tagged(c.tag, "NO", "[TRYCREATE] Mailbox does not exist");
    co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  }
  // All of them expunged meanwhile by another session: no empty COPYUID.
  if (r->source_uids.empty())
    co_return co_await tagged(c.tag, "NO", "[EXPUNGEISSUED] Some of the requested messages no longer exist");
  std::string code = "[COPYUID " + std::to_string(r->uidvalidity) + " " + seq_set_text(r->source_uids) + " " +
                     seq_set_text(r->dest_uids) + "] ";
  if (move) {
    // RFC 6851: COPYUID in an untagged OK, then the EXPUNGEs, then OK.
    untagged("OK " + code + "Moved");
    std::vector<uint32_t> gone = r->source_uids;
    for (uint32_t uid : gone) {
      uint32_t s = seq_of_uid(uid);
      if (!s) continue;
      view_.erase(view_.begin() + (s - 1));
      untagged(std::to_string(s) + " EXPUNGE");
    }
    co_await updates(true);
    co_return co_await tagged(c.tag, "OK", std::string(c.uid ? "UID " : "") + "MOVE completed");
  }
  co_await updates(false);
  co_return co_await tagged(c.tag, "OK", code + (c.uid ? "UID " : "") + "COPY completed");
}

asio::awaitable<bool> ImapSession::cmd_expunge(Command& c) {
  if (read_only_) co_return co_await tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  std::vector<uint32_t> only;
  if (c.uid) {
    for (uint32_t s : resolve(c.set, true)) only.push_back(view_[s - 1].uid);
  }
  auto* mb = mailbox_.get();
  int64_t folder = folder_;
  bool uid = c.uid;
  auto r = co_await blocking([&] { return mb->expunge(folder, uid ? &only : nullptr); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  for (uint32_t u : *r) {
    uint32_t s = seq_of_uid(u);
    if (!s) continue;
    view_.erase(view_.begin() + (s - 1));
    untagged(std::to_string(s) + " EXPUNGE");
  }
  co_await updates(true);
  co_return co_await tagged(c.tag, "OK", std::string(c.uid ? "UID " : "") + "EXPUNGE completed");
}

asio::awaitable<bool> ImapSession::cmd_search(Command& c) {
  bool text = imap::search_needs_text(c.search);
  auto* mb = mailbox_.get();
  int64_t folder = folder_;
  std::vector<MessageMeta> view = view_;
  uint32_t max_uid = view.empty() ? 0 : view.back().uid;
  const SearchKey& key = c.search;
  auto hits = co_await blocking([&] {
    std::vector<std::pair<uint32_t, uint32_t>> out;  // (seq, uid)
    for (std::size_t i = 0; i < view.size(); ++i) {
      imap::SearchFacts f;
      f.seq = static_cast<uint32_t>(i + 1);
      f.uid = view[i].uid;
      f.flags = view[i].flags;
      f.keywords = view[i].keywords;
      f.internal_date = view[i].internal_date;
      f.size = view[i].size;
      f.modseq = view[i].modseq;
      f.max_seq = static_cast<uint32_t>(view.size());
      f.max_uid = max_uid;
      std::string body;
      if (text) {
        auto r = mb->read(folder, view[i].uid);
        if (!r) continue;
        body = std::move(*r);
        f.message = body;
      }
      if (imap::search_matches(key, f)) out.emplace_back(f.seq, f.uid);
    }
    return out;
  });
  std::vector<uint32_t> ids;
  uint64_t max_modseq = 0;
  for (auto& [s, u] : hits) {
    ids.push_back(c.uid ? u : s);
    max_modseq = std::max(max_modseq, view_[s - 1].modseq);
  }
  bool modseq_key = false;
  std::function<void(const SearchKey&)> scan = [&](const SearchKey& k) {
    if (k.op == SearchKey::Op::ModSeq) modseq_key = true;
    for (auto& ch : k.children) scan(ch);
  };
  scan(c.search);
  if (modseq_key) condstore_ = true;
  if (c.search_esearch || rev2_) {
    std::string line = "ESEARCH (TAG " + quote(c.tag) + ")";
    if (c.uid) line += " UID";
    std::vector<std::string> ret = c.search_return;
    if (ret.empty()) ret.push_back("ALL");
    for (auto& r : ret) {
      if (ids.empty() && r != "COUNT") continue;
      if (r == "MIN") line += " MIN " + std::to_string(ids.front());
      if (r == "MAX") line += " MAX " + std::to_string(ids.back());
      if (r == "COUNT") line += " COUNT " + std::to_string(ids.size());
      if (r == "ALL") line += " ALL " + seq_set_text(ids);
    }
    if (modseq_key && !ids.empty()) line += " MODSEQ " + std::to_string(max_modseq);
    untagged(line);
  } else {
    std::string line = "SEARCH";
    for (uint32_t id : ids) line += " " + std::to_string(id);
    if (modseq_key && !ids.empty()) line += " (MODSEQ " + std::to_string(max_modseq) + ")";
    untagged(line);
  }
  co_await updates(false);
  co_return co_await tagged(c.tag, "OK", std::string(c.uid ? "UID " : "") + "SEARCH completed");
}

asio::awaitable<bool> ImapSession::cmd_close(Command& c, bool expunge) {
  if (expunge && !read_only_) {
    auto* mb = mailbox_.get();
    int64_t folder = folder_;
    (void)co_await blocking([&] { return mb->expunge(folder, nullptr); });
  }
  deselect();
  co_return co_await tagged(c.tag, "OK", expunge ? "CLOSE completed" : "UNSELECT completed");
}

asio::awaitable<bool> ImapSession::cmd_idle(Command& c) {
  out_ += "+ idling\r\n";
  if (state_ == State::Selected) co_await updates(true);
  if (!co_await flush()) co_return false;
  struct Reader {
    std::string line;
    Connection::ReadStatus status = Connection::ReadStatus::Closed;
    bool finished = false;
  };
  auto reader = std::make_shared<Reader>();
  auto wake = wake_;
  auto conn = conn_;
  seconds timeout = seconds(cfg_->imap.idle_timeout_seconds);
  asio::co_spawn(
      co_await asio::this_coro::executor,
      [reader, wake, conn, timeout]() -> asio::awaitable<void> {
        reader->status = co_await conn->read_line(reader->line, timeout);
        reader->finished = true;
        wake->timer.cancel();
      },
      asio::detached);
  while (!reader->finished) {
    wake_->timer.expires_after(seconds(cfg_->imap.idle_notify_seconds));
    if (!wake_->dirty) {
      auto [ec] = co_await wake_->timer.async_wait(use_tuple);
      if (reader->finished) break;
      if (!ec && !wake_->dirty) {
        untagged("OK Still here");
        if (!co_await flush()) co_return false;
        continue;
      }
    }
    if (wake_->dirty && state_ == State::Selected) {
      co_await updates(true);
      if (!co_await flush()) co_return false;
    }
    wake_->dirty = false;
  }
  if (reader->status != Connection::ReadStatus::Line) co_return false;
  if (strcasecmp(reader->line.c_str(), "DONE") != 0) {
    co_return co_await tagged(c.tag, "BAD", "Expected DONE");
  }
  co_return co_await tagged(c.tag, "OK", "IDLE terminated");
}

}  // namespace

asio::awaitable<void> run_imap_session(std::shared_ptr<Connection> conn, Services& services,
                                       std::shared_ptr<const config::Config> cfg,
                                       const config::Listener& listener) {
  ImapSession session(std::move(conn), services, std::move(cfg), listener);
  co_await session.run();
}

}  // namespace mailfort::server
