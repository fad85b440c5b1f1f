// The Sieve subsystem as the server sees it (one instance in
// server::Services): the [sieve] settings, each account's scripts
// (ScriptStore), the global before/after scripts and the global include
// directory, a cache of compiled scripts (compiled once per file version,
// keyed by path, size and modification time), and the durable vacation and
// duplicate state. Blocking: call on the worker pool. Thread-safe.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "sieve/compile.h"
#include "sieve/interpreter.h"
#include "sieve/script_store.h"
#include "sieve/sieve_state.h"

namespace mailfort::sieve {

class SieveService {
 public:
  static Result<std::shared_ptr<SieveService>> open(const config::Config& cfg);

  bool enabled() const { return settings()->enabled; }
  // The [sieve] settings now (global_dir resolved); a reload swaps them,
  // so callers keep the snapshot for one delivery.
  std::shared_ptr<const config::Sieve> settings() const {
    std::lock_guard lock(settings_mu_);
    return cfg_;
  }
  // SIGHUP: the new [sieve] settings (scripts, limits, quota) apply to the
  // next delivery and ManageSieve command. data_dir cannot change.
  void reconfigure(const config::Config& cfg);
  ScriptStore& scripts() { return scripts_; }
  SieveState* state() { return state_.get(); }  // null when its database cannot be opened
  Limits limits() const;
  CompileOptions compile_options() const;

  // Compiles `text`, as PUTSCRIPT and CHECKSCRIPT check it.
  CompileResult check(std::string_view text) const;

  // The compiled script in `path` (a global script, a user's script file),
  // from the cache while the file is unchanged. Errors name the file.
  Result<std::shared_ptr<const CompiledScript>> load(const std::string& path);

  // What runs for `user`: the global before scripts, the user's active
  // script, the global after scripts, compiled. A script that does not
  // compile or cannot be read is left out with a log line (mail still
  // arrives); an empty chain means implicit keep.
  std::vector<ScriptRef> chain_for(const std::string& user);

  // include (RFC 6609) for `user`: personal scripts from the user's store,
  // global ones from [sieve] global_dir.
  std::variant<std::shared_ptr<const CompiledScript>, std::string> load_include(const std::string& user,
                                                                                const std::string& name,
                                                                                bool global);

 private:
  SieveService(const config::Config& cfg);
  static std::shared_ptr<const config::Sieve> settings_of(const config::Config& cfg);
  mutable std::mutex settings_mu_;
  std::shared_ptr<const config::Sieve> cfg_;
  std::string data_dir_;
  ScriptStore scripts_;
  std::unique_ptr<SieveState> state_;

  struct CacheEntry {
    int64_t mtime_ns = 0;
    uint64_t size = 0;
    std::shared_ptr<const CompiledScript> script;
    std::string error;
  };
  static constexpr std::size_t kMaxCached = 10000;
  std::mutex mu_;
  std::map<std::string, CacheEntry> cache_;
};

}  // namespace mailfort::sieve
