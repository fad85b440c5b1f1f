// The lookup cache in front of a directory on a server (open.h): answers,
// found and not found, are kept for the ttl; errors never are. Bounded:
// when full it starts again empty (simple and cheap; a full cache is rare
// and refills at once). Any write through it clears it.
#include <any>
#include <chrono>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "base/text.h"
#include "directory/open.h"

namespace mailfort::directory {
namespace {

constexpr std::size_t kMaxEntries = 100000;

class CachingDirectory : public Directory {
 public:
  CachingDirectory(std::unique_ptr<Directory> inner, std::chrono::seconds ttl)
      : inner_(std::move(inner)), ttl_(ttl) {}

  // ---- cached lookups ----
  Result<bool> is_local_domain(const std::string& domain) override {
    return cached<bool>("domain", domain, [&] { return inner_->is_local_domain(domain); });
  }
  Result<std::optional<Account>> find_account(const std::string& address) override {
    return cached<std::optional<Account>>("account", address, [&] { return inner_->find_account(address); });
  }
  Result<Resolution> resolve_recipient(const std::string& address) override {
    return cached<Resolution>("resolve", address, [&] { return inner_->resolve_recipient(address); });
  }
  Result<std::optional<TlsPolicy>> find_tls_policy(const std::string& domain) override {
    return cached<std::optional<TlsPolicy>>("tls", domain, [&] { return inner_->find_tls_policy(domain); });
  }
  Result<std::vector<std::string>> sender_addresses(const std::string& account_address) override {
    return cached<std::vector<std::string>>("senders", account_address,
                                            [&] { return inner_->sender_addresses(account_address); });
  }
  Result<bool> requires_tls(const std::string& domain) override {
    return cached<bool>("require_tls", domain, [&] { return inner_->requires_tls(domain); });
  }
  Result<std::optional<uint32_t>> send_limit(const std::string& account_address) override {
    return cached<std::optional<uint32_t>>("send_limit", account_address,
                                           [&] { return inner_->send_limit(account_address); });
  }
  Result<std::optional<uint32_t>> domain_send_limit(const std::string& domain) override {
    return cached<std::optional<uint32_t>>("domain_send_limit", domain,
                                           [&] { return inner_->domain_send_limit(domain); });
  }
  Result<bool> allows_any_from(const std::string& account_address) override {
    return cached<bool>("any_from", account_address,
                        [&] { return inner_->allows_any_from(account_address); });
  }
  Result<bool> domain_allows_any_from(const std::string& domain) override {
    return cached<bool>("domain_any_from", domain, [&] { return inner_->domain_allows_any_from(domain); });
  }
  Result<std::vector<AccessEntry>> list_access() override {
    return cached<std::vector<AccessEntry>>("access", "", [&] { return inner_->list_access(); });
  }

  // ---- passed through: listings (CLI, API) and logins ----
  Result<std::vector<std::string>> list_domains() override { return inner_->list_domains(); }
  Result<std::vector<Account>> list_accounts(const std::string& domain) override {
    return inner_->list_accounts(domain);
  }
  Result<std::vector<Alias>> list_aliases(const std::string& domain) override {
    return inner_->list_aliases(domain);
  }
  Result<std::vector<TlsPolicy>> list_tls_policies() override { return inner_->list_tls_policies(); }
  Result<AuthResult> authenticate(const std::string& login, const std::string& password) override {
    return inner_->authenticate(login, password);
  }
  std::optional<std::string> unavailable() const override { return inner_->unavailable(); }

  // ---- writes: through, then the cache starts again ----
  Result<void> add_domain(const std::string& domain) override { return cleared(inner_->add_domain(domain)); }
  Result<void> remove_domain(const std::string& domain) override {
    return cleared(inner_->remove_domain(domain));
  }
  Result<void> add_account(const Account& account, const std::string& password) override {
    return cleared(inner_->add_account(account, password));
  }
  Result<void> set_password(const std::string& address, const std::string& password) override {
    return cleared(inner_->set_password(address, password));
  }
  Result<void> set_enabled(const std::string& address, bool enabled) override {
    return cleared(inner_->set_enabled(address, enabled));
  }
  Result<void> remove_account(const std::string& address) override {
    return cleared(inner_->remove_account(address));
  }
  Result<void> add_alias(const std::string& source, const std::string& destination,
                         bool allow_shadowing) override {
    return cleared(inner_->add_alias(source, destination, allow_shadowing));
  }
  Result<void> remove_alias(const std::string& source, const std::string& destination) override {
    return cleared(inner_->remove_alias(source, destination));
  }
  Result<void> set_tls_policy(const TlsPolicy& policy) override {
    return cleared(inner_->set_tls_policy(policy));
  }
  Result<void> remove_tls_policy(const std::string& domain) override {
    return cleared(inner_->remove_tls_policy(domain));
  }
  Result<void> set_requires_tls(const std::string& domain, bool required) override {
    return cleared(inner_->set_requires_tls(domain, required));
  }
  Result<void> set_send_limit(const std::string& account_address, std::optional<uint32_t> per_hour) override {
    return cleared(inner_->set_send_limit(account_address, per_hour));
  }
  Result<void> set_domain_send_limit(const std::string& domain, std::optional<uint32_t> per_hour) override {
    return cleared(inner_->set_domain_send_limit(domain, per_hour));
  }
  Result<std::optional<std::string>> ensure_postmaster(const std::string& domain) override {
    return cleared(inner_->ensure_postmaster(domain));
  }
  Result<void> set_allow_any_from(const std::string& account_address, bool allowed) override {
    return cleared(inner_->set_allow_any_from(account_address, allowed));
  }
  Result<void> set_domain_allow_any_from(const std::string& domain, bool allowed) override {
    return cleared(inner_->set_domain_allow_any_from(domain, allowed));
  }
  Result<void> add_access(const std::string& entry, AccessAction action) override {
    return cleared(inner_->add_access(entry, action));
  }
  Result<void> remove_access(const std::string& entry) override {
    return cleared(inner_->remove_access(entry));
  }
  Result<void> import_account(const Account& account) override {
    return cleared(inner_->import_account(account));
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::any value;
    Clock::time_point expires;
  };

  // Names and addresses compare case-insensitively in the directory, so
  // one entry serves every spelling.
  template <class T, class F>
  Result<T> cached(const char* op, const std::string& arg, F&& fetch) {
    std::string key = std::string(op) + '\x1f' + to_lower(arg);
    uint64_t generation;
    {
      std::lock_guard lock(mu_);
      generation = generation_;
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        if (Clock::now() < it->second.expires) return std::any_cast<const T&>(it->second.value);
        entries_.erase(it);
      }
    }
    Result<T> r = fetch();
    if (!r) return r;
    std::lock_guard lock(mu_);
    if (generation != generation_) return r;  // a write came meanwhile: the answer may be stale
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[key] = Entry{std::any(r.value()), Clock::now() + ttl_};
    return r;
  }

  template <class R>
  R cleared(R r) {
    std::lock_guard lock(mu_);
    entries_.clear();
    ++generation_;
    return r;
  }

  std::unique_ptr<Directory> inner_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  uint64_t generation_ = 0;  // writes so far
};

}  // namespace

std::unique_ptr<Directory> with_cache(std::unique_ptr<Directory> inner, std::chrono::seconds ttl) {
  if (ttl.count() <= 0) return inner;
  return std::make_unique<CachingDirectory>(std::move(inner), ttl);
}

}  // namespace mailfort::directory
