#include "state/open.h"

#include <fstream>

namespace mailfort::state {

Result<std::shared_ptr<Redis>> open_redis(const config::State& cfg) {
  if (cfg.backend != "redis") return std::shared_ptr<Redis>();
  auto opts = parse_redis_url(cfg.redis_url.empty() ? "redis://127.0.0.1:6379/0" : cfg.redis_url);
  if (!opts) return Error{opts.error().code, "state.redis_url: " + opts.error().message};
  if (!cfg.redis_password_file.empty()) {
    std::ifstream in(cfg.redis_password_file);
    if (!in)
      return make_error(Errc::Perm, "state.redis_password_file: cannot read " + cfg.redis_password_file);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    opts->password = line;
  }
  opts->tls_ca_file = cfg.redis_tls_ca_file;
  opts->key_prefix = cfg.redis_key_prefix;
  opts->timeout = std::chrono::milliseconds(cfg.redis_timeout_ms);
  // Worker threads share these; Redis runs commands one at a time anyway,
  // so more connections would only queue there instead of here.
  opts->pool_size = 8;
  return Redis::create(std::move(opts.value()));
}

}  // namespace mailfort::state
