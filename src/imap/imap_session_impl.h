// Internal to the IMAP session: the session class, its states and the
// helpers its command files share. imap_session.cpp: the read loop and
// dispatch; imap_auth.cpp: CAPABILITY, NOOP/CHECK, ID, ENABLE, LOGOUT,
// STARTTLS, LOGIN, AUTHENTICATE; imap_folders.cpp: SELECT/EXAMINE,
// CLOSE/UNSELECT and the folder commands; imap_append.cpp: APPEND;
// imap_fetch.cpp: FETCH; imap_search.cpp: SEARCH; imap_messages.cpp:
// STORE, COPY/MOVE, EXPUNGE; imap_idle.cpp: IDLE; imap_selected.cpp: the
// selected folder's snapshot kept up to date; imap_common.cpp: flag lists,
// error codes, sequence sets; imap_qresync.cpp: VANISHED and the QRESYNC
// resync; imap_notify.cpp: NOTIFY.
#pragma once
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
#include <variant>

#include "base/log.h"
#include "base/use_tuple.h"
#include "directory/directory.h"
#include "imap/imap_context.h"
#include "imap/imap_render.h"
#include "imap/imap_view.h"
#include "proto/imap/command.h"
#include "proto/imap/command_assembler.h"
#include "proto/imap/imap_url.h"
#include "proto/sasl/exchange.h"
#include "server/auth.h"
#include "server/blocking.h"
#include "server/connection.h"
#include "server/services.h"
#include "store/mailbox.h"
#include "tls/context.h"

namespace mailfort::imap {

using namespace proto::imap;
using server::check_login;
using server::Connection;
using server::LoginVerdict;
using server::MessageMemory;
using server::run_blocking;
using server::Services;
using std::chrono::seconds;
using store::MessageMeta;

// ---- Session state (RFC 9051 3). LOGOUT ends the session instead of
// being a state commands are read in.

// A login: the account and its mailbox, shared by the Authenticated and
// Selected states (and kept until the session ends).
struct Account {
  Account(std::string user, std::shared_ptr<store::UserMailbox> mailbox, uint64_t watch_token)
      : user(std::move(user)), mailbox(std::move(mailbox)), watch_token(watch_token) {}
  ~Account() {
    if (watch_token) mailbox->unwatch(watch_token);
  }
  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;

  const std::string user;
  const std::shared_ptr<store::UserMailbox> mailbox;
  const uint64_t watch_token;  // the watch that wakes IDLE
};

struct NotifyState;  // imap_notify.cpp

struct NotAuthenticated {
  uint32_t auth_failures = 0;  // on this connection
};

struct Authenticated {
  std::shared_ptr<Account> account;
};

// A folder selected (SELECT) or examined (EXAMINE): the session's snapshot
// of it, brought up to date from the index's MODSEQ changes.
struct Selected {
  std::shared_ptr<Account> account;
  int64_t folder = 0;
  std::string name;
  bool read_only = false;  // EXAMINE
  ImapView view;           // by ascending UID
  uint64_t modseq_seen = 0;
  uint32_t uidvalidity = 0;
  // IMAP4rev1's \Recent: the UIDs this session owns (UserMailbox::take_recent;
  // may keep UIDs expunged since). Empty in IMAP4rev2 sessions.
  std::set<uint32_t> recent;
  uint32_t recent_reported = 0;  // the last RECENT count sent
  // The keywords announced in FLAGS (RFC 9051 7.3.5): a FETCH never shows
  // a keyword the client has not been told about first.
  std::set<std::string> keywords;
  SearchContexts contexts;  // RFC 5267 RETURN (UPDATE) results (imap_context.cpp)
};

// In SessionState order, so that index() is the command table's state.
using State = std::variant<NotAuthenticated, Authenticated, Selected>;
static_assert(
    std::is_same_v<
        std::variant_alternative_t<static_cast<std::size_t>(SessionState::NotAuthenticated), State>,
        NotAuthenticated> &&
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(SessionState::Authenticated), State>,
                   Authenticated> &&
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(SessionState::Selected), State>,
                   Selected>);

// Wakes an IDLE session when its mailbox changes; outlives the session's
// watch registration safely (the watcher holds a weak reference).
struct Wake {
  explicit Wake(asio::any_io_executor ex) : timer(ex), executor(ex) {}
  asio::steady_timer timer;
  asio::any_io_executor executor;
  std::atomic<bool> dirty{false};
};

std::string flags_text(uint32_t flags, const std::vector<std::string>& keywords);
// Splits client flags into system bits and keywords; false on \Recent or an
// unknown system flag (RFC 9051: BAD).
bool split_flags(const std::vector<std::string>& in, uint32_t& bits, std::vector<std::string>& keywords);
// Response code for a store error: "[NONEXISTENT] ", "[OVERQUOTA] ", ...
std::string error_code(const Error& e);
// "1:3,7" from sorted numbers.
std::string seq_set_text(const std::vector<uint32_t>& sorted);
// Every number of a message-number set exists (n messages).
bool valid_seqs(const proto::imap::SequenceSet& set, std::size_t n);

class ImapSession {
 public:
  ImapSession(std::shared_ptr<Connection> conn, Services& services, std::shared_ptr<const config::Config> cfg,
              const config::Listener& l)
      : conn_(std::move(conn)), svc_(services), cfg_(std::move(cfg)), listener_(l) {}

  ~ImapSession() {
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
    if (tag.empty()) co_return true;  // NOTIFY's own FETCH: no tagged line, the caller flushes
    out_ += tag + " " + status + " " + text + "\r\n";
    co_return co_await flush();
  }

  std::string capabilities() const;
  // "[UID ]NAME completed"
  static std::string completed(const Command& c);
  bool tls_ok() const { return conn_->is_tls(); }
  seconds idle_timeout() const {
    return seconds(logged_in() ? cfg_->imap.idle_timeout_seconds : cfg_->limits.idle_timeout_seconds);
  }
  // A literal's bytes: a minimum rate, not a deadline per read (slowloris).
  Connection::Transfer literal_transfer() const {
    return Connection::begin_transfer(idle_timeout(), cfg_->limits.min_data_rate_bytes_per_second);
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

  // ---- state
  SessionState session_state() const { return static_cast<SessionState>(state_.index()); }
  bool logged_in() const { return !std::holds_alternative<NotAuthenticated>(state_); }
  // The login, in the Authenticated and Selected states (the only ones the
  // command table lets a command that asks for it run in).
  Account& account() const {
    if (auto* s = std::get_if<Selected>(&state_)) return *s->account;
    return *std::get<Authenticated>(state_).account;
  }
  Selected* selected() { return std::get_if<Selected>(&state_); }
  // Selected -> Authenticated (the snapshot goes); nothing otherwise.
  void deselect();

  // ---- reading
  struct Incoming {
    AssembledCommand command;
    bool closed = false;
    bool error = false;  // answered already (BAD, NO), continue
  };
  asio::awaitable<Incoming> read_command();

  // ---- command handlers, by the command table's kind
  asio::awaitable<bool> dispatch(Command& c);
  asio::awaitable<bool> cmd_capability(Command& c);
  asio::awaitable<bool> cmd_noop(Command& c);  // NOOP, CHECK
  asio::awaitable<bool> cmd_logout(Command& c);
  asio::awaitable<bool> cmd_id(Command& c);
  asio::awaitable<bool> cmd_enable(Command& c);
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
  asio::awaitable<bool> cmd_namespace(Command& c);
  asio::awaitable<bool> cmd_quota(Command& c);
  asio::awaitable<bool> cmd_fetch(Command& c, Selected& s);
  asio::awaitable<bool> cmd_store(Command& c, Selected& s);
  asio::awaitable<bool> cmd_copy(Command& c, Selected& s, bool move);
  asio::awaitable<bool> cmd_expunge(Command& c, Selected& s);
  asio::awaitable<bool> cmd_search(Command& c, Selected& s);
  // SORT, THREAD (imap_sort.cpp); contexts, CANCELUPDATE (imap_context.cpp)
  asio::awaitable<bool> cmd_sort(Command& c, Selected& s);
  asio::awaitable<bool> cmd_thread(Command& c, Selected& s);
  asio::awaitable<bool> cmd_cancelupdate(Command& c, Selected& s);
  // The ESEARCH answer of SEARCH/SORT with RETURN (PARTIAL / UPDATE / ESORT
  // options) and the UPDATE context it opens; ends the command. `ids` as
  // answered, `uids` the same messages; `facts` a SORT's (else empty).
  asio::awaitable<bool> context_result(Command& c, Selected& s, std::vector<uint32_t> ids,
                                       std::vector<uint32_t> uids, std::vector<SortFacts> facts, bool sorted);
  // ESEARCH REMOVEFROM for the message at `seq`, before its EXPUNGE is sent.
  void context_expunged(Selected& s, uint32_t seq);
  // ESEARCH ADDTO/REMOVEFROM for messages changed or added since last time.
  asio::awaitable<void> context_refresh(Selected& s);
  asio::awaitable<bool> cmd_idle(Command& c);
  asio::awaitable<bool> cmd_close(Command& c, Selected& s, bool expunge);
  asio::awaitable<bool> cmd_notify(Command& c);

  // ---- QRESYNC (imap_qresync.cpp)
  // Takes expunged messages out of the view and reports them: "n EXPUNGE"
  // each, or one "VANISHED uids" once QRESYNC is enabled.
  void report_expunged(Selected& s, const std::vector<uint32_t>& uids);
  // SELECT/EXAMINE (QRESYNC (...)): VANISHED (EARLIER) and the changed
  // messages' FETCH (UID FLAGS MODSEQ) since the client's MODSEQ.
  asio::awaitable<void> qresync_select(const QresyncParams& q, Selected& s);
  // UID FETCH ... (CHANGEDSINCE n VANISHED): the VANISHED (EARLIER) part.
  asio::awaitable<void> fetch_vanished(const Command& c, Selected& s);

  // ---- NOTIFY (imap_notify.cpp)
  // Between commands with NOTIFY set: reports changes as they happen until
  // the next command line arrives, which is kept in pending_line_.
  asio::awaitable<bool> notify_wait();
  // Sends what changed since the last report (selected folder per the
  // selected filter, STATUS/LIST for the others).
  asio::awaitable<void> notify_poll();
  // imap_ext.cpp: COMPRESS=DEFLATE, UNAUTHENTICATE
  asio::awaitable<bool> cmd_compress(Command& c);
  asio::awaitable<bool> cmd_unauthenticate(Command& c);
  // URLAUTH (imap_urlauth.cpp)
  asio::awaitable<bool> cmd_genurlauth(Command& c);
  asio::awaitable<bool> cmd_resetkey(Command& c);
  asio::awaitable<bool> cmd_urlfetch(Command& c);
  // The message an IMAP URL names (CATENATE's URL parts, URLFETCH): this
  // account's, or with a valid URLAUTH another's. Invalid: a bad URL or
  // one this session may not read; Temp: try again.
  asio::awaitable<Result<std::string>> url_message(const ImapUrl& url);

  // ---- selected-state helpers
  // Reports other sessions' changes (new mail, flags; expunges only when
  // `allow_expunge`, RFC 9051 7.5.1).
  // Looks only when the mailbox watcher flagged a change since (wake_),
  // or when `force` (IDLE and NOTIFY, which clear the flag themselves).
  asio::awaitable<void> updates(Selected& s, bool allow_expunge, bool force = false);
  // Message numbers (1-based) addressed by a set; UIDs when `uid`.
  static std::vector<uint32_t> resolve(const ImapView& view, const SequenceSet& set, bool uid);
  std::string status_line(const store::FolderStatus& f, const StatusItems& items,
                          const std::string& mailboxid = {});
  // ---- flags as this session shows them (imap_recent.cpp)
  // A message's FLAGS for a FETCH response: \Recent first when this
  // IMAP4rev1 session owns it; keywords new to the session are announced
  // (untagged FLAGS, PERMANENTFLAGS) before, so call it before untagged().
  std::string session_flags(Selected& s, uint32_t uid, uint32_t flags,
                            const std::vector<std::string>& keywords);
  // Announces the list again if one of `keywords` is new to the session.
  void announce_keywords(Selected& s, const std::vector<std::string>& keywords);
  // The untagged FLAGS and OK [PERMANENTFLAGS] of the selected folder.
  void announce_flags(const Selected& s);
  // Recent messages still in the view (drops expunged UIDs from the set).
  uint32_t recent_count(Selected& s);
  // A CONDSTORE-enabling command (RFC 7162 3.1): the first one while a
  // folder is selected is answered with OK [HIGHESTMODSEQ] as well.
  void enable_condstore();

  std::shared_ptr<Connection> conn_;
  Services& svc_;
  std::shared_ptr<const config::Config> cfg_;
  const config::Listener& listener_;
  std::string out_;
  State state_;
  // The account+address session slot (LOGIN took it; held to the end).
  std::string user_ip_key_;
  std::shared_ptr<Wake> wake_;
  // This command's share of the in-flight message budget (APPEND's message).
  std::unique_ptr<MessageMemory::Reservation> append_budget_;
  // ENABLEd (and implied) extensions.
  bool utf8_ = false, rev2_ = false, condstore_ = false;
  bool qresync_ = false;                 // ENABLE QRESYNC (implies condstore_)
  std::shared_ptr<NotifyState> notify_;  // NOTIFY SET; null for NOTIFY NONE
  // The first line of the next command, read while waiting for NOTIFY events.
  std::optional<std::pair<Connection::ReadStatus, std::string>> pending_line_;
  bool compressed_ = false;  // COMPRESS=DEFLATE active (for the rest of the connection)
};

}  // namespace mailfort::imap
