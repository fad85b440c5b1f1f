// Access lists (table `access` of the directory): client networks and
// envelope senders an admin always lets in (permit: no DNSBL, FCrDNS or
// greylisting) or always refuses (reject: 554 5.7.1 at connect for a
// client, at MAIL FROM for a sender). Entries are an IP or CIDR
// ("192.0.2.0/24", "2001:db8::/32", "127.0.0.9"), an address
// ("user@example.org") or a whole domain ("@example.org").
//
// The entry syntax and the matching, pure: the most specific entry wins
// (the longest prefix; an address before its @domain), and reject wins a
// tie. Faces admin input (CLI) and the client's address and sender.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::directory {

enum class AccessAction { Permit, Reject };
const char* access_action_name(AccessAction a);  // "permit" | "reject"
std::optional<AccessAction> parse_access_action(std::string_view text);

struct AccessEntry {
  std::string entry;  // normalised (normalize_access_entry)
  AccessAction action = AccessAction::Reject;
};

// The canonical form of an entry: a network with its host bits cleared and
// without "/32" or "/128" ("192.0.2.7/24" -> "192.0.2.0/24"), an address or
// @domain lower-cased. nullopt for anything else.
std::optional<std::string> normalize_access_entry(std::string_view text);
bool is_client_entry(std::string_view normalized);  // a network, not a sender

std::optional<AccessAction> match_client_access(const std::vector<AccessEntry>& entries, std::string_view ip);
// `sender` as given in MAIL FROM; the null sender matches nothing.
std::optional<AccessAction> match_sender_access(const std::vector<AccessEntry>& entries,
                                                std::string_view sender);

}  // namespace mailfort::directory
