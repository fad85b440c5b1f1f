#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "filter/rspamd.h"
#include "filter/rspamd_reply.h"

namespace mailfort::filter {
namespace {

using rspamd::Headers;

std::vector<std::string> values(const Headers& h, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : h)
    if (n == name) out.push_back(v);
  return out;
}

TEST(RspamdRequest, CheckHeadersCarryTheEnvelope) {
  ScanInput in;
  in.ip = "192.0.2.7";
  in.helo = "client.example.org";
  in.sender = "a@b.test";
  in.rcpts = {"c@d.test", "e@d.test"};
  in.auth_user = "alice@example.test";
  in.queue_id = "Q123";
  Headers h = rspamd::check_headers(in);
  EXPECT_EQ(values(h, "IP"), std::vector<std::string>{"192.0.2.7"});
  EXPECT_EQ(values(h, "Helo"), std::vector<std::string>{"client.example.org"});
  EXPECT_EQ(values(h, "From"), std::vector<std::string>{"a@b.test"});
  EXPECT_EQ(values(h, "Rcpt"), (std::vector<std::string>{"c@d.test", "e@d.test"}));
  EXPECT_EQ(values(h, "User"), std::vector<std::string>{"alice@example.test"});
  EXPECT_EQ(values(h, "Queue-Id"), std::vector<std::string>{"Q123"});
}

TEST(RspamdRequest, EmptyValuesLeftOutNullSenderSpelledOut) {
  ScanInput in;
  Headers h = rspamd::check_headers(in);
  EXPECT_TRUE(values(h, "IP").empty());
  EXPECT_TRUE(values(h, "Helo").empty());
  EXPECT_TRUE(values(h, "User").empty());
  EXPECT_TRUE(values(h, "Rcpt").empty());
  EXPECT_EQ(values(h, "From"), std::vector<std::string>{"<>"});
}

TEST(RspamdRequest, ControlCharactersCannotEndAHeaderLine) {
  ScanInput in;
  in.helo = "evil\r\nPassword: x\0y";
  in.helo.push_back('\0');
  in.helo += "z";
  Headers h = rspamd::check_headers(in);
  ASSERT_EQ(values(h, "Helo").size(), 1u);
  EXPECT_EQ(values(h, "Helo")[0], "evilPassword: xz");
  EXPECT_EQ(rspamd::header_value(std::string(5000, 'a')).size(), 998u);
}

TEST(RspamdRequest, LearnHeaders) {
  Headers h = rspamd::learn_headers("s3cret", "bob@example.test");
  EXPECT_EQ(values(h, "Password"), std::vector<std::string>{"s3cret"});
  EXPECT_EQ(values(h, "Deliver-To"), std::vector<std::string>{"bob@example.test"});
  EXPECT_TRUE(rspamd::learn_headers("", "").empty());
}

TEST(RspamdReply, Actions) {
  EXPECT_EQ(rspamd::action_from_name("reject"), Action::Reject);
  EXPECT_EQ(rspamd::action_from_name("soft reject"), Action::SoftReject);
  EXPECT_EQ(rspamd::action_from_name("add header"), Action::AddHeader);
  EXPECT_EQ(rspamd::action_from_name("rewrite subject"), Action::AddHeader);
  EXPECT_EQ(rspamd::action_from_name("greylist"), Action::NoAction);
  EXPECT_EQ(rspamd::action_from_name("no action"), Action::NoAction);
  EXPECT_EQ(rspamd::action_from_name("something new"), Action::NoAction);
}

// A /checkv2 answer as Rspamd 3.4 wrote it for GTUBE.
TEST(RspamdReply, GtubeReject) {
  auto r = rspamd::parse_check_reply(
      R"({"is_skipped": true, "score": 15.0, "required_score": 15.0, "action": "reject",
          "symbols": {"GTUBE": {"name": "GTUBE", "score": 0.0, "metric_score": 0.0}},
          "messages": {"smtp_message": "Gtube pattern"}, "message-id": "undef", "time_real": 0.11})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->engine, "rspamd");
  EXPECT_EQ(r->action, Action::Reject);
  EXPECT_DOUBLE_EQ(r->score, 15.0);
  EXPECT_DOUBLE_EQ(r->required_score, 15.0);
  EXPECT_DOUBLE_EQ(r->reject_score, 15.0);
  EXPECT_EQ(r->reject_reason, "Gtube pattern");
  ASSERT_EQ(r->symbols.size(), 1u);
  EXPECT_EQ(r->symbols[0].name, "GTUBE");
  EXPECT_TRUE(r->is_spam());
  EXPECT_FALSE(r->failed);
}

TEST(RspamdReply, SymbolsSortedWithOptionsAndMilterHeaders) {
  auto r = rspamd::parse_check_reply(R"({
    "score": 6.5, "required_score": 15.0, "action": "add header",
    "symbols": {
      "RDNS_NONE": {"name": "RDNS_NONE", "score": 1.0},
      "DMARC_NA": {"name": "DMARC_NA", "score": 0.0, "options": ["b.test"]},
      "MIME_GOOD": {"name": "MIME_GOOD", "score": -0.1, "options": ["text/plain", 7]}
    },
    "messages": {},
    "milter": {
      "add_headers": {
        "X-Spamd-Bar": {"value": "++++++", "order": 0},
        "X-Spam": "Yes",
        "X-Two": [{"value": "one", "order": 0}, "two"]
      },
      "remove_headers": {"X-Spam": 0, "X-Spamd-Bar": 1}
    }})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->action, Action::AddHeader);
  EXPECT_DOUBLE_EQ(r->score, 6.5);
  ASSERT_EQ(r->symbols.size(), 3u);
  EXPECT_EQ(r->symbols[0].name, "DMARC_NA");
  EXPECT_EQ(r->symbols[0].options, std::vector<std::string>{"b.test"});
  EXPECT_EQ(r->symbols[1].name, "MIME_GOOD");
  EXPECT_DOUBLE_EQ(r->symbols[1].score, -0.1);
  EXPECT_EQ(r->symbols[1].options, std::vector<std::string>{"text/plain"});  // non-strings skipped
  EXPECT_EQ(r->symbols[2].name, "RDNS_NONE");
  EXPECT_TRUE(r->reject_reason.empty());
  std::vector<std::pair<std::string, std::string>> want = {
      {"X-Spam", "Yes"}, {"X-Spamd-Bar", "++++++"}, {"X-Two", "one"}, {"X-Two", "two"}};
  auto got = r->add_headers;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  auto removed = r->remove_headers;
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"X-Spam", "X-Spamd-Bar"}));
}

TEST(RspamdReply, GreylistAndSoftReject) {
  auto g =
      rspamd::parse_check_reply(R"({"score": 5, "required_score": 15, "action": "greylist", "symbols": {}})");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->action, Action::NoAction);
  EXPECT_FALSE(g->is_spam());
  auto s = rspamd::parse_check_reply(
      R"({"score": 0, "required_score": 15, "action": "soft reject", "messages": {"smtp_message": "Try again\r\nlater"}})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->action, Action::SoftReject);
  EXPECT_EQ(s->reject_reason, "Try againlater");  // never a second reply line
}

TEST(RspamdReply, BadAnswersAreErrorsNotCrashes) {
  for (std::string_view bad :
       {"", "not json", "[]", "{}", R"({"score": 1})", R"({"action": "reject"})",
        R"({"action": 5, "score": 1})", R"({"action": "reject", "score": "high"})",
        R"({"error": "Cannot parse input"})", R"({"action": "reject", "score": 1, "symbols": [1,2]})"}) {
    auto r = rspamd::parse_check_reply(bad);
    if (bad == R"({"action": "reject", "score": 1, "symbols": [1,2]})") {
      ASSERT_TRUE(r);  // symbols of the wrong shape are ignored, the verdict stays
      EXPECT_TRUE(r->symbols.empty());
      continue;
    }
    EXPECT_FALSE(r) << bad;
  }
  // Deep nesting and odd shapes inside known keys.
  std::string deep = R"({"action": "no action", "score": 0, "symbols": {"A": )" + std::string(5000, '[') +
                     std::string(5000, ']') + "}}";
  auto r = rspamd::parse_check_reply(deep);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->symbols.size(), 1u);
  EXPECT_DOUBLE_EQ(r->symbols[0].score, 0);
}

TEST(RspamdReply, LearnAnswers) {
  auto ok = rspamd::parse_learn_reply(200, R"({"success": true})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.value(), LearnOutcome::Learned);
  auto again = rspamd::parse_learn_reply(
      208, R"({"error": "<2@b.test> has been already learned as spam, ignore it"})");
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value(), LearnOutcome::AlreadyLearned);
  auto classified =
      rspamd::parse_learn_reply(400, R"({"error": "already in class spam; probability 99.90%"})");
  ASSERT_TRUE(classified);
  EXPECT_EQ(classified.value(), LearnOutcome::AlreadyLearned);
  auto gtube = rspamd::parse_learn_reply(
      400, R"({"error": "Cannot learn statistics when passthrough result has been set; not classified"})");
  ASSERT_TRUE(gtube);
  EXPECT_EQ(gtube.value(), LearnOutcome::Skipped);
  auto denied = rspamd::parse_learn_reply(403, R"({"error": "Unauthorized"})");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, Errc::Denied);
  auto broken = rspamd::parse_learn_reply(500, R"({"error": "cannot learn BAYES_SPAM: redis error: \"x\""})");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, Errc::Temp);
  EXPECT_NE(broken.error().message.find("redis error"), std::string::npos);
  auto not_success = rspamd::parse_learn_reply(200, R"({"success": false})");
  EXPECT_FALSE(not_success);
}

// ---- the engine over loopback: a one-shot HTTP server that records the request ----

class OneShotHttp {
 public:
  explicit OneShotHttp(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 1);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotHttp() {
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string request() {
    thread_.join();
    thread_ = std::thread([] {});
    return request_;
  }

 private:
  void serve() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return;  // the engine never came: the test fails, it does not hang
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    char buf[65536];
    size_t want = std::string::npos;
    for (;;) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      request_.append(buf, static_cast<size_t>(n));
      auto end = request_.find("\r\n\r\n");
      if (end != std::string::npos && want == std::string::npos) {
        auto cl = request_.find("Content-Length: ");
        want = end + 4 + (cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16)));
      }
      if (want != std::string::npos && request_.size() >= want) break;
    }
    std::string out = reply_;
    ::send(c, out.data(), out.size(), 0);
    ::close(c);
  }

  std::string reply_;
  std::string request_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::string http_ok(const std::string& body, int status = 200) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

TEST(RspamdEngine, ScanPostsToCheckv2AndParses) {
  OneShotHttp http(http_ok(R"({"score": 2.5, "required_score": 15, "action": "no action",
                               "symbols": {"R_SPF_ALLOW": {"score": -0.2, "options": ["+ip4:192.0.2.7"]}}})"));
  config::Spam cfg;
  cfg.rspamd_url = http.url() + "/";
  auto engine = make_rspamd_engine(cfg);
  ASSERT_TRUE(engine);
  ScanInput in;
  in.message = "Subject: hi\r\n\r\nbody text\r\n";
  in.ip = "192.0.2.7";
  in.sender = "a@b.test";
  in.rcpts = {"c@d.test"};
  ScanResult r = engine->scan(in);
  EXPECT_FALSE(r.failed) << r.error;
  EXPECT_DOUBLE_EQ(r.score, 2.5);
  ASSERT_EQ(r.symbols.size(), 1u);
  EXPECT_EQ(r.symbols[0].options, std::vector<std::string>{"+ip4:192.0.2.7"});
  std::string req = http.request();
  EXPECT_EQ(req.rfind("POST /checkv2 HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nIP: 192.0.2.7\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nFrom: a@b.test\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nRcpt: c@d.test\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\n\r\nSubject: hi\r\n\r\nbody text\r\n"), std::string::npos);
}

TEST(RspamdEngine, LearnSendsThePasswordFromItsFile) {
  OneShotHttp http(http_ok(R"({"success": true})"));
  std::string file = ::testing::TempDir() + "rspamd_pw_test";
  std::ofstream(file) << "Quiet-Harbour-71\n";
  config::Spam cfg;
  cfg.rspamd_controller_url = http.url();
  cfg.rspamd_password_file = file;
  auto engine = make_rspamd_engine(cfg);
  ASSERT_TRUE(engine);
  auto r = engine->learn("Subject: x\r\n\r\nspam\r\n", true, "bob@example.test");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value(), LearnOutcome::Learned);
  std::string req = http.request();
  EXPECT_EQ(req.rfind("POST /learnspam HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nPassword: Quiet-Harbour-71\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nDeliver-To: bob@example.test\r\n"), std::string::npos);
  std::remove(file.c_str());
}

TEST(RspamdEngine, HttpErrorIsAFailedScan) {
  OneShotHttp http(http_ok(R"({"error": "overloaded"})", 500));
  config::Spam cfg;
  cfg.rspamd_url = http.url();
  auto engine = make_rspamd_engine(cfg);
  ScanInput in;
  in.message = "Subject: x\r\n\r\nx\r\n";
  ScanResult r = engine->scan(in);
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.action, Action::NoAction);
  EXPECT_NE(r.error.find("500"), std::string::npos);
}

TEST(RspamdEngine, UnreachableIsAFailedScan) {
  // A port nothing listens on: bound, never listened to.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  config::Spam cfg;
  cfg.rspamd_url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  cfg.rspamd_controller_url = cfg.rspamd_url;
  cfg.timeout_seconds = 2;
  auto engine = make_rspamd_engine(cfg);
  ScanInput in;
  in.message = "Subject: x\r\n\r\nx\r\n";
  ScanResult r = engine->scan(in);
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.action, Action::NoAction);
  EXPECT_NE(r.error.find("unreachable"), std::string::npos);
  auto learned = engine->learn(in.message, false, "");
  ASSERT_FALSE(learned);
  EXPECT_EQ(learned.error().code, Errc::Temp);
  ::close(fd);
}

TEST(RspamdEngine, TooLargeIsNotSent) {
  config::Spam cfg;
  cfg.rspamd_url = "http://127.0.0.1:9";  // never contacted
  cfg.max_scan_size = 10;
  auto engine = make_rspamd_engine(cfg);
  ScanInput in;
  in.message = "Subject: longer than ten bytes\r\n\r\n";
  ScanResult r = engine->scan(in);
  EXPECT_TRUE(r.failed);
  EXPECT_NE(r.error.find("max_scan_size"), std::string::npos);
}

TEST(RspamdEngine, BadConfigIsRefused) {
  config::Spam cfg;
  cfg.rspamd_url = "127.0.0.1:11333";
  EXPECT_FALSE(make_rspamd_engine(cfg));
  config::Spam missing;
  missing.rspamd_password_file = "/nonexistent/rspamd.password";
  EXPECT_FALSE(make_rspamd_engine(missing));
}

}  // namespace
}  // namespace mailfort::filter
