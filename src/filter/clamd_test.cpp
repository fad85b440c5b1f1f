// The clamd client against a fake clamd in this process (a listener
// thread on loopback TCP or a unix socket that speaks INSTREAM as clamd(8)
// documents it), and the pure protocol parts on their own.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "filter/clamd.h"
#include "filter/clamd_protocol.h"

namespace mailfort::filter {
namespace {

using namespace std::chrono_literals;

// ---- the pure parts ----

TEST(ClamdReply, CleanInfectedError) {
  EXPECT_EQ(parse_clamd_reply("stream: OK").status, VirusScan::Status::Clean);
  EXPECT_EQ(parse_clamd_reply(std::string_view("stream: OK\0", 11)).status, VirusScan::Status::Clean);
  EXPECT_EQ(parse_clamd_reply("stream: OK\n").status, VirusScan::Status::Clean);

  auto found = parse_clamd_reply("stream: Eicar-Test-Signature.UNOFFICIAL FOUND");
  EXPECT_EQ(found.status, VirusScan::Status::Infected);
  EXPECT_EQ(found.virus, "Eicar-Test-Signature.UNOFFICIAL");
  auto session = parse_clamd_reply("12: stream: Win.Test.EICAR_HDB-1 FOUND");
  EXPECT_EQ(session.status, VirusScan::Status::Infected);
  EXPECT_EQ(session.virus, "Win.Test.EICAR_HDB-1");

  auto limit = parse_clamd_reply("INSTREAM size limit exceeded. ERROR");
  EXPECT_EQ(limit.status, VirusScan::Status::Error);
  EXPECT_EQ(limit.error, "clamd: INSTREAM size limit exceeded");
  EXPECT_EQ(parse_clamd_reply("stream: Can't allocate memory ERROR").status, VirusScan::Status::Error);
}

TEST(ClamdReply, AnythingElseIsAnError) {
  for (std::string_view r : {"", "PONG", "stream: ", "stream: FOUND", "stream:  FOUND", "UNKNOWN COMMAND",
                             "stream: OKAY", "OK", "/tmp/x: OK"}) {
    auto v = parse_clamd_reply(r);
    EXPECT_EQ(v.status, VirusScan::Status::Error) << r;
    EXPECT_FALSE(v.error.empty()) << r;
  }
}

TEST(ClamdReply, VirusNameIsPrintableAndBounded) {
  auto v = parse_clamd_reply("stream: Bad\r\n250 ok\x01 FOUND");
  ASSERT_EQ(v.status, VirusScan::Status::Infected);
  EXPECT_EQ(v.virus, "Bad??250 ok?");
  auto longer = parse_clamd_reply("stream: " + std::string(5000, 'A') + " FOUND");
  ASSERT_EQ(longer.status, VirusScan::Status::Infected);
  EXPECT_EQ(longer.virus.size(), kClamdMaxVirusName);
}

TEST(ClamdAddress, UnixTcpAndBadOnes) {
  std::string why;
  auto u = parse_clamd_address("/run/clamav/clamd.ctl", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->unix_path, "/run/clamav/clamd.ctl");
  auto v4 = parse_clamd_address("127.0.0.1:3310", why);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 3310);
  auto v6 = parse_clamd_address("[::1]:3310", why);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 3310);
  auto name = parse_clamd_address("clamd.lan:1", why);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "clamd.lan");
  for (std::string_view bad : {"", "clamd", "::1:3310", "[::1]", "[::1]3310", "host:", ":3310", "host:0",
                               "host:65536", "host:33a", "relative/path"}) {
    why.clear();
    EXPECT_FALSE(parse_clamd_address(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(ClamdFraming, ChunkLengthIsBigEndian) {
  auto b = clamd_chunk_length(0x01020304);
  EXPECT_EQ(std::string(b.data(), 4), std::string("\x01\x02\x03\x04", 4));
  auto z = clamd_chunk_length(0);
  EXPECT_EQ(std::string(z.data(), 4), std::string(4, '\0'));
}

// ---- a fake clamd ----

// Reads exactly n bytes; false on EOF or error.
bool read_exact(int fd, char* out, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, out, n, 0);
    if (r <= 0) return false;
    out += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t w = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (w <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(w));
  }
}

struct Stream {
  std::string command;
  std::vector<uint32_t> chunks;  // sizes as framed, the final 0 included
  std::string data;
  bool complete = false;
};

// Reads the command and the frames up to the zero-length one (or `stop_after`
// data bytes: then returns without reading further, as clamd does on its limit).
Stream read_stream(int fd, std::size_t stop_after = SIZE_MAX) {
  Stream s;
  s.command.resize(kClamdInstream.size());
  if (!read_exact(fd, s.command.data(), s.command.size())) return s;
  while (true) {
    unsigned char len[4];
    if (!read_exact(fd, reinterpret_cast<char*>(len), 4)) return s;
    uint32_t n = (uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) | (uint32_t{len[2]} << 8) | len[3];
    s.chunks.push_back(n);
    if (n == 0) {
      s.complete = true;
      return s;
    }
    std::string part(n, '\0');
    if (!read_exact(fd, part.data(), n)) return s;
    s.data += part;
    if (s.data.size() > stop_after) return s;
  }
}

class FakeClamd {
 public:
  using Handler = std::function<void(int fd, FakeClamd& self)>;

  FakeClamd(bool unix_socket, Handler handler) : handler_(std::move(handler)) {
    if (unix_socket) {
      char tmpl[] = "/tmp/mf-clamd-test-XXXXXX";
      dir_ = ::mkdtemp(tmpl);
      address_ = dir_ + "/clamd.sock";
      listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      std::strncpy(sun.sun_path, address_.c_str(), sizeof(sun.sun_path) - 1);
      EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0);
    } else {
      listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
      socklen_t len = sizeof(sin);
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sin), &len);
      address_ = "127.0.0.1:" + std::to_string(ntohs(sin.sin_port));
    }
    EXPECT_EQ(::listen(listener_, 64), 0);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~FakeClamd() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    acceptor_.join();
    for (auto& t : handlers_) t.join();
    ::close(listener_);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  const std::string& address() const { return address_; }

  // For handlers that hang: waits up to `d` or until the test ends.
  void hold(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return stop_; });
  }

  std::atomic<int> active{0}, most_active{0}, connections{0};
  std::mutex streams_mu;
  std::vector<Stream> streams;

  void record(Stream s) {
    std::lock_guard lock(streams_mu);
    streams.push_back(std::move(s));
  }

 private:
  void accept_loop() {
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) != 1) continue;
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections;
      int now = ++active;
      int seen = most_active.load();
      while (now > seen && !most_active.compare_exchange_weak(seen, now)) {
      }
      handlers_.emplace_back([this, fd] {
        handler_(fd, *this);
        ::close(fd);
      });
    }
  }

  Handler handler_;
  std::string dir_, address_;
  int listener_ = -1;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

// Reads the whole stream and answers `reply` (NUL added), leaving "active"
// before the answer so a client that got it may already start another scan.
FakeClamd::Handler answering(std::string reply, std::chrono::milliseconds delay = 0ms) {
  return [reply, delay](int fd, FakeClamd& self) {
    Stream s = read_stream(fd);
    self.record(s);
    if (delay.count()) self.hold(delay);
    --self.active;
    write_all(fd, reply + std::string(1, '\0'));
  };
}

config::Antivirus settings(const std::string& address, uint32_t timeout = 5, uint32_t max_connections = 8,
                           uint64_t max_scan_size = 26214400) {
  config::Antivirus c;
  c.clamd = address;
  c.timeout_seconds = timeout;
  c.max_connections = max_connections;
  c.max_scan_size = max_scan_size;
  return c;
}

std::string message_of(std::size_t size) {
  std::string m = "From: a@example.test\r\nSubject: t\r\n\r\n";
  while (m.size() < size) m += "line " + std::to_string(m.size()) + "\r\n";
  m.resize(size);
  return m;
}

TEST(ClamdClient, CleanOverTcpInChunks) {
  FakeClamd fake(false, answering("stream: OK"));
  auto av = make_clamd_antivirus(settings(fake.address()));
  ASSERT_TRUE(av);
  std::string message = message_of(200000);
  auto v = av->scan(message);
  EXPECT_EQ(v.status, VirusScan::Status::Clean) << v.error;
  ASSERT_EQ(fake.streams.size(), 1u);
  const Stream& s = fake.streams[0];
  EXPECT_EQ(s.command, std::string("zINSTREAM\0", 10));
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.data, message);
  EXPECT_EQ(s.chunks, (std::vector<uint32_t>{65536, 65536, 65536, 200000 - 3 * 65536, 0}));
}

TEST(ClamdClient, HostNameIsResolved) {
  // "localhost" may resolve to ::1 first, where nothing listens: the client
  // goes on to the next address.
  FakeClamd fake(false, answering("stream: OK"));
  std::string port = fake.address().substr(fake.address().rfind(':') + 1);
  auto v = make_clamd_antivirus(settings("localhost:" + port))->scan("hello");
  EXPECT_EQ(v.status, VirusScan::Status::Clean) << v.error;
}

TEST(ClamdClient, EmptyMessageIsJustTheEndFrame) {
  FakeClamd fake(false, answering("stream: OK"));
  auto av = make_clamd_antivirus(settings(fake.address()));
  EXPECT_EQ(av->scan("").status, VirusScan::Status::Clean);
  ASSERT_EQ(fake.streams.size(), 1u);
  EXPECT_EQ(fake.streams[0].chunks, std::vector<uint32_t>{0});
}

TEST(ClamdClient, InfectedOverUnixSocket) {
  FakeClamd fake(true, answering("stream: Eicar-Test-Signature FOUND"));
  auto av = make_clamd_antivirus(settings(fake.address()));
  ASSERT_TRUE(av);
  auto v = av->scan(message_of(3000));
  EXPECT_EQ(v.status, VirusScan::Status::Infected) << v.error;
  EXPECT_EQ(v.virus, "Eicar-Test-Signature");
}

TEST(ClamdClient, CutAtMaxScanSize) {
  FakeClamd fake(false, answering("stream: OK"));
  auto av = make_clamd_antivirus(settings(fake.address(), 5, 8, /*max_scan_size=*/1024));
  std::string message = message_of(100000);
  EXPECT_EQ(av->scan(message).status, VirusScan::Status::Clean);
  ASSERT_EQ(fake.streams.size(), 1u);
  EXPECT_EQ(fake.streams[0].data, message.substr(0, 1024));
  EXPECT_TRUE(fake.streams[0].complete);
}

TEST(ClamdClient, SizeLimitErrorWhileStillSending) {
  // clamd answers as soon as the stream passes its StreamMaxLength and closes
  // without reading the rest; the client must report that answer, not a
  // broken pipe.
  FakeClamd fake(false, [](int fd, FakeClamd& self) {
    self.record(read_stream(fd, 100000));
    write_all(fd, std::string("INSTREAM size limit exceeded. ERROR\0", 36));
    ::shutdown(fd, SHUT_WR);
    self.hold(300ms);  // then close with unread data: a reset
  });
  auto av = make_clamd_antivirus(settings(fake.address()));
  auto v = av->scan(message_of(8 * 1024 * 1024));
  EXPECT_EQ(v.status, VirusScan::Status::Error);
  EXPECT_EQ(v.error, "clamd: INSTREAM size limit exceeded");
}

TEST(ClamdClient, ReplyTimeout) {
  FakeClamd fake(false, [](int fd, FakeClamd& self) {
    self.record(read_stream(fd));
    self.hold(5s);
  });
  auto av = make_clamd_antivirus(settings(fake.address(), /*timeout=*/1));
  auto start = std::chrono::steady_clock::now();
  auto v = av->scan(message_of(1000));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(v.status, VirusScan::Status::Error);
  EXPECT_NE(v.error.find("timed out"), std::string::npos) << v.error;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
}

TEST(ClamdClient, SendTimeoutWhenClamdDoesNotRead) {
  // A clamd that accepts but never reads: the socket buffers fill and the
  // write must give up at the deadline instead of blocking the worker.
  FakeClamd fake(false, [](int, FakeClamd& self) { self.hold(5s); });
  auto av = make_clamd_antivirus(settings(fake.address(), /*timeout=*/1));
  std::string big = message_of(64 * 1024 * 1024);  // built before the clock starts (slow under ASan)
  auto start = std::chrono::steady_clock::now();
  auto v = av->scan(big);
  EXPECT_EQ(v.status, VirusScan::Status::Error);
  EXPECT_EQ(v.error, "timed out sending to clamd");
  // A 1 s deadline, not the 5 s the fake holds on: generous for slow builds.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST(ClamdClient, RefusedAndMissingSocket) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  socklen_t len = sizeof(sin);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&sin), &len);
  ::close(s);  // bound, never listened: connecting is refused
  auto tcp = make_clamd_antivirus(settings("127.0.0.1:" + std::to_string(ntohs(sin.sin_port))));
  auto v = tcp->scan("x");
  EXPECT_EQ(v.status, VirusScan::Status::Error);
  EXPECT_NE(v.error.find("refused"), std::string::npos) << v.error;

  auto unix_av = make_clamd_antivirus(settings("/nonexistent/clamd.sock"));
  auto u = unix_av->scan("x");
  EXPECT_EQ(u.status, VirusScan::Status::Error);
  EXPECT_NE(u.error.find("No such file"), std::string::npos) << u.error;
}

TEST(ClamdClient, ClosedWithoutReplyAndGarbage) {
  FakeClamd silent(false, [](int fd, FakeClamd& self) { self.record(read_stream(fd)); });
  auto v = make_clamd_antivirus(settings(silent.address()))->scan("hello");
  EXPECT_EQ(v.status, VirusScan::Status::Error);
  EXPECT_EQ(v.error, "clamd closed the connection without a reply");

  FakeClamd garbage(false, answering("PONG"));
  auto g = make_clamd_antivirus(settings(garbage.address()))->scan("hello");
  EXPECT_EQ(g.status, VirusScan::Status::Error);
  EXPECT_NE(g.error.find("unexpected reply"), std::string::npos) << g.error;

  FakeClamd flood(false, [](int fd, FakeClamd& self) {
    self.record(read_stream(fd));
    write_all(fd, std::string(100000, 'A'));  // no NUL ever
  });
  auto f = make_clamd_antivirus(settings(flood.address()))->scan("hello");
  EXPECT_EQ(f.status, VirusScan::Status::Error);
  EXPECT_EQ(f.error, "reply from clamd too long");
}

TEST(ClamdClient, AtMostMaxConnectionsAtOnce) {
  FakeClamd fake(false, answering("stream: OK", 100ms));
  auto av = make_clamd_antivirus(settings(fake.address(), 10, /*max_connections=*/2));
  std::vector<std::thread> scans;
  std::atomic<int> clean{0};
  for (int i = 0; i < 6; ++i)
    scans.emplace_back([&] {
      if (av->scan(message_of(5000)).status == VirusScan::Status::Clean) ++clean;
    });
  for (auto& t : scans) t.join();
  EXPECT_EQ(clean.load(), 6);
  EXPECT_EQ(fake.connections.load(), 6);  // one connection per scan
  EXPECT_LE(fake.most_active.load(), 2);
  EXPECT_GE(fake.most_active.load(), 1);
}

TEST(ClamdClient, WaitingForASlotIsBoundedByTheTimeout) {
  // One slot, held by a scan clamd never answers: the next scan waits for the
  // slot, then for clamd, all within its own timeout.
  FakeClamd fake(false, [](int fd, FakeClamd& self) {
    self.record(read_stream(fd));
    self.hold(5s);
  });
  auto av = make_clamd_antivirus(settings(fake.address(), /*timeout=*/1, /*max_connections=*/1));
  VirusScan first, second;
  std::chrono::steady_clock::duration second_took{};
  std::thread a([&] { first = av->scan("one"); });
  std::this_thread::sleep_for(300ms);
  std::thread b([&] {
    auto start = std::chrono::steady_clock::now();
    second = av->scan("two");
    second_took = std::chrono::steady_clock::now() - start;
  });
  a.join();
  b.join();
  EXPECT_EQ(first.error, "timed out waiting for clamd's reply");
  EXPECT_EQ(second.status, VirusScan::Status::Error);
  EXPECT_GE(second_took, 900ms);
  EXPECT_LT(second_took, 1500ms);
  EXPECT_GE(fake.connections.load(), 1);
  EXPECT_LE(fake.connections.load(), 2);
}

TEST(ClamdClient, BadAddressGivesNoClient) {
  EXPECT_FALSE(make_clamd_antivirus(settings("clamd-without-port")));
  EXPECT_FALSE(make_clamd_antivirus(settings("")));
}

}  // namespace
}  // namespace mailfort::filter
