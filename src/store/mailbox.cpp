#include "store/mailbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <sstream>
#include <tuple>

#include "store/group_commit.h"
#include "store/mail_store.h"
#include "store/maildir_name.h"

namespace mailfort::store {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

// Directory name prefix of a folder being deleted (not a Maildir++ folder
// name, so other Maildir readers ignore it).
constexpr const char* kDeletedPrefix = "mailfort-deleted-";

bool make_dir(const std::string& p) {
  return ::mkdir(p.c_str(), 0700) == 0 || errno == EEXIST;
}

bool make_maildir(const std::string& dir) {
  return make_dir(dir) && make_dir(dir + "/tmp") && make_dir(dir + "/new") && make_dir(dir + "/cur");
}

void remove_tree(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string p = path + "/" + n;
      struct stat st {};
      if (::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        remove_tree(p);
      else
        ::unlink(p.c_str());
    }
    ::closedir(d);
  }
  ::rmdir(path.c_str());
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') out.emplace_back(e->d_name);
  ::closedir(d);
  return out;
}

std::string join_keywords(const std::vector<std::string>& k) {
  std::string out;
  for (const auto& w : k) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::vector<std::string> split_keywords(const std::string& s) {
  std::vector<std::string> out;  // most messages have none: no stream, no allocation
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.emplace_back(s, i, j - i);
    i = j;
  }
  return out;
}

MessageMeta meta_from(const Statement& st, int first) {
  MessageMeta m;
  m.uid = static_cast<uint32_t>(st.i64(first));
  m.flags = static_cast<uint32_t>(st.i64(first + 1));
  m.keywords = split_keywords(st.text(first + 2));
  m.modseq = static_cast<uint64_t>(st.i64(first + 3));
  m.internal_date = st.i64(first + 4);
  m.size = static_cast<uint64_t>(st.i64(first + 5));
  return m;
}

bool valid_folder_name(std::string_view n) {
  if (n.empty() || n.size() > 255 || n.front() == '/' || n.back() == '/') return false;
  if (n.find("//") != std::string_view::npos) return false;
  for (char c : n) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

bool is_inbox(std::string_view n) {
  return n.size() == 5 && (n[0] | 0x20) == 'i' && (n[1] | 0x20) == 'n' && (n[2] | 0x20) == 'b' &&
         (n[3] | 0x20) == 'o' && (n[4] | 0x20) == 'x';
}

std::string canonical(std::string_view n) {
  return is_inbox(n) ? "INBOX" : std::string(n);
}

int64_t file_mtime(const std::string& path, uint64_t* size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  if (size) *size = static_cast<uint64_t>(st.st_size);
  return st.st_mtime;
}

Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{errno == ENOENT ? Errc::NotFound : Errc::Temp, std::strerror(errno)};
  struct stat st {};
  ::fstat(fd, &st);
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

}  // namespace

UserMailbox::~UserMailbox() = default;

std::string UserMailbox::dir_for(std::string_view name) const {
  if (name == "INBOX") return maildir_;
  // Maildir++: ".A.B" for "A/B"; '.' and '%' inside a name are escaped.
  std::string d = maildir_ + "/.";
  for (char c : name) {
    if (c == '/')
      d += '.';
    else if (c == '.')
      d += "%2E";
    else if (c == '%')
      d += "%25";
    else
      d += c;
  }
  return d;
}

Result<std::shared_ptr<UserMailbox>> UserMailbox::open(const std::string& maildir, std::string hostname,
                                                       GroupCommit& commit, MailStore* store,
                                                       std::string user,
                                                       const std::vector<SpecialFolder>& special,
                                                       CacheBuilder cache) {
  std::shared_ptr<UserMailbox> mb(new UserMailbox());
  mb->maildir_ = maildir;
  mb->hostname_ = maildir_host(hostname);
  mb->commit_ = &commit;
  mb->store_ = store;
  mb->user_ = std::move(user);
  mb->cache_ = std::move(cache);
  // The domain directory may not exist yet for a new account.
  for (std::size_t pos = 1; (pos = maildir.find('/', pos)) != std::string::npos; ++pos)
    make_dir(maildir.substr(0, pos));
  if (!make_maildir(maildir))
    return Error{Errc::Temp, "cannot create maildir: " + std::string(std::strerror(errno))};
  std::string path = maildir + "/mailfort-index.sqlite";
  auto db = sqlite::Database::open(path, {.wal = true, .synchronous_normal = true});
  if (!db) return Error{db.error().code, "cannot open mailbox index: " + db.error().message};
  mb->db_ = std::move(db).value();
  if (auto r = mb->init_schema(); !r) return r.error();
  if (auto r = mb->ensure_folder("INBOX", "", true); !r) return r.error();
  for (const auto& s : special)
    if (auto r = mb->ensure_folder(s.name, s.use, true); !r) return r.error();
  // Subscriptions live in their own table (a name stays subscribed after
  // its folder is deleted, RFC 9051 6.3.9); the folder column only carries
  // ensure_folder's and older indexes' flags over.
  if (!mb->db_.exec("CREATE TABLE IF NOT EXISTS subscription(name TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;"
                    "INSERT OR IGNORE INTO subscription(name) SELECT name FROM folder WHERE subscribed != 0;"
                    "UPDATE folder SET subscribed = 0 WHERE subscribed != 0;"))
    return mb->db_.error("cannot update subscriptions");
  mb->settle_deleted_folders();
  // Reconcile every folder with its directory (crash recovery, files
  // added by hand); INBOX also imports new/.
  std::vector<std::pair<int64_t, std::string>> all;
  {
    auto st = mb->db_.prepare("SELECT id, name FROM folder");
    while (st.step()) all.emplace_back(st.i64(0), st.text(1));
  }
  for (auto& [id, name] : all) {
    std::string dir = mb->dir_for(name);
    make_maildir(dir);
    if (auto r = mb->reconcile(id, dir); !r) return r.error();
  }
  if (auto r = mb->sync_inbox(); !r) return r.error();
  return mb;
}

void UserMailbox::settle_deleted_folders() {
  DIR* d = ::opendir(maildir_.c_str());
  if (!d) return;
  std::vector<std::string> aside;
  while (dirent* e = ::readdir(d))
    if (std::string_view(e->d_name).rfind(kDeletedPrefix, 0) == 0) aside.emplace_back(e->d_name);
  ::closedir(d);
  for (auto& n : aside) {
    int64_t id = std::atoll(n.c_str() + std::strlen(kDeletedPrefix));
    auto st = db_.prepare("SELECT name FROM folder WHERE id = ?");
    st.bind(1, id);
    std::string path = maildir_ + "/" + n;
    if (id > 0 && st.step()) {
      // The DELETE never committed: the folder is still there.
      std::string dir = dir_for(st.text(0));
      if (::rename(path.c_str(), dir.c_str()) == 0) continue;
    }
    remove_tree(path);
  }
}

Result<void> UserMailbox::init_schema() {
  if (!db_.exec(
          "CREATE TABLE IF NOT EXISTS folder(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
          " uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL, modseq INTEGER NOT NULL,"
          " subscribed INTEGER NOT NULL DEFAULT 0, special TEXT NOT NULL DEFAULT '');"
          "CREATE TABLE IF NOT EXISTS message(folder INTEGER NOT NULL, uid INTEGER NOT NULL,"
          " file TEXT NOT NULL, flags INTEGER NOT NULL, keywords TEXT NOT NULL, modseq INTEGER NOT NULL,"
          " internaldate INTEGER NOT NULL, size INTEGER NOT NULL, cache BLOB,"
          " PRIMARY KEY(folder, uid)) WITHOUT ROWID;"
          "CREATE INDEX IF NOT EXISTS message_modseq ON message(folder, modseq);"
          "CREATE TABLE IF NOT EXISTS expunged(folder INTEGER NOT NULL, uid INTEGER NOT NULL,"
          " modseq INTEGER NOT NULL);"
          "CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(folder, modseq);"))
    return db_.error("cannot create mailbox index");
  return migrate_recent_uidvalidity();
}

Result<void> UserMailbox::migrate_recent_uidvalidity() {
  Transaction tx(db_);
  if (!tx.ok()) return db_.error("cannot lock mailbox index");
  bool has = db_.prepare("SELECT 1 FROM pragma_table_info('folder') WHERE name = 'first_recent'").step();
  // Folders of an index older than this column start with nothing recent
  // (their messages were seen before); a new folder's default, 1, makes all
  // of its messages recent until a session claims them.
  if (!has && !db_.exec("ALTER TABLE folder ADD COLUMN first_recent INTEGER NOT NULL DEFAULT 1;"
                        "UPDATE folder SET first_recent = uidnext;"))
    return db_.error("cannot upgrade mailbox index");
  // One row: the last UIDVALIDITY given out. The folder rows alone are not
  // enough: a deleted folder takes its value with it.
  if (!db_.exec("CREATE TABLE IF NOT EXISTS uidvalidity_last(id INTEGER PRIMARY KEY CHECK (id = 1),"
                " value INTEGER NOT NULL);"
                "INSERT OR IGNORE INTO uidvalidity_last(id, value)"
                " SELECT 1, COALESCE(MAX(uidvalidity), 0) FROM folder;"))
    return db_.error("cannot upgrade mailbox index");
  if (!tx.commit()) return db_.error("cannot upgrade mailbox index");
  return migrate_ids();
}

// OBJECTID and SAVEDATE came after the first schema: their columns are
// added here, to a new index as to one an older version made. Rows that
// existed before get a new EMAILID each (copies made before cannot be told
// apart any more) and their internal date as save date (for delivered mail
// it is the delivery time). A folder's MAILBOXID comes from a trigger, so
// every way a folder row is made gets one.
Result<void> UserMailbox::migrate_ids() {
  auto has_column = [&](const char* table, const char* column) {
    auto st = db_.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
    st.bind(1, table).bind(2, column);
    return st.step();
  };
  Transaction tx(db_);
  if (!tx.ok()) return db_.error("cannot lock mailbox index");
  if (!has_column("folder", "mailboxid") &&
      !db_.exec("ALTER TABLE folder ADD COLUMN mailboxid TEXT;"
                "UPDATE folder SET mailboxid = 'F' || lower(hex(randomblob(12)));"))
    return db_.error("cannot add MAILBOXID to the mailbox index");
  if (!db_.exec("CREATE TRIGGER IF NOT EXISTS folder_mailboxid AFTER INSERT ON folder"
                " WHEN NEW.mailboxid IS NULL BEGIN"
                " UPDATE folder SET mailboxid = 'F' || lower(hex(randomblob(12))) WHERE id = NEW.id; END;"))
    return db_.error("cannot add MAILBOXID to the mailbox index");
  if (!has_column("message", "emailid") &&
      !db_.exec("ALTER TABLE message ADD COLUMN emailid TEXT;"
                "ALTER TABLE message ADD COLUMN savedate INTEGER;"
                "UPDATE message SET emailid = 'M' || lower(hex(randomblob(12))), savedate = internaldate;"))
    return db_.error("cannot add EMAILID to the mailbox index");
  // This version always sets both; an older binary opening the index again
  // (a downgrade) does not, and its rows get them here.
  if (!db_.exec("CREATE TRIGGER IF NOT EXISTS message_ids AFTER INSERT ON message"
                " WHEN NEW.emailid IS NULL OR NEW.savedate IS NULL BEGIN"
                " UPDATE message SET emailid = COALESCE(emailid, 'M' || lower(hex(randomblob(12)))),"
                " savedate = COALESCE(savedate, CAST(strftime('%s', 'now') AS INTEGER))"
                " WHERE folder = NEW.folder AND uid = NEW.uid; END;"))
    return db_.error("cannot add EMAILID to the mailbox index");
  if (!tx.commit()) return db_.error("cannot update mailbox index");
  return {};
}

int64_t UserMailbox::next_uidvalidity() {
  // Creation time as the base (as Dovecot does), but always above every
  // value used before: folders created, deleted and created again within a
  // second, or a clock set back, still get a new, larger one.
  int64_t validity =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto max = db_.prepare(
      "SELECT MAX(COALESCE((SELECT value FROM uidvalidity_last WHERE id = 1), 0),"
      " COALESCE((SELECT MAX(uidvalidity) FROM folder), 0))");
  if (max.step() && max.i64(0) >= validity) validity = max.i64(0) + 1;
  validity &= 0xffffffff;  // nz-number; the clock reaches 2^32 in 2106
  if (validity == 0) validity = 1;
  auto put = db_.prepare("INSERT OR REPLACE INTO uidvalidity_last(id, value) VALUES(1, ?)");
  put.bind(1, validity).step();
  return validity;
}

Result<void> UserMailbox::ensure_folder(const std::string& name, const std::string& special,
                                        bool subscribed) {
  auto find = db_.prepare("SELECT id FROM folder WHERE name = ?");
  find.bind(1, name);
  if (find.step()) return {};
  // UIDVALIDITY: unique per account, so a folder deleted and re-created
  // never reuses its predecessor's (UID, UIDVALIDITY) pairs.
  int64_t validity = next_uidvalidity();
  auto ins = db_.prepare(
      "INSERT INTO folder(name, uidvalidity, uidnext, modseq, subscribed, special) VALUES(?,?,1,1,?,?)");
  ins.bind(1, name).bind(2, validity).bind(3, subscribed ? 1 : 0).bind(4, special);
  ins.step();
  if (!ins.done()) return db_.error("cannot create folder");
  if (!make_maildir(dir_for(name))) return Error{Errc::Temp, "cannot create folder directory"};
  return {};
}

Result<int64_t> UserMailbox::folder_id(std::string_view name, std::string* dir) {
  auto st = db_.cached("SELECT id FROM folder WHERE name = ?");
  st.bind(1, canonical(name));
  if (!st.step()) return Error{Errc::NotFound, "no such folder"};
  if (dir) *dir = dir_for(canonical(name));
  return st.i64(0);
}

uint64_t UserMailbox::next_modseq(int64_t folder) {
  auto up = db_.cached("UPDATE folder SET modseq = modseq + 1 WHERE id = ? RETURNING modseq");
  up.bind(1, folder);
  return up.step() ? static_cast<uint64_t>(up.i64(0)) : 0;
}

Result<uint32_t> UserMailbox::insert_message(int64_t folder, const std::string& file, uint64_t size,
                                             uint32_t flags, const std::string& keywords,
                                             int64_t internal_date, const std::string& cache,
                                             std::string_view emailid) {
  auto next = db_.cached(
      "UPDATE folder SET uidnext = uidnext + 1, modseq = modseq + 1 WHERE id = ? "
      "RETURNING uidnext - 1, modseq");
  next.bind(1, folder);
  if (!next.step()) return db_.error("cannot allocate UID");
  auto uid = static_cast<uint32_t>(next.i64(0));
  int64_t modseq = next.i64(1);
  // A new EMAILID unless a copy keeps its original's; the save date is now
  // (RFC 8514: when the message entered this folder).
  auto ins = db_.cached(
      "INSERT INTO message(folder, uid, file, flags, keywords, modseq, internaldate, size, cache, emailid,"
      " savedate) VALUES(?,?,?,?,?,?,?,?,?, COALESCE(?, 'M' || lower(hex(randomblob(12)))), ?)");
  ins.bind(1, folder).bind(2, uid).bind(3, file).bind(4, flags).bind(5, keywords).bind(6, modseq);
  ins.bind(7, internal_date).bind(8, static_cast<int64_t>(size)).bind_blob(9, cache);
  if (emailid.empty())
    ins.bind_null(10);
  else
    ins.bind(10, emailid);
  ins.bind(11, static_cast<int64_t>(std::time(nullptr)));
  ins.step();
  if (!ins.done()) return db_.error("cannot index message");
  return uid;
}

Result<void> UserMailbox::reconcile(int64_t folder, const std::string& dir) {
  std::set<std::string> indexed;
  {
    auto st = db_.prepare("SELECT file FROM message WHERE folder = ?");
    st.bind(1, folder);
    while (st.step()) indexed.insert(st.text(0));
  }
  auto files = list_dir(dir + "/cur");
  std::sort(files.begin(), files.end());
  std::set<std::string> present(files.begin(), files.end());
  Transaction tx(db_);
  if (!tx.ok()) return db_.error("cannot lock mailbox index");
  bool changed = false;
  // Rows without a file: the file was expunged just before a crash.
  for (const auto& f : indexed) {
    if (present.count(f)) continue;
    auto uid = db_.prepare("DELETE FROM message WHERE folder = ? AND file = ? RETURNING uid");
    uid.bind(1, folder).bind(2, f);
    if (uid.step()) {
      int64_t u = uid.i64(0);
      uint64_t ms = next_modseq(folder);
      auto ex = db_.prepare("INSERT INTO expunged(folder, uid, modseq) VALUES(?,?,?)");
      ex.bind(1, folder).bind(2, u).bind(3, static_cast<int64_t>(ms));
      ex.step();
      changed = true;
    }
  }
  // Files without a row: delivered or appended just before a crash.
  for (const auto& f : files) {
    if (indexed.count(f)) continue;
    uint64_t size = 0;
    int64_t mtime = file_mtime(dir + "/cur/" + f, &size);
    if (mtime < 0) continue;
    std::string cache;
    if (cache_) {
      auto body = read_file(dir + "/cur/" + f);
      if (body) cache = cache_(*body);
    }
    auto r = insert_message(folder, f, size, 0, "", mtime, cache);
    if (!r) return r.error();
    changed = true;
  }
  if (changed && !tx.commit()) return db_.error("cannot update mailbox index");
  return {};
}

Result<std::size_t> UserMailbox::sync_inbox() {
  std::lock_guard lock(mu_);
  auto files = list_dir(maildir_ + "/new");
  if (files.empty()) return std::size_t{0};
  // Delivery order: names are "<sec>.M<usec>P<pid>Q<seq>..." (numbers not
  // zero-padded, so compare them as numbers).
  auto key = [](const std::string& n) {
    auto num_after = [&](const char* marker) -> unsigned long long {
      auto p = n.find(marker);
      return p == std::string::npos ? 0 : std::strtoull(n.c_str() + p + std::strlen(marker), nullptr, 10);
    };
    return std::make_tuple(std::strtoull(n.c_str(), nullptr, 10), num_after(".M"), num_after("Q"), n);
  };
  std::sort(files.begin(), files.end(),
            [&](const std::string& a, const std::string& b) { return key(a) < key(b); });
  auto id = folder_id("INBOX");
  if (!id) return id.error();
  Transaction tx(db_);
  if (!tx.ok()) return db_.error("cannot lock mailbox index");
  std::size_t added = 0;
  for (const auto& f : files) {
    std::string from = maildir_ + "/new/" + f;
    std::string name = f.find(":2,") == std::string::npos ? f + ":2," : f;
    uint64_t size = 0;
    int64_t mtime = file_mtime(from, &size);
    if (mtime < 0) continue;
    std::string cache;
    if (cache_) {
      auto body = read_file(from);
      if (!body) continue;
      cache = cache_(*body);
    }
    // Moved first, then indexed: a crash in between leaves an unindexed file
    // in cur/, which the next open() indexes.
    if (::rename(from.c_str(), (maildir_ + "/cur/" + name).c_str()) != 0) continue;
    auto r = insert_message(*id, name, size, 0, "", mtime, cache);
    if (!r) return r.error();
    ++added;
  }
  if (!tx.commit()) return db_.error("cannot update mailbox index");
  return added;
}

Result<std::vector<FolderStatus>> UserMailbox::folders() {
  std::lock_guard lock(mu_);
  std::vector<FolderStatus> out;
  auto st = db_.cached(
      "SELECT f.id, f.name, f.uidvalidity, f.uidnext, f.modseq,"
      " f.subscribed OR EXISTS(SELECT 1 FROM subscription s WHERE s.name = f.name), f.special,"
      " COUNT(m.uid), COALESCE(SUM((m.flags & 1) = 0), 0), COALESCE(SUM((m.flags & 8) != 0), 0),"
      " COALESCE(SUM(m.size), 0), COALESCE(SUM(m.uid >= f.first_recent), 0)"
      " FROM folder f LEFT JOIN message m ON m.folder = f.id"
      " GROUP BY f.id ORDER BY f.name");
  while (st.step()) {
    FolderStatus f;
    f.id = st.i64(0);
    f.name = st.text(1);
    f.uidvalidity = static_cast<uint32_t>(st.i64(2));
    f.uidnext = static_cast<uint32_t>(st.i64(3));
    f.highest_modseq = static_cast<uint64_t>(st.i64(4));
    f.subscribed = st.i64(5) != 0;
    f.special_use = st.text(6);
    f.messages = static_cast<uint32_t>(st.i64(7));
    f.unseen = static_cast<uint32_t>(st.i64(8));
    f.deleted = static_cast<uint32_t>(st.i64(9));
    f.size = static_cast<uint64_t>(st.i64(10));
    f.recent = static_cast<uint32_t>(st.i64(11));
    out.push_back(std::move(f));
  }
  return out;
}

Result<FolderStatus> UserMailbox::status(std::string_view name) {
  auto all = folders();
  if (!all) return all.error();
  std::string n = canonical(name);
  for (auto& f : *all)
    if (f.name == n) return f;
  return Error{Errc::NotFound, "no such folder"};
}

Result<void> UserMailbox::create(std::string_view raw, std::string special_use) {
  std::string name = canonical(raw);
  if (!valid_folder_name(name) || name.find('\0') != std::string::npos)
    return Error{Errc::Invalid, "invalid name"};
  std::lock_guard lock(mu_);
  if (folder_id(name)) return Error{Errc::Exists, "folder exists"};
  // Parents are created implicitly ("A/B" creates "A"), like Dovecot.
  Transaction tx(db_);
  if (!tx.ok()) return db_.error("cannot lock mailbox index");
  std::size_t pos = 0;
  while ((pos = name.find('/', pos + 1)) != std::string::npos) {
    auto r = ensure_folder(name.substr(0, pos), "", false);
    if (!r) return r;
  }
  if (auto r = ensure_folder(name, special_use, false); !r) return r;
  if (!tx.commit()) return db_.error("cannot create folder");
  notify();  // NOTIFY MailboxName
  return {};
}

Result<void> UserMailbox::remove(std::string_view raw) {
  std::string name = canonical(raw);
  if (name == "INBOX") return Error{Errc::Perm, "INBOX cannot be deleted"};
  int64_t freed = 0;
  {
    std::lock_guard lock(mu_);
    std::string dir;
    auto id = folder_id(name, &dir);
    if (!id) return id.error();
    // The directory moves aside first, under a name that carries the
    // folder id, and is removed only after the index commit. A crash in
    // between is settled at the next open (settle_deleted_folders): the
    // move is undone if the folder row survived, else finished. Without
    // this, a crash after the commit left the old files where a new folder
    // of the same name would pick them up again.
    std::string aside = maildir_ + "/" + kDeletedPrefix + std::to_string(*id) + "-" +
                        std::to_string(::time(nullptr)) + "-" + std::to_string(++seq_);
    if (::rename(dir.c_str(), aside.c_str()) != 0 && errno != ENOENT)
      return Error{Errc::Temp, "cannot move folder directory aside"};
    if (int fd = ::open(maildir_.c_str(), O_RDONLY | O_DIRECTORY); fd >= 0) {
      ::fsync(fd);  // the move is on disk before the index says the folder is gone
      ::close(fd);
    }
    Transaction tx(db_);
    if (!tx.ok()) {
      (void)::rename(aside.c_str(), dir.c_str());
      return db_.error("cannot lock mailbox index");
    }
    auto sz = db_.prepare("SELECT COALESCE(SUM(size), 0) FROM message WHERE folder = ?");
    sz.bind(1, *id);
    if (sz.step()) freed = sz.i64(0);
    auto d1 = db_.prepare("DELETE FROM message WHERE folder = ?");
    d1.bind(1, *id).step();
    auto d2 = db_.prepare("DELETE FROM expunged WHERE folder = ?");
    d2.bind(1, *id).step();
    auto d3 = db_.prepare("DELETE FROM folder WHERE id = ?");
    d3.bind(1, *id).step();
    // Its URLAUTH key (mailbox_append.cpp; the table may not exist yet): a
    // folder created again, maybe with the same id, has none.
    auto d4 = db_.prepare("DELETE FROM urlauth_key WHERE folder = ?");
    d4.bind(1, *id).step();
    if (!tx.commit()) {
      (void)::rename(aside.c_str(), dir.c_str());
      return db_.error("cannot delete folder");
    }
    remove_tree(aside);
  }
  if (store_) store_->adjust_usage(user_, -freed);
  notify();
  return {};
}

Result<void> UserMailbox::rename(std::string_view raw_from, std::string_view raw_to) {
  std::string from = canonical(raw_from), to = canonical(raw_to);
  if (!valid_folder_name(to) || to == "INBOX") return Error{Errc::Invalid, "invalid name"};
  if (from == "INBOX") {
    // RFC 3501 6.3.5: renaming INBOX moves its messages into a new folder
    // and leaves INBOX empty.
    if (auto r = create(to); !r) return r;
    auto id = [&] {
      std::lock_guard lock(mu_);
      return folder_id("INBOX");
    }();
    if (!id) return id.error();
    auto msgs = messages(*id);
    if (!msgs) return msgs.error();
    std::vector<uint32_t> uids;
    for (auto& m : *msgs) uids.push_back(m.uid);
    if (uids.empty()) return {};
    auto r = copy(*id, uids, to, true);
    if (!r) return r.error();
    return {};
  }
  {
    std::lock_guard lock(mu_);
    if (!folder_id(from)) return Error{Errc::NotFound, "no such folder"};
    if (folder_id(to)) return Error{Errc::Exists, "folder exists"};
    if (to.starts_with(from + "/")) return Error{Errc::Invalid, "cannot move a folder into itself"};
    std::vector<std::pair<int64_t, std::string>> moving;
    auto st = db_.prepare("SELECT id, name FROM folder WHERE name = ? OR substr(name, 1, ?) = ?");
    st.bind(1, from).bind(2, static_cast<int64_t>(from.size() + 1)).bind(3, from + "/");
    while (st.step()) moving.emplace_back(st.i64(0), st.text(1));
    Transaction tx(db_);
    if (!tx.ok()) return db_.error("cannot lock mailbox index");
    std::size_t pos = 0;
    while ((pos = to.find('/', pos + 1)) != std::string::npos) {
      if (auto r = ensure_folder(to.substr(0, pos), "", false); !r) return r;
    }
    std::vector<std::pair<std::string, std::string>> dirs;
    for (auto& [id, name] : moving) {
      std::string renamed = to + name.substr(from.size());
      // A new UIDVALIDITY too: the name may have been used before, and a
      // client that cached that folder must not take this one's UIDs for
      // its own (RFC 3501 2.3.1.1: larger than any used with the name).
      auto up = db_.prepare("UPDATE folder SET name = ?, uidvalidity = ? WHERE id = ?");
      up.bind(1, renamed).bind(2, next_uidvalidity()).bind(3, id);
      up.step();
      if (!up.done()) return db_.error("cannot rename folder");
      dirs.emplace_back(dir_for(name), dir_for(renamed));
    }
    // Subscriptions follow the folders they name.
    auto subs = db_.prepare(
        "UPDATE OR REPLACE subscription SET name = ? || substr(name, ?)"
        " WHERE name = ? OR substr(name, 1, ?) = ?");
    subs.bind(1, to)
        .bind(2, static_cast<int64_t>(from.size() + 1))
        .bind(3, from)
        .bind(4, static_cast<int64_t>(from.size() + 1))
        .bind(5, from + "/");
    subs.step();
    if (!subs.done()) return db_.error("cannot rename subscriptions");
    for (auto& [a, b] : dirs) {
      if (::rename(a.c_str(), b.c_str()) != 0 && errno != ENOENT) {
        for (auto& [x, y] : dirs) ::rename(y.c_str(), x.c_str());
        return Error{Errc::Temp, "cannot rename folder directory"};
      }
    }
    if (!tx.commit()) {
      for (auto& [x, y] : dirs) ::rename(y.c_str(), x.c_str());
      return db_.error("cannot rename folder");
    }
  }
  notify();
  return {};
}

// Only an existing folder can be subscribed (as Dovecot does); a
// subscription outlives its folder until it is unsubscribed.
Result<void> UserMailbox::subscribe(std::string_view raw, bool on) {
  std::string name = canonical(raw);
  std::lock_guard lock(mu_);
  if (on) {
    if (auto id = folder_id(name); !id) return id.error();
    auto ins = db_.prepare("INSERT OR IGNORE INTO subscription(name) VALUES(?)");
    ins.bind(1, name);
    ins.step();
    if (!ins.done()) return db_.error("cannot subscribe");
  } else {
    auto del = db_.prepare("DELETE FROM subscription WHERE name = ?");
    del.bind(1, name);
    del.step();
    if (!del.done()) return db_.error("cannot unsubscribe");
  }
  notify();  // NOTIFY SubscriptionChange
  return {};
}

Result<std::vector<std::string>> UserMailbox::subscriptions() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  auto st = db_.prepare("SELECT name FROM subscription ORDER BY name");
  while (st.step()) out.push_back(st.text(0));
  return out;
}

Result<std::vector<MessageMeta>> UserMailbox::messages(int64_t folder) {
  std::lock_guard lock(mu_);
  std::vector<MessageMeta> out;
  auto st = db_.cached(
      "SELECT uid, flags, keywords, modseq, internaldate, size FROM message WHERE folder = ? ORDER BY uid");
  st.bind(1, folder);
  while (st.step()) out.push_back(meta_from(st, 0));
  return out;
}

Result<FolderChanges> UserMailbox::changes_since(int64_t folder, uint64_t modseq) {
  std::lock_guard lock(mu_);
  FolderChanges ch;
  auto st = db_.cached(
      "SELECT uid, flags, keywords, modseq, internaldate, size FROM message WHERE folder = ? AND modseq > ?"
      " ORDER BY uid");
  st.bind(1, folder).bind(2, static_cast<int64_t>(modseq));
  while (st.step()) ch.changed.push_back(meta_from(st, 0));
  auto ex = db_.cached("SELECT uid FROM expunged WHERE folder = ? AND modseq > ? ORDER BY uid");
  ex.bind(1, folder).bind(2, static_cast<int64_t>(modseq));
  while (ex.step()) ch.expunged.push_back(static_cast<uint32_t>(ex.i64(0)));
  auto hm = db_.cached("SELECT modseq FROM folder WHERE id = ?");
  hm.bind(1, folder);
  ch.highest_modseq = hm.step() ? static_cast<uint64_t>(hm.i64(0)) : modseq;
  return ch;
}

Result<uint32_t> UserMailbox::take_recent(int64_t folder, uint32_t up_to_uid, bool claim) {
  std::lock_guard lock(mu_);
  auto get = db_.cached("SELECT first_recent FROM folder WHERE id = ?");
  get.bind(1, folder);
  if (!get.step()) return Error{Errc::NotFound, "no such folder"};
  auto first = static_cast<uint32_t>(get.i64(0));
  get.reset();
  if (claim && up_to_uid >= first) {
    auto put = db_.cached("UPDATE folder SET first_recent = ? WHERE id = ?");
    put.bind(1, static_cast<int64_t>(up_to_uid) + 1).bind(2, folder);
    if (!put.run()) return db_.error("cannot update mailbox index");
  }
  return first;
}

Result<std::vector<std::string>> UserMailbox::keywords(int64_t folder) {
  std::lock_guard lock(mu_);
  std::set<std::string> all;
  auto st = db_.cached("SELECT DISTINCT keywords FROM message WHERE folder = ? AND keywords != ''");
  st.bind(1, folder);
  while (st.step())
    for (auto& k : split_keywords(st.text(0))) all.insert(k);
  return std::vector<std::string>(all.begin(), all.end());
}

Result<std::string> UserMailbox::cache(int64_t folder, uint32_t uid) {
  std::lock_guard lock(mu_);
  auto st = db_.cached("SELECT cache FROM message WHERE folder = ? AND uid = ?");
  st.bind(1, folder).bind(2, uid);
  if (!st.step()) return Error{Errc::NotFound, "no such message"};
  return st.blob(0);
}

Result<std::vector<std::optional<std::string>>> UserMailbox::caches(int64_t folder,
                                                                    const std::vector<uint32_t>& uids) {
  auto d = details(folder, uids, true);
  if (!d) return d.error();
  std::vector<std::optional<std::string>> out(uids.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    if ((*d)[i]) out[i] = std::move((*d)[i]->cache);
  return out;
}

Result<std::vector<std::optional<MessageDetails>>> UserMailbox::details(int64_t folder,
                                                                        const std::vector<uint32_t>& uids,
                                                                        bool with_cache) {
  std::vector<std::optional<MessageDetails>> out(uids.size());
  if (uids.empty()) return out;
  // (uid, position) in UID order, to merge with rows that come in UID order.
  std::vector<std::pair<uint32_t, std::size_t>> want;
  want.reserve(uids.size());
  for (std::size_t i = 0; i < uids.size(); ++i) want.emplace_back(uids[i], i);
  std::sort(want.begin(), want.end());
  uint32_t lo = want.front().first, hi = want.back().first;
  auto row = [&](Statement& st, int first) {
    MessageDetails d;
    d.size = static_cast<uint64_t>(st.i64(first));
    d.internal_date = st.i64(first + 1);
    if (with_cache) d.cache = st.blob(first + 2);
    return d;
  };
  std::lock_guard lock(mu_);
  if (hi - lo < 4 * want.size() + 64) {
    // Dense (a sequence range, FETCH 1:*): one range scan.
    auto st =
        db_.cached(with_cache ? "SELECT uid, size, internaldate, cache FROM message WHERE folder = ? AND "
                                "uid >= ? AND uid <= ? ORDER BY uid"
                              : "SELECT uid, size, internaldate FROM message WHERE folder = ? AND "
                                "uid >= ? AND uid <= ? ORDER BY uid");
    st.bind(1, folder).bind(2, lo).bind(3, hi);
    std::size_t k = 0;
    while (k < want.size() && st.step()) {
      auto uid = static_cast<uint32_t>(st.i64(0));
      while (k < want.size() && want[k].first < uid) ++k;
      if (k < want.size() && want[k].first == uid) {
        MessageDetails d = row(st, 1);
        for (; k < want.size() && want[k].first == uid; ++k) out[want[k].second] = d;
      }
    }
    if (!st.done()) return db_.error("cannot read message details");
    return out;
  }
  // Sparse: point lookups inside one read transaction.
  Transaction tx(db_, Transaction::Kind::Read);
  if (!tx.ok()) return db_.error("cannot read mailbox index");
  {
    auto st =
        db_.cached(with_cache ? "SELECT size, internaldate, cache FROM message WHERE folder = ? AND uid = ?"
                              : "SELECT size, internaldate FROM message WHERE folder = ? AND uid = ?");
    for (std::size_t i = 0; i < uids.size(); ++i) {
      st.reset();
      st.bind(1, folder).bind(2, uids[i]);
      if (st.step()) out[i] = row(st, 0);
    }
  }
  (void)tx.commit();
  return out;
}

Result<std::string> UserMailbox::read(int64_t folder, uint32_t uid) {
  std::string path;
  {
    std::lock_guard lock(mu_);
    auto st = db_.cached(
        "SELECT f.name, m.file FROM message m JOIN folder f ON f.id = m.folder"
        " WHERE m.folder = ? AND m.uid = ?");
    st.bind(1, folder).bind(2, uid);
    if (!st.step()) return Error{Errc::NotFound, "no such message"};
    path = dir_for(st.text(0)) + "/cur/" + st.text(1);
  }
  return read_file(path);
}

Result<std::vector<std::optional<std::string>>> UserMailbox::headers(int64_t folder,
                                                                    const std::vector<uint32_t>& uids,
                                                                    std::size_t max_bytes) {
  std::vector<std::optional<std::string>> out(uids.size());
  std::vector<std::string> paths(uids.size());
  if (uids.empty()) return out;
  {
    std::lock_guard lock(mu_);
    Transaction tx(db_, Transaction::Kind::Read);
    if (!tx.ok()) return db_.error("cannot read mailbox index");
    auto st = db_.cached(
        "SELECT f.name, m.file FROM message m JOIN folder f ON f.id = m.folder"
        " WHERE m.folder = ? AND m.uid = ?");
    for (std::size_t i = 0; i < uids.size(); ++i) {
      st.reset();
      st.bind(1, folder).bind(2, uids[i]);
      if (st.step()) paths[i] = dir_for(st.text(0)) + "/cur/" + st.text(1);
    }
  }
  std::string buf;
  for (std::size_t i = 0; i < uids.size(); ++i) {
    if (paths[i].empty()) continue;
    int fd = ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // expunged meanwhile
    buf.clear();
    std::size_t scanned = 0;
    while (buf.size() < max_bytes) {
      std::size_t at = buf.size();
      buf.resize(std::min(max_bytes, at + 16384));
      ssize_t n = ::read(fd, buf.data() + at, buf.size() - at);
      if (n < 0 && errno == EINTR) n = 0;
      buf.resize(at + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
      if (n <= 0 && buf.size() == at) break;
      // The blank line ends the header (CRLF, or bare LF in foreign files).
      std::size_t from = scanned > 3 ? scanned - 3 : 0;
      std::size_t crlf = buf.find("\r\n\r\n", from), lf = buf.find("\n\n", from);
      std::size_t end = std::min(crlf == std::string::npos ? crlf : crlf + 4, lf == std::string::npos ? lf : lf + 2);
      if (end != std::string::npos) {
        buf.resize(end);
        break;
      }
      scanned = buf.size();
    }
    ::close(fd);
    out[i] = buf;
  }
  return out;
}

Result<std::vector<std::string>> UserMailbox::files(std::string_view folder,
                                                    const std::vector<uint32_t>& uids) {
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  std::string dir;
  auto id = folder_id(folder, &dir);
  if (!id) return id.error();
  Transaction tx(db_, Transaction::Kind::Read);
  if (!tx.ok()) return db_.error("cannot read mailbox index");
  auto st = db_.cached("SELECT file FROM message WHERE folder = ? AND uid = ?");
  for (uint32_t uid : uids) {
    st.reset();
    st.bind(1, *id).bind(2, uid);
    if (st.step()) out.push_back(dir + "/cur/" + st.text(0));
  }
  return out;
}

Result<StoreFlagsResult> UserMailbox::store_flags(int64_t folder, const std::vector<uint32_t>& uids,
                                                  FlagMode mode, uint32_t flags,
                                                  const std::vector<std::string>& kw,
                                                  std::optional<uint64_t> unchanged_since) {
  StoreFlagsResult res;
  {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (!tx.ok()) return db_.error("cannot lock mailbox index");
    auto get = db_.cached(
        "SELECT uid, flags, keywords, modseq, internaldate, size FROM message WHERE folder = ? AND uid = ?");
    auto put =
        db_.cached("UPDATE message SET flags = ?, keywords = ?, modseq = ? WHERE folder = ? AND uid = ?");
    bool changed = false;
    for (uint32_t uid : uids) {
      get.reset();
      get.bind(1, folder).bind(2, uid);
      if (!get.step()) continue;
      MessageMeta m = meta_from(get, 0);
      if (unchanged_since && m.modseq > *unchanged_since) {
        res.modified.push_back(uid);
        continue;
      }
      uint32_t nf = m.flags;
      std::set<std::string> nk(m.keywords.begin(), m.keywords.end());
      switch (mode) {
        case FlagMode::Replace:
          nf = flags;
          nk = std::set<std::string>(kw.begin(), kw.end());
          break;
        case FlagMode::Add:
          nf |= flags;
          nk.insert(kw.begin(), kw.end());
          break;
        case FlagMode::Remove:
          nf &= ~flags;
          for (auto& k : kw) nk.erase(k);
          break;
      }
      std::vector<std::string> nkv(nk.begin(), nk.end());
      if (nf == m.flags && nkv == m.keywords) {
        res.updated.push_back(m);  // unchanged, still reported (RFC 3501 6.4.6)
        continue;
      }
      m.flags = nf;
      m.keywords = nkv;
      m.modseq = next_modseq(folder);
      put.reset();
      put.bind(1, nf)
          .bind(2, join_keywords(nkv))
          .bind(3, static_cast<int64_t>(m.modseq))
          .bind(4, folder)
          .bind(5, uid);
      put.step();
      if (!put.done()) return db_.error("cannot store flags");
      res.updated.push_back(std::move(m));
      changed = true;
    }
    if (!tx.commit()) return db_.error("cannot store flags");
    if (!changed) return res;
  }
  notify();
  return res;
}

std::string UserMailbox::unique_name(std::size_t size) {
  return maildir_unique_name(hostname_, size) + ":2,";  // straight into cur/, no flags yet
}

Result<AppendResult> UserMailbox::append(std::string_view folder, std::string_view message, uint32_t flags,
                                         const std::vector<std::string>& kw, int64_t internal_date) {
  if (quota_ && usage() + message.size() > quota_) return Error{Errc::OverQuota, "quota exceeded"};
  std::string dir, name, tmp;
  int64_t id;
  {
    std::lock_guard lock(mu_);
    auto fid = folder_id(folder, &dir);
    if (!fid) return fid.error();
    id = *fid;
    name = unique_name(message.size());
  }
  tmp = maildir_ + "/tmp/" + name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error{Errc::Temp, "cannot create message file: " + std::string(std::strerror(errno))};
  std::string_view rest = message;
  bool ok = true;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    return Error{Errc::Temp, "cannot write message file"};
  }
  if (internal_date > 0) {
    struct timespec times[2] = {{internal_date, 0}, {internal_date, 0}};
    ::utimensat(AT_FDCWD, tmp.c_str(), times, 0);
  }
  std::vector<RenameStep> steps{{tmp, dir + "/cur/" + name}};
  if (auto r = commit_->commit(std::move(steps)); !r) return r.error();
  std::string cache = cache_ ? cache_(message) : std::string();
  AppendResult res;
  {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (!tx.ok()) return db_.error("cannot lock mailbox index");
    auto uid = insert_message(id, name, message.size(), flags, join_keywords(kw),
                              internal_date > 0 ? internal_date : std::time(nullptr), cache);
    if (!uid) return uid.error();
    auto v = db_.cached("SELECT uidvalidity FROM folder WHERE id = ?");
    v.bind(1, id);
    if (v.step()) res.uidvalidity = static_cast<uint32_t>(v.i64(0));
    res.uid = *uid;
    if (!tx.commit()) return db_.error("cannot index message");
  }
  if (store_) store_->adjust_usage(user_, static_cast<int64_t>(message.size()));
  notify();
  return res;
}

Result<CopyResult> UserMailbox::copy(int64_t from, const std::vector<uint32_t>& uids, std::string_view to,
                                     bool move) {
  CopyResult res;
  struct Item {
    uint32_t uid;
    std::string path, name;
    uint32_t flags;
    std::string keywords, cache;
    int64_t date;
    uint64_t size;
    std::string emailid;  // kept by the copy (RFC 8474)
  };
  std::vector<Item> items;
  std::string to_dir, from_dir;
  int64_t to_id;
  uint64_t total = 0;
  {
    std::lock_guard lock(mu_);
    auto tid = folder_id(to, &to_dir);
    if (!tid) return Error{Errc::NotFound, "no such folder"};
    to_id = *tid;
    auto fname = db_.prepare("SELECT name FROM folder WHERE id = ?");
    fname.bind(1, from);
    if (!fname.step()) return Error{Errc::NotFound, "no such folder"};
    from_dir = dir_for(fname.text(0));
    auto get = db_.prepare(
        "SELECT file, flags, keywords, cache, internaldate, size, emailid FROM message"
        " WHERE folder = ? AND uid = ?");
    for (uint32_t uid : uids) {
      get.reset();
      get.bind(1, from).bind(2, uid);
      if (!get.step()) continue;
      Item it{uid,
              from_dir + "/cur/" + get.text(0),
              unique_name(static_cast<std::size_t>(get.i64(5))),
              static_cast<uint32_t>(get.i64(1)),
              get.text(2),
              get.blob(3),
              get.i64(4),
              static_cast<uint64_t>(get.i64(5)),
              get.text(6)};
      total += it.size;
      items.push_back(std::move(it));
    }
  }
  if (!move && quota_ && usage() + total > quota_) return Error{Errc::OverQuota, "quota exceeded"};
  // Hard links are atomic and need no data sync; the directory entries are
  // made durable by the group commit's syncfs.
  std::vector<RenameStep> steps;
  for (auto& it : items) {
    std::string tmp = maildir_ + "/tmp/" + it.name;
    if (::link(it.path.c_str(), tmp.c_str()) != 0) {
      for (auto& s : steps) ::unlink(s.from.c_str());
      return Error{Errc::Temp, "cannot copy message: " + std::string(std::strerror(errno))};
    }
    steps.push_back({tmp, to_dir + "/cur/" + it.name});
  }
  if (!steps.empty())
    if (auto r = commit_->commit(std::move(steps)); !r) return r.error();
  {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (!tx.ok()) return db_.error("cannot lock mailbox index");
    for (auto& it : items) {
      auto uid =
          insert_message(to_id, it.name, it.size, it.flags, it.keywords, it.date, it.cache, it.emailid);
      if (!uid) return uid.error();
      res.source_uids.push_back(it.uid);
      res.dest_uids.push_back(*uid);
    }
    auto v = db_.cached("SELECT uidvalidity FROM folder WHERE id = ?");
    v.bind(1, to_id);
    if (v.step()) res.uidvalidity = static_cast<uint32_t>(v.i64(0));
    if (!tx.commit()) return db_.error("cannot index messages");
  }
  if (move) {
    std::vector<uint32_t> moved = res.source_uids;
    {
      std::lock_guard lock(mu_);
      Transaction tx(db_);
      if (!tx.ok()) return db_.error("cannot lock mailbox index");
      for (auto& it : items) {
        ::unlink(it.path.c_str());
        auto del = db_.prepare("DELETE FROM message WHERE folder = ? AND uid = ?");
        del.bind(1, from).bind(2, it.uid).step();
        uint64_t ms = next_modseq(from);
        auto ex = db_.prepare("INSERT INTO expunged(folder, uid, modseq) VALUES(?,?,?)");
        ex.bind(1, from).bind(2, it.uid).bind(3, static_cast<int64_t>(ms)).step();
      }
      if (!tx.commit()) return db_.error("cannot update mailbox index");
    }
  } else if (store_) {
    store_->adjust_usage(user_, static_cast<int64_t>(total));
  }
  notify();
  return res;
}

Result<std::vector<uint32_t>> UserMailbox::expunge(int64_t folder, const std::vector<uint32_t>* uids) {
  std::vector<uint32_t> out;
  int64_t freed = 0;
  {
    std::lock_guard lock(mu_);
    std::set<uint32_t> only;
    if (uids) only.insert(uids->begin(), uids->end());
    std::vector<std::pair<uint32_t, std::string>> victims;
    std::string dir;
    {
      auto fname = db_.prepare("SELECT name FROM folder WHERE id = ?");
      fname.bind(1, folder);
      if (!fname.step()) return Error{Errc::NotFound, "no such folder"};
      dir = dir_for(fname.text(0));
      auto st = db_.prepare(
          "SELECT uid, file, size FROM message WHERE folder = ? AND (flags & 8) != 0 ORDER BY uid");
      st.bind(1, folder);
      while (st.step()) {
        auto uid = static_cast<uint32_t>(st.i64(0));
        if (uids && !only.count(uid)) continue;
        victims.emplace_back(uid, st.text(1));
        freed += st.i64(2);
      }
    }
    if (victims.empty()) return out;
    Transaction tx(db_);
    if (!tx.ok()) return db_.error("cannot lock mailbox index");
    auto del = db_.prepare("DELETE FROM message WHERE folder = ? AND uid = ?");
    auto ex = db_.prepare("INSERT INTO expunged(folder, uid, modseq) VALUES(?,?,?)");
    for (auto& [uid, file] : victims) {
      // The file goes first: a crash before the commit leaves a row without
      // a file, which open() expunges; never an expunged message that
      // comes back.
      ::unlink((dir + "/cur/" + file).c_str());
      del.reset();
      del.bind(1, folder).bind(2, uid).step();
      uint64_t ms = next_modseq(folder);
      ex.reset();
      ex.bind(1, folder).bind(2, uid).bind(3, static_cast<int64_t>(ms)).step();
      out.push_back(uid);
    }
    if (!tx.commit()) return db_.error("cannot update mailbox index");
  }
  if (store_) store_->adjust_usage(user_, -freed);
  notify();
  return out;
}

Result<std::vector<std::optional<MessageIds>>> UserMailbox::object_ids(int64_t folder,
                                                                       const std::vector<uint32_t>& uids) {
  std::vector<std::optional<MessageIds>> out(uids.size());
  if (uids.empty()) return out;
  std::lock_guard lock(mu_);
  Transaction tx(db_, Transaction::Kind::Read);
  if (!tx.ok()) return db_.error("cannot read mailbox index");
  {
    auto st = db_.cached("SELECT emailid, savedate FROM message WHERE folder = ? AND uid = ?");
    for (std::size_t i = 0; i < uids.size(); ++i) {
      st.reset();
      st.bind(1, folder).bind(2, uids[i]);
      if (st.step()) out[i] = MessageIds{st.text(0), st.i64(1)};
    }
  }
  (void)tx.commit();
  return out;
}

Result<std::string> UserMailbox::mailbox_id(int64_t folder) {
  std::lock_guard lock(mu_);
  auto st = db_.cached("SELECT mailboxid FROM folder WHERE id = ?");
  st.bind(1, folder);
  if (!st.step()) return Error{Errc::NotFound, "no such folder"};
  return st.text(0);
}

Result<void> UserMailbox::set_cache(int64_t folder, uint32_t uid, std::string_view blob) {
  std::lock_guard lock(mu_);
  auto st = db_.cached("UPDATE message SET cache = ? WHERE folder = ? AND uid = ?");
  st.bind_blob(1, blob).bind(2, folder).bind(3, uid);
  st.step();
  if (!st.done()) return db_.error("cannot update message cache");
  return {};
}

uint64_t UserMailbox::usage() {
  if (!store_) return 0;
  auto u = store_->usage(user_);
  return u ? *u : 0;
}

uint64_t UserMailbox::watch(std::function<void()> fn) {
  std::lock_guard lock(watch_mu_);
  uint64_t t = next_token_++;
  watchers_.emplace(t, std::move(fn));
  return t;
}

void UserMailbox::unwatch(uint64_t token) {
  std::lock_guard lock(watch_mu_);
  watchers_.erase(token);
}

void UserMailbox::notify() {
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard lock(watch_mu_);
    for (auto& [t, fn] : watchers_) fns.push_back(fn);
  }
  for (auto& fn : fns) fn();
}

MailboxRegistry::MailboxRegistry(std::string hostname, GroupCommit& commit, MailStore& store,
                                 std::vector<SpecialFolder> special, CacheBuilder cache)
    : hostname_(std::move(hostname)),
      commit_(commit),
      store_(store),
      special_(std::move(special)),
      cache_(std::move(cache)) {}

Result<std::shared_ptr<UserMailbox>> MailboxRegistry::open(const std::string& user) {
  std::lock_guard lock(mu_);
  auto it = open_.find(user);
  if (it != open_.end())
    if (auto mb = it->second.lock()) return mb;
  std::string dir = store_.maildir_of(user);
  if (dir.empty()) return Error{Errc::Invalid, "invalid mailbox name"};
  auto mb = UserMailbox::open(dir, hostname_, commit_, &store_, user, special_, cache_);
  if (!mb) return mb.error();
  open_[user] = *mb;
  recent_.push_back(*mb);
  if (recent_.size() > 256) recent_.erase(recent_.begin());
  return *mb;
}

void MailboxRegistry::delivered(const std::string& user) {
  std::shared_ptr<UserMailbox> mb;
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(user);
    if (it != open_.end()) mb = it->second.lock();
  }
  if (mb) mb->notify();
}

}  // namespace mailfort::store
