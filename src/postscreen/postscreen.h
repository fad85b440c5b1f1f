// Postscreen-grade defense for MX listeners (submission is never
// affected): DNS block/allow lists and FCrDNS at connect, access lists
// (the directory's `access` table) at connect and MAIL FROM, greylisting
// at RCPT. This is the shared service the SMTP layer asks (smtp/mx_screen.h
// runs it per session, on the worker pool): the per-IP DNSBL cache and the
// greylist state. Its parts: dnsbl_site.h (list syntax), dnsbl.h, fcrdns.h,
// greylist.h; the access list syntax is directory/access.h.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "postscreen/dnsbl.h"
#include "postscreen/fcrdns.h"
#include "postscreen/greylist.h"

namespace mailfort::postscreen {

// What is wrong in the [inbound] keys this module reads (dnsbl syntax,
// fcrdns_exceptions CIDRs): (key, message) pairs for `mailfort check` and
// start-up.
std::vector<std::pair<std::string, std::string>> config_problems(const config::Inbound& inbound);

GreylistSettings greylist_settings(const config::Inbound& inbound);

class Postscreen {
 public:
  // Opens the greylist tables in the state database; fails on an [inbound]
  // key that config_problems() refuses.
  // `redis` ([state] backend = "redis"): greylisting and the DNSBL cache shared.
  static Result<std::shared_ptr<Postscreen>> open(const config::Config& cfg,
                                                  std::shared_ptr<dns::Resolver> resolver,
                                                  std::shared_ptr<state::Redis> redis = {});

  // Greylisting's "DKIM-verified known domain" exemption: end of data calls
  // remember for the d= of a passing DKIM signature; RCPT asks for the
  // sender's domain. Both block (SQLite); errors read as "not known".
  void remember_verified_domain(const std::string& domain);
  bool is_verified_domain(const std::string& domain, const config::Inbound& inbound);

  DnsblLookup& dnsbl() { return dnsbl_; }
  Greylist& greylist() { return *greylist_; }
  dns::Resolver& resolver() { return *resolver_; }

 private:
  Postscreen(std::shared_ptr<dns::Resolver> resolver, std::shared_ptr<Greylist> greylist)
      : resolver_(resolver), dnsbl_(std::move(resolver)), greylist_(std::move(greylist)) {}
  std::shared_ptr<dns::Resolver> resolver_;
  DnsblLookup dnsbl_;
  std::shared_ptr<Greylist> greylist_;
};

}  // namespace mailfort::postscreen
