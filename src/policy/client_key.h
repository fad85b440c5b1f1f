// The unit that bans and per-client connection caps count. An IPv4 client is
// its address; an IPv6 client is its network prefix ("2001:db8:1:2::/64"),
// because one subscriber or server usually holds a whole /64 and can take a
// new address from it for every connection. Pure; faces the peer's address.
#pragma once
#include <string>
#include <string_view>

namespace mailfort::policy {

// `ip` as the connection reports it (IPv4-mapped IPv6 already shown as
// IPv4; a zone suffix "%eth0" is ignored). IPv4 unchanged; IPv6 masked to
// `v6_prefix` bits (clamped to 0..128) and written "network/prefix", except
// that 128 gives the plain address. Text that is no address comes back
// unchanged, so it still keys something consistently.
std::string client_key(std::string_view ip, unsigned v6_prefix);

}  // namespace mailfort::policy
