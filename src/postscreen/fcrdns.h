// Forward-confirmed reverse DNS: the client's address has a PTR name whose
// A/AAAA records include the address again. Mail servers are expected to
// have it; a client without it is refused 450 4.7.25 (RFC 8689) when
// [inbound] require_fcrdns is on, unless it is in fcrdns_exceptions.
// Blocks (DNS): run on the worker pool.
#pragma once
#include <string>

namespace mailfort::dns {
class Resolver;
}

namespace mailfort::postscreen {

struct FcrdnsResult {
  enum class Status { Confirmed, NotConfirmed, TempFail };
  Status status = Status::TempFail;
  std::string name;  // the confirmed PTR name
};

// At most this many PTR names are followed (a PTR set can be large, and
// each name costs a lookup).
inline constexpr std::size_t kMaxPtrNames = 10;

FcrdnsResult check_fcrdns(dns::Resolver& resolver, const std::string& ip);

}  // namespace mailfort::postscreen
