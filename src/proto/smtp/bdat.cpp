#include "proto/smtp/bdat.h"

#include <charconv>

#include "base/text.h"

namespace mailfort::proto::smtp {

std::optional<BdatArgs> parse_bdat_args(std::string_view args) {
  BdatArgs out;
  auto sp = args.find(' ');
  std::string_view size_text = args.substr(0, sp);
  if (sp != std::string_view::npos) {
    if (!iequals(args.substr(sp + 1), "LAST")) return std::nullopt;
    out.last = true;
  }
  auto [ptr, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), out.size);
  if (size_text.empty() || ec != std::errc() || ptr != size_text.data() + size_text.size())
    return std::nullopt;
  return out;
}

void ChunkReceiver::begin_chunk(const BdatArgs& args, bool has_mail, bool has_recipients) {
  chunk_size_ = remaining_ = args.size;
  last_ = args.last;
  has_mail_ = has_mail;
  keeping_ = has_mail && has_recipients;
  if (keeping_) in_use_ = true;
}

ChunkReceiver::Admit ChunkReceiver::admit(std::size_t n) {
  remaining_ -= std::min<uint64_t>(n, remaining_);
  if (!keeping_ || failure_ != Failure::None) return Admit::Skip;
  if (size_ + n > max_size_) {
    failure_ = Failure::TooBig;
    return Admit::DropMessage;
  }
  size_ += n;
  return Admit::Keep;
}

ChunkReceiver::Outcome ChunkReceiver::end_chunk() {
  if (!has_mail_) return Outcome::NeedMail;
  if (!keeping_) return Outcome::NoRecipients;
  Outcome outcome = failure_ == Failure::TooBig        ? Outcome::TooBig
                    : failure_ == Failure::OutOfMemory ? Outcome::OutOfMemory
                    : last_                            ? Outcome::Complete
                                                       : Outcome::ChunkAccepted;
  if (outcome != Outcome::ChunkAccepted) reset();  // the transaction ends
  return outcome;
}

void ChunkReceiver::reset() {
  size_ = 0;
  in_use_ = false;
  failure_ = Failure::None;
}

}  // namespace mailfort::proto::smtp
