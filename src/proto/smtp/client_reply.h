// SMTP client side: assembling a server's (possibly multi-line) reply from
// lines (RFC 5321 4.2.1) and reading its enhanced status code (RFC 3463).
// Pure; faces untrusted input from remote servers.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::smtp {

struct ServerReply {
  int code = 0;                    // 220, 250, 451 ...
  std::string enhanced;            // "2.1.0" when the server sent one, else ""
  std::vector<std::string> lines;  // texts without code and separator
  // "451 4.3.0 text; more" for logs, bounces and the queue.
  std::string summary() const;
  bool permanent() const { return code >= 500; }
};

class ReplyAssembler {
 public:
  enum class Status { NeedMore, Done, Error };
  // Feeds one line (without CRLF). Error on malformed lines, mixed codes or
  // more than `max_lines` lines.
  Status feed(std::string_view line, std::size_t max_lines = 1000);
  // The complete reply after Done; resets for the next one.
  ServerReply take();

 private:
  ServerReply cur_;
};

// EHLO keywords (upper-cased) and their parameters from a 250 reply.
struct Extensions {
  bool starttls = false, pipelining = false, eightbitmime = false, smtputf8 = false, chunking = false,
       enhancedstatuscodes = false;
  std::optional<unsigned long long> size;  // SIZE limit, 0 = none declared
};
Extensions parse_ehlo(const ServerReply& reply);

}  // namespace mailfort::proto::smtp
