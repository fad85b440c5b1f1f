#include "auth/dns_source.h"

namespace mailfort::auth {
namespace {

class ResolverSource final : public DnsSource {
 public:
  explicit ResolverSource(std::shared_ptr<dns::Resolver> r) : resolver_(std::move(r)) {}
  dns::Answer query(const std::string& name, dns::Type type) override { return resolver_->query(name, type); }

 private:
  std::shared_ptr<dns::Resolver> resolver_;
};

}  // namespace

std::unique_ptr<DnsSource> resolver_source(std::shared_ptr<dns::Resolver> resolver) {
  return std::make_unique<ResolverSource>(std::move(resolver));
}

}  // namespace mailfort::auth
