#include "base/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mailfort {

Result<UserIds> lookup_user(const std::string& name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return make_error(Errc::NotFound, "no such system user '" + name + "'");
  }
  return UserIds{pw.pw_uid, pw.pw_gid};
}

Result<void> drop_privileges(const std::string& user) {
  if (geteuid() != 0) return {};
  if (user.empty() || user == "root") {
    return make_error(Errc::Invalid, "refusing to run as root: set run_as to an unprivileged user");
  }
  auto ids = lookup_user(user);
  if (!ids) return ids.error();
  if (ids->uid == 0) return make_error(Errc::Invalid, "run_as user '" + user + "' has uid 0");
  if (setgroups(0, nullptr) != 0 || setgid(ids->gid) != 0 || setuid(ids->uid) != 0) {
    return make_error(Errc::Perm, std::string("cannot drop privileges: ") + std::strerror(errno));
  }
  if (setuid(0) == 0) return make_error(Errc::Perm, "privileges could be regained after dropping");
  return {};
}

}  // namespace mailfort
