#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "store/group_commit.h"
#include "store/mail_store.h"
#include "store/mailbox.h"

// UserMailbox's MULTIAPPEND (several messages stored all or none) and the
// URLAUTH access keys (RFC 4467), one random key per folder in the index;
// a key belongs to the folder's UIDVALIDITY, so a folder deleted and
// created again never inherits its predecessor's URLs.
namespace mailfort::store {
namespace {

using sqlite::Transaction;

std::string join_words(const std::vector<std::string>& k) {
  std::string out;
  for (const auto& w : k) out += (out.empty() ? "" : " ") + w;
  return out;
}

bool write_file(const std::string& path, std::string_view data, int64_t mtime) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = true;
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  ok = ::close(fd) == 0 && ok;
  if (ok && mtime > 0) {
    struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
    ::utimensat(AT_FDCWD, path.c_str(), times, 0);
  }
  return ok;
}

constexpr const char* kKeySchema =
    "CREATE TABLE IF NOT EXISTS urlauth_key(folder INTEGER PRIMARY KEY, uidvalidity INTEGER NOT NULL,"
    " key BLOB NOT NULL)";

}  // namespace

Result<AppendManyResult> UserMailbox::append_many(std::string_view folder, const std::vector<AppendItem>& items) {
  uint64_t total = 0;
  for (const auto& it : items) total += it.message.size();
  if (quota_ && usage() + total > quota_) return Error{Errc::OverQuota, "quota exceeded"};
  std::string dir;
  int64_t id;
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    auto fid = folder_id(folder, &dir);
    if (!fid) return fid.error();
    id = *fid;
    for (const auto& it : items) names.push_back(unique_name(it.message.size()));
  }
  std::vector<RenameStep> steps;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string tmp = maildir_ + "/tmp/" + names[i];
    if (!write_file(tmp, items[i].message, items[i].internal_date)) {
      ::unlink(tmp.c_str());
      for (auto& s : steps) ::unlink(s.from.c_str());
      return Error{Errc::Temp, "cannot write message file"};
    }
    steps.push_back({tmp, dir + "/cur/" + names[i]});
  }
  std::vector<std::string> finals;
  for (auto& s : steps) finals.push_back(s.to);
  if (auto r = commit_->commit(std::move(steps)); !r) return r.error();
  std::vector<std::string> caches;
  for (const auto& it : items) caches.push_back(cache_ ? cache_(it.message) : std::string());
  AppendManyResult res;
  {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    bool ok = tx.ok();
    for (std::size_t i = 0; ok && i < items.size(); ++i) {
      const auto& it = items[i];
      auto uid = insert_message(id, names[i], it.message.size(), it.flags, join_words(it.keywords),
                                it.internal_date > 0 ? it.internal_date : std::time(nullptr), caches[i]);
      if (!uid) {
        ok = false;
        break;
      }
      res.uids.push_back(*uid);
    }
    if (ok) {
      auto v = db_.cached("SELECT uidvalidity FROM folder WHERE id = ?");
      v.bind(1, id);
      if (v.step()) res.uidvalidity = static_cast<uint32_t>(v.i64(0));
      ok = tx.commit();
    }
    if (!ok) {
      // All or none: the files that have no row go (the transaction rolls back).
      auto err = db_.error("cannot index messages");
      for (auto& f : finals) ::unlink(f.c_str());
      return err;
    }
  }
  if (store_) store_->adjust_usage(user_, static_cast<int64_t>(total));
  notify();
  return res;
}

Result<std::string> UserMailbox::urlauth_key(std::string_view folder, bool create) {
  std::lock_guard lock(mu_);
  if (!db_.exec(kKeySchema)) return db_.error("cannot create key table");
  auto fid = folder_id(folder);
  if (!fid) return fid.error();
  int64_t validity = 0;
  {
    auto v = db_.cached("SELECT uidvalidity FROM folder WHERE id = ?");
    v.bind(1, *fid);
    if (v.step()) validity = v.i64(0);
  }
  auto get = db_.prepare("SELECT key FROM urlauth_key WHERE folder = ? AND uidvalidity = ?");
  get.bind(1, *fid).bind(2, validity);
  if (get.step()) return get.blob(0);
  if (!create) return std::string();
  std::string key(32, '\0');
  if (::getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size()))
    return Error{Errc::Temp, "no randomness for a URLAUTH key"};
  auto put = db_.prepare("INSERT OR REPLACE INTO urlauth_key(folder, uidvalidity, key) VALUES(?,?,?)");
  put.bind(1, *fid).bind(2, validity).bind_blob(3, key);
  if (!put.run()) return db_.error("cannot store URLAUTH key");
  return key;
}

Result<void> UserMailbox::reset_urlauth_keys(const std::string* folder) {
  std::lock_guard lock(mu_);
  if (!db_.exec(kKeySchema)) return db_.error("cannot create key table");
  if (!folder) {
    if (!db_.exec("DELETE FROM urlauth_key")) return db_.error("cannot reset URLAUTH keys");
    return {};
  }
  auto fid = folder_id(*folder);
  if (!fid) return fid.error();
  auto del = db_.prepare("DELETE FROM urlauth_key WHERE folder = ?");
  del.bind(1, *fid);
  if (!del.run()) return db_.error("cannot reset URLAUTH key");
  return {};
}

}  // namespace mailfort::store
