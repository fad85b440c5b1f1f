#include "filter/milter_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

namespace mailfort::filter {
namespace {

using namespace std::string_literals;
namespace pm = proto::milter;

std::string pkt(char code, const std::string& data = "") {
  uint32_t len = static_cast<uint32_t>(data.size() + 1);
  std::string out{static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
                  static_cast<char>(len)};
  out.push_back(code);
  return out + data;
}

std::string u32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

struct Received {
  char cmd;
  std::string data;
};

// Markers in an answer: a pause of 600 ms, and closing the connection.
const std::string kPause;
const std::string kClose = "close";

// A milter on a loopback (or unix) socket in a thread: answers the option
// negotiation with `protocol`, then each command with what `answer` returns
// (raw reply packets and markers). It serves one connection and records
// every command.
class FakeMilter {
 public:
  using Answer = std::function<std::vector<std::string>(const Received&)>;

  FakeMilter(uint32_t protocol, Answer answer, bool unix_socket = false, uint32_t version = 6)
      : protocol_(protocol), answer_(std::move(answer)) {
    if (unix_socket) {
      path_ = (std::filesystem::temp_directory_path() /
               ("mf-milter-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".sock"))
                  .string();
      ::unlink(path_.c_str());
      listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      std::strncpy(sun.sun_path, path_.c_str(), sizeof sun.sun_path - 1);
      EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sun), sizeof sun), 0);
      address = path_;
    } else {
      listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
      socklen_t len = sizeof sin;
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sin), &len);
      address = "127.0.0.1:" + std::to_string(ntohs(sin.sin_port));
    }
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    thread_ = std::thread([this, version] { serve(version); });
  }

  ~FakeMilter() {
    join();
    ::close(listen_fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  // Waits until the client went away; then `received` is complete.
  const std::vector<Received>& join() {
    if (thread_.joinable()) thread_.join();
    return received_;
  }

  std::string commands() {
    std::string s;
    for (const auto& r : join())
      if (r.cmd != 'D') s.push_back(r.cmd);
    return s;
  }

  std::string address;
  uint32_t actions = pm::kActAddHdrs | pm::kActChgBody | pm::kActChgHdrs | pm::kActQuarantine;

 private:
  bool read_exact(int fd, char* p, std::size_t n) {
    while (n > 0) {
      pollfd pf{fd, POLLIN, 0};
      if (::poll(&pf, 1, 10000) <= 0) return false;
      ssize_t r = ::read(fd, p, n);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }

  void serve(uint32_t version) {
    pollfd pf{listen_fd_, POLLIN, 0};
    if (::poll(&pf, 1, 10000) <= 0) return;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    for (;;) {
      char hdr[4];
      if (!read_exact(fd, hdr, 4)) break;
      uint32_t len = (static_cast<uint32_t>(static_cast<unsigned char>(hdr[0])) << 24) |
                     (static_cast<uint32_t>(static_cast<unsigned char>(hdr[1])) << 16) |
                     (static_cast<uint32_t>(static_cast<unsigned char>(hdr[2])) << 8) |
                     static_cast<unsigned char>(hdr[3]);
      std::string body(len, '\0');
      if (len == 0 || !read_exact(fd, body.data(), len)) break;
      Received r{body[0], body.substr(1)};
      received_.push_back(r);
      std::vector<std::string> out;
      if (r.cmd == 'O')
        out.push_back(pkt('O', u32(version) + u32(actions) + u32(protocol_)));
      else
        out = answer_(r);
      bool close_now = false;
      for (const auto& p : out) {
        if (p.empty()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(600));
        } else if (p == kClose) {
          close_now = true;
          break;
        } else if (::send(fd, p.data(), p.size(), MSG_NOSIGNAL) < 0) {
          break;
        }
      }
      if (close_now || r.cmd == 'Q') break;
    }
    ::close(fd);
  }

  static inline int counter_ = 0;
  uint32_t protocol_;
  Answer answer_;
  int listen_fd_ = -1;
  std::string path_;
  std::thread thread_;
  std::vector<Received> received_;
};

// Continue to every command that expects a reply (as libmilter does, given
// the NR flags), `at_eob` at the end of the body.
FakeMilter::Answer standard(std::vector<std::string> at_eob, uint32_t protocol = 0) {
  return [at_eob, protocol](const Received& r) -> std::vector<std::string> {
    auto nr = [&](uint32_t f) { return (protocol & f) != 0; };
    switch (r.cmd) {
      case 'D':
      case 'A':
      case 'Q':
        return {};
      case 'E':
        return at_eob;
      case 'C':
        return nr(pm::kProtoNrConn) ? std::vector<std::string>{} : std::vector<std::string>{pkt('c')};
      case 'H':
        return nr(pm::kProtoNrHelo) ? std::vector<std::string>{} : std::vector<std::string>{pkt('c')};
      case 'M':
        return nr(pm::kProtoNrMail) ? std::vector<std::string>{} : std::vector<std::string>{pkt('c')};
      case 'R':
        return nr(pm::kProtoNrRcpt) ? std::vector<std::string>{} : std::vector<std::string>{pkt('c')};
      case 'T':
        return nr(pm::kProtoNrData) ? std::vector<std::string>{} : std::vector<std::string>{pkt('c')};
      case 'L':
        return nr(pm::kProtoNrHdr) ? std::vector<std::string>{} : std::vector<std::string>{pkt('c')};
      case 'N':
        return nr(pm::kProtoNrEoh) ? std::vector<std::string>{} : std::vector<std::string>{pkt('c')};
      case 'B':
        return nr(pm::kProtoNrBody) ? std::vector<std::string>{} : std::vector<std::string>{pkt('c')};
      default:
        return {};
    }
  };
}

const std::string kMessage =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.net\r\n"
    "Subject:  two spaces\r\n"
    "X-Folded: first\r\n"
    "\tsecond\r\n"
    "\r\n"
    "Hello Bob.\r\n"
    "Bye.\r\n";

MilterInput input() {
  MilterInput in;
  in.client_ip = "192.0.2.7";
  in.client_port = 40000;
  in.client_hostname = "client.example.org";
  in.helo = "client.example.org";
  in.sender = "alice@example.org";
  in.rcpts = {"bob@example.net", "carol@example.net"};
  in.queue_id = "Q123";
  in.our_hostname = "mx.example.net";
  in.listener = "mx";
  in.message = kMessage;
  return in;
}

config::Milter milter_at(const std::string& address, uint32_t timeout = 5) {
  config::Milter m;
  m.name = "test";
  m.address = address;
  m.timeout_seconds = timeout;
  m.connect_timeout_seconds = 2;
  return m;
}

std::vector<std::pair<std::string, std::string>> macro_pairs(const std::string& data) {
  auto parts = pm::split_nul_strings(data.substr(1));
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i + 1 < parts.size(); i += 2) out.emplace_back(parts[i], parts[i + 1]);
  return out;
}

TEST(MilterClient, AcceptWalksEveryStage) {
  FakeMilter f(0, standard({pkt('a')}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Accept);
  EXPECT_TRUE(o.header_changes.empty());
  EXPECT_FALSE(o.new_body);
  // OPTNEG, connect, HELO, MAIL, two RCPT, DATA, 4 headers, EOH, one body chunk, EOB, QUIT.
  EXPECT_EQ(f.commands(), "OCHMRRTLLLLNBEQ");
  const auto& got = f.join();
  // What each stage carried.
  std::vector<Received> by_cmd;
  for (const auto& r : got)
    if (r.cmd != 'D') by_cmd.push_back(r);
  EXPECT_EQ(by_cmd[0].data, u32(6) + u32(0x1ff) + u32(0x1fffff));  // every action and step
  EXPECT_EQ(by_cmd[1].data,
            "client.example.org\0"
            "4"s +
                "\x9c\x40"s + "192.0.2.7\0"s);
  EXPECT_EQ(by_cmd[2].data, "client.example.org\0"s);
  EXPECT_EQ(by_cmd[3].data, "<alice@example.org>\0"s);
  EXPECT_EQ(by_cmd[4].data, "<bob@example.net>\0"s);
  EXPECT_EQ(by_cmd[5].data, "<carol@example.net>\0"s);
  EXPECT_EQ(by_cmd[7].data, "From\0Alice <alice@example.org>\0"s);
  // Blanks after the colon removed (no SMFIP_HDR_LEADSPC), folding as LF.
  EXPECT_EQ(by_cmd[9].data, "Subject\0two spaces\0"s);
  EXPECT_EQ(by_cmd[10].data, "X-Folded\0first\n\tsecond\0"s);
  EXPECT_EQ(by_cmd[12].data, "Hello Bob.\r\nBye.\r\n");
  // Macros before the connect and MAIL stages, as Postfix sends them.
  bool saw_connect_macros = false, saw_mail_macros = false, saw_rcpt_macro = false;
  for (const auto& r : got) {
    if (r.cmd != 'D') continue;
    auto m = macro_pairs(r.data);
    auto has = [&](const std::string& k, const std::string& v) {
      for (const auto& [mk, mv] : m)
        if (mk == k && mv == v) return true;
      return false;
    };
    if (r.data[0] == 'C')
      saw_connect_macros = has("j", "mx.example.net") && has("{daemon_name}", "mx") &&
                           has("{client_addr}", "192.0.2.7") && has("_", "client.example.org [192.0.2.7]");
    if (r.data[0] == 'M') saw_mail_macros = has("i", "Q123") && has("{mail_addr}", "alice@example.org");
    if (r.data[0] == 'R' && has("{rcpt_addr}", "carol@example.net")) saw_rcpt_macro = true;
  }
  EXPECT_TRUE(saw_connect_macros);
  EXPECT_TRUE(saw_mail_macros);
  EXPECT_TRUE(saw_rcpt_macro);
}

TEST(MilterClient, ContinueAtEndOfBodyIsAccept) {
  FakeMilter f(0, standard({pkt('c')}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Accept);
}

TEST(MilterClient, RejectWithReplyCode) {
  FakeMilter f(0, standard({pkt('y', "554 5.7.1 Spam message rejected\0"s)}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Reject);
  EXPECT_EQ(o.code, 554);
  EXPECT_EQ(o.enhanced, "5.7.1");
  EXPECT_EQ(o.text, "Spam message rejected");
  EXPECT_EQ(f.commands(), "OCHMRRTLLLLNBEQ");
}

TEST(MilterClient, TempfailReplyCodeWithoutEnhanced) {
  FakeMilter f(0, standard({pkt('y', "452 Try later\0"s)}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Tempfail);
  EXPECT_EQ(o.code, 452);
  EXPECT_EQ(o.enhanced, "4.7.1");  // the default stays when the milter gives none
  EXPECT_EQ(o.text, "Try later");
}

TEST(MilterClient, PlainRejectGetsDefaults) {
  FakeMilter f(0, standard({pkt('r')}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Reject);
  EXPECT_EQ(o.code, 550);
  EXPECT_EQ(o.enhanced, "5.7.1");
}

TEST(MilterClient, TempfailAtMailEndsTheConversation) {
  auto base = standard({pkt('a')});
  FakeMilter f(0, [&](const Received& r) {
    if (r.cmd == 'M') return std::vector<std::string>{pkt('t')};
    return base(r);
  });
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Tempfail);
  EXPECT_EQ(o.code, 451);
  EXPECT_EQ(f.commands(), "OCHMAQ");  // no RCPT, no message: abort and quit
}

TEST(MilterClient, RejectOfARecipientRejectsTheMessage) {
  auto base = standard({pkt('a')});
  FakeMilter f(0, [&](const Received& r) {
    if (r.cmd == 'R' && r.data.starts_with("<carol"))
      return std::vector<std::string>{pkt('y', "550 5.1.1 No\0"s)};
    return base(r);
  });
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Reject);
  EXPECT_EQ(o.code, 550);
  EXPECT_EQ(o.enhanced, "5.1.1");
  EXPECT_EQ(f.commands(), "OCHMRRAQ");
}

TEST(MilterClient, AcceptAtConnectSkipsTheRest) {
  auto base = standard({pkt('r')});
  FakeMilter f(0, [&](const Received& r) {
    if (r.cmd == 'C') return std::vector<std::string>{pkt('a')};
    return base(r);
  });
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Accept);
  EXPECT_EQ(f.commands(), "OCAQ");
}

TEST(MilterClient, Discard) {
  FakeMilter f(0, standard({pkt('d')}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Discard);
}

TEST(MilterClient, QuarantineThenAccept) {
  FakeMilter f(0, standard({pkt('q', "looks bad\0"s), pkt('a')}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Quarantine);
  EXPECT_EQ(o.quarantine_reason, "looks bad");
}

TEST(MilterClient, RejectWinsOverQuarantine) {
  FakeMilter f(0, standard({pkt('q', "x\0"s), pkt('r')}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Reject);
}

TEST(MilterClient, HeaderChangesAndBodyReplacement) {
  FakeMilter f(0, standard({pkt('h', "X-Scanned\0yes\0"s), pkt('m', u32(1) + "Subject\0changed\0"s),
                            pkt('i', u32(0) + "X-Top\0first\0"s), pkt('b', "New body\r\n"),
                            pkt('b', "second chunk\r\n"), pkt('+', "<extra@example.org>\0"s), pkt('a')}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Accept);
  ASSERT_EQ(o.header_changes.size(), 3u);
  EXPECT_EQ(o.header_changes[0].kind, pm::HeaderChange::Kind::Add);
  EXPECT_EQ(o.header_changes[1].kind, pm::HeaderChange::Kind::Change);
  EXPECT_EQ(o.header_changes[2].kind, pm::HeaderChange::Kind::Insert);
  ASSERT_TRUE(o.new_body);
  EXPECT_EQ(*o.new_body, "New body\r\nsecond chunk\r\n");
  EXPECT_EQ(apply_milter_changes(kMessage, o),
            "X-Top: first\r\n"
            "From: Alice <alice@example.org>\r\n"
            "To: bob@example.net\r\n"
            "Subject: changed\r\n"
            "X-Folded: first\r\n"
            "\tsecond\r\n"
            "X-Scanned: yes\r\n"
            "\r\n"
            "New body\r\n"
            "second chunk\r\n");
}

TEST(MilterClient, SkippedStagesAndNoReplyFlags) {
  uint32_t proto = pm::kProtoNoConnect | pm::kProtoNoHelo | pm::kProtoNoHdrs | pm::kProtoNoBody |
                   pm::kProtoNrRcpt | pm::kProtoNrMail | pm::kProtoNrData | pm::kProtoNrEoh;
  FakeMilter f(proto, standard({pkt('a')}, proto));
  auto o = run_milter(milter_at(f.address, 2), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Accept);
  EXPECT_EQ(f.commands(), "OMRRTNEQ");
}

TEST(MilterClient, NoReplyHeadersAndBody) {
  uint32_t proto = pm::kProtoNrHdr | pm::kProtoNrBody | pm::kProtoNoData;
  FakeMilter f(proto, standard({pkt('a')}, proto));
  auto o = run_milter(milter_at(f.address, 2), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(f.commands(), "OCHMRRLLLLNBEQ");
}

TEST(MilterClient, LeadingSpaceFlag) {
  FakeMilter f(pm::kProtoHdrLeadSpc, standard({pkt('h', "X-A\0 spaced\0"s), pkt('a')}));
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  std::vector<Received> headers;
  for (const auto& r : f.join())
    if (r.cmd == 'L') headers.push_back(r);
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_EQ(headers[2].data, "Subject\0  two spaces\0"s);  // the value exactly as in the message
  ASSERT_EQ(o.header_changes.size(), 1u);
  EXPECT_EQ(o.header_changes[0].value, "spaced");  // its own leading space taken off
}

TEST(MilterClient, SkipDuringBody) {
  MilterInput in = input();
  std::string big = "Subject: big\r\n\r\n" + std::string(200000, 'x');
  in.message = big;
  FakeMilter f(pm::kProtoSkip, [](const Received& r) -> std::vector<std::string> {
    if (r.cmd == 'B') return {pkt('s')};
    if (r.cmd == 'E') return {pkt('a')};
    if (r.cmd == 'D' || r.cmd == 'Q' || r.cmd == 'A') return {};
    return {pkt('c')};
  });
  auto o = run_milter(milter_at(f.address), in);
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(f.commands(), "OCHMRRTLNBEQ");  // one chunk of four, then EOB
}

TEST(MilterClient, BodyInChunks) {
  MilterInput in = input();
  std::string body(150000, 'y');
  std::string big = "Subject: big\r\n\r\n" + body;
  in.message = big;
  FakeMilter f(0, standard({pkt('a')}));
  auto o = run_milter(milter_at(f.address), in);
  EXPECT_FALSE(o.failed) << o.error;
  std::string got;
  int chunks = 0;
  for (const auto& r : f.join())
    if (r.cmd == 'B') {
      EXPECT_LE(r.data.size(), pm::kMaxBodyChunk);
      got += r.data, ++chunks;
    }
  EXPECT_EQ(chunks, 3);
  EXPECT_EQ(got, body);
}

TEST(MilterClient, ProgressKeepsTheConversationAlive) {
  FakeMilter f(0, [](const Received& r) -> std::vector<std::string> {
    // 1.8 s in all, never more than 0.6 s without a packet: within a 1 s timeout.
    if (r.cmd == 'E') return {kPause, pkt('p'), kPause, pkt('p'), kPause, pkt('a')};
    if (r.cmd == 'D' || r.cmd == 'Q' || r.cmd == 'A') return {};
    return {pkt('c')};
  });
  auto o = run_milter(milter_at(f.address, 1), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Accept);
}

TEST(MilterClient, TimeoutFails) {
  FakeMilter f(0, [](const Received& r) -> std::vector<std::string> {
    if (r.cmd == 'E') return {kPause, kPause, kPause, pkt('a')};
    if (r.cmd == 'D' || r.cmd == 'Q' || r.cmd == 'A') return {};
    return {pkt('c')};
  });
  auto start = std::chrono::steady_clock::now();
  auto o = run_milter(milter_at(f.address, 1), input());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(o.failed);
  EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
  EXPECT_LT(took, std::chrono::milliseconds(1700));
}

TEST(MilterClient, RefusedFails) {
  // Bind a port and close it: nothing listens there.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  ::close(fd);
  auto o = run_milter(milter_at("127.0.0.1:" + std::to_string(ntohs(sin.sin_port))), input());
  EXPECT_TRUE(o.failed);
  EXPECT_NE(o.error.find("refused"), std::string::npos) << o.error;
  o = run_milter(milter_at("/nonexistent/milter.sock"), input());
  EXPECT_TRUE(o.failed);
  o = run_milter(milter_at("no-port-here"), input());
  EXPECT_TRUE(o.failed);
}

TEST(MilterClient, UnixSocket) {
  FakeMilter f(0, standard({pkt('y', "550 5.7.1 via unix\0"s)}), true);
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(o.verdict, MilterOutcome::Verdict::Reject);
  EXPECT_EQ(o.text, "via unix");
  FakeMilter g(0, standard({pkt('a')}), true);
  o = run_milter(milter_at("unix:" + g.address), input());
  EXPECT_FALSE(o.failed) << o.error;
}

TEST(MilterClient, SendmailStyleAddress) {
  FakeMilter f(0, standard({pkt('a')}));
  std::string port = f.address.substr(f.address.rfind(':') + 1);
  auto o = run_milter(milter_at("inet:" + port + "@127.0.0.1"), input());
  EXPECT_FALSE(o.failed) << o.error;
  EXPECT_EQ(f.commands(), "OCHMRRTLLLLNBEQ");
}

TEST(MilterClient, ClosedConnectionFails) {
  FakeMilter f(0, [](const Received& r) -> std::vector<std::string> {
    if (r.cmd == 'M') return {std::string("\x00\x00", 2), kClose};  // half a packet, then gone
    if (r.cmd == 'D' || r.cmd == 'Q' || r.cmd == 'A') return {};
    return {pkt('c')};
  });
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_TRUE(o.failed);
  EXPECT_NE(o.error.find("closed"), std::string::npos) << o.error;
}

TEST(MilterClient, OversizedReplyFails) {
  FakeMilter f(0, [](const Received& r) -> std::vector<std::string> {
    if (r.cmd == 'C') return {u32(0x7fffffff) + "c"};
    return {};
  });
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_TRUE(o.failed);
  EXPECT_NE(o.error.find("invalid packet"), std::string::npos) << o.error;
}

TEST(MilterClient, UnexpectedReplyFails) {
  FakeMilter f(0, [](const Received& r) -> std::vector<std::string> {
    if (r.cmd == 'C') return {pkt('Z')};
    return {};
  });
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_TRUE(o.failed);
}

TEST(MilterClient, BadVersionFails) {
  FakeMilter f(0, standard({pkt('a')}), false, 7);
  auto o = run_milter(milter_at(f.address), input());
  EXPECT_TRUE(o.failed);
  EXPECT_NE(o.error.find("version"), std::string::npos) << o.error;
}

TEST(MilterClient, UnknownClientAddress) {
  MilterInput in = input();
  in.client_ip = "";
  in.client_hostname = "";
  FakeMilter f(0, standard({pkt('a')}));
  auto o = run_milter(milter_at(f.address), in);
  EXPECT_FALSE(o.failed) << o.error;
  for (const auto& r : f.join())
    if (r.cmd == 'C') EXPECT_EQ(r.data, "unknown\0U"s);
}

// --- apply_milter_changes -----------------------------------------------

MilterOutcome with(std::vector<pm::HeaderChange> changes) {
  MilterOutcome o;
  o.header_changes = std::move(changes);
  return o;
}
using K = pm::HeaderChange::Kind;

const std::string kThree =
    "Received: a\r\n"
    "X-Tag: one\r\n"
    "Received: b\r\n"
    " folded\r\n"
    "\r\n"
    "body\r\n";

TEST(ApplyMilterChanges, NothingToDo) {
  EXPECT_EQ(apply_milter_changes(kThree, MilterOutcome{}), kThree);
}

TEST(ApplyMilterChanges, AddAppendsAtTheEndOfTheHeader) {
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Add, 0, "X-New", "v"}})),
            "Received: a\r\nX-Tag: one\r\nReceived: b\r\n folded\r\nX-New: v\r\n\r\nbody\r\n");
}

TEST(ApplyMilterChanges, InsertAtIndex) {
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Insert, 0, "X-I", "top"}})).substr(0, 12),
            "X-I: top\r\nRe");
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Insert, 1, "X-I", "v"}})),
            "Received: a\r\nX-I: v\r\nX-Tag: one\r\nReceived: b\r\n folded\r\n\r\nbody\r\n");
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Insert, 99, "X-I", "v"}})),
            "Received: a\r\nX-Tag: one\r\nReceived: b\r\n folded\r\nX-I: v\r\n\r\nbody\r\n");
}

TEST(ApplyMilterChanges, ChangeTheNthOccurrence) {
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Change, 2, "received", "c"}})),
            "Received: a\r\nX-Tag: one\r\nReceived: c\r\n\r\nbody\r\n");
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Change, 1, "X-Tag", "two"}})),
            "Received: a\r\nX-Tag: two\r\nReceived: b\r\n folded\r\n\r\nbody\r\n");
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Change, 0, "X-Tag", "zero"}})),  // 0 taken as 1
            "Received: a\r\nX-Tag: zero\r\nReceived: b\r\n folded\r\n\r\nbody\r\n");
}

TEST(ApplyMilterChanges, EmptyValueDeletes) {
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Change, 2, "Received", ""}})),
            "Received: a\r\nX-Tag: one\r\n\r\nbody\r\n");
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Change, 3, "Received", ""}})), kThree);  // none to delete
}

TEST(ApplyMilterChanges, ChangePastTheEndAppends) {
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Change, 2, "X-Tag", "added"}})),
            "Received: a\r\nX-Tag: one\r\nReceived: b\r\n folded\r\nX-Tag: added\r\n\r\nbody\r\n");
}

TEST(ApplyMilterChanges, ChangesApplyInOrder) {
  // Delete the first X-Tag, then add one: the add sees the deletion.
  EXPECT_EQ(apply_milter_changes(kThree, with({{K::Change, 1, "X-Tag", ""}, {K::Change, 1, "X-Tag", "new"}})),
            "Received: a\r\nReceived: b\r\n folded\r\nX-Tag: new\r\n\r\nbody\r\n");
}

TEST(ApplyMilterChanges, ValuesAreFoldedSafely) {
  auto head = [](const std::string& value) {
    std::string m = apply_milter_changes("A: b\r\n\r\nx", with({{K::Add, 0, "X-F", value}}));
    return m.substr(6, m.find("\r\n\r\n") - 6);
  };
  EXPECT_EQ(head("one\n\ttwo"), "X-F: one\r\n\ttwo");
  EXPECT_EQ(head("one\r\n two"), "X-F: one\r\n two");
  // A line break without white space cannot start a new field.
  EXPECT_EQ(head("one\nBcc: evil@example.org"), "X-F: one\r\n\tBcc: evil@example.org");
  // Nor can an empty line end the header early.
  EXPECT_EQ(head("one\r\n\r\nbody"), "X-F: one\r\n\tbody");
  EXPECT_EQ(head("one\n"), "X-F: one");
  EXPECT_EQ(head(""), "X-F:");
}

TEST(ApplyMilterChanges, ReplaceBody) {
  MilterOutcome o;
  o.new_body = "new\nbody\r\n";
  EXPECT_EQ(apply_milter_changes(kThree, o),
            "Received: a\r\nX-Tag: one\r\nReceived: b\r\n folded\r\n\r\nnew\r\nbody\r\n");
  o.new_body = "";
  EXPECT_EQ(apply_milter_changes("A: b\r\n\r\nold\r\n", o), "A: b\r\n\r\n");
}

TEST(ApplyMilterChanges, MessageWithoutBody) {
  EXPECT_EQ(apply_milter_changes("A: b\r\n", with({{K::Add, 0, "X", "y"}})), "A: b\r\nX: y\r\n");
  MilterOutcome o;
  o.new_body = "body\r\n";
  EXPECT_EQ(apply_milter_changes("A: b\r\n", o), "A: b\r\n\r\nbody\r\n");
}

}  // namespace
}  // namespace mailfort::filter
