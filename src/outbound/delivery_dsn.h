// Delivery status notifications (RFC 3464, multipart/report): one builder
// for failure reports (permanent errors, expiry) and delay warnings
// ([queue] delay_warning_seconds). The caller never sends them to the null
// sender.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mailfort::outbound {

struct DsnRecipient {
  std::string address;
  std::string status;  // "5.1.1", "4.4.1"
  std::string diagnostic;
};

enum class DsnAction { Failed, Delayed };

// `retry_until` (unix seconds) is reported for delay warnings.
std::string make_dsn(const std::string& hostname, const std::string& sender, const std::string& original,
                     const std::vector<DsnRecipient>& recipients, int64_t arrival,
                     DsnAction action = DsnAction::Failed, int64_t retry_until = 0);

// "550 5.1.1 text" -> "5.1.1" (class forced to 5 when `permanent`).
std::string dsn_status_of(const std::string& reply, bool permanent);

}  // namespace mailfort::outbound
