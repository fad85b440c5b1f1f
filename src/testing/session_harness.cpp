#include "testing/session_harness.h"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "base/base64.h"
#include "directory/directory.h"
#include "server/connection.h"
#include "server/listener.h"
#include "server/services.h"
#include "sieve/sieve_service.h"
#include "tls/certs.h"
#include "tls/context.h"

namespace mailfort::testing {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("SessionHarness: " + what);
}

std::string make_temp_dir() {
  std::string templ = (fs::temp_directory_path() / "mf-session-XXXXXX").string();
  if (!mkdtemp(templ.data())) fail("mkdtemp");
  return templ;
}

}  // namespace

SessionHarness::SessionHarness(const std::string& toml,
                               std::function<std::string(std::string_view)> imap_cache)
    : dir_(make_temp_dir()),
      workers_(std::make_unique<asio::thread_pool>(2)),
      auth_workers_(std::make_unique<asio::thread_pool>(1)),
      services_(std::make_unique<server::Services>()) {
  if (auto r = tls::generate_self_signed("mail.example.test", dir_ + "/cert.pem", dir_ + "/key.pem"); !r)
    fail(r.error().message);
  std::string text = "hostname = \"mail.example.test\"\ndata_dir = \"" + dir_ + "/data\"\n" + toml +
                     "\n[tls]\ncert = \"" + dir_ + "/cert.pem\"\nkey = \"" + dir_ + "/key.pem\"\n";
  const char* listeners[][4] = {{"mx", "smtp", "none"},
                                {"submission", "submission", "starttls"},
                                {"submissions", "submission", "implicit"},
                                {"imap", "imap", "starttls"},
                                {"imaps", "imap", "implicit"},
                                {"pop3", "pop3", "starttls"},
                                {"sieve", "managesieve", "starttls"}};
  int port = 10025;
  for (auto& l : listeners) {
    text += std::string("\n[[listener]]\nname = \"") + l[0] + "\"\nprotocol = \"" + l[1] +
            "\"\naddress = \"127.0.0.1:" + std::to_string(port++) + "\"\ntls = \"" + l[2] + "\"\n";
  }
  auto loaded = config::load_string(text, dir_ + "/mailfort.toml");
  if (!loaded.config) {
    std::string problems;
    for (const auto& p : loaded.problems) problems += p.to_string() + "\n";
    fail("config:\n" + problems);
  }
  cfg_ = std::make_shared<const config::Config>(std::move(*loaded.config));
  fs::create_directories(cfg_->data_dir);

  auto& s = *services_;
  s.set_config(cfg_);
  s.workers = workers_.get();
  s.auth_workers = auth_workers_.get();
  server::create_limits(*cfg_, s);
  if (auto r = server::open_local_services(*cfg_, s, std::move(imap_cache)); !r) fail(r.error().message);
  // As server.cpp opens it (ManageSieve sessions use it).
  auto sieve = sieve::SieveService::open(*cfg_);
  if (!sieve) fail(sieve.error().message);
  s.sieve = sieve.value();
  auto ctx = tls::ServerContext::create(
      {cfg_->tls.cert, cfg_->tls.key, cfg_->tls.min_version, cfg_->tls.ciphers, cfg_->tls.ciphersuites});
  if (!ctx) fail(ctx.error().message);
  s.tls = std::make_shared<tls::ContextHolder>(ctx.value());

  if (auto r = s.directory->add_domain("example.test"); !r) fail(r.error().message);
  directory::Account account;
  account.username = "user";
  account.domain = "example.test";
  if (auto r = s.directory->add_account(account, kPassword); !r) fail(r.error().message);
}

SessionHarness::~SessionHarness() {
  workers_->join();
  auth_workers_->join();
  ios_.clear();       // sessions cut off by the time limit end before their services
  services_.reset();  // stops the group commit before its files go
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

const config::Listener& SessionHarness::listener(const std::string& name) const {
  for (const auto& l : cfg_->listeners)
    if (l.name == name) return l;
  fail("no listener " + name);
}

std::shared_ptr<Transcript> SessionHarness::run(SessionFn session, const std::string& listener_name,
                                                std::vector<std::string> chunks, RunOptions options) {
  auto transcript = std::make_shared<Transcript>();
  transcript->input.assign(chunks.begin(), chunks.end());
  transcript->early_talker = options.early_talker;
  transcript->fail_handshake = options.fail_handshake;

  auto& io = *ios_.emplace_back(std::make_unique<asio::io_context>(1));
  auto stream = std::make_unique<MemoryStream>(io.get_executor(), transcript);
  auto conn =
      std::make_shared<server::Connection>(std::move(stream), options.peer_ip, 40000,
                                           server::line_limit(*cfg_, listener(listener_name)), ++next_id_);
  finished_ = false;
  asio::co_spawn(io, session(std::move(conn), *services_, cfg_, listener(listener_name)),
                 [this, &io](std::exception_ptr e) {
                   finished_ = true;
                   io.stop();
                   if (e) std::rethrow_exception(e);
                 });
  auto guard = asio::make_work_guard(io);
  io.run_for(std::chrono::seconds(20));
  // A worker-pool job (run_blocking) that resumed the session still counts
  // as work on `io` until its closure is destroyed on the worker thread,
  // which may be just after the session ended: let it go before `io` does.
  guard.reset();
  if (finished_) {
    io.restart();
    io.run_for(std::chrono::seconds(5));  // returns as soon as no work is left
  }
  return transcript;
}

std::string sasl_plain(std::string_view authzid, std::string_view authcid, std::string_view password) {
  return base64::encode(std::string(authzid) + '\0' + std::string(authcid) + '\0' + std::string(password));
}

std::vector<std::string> lines_of(const std::string& output) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < output.size()) {
    auto end = output.find("\r\n", pos);
    if (end == std::string::npos) {
      lines.push_back(output.substr(pos));
      break;
    }
    lines.push_back(output.substr(pos, end - pos));
    pos = end + 2;
  }
  return lines;
}

}  // namespace mailfort::testing
