// DMARC aggregate reports (RFC 7489 7.2): the daily run that turns the
// counts of auth::DmarcReportStore into report mails.
//
// For every policy domain with rows on a day and no report yet: its
// `_dmarc` record is looked up again (policy_published says what is
// published now; its rua= says where to send). Each mailto: rua gets the
// report (dmarc_report.h: XML, gzip, MIME), DKIM-signed with the key of
// our host name's local domain (the host name or the nearest parent that
// is a local domain with active keys), queued with the null sender so a
// failing report cannot bounce back and forth. A destination outside the
// policy domain's organisational domain must publish
// `<policy domain>._report._dmarc.<rua domain>` TXT "v=DMARC1..." (7.1),
// else it is skipped; a report larger than the URI's "!size" is skipped.
// A failed lookup of the policy record leaves the domain for the next
// run; everything else marks it sent. Blocking: worker pool or CLI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mailfort::auth {
class DmarcReportStore;
}
namespace mailfort::dns {
class Resolver;
}
namespace mailfort::directory {
class Directory;
}
namespace mailfort::queue {
class Queue;
}

namespace mailfort::outbound {

struct DmarcReportRun {
  std::size_t domains = 0;   // reports built and queued at least once
  std::size_t messages = 0;  // report mails queued
  // "domain=<d> rua=<uri> reason=<why>" for each destination left out
  // (not mailto:, no-authorization, too-large): for the CLI to show.
  std::vector<std::string> skipped;
};

struct DmarcReportContext {
  auth::DmarcReportStore& store;
  dns::Resolver& dns;
  queue::Queue& queue;
  directory::Directory& directory;
  std::string data_dir;  // DKIM keys
  std::string hostname;
};

DmarcReportRun send_dmarc_reports(const DmarcReportContext& ctx, const std::string& day, int64_t now);

}  // namespace mailfort::outbound
