// UserMailbox: one account's folders and messages as IMAP and POP3 see them.
// Messages stay one file each in the Maildir layout MailStore delivers into
// (INBOX = <maildir>/, folder "A/B" = <maildir>/.A.B/, Maildir++ style);
// a per-user SQLite index (<maildir>/mailfort-index.sqlite, WAL) holds what
// IMAP needs: UIDVALIDITY, UIDNEXT, UIDs, flags and keywords, MODSEQ,
// internal date, size, and an opaque per-message cache blob that the
// protocol layer fills once (ENVELOPE/BODYSTRUCTURE) so FETCH never
// re-parses a message.
//
// Crash safety (kill -9 at any moment): files are written and made durable
// before the index row that names them commits; an expunged file is removed
// before its row. open() reconciles once per process: a file without a row
// gets a new UID (never a reused one, UIDNEXT only grows), a row without a
// file is expunged. New mail in INBOX's new/ is imported by sync_inbox().
//
// Blocking (SQLite, file I/O): call on the worker pool. Thread-safe: one
// instance per user is shared by all that user's sessions (MailboxRegistry).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/sqlite.h"

namespace mailfort::store {

class GroupCommit;
class MailStore;

// System flags as bits; keywords are strings.
enum MessageFlag : uint32_t {
  kSeen = 1,
  kAnswered = 2,
  kFlagged = 4,
  kDeleted = 8,
  kDraft = 16,
};

struct MessageMeta {
  uint32_t uid = 0;
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  uint64_t modseq = 0;
  int64_t internal_date = 0;  // seconds since epoch
  uint64_t size = 0;
};

// What FETCH needs of a message beyond the session's view (UID, flags,
// modseq): kept in the index only, so an open session does not hold them.
struct MessageDetails {
  uint64_t size = 0;
  int64_t internal_date = 0;
  std::string cache;  // only when asked for
};

// OBJECTID (RFC 8474) and SAVEDATE (RFC 8514) of a message: kept in the
// index, copied with it by COPY/MOVE (EMAILID), set when it enters a
// folder (save date).
struct MessageIds {
  std::string emailid;   // "M" + 24 hex digits
  int64_t savedate = 0;  // seconds since epoch
};

struct FolderStatus {
  int64_t id = 0;
  std::string name;  // UTF-8, '/' separated, "INBOX" for the inbox
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 1;
  uint64_t highest_modseq = 1;
  bool subscribed = false;
  std::string special_use;  // "\\Sent", "\\Trash", ... or ""
  uint32_t messages = 0, unseen = 0, deleted = 0;
  uint64_t size = 0;
  uint32_t recent = 0;  // messages no session has claimed as \Recent yet (take_recent)
};

struct FolderChanges {
  std::vector<MessageMeta> changed;  // modseq > since (new or flag changes), by UID
  std::vector<uint32_t> expunged;    // UIDs expunged with modseq > since
  uint64_t highest_modseq = 0;
};

struct AppendResult {
  uint32_t uidvalidity = 0;
  uint32_t uid = 0;
};

// One message of append_many().
struct AppendItem {
  std::string_view message;
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  int64_t internal_date = 0;  // 0: now
};

struct AppendManyResult {
  uint32_t uidvalidity = 0;
  std::vector<uint32_t> uids;  // one per item, in order
};

struct CopyResult {
  uint32_t uidvalidity = 0;
  std::vector<uint32_t> source_uids, dest_uids;
};

struct StoreFlagsResult {
  std::vector<MessageMeta> updated;  // messages whose flags changed, or all touched when `silent` is false
  std::vector<uint32_t> modified;    // UNCHANGEDSINCE failures
};

struct SpecialFolder {
  std::string name;
  std::string use;  // "\\Junk"
};

// Builds the cache blob of a message (called once per message when it enters
// the index). Supplied by the protocol layer; the store treats it as opaque.
using CacheBuilder = std::function<std::string(std::string_view message)>;

class UserMailbox {
 public:
  ~UserMailbox();
  // `maildir` is MailStore::maildir_of(user). Creates the index, the
  // special folders (auto-subscribed) and reconciles files with the index.
  static Result<std::shared_ptr<UserMailbox>> open(const std::string& maildir, std::string hostname,
                                                   GroupCommit& commit, MailStore* store, std::string user,
                                                   const std::vector<SpecialFolder>& special,
                                                   CacheBuilder cache);

  Result<std::vector<FolderStatus>> folders();
  Result<FolderStatus> status(std::string_view name);
  Result<void> create(std::string_view name, std::string special_use = {});
  Result<void> remove(std::string_view name);  // INBOX: Perm; with children: only the folder
  Result<void> rename(std::string_view from, std::string_view to);  // with children
  Result<void> subscribe(std::string_view name, bool on);
  Result<std::vector<std::string>> subscriptions();

  // Imports new deliveries from INBOX's new/. Returns how many were added.
  Result<std::size_t> sync_inbox();

  // The folder's messages by UID (for SELECT / POP3).
  Result<std::vector<MessageMeta>> messages(int64_t folder);
  Result<FolderChanges> changes_since(int64_t folder, uint64_t modseq);
  // IMAP4rev1's \Recent (RFC 3501 2.3.2): a message is recent in exactly
  // one session, the first to see it after it arrived. The boundary lives
  // here, as a per-folder "first unclaimed UID" column of the index, because
  // this object is the one place all of the user's sessions share (one
  // instance per user, MailboxRegistry), the index serialises them under
  // mu_, and a column is durable: mail delivered while nobody is connected,
  // or before a restart, stays recent for the first session that selects
  // the folder afterwards (Dovecot keeps first_recent_uid in its index
  // header for the same reason). Returns the first unclaimed UID: the
  // caller's messages with UIDs from it up to `up_to_uid` are recent to the
  // caller. With `claim` (a SELECTed session, not EXAMINE or STATUS) they
  // become the caller's: the boundary moves past `up_to_uid`, so no other
  // session sees them as recent.
  Result<uint32_t> take_recent(int64_t folder, uint32_t up_to_uid, bool claim);
  Result<std::vector<std::string>> keywords(int64_t folder);
  Result<std::string> cache(int64_t folder, uint32_t uid);
  // The cache blobs of several messages in one statement / one read
  // transaction: out[i] belongs to uids[i], nullopt if that message is gone.
  // For FETCH of many messages, where cache() per message spends most of
  // its time starting and ending a read transaction (file locks, WAL).
  Result<std::vector<std::optional<std::string>>> caches(int64_t folder, const std::vector<uint32_t>& uids);
  // Size, internal date and (when `with_cache`) the cache blob of several
  // messages the same way: out[i] belongs to uids[i], nullopt if gone.
  Result<std::vector<std::optional<MessageDetails>>> details(int64_t folder,
                                                             const std::vector<uint32_t>& uids,
                                                             bool with_cache);
  Result<std::string> read(int64_t folder, uint32_t uid);  // the message file
  // The header blocks (up to and with the blank line, at most `max_bytes`)
  // of several messages: their files named in one read transaction, then
  // each read only as far as its header. out[i] belongs to uids[i], nullopt
  // if that message is gone. For SORT and THREAD, which need a few header
  // fields of every message and never its body.
  Result<std::vector<std::optional<std::string>>> headers(int64_t folder, const std::vector<uint32_t>& uids,
                                                          std::size_t max_bytes);
  // The files of several messages of folder `folder` (by name), for readers
  // outside the index (the spam learner after a move into or out of Junk);
  // messages gone meanwhile are left out. Errors: NotFound (folder), Temp.
  Result<std::vector<std::string>> files(std::string_view folder, const std::vector<uint32_t>& uids);
  // EMAILID and save date of several messages: out[i] belongs to uids[i],
  // nullopt if that message is gone.
  Result<std::vector<std::optional<MessageIds>>> object_ids(int64_t folder,
                                                            const std::vector<uint32_t>& uids);
  // The folder's MAILBOXID (RFC 8474): made when the folder is created, kept
  // by RENAME, never reused by a folder of the same name created later.
  Result<std::string> mailbox_id(int64_t folder);
  // Replaces a message's cache blob (a blob from an older version computed
  // again with what it lacked).
  Result<void> set_cache(int64_t folder, uint32_t uid, std::string_view blob);

  enum class FlagMode { Replace, Add, Remove };
  Result<StoreFlagsResult> store_flags(int64_t folder, const std::vector<uint32_t>& uids, FlagMode mode,
                                       uint32_t flags, const std::vector<std::string>& keywords,
                                       std::optional<uint64_t> unchanged_since);
  // Errors: NotFound (folder), OverQuota, Temp.
  Result<AppendResult> append(std::string_view folder, std::string_view message, uint32_t flags,
                              const std::vector<std::string>& keywords, int64_t internal_date);
  // Several messages, all or none (MULTIAPPEND, RFC 3502): the files are
  // made durable in one group commit, the rows added in one transaction
  // (mailbox_append.cpp). Errors as append().
  Result<AppendManyResult> append_many(std::string_view folder, const std::vector<AppendItem>& items);
  // The folder's URLAUTH access key (RFC 4467), made (random) when
  // `create` and there is none; "" when there is none. NotFound: no folder.
  Result<std::string> urlauth_key(std::string_view folder, bool create);
  // RESETKEY: forgets the folder's key, or every folder's when `folder` is
  // null, so the URLs made with it stop working.
  Result<void> reset_urlauth_keys(const std::string* folder);
  Result<CopyResult> copy(int64_t from, const std::vector<uint32_t>& uids, std::string_view to, bool move);
  // Expunges the \Deleted messages among `uids` (all \Deleted ones when
  // `uids` is null). Returns the expunged UIDs.
  Result<std::vector<uint32_t>> expunge(int64_t folder, const std::vector<uint32_t>* uids);

  // Bytes used by every folder, and the account's limit (0 = none).
  uint64_t usage();
  void set_quota(uint64_t bytes) { quota_ = bytes; }
  uint64_t quota() const { return quota_; }

  // Change notification for IDLE: `fn` runs (on the writer's thread) after
  // any change to the mailbox. Returns a token for unwatch().
  uint64_t watch(std::function<void()> fn);
  void unwatch(uint64_t token);
  void notify();

  const std::string& user() const { return user_; }

 private:
  UserMailbox() = default;
  Result<void> init_schema();
  // Columns and tables added after the first schema: \Recent's boundary
  // (folder.first_recent) and the last UIDVALIDITY given out.
  Result<void> migrate_recent_uidvalidity();
  // A UIDVALIDITY larger than any this account ever used (RFC 3501 2.3.1.1:
  // never repeated for a name, even after DELETE + CREATE or RENAME).
  int64_t next_uidvalidity();
  // Adds the OBJECTID/SAVEDATE columns to an index an older version made.
  Result<void> migrate_ids();
  // Finishes or undoes folder deletions a crash interrupted.
  void settle_deleted_folders();
  Result<void> ensure_folder(const std::string& name, const std::string& special, bool subscribed);
  Result<void> reconcile(int64_t folder, const std::string& dir);
  Result<int64_t> folder_id(std::string_view name, std::string* dir = nullptr);
  std::string dir_for(std::string_view name) const;
  Result<uint32_t> insert_message(int64_t folder, const std::string& file, uint64_t size, uint32_t flags,
                                  const std::string& keywords, int64_t internal_date,
                                  const std::string& cache, std::string_view emailid = {});
  uint64_t next_modseq(int64_t folder);
  std::string unique_name(std::size_t size);  // maildir_unique_name() for cur/

  std::mutex mu_;
  sqlite::Database db_;  // its cached() statements are prepared once per connection; under mu_
  std::string maildir_, hostname_, user_;
  GroupCommit* commit_ = nullptr;
  MailStore* store_ = nullptr;
  CacheBuilder cache_;
  uint64_t quota_ = 0;
  uint64_t seq_ = 0;  // names of folder directories moved aside (remove())
  std::mutex watch_mu_;
  std::map<uint64_t, std::function<void()>> watchers_;
  uint64_t next_token_ = 1;
};

// One UserMailbox per user, shared by every session of that user and by
// local delivery (to wake IDLE sessions). Keeps recently used mailboxes open.
class MailboxRegistry {
 public:
  MailboxRegistry(std::string hostname, GroupCommit& commit, MailStore& store,
                  std::vector<SpecialFolder> special, CacheBuilder cache);
  Result<std::shared_ptr<UserMailbox>> open(const std::string& user);
  // Called after local delivery: wakes that user's sessions, if any.
  void delivered(const std::string& user);

 private:
  std::string hostname_;
  GroupCommit& commit_;
  MailStore& store_;
  std::vector<SpecialFolder> special_;
  CacheBuilder cache_;
  std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<UserMailbox>> open_;
  std::vector<std::shared_ptr<UserMailbox>> recent_;  // keeps the last few alive
};

}  // namespace mailfort::store
