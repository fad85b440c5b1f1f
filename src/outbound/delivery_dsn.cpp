#include "outbound/delivery_dsn.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include "proto/mail/header.h"

namespace mailfort::outbound {

std::string dsn_status_of(const std::string& reply, bool permanent) {
  // "550 5.1.1 text" -> "5.1.1"
  auto sp = reply.find(' ');
  if (sp != std::string::npos) {
    auto end = reply.find(' ', sp + 1);
    std::string s = reply.substr(sp + 1, end == std::string::npos ? std::string::npos : end - sp - 1);
    if (s.size() >= 5 && s[1] == '.' && (s[0] == '4' || s[0] == '5')) {
      if (permanent) s[0] = '5';
      return s;
    }
  }
  return permanent ? "5.0.0" : "4.0.0";
}

std::string make_dsn(const std::string& hostname, const std::string& sender, const std::string& original,
                     const std::vector<DsnRecipient>& recipients, int64_t arrival, DsnAction action,
                     int64_t retry_until) {
  int64_t now = static_cast<int64_t>(::time(nullptr));
  bool delayed = action == DsnAction::Delayed;
  std::string boundary = "mailfort-dsn-" + std::to_string(now) + "-" + std::to_string(std::rand());
  std::string headers = original.substr(0, std::min(original.find("\r\n\r\n"), original.size()));
  if (headers.size() > 64 * 1024) headers.resize(64 * 1024);
  std::ostringstream m;
  m << "From: Mail Delivery System <MAILER-DAEMON@" << hostname << ">\r\n"
    << "To: <" << sender << ">\r\n"
    << "Subject: " << (delayed ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender")
    << "\r\n"
    << "Date: " << proto::mail::rfc5322_date(now) << "\r\n"
    << "Message-ID: <" << boundary << "@" << hostname << ">\r\n"
    << "Auto-Submitted: auto-replied\r\n"
    << "MIME-Version: 1.0\r\n"
    << "Content-Type: multipart/report; report-type=delivery-status; boundary=\"" << boundary << "\"\r\n\r\n"
    << "This is a MIME-encapsulated message.\r\n\r\n"
    << "--" << boundary << "\r\n"
    << "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    << "This is the mail system at host " << hostname << ".\r\n\r\n";
  if (delayed)
    m << "Your message could not be delivered yet to one or more recipients.\r\n"
      << "It will be retried until " << proto::mail::rfc5322_date(retry_until)
      << "; no action is needed from you.\r\n\r\n";
  else
    m << "Your message could not be delivered to one or more recipients.\r\n\r\n";
  for (auto& f : recipients) m << "<" << f.address << ">: " << f.diagnostic << "\r\n";
  m << "\r\n--" << boundary << "\r\n"
    << "Content-Type: message/delivery-status\r\n\r\n"
    << "Reporting-MTA: dns; " << hostname << "\r\n"
    << "Arrival-Date: " << proto::mail::rfc5322_date(arrival) << "\r\n";
  for (auto& f : recipients) {
    m << "\r\nFinal-Recipient: rfc822; " << f.address << "\r\n"
      << "Action: " << (delayed ? "delayed" : "failed") << "\r\n"
      << "Status: " << f.status << "\r\n";
    if (!f.diagnostic.empty()) m << "Diagnostic-Code: smtp; " << f.diagnostic << "\r\n";
    if (delayed && retry_until > 0)
      m << "Will-Retry-Until: " << proto::mail::rfc5322_date(retry_until) << "\r\n";
  }
  m << "\r\n--" << boundary << "\r\n"
    << "Content-Type: text/rfc822-headers\r\n\r\n"
    << headers << "\r\n"
    << "\r\n--" << boundary << "--\r\n";
  return m.str();
}

}  // namespace mailfort::outbound
