#include "outbound/dkim_outbound.h"

#include <spdlog/spdlog.h>

#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "dkim/canon.h"
#include "dkim/dkim.h"
#include "outbound/delivery_route.h"

namespace mailfort::outbound {

std::string from_domain(std::string_view message) {
  for (const auto& f : dkim::split_message(message).fields) {
    std::string_view name = f.name;
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (!iequals(name, "from")) continue;
    std::string_view v = f.value;
    // "Name <a@b>" or "a@b" (first address; comments and groups are not worth more here).
    auto lt = v.find('<');
    if (lt != std::string_view::npos) {
      auto gt = v.find('>', lt);
      v = v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
    } else {
      auto comma = v.find(',');
      if (comma != std::string_view::npos) v = v.substr(0, comma);
    }
    std::string d = domain_of(v);
    while (!d.empty() && (d.back() == ' ' || d.back() == '\t' || d.back() == '\r' || d.back() == '\n'))
      d.pop_back();
    return d;
  }
  return {};
}

std::string dkim_signatures(directory::Directory& dir, const std::string& data_dir, const std::string& sender,
                            const std::string& authenticated_user, std::string_view message, int64_t now) {
  if (authenticated_user.empty()) return {};  // MX-received (forwarded) or our own bounces
  std::string from = from_domain(message);
  std::string candidates[2] = {domain_of(sender),
                               from == domain_of(authenticated_user) ? from : std::string()};
  for (const auto& domain : candidates) {
    if (domain.empty() || !is_valid_domain(domain)) continue;
    auto local = dir.is_local_domain(domain);
    if (!local || !local.value()) continue;
    auto keys = dkim::load_keys(data_dir, domain);
    if (!keys) {
      spdlog::error("dkim keys-unreadable domain={} error={}", domain, log::quote(keys.error().message));
      continue;
    }
    if (keys->empty()) continue;
    std::string out;
    for (const auto& k : *keys) {
      auto h = dkim::sign(message, k, now);
      if (!h) {
        spdlog::error("dkim sign-failed domain={} selector={} error={}", domain, k.selector,
                      log::quote(h.error().message));
        continue;
      }
      out += *h;
    }
    return out;
  }
  return {};
}

}  // namespace mailfort::outbound
