#include "proto/imap/command_assembler.h"

#include <gtest/gtest.h>

#include "proto/imap/command.h"

using namespace std::literals;

namespace mailfort::proto::imap {
namespace {

using Next = CommandAssembler::Next;
using Refusal = CommandAssembler::Refusal;

// 4 KiB per command, 16 KiB per APPENDed message, as after login.
constexpr AssemblerLimits kLoggedIn{4096, 16384, true};
// Before login: no message literals.
constexpr AssemblerLimits kBeforeLogin{4096, 16384, false};

// What the session did with one client byte stream.
struct Outcome {
  Next end = Next::Line;  // Complete, Refused, or Line/Literal when the input ran out
  AssembledCommand command;
  Refusal refusal = Refusal::None;
  bool close = false;
  std::string replies;              // everything the assembler asked to send
  std::size_t consumed = 0;         // input bytes read
  std::vector<bool> message_reads;  // per literal step: counted as message bytes
};

// Feeds `input` as the session does: CRLF lines to line(), literal bytes
// `chunk` at a time to literal().
Outcome feed(CommandAssembler& a, std::string_view input, std::size_t chunk = SIZE_MAX) {
  Outcome o;
  CommandAssembler::Step step;
  std::size_t pos = 0;
  while (true) {
    if (!step.reply.empty()) o.replies += step.reply;
    if (step.next == Next::Complete) {
      o.end = Next::Complete;
      o.command = a.take();
      break;
    }
    if (step.next == Next::Refused) {
      o.end = Next::Refused;
      o.refusal = step.refusal;
      o.close = step.close;
      break;
    }
    if (step.next == Next::Line) {
      auto crlf = input.find("\r\n", pos);
      if (crlf == std::string_view::npos) {
        o.end = Next::Line;
        break;
      }
      step = a.line(input.substr(pos, crlf - pos));
      pos = crlf + 2;
      continue;
    }
    // Literal
    o.message_reads.push_back(step.message);
    std::size_t want = std::min<uint64_t>(a.literal_left(), chunk);
    if (want > 0 && pos >= input.size()) {
      o.end = Next::Literal;
      break;
    }
    want = std::min(want, input.size() - pos);
    step = a.literal(input.substr(pos, want));
    pos += want;
  }
  o.consumed = pos;
  return o;
}

Outcome feed(AssemblerLimits limits, std::string_view input, std::size_t chunk = SIZE_MAX) {
  CommandAssembler a(limits);
  return feed(a, input, chunk);
}

TEST(CommandAssembler, OneLine) {
  auto o = feed(kLoggedIn, "a NOOP\r\nb NOOP\r\n");
  EXPECT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.text, "a NOOP");
  EXPECT_TRUE(o.command.messages.empty());
  EXPECT_EQ(o.consumed, 8u);  // the next command stays unread
  EXPECT_EQ(o.replies, "");
}

TEST(CommandAssembler, SynchronisingLiteralsGetContinuations) {
  auto o = feed(kBeforeLogin, "a LOGIN {5}\r\nalice {3}\r\npwd\r\n");
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.text, "a LOGIN {5}\r\nalice {3}\r\npwd");
  EXPECT_EQ(o.replies, "+ OK\r\n+ OK\r\n");
  auto parsed = parse_command(o.command.text);
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(parsed.command->args, (std::vector<std::string>{"alice", "pwd"}));
}

TEST(CommandAssembler, NonSynchronisingLiteralsDoNot) {
  // LITERAL+ "{n+}": no continuation.
  auto o = feed(kBeforeLogin, "a LOGIN {5+}\r\nalice {3+}\r\npwd\r\n");
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.text, "a LOGIN {5+}\r\nalice {3+}\r\npwd");
  EXPECT_EQ(o.replies, "");
  // literal8 "~{n}" is read the same way, NUL and all.
  o = feed(kBeforeLogin, "a SEARCH TEXT ~{3+}\r\nx\0y\r\n"sv);
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.text, "a SEARCH TEXT ~{3+}\r\nx\0y"sv);
}

TEST(CommandAssembler, LiteralsMayHoldCrlfAndBraces) {
  // Inside a literal nothing is a line end or a marker.
  std::string input = "a LOGIN {12}\r\nx\r\ny {3}\r\nzz {1+}\r\nq\r\n";
  auto o = feed(kBeforeLogin, input);
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.text, "a LOGIN {12}\r\nx\r\ny {3}\r\nzz {1+}\r\nq");
  EXPECT_EQ(o.replies, "+ OK\r\n");
}

TEST(CommandAssembler, EmptyLiteral) {
  auto o = feed(kBeforeLogin, "a LOGIN {0}\r\n {0+}\r\n\r\n");
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.text, "a LOGIN {0}\r\n {0+}\r\n");
  auto parsed = parse_command(o.command.text);
  ASSERT_TRUE(parsed.command) << parsed.error.message;
  EXPECT_EQ(parsed.command->args, (std::vector<std::string>{"", ""}));
}

TEST(CommandAssembler, ByteAtATimeEqualsWhole) {
  std::string message(6000, 'm');
  std::vector<std::string> inputs = {
      "a LOGIN {5}\r\nalice {3+}\r\npwd\r\n",
      "a APPEND INBOX (\\Seen) {6000+}\r\n" + message + "\r\n",
      "a APPEND INBOX {6000}\r\n" + message + " {1}\r\n",
      "a SELECT {5000}\r\n",
  };
  for (const auto& input : inputs) {
    auto whole = feed(kLoggedIn, input);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
      auto piecewise = feed(kLoggedIn, input, chunk);
      EXPECT_EQ(piecewise.end, whole.end) << input.substr(0, 40);
      EXPECT_EQ(piecewise.command.text, whole.command.text);
      EXPECT_EQ(piecewise.command.messages, whole.command.messages);
      EXPECT_EQ(piecewise.replies, whole.replies);
      EXPECT_EQ(piecewise.refusal, whole.refusal);
      EXPECT_EQ(piecewise.consumed, whole.consumed);
    }
  }
}

TEST(CommandAssembler, PrefixesNeverComplete) {
  // Every proper prefix of a command leaves the assembler waiting for more,
  // in the right place; none is refused or complete.
  std::string input = "a APPEND INBOX {5000+}\r\n" + std::string(5000, 'x') + "\r\n";
  for (std::size_t i = 0; i < input.size(); i += (i < 40 || i > input.size() - 40) ? 1 : 97) {
    auto o = feed(kLoggedIn, std::string_view(input).substr(0, i));
    EXPECT_TRUE(o.end == Next::Line || o.end == Next::Literal) << i;
    EXPECT_EQ(o.end == Next::Literal, i >= 24 && i < 5024) << i;
  }
  EXPECT_EQ(feed(kLoggedIn, input).end, Next::Complete);
}

TEST(CommandAssembler, AppendMessageLiteralIsCutOut) {
  std::string message = "Subject: x\r\n\r\n" + std::string(6000, 'b');  // over max_command
  std::string input =
      "a APPEND INBOX (\\Seen) {" + std::to_string(message.size()) + "}\r\n" + message + "\r\n";
  auto o = feed(kLoggedIn, input);
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.replies, "+ OK\r\n");
  EXPECT_EQ(o.command.messages.size(), 1u);
  EXPECT_EQ(o.command.messages[0], message);
  EXPECT_EQ(o.command.text, "a APPEND INBOX (\\Seen) {*}\r\n");
  ASSERT_EQ(o.message_reads.size(), 1u);
  EXPECT_TRUE(o.message_reads[0]);  // its bytes count against the memory budget
  auto parsed = parse_command(o.command.text);
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(parsed.command->kind, CommandKind::Append);
  // Any case; LITERAL+ too.
  o = feed(kLoggedIn, "a append INBOX {6000+}\r\n" + std::string(6000, 'c') + "\r\n");
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.messages.size(), 1u);
  EXPECT_EQ(o.command.text, "a append INBOX {*}\r\n");
}

TEST(CommandAssembler, SmallAppendLiteralStaysInline) {
  // A literal that fits the command limit is command text, APPEND or not.
  auto o = feed(kLoggedIn, "a APPEND INBOX {5}\r\nhello\r\n");
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_TRUE(o.command.messages.empty());
  EXPECT_EQ(o.command.text, "a APPEND INBOX {5}\r\nhello");
  EXPECT_FALSE(o.message_reads.at(0));
}

TEST(CommandAssembler, CommandLimitIsExact) {
  // Text so far plus the literal may be max_command bytes, not one more.
  std::string head = "a LOGIN {4000}";
  std::size_t fits = 4096 - head.size();
  auto o = feed(kLoggedIn, "a LOGIN {" + std::to_string(fits) + "}\r\n");
  EXPECT_EQ(o.end, Next::Literal);
  o = feed(kLoggedIn, "a LOGIN {" + std::to_string(fits + 1) + "}\r\n");
  EXPECT_EQ(o.end, Next::Refused);
  EXPECT_EQ(o.refusal, Refusal::LiteralTooLarge);
  // A line of exactly max_command bytes is fine, one more is not.
  o = feed(kLoggedIn, "a NOOP " + std::string(4096 - 7, 'x') + "\r\n");
  EXPECT_EQ(o.end, Next::Complete);
  o = feed(kLoggedIn, "a NOOP " + std::string(4096 - 6, 'x') + "\r\n");
  EXPECT_EQ(o.refusal, Refusal::CommandTooLong);
}

TEST(CommandAssembler, LiteralTooLarge) {
  // Synchronising: a tagged NO, and the client does not send it.
  auto o = feed(kLoggedIn, "a SELECT {5000}\r\n");
  EXPECT_EQ(o.end, Next::Refused);
  EXPECT_EQ(o.refusal, Refusal::LiteralTooLarge);
  EXPECT_EQ(o.replies, "a NO [TOOBIG] Literal too large\r\n");
  EXPECT_FALSE(o.close);
  // LITERAL+: the client sends it anyway, so BYE.
  o = feed(kLoggedIn, "a SELECT {5000+}\r\n");
  EXPECT_EQ(o.replies, "* BYE [TOOBIG] Literal too large\r\n");
  EXPECT_TRUE(o.close);
  // Before login APPEND's literal is command text like any other.
  o = feed(kBeforeLogin, "a APPEND INBOX {5000}\r\n");
  EXPECT_EQ(o.replies, "a NO [TOOBIG] Literal too large\r\n");
  // Literals add up: the second one is over the limit with the first.
  o = feed(kBeforeLogin, "a LOGIN {3000+}\r\n" + std::string(3000, 'u') + " {2000}\r\n");
  EXPECT_EQ(o.replies, "a NO [TOOBIG] Literal too large\r\n");
  // UID APPEND is no APPEND.
  o = feed(kLoggedIn, "a UID APPEND INBOX {5000}\r\n");
  EXPECT_EQ(o.refusal, Refusal::LiteralTooLarge);
}

TEST(CommandAssembler, MessageTooLarge) {
  auto o = feed(kLoggedIn, "a APPEND INBOX {16385}\r\n");
  EXPECT_EQ(o.refusal, Refusal::MessageTooLarge);
  EXPECT_EQ(o.replies, "a NO [TOOBIG] Message too large\r\n");
  EXPECT_FALSE(o.close);
  o = feed(kLoggedIn, "a APPEND INBOX {16385+}\r\n");
  EXPECT_EQ(o.replies, "* BYE [TOOBIG] Message too large\r\n");
  EXPECT_TRUE(o.close);
  o = feed(kLoggedIn, "a APPEND INBOX {16384}\r\n");
  EXPECT_EQ(o.end, Next::Literal);
}

TEST(CommandAssembler, MessageLiteralOverTheCountRefusedWhenAnnounced) {
  // One message literal allowed: a second one is refused at its marker,
  // before a byte of it is read; a small literal after it is command text.
  std::string message(6000, 'm');
  auto o = feed(kLoggedIn, "a APPEND INBOX {6000+}\r\n" + message + " {6000}\r\n" + message + "\r\n");
  EXPECT_EQ(o.refusal, Refusal::SecondMessage);
  EXPECT_EQ(o.replies, "a NO [LIMIT] Too many messages in one APPEND\r\n");
  EXPECT_FALSE(o.close);
  EXPECT_EQ(o.consumed, 24u + 6000u + 9u);
  o = feed(kLoggedIn, "a APPEND INBOX {6000+}\r\n" + message + " {6000+}\r\nx\r\n");
  EXPECT_EQ(o.replies, "* BYE [LIMIT] Too many messages in one APPEND\r\n");
  EXPECT_TRUE(o.close);
  o = feed(kLoggedIn, "a APPEND INBOX {6000+}\r\n" + message + " {1+}\r\nx\r\n");
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.text, "a APPEND INBOX {*}\r\n {1+}\r\nx");
}

// MULTIAPPEND: up to 3 messages of 16 KiB, 20000 bytes together.
constexpr AssemblerLimits kMulti{4096, 16384, true, 3, 20000};

TEST(CommandAssembler, MultiAppendCutsOutEveryMessage) {
  std::string m1(6000, '1'), m2(5000, '2'), m3(7000, '3');
  std::string input = "a APPEND INBOX {6000+}\r\n" + m1 + " (\\Seen) {5000}\r\n" + m2 +
                      " CATENATE (TEXT {3}\r\nabc TEXT ~{7000+}\r\n" + m3 + ")\r\n";
  auto whole = feed(kMulti, input);
  ASSERT_EQ(whole.end, Next::Complete);
  EXPECT_EQ(whole.command.text,
            "a APPEND INBOX {*}\r\n (\\Seen) {*}\r\n CATENATE (TEXT {3}\r\nabc TEXT ~{*}\r\n)");
  EXPECT_EQ(whole.command.messages, (std::vector<std::string>{m1, m2, m3}));
  EXPECT_EQ(whole.replies, "+ OK\r\n+ OK\r\n");
  for (std::size_t chunk : {std::size_t{1}, std::size_t{999}}) {
    auto piecewise = feed(kMulti, input, chunk);
    EXPECT_EQ(piecewise.command.text, whole.command.text);
    EXPECT_EQ(piecewise.command.messages, whole.command.messages);
  }
  auto parsed = parse_command(whole.command.text);
  ASSERT_TRUE(parsed.command) << parsed.error.message;
  auto& c = *parsed.command;
  ASSERT_EQ(c.appends.size(), 3u);
  EXPECT_EQ(c.appends[0].cut, 0);
  EXPECT_EQ(c.appends[1].cut, 1);
  EXPECT_EQ(c.appends[1].flags, (std::vector<std::string>{"\\Seen"}));
  ASSERT_TRUE(c.appends[2].catenate);
  ASSERT_EQ(c.appends[2].parts.size(), 2u);
  EXPECT_EQ(c.appends[2].parts[0].data, "abc");
  EXPECT_EQ(c.appends[2].parts[1].cut, 2);
  auto messages = whole.command.messages;
  ASSERT_TRUE(attach_cut_literals(c, messages));
  EXPECT_EQ(c.appends[0].literal, m1);
  EXPECT_EQ(c.appends[1].literal, m2);
  EXPECT_EQ(c.appends[2].parts[1].data, m3);
}

TEST(CommandAssembler, MultiAppendLimits) {
  std::string m(6000, 'm');
  // A fourth message literal.
  auto o = feed(kMulti, "a APPEND INBOX {4500+}\r\n" + std::string(4500, 'x') + " {4500+}\r\n" +
                            std::string(4500, 'x') + " {4500+}\r\n" + std::string(4500, 'x') + " {4500}\r\n");
  EXPECT_EQ(o.refusal, Refusal::SecondMessage);
  EXPECT_EQ(o.replies, "a NO [LIMIT] Too many messages in one APPEND\r\n");
  // Over the total: refused at the marker, nothing stored (the command is gone).
  o = feed(kMulti, "a APPEND INBOX {16000+}\r\n" + std::string(16000, 'x') + " {5000}\r\n");
  EXPECT_EQ(o.refusal, Refusal::TotalTooLarge);
  EXPECT_EQ(o.replies, "a NO [TOOBIG] Messages too large together\r\n");
  // One over max_message.
  o = feed(kMulti, "a APPEND INBOX {6000+}\r\n" + m + " {16385}\r\n");
  EXPECT_EQ(o.refusal, Refusal::MessageTooLarge);
}

TEST(CommandAssembler, MessageDoesNotCountAgainstTheCommandLimit) {
  std::string message(10000, 'm');
  std::string tail = " " + std::string(4000, 't');  // with the head, under 4 KiB without the message
  auto o = feed(kLoggedIn, "a APPEND INBOX {10000+}\r\n" + message + tail + "\r\n");
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.text, "a APPEND INBOX {*}\r\n" + tail);
  // But the rest of the command does.
  o = feed(kLoggedIn, "a APPEND INBOX {10000+}\r\n" + message + tail + std::string(100, 't') + "\r\n");
  EXPECT_EQ(o.refusal, Refusal::CommandTooLong);
}

TEST(CommandAssembler, CommandTooLongIsBadAndBye) {
  auto o = feed(kLoggedIn, "a NOOP " + std::string(5000, 'x') + "\r\n");
  EXPECT_EQ(o.refusal, Refusal::CommandTooLong);
  EXPECT_EQ(o.replies, "* BAD [TOOBIG] Command too long\r\n* BYE Command too long\r\n");
  EXPECT_TRUE(o.close);
}

TEST(CommandAssembler, BadLinesAnsweredWithTheCommandsTag) {
  CommandAssembler a(kLoggedIn);
  auto step = a.bad_line(CommandAssembler::LineProblem::TooLong, "a7 NOOP xxxxxxxx");
  EXPECT_EQ(step.next, Next::Refused);
  EXPECT_EQ(step.refusal, Refusal::LineTooLong);
  EXPECT_EQ(step.reply, "a7 BAD [TOOBIG] Command line too long\r\n");
  EXPECT_FALSE(step.close);
  step = a.bad_line(CommandAssembler::LineProblem::NoCrlf, "b NOOP");
  EXPECT_EQ(step.reply, "b BAD Lines must end with CRLF\r\n");
  step = a.bad_line(CommandAssembler::LineProblem::NoCrlf, "+x NOOP");
  EXPECT_EQ(step.reply, "* BAD Lines must end with CRLF\r\n");
  // A bad continuation line: the tag is the command's, not the line's.
  ASSERT_EQ(a.line("c LOGIN {3+}").next, Next::Literal);
  ASSERT_EQ(a.literal("abc").next, Next::Line);
  step = a.bad_line(CommandAssembler::LineProblem::TooLong, " zzzz");
  EXPECT_EQ(step.reply, "c BAD [TOOBIG] Command line too long\r\n");
  // And the assembler starts over.
  EXPECT_EQ(a.line("d NOOP").next, Next::Complete);
  EXPECT_EQ(a.take().text, "d NOOP");
}

TEST(CommandAssembler, StartsOverAfterEachCommand) {
  CommandAssembler a(kLoggedIn);
  std::string message(6000, 'm');
  auto o = feed(a, "a APPEND INBOX {6000+}\r\n" + message + "\r\n");
  ASSERT_EQ(o.command.messages.size(), 1u);
  // The next command is an APPEND again, with its own message.
  o = feed(a, "b APPEND INBOX {6000+}\r\n" + message + "\r\n");
  ASSERT_EQ(o.end, Next::Complete);
  EXPECT_EQ(o.command.messages.size(), 1u);
  EXPECT_EQ(o.command.text, "b APPEND INBOX {*}\r\n");
  // A non-APPEND command after an APPEND gets no message literal.
  o = feed(a, "c SELECT {6000}\r\n");
  EXPECT_EQ(o.refusal, Refusal::LiteralTooLarge);
  // And after a refusal.
  o = feed(a, "d NOOP\r\n");
  EXPECT_EQ(o.command.text, "d NOOP");
}

TEST(CommandAssembler, ReplyTag) {
  EXPECT_EQ(reply_tag("a1 NOOP"), "a1");
  EXPECT_EQ(reply_tag("a1"), "a1");
  EXPECT_EQ(reply_tag(""), "*");
  EXPECT_EQ(reply_tag(" NOOP"), "*");
  EXPECT_EQ(reply_tag("a+b NOOP"), "*");
  EXPECT_EQ(reply_tag("a{1} NOOP"), "*");
  EXPECT_EQ(reply_tag("a\x01 NOOP"), "*");
  EXPECT_EQ(reply_tag(std::string(65, 't') + " NOOP"), "*");
  EXPECT_EQ(reply_tag(std::string(64, 't') + " NOOP"), std::string(64, 't'));
}

}  // namespace
}  // namespace mailfort::proto::imap
