#include "proto/imap/command_assembler.h"

#include "proto/imap/command.h"

#include <algorithm>

namespace mailfort::proto::imap {
namespace {

// Whether the command starting `line` may carry a message literal (APPEND;
// not after UID): its second word, followed by a space, names such a
// command in the table.
bool is_message_command(std::string_view line) {
  auto sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  auto end = line.find(' ', sp + 1);
  if (end == std::string_view::npos) return false;
  const CommandSpec* spec = find_command(line.substr(sp + 1, end - sp - 1));
  return spec && spec->literal == LiteralLimit::Message;
}

std::string_view refusal_text(CommandAssembler::Refusal why) {
  using R = CommandAssembler::Refusal;
  switch (why) {
    case R::LineTooLong:
      return "BAD [TOOBIG] Command line too long";
    case R::BadLineEnd:
      return "BAD Lines must end with CRLF";
    case R::CommandTooLong:
      return "BAD [TOOBIG] Command too long";
    case R::LiteralTooLarge:
      return "[TOOBIG] Literal too large";
    case R::MessageTooLarge:
      return "[TOOBIG] Message too large";
    case R::SecondMessage:
      return "[LIMIT] Too many messages in one APPEND";
    case R::TotalTooLarge:
      return "[TOOBIG] Messages too large together";
    case R::None:
      break;
  }
  return "";
}

}  // namespace

std::string reply_tag(std::string_view line) {
  std::string_view tag = line.substr(0, line.find(' '));
  if (tag.empty() || tag.size() > 64) return "*";
  for (char ch : tag) {
    auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f || ch == '+' || ch == '(' || ch == ')' || ch == '{' || ch == '%' ||
        ch == '*' || ch == '"' || ch == '\\')
      return "*";
  }
  return std::string(tag);
}

CommandAssembler::Step CommandAssembler::line(std::string_view line) {
  Step step;
  text_ += line;
  if (text_.size() > limits_.max_command + message_size_) {
    // Somewhere inside a command we cannot resynchronise with.
    reset();
    step.next = Next::Refused;
    step.refusal = Refusal::CommandTooLong;
    step.reply = "* " + std::string(refusal_text(step.refusal)) + "\r\n* BYE Command too long\r\n";
    step.close = true;
    return step;
  }
  if (first_line_) {
    first_line_ = false;
    may_have_message_ = limits_.message_literals && is_message_command(text_);
  }
  auto lit = trailing_literal(line);
  if (!lit) {
    step.next = Next::Complete;
    return step;
  }
  bool fits_command = text_.size() - message_size_ + lit->size <= limits_.max_command;
  bool as_message = !fits_command && may_have_message_;
  if (!fits_command && !as_message) return refuse(Refusal::LiteralTooLarge, lit->non_sync);
  if (as_message) {
    uint64_t max_total = limits_.max_total ? limits_.max_total : limits_.max_message;
    if (cuts_.size() >= limits_.max_messages) return refuse(Refusal::SecondMessage, lit->non_sync);
    if (lit->size > limits_.max_message) return refuse(Refusal::MessageTooLarge, lit->non_sync);
    if (message_size_ + lit->size > max_total) return refuse(Refusal::TotalTooLarge, lit->non_sync);
    std::size_t marker_at = text_.size() - line.size() + line.rfind('{');
    text_ += "\r\n";
    cuts_.push_back({marker_at, text_.size(), lit->size});
    message_size_ += lit->size;
    // Address space for the whole literal now; memory only as its bytes
    // arrive.
    text_.reserve(text_.size() + lit->size + 1024);
  } else {
    text_ += "\r\n";
  }
  in_message_ = as_message;
  literal_left_ = lit->size;
  step.next = Next::Literal;
  step.literal_size = lit->size;
  step.synchronizing = !lit->non_sync;
  step.message = as_message;
  if (step.synchronizing) step.reply = "+ OK\r\n";
  return step;
}

CommandAssembler::Step CommandAssembler::bad_line(LineProblem problem, std::string_view partial) {
  Step step;
  step.next = Next::Refused;
  step.refusal = problem == LineProblem::TooLong ? Refusal::LineTooLong : Refusal::BadLineEnd;
  // The line has been drained through its end; answer with the command's
  // tag so that the client does not wait for it forever.
  std::string tag = reply_tag(text_.empty() ? partial : std::string_view(text_));
  step.reply = tag + " " + std::string(refusal_text(step.refusal)) + "\r\n";
  reset();
  return step;
}

CommandAssembler::Step CommandAssembler::literal(std::string_view bytes) {
  if (bytes.size() > literal_left_) bytes = bytes.substr(0, literal_left_);
  text_ += bytes;
  literal_left_ -= bytes.size();
  Step step;
  if (literal_left_ > 0) {
    step.next = Next::Literal;
    step.literal_size = literal_left_;
    step.message = in_message_;
    return step;
  }
  in_message_ = false;
  step.next = Next::Line;
  return step;
}

CommandAssembler::Step CommandAssembler::refuse(Refusal why, bool non_sync) {
  std::string tag = reply_tag(text_);
  reset();
  Step step;
  step.next = Next::Refused;
  step.refusal = why;
  if (non_sync) {
    // The client sends the literal anyway: we cannot stay in step.
    step.reply = "* BYE " + std::string(refusal_text(why)) + "\r\n";
    step.close = true;
  } else {
    step.reply = tag + " NO " + std::string(refusal_text(why)) + "\r\n";
  }
  return step;
}

AssembledCommand CommandAssembler::take() {
  AssembledCommand out;
  if (cuts_.empty()) {
    out.text = std::move(text_);
    reset();
    return out;
  }
  // Moves the message literals out of the text and leaves kCutLiteral in
  // each one's place, so that the parser never copies a large message.
  std::size_t from = 0;
  out.messages.reserve(cuts_.size());
  for (const Cut& cut : cuts_) {
    out.text.append(text_, from, cut.marker_at - from);
    out.text += kCutLiteral;
    out.text += "\r\n";
    from = cut.message_at + cut.size;
  }
  out.text.append(text_, from);
  for (std::size_t i = cuts_.size(); i-- > 0;) {
    // The last one without a copy, the others copied once.
    if (i == 0) {
      text_.erase(0, cuts_[0].message_at);
      text_.resize(cuts_[0].size);
      out.messages.push_back(std::move(text_));
    } else {
      out.messages.push_back(text_.substr(cuts_[i].message_at, cuts_[i].size));
      text_.resize(cuts_[i].marker_at);
    }
  }
  std::reverse(out.messages.begin(), out.messages.end());
  reset();
  return out;
}

void CommandAssembler::reset() {
  // Frees the text (maybe a whole message) now, not when the next command
  // has grown over it.
  std::string().swap(text_);
  *this = CommandAssembler(limits_);
}

}  // namespace mailfort::proto::imap
