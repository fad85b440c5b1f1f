// The MTA side of one milter conversation (Sendmail milter protocol 6, as
// Postfix's milter8.c speaks it): blocking socket I/O with poll() deadlines,
// the stages the milter did not ask to skip, and the verdict with the
// modifications it requested. The milter is a separate daemon: its replies
// are untrusted input, bounded by the decoder and the limits below.
#include "filter/milter_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/log.h"

namespace mailfort::filter {
namespace pm = proto::milter;

namespace {

using Clock = std::chrono::steady_clock;

// Every action, although recipient and sender changes are not carried out
// (the envelope is fixed once the SMTP transaction is accepted; those
// requests are logged and dropped): libmilter refuses to negotiate with an
// MTA that does not offer each action a milter declares, and milters such as
// amavisd-milter or OpenDKIM declare ADDRCPT/DELRCPT for features that are
// off by default.
constexpr uint32_t kOfferedActions = pm::kActAddHdrs | pm::kActChgBody | pm::kActAddRcpt | pm::kActDelRcpt |
                                     pm::kActChgHdrs | pm::kActQuarantine | pm::kActChgFrom |
                                     pm::kActAddRcptPar | pm::kActSetSymList;
// Every stage we can skip and every reply we can do without, so milters that
// ask for them (libmilter sets NO* for callbacks it lacks) can negotiate.
constexpr uint32_t kOfferedProtocol =
    pm::kProtoNoConnect | pm::kProtoNoHelo | pm::kProtoNoMail | pm::kProtoNoRcpt | pm::kProtoNoBody |
    pm::kProtoNoHdrs | pm::kProtoNoEoh | pm::kProtoNrHdr | pm::kProtoNoUnknown | pm::kProtoNoData |
    pm::kProtoSkip | pm::kProtoRcptRej | pm::kProtoNrConn | pm::kProtoNrHelo | pm::kProtoNrMail |
    pm::kProtoNrRcpt | pm::kProtoNrData | pm::kProtoNrUnkn | pm::kProtoNrEoh | pm::kProtoNrBody |
    pm::kProtoHdrLeadSpc;

// Bounds on what a milter may ask for, so a broken one cannot grow memory
// without limit: the replacement body and the header edits.
constexpr std::size_t kMaxNewBody = 64u << 20;
constexpr std::size_t kMaxHeaderChanges = 10000;
constexpr std::size_t kMaxPacket = 1u << 20;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Non-blocking connect finished within the deadline; "" or the error.
std::string finish_connect(int fd, const sockaddr* sa, socklen_t len, Clock::time_point deadline) {
  if (::connect(fd, sa, len) == 0) return "";
  if (errno != EINPROGRESS) return std::strerror(errno);
  pollfd p{fd, POLLOUT, 0};
  int r;
  do {
    r = ::poll(&p, 1, remaining_ms(deadline));
  } while (r < 0 && errno == EINTR);
  if (r == 0) return "connect timed out";
  if (r < 0) return std::strerror(errno);
  int err = 0;
  socklen_t elen = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) return std::strerror(errno);
  return err == 0 ? "" : std::strerror(err);
}

// "host:port", "[v6]:port", "inet:port@host" (Sendmail's spelling), a unix
// socket path, or "unix:/path".
std::string connect_to(const std::string& address, uint32_t timeout_seconds, Fd& out) {
  auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  std::string_view a = address;
  if (a.starts_with("unix:")) a.remove_prefix(5);
  if (a.starts_with("local:")) a.remove_prefix(6);
  if (a.starts_with("/")) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (a.size() >= sizeof sun.sun_path) return "unix socket path too long";
    std::memcpy(sun.sun_path, a.data(), a.size());
    out.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (out.get() < 0) return std::strerror(errno);
    return finish_connect(out.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun, deadline);
  }
  std::string host, port;
  if (a.starts_with("inet:") || a.starts_with("inet6:")) {
    a.remove_prefix(a.find(':') + 1);
    auto at = a.find('@');
    if (at == std::string_view::npos) return "address needs inet:port@host";
    port = std::string(a.substr(0, at));
    host = std::string(a.substr(at + 1));
  } else {
    auto colon = a.rfind(':');
    if (colon == std::string_view::npos) return "address needs host:port or a unix socket path";
    host = std::string(a.substr(0, colon));
    port = std::string(a.substr(colon + 1));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || port.empty()) return "address needs host:port or a unix socket path";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) return gai_strerror(rc);
  std::string err = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    out.reset(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (out.get() < 0) {
      err = std::strerror(errno);
      continue;
    }
    err = finish_connect(out.get(), ai->ai_addr, ai->ai_addrlen, deadline);
    if (err.empty()) {
      // Small request/reply packets: Nagle's delay would cost ~40 ms a stage.
      int one = 1;
      ::setsockopt(out.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      break;
    }
  }
  ::freeaddrinfo(res);
  return err;
}

struct HeaderField {
  std::string_view name;
  std::string_view value;  // after the colon, folding kept, without the final CRLF
};

// The header fields of a CRLF message and where its body starts (after the
// empty line; message.size() when there is none).
std::vector<HeaderField> split_header(std::string_view message, std::size_t& body_start) {
  std::vector<HeaderField> fields;
  std::size_t pos = 0;
  const char* field_begin = nullptr;
  body_start = message.size();
  auto close_field = [&](std::size_t end) {
    if (!field_begin) return;
    std::string_view text(field_begin, static_cast<std::size_t>(message.data() + end - field_begin));
    if (text.ends_with("\r\n"))
      text.remove_suffix(2);
    else if (text.ends_with("\n"))
      text.remove_suffix(1);
    if (auto colon = text.find(':'); colon != std::string_view::npos)
      fields.push_back({text.substr(0, colon), text.substr(colon + 1)});
    field_begin = nullptr;
  };
  while (pos < message.size()) {
    std::size_t eol = message.find('\n', pos);
    std::size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
    std::string_view line = message.substr(pos, next - pos);
    if (line == "\r\n" || line == "\n") {
      close_field(pos);
      body_start = next;
      return fields;
    }
    if (line[0] != ' ' && line[0] != '\t') {
      close_field(pos);
      field_begin = message.data() + pos;
    }
    pos = next;
  }
  close_field(message.size());
  return fields;
}

std::string crlf_to_lf(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
  return out;
}

class Conversation {
 public:
  Conversation(const config::Milter& milter, const MilterInput& in) : m_(milter), in_(in) {}

  MilterOutcome run() {
    if (std::string err = connect_to(m_.address, m_.connect_timeout_seconds, fd_); !err.empty())
      fail("connect to " + m_.address + ": " + err);
    else if (negotiate()) {
      bool finished = stages();
      if (!out_.failed) {
        // Best effort: the milter may close as soon as it has given its verdict.
        std::string bye = finished ? pm::encode_quit() : pm::encode_abort() + pm::encode_quit();
        (void)::send(fd_.get(), bye.data(), bye.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
    }
    if (!out_.failed && quarantined_ && (!verdict_set_ || out_.verdict == MilterOutcome::Verdict::Accept))
      out_.verdict = MilterOutcome::Verdict::Quarantine;
    return std::move(out_);
  }

 private:
  enum class Step { Next, Stop, SkipBody };

  // Records the first failure; false, for `return fail(...)`.
  bool fail(std::string error) {
    if (!out_.failed) {
      out_.failed = true;
      out_.error = std::move(error);
    }
    return false;
  }

  bool send(std::string_view bytes) {
    auto deadline = Clock::now() + std::chrono::seconds(m_.timeout_seconds);
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd_.get(), POLLOUT, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r == 0) return fail("write timed out");
        if (r < 0 && errno != EINTR) return fail(std::string("poll: ") + std::strerror(errno));
        continue;
      }
      return fail(std::string("write: ") + std::strerror(errno));
    }
    return true;
  }

  // The next packet, waiting until `deadline_`; nullopt after a failure.
  std::optional<pm::Reply> read_packet() {
    char buf[16384];
    for (;;) {
      if (auto r = decoder_.next()) return r;
      pollfd p{fd_.get(), POLLIN, 0};
      int rc = ::poll(&p, 1, remaining_ms(deadline_));
      if (rc < 0 && errno == EINTR) continue;
      ssize_t n = rc > 0 ? ::recv(fd_.get(), buf, sizeof buf, 0) : -1;
      if (n < 0 && rc > 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      std::string error;
      if (rc == 0)
        error = "timed out waiting for a reply";
      else if (rc < 0)
        error = std::string("poll: ") + std::strerror(errno);
      else if (n == 0)
        error = "connection closed by the milter";
      else if (n < 0)
        error = std::string("read: ") + std::strerror(errno);
      else if (!decoder_.feed(std::string_view(buf, static_cast<std::size_t>(n))))
        error = "invalid packet length from the milter";
      else
        continue;
      fail(std::move(error));
      return std::nullopt;
    }
  }

  void ignore(std::string_view what) {
    spdlog::warn("milter ignored-request milter={} queue={} request={}", log::quote(m_.name),
                 log::quote(in_.queue_id), what);
  }

  // Collects a modification request; false on a bad one or past the limits.
  bool take_modification(const pm::Reply& r) {
    switch (r.code) {
      case pm::ReplyCode::AddHeader:
      case pm::ReplyCode::InsHeader:
      case pm::ReplyCode::ChgHeader: {
        auto c = pm::parse_header_change(r.code, r.data);
        if (!c) return fail("malformed header change from the milter");
        if (out_.header_changes.size() >= kMaxHeaderChanges) return fail("too many header changes");
        // With SMFIP_HDR_LEADSPC the milter writes the space after the colon
        // itself; HeaderChange values never carry it (apply adds one).
        if (leading_space_ && !c->value.empty() && (c->value[0] == ' ' || c->value[0] == '\t'))
          c->value.erase(0, 1);
        out_.header_changes.push_back(std::move(*c));
        return true;
      }
      case pm::ReplyCode::ReplBody:
        // The chunk is raw body bytes (smfi_replacebody), not a C string.
        if (!out_.new_body) out_.new_body.emplace();
        if (out_.new_body->size() + r.data.size() > kMaxNewBody) return fail("replacement body too large");
        out_.new_body->append(r.data);
        return true;
      case pm::ReplyCode::Quarantine: {
        auto parts = pm::split_nul_strings(r.data);
        out_.quarantine_reason = parts.empty() ? std::string{} : parts[0];
        quarantined_ = true;
        return true;
      }
      case pm::ReplyCode::ChgFrom:
        ignore("CHGFROM");
        return true;
      case pm::ReplyCode::AddRcpt:
        ignore("ADDRCPT");
        return true;
      case pm::ReplyCode::AddRcptPar:
        ignore("ADDRCPT_PAR");
        return true;
      case pm::ReplyCode::DelRcpt:
        ignore("DELRCPT");
        return true;
      case pm::ReplyCode::SetSymList:
        return true;
      default:
        return false;
    }
  }

  // Sends `packet` and, unless the milter said it will not reply to this
  // stage, reads its answer and applies it.
  Step exchange(std::string_view packet, uint32_t no_reply_flag, bool body_chunk = false) {
    // The stage's macros go out in the same write as its command.
    pending_.append(packet);
    bool sent = send(pending_);
    pending_.clear();
    if (!sent) return Step::Stop;
    if (no_reply_flag != 0 && (protocol_ & no_reply_flag) != 0) return Step::Next;
    deadline_ = Clock::now() + std::chrono::seconds(m_.timeout_seconds);
    for (;;) {
      auto r = read_packet();
      if (!r) return Step::Stop;
      switch (r->code) {
        case pm::ReplyCode::Progress:
          deadline_ = Clock::now() + std::chrono::seconds(m_.timeout_seconds);
          continue;
        case pm::ReplyCode::Continue:
          return Step::Next;
        case pm::ReplyCode::Skip:
          return body_chunk ? Step::SkipBody : Step::Next;
        case pm::ReplyCode::Accept:
          return Step::Stop;
        case pm::ReplyCode::Reject:
          set_verdict(MilterOutcome::Verdict::Reject);
          return Step::Stop;
        case pm::ReplyCode::Tempfail:
        case pm::ReplyCode::ConnFail:
          set_verdict(MilterOutcome::Verdict::Tempfail);
          return Step::Stop;
        case pm::ReplyCode::Discard:
          set_verdict(MilterOutcome::Verdict::Discard);
          return Step::Stop;
        case pm::ReplyCode::Shutdown:
          fail("the milter is shutting down");
          return Step::Stop;
        case pm::ReplyCode::ReplyCode: {
          auto t = pm::parse_replycode(r->data);
          if (!t || (t->code / 100 != 4 && t->code / 100 != 5)) {
            fail("malformed reply code from the milter");
            return Step::Stop;
          }
          set_verdict(t->code / 100 == 5 ? MilterOutcome::Verdict::Reject : MilterOutcome::Verdict::Tempfail);
          out_.code = t->code;
          if (!t->enhanced.empty()) out_.enhanced = t->enhanced;
          out_.text = t->text;
          return Step::Stop;
        }
        default:
          if (take_modification(*r)) continue;
          if (!out_.failed)
            fail(fmt::format("unexpected reply 0x{:02x} from the milter",
                             static_cast<unsigned char>(r->code)));
          return Step::Stop;
      }
    }
  }

  void set_verdict(MilterOutcome::Verdict v) {
    verdict_set_ = true;
    out_.verdict = v;
    switch (v) {
      case MilterOutcome::Verdict::Reject:
        out_.code = 550, out_.enhanced = "5.7.1", out_.text = "Message rejected by filter";
        break;
      case MilterOutcome::Verdict::Tempfail:
        out_.code = 451, out_.enhanced = "4.7.1", out_.text = "Try again later";
        break;
      default:
        break;
    }
  }

  bool negotiate() {
    if (!send(pm::encode_optneg(pm::kVersion, kOfferedActions, kOfferedProtocol))) return false;
    deadline_ = Clock::now() + std::chrono::seconds(m_.timeout_seconds);
    auto r = read_packet();
    if (!r) return false;
    if (r->code != pm::ReplyCode::OptNeg) return fail("the milter did not answer the option negotiation");
    auto o = pm::parse_optneg(r->data);
    if (!o) return fail("malformed option negotiation reply");
    if (o->version < 2 || o->version > pm::kVersion)
      return fail("unsupported milter protocol version " + std::to_string(o->version));
    version_ = o->version;
    protocol_ = o->protocol;
    leading_space_ = (protocol_ & pm::kProtoHdrLeadSpc) != 0;
    if (uint32_t extra = o->protocol & ~kOfferedProtocol; extra != 0)
      spdlog::debug("milter protocol-flags-unknown milter={} flags=0x{:x}", log::quote(m_.name), extra);
    return true;
  }

  bool skips(uint32_t flag) const { return (protocol_ & flag) != 0; }

  // Queues macros for a stage (sent with its command), leaving out the
  // ones we have no value for.
  bool macros(pm::Command stage, std::vector<std::pair<std::string, std::string>> list) {
    std::erase_if(list, [](const auto& kv) { return kv.second.empty(); });
    if (!list.empty()) pending_ += pm::encode_macros(stage, list);
    return true;
  }

  // Runs the stages; true when the conversation reached the end of the
  // message (nothing to abort).
  bool stages() {
    const std::string& ip = in_.client_ip;
    std::string hostname = !in_.client_hostname.empty() ? in_.client_hostname
                           : !ip.empty()                ? "[" + ip + "]"
                                                        : "unknown";
    if (!skips(pm::kProtoNoConnect)) {
      if (!macros(pm::Command::Connect, {{"j", in_.our_hostname},
                                         {"{daemon_name}", in_.listener},
                                         {"v", "Mailfort"},
                                         {"_", ip.empty() ? hostname : hostname + " [" + ip + "]"},
                                         {"{client_addr}", ip},
                                         {"{client_name}", hostname}}))
        return false;
      char family = ip.empty() ? 'U' : ip.find(':') != std::string::npos ? '6' : '4';
      if (exchange(pm::encode_connect(hostname, family, in_.client_port, ip), pm::kProtoNrConn) == Step::Stop)
        return false;
    }
    if (!skips(pm::kProtoNoHelo)) {
      if (in_.tls &&
          !macros(pm::Command::Helo, {{"{tls_version}", in_.tls_version}, {"{cipher}", in_.tls_cipher}}))
        return false;
      if (exchange(pm::encode_helo(in_.helo), pm::kProtoNrHelo) == Step::Stop) return false;
    }
    if (!skips(pm::kProtoNoMail)) {
      if (!macros(pm::Command::Mail,
                  {{"i", in_.queue_id}, {"{auth_authen}", in_.auth_user}, {"{mail_addr}", in_.sender}}))
        return false;
      if (exchange(pm::encode_mail(in_.sender), pm::kProtoNrMail) == Step::Stop) return false;
    }
    if (!skips(pm::kProtoNoRcpt)) {
      for (const auto& rcpt : in_.rcpts) {
        if (!macros(pm::Command::Rcpt, {{"{rcpt_addr}", rcpt}})) return false;
        // A recipient refused by the milter cannot be refused alone after
        // DATA: the whole message takes that verdict.
        if (exchange(pm::encode_rcpt(rcpt), pm::kProtoNrRcpt) == Step::Stop) return false;
      }
    }
    if (version_ >= 4 && !skips(pm::kProtoNoData)) {
      if (!macros(pm::Command::Data, {{"i", in_.queue_id}})) return false;
      if (exchange(pm::encode_data(), pm::kProtoNrData) == Step::Stop) return false;
    }
    std::size_t body_start = 0;
    auto fields = split_header(in_.message, body_start);
    if (!skips(pm::kProtoNoHdrs)) {
      for (const auto& f : fields) {
        std::string value = crlf_to_lf(f.value);
        // Without SMFIP_HDR_LEADSPC the milter gets the value as Sendmail
        // stores it: the blanks after the colon removed.
        if (!leading_space_) value.erase(0, std::min(value.find_first_not_of(" \t"), value.size()));
        if (exchange(pm::encode_header(f.name, value), pm::kProtoNrHdr) == Step::Stop) return false;
      }
    }
    if (!skips(pm::kProtoNoEoh)) {
      if (!macros(pm::Command::Eoh, {{"i", in_.queue_id}})) return false;
      if (exchange(pm::encode_eoh(), pm::kProtoNrEoh) == Step::Stop) return false;
    }
    if (!skips(pm::kProtoNoBody)) {
      std::string_view body = in_.message.substr(body_start);
      while (!body.empty()) {
        std::string_view chunk = body.substr(0, pm::kMaxBodyChunk);
        body.remove_prefix(chunk.size());
        Step s = exchange(pm::encode_body(chunk), pm::kProtoNrBody, true);
        if (s == Step::Stop) return false;
        if (s == Step::SkipBody) break;
      }
    }
    if (!macros(pm::Command::BodyEob, {{"i", in_.queue_id}})) return false;
    // Accept or continue at the end both mean accept; the rest set the verdict.
    exchange(pm::encode_eob(), 0);
    return true;
  }

 private:
  const config::Milter& m_;
  const MilterInput& in_;
  Fd fd_;
  std::string pending_;  // macros waiting for their command
  pm::ReplyDecoder decoder_{kMaxPacket};
  Clock::time_point deadline_{};
  MilterOutcome out_;
  uint32_t version_ = 0, protocol_ = 0;
  bool leading_space_ = false;
  bool quarantined_ = false, verdict_set_ = false;
};

// A header value as it goes into the message: line breaks made CRLF, each
// continuation line starting with white space (a milter cannot start a new
// field through a value), no empty lines (they would end the header).
std::string fold_value(std::string_view value) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    char c = value[i];
    if (c == '\r' || c == '\n') {
      i += (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') ? 2 : 1;
      // Skip line breaks with nothing after them.
      std::size_t j = i;
      while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) ++j;
      if (j >= value.size() || value[j] == '\r' || value[j] == '\n') {
        i = j;
        continue;
      }
      out += "\r\n";
      if (value[i] != ' ' && value[i] != '\t') out.push_back('\t');
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

std::string field_text(std::string_view name, std::string_view value) {
  std::string v = fold_value(value);
  std::string out(name);
  out.push_back(':');
  if (!v.empty()) {
    out.push_back(' ');
    out += v;
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Bare LF made CRLF: the store keeps CRLF messages.
std::string crlf_body(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32);
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) out.push_back('\r');
    out.push_back(body[i]);
  }
  return out;
}

}  // namespace

MilterOutcome run_milter(const config::Milter& milter, const MilterInput& in) {
  MilterOutcome out = Conversation(milter, in).run();
  if (out.failed)
    spdlog::warn("milter failed milter={} queue={} error={}", log::quote(milter.name),
                 log::quote(in.queue_id), log::quote(out.error));
  return out;
}

std::string apply_milter_changes(std::string_view message, const MilterOutcome& outcome) {
  if (outcome.header_changes.empty() && !outcome.new_body) return std::string(message);
  // The header as a list of whole fields (folding kept, no final CRLF);
  // lines that are not fields stay in place with an empty name.
  struct Field {
    std::string name;
    std::string text;
  };
  std::vector<Field> fields;
  std::size_t pos = 0, body_start = message.size();
  bool has_separator = false;
  while (pos < message.size()) {
    std::size_t eol = message.find('\n', pos);
    std::size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
    std::string_view line = message.substr(pos, next - pos);
    if (line == "\r\n" || line == "\n") {
      body_start = pos;
      has_separator = true;
      break;
    }
    std::string_view bare = line;
    if (bare.ends_with("\r\n"))
      bare.remove_suffix(2);
    else if (bare.ends_with("\n"))
      bare.remove_suffix(1);
    if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().text += "\r\n";
      fields.back().text += bare;
    } else {
      auto colon = bare.find(':');
      fields.push_back(
          {colon == std::string_view::npos ? "" : std::string(bare.substr(0, colon)), std::string(bare)});
    }
    pos = next;
  }
  for (const auto& c : outcome.header_changes) {
    switch (c.kind) {
      case pm::HeaderChange::Kind::Add:
        fields.push_back({c.name, field_text(c.name, c.value)});
        break;
      case pm::HeaderChange::Kind::Insert: {
        std::size_t at = std::min<std::size_t>(c.index, fields.size());
        fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(at),
                      {c.name, field_text(c.name, c.value)});
        break;
      }
      case pm::HeaderChange::Kind::Change: {
        // 1-based among the fields of that name; 0 is taken as 1 (libmilter).
        uint32_t want = c.index == 0 ? 1 : c.index, seen = 0;
        auto it = fields.begin();
        for (; it != fields.end(); ++it)
          if (iequals(it->name, c.name) && ++seen == want) break;
        if (it == fields.end()) {
          // Past the last one: Sendmail and Postfix add the field instead.
          if (!c.value.empty()) fields.push_back({c.name, field_text(c.name, c.value)});
        } else if (c.value.empty()) {
          fields.erase(it);
        } else {
          it->text = field_text(it->name, c.value);
        }
        break;
      }
    }
  }
  std::string out;
  out.reserve(message.size() + 256);
  for (const auto& f : fields) {
    out += f.text;
    out += "\r\n";
  }
  if (outcome.new_body) {
    out += "\r\n";
    out += crlf_body(*outcome.new_body);
  } else if (has_separator) {
    out.append(message.substr(body_start));
  }
  return out;
}

}  // namespace mailfort::filter
