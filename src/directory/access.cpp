// Access list entries and matching: see access.h.
#include "directory/access.h"

#include <arpa/inet.h>

#include "base/cidr.h"
#include "base/text.h"

namespace mailfort::directory {

const char* access_action_name(AccessAction a) {
  return a == AccessAction::Permit ? "permit" : "reject";
}

std::optional<AccessAction> parse_access_action(std::string_view text) {
  std::string t = to_lower(text);
  if (t == "permit") return AccessAction::Permit;
  if (t == "reject") return AccessAction::Reject;
  return std::nullopt;
}

std::optional<std::string> normalize_access_entry(std::string_view text) {
  if (text.empty() || text.size() > 320) return std::nullopt;
  if (auto at = text.rfind('@'); at != std::string_view::npos) {
    std::string domain = to_lower(text.substr(at + 1));
    std::string local(text.substr(0, at));
    if (!is_valid_domain(domain, true)) return std::nullopt;
    for (char ch : local)
      if (static_cast<unsigned char>(ch) <= ' ' || ch == '<' || ch == '>') return std::nullopt;
    return to_lower(local) + "@" + domain;
  }
  auto c = Cidr::parse(text);
  if (!c) return std::nullopt;
  int full = c->prefix / 8, rest = c->prefix % 8;
  auto addr = c->addr;
  if (full < 16) {
    if (rest) addr[full] &= static_cast<uint8_t>(0xFF << (8 - rest));
    for (int i = full + (rest ? 1 : 0); i < 16; ++i) addr[i] = 0;
  }
  char out[INET6_ADDRSTRLEN];
  inet_ntop(c->v6 ? AF_INET6 : AF_INET, addr.data(), out, sizeof out);
  std::string s(out);
  if (c->prefix != (c->v6 ? 128 : 32)) s += "/" + std::to_string(c->prefix);
  return s;
}

bool is_client_entry(std::string_view normalized) {
  return normalized.find('@') == std::string_view::npos;
}

std::optional<AccessAction> match_client_access(const std::vector<AccessEntry>& entries,
                                                std::string_view ip) {
  std::optional<AccessAction> best;
  int best_prefix = -1;
  for (const auto& e : entries) {
    if (!is_client_entry(e.entry)) continue;
    auto c = Cidr::parse(e.entry);
    if (!c || !c->contains(ip)) continue;
    if (c->prefix > best_prefix || (c->prefix == best_prefix && e.action == AccessAction::Reject)) {
      best_prefix = c->prefix;
      best = e.action;
    }
  }
  return best;
}

std::optional<AccessAction> match_sender_access(const std::vector<AccessEntry>& entries,
                                                std::string_view sender) {
  auto at = sender.rfind('@');
  if (sender.empty() || at == std::string_view::npos) return std::nullopt;
  std::string address = to_lower(sender);
  std::string domain = address.substr(at);  // "@example.org"
  std::optional<AccessAction> by_address, by_domain;
  auto merge = [](std::optional<AccessAction>& slot, AccessAction a) {
    if (!slot || a == AccessAction::Reject) slot = a;
  };
  for (const auto& e : entries) {
    if (e.entry == address) merge(by_address, e.action);
    if (e.entry == domain) merge(by_domain, e.action);
  }
  return by_address ? by_address : by_domain;
}

}  // namespace mailfort::directory
