#include "base/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/log.h"

using namespace mailfort::config;

namespace {

const char* kValid = R"(hostname = "mail.example.org"
data_dir = "data"

[tls]
cert = "tls/cert.pem"
key = "/etc/mailfort/key.pem"

[limits]
max_connections_per_ip = 7

[smtp]
trusted_networks = ["127.0.0.0/8", "::1"]

[[listener]]
name = "mx"
protocol = "smtp"
address = "0.0.0.0:25"

[[listener]]
name = "imaps"
protocol = "imap"
address = "[::1]:993"
tls = "implicit"

[[listener]]
name = "admin"
protocol = "admin"
address = "127.0.0.1:8080"
)";

LoadResult load(const std::string& text) {
  return load_string(text, "/etc/mailfort/mailfort.toml");
}

bool has_problem(const LoadResult& r, int line, const std::string& needle) {
  for (const auto& p : r.problems)
    if (p.line == line && p.message.find(needle) != std::string::npos) return true;
  return false;
}

std::string dump(const LoadResult& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

TEST(Config, ValidFileRoundTrip) {
  auto r = load(kValid);
  ASSERT_TRUE(r.config) << dump(r);
  const auto& c = *r.config;
  EXPECT_EQ(c.hostname, "mail.example.org");
  EXPECT_EQ(c.data_dir, "/etc/mailfort/data");
  EXPECT_EQ(c.tls.cert, "/etc/mailfort/tls/cert.pem");
  EXPECT_EQ(c.tls.key, "/etc/mailfort/key.pem");
  EXPECT_EQ(c.limits.max_connections_per_ip, 7u);
  EXPECT_EQ(c.smtp.trusted_networks.size(), 2u);
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].protocol, Protocol::smtp);
  EXPECT_EQ(c.listeners[0].tls, TlsMode::starttls);  // default
  EXPECT_EQ(c.listeners[0].port, 25);
  EXPECT_EQ(c.listeners[1].host, "::1");
  EXPECT_EQ(c.listeners[1].port, 993);
  EXPECT_EQ(c.listeners[1].tls, TlsMode::implicit);
  EXPECT_EQ(c.listeners[2].tls, TlsMode::none);  // admin default
  EXPECT_EQ(c.line_of("tls.cert"), 5);
  EXPECT_EQ(c.directory_db_path(), "/etc/mailfort/data/directory.sqlite");
  EXPECT_EQ(c.state_db_path(), "/etc/mailfort/data/state.sqlite");
}

TEST(Config, SecureDefaults) {
  auto r = load(kValid);
  ASSERT_TRUE(r.config);
  const auto& c = *r.config;
  EXPECT_EQ(c.tls.min_version, "1.2");
  EXPECT_EQ(c.run_as, "mailfort");
  EXPECT_EQ(c.limits.auth_failures_before_ban, 10u);
  EXPECT_EQ(c.limits.ban_window_seconds, 600u);
  EXPECT_EQ(c.limits.ban_duration_seconds, 3600u);
  EXPECT_EQ(c.smtp.max_message_size, 50u * 1024 * 1024);
  EXPECT_EQ(c.smtp.max_recipients, 100u);
  EXPECT_FALSE(c.smtp.auth_on_mx);
}

TEST(Config, UnknownKeysWithLines) {
  std::string text = kValid;
  text += "bogus = 1\n";  // line 32 (top level would be inside the last listener table: goes there)
  auto r = load(R"(hostname = "mail.example.org"
data_dir = "d"
colour = "blue"
[limits]
max_conections = 5
[nosuch]
x = 1
[[listener]]
name = "mx"
protocol = "smtp"
address = "127.0.0.1:25"
tls = "none"
port = 25
)");
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(has_problem(r, 3, "unknown top-level key 'colour'")) << dump(r);
  EXPECT_TRUE(has_problem(r, 5, "unknown key 'max_conections' in [limits]")) << dump(r);
  EXPECT_TRUE(has_problem(r, 6, "unknown section [nosuch]")) << dump(r);
  EXPECT_TRUE(has_problem(r, 13, "unknown key 'port' in [[listener]]")) << dump(r);
  EXPECT_EQ(r.problems.size(), 4u) << dump(r);
}

TEST(Config, TypesBoundsAndEnums) {
  auto r = load(R"(hostname = "mail.example.org"
data_dir = 5
[tls]
cert = "c"
key = "k"
min_version = "1.0"
[limits]
max_line_length = 100
idle_timeout_seconds = "long"
[log]
level = "loud"
[[listener]]
name = "mx"
protocol = "smtp"
address = "127.0.0.1:25"
)");
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(has_problem(r, 2, "'data_dir' must be a string")) << dump(r);
  EXPECT_TRUE(has_problem(r, 6, "must be one of: 1.2 1.3")) << dump(r);
  EXPECT_TRUE(has_problem(r, 8, "must be between 512 and 65536")) << dump(r);
  EXPECT_TRUE(has_problem(r, 9, "must be an integer")) << dump(r);
  EXPECT_TRUE(has_problem(r, 11, "must be one of: trace debug info warn error")) << dump(r);
}

TEST(Config, MissingRequiredAndNoListeners) {
  auto r = load("[limits]\nmax_connections = 10\n");
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(has_problem(r, 0, "missing required key 'hostname'")) << dump(r);
  EXPECT_TRUE(has_problem(r, 0, "missing required key 'data_dir'")) << dump(r);
  EXPECT_TRUE(has_problem(r, 0, "no [[listener]]")) << dump(r);
  EXPECT_NE(r.problems[0].to_string().find("/etc/mailfort/mailfort.toml: "), std::string::npos);
}

TEST(Config, ListenerProblems) {
  auto r = load(R"(hostname = "mail.example.org"
data_dir = "d"
[tls]
cert = "c"
key = "k"
[[listener]]
name = "a"
protocol = "smtp"
address = "0.0.0.0:25"
[[listener]]
name = "a"
protocol = "submission"
address = "127.0.0.1:25"
[[listener]]
name = "c"
protocol = "gopher"
address = "mail.example.org:25"
[[listener]]
name = "d"
address = "[::1]:70000"
)");
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(has_problem(r, 10, "duplicate listener name 'a'")) << dump(r);
  EXPECT_TRUE(has_problem(r, 13, "port clash")) << dump(r);
  EXPECT_TRUE(has_problem(r, 16, "must be one of: smtp submission")) << dump(r);
  EXPECT_TRUE(has_problem(r, 17, "is not \"ip:port\"")) << dump(r);
  EXPECT_TRUE(has_problem(r, 18, "missing 'protocol'")) << dump(r);
  EXPECT_TRUE(has_problem(r, 20, "is not \"ip:port\"")) << dump(r);
}

TEST(Config, TlsListenerNeedsCertAndKey) {
  auto r = load(R"(hostname = "mail.example.org"
data_dir = "d"
[[listener]]
name = "sub"
protocol = "submission"
address = "127.0.0.1:587"
)");
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(has_problem(r, 0, "[tls] cert and key")) << dump(r);
}

TEST(Config, HostnameAndNetworksValidated) {
  auto r = load(R"(hostname = "localhost"
data_dir = "d"
[dns]
resolvers = ["127.0.0.1:5353", "::1", "resolver.example"]
[smtp]
trusted_networks = ["10.0.0.0/8", "10.0.0.0/33"]
[[listener]]
name = "a"
protocol = "admin"
address = "127.0.0.1:8080"
)");
  EXPECT_FALSE(r.config);
  EXPECT_TRUE(has_problem(r, 1, "not a fully qualified")) << dump(r);
  EXPECT_TRUE(has_problem(r, 4, "'resolver.example'")) << dump(r);
  EXPECT_TRUE(has_problem(r, 6, "'10.0.0.0/33'")) << dump(r);
  EXPECT_EQ(r.problems.size(), 3u) << dump(r);
}

TEST(Config, SyntaxErrorHasLine) {
  auto r = load("hostname = \"mail.example.org\"\n\ndata_dir = \n");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 3);
}

TEST(Config, ReferenceDocIsUpToDate) {
  std::ifstream in(std::string(MAILFORT_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), reference_markdown())
      << "docs/configuration.md is stale: run ./build/mailfort config-reference > docs/configuration.md";
}

TEST(Log, QuoteEscapesClientStrings) {
  using mailfort::log::quote;
  EXPECT_EQ(quote("alice@example.org"), "alice@example.org");
  EXPECT_EQ(quote("a b"), "\"a b\"");
  EXPECT_EQ(quote("x\r\nfake line"), "\"x\\x0D\\x0Afake line\"");
  EXPECT_EQ(quote(""), "\"\"");
  EXPECT_EQ(quote(std::string(300, 'a')).size(), 203u);
}

}  // namespace
