// CommandAssembler: puts one IMAP command together from its lines and
// literals, and enforces every size limit on it (CVE-2024-34055 class). A
// pure state machine: the session reads what it asks for (a line, or n
// literal bytes), feeds it in, and does what the answer says; it sends
// `reply` when there is one. The result is the text parse_command() reads:
// the lines joined by CRLF, every literal's bytes inline after its
// "{n}\r\n" marker, except APPEND's message literal, which is cut out (and
// "{0}" left in its place) so that a large message is in memory once.
//
// Limits: every byte of the command counts against `max_command`, except
// one message literal of APPEND (LiteralLimit::Message in the command
// table) when `message_literals` is on (after login), which may be up to
// `max_message`. MULTIAPPEND is not offered, so a second message literal
// is refused as soon as it is announced. A refused synchronising literal
// is answered with a tagged NO and the session reads the next command (the
// client does not send it); a refused LITERAL+ (non-synchronising) one
// cannot be skipped in step, so the answer is BYE (RFC 7888 4).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace mailfort::proto::imap {

struct AssemblerLimits {
  uint64_t max_command = 0;       // lines and literals but APPEND's message literal
  uint64_t max_message = 0;       // APPEND's message literal
  bool message_literals = false;  // whether APPEND may carry one beyond max_command
};

// One complete command.
struct AssembledCommand {
  std::string text;          // for parse_command()
  std::string message;       // APPEND's message literal, cut out of `text`
  bool has_message = false;  // `text` holds "{0}" in its place
};

class CommandAssembler {
 public:
  enum class Next {
    Line,      // read a line and feed it to line() (or bad_line())
    Literal,   // send `reply` (the continuation, for a synchronising literal), then read `literal_size` bytes
    Complete,  // take() the command
    Refused,   // send `reply`; end the session if `close`, else read the next command
  };
  enum class Refusal {
    None,
    LineTooLong,      // one line over the line reader's limit: tagged BAD [TOOBIG]
    BadLineEnd,       // a line not ended by CRLF: tagged BAD
    CommandTooLong,   // the command's lines over max_command: BAD + BYE
    LiteralTooLarge,  // a literal over max_command
    MessageTooLarge,  // APPEND's message literal over max_message
    SecondMessage,    // a second message literal in one APPEND
  };
  struct Step {
    Next next = Next::Line;
    uint64_t literal_size = 0;
    bool synchronizing = false;  // the client waits for the continuation
    bool message = false;        // APPEND's message literal: its bytes count against the memory budget
    Refusal refusal = Refusal::None;
    std::string reply;  // complete response lines (CRLF-terminated) to send now, or empty
    bool close = false;
  };
  // What the line reader could not deliver as a line.
  enum class LineProblem { TooLong, NoCrlf };

  explicit CommandAssembler(AssemblerLimits limits) : limits_(limits) {}

  // A line without its CRLF.
  Step line(std::string_view line);
  // A line the reader dropped: `partial` is what it kept of it (its start).
  Step bad_line(LineProblem problem, std::string_view partial);
  // Bytes of the literal announced, at most literal_left() of them: Literal
  // while more are due, then Line (the rest of the line after it). Called
  // once with no bytes for "{0}".
  Step literal(std::string_view bytes);
  uint64_t literal_left() const { return literal_left_; }

  // The command, after Complete. After take() or a refusal the assembler
  // starts over with the next command.
  AssembledCommand take();

 private:
  Step refuse(Refusal why, bool non_sync);
  void reset();

  AssemblerLimits limits_;
  std::string text_;
  bool first_line_ = true;
  bool may_have_message_ = false;  // the command is APPEND and message literals are allowed
  bool have_message_ = false;      // its message literal has been announced
  bool in_message_ = false;        // the literal being read is it
  uint64_t message_size_ = 0;
  std::size_t marker_at_ = 0, message_at_ = 0;  // where its "{n}" and its bytes are in text_
  uint64_t literal_left_ = 0;
};

// The tag to answer a command line with: its first word, or "*" when that
// is not a usable tag (RFC 9051: tag = 1*<any ASTRING-CHAR except "+">).
std::string reply_tag(std::string_view line);

}  // namespace mailfort::proto::imap
