// DNS resolution through libunbound: asynchronous, DNSSEC-validating, so
// every answer carries its "secure" status (needed for DANE). Integrated into
// Asio via unbound's file descriptor; no blocking call on an I/O thread.
//
// Forwarders come from [dns] resolvers ("ip:port"); empty = /etc/resolv.conf;
// recursion = true resolves from the root. Tests point it at a fake DNS
// server on loopback.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace mailfort::dns {

struct Settings {
  std::vector<std::string> forwarders;  // "ip:port" or "ip" (port 53)
  bool recursion = false;
  std::string trust_anchor_file;        // empty = no DNSSEC validation anchor
  int timeout_ms = 10000;               // per query
};

enum class Type : uint16_t { A = 1, NS = 2, CNAME = 5, PTR = 12, MX = 15, TXT = 16, AAAA = 28, TLSA = 52 };
Result<Type> parse_type(const std::string& name);  // "MX", "a", ...
const char* type_name(Type t);

struct Mx {
  uint16_t preference = 0;
  std::string host;  // lower-case, no trailing dot ("" for null MX ".")
};
struct Tlsa {
  uint8_t usage = 0, selector = 0, matching_type = 0;
  std::string data;  // raw bytes
};

struct Answer {
  enum class Status { Ok, NxDomain, NoData, ServFail, Timeout, Bogus, Error };
  Status status = Status::Error;
  bool secure = false;   // validated by DNSSEC
  std::string why_bogus; // validator's reason when Bogus
  uint32_t ttl = 0;
  std::string canonical_name;
  // Decoded records of the asked type; the typed vectors are filled for
  // their type, `text` for every type (presentation format).
  std::vector<std::string> text;
  std::vector<std::string> addresses;  // A/AAAA as text
  std::vector<Mx> mx;                  // sorted by preference
  std::vector<Tlsa> tlsa;
  std::vector<std::string> txt;        // TXT strings of one record joined
  std::vector<std::string> names;      // PTR/CNAME/NS targets, lower-case, no trailing dot
};

const char* status_name(Answer::Status s);

class Resolver {
 public:
  // One resolver per process is enough: unbound multiplexes queries.
  static Result<std::shared_ptr<Resolver>> create(asio::any_io_executor executor, const Settings& settings);
  virtual ~Resolver() = default;
  virtual asio::awaitable<Answer> query(std::string name, Type type) = 0;
  // Reverse lookup helper: PTR for an IPv4/IPv6 address string.
  virtual asio::awaitable<Answer> query_ptr(std::string ip) = 0;
  // Stops and fails pending queries (shutdown).
  virtual void stop() = 0;
};

}  // namespace mailfort::dns
