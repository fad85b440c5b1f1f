// CommandAssembler: puts one IMAP command together from its lines and
// literals, and enforces every size limit on it (CVE-2024-34055 class). A
// pure state machine: the session reads what it asks for (a line, or n
// literal bytes), feeds it in, and does what the answer says; it sends
// `reply` when there is one. The result is the text parse_command() reads:
// the lines joined by CRLF, every literal's bytes inline after its
// "{n}\r\n" marker, except APPEND's message literals (MULTIAPPEND, RFC 3502,
// and CATENATE's TEXT parts), which are cut out (and "{*}" left in each
// one's place, see kCutLiteral) so that a large message is in memory once.
//
// Limits: every byte of the command counts against `max_command`, except
// the message literals of APPEND (LiteralLimit::Message in the command
// table) when `message_literals` is on (after login): a literal too large
// for the command text becomes a message literal, each at most
// `max_message`, at most `max_messages` of them, `max_total` bytes
// together; one over those is refused as soon as it is announced, so that
// a MULTIAPPEND is stored whole or not at all. A refused synchronising literal
// is answered with a tagged NO and the session reads the next command (the
// client does not send it); a refused LITERAL+ (non-synchronising) one
// cannot be skipped in step, so the answer is BYE (RFC 7888 4).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::imap {

struct AssemblerLimits {
  uint64_t max_command = 0;       // lines and literals but APPEND's message literal
  uint64_t max_message = 0;       // APPEND's message literal
  bool message_literals = false;  // whether APPEND may carry one beyond max_command
  uint32_t max_messages = 1;      // message literals in one APPEND (MULTIAPPEND, CATENATE)
  uint64_t max_total = 0;         // their bytes together; 0: max_message
};

// What is left in the text in place of a message literal's "{n}" marker
// (after an optional "~"): the parser takes the next of
// AssembledCommand::messages for it. A client cannot produce it: the
// assembler ends a command at a line that does not end in a valid
// marker, and it is never inside a literal the parser skips by length.
inline constexpr std::string_view kCutLiteral = "{*}";

// One complete command.
struct AssembledCommand {
  std::string text;                   // for parse_command()
  std::vector<std::string> messages;  // APPEND's message literals, in order, cut out of `text`
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
    SecondMessage,    // more than max_messages message literals in one APPEND
    TotalTooLarge,    // message literals over max_total together
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
  bool in_message_ = false;        // the literal being read is a message literal
  uint64_t message_size_ = 0;      // bytes of message literals announced so far
  struct Cut {
    std::size_t marker_at, message_at;  // where its "{n}" and its bytes are in text_
    uint64_t size;
  };
  std::vector<Cut> cuts_;
  uint64_t literal_left_ = 0;
};

// The tag to answer a command line with: its first word, or "*" when that
// is not a usable tag (RFC 9051: tag = 1*<any ASTRING-CHAR except "+">).
std::string reply_tag(std::string_view line);

}  // namespace mailfort::proto::imap
