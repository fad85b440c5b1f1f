#include "store/mail_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/group_commit.h"
#include "store/maildir_name.h"

namespace mailfort::store {
namespace {

// A path component from the directory: refuse anything that could escape
// the mailbox root even though the directory validates addresses already.
bool safe_component(std::string_view s) {
  if (s.empty() || s.size() > 255 || s == "." || s == ".." || s.front() == '.') return false;
  for (char c : s)
    if (c == '/' || c == '\0') return false;
  return true;
}

bool make_dirs(const std::string& path) {
  std::string cur;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  return true;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

uint64_t scan_usage(const std::string& dir) {
  uint64_t total = 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string_view name(e->d_name);
    auto s = name.find(",S=");
    if (s != std::string_view::npos) {
      total += std::strtoull(e->d_name + s + 3, nullptr, 10);
      continue;
    }
    struct stat st {};
    if (::stat((dir + "/" + e->d_name).c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
  }
  ::closedir(d);
  return total;
}

}  // namespace

MailStore::MailStore(std::string data_dir, std::string hostname, GroupCommit& commit)
    : data_dir_(std::move(data_dir)), hostname_(maildir_host(hostname)), commit_(commit) {}

std::string MailStore::maildir_of(const std::string& mailbox) const {
  auto at = mailbox.rfind('@');
  if (at == std::string::npos) return {};
  std::string user = mailbox.substr(0, at), domain = mailbox.substr(at + 1);
  if (!safe_component(user) || !safe_component(domain)) return {};
  return data_dir_ + "/mailboxes/" + domain + "/" + user + "/mail";
}

Result<std::vector<RenameStep>> MailStore::prepare(const std::vector<std::string>& mailboxes,
                                                   std::string_view message) {
  std::vector<RenameStep> steps;
  std::string first_tmp;
  auto undo = [&] {
    for (auto& s : steps) ::unlink(s.from.c_str());
  };
  for (const auto& mb : mailboxes) {
    std::string dir = maildir_of(mb);
    if (dir.empty()) {
      undo();
      return make_error(Errc::Perm, "invalid mailbox name");
    }
    if (!make_dirs(dir + "/tmp") || !make_dirs(dir + "/new") || !make_dirs(dir + "/cur")) {
      undo();
      return make_error(Errc::Temp, "cannot create maildir: " + std::string(std::strerror(errno)));
    }
    std::string name = maildir_unique_name(hostname_, message.size());
    std::string tmp = dir + "/tmp/" + name;
    // One copy on disk, hard links for the other recipients (as Dovecot's
    // deliver does); fall back to writing when linking fails.
    bool linked = !first_tmp.empty() && ::link(first_tmp.c_str(), tmp.c_str()) == 0;
    if (!linked) {
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) {
        undo();
        return make_error(Errc::Temp, "cannot create message file: " + std::string(std::strerror(errno)));
      }
      bool ok = write_all(fd, message);
      ok = (::close(fd) == 0) && ok;
      if (!ok) {
        ::unlink(tmp.c_str());
        undo();
        return make_error(Errc::Temp, "cannot write message file: " + std::string(std::strerror(errno)));
      }
      if (first_tmp.empty()) first_tmp = tmp;
    }
    steps.push_back({tmp, dir + "/new/" + name});
  }
  return steps;
}

void MailStore::delivered(const std::vector<std::string>& mailboxes, std::size_t size) {
  {
    std::lock_guard lock(mu_);
    for (const auto& mb : mailboxes) {
      auto it = usage_.find(mb);
      if (it != usage_.end()) it->second += size;
    }
  }
  if (on_delivered_)
    for (const auto& mb : mailboxes) on_delivered_(mb);
}

Result<void> MailStore::deliver(const std::vector<std::string>& mailboxes, std::string_view message) {
  auto steps = prepare(mailboxes, message);
  if (!steps) return steps.error();
  auto r = commit_.commit(std::move(steps.value()));
  if (!r) return r;
  delivered(mailboxes, message.size());
  return {};
}

Result<uint64_t> MailStore::usage(const std::string& mailbox) {
  {
    std::lock_guard lock(mu_);
    auto it = usage_.find(mailbox);
    if (it != usage_.end()) return it->second;
  }
  std::string dir = maildir_of(mailbox);
  if (dir.empty()) return make_error(Errc::Invalid, "invalid mailbox name");
  // INBOX and every Maildir++ folder (".Sent", ".A.B").
  uint64_t total = scan_usage(dir + "/new") + scan_usage(dir + "/cur");
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string_view n(e->d_name);
      if (n.size() > 1 && n[0] == '.' && n != "..")
        total += scan_usage(dir + "/" + e->d_name + "/new") + scan_usage(dir + "/" + e->d_name + "/cur");
    }
    ::closedir(d);
  }
  std::lock_guard lock(mu_);
  return usage_.emplace(mailbox, total).first->second;
}

void MailStore::adjust_usage(const std::string& mailbox, int64_t delta) {
  std::lock_guard lock(mu_);
  auto it = usage_.find(mailbox);
  if (it == usage_.end()) return;  // not scanned yet: the first usage() call scans
  if (delta < 0 && static_cast<uint64_t>(-delta) > it->second)
    it->second = 0;
  else
    it->second += static_cast<uint64_t>(delta);
}

void MailStore::cleanup_tmp() {
  std::string root = data_dir_ + "/mailboxes";
  DIR* domains = ::opendir(root.c_str());
  if (!domains) return;
  while (dirent* d = ::readdir(domains)) {
    if (d->d_name[0] == '.') continue;
    std::string droot = root + "/" + d->d_name;
    DIR* users = ::opendir(droot.c_str());
    if (!users) continue;
    while (dirent* u = ::readdir(users)) {
      if (u->d_name[0] == '.') continue;
      std::string tmp = droot + "/" + u->d_name + "/mail/tmp";
      DIR* t = ::opendir(tmp.c_str());
      if (!t) continue;
      while (dirent* f = ::readdir(t)) {
        if (f->d_name[0] != '.') ::unlink((tmp + "/" + f->d_name).c_str());
      }
      ::closedir(t);
    }
    ::closedir(users);
  }
  ::closedir(domains);
}

}  // namespace mailfort::store
