// The postscreen service: see postscreen.h.
#include "postscreen/postscreen.h"

#include "base/cidr.h"
#include "base/text.h"

#include <ctime>

namespace mailfort::postscreen {

std::vector<std::pair<std::string, std::string>> config_problems(const config::Inbound& inbound) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : inbound.dnsbl) {
    auto parsed = parse_dnsbl_site(s);
    if (!parsed.site) out.emplace_back("inbound.dnsbl", parsed.error);
  }
  for (const auto& n : inbound.fcrdns_exceptions) {
    if (!Cidr::parse(n))
      out.emplace_back("inbound.fcrdns_exceptions", "fcrdns exception '" + n + "' is not a CIDR");
  }
  return out;
}

GreylistSettings greylist_settings(const config::Inbound& inbound) {
  return GreylistSettings{inbound.greylist_delay_seconds, inbound.greylist_pass_count,
                          inbound.greylist_allow_days};
}

Result<std::shared_ptr<Postscreen>> Postscreen::open(const config::Config& cfg,
                                                     std::shared_ptr<dns::Resolver> resolver,
                                                     std::shared_ptr<state::Redis> redis) {
  auto problems = config_problems(cfg.inbound);
  if (!problems.empty())
    return make_error(Errc::Invalid, problems.front().first + ": " + problems.front().second);
  auto greylist = Greylist::open(cfg.state_db_path(), redis);
  if (!greylist) return greylist.error();
  auto screen = std::shared_ptr<Postscreen>(new Postscreen(std::move(resolver), std::move(greylist.value())));
  if (redis) screen->dnsbl_.set_redis(std::move(redis));
  return screen;
}

void Postscreen::remember_verified_domain(const std::string& domain) {
  (void)greylist_->remember_verified_domain(to_lower(domain), static_cast<int64_t>(std::time(nullptr)));
}

bool Postscreen::is_verified_domain(const std::string& domain, const config::Inbound& inbound) {
  auto known = greylist_->is_verified_domain(to_lower(domain), greylist_settings(inbound),
                                             static_cast<int64_t>(std::time(nullptr)));
  return known.ok() && known.value();
}

}  // namespace mailfort::postscreen
