// Internal to the IMAP session: the session class and helpers shared by
// its command files (imap_session.cpp: reading, dispatch, login;
// imap_folders.cpp: folder commands; imap_fetch.cpp: FETCH;
// imap_messages.cpp: STORE/COPY/MOVE/EXPUNGE/SEARCH/IDLE and change updates).
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

#include "base/log.h"
#include "directory/directory.h"
#include "imap/imap_render.h"
#include "imap/imap_view.h"
#include "proto/imap/command.h"
#include "proto/imap/command_assembler.h"
#include "proto/smtp/sasl.h"
#include "server/auth.h"
#include "server/blocking.h"
#include "server/connection.h"
#include "server/services.h"
#include "store/mailbox.h"
#include "tls/context.h"

namespace mailfort::server::imap_detail {

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

struct IdleReader {
  std::string line;
  Connection::ReadStatus status = Connection::ReadStatus::Closed;
  bool finished = false;
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
  // "[UID ]NAME completed"
  static std::string completed(const Command& c);
  SessionState session_state() const;
  bool tls_ok() const { return conn_->is_tls(); }
  seconds idle_timeout() const {
    return seconds(state_ == State::NotAuthenticated ? cfg_->limits.idle_timeout_seconds
                                                     : cfg_->imap.idle_timeout_seconds);
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

  // ---- reading
  struct Incoming {
    AssembledCommand command;
    bool closed = false;
    bool error = false;  // answered already (BAD, NO), continue
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
  uint32_t seq_of_uid(uint32_t uid) const { return view_.seq_of_uid(uid); }
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
  // This command's share of the in-flight message budget (APPEND's message).
  std::unique_ptr<MessageMemory::Reservation> append_budget_;
  bool utf8_ = false, rev2_ = false, condstore_ = false;

  // Selected folder
  int64_t folder_ = 0;
  std::string folder_name_;
  bool read_only_ = false;
  ImapView view_;  // by ascending UID
  uint64_t modseq_seen_ = 0;
  uint32_t uidvalidity_ = 0;
};

}  // namespace mailfort::server::imap_detail
