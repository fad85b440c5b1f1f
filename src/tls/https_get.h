// A minimal blocking HTTPS GET for fetching small policy documents
// (MTA-STS, RFC 8461 3.3): TLS 1.2+, SNI, the certificate must chain to
// the system trust store (or `ca_file`) and match `host`; HTTP/1.1 with
// Connection: close; redirects are never followed (a 3xx is an error);
// the body is capped at `max_body` bytes (more is an error, never a
// truncated document); Content-Length and chunked bodies are understood.
// Connects to the addresses given (resolved by the caller through its own
// resolver), with a connect timeout per address and one deadline for the
// whole exchange. Blocking: run it on the worker pool.
// Faces untrusted input (the server's reply): every length is bounded.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace mailfort::tls {

struct HttpsRequest {
  std::string host;                    // SNI, Host header, certificate name
  std::vector<std::string> addresses;  // IPv4/IPv6 literals, tried in order
  uint16_t port = 443;
  std::string path = "/";
  std::string ca_file;  // empty = system trust store
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds timeout{30};  // whole exchange, per address
  std::size_t max_body = 64 * 1024;
};

struct HttpsResponse {
  int status = 0;
  std::string content_type;  // as sent, e.g. "text/plain; charset=utf-8"
  std::string body;
};

// Errors: Temp for network/TLS/HTTP failures (with a reason for logs).
Result<HttpsResponse> https_get(const HttpsRequest& req);

// The reply as read until the server closed (exposed for tests): status
// line, headers, body by Content-Length, chunked or until close; a 3xx
// or a body over `max_body` is an error.
Result<HttpsResponse> parse_https_response(const std::string& raw, std::size_t max_body);

}  // namespace mailfort::tls
