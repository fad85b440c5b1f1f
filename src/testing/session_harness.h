// SessionHarness: runs a real protocol session (SMTP, IMAP, POP3) over a
// MemoryStream against real services (SQLite directory, Maildir store,
// queue, bans) in a temporary directory, without sockets or TLS. For
// session unit tests: pipelining, smuggling, STARTTLS injection, state
// machines. Each run() is one connection from start to close.
#pragma once
#include <asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

#include "base/config.h"
#include "testing/memory_stream.h"

namespace asio {
class io_context;
class thread_pool;
}  // namespace asio
namespace mailfort::server {
class Connection;
struct Services;
}  // namespace mailfort::server

namespace mailfort::testing {

using SessionFn = asio::awaitable<void> (*)(std::shared_ptr<server::Connection> conn,
                                            server::Services& services,
                                            std::shared_ptr<const config::Config> cfg,
                                            const config::Listener& listener);

struct RunOptions {
  std::string peer_ip = "192.0.2.10";
  bool early_talker = false;    // the client talks before the greeting
  bool fail_handshake = false;  // STARTTLS / implicit TLS handshake fails
};

class SessionHarness {
 public:
  // `toml`: extra config appended to the harness's base (hostname
  // mail.example.test, data in the temp dir, a TLS certificate, one
  // listener per protocol: "mx" smtp, "submission", "submissions"
  // (implicit), "imap", "imaps" (implicit), "pop3", "sieve" (ManageSieve)). Local domain
  // example.test with user@example.test (password kPassword).
  // `imap_cache`: the IMAP session's cache builder (imap::build_cache) when
  // the test drives IMAP; others may pass nullptr.
  explicit SessionHarness(const std::string& toml = "",
                          std::function<std::string(std::string_view)> imap_cache = nullptr);
  ~SessionHarness();
  SessionHarness(const SessionHarness&) = delete;
  SessionHarness& operator=(const SessionHarness&) = delete;

  static constexpr const char* kUser = "user@example.test";
  static constexpr const char* kPassword = "correct horse battery staple";

  const config::Listener& listener(const std::string& name) const;
  server::Services& services() { return *services_; }
  std::shared_ptr<const config::Config> config() const { return cfg_; }
  const std::string& dir() const { return dir_; }

  // Runs one session of `session` on `listener` with the client's input
  // given as chunks (one read each) until the session ends (or 20 s pass:
  // a hung session fails the test via `finished`). Returns the transcript.
  std::shared_ptr<Transcript> run(SessionFn session, const std::string& listener,
                                  std::vector<std::string> chunks, RunOptions options = {});
  // Whether the last run() ended by itself.
  bool finished() const { return finished_; }

 private:
  std::string dir_;
  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<asio::thread_pool> workers_, auth_workers_;
  std::unique_ptr<server::Services> services_;
  // Each run's I/O context, kept until the workers are joined: a worker that
  // resumed a session still releases its work guard on the context after
  // the session (and the run) may have ended.
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  uint64_t next_id_ = 0;
  bool finished_ = false;
};

// A SASL PLAIN response, base64 ("authzid NUL authcid NUL password").
std::string sasl_plain(std::string_view authzid, std::string_view authcid, std::string_view password);

// Lines of `output` (CRLF-split, without the CRLF).
std::vector<std::string> lines_of(const std::string& output);

}  // namespace mailfort::testing
