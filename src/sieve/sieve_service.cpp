#include "sieve/sieve_service.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "base/log.h"

namespace mailfort::sieve {
namespace {

ScriptQuota quota_of(const config::Sieve& s) {
  ScriptQuota q;
  q.max_script_size = s.max_script_size;
  q.max_scripts = s.max_scripts;
  q.max_storage = s.max_storage;
  return q;
}

// The last path component without ".sieve" (for logs and chain names).
std::string script_label(const std::string& path) {
  auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.size() > 6 && base.compare(base.size() - 6, 6, ".sieve") == 0) base.resize(base.size() - 6);
  return base;
}

}  // namespace

SieveService::SieveService(const config::Config& cfg)
    : cfg_(settings_of(cfg)), data_dir_(cfg.data_dir), scripts_(cfg.data_dir, quota_of(cfg.sieve)) {}

std::shared_ptr<const config::Sieve> SieveService::settings_of(const config::Config& cfg) {
  auto s = std::make_shared<config::Sieve>(cfg.sieve);
  s->global_dir = cfg.sieve_global_dir();
  return s;
}

void SieveService::reconfigure(const config::Config& cfg) {
  auto next = settings_of(cfg);
  scripts_.set_quota(quota_of(*next));
  std::lock_guard lock(settings_mu_);
  cfg_ = std::move(next);
}

Result<std::shared_ptr<SieveService>> SieveService::open(const config::Config& cfg) {
  std::shared_ptr<SieveService> s(new SieveService(cfg));
  if (auto st = SieveState::open(cfg.sieve_state_db_path()); st) {
    s->state_ = std::move(st.value());
  } else {
    spdlog::warn("sieve state-unavailable path={} error={}", log::quote(cfg.sieve_state_db_path()),
                 log::quote(st.error().message));
  }
  return s;
}

Limits SieveService::limits() const {
  auto cfg = settings();
  Limits l;
  l.max_steps = cfg->max_steps;
  l.max_actions = cfg->max_actions;
  l.max_redirects = cfg->max_redirects;
  l.max_include_depth = cfg->max_include_depth;
  l.max_header_edits = cfg->max_header_edits;
  l.vacation_default_seconds = uint64_t(cfg->vacation_default_days) * 86400;
  l.vacation_min_seconds = cfg->vacation_min_seconds;
  l.vacation_max_seconds = uint64_t(cfg->vacation_max_days) * 86400;
  if (l.vacation_min_seconds > l.vacation_max_seconds) l.vacation_min_seconds = l.vacation_max_seconds;
  return l;
}

CompileOptions SieveService::compile_options() const {
  CompileOptions o;
  o.max_script_size = settings()->max_script_size;
  return o;
}

CompileResult SieveService::check(std::string_view text) const {
  return compile(text, compile_options());
}

Result<std::shared_ptr<const CompiledScript>> SieveService::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error{Errc::NotFound, path + ": no such script"};
  int64_t mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(path);
    if (it != cache_.end() && it->second.mtime_ns == mtime_ns && it->second.size == uint64_t(st.st_size)) {
      if (it->second.script) return it->second.script;
      return Error{Errc::Invalid, it->second.error};
    }
  }
  // Global scripts are the admin's and may be larger than users' quota.
  if (uint64_t(st.st_size) > std::max<uint64_t>(settings()->max_script_size, 16u << 20))
    return Error{Errc::Invalid, path + ": script too large"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::Temp, path + ": cannot read"};
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  CompileOptions o = compile_options();
  o.max_script_size = std::max<std::size_t>(o.max_script_size, text.size());
  CompileResult r = compile(text, o);
  CacheEntry e;
  e.mtime_ns = mtime_ns;
  e.size = uint64_t(st.st_size);
  e.script = r.script;
  if (!r.ok())
    e.error = r.errors.empty() ? path + ": does not compile" : format_error(path, r.errors.front());
  {
    std::lock_guard lock(mu_);
    if (cache_.size() >= kMaxCached) cache_.clear();  // rare: many accounts' scripts; recompiling is cheap
    cache_[path] = e;
  }
  if (!r.ok()) return Error{Errc::Invalid, e.error};
  return r.script;
}

std::vector<ScriptRef> SieveService::chain_for(const std::string& user) {
  std::vector<ScriptRef> chain;
  auto cfg = settings();
  if (!cfg->enabled) return chain;
  auto add_global = [&](const std::string& path, const char* kind) {
    auto s = load(path);
    if (!s) {
      spdlog::warn("sieve global-script-skipped script={} error={}", log::quote(path),
                   log::quote(s.error().message));
      return;
    }
    chain.push_back({std::string(kind) + ":" + script_label(path), s.value(), true});
  };
  for (const auto& p : cfg->before) add_global(p, "before");
  if (auto active = scripts_.active(user); active && active.value()) {
    const std::string& name = *active.value();
    auto s = load(scripts_.path_of(user, name));
    if (s) {
      chain.push_back({"personal:" + name, s.value(), false});
    } else {
      spdlog::warn("sieve script-skipped user={} script={} error={}", log::quote(user), log::quote(name),
                   log::quote(s.error().message));
    }
  }
  for (const auto& p : cfg->after) add_global(p, "after");
  return chain;
}

std::variant<std::shared_ptr<const CompiledScript>, std::string> SieveService::load_include(
    const std::string& user, const std::string& name, bool global) {
  if (!ScriptStore::valid_name(name)) return "invalid script name '" + name + "'";
  std::string path = global ? settings()->global_dir + "/" + name + ".sieve" : scripts_.path_of(user, name);
  auto s = load(path);
  if (!s) return s.error().message;
  return s.value();
}

}  // namespace mailfort::sieve
