// imapload: a compiled IMAP load generator (issue 11), so that the load
// generator is not what limits the IMAP benchmarks. Loopback only (every
// address must be in 127.0.0.0/8); every run is bounded in time and count.
//
// Profiles:
//   mixed  imaptest's default stress profile (dovecot/imaptest release-2.3,
//          src/client-state.c, states[] and the default settings): each
//          session is LOGIN; LIST "" * (50 %), STATUS INBOX (MESSAGES UNSEEN
//          RECENT) (50 %), SELECT INBOX; then, pipelined, FETCH of
//          min(messages,100) random messages with 1-4 random items (UID FLAGS
//          ENVELOPE INTERNALDATE BODY BODYSTRUCTURE RFC822.SIZE or
//          BODY.PEEK[HEADER.FIELDS (...)]), FETCH2 = one random message's
//          header, body or part (again with 30 %), STORE of random flags and
//          keywords on up to messages/5 (50 %), DELETE = STORE +FLAGS
//          \Deleted on a few random messages, EXPUNGE, and APPEND of the next
//          mbox message while the folder holds fewer than ~30 (again 5 %);
//          LOGOUT, reconnect as another random user. imaptest's COPY needs
//          copy_dest and its checkpoints need checkpoint=, both off by default.
//   login  connect, LOGIN, LOGOUT, reconnect: logins per second.
//   idle   --conns connections that LOGIN, SELECT INBOX and IDLE, from the
//          --source-ips addresses in turn; once all are idle, the server's
//          PSS (sum over its process tree) and CPU over --hold seconds.
// Output: one JSON line (commands/s, p50/p99 per command kind, errors, the
// server's CPU per command and peak PSS with --pid, the client's own CPU).
//
// Threads: each of --threads runs its own epoll loop over its share of the
// clients (edge-triggered, non-blocking, TLS through OpenSSL without
// certificate checks). Shares no code with the server (src/).
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "conn.h"
#include "procmon.h"

namespace imapload {

using Clock = std::chrono::steady_clock;

enum Kind : uint8_t {
  kConnect, kLogin, kList, kStatus, kSelect, kFetch, kFetch2, kStore, kDelete, kExpunge, kAppend, kLogout,
  kIdle, kKinds
};
constexpr const char* kKindNames[kKinds] = {"connect", "login", "list",    "status", "select", "fetch", "fetch2",
                                            "store",   "delete", "expunge", "append", "logout", "idle"};

enum class Profile { Mixed, Login, Idle };

struct Options {
  Profile profile = Profile::Mixed;
  std::string host = "127.0.0.1";
  int port = 993;
  bool tls = true;
  std::string user_fmt = "user%d@example.test";
  int user_lo = 1, user_hi = 100;
  std::string password = "pass";
  std::string mailbox = "INBOX";
  int clients = 50;
  int threads = 2;
  double seconds = 20, warmup = 0;
  long max_sessions = 10'000'000;
  std::string mbox;
  std::string pid;  // server PID or pid file, for CPU and PSS
  std::string label = "server";
  std::vector<uint32_t> sources;  // network order; empty: kernel's choice
  int conns = 1000;               // idle profile
  int inflight = 64;              // idle profile: connections being set up at once
  double hold = 15;               // idle profile
  double setup_timeout = 900;     // idle profile: bound on opening them all
  double cmd_timeout = 60;
  int message_threshold = 30;  // imaptest's MESSAGE_COUNT_THRESHOLD
  uint64_t seed = 1;
  bool users_in_order = false;  // user lo, lo+1, ... instead of random (e.g. to warm a login cache)
};

struct Stats {
  std::array<std::vector<uint32_t>, kKinds> lat_us;
  std::array<uint64_t, kKinds> ok{}, no{}, bad{};
  uint64_t commands = 0, sessions = 0, errors = 0;
  std::map<std::string, uint64_t> error_kinds;
  void merge(const Stats& o) {
    for (int k = 0; k < kKinds; ++k) {
      lat_us[k].insert(lat_us[k].end(), o.lat_us[k].begin(), o.lat_us[k].end());
      ok[k] += o.ok[k];
      no[k] += o.no[k];
      bad[k] += o.bad[k];
    }
    commands += o.commands;
    sessions += o.sessions;
    errors += o.errors;
    for (auto& [e, n] : o.error_kinds) error_kinds[e] += n;
  }
};

// What every worker reads; written by main before the workers start, except the atomics.
struct Shared {
  Clock::time_point measure_from, measure_to;
  std::atomic<bool> stop{false};
  std::atomic<long> sessions_started{0};
  std::atomic<int> idle_ready{0}, idle_failed{0};
  std::vector<std::string> messages;  // CRLF, for APPEND
  std::atomic<uint64_t> next_message{0};
  std::atomic<uint32_t> next_user{0};
  std::atomic<int> workers_done{0};
};

struct Command {
  Kind kind;
  std::string line;     // without CRLF; for APPEND everything before the literal
  std::string literal;  // APPEND only
};

struct Pending {
  uint32_t tag;
  Kind kind;
  Clock::time_point t0;
};

struct Session {
  Conn conn;
  int stage = 0;
  int user = 0;
  bool greeted = false, literal_plus = false, idling = false, done = false;
  uint32_t exists = 0;
  uint32_t next_tag = 1;
  std::vector<Pending> pending;
  std::deque<Command> queue;  // behind a synchronizing literal
  bool wait_cont = false;
  std::string cont_literal;
  Clock::time_point t_connect, last;
  Clock::time_point restart_at{};  // after a failure, restarted from the timer scan
  bool connect_recorded = false;
  uint64_t gen = 0;  // bumped by every (re)start: events of an earlier connection are stale
};

std::string imap_quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

// "1:3,5,9:10" from a set of sequence numbers
std::string seq_set(const std::set<uint32_t>& seqs) {
  std::string out;
  auto it = seqs.begin();
  while (it != seqs.end()) {
    uint32_t a = *it, b = a;
    ++it;
    while (it != seqs.end() && *it == b + 1) b = *it++;
    if (!out.empty()) out += ',';
    out += std::to_string(a);
    if (b != a) out += ':' + std::to_string(b);
  }
  return out;
}

class Worker {
 public:
  Worker(const Options& o, Shared& sh, SSL_CTX* ctx, int id, int sessions)
      : o_(o), sh_(sh), ctx_(ctx), id_(id), rng_(o.seed * 7919 + static_cast<uint64_t>(id)), sessions_(sessions) {}
  void run();
  Stats stats;

 private:
  bool in_window(Clock::time_point t) const { return t >= sh_.measure_from && t <= sh_.measure_to; }
  uint32_t rand(uint32_t n) { return n ? static_cast<uint32_t>(rng_() % n) : 0; }
  bool chance(int pct) { return rand(100) < static_cast<uint32_t>(pct); }
  void start(Session& s);
  void fail(Session& s, const std::string& why);
  void on_event(Session& s);
  bool handle(Session& s, std::string_view resp);
  void on_tagged(Session& s, const Pending& p, std::string_view status, Clock::time_point now);
  void next_step(Session& s);
  void issue(Session& s, std::vector<Command> batch);
  bool send_queued(Session& s, std::string& buf);
  void timers(Clock::time_point now);
  std::vector<Command> mixed_selected(Session& s);
  std::string random_flags();
  Command append_command();

  const Options& o_;
  Shared& sh_;
  SSL_CTX* ctx_;
  int id_;
  std::mt19937_64 rng_;
  int sessions_;
  int ep_ = -1;
  std::vector<std::unique_ptr<Session>> all_;
  uint32_t dest_ = 0;
  std::size_t next_source_ = 0;
  int setups_ = 0;  // idle profile: connections in setup
  std::size_t idle_next_ = 0;
};

void Worker::start(Session& s) {
  if (sh_.stop.load(std::memory_order_relaxed)) return;
  if (o_.profile != Profile::Idle && sh_.sessions_started.fetch_add(1) >= o_.max_sessions) {
    s.done = true;
    return;
  }
  ++s.gen;
  s.stage = 0;
  s.greeted = s.idling = s.wait_cont = s.connect_recorded = false;
  s.exists = 0;
  s.pending.clear();
  s.queue.clear();
  auto nusers = static_cast<uint32_t>(o_.user_hi - o_.user_lo + 1);
  s.user = o_.user_lo + static_cast<int>(o_.users_in_order ? sh_.next_user.fetch_add(1) % nusers : rand(nusers));
  s.t_connect = s.last = Clock::now();
  s.restart_at = {};
  uint32_t src = 0;
  if (!o_.sources.empty()) src = o_.sources[(next_source_++ + static_cast<std::size_t>(id_)) % o_.sources.size()];
  std::string err;
  if (!s.conn.start(src, dest_, static_cast<uint16_t>(o_.port), o_.tls ? ctx_ : nullptr, err)) {
    fail(s, err);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &s;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, s.conn.fd(), &ev) != 0) fail(s, std::string("epoll: ") + std::strerror(errno));
}

void Worker::fail(Session& s, const std::string& why) {
  auto now = Clock::now();
  if (in_window(now) && !sh_.stop.load(std::memory_order_relaxed)) {
    ++stats.errors;
    std::string key = why.substr(0, 80);
    if (!s.pending.empty()) key = std::string(kKindNames[s.pending.front().kind]) + ": " + key;
    ++stats.error_kinds[key];
  }
  s.conn.close();
  s.pending.clear();
  s.queue.clear();
  if (o_.profile == Profile::Idle) {
    s.done = true;
    if (s.idling) sh_.idle_ready.fetch_sub(1);
    else --setups_;
    sh_.idle_failed.fetch_add(1);
    return;
  }
  s.restart_at = now + std::chrono::milliseconds(100);
}

void Worker::on_event(Session& s) {
  if (!s.conn.open()) return;
  uint64_t gen = s.gen;
  std::string err;
  bool ok = s.conn.pump(err);
  if (s.conn.established() && !s.connect_recorded) {
    s.connect_recorded = true;
    auto now = Clock::now();
    if (in_window(now))
      stats.lat_us[kConnect].push_back(
          static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - s.t_connect).count()));
  }
  // Responses first: the server may have answered and then closed (LOGOUT).
  std::string_view resp;
  while (s.conn.open() && s.conn.next_response(resp)) {
    s.last = Clock::now();
    bool go_on = handle(s, resp);
    if (!s.conn.open() || s.gen != gen) return;  // the session ended, failed or restarted inside handle()
    s.conn.consume();
    if (!go_on) return;
  }
  if (!ok && s.conn.open()) fail(s, err);
}

// One complete response. False when the session was closed or restarted.
bool Worker::handle(Session& s, std::string_view r) {
  auto now = Clock::now();
  if (!s.greeted) {
    if (r.rfind("* OK", 0) != 0) {
      fail(s, "greeting: " + std::string(r.substr(0, 60)));
      return false;
    }
    s.greeted = true;
    s.literal_plus = r.find("LITERAL+") != std::string_view::npos;
    next_step(s);
    return s.conn.open();
  }
  if (r.rfind("* ", 0) == 0) {
    std::string_view rest = r.substr(2);
    if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
      uint32_t n = 0;
      std::size_t i = 0;
      while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') n = n * 10 + static_cast<uint32_t>(rest[i++] - '0');
      std::string_view what = rest.substr(i);
      if (what == " EXISTS") s.exists = n;
      else if (what == " EXPUNGE" && s.exists > 0) --s.exists;
    } else if (rest.rfind("CAPABILITY ", 0) == 0) {
      s.literal_plus = rest.find("LITERAL+") != std::string_view::npos;
    }
    return true;
  }
  if (r.rfind("+", 0) == 0) {
    if (s.wait_cont) {
      s.wait_cont = false;
      std::string buf = std::move(s.cont_literal);
      buf += "\r\n";
      std::string err;
      if (!send_queued(s, buf) || !s.conn.send(buf, err)) {
        if (s.conn.open()) fail(s, err);
        return false;
      }
      return true;
    }
    for (auto& p : s.pending)
      if (p.kind == kIdle && !s.idling) {
        s.idling = true;
        if (in_window(now) || o_.profile == Profile::Idle)
          stats.lat_us[kIdle].push_back(
              static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - p.t0).count()));
        --setups_;
        sh_.idle_ready.fetch_add(1);
        return true;
      }
    fail(s, "unexpected continuation");
    return false;
  }
  // Tagged: "a<N> OK|NO|BAD ..."
  std::size_t sp = r.find(' ');
  if (r.size() < 2 || r[0] != 'a' || sp == std::string_view::npos) {
    fail(s, "unparsable response: " + std::string(r.substr(0, 60)));
    return false;
  }
  uint32_t tag = static_cast<uint32_t>(std::strtoul(std::string(r.substr(1, sp - 1)).c_str(), nullptr, 10));
  std::string_view rest = r.substr(sp + 1);
  std::string_view status = rest.substr(0, rest.find(' '));
  auto it = std::find_if(s.pending.begin(), s.pending.end(), [&](const Pending& p) { return p.tag == tag; });
  if (it == s.pending.end()) {
    fail(s, "unknown tag");
    return false;
  }
  if (rest.find("[CAPABILITY ") != std::string_view::npos)
    s.literal_plus = rest.find("LITERAL+") != std::string_view::npos;
  Pending p = *it;
  s.pending.erase(it);
  on_tagged(s, p, status, now);
  return s.conn.open();
}

void Worker::on_tagged(Session& s, const Pending& p, std::string_view status, Clock::time_point now) {
  bool window = in_window(now);
  if (window) {
    stats.lat_us[p.kind].push_back(
        static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - p.t0).count()));
    ++stats.commands;
    if (status == "OK") ++stats.ok[p.kind];
    else if (status == "NO") ++stats.no[p.kind];
    else ++stats.bad[p.kind];
  }
  if (status != "OK" && (p.kind == kLogin || p.kind == kSelect)) {
    fail(s, std::string(kKindNames[p.kind]) + " " + std::string(status));
    return;
  }
  if (p.kind == kLogout) {
    if (window) ++stats.sessions;
    s.conn.close();
    s.pending.clear();
    start(s);
    return;
  }
  if (s.pending.empty() && s.queue.empty() && !s.wait_cont) next_step(s);
}

std::string Worker::random_flags() {
  static const char* flags[] = {"\\Answered", "\\Flagged", "\\Seen", "\\Draft"};
  static const char* keywords[] = {"$Label1", "$Label2", "$Label3", "$Label4", "$Label5"};
  std::string out;
  for (auto* f : flags)
    if (chance(50)) out += (out.empty() ? "" : " ") + std::string(f);
  for (auto* k : keywords)
    if (rand(4) == 0) out += (out.empty() ? "" : " ") + std::string(k);
  return out;
}

Command Worker::append_command() {
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  uint64_t n = sh_.next_message.fetch_add(1);
  const std::string& msg = sh_.messages[n % sh_.messages.size()];
  std::string line = "APPEND " + imap_quote(o_.mailbox);
  if (chance(50)) line += " (" + random_flags() + ")";
  if (chance(50)) {
    char date[64];
    std::snprintf(date, sizeof date, " \"%02d-%s-2026 %02d:%02d:%02d +0000\"", static_cast<int>(1 + n % 28),
                  months[n % 12], static_cast<int>(n % 24), static_cast<int>(n % 60), static_cast<int>(n * 7 % 60));
    line += date;
  }
  return {kAppend, std::move(line), msg};
}

// The pipelined commands after SELECT in imaptest's default profile.
std::vector<Command> Worker::mixed_selected(Session& s) {
  std::vector<Command> b;
  uint32_t msgs = s.exists;
  if (msgs > 0) {
    static const char* fields[] = {"UID", "FLAGS", "ENVELOPE", "INTERNALDATE", "BODY", "BODYSTRUCTURE",
                                   "RFC822.SIZE"};
    static const char* headers[] = {"From", "To", "Cc", "Subject", "References", "In-Reply-To", "Message-ID"};
    std::set<uint32_t> seqs;
    uint32_t count = std::min<uint32_t>(msgs, 100);
    for (uint32_t i = 0; i < count; ++i) seqs.insert(rand(msgs) + 1);
    std::string items;
    for (uint32_t i = rand(4) + 1; i > 0; --i) {
      if (rand(4) != 0) {
        items += fields[rand(7)];
      } else {
        items += "BODY.PEEK[HEADER.FIELDS (";
        for (uint32_t j = rand(4) + 1; j > 0; --j) items += std::string(headers[rand(7)]) + (j != 1 ? " " : "");
        items += ")]";
      }
      if (i != 1) items += ' ';
    }
    b.push_back({kFetch, "FETCH " + seq_set(seqs) + " (" + items + ")", {}});
    static const char* parts[] = {"BODY.PEEK[HEADER]", "RFC822.HEADER", "BODY.PEEK[]", "BODY.PEEK[1]",
                                  "BODY.PEEK[TEXT]"};
    do {
      b.push_back({kFetch2, "FETCH " + std::to_string(rand(msgs) + 1) + " (UID " + parts[rand(5)] + ")", {}});
    } while (chance(30));
    if (chance(50)) {
      uint32_t n = rand(msgs < 10 ? msgs : std::min<uint32_t>(msgs / 5, 50));
      if (n > 0) {
        seqs.clear();
        for (uint32_t i = 0; i < n; ++i) seqs.insert(rand(msgs) + 1);
        static const char* modes[] = {"+", "-", ""};
        std::string line = "STORE " + seq_set(seqs) + " " + modes[rand(3)] + "FLAGS";
        if (chance(50)) line += ".SILENT";
        b.push_back({kStore, line + " (" + random_flags() + ")", {}});
      }
    }
    // DELETE: imaptest balances deletions against appends around the threshold.
    uint32_t n = 1 + (100 + 100 / 2) / 100;
    if (msgs > static_cast<uint32_t>(o_.message_threshold) + 5) n += msgs - static_cast<uint32_t>(o_.message_threshold);
    n = std::min<uint32_t>(rand(n), 1000);
    if (n > 0 || rand(10) == 0) {
      seqs.clear();
      for (uint32_t i = 0; i < n; ++i) seqs.insert(rand(msgs) + 1);
      if (!seqs.empty())
        b.push_back({kDelete, "STORE " + seq_set(seqs) + (chance(50) ? " +FLAGS.SILENT" : " +FLAGS") + " \\Deleted", {}});
    }
    b.push_back({kExpunge, "EXPUNGE", {}});
  }
  if (!sh_.messages.empty() && msgs - (msgs >> 3) < static_cast<uint32_t>(o_.message_threshold)) {
    do {
      b.push_back(append_command());
    } while (chance(5));
  }
  return b;
}

void Worker::next_step(Session& s) {
  std::vector<Command> b;
  std::string user = o_.user_fmt;
  if (auto pos = user.find("%d"); pos != std::string::npos) user.replace(pos, 2, std::to_string(s.user));
  std::string login = "LOGIN " + imap_quote(user) + " " + imap_quote(o_.password);
  switch (o_.profile) {
    case Profile::Mixed:
      switch (s.stage++) {
        case 0: b.push_back({kLogin, login, {}}); break;
        case 1:
          if (chance(50)) b.push_back({kList, "LIST \"\" *", {}});
          if (chance(50)) b.push_back({kStatus, "STATUS " + imap_quote(o_.mailbox) + " (MESSAGES UNSEEN RECENT)", {}});
          b.push_back({kSelect, "SELECT " + imap_quote(o_.mailbox), {}});
          break;
        case 2:
          b = mixed_selected(s);
          if (!b.empty()) break;
          ++s.stage;
          [[fallthrough]];
        default: b.push_back({kLogout, "LOGOUT", {}}); break;
      }
      break;
    case Profile::Login:
      if (s.stage++ == 0) b.push_back({kLogin, login, {}});
      else b.push_back({kLogout, "LOGOUT", {}});
      break;
    case Profile::Idle:
      switch (s.stage++) {
        case 0: b.push_back({kLogin, login, {}}); break;
        case 1: b.push_back({kSelect, "SELECT " + imap_quote(o_.mailbox), {}}); break;
        case 2: b.push_back({kIdle, "IDLE", {}}); break;
        default: return;
      }
      break;
  }
  issue(s, std::move(b));
}

// Sends what fits before the next synchronizing literal; the rest waits for "+".
bool Worker::send_queued(Session& s, std::string& buf) {
  auto now = Clock::now();
  while (!s.queue.empty()) {
    Command c = std::move(s.queue.front());
    s.queue.pop_front();
    uint32_t tag = s.next_tag++;
    s.pending.push_back({tag, c.kind, now});
    buf += 'a' + std::to_string(tag) + ' ' + c.line;
    if (c.kind == kAppend) {
      buf += " {" + std::to_string(c.literal.size()) + (s.literal_plus ? "+}\r\n" : "}\r\n");
      if (!s.literal_plus) {
        s.wait_cont = true;
        s.cont_literal = std::move(c.literal);
        return true;
      }
      buf += c.literal;
    }
    buf += "\r\n";
  }
  return true;
}

void Worker::issue(Session& s, std::vector<Command> batch) {
  for (auto& c : batch) s.queue.push_back(std::move(c));
  std::string buf;
  send_queued(s, buf);
  std::string err;
  s.last = Clock::now();
  if (!s.conn.send(buf, err)) fail(s, err);
}

void Worker::timers(Clock::time_point now) {
  auto limit = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.cmd_timeout));
  for (auto& sp : all_) {
    Session& s = *sp;
    if (s.done) continue;
    if (!s.conn.open()) {
      if (o_.profile != Profile::Idle && s.restart_at != Clock::time_point{} && now >= s.restart_at) start(s);
      continue;
    }
    if (s.idling) continue;
    if (now - s.last > limit) fail(s, "timeout");
  }
  if (o_.profile == Profile::Idle) {
    // Opens connections up to --inflight in setup at once.
    while (idle_next_ < all_.size() && setups_ < o_.inflight && !sh_.stop.load()) {
      ++setups_;
      start(*all_[idle_next_++]);
    }
  }
}

void Worker::run() {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  inet_pton(AF_INET, o_.host.c_str(), &dest_);
  for (int i = 0; i < sessions_; ++i) all_.push_back(std::make_unique<Session>());
  if (o_.profile != Profile::Idle)
    for (auto& s : all_) start(*s);
  std::vector<epoll_event> evs(512);
  auto next_timer = Clock::now();
  while (!sh_.stop.load(std::memory_order_relaxed)) {
    int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 20);
    for (int i = 0; i < n; ++i) on_event(*static_cast<Session*>(evs[i].data.ptr));
    auto now = Clock::now();
    if (now >= next_timer) {
      timers(now);
      next_timer = now + std::chrono::milliseconds(o_.profile == Profile::Idle ? 5 : 50);
    }
    if (o_.profile != Profile::Idle && now > sh_.measure_to) break;
    if (o_.profile != Profile::Idle &&
        std::all_of(all_.begin(), all_.end(), [](auto& s) { return s->done; }))
      break;
  }
  all_.clear();  // closes every connection
  ::close(ep_);
  sh_.workers_done.fetch_add(1);
}

// ---- options, messages, report

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "imapload: %s\n"
               "usage: imapload --profile mixed|login|idle --port P [--tls|--plain] [--host 127.0.0.1]\n"
               "  [--users user%%d@example.test] [--range 1-100] [--password pass] [--mailbox INBOX]\n"
               "  [--clients 50] [--threads 2] [--seconds 20] [--warmup 0] [--max-sessions N]\n"
               "  [--mbox FILE (messages to APPEND; mixed)] [--pid PID|PIDFILE] [--label NAME] [--seed N]\n"
               "  [--users-in-order (not random: e.g. --profile login --max-sessions 100 warms a login cache)]\n"
               "  [--source-ips 127.0.0.1-4] [--conns N] [--inflight 64] [--hold 15] [--setup-timeout 900]\n",
               msg);
  std::exit(2);
}

bool loopback(const std::string& ip, uint32_t& out) {
  in_addr a{};
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1) return false;
  out = a.s_addr;
  return (ntohl(a.s_addr) >> 24) == 127;
}

Options parse(int argc, char** argv) {
  Options o;
  auto range = [](const std::string& v, int& lo, int& hi) {
    auto dash = v.find('-');
    lo = std::atoi(v.substr(0, dash).c_str());
    hi = dash == std::string::npos ? lo : std::atoi(v.substr(dash + 1).c_str());
    if (lo <= 0 || hi < lo) usage("bad range");
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--profile") {
      std::string v = val();
      o.profile = v == "mixed" ? Profile::Mixed : v == "login" ? Profile::Login : v == "idle" ? Profile::Idle
                                                                                         : (usage("bad profile"), o.profile);
    } else if (a == "--host") o.host = val();
    else if (a == "--port") o.port = std::atoi(val().c_str());
    else if (a == "--tls") o.tls = true;
    else if (a == "--plain") o.tls = false;
    else if (a == "--users") o.user_fmt = val();
    else if (a == "--range") range(val(), o.user_lo, o.user_hi);
    else if (a == "--password") o.password = val();
    else if (a == "--mailbox") o.mailbox = val();
    else if (a == "--clients") o.clients = std::atoi(val().c_str());
    else if (a == "--threads") o.threads = std::atoi(val().c_str());
    else if (a == "--seconds") o.seconds = std::atof(val().c_str());
    else if (a == "--warmup") o.warmup = std::atof(val().c_str());
    else if (a == "--max-sessions") o.max_sessions = std::atol(val().c_str());
    else if (a == "--mbox") o.mbox = val();
    else if (a == "--pid") o.pid = val();
    else if (a == "--label") o.label = val();
    else if (a == "--users-in-order") o.users_in_order = true;
    else if (a == "--seed") o.seed = std::strtoull(val().c_str(), nullptr, 10);
    else if (a == "--conns") o.conns = std::atoi(val().c_str());
    else if (a == "--inflight") o.inflight = std::atoi(val().c_str());
    else if (a == "--hold") o.hold = std::atof(val().c_str());
    else if (a == "--setup-timeout") o.setup_timeout = std::atof(val().c_str());
    else if (a == "--cmd-timeout") o.cmd_timeout = std::atof(val().c_str());
    else if (a == "--source-ips") {
      std::string v = val();  // 127.0.0.1-4 or one address
      auto dash = v.find('-');
      std::string first = v.substr(0, dash);
      uint32_t base;
      if (!loopback(first, base)) usage("--source-ips must be in 127.0.0.0/8");
      int last = dash == std::string::npos ? 0 : std::atoi(v.substr(dash + 1).c_str());
      uint32_t h = ntohl(base);
      int lo = static_cast<int>(h & 0xff);
      if (dash == std::string::npos) last = lo;
      if (last < lo || last > 254) usage("bad --source-ips range");
      for (int x = lo; x <= last; ++x) o.sources.push_back(htonl((h & 0xffffff00u) | static_cast<uint32_t>(x)));
    } else if (a == "--help" || a == "-h") usage("help");
    else usage(("unknown option " + a).c_str());
  }
  uint32_t dummy;
  if (!loopback(o.host, dummy)) usage("--host must be in 127.0.0.0/8 (loopback benchmarks only)");
  if (o.port <= 0 || o.port > 65535) usage("bad --port");
  if (o.clients <= 0 || o.threads <= 0 || o.seconds <= 0 || o.conns <= 0 || o.inflight <= 0) usage("bad count");
  if (o.seconds > 3600 || o.hold > 3600 || o.warmup > 600) usage("runs are bounded: at most 3600 s");
  return o;
}

// Messages of an mbox file ("From " lines), as imaptest reads them: CRLF line ends.
std::vector<std::string> read_mbox(const std::string& path) {
  std::ifstream f(path);
  if (!f) usage(("cannot read " + path).c_str());
  std::vector<std::string> out;
  std::string line, cur;
  bool in = false;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("From ", 0) == 0) {
      if (in) out.push_back(std::move(cur));
      cur.clear();
      in = true;
      continue;
    }
    if (in) cur += line + "\r\n";
  }
  if (in) out.push_back(std::move(cur));
  return out;
}

// A plain 4 KiB message when no --mbox is given.
std::vector<std::string> default_messages() {
  std::vector<std::string> out;
  for (int i = 0; i < 100; ++i) {
    std::string m = "From: Load Generator <load@example.test>\r\nTo: <user@example.test>\r\nSubject: imapload message " +
                    std::to_string(i) + "\r\nMessage-ID: <imapload." + std::to_string(i) +
                    "@example.test>\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
    while (m.size() < 4000) m += "The quick brown fox jumps over the lazy dog, line " + std::to_string(m.size()) + ".\r\n";
    out.push_back(std::move(m));
  }
  return out;
}

double pct(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) ;
  if (i > 0) --i;
  return v[std::min(i, v.size() - 1)] / 1000.0;
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) o += ' ';
    else o += c;
  }
  return o + "\"";
}

double cpu_seconds_self() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

const char* profile_name(Profile p) { return p == Profile::Mixed ? "mixed" : p == Profile::Login ? "login" : "idle"; }

void report_latency(std::ostringstream& j, Stats& st) {
  std::vector<uint32_t> all;
  j << ",\"lat_ms\":{";
  bool first = true;
  for (int k = 0; k < kKinds; ++k) {
    auto& v = st.lat_us[k];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    if (k != kConnect && k != kIdle) all.insert(all.end(), v.begin(), v.end());
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s\"%s\":{\"n\":%zu,\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f,\"no\":%lu,\"bad\":%lu}",
                  first ? "" : ",", kKindNames[k], v.size(), pct(v, 50), pct(v, 99), v.back() / 1000.0,
                  static_cast<unsigned long>(st.no[k]), static_cast<unsigned long>(st.bad[k]));
    j << buf;
    first = false;
  }
  j << "}";
  std::sort(all.begin(), all.end());
  char buf[128];
  std::snprintf(buf, sizeof buf, ",\"p50_ms\":%.2f,\"p99_ms\":%.2f", pct(all, 50), pct(all, 99));
  j << buf;
}

void report_errors(std::ostringstream& j, const Stats& st) {
  j << ",\"errors\":" << st.errors << ",\"error_kinds\":{";
  bool first = true;
  for (auto& [e, n] : st.error_kinds) {
    j << (first ? "" : ",") << json_str(e) << ":" << n;
    first = false;
  }
  j << "}";
}

int run(const Options& o) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  Shared sh;
  if (o.profile == Profile::Mixed) sh.messages = o.mbox.empty() ? default_messages() : read_mbox(o.mbox);
  if (o.profile == Profile::Mixed && sh.messages.empty()) usage("no messages in --mbox");

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // a full handshake per connection, as imaptest
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);

  int total = o.profile == Profile::Idle ? o.conns : o.clients;
  int threads = std::min(o.threads, total);
  ProcSample base{}, s0{}, s1{}, loaded{};
  bool mon = !o.pid.empty();
  if (mon && !proc_sample(o.pid, base, true)) usage("--pid: no such process");

  auto t0 = Clock::now();
  auto secs = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  if (o.profile == Profile::Idle) {
    sh.measure_from = t0;
    sh.measure_to = t0 + secs(o.setup_timeout + o.hold + 60);
  } else {
    sh.measure_from = t0 + secs(o.warmup);
    sh.measure_to = sh.measure_from + secs(o.seconds);
  }
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    workers.push_back(std::make_unique<Worker>(o, sh, ctx, t, total / threads + (t < total % threads ? 1 : 0)));
  for (auto& w : workers) ts.emplace_back([&w] { w->run(); });

  std::ostringstream j;
  j << "{\"bench\":\"imapload\",\"profile\":\"" << profile_name(o.profile) << "\",\"label\":" << json_str(o.label)
    << ",\"tls\":" << (o.tls ? "true" : "false") << ",\"threads\":" << threads;
  long peak_pss = 0;
  int peak_nproc = 0;
  auto sample_peak = [&] {
    ProcSample p;
    if (mon && proc_sample(o.pid, p, true)) {
      peak_pss = std::max(peak_pss, p.pss_kb);
      peak_nproc = std::max(peak_nproc, p.nproc);
    }
  };
  if (o.profile != Profile::Idle) {
    std::this_thread::sleep_until(sh.measure_from);
    double c0 = cpu_seconds_self();
    if (mon) proc_sample(o.pid, s0, false);
    auto wall0 = Clock::now();
    while (Clock::now() < sh.measure_to) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      sample_peak();
      if (sh.workers_done.load() == threads) break;  // --max-sessions reached
    }
    if (mon) proc_sample(o.pid, s1, false);
    double wall = std::chrono::duration<double>(std::min(Clock::now(), sh.measure_to) - wall0).count();
    double c1 = cpu_seconds_self();
    sh.stop = true;
    for (auto& t : ts) t.join();
    Stats st;
    for (auto& w : workers) st.merge(w->stats);
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  ",\"clients\":%d,\"users\":\"%d-%d\",\"seconds\":%.1f,\"commands\":%lu,\"cmds_per_s\":%.1f,"
                  "\"sessions\":%lu,\"sessions_per_s\":%.1f,\"logins_per_s\":%.1f,\"client_cpu_pct\":%.1f",
                  o.clients, o.user_lo, o.user_hi, wall, static_cast<unsigned long>(st.commands),
                  static_cast<double>(st.commands) / wall, static_cast<unsigned long>(st.sessions),
                  static_cast<double>(st.sessions) / wall, static_cast<double>(st.ok[kLogin]) / wall,
                  100.0 * (c1 - c0) / wall);
    j << buf;
    if (mon) {
      double cpu = s1.cpu_s - s0.cpu_s;
      std::snprintf(buf, sizeof buf,
                    ",\"server\":{\"cpu_s\":%.2f,\"cpu_pct\":%.1f,\"cpu_ms_per_cmd\":%.3f,\"peak_pss_mb\":%.1f,"
                    "\"peak_nproc\":%d}",
                    cpu, 100.0 * cpu / wall, st.commands ? 1000.0 * cpu / static_cast<double>(st.commands) : 0.0,
                    peak_pss / 1024.0, peak_nproc);
      j << buf;
    }
    report_errors(j, st);
    report_latency(j, st);
  } else {
    auto setup_end = t0 + secs(o.setup_timeout);
    while (Clock::now() < setup_end && sh.idle_ready.load() + sh.idle_failed.load() < o.conns)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    double setup_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::seconds(2));  // let the server settle
    if (mon) proc_sample(o.pid, loaded, true);
    double c0 = cpu_seconds_self();
    std::this_thread::sleep_for(secs(o.hold));
    if (mon) proc_sample(o.pid, s1, false);
    double c1 = cpu_seconds_self();
    sh.stop = true;
    for (auto& t : ts) t.join();
    Stats st;
    for (auto& w : workers) st.merge(w->stats);
    int ok = sh.idle_ready.load();
    char buf[640];
    std::snprintf(buf, sizeof buf,
                  ",\"conns\":%d,\"conns_ok\":%d,\"sources\":%zu,\"setup_s\":%.1f,\"hold_s\":%.1f,"
                  "\"client_cpu_pct\":%.1f",
                  o.conns, ok, o.sources.size(), setup_s, o.hold, 100.0 * (c1 - c0) / o.hold);
    j << buf;
    if (mon) {
      double idle_cpu = s1.cpu_s - loaded.cpu_s;
      std::snprintf(buf, sizeof buf,
                    ",\"server\":{\"base_pss_mb\":%.1f,\"loaded_pss_mb\":%.1f,\"pss_per_conn_kib\":%.1f,"
                    "\"rss_per_conn_kib\":%.1f,\"nproc\":%d,\"idle_cpu_pct\":%.2f}",
                    base.pss_kb / 1024.0, loaded.pss_kb / 1024.0,
                    ok ? static_cast<double>(loaded.pss_kb - base.pss_kb) / ok : 0.0,
                    ok ? static_cast<double>(loaded.rss_kb - base.rss_kb) / ok : 0.0, loaded.nproc,
                    100.0 * idle_cpu / o.hold);
      j << buf;
    }
    report_errors(j, st);
    report_latency(j, st);
  }
  j << "}";
  std::printf("%s\n", j.str().c_str());
  std::fflush(stdout);
  SSL_CTX_free(ctx);
  return 0;
}

}  // namespace imapload

int main(int argc, char** argv) { return imapload::run(imapload::parse(argc, argv)); }
