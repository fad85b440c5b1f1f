// What mail authentication asks of DNS. The server and the CLI wrap the
// shared dns::Resolver (resolver_source); unit tests give a map. Calls
// block: verification runs on the worker pool, never on an I/O thread.
#pragma once
#include <memory>
#include <string>

#include "dns/resolver.h"

namespace mailfort::auth {

class DnsSource {
 public:
  virtual ~DnsSource() = default;
  // `name` without a trailing dot. NxDomain / NoData / ServFail (and a
  // timeout, reported as ServFail or Error) are kept apart: SPF, DKIM and
  // DMARC map them to none / permerror / temperror differently.
  virtual dns::Answer query(const std::string& name, dns::Type type) = 0;
};

std::unique_ptr<DnsSource> resolver_source(std::shared_ptr<dns::Resolver> resolver);

}  // namespace mailfort::auth
