// One account's Sieve scripts on disk, as ManageSieve, `mailfort sieve` and
// delivery see them: <data_dir>/mailboxes/<domain>/<user>/sieve/<name>.sieve
// and the file `active` holding the active script's name (one at most).
// Writes go through a temporary file and a rename, so a crash leaves the
// old or the new script, never half of one. Quota (RFC 5804 HAVESPACE):
// bytes per script, number of scripts, bytes of all scripts. Blocking:
// call on the worker pool. Thread-safe (per-call file operations).
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mailfort::sieve {

struct ScriptQuota {
  uint64_t max_script_size = 65536;  // bytes of one script
  uint32_t max_scripts = 20;         // scripts per account
  uint64_t max_storage = 1048576;    // bytes of all of an account's scripts
};

struct ScriptEntry {
  std::string name;
  bool active = false;
  uint64_t size = 0;
};

// Why a script does not fit (HAVESPACE/PUTSCRIPT's QUOTA response codes).
enum class Space { Ok, TooBig /*QUOTA/MAXSIZE*/, TooMany /*QUOTA/MAXSCRIPTS*/, Full /*QUOTA*/ };

class ScriptStore {
 public:
  ScriptStore(std::string data_dir, ScriptQuota quota);

  // A script name ManageSieve accepts (RFC 5804 1.6: UTF-8, no controls,
  // no '/', not "." or "..", at most 255 octets; also no leading '.').
  static bool valid_name(std::string_view name);

  std::string dir_of(const std::string& user) const;  // .../<domain>/<user>/sieve
  // The file a script lives in (it may not exist).
  std::string path_of(const std::string& user, const std::string& name) const;

  Result<std::vector<ScriptEntry>> list(const std::string& user) const;             // sorted by name
  Result<std::string> get(const std::string& user, const std::string& name) const;  // NotFound
  // The active script's name, nullopt when none is active.
  Result<std::optional<std::string>> active(const std::string& user) const;

  // Would `size` bytes stored as `name` fit (replacing a script of that name)?
  Space have_space(const std::string& user, const std::string& name, uint64_t size) const;
  // Stores `text` as `name` (replacing it); Invalid name, OverQuota when it
  // does not fit. The caller checks that it compiles first.
  Result<void> put(const std::string& user, const std::string& name, std::string_view text);
  // Activates `name` (NotFound when absent); "" deactivates.
  Result<void> activate(const std::string& user, const std::string& name);
  // NotFound; Denied for the active script (RFC 5804 DELETESCRIPT).
  Result<void> remove(const std::string& user, const std::string& name);
  // NotFound for `from`, Exists for `to`; the active choice follows.
  Result<void> rename(const std::string& user, const std::string& from, const std::string& to);

  ScriptQuota quota() const {
    std::lock_guard lock(quota_mu_);
    return quota_;
  }
  // A new [sieve] quota (SIGHUP): applies to the next write.
  void set_quota(const ScriptQuota& q) {
    std::lock_guard lock(quota_mu_);
    quota_ = q;
  }

 private:
  std::string data_dir_;
  mutable std::mutex quota_mu_;
  ScriptQuota quota_;
};

}  // namespace mailfort::sieve
