// Privilege separation: after binding ports as root, run as an unprivileged
// user (Postfix's and Dovecot's start-up order: config and keys -> bind ->
// drop -> serve). The CLI drops too before touching data files, so files it
// creates (SQLite WAL/SHM) stay owned by the server's user.
#pragma once
#include <sys/types.h>
#include <string>

#include "base/result.h"

namespace mailfort {

struct UserIds {
  uid_t uid;
  gid_t gid;
};

// Looks up a system user.
Result<UserIds> lookup_user(const std::string& name);

// When running as root: setgroups/setgid/setuid to `user` (and verifies root
// cannot be regained). When not root: does nothing. Root with an empty user
// is refused: Mailfort never serves as root.
Result<void> drop_privileges(const std::string& user);

}  // namespace mailfort
