// Forward-confirmed reverse DNS: see fcrdns.h.
#include "postscreen/fcrdns.h"

#include <arpa/inet.h>

#include <cstring>

#include "dns/resolver.h"

namespace mailfort::postscreen {
namespace {

// Compares addresses as bytes, so "::1" and "0::1" are the same.
bool same_address(const std::string& a, const std::string& b) {
  unsigned char x[16], y[16];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, a.c_str(), x) == 1 && inet_pton(family, b.c_str(), y) == 1) {
      return std::memcmp(x, y, family == AF_INET ? 4 : 16) == 0;
    }
  }
  return false;
}

}  // namespace

FcrdnsResult check_fcrdns(dns::Resolver& resolver, const std::string& ip) {
  using Status = dns::Answer::Status;
  FcrdnsResult out;
  dns::Answer ptr = resolver.query_ptr(ip);
  if (ptr.status == Status::NxDomain || ptr.status == Status::NoData) {
    out.status = FcrdnsResult::Status::NotConfirmed;
    return out;
  }
  if (ptr.status != Status::Ok) return out;  // TempFail
  bool v6 = ip.find(':') != std::string::npos;
  bool temp = false;
  std::size_t n = 0;
  for (const auto& name : ptr.names) {
    if (++n > kMaxPtrNames) break;
    dns::Answer fwd = resolver.query(name, v6 ? dns::Type::AAAA : dns::Type::A);
    if (fwd.status == Status::Ok) {
      for (const auto& a : fwd.addresses) {
        if (same_address(a, ip)) {
          out.status = FcrdnsResult::Status::Confirmed;
          out.name = name;
          return out;
        }
      }
    } else if (fwd.status != Status::NxDomain && fwd.status != Status::NoData) {
      temp = true;
    }
  }
  out.status = temp ? FcrdnsResult::Status::TempFail : FcrdnsResult::Status::NotConfirmed;
  return out;
}

}  // namespace mailfort::postscreen
