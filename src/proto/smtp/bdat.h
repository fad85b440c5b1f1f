// BDAT (RFC 3030 CHUNKING) on the receiving side: the command's arguments
// and the accounting of one transaction's chunks. Pure state machine. The
// session reads exactly remaining() bytes after each BDAT command, so chunk
// content is never read as commands, even when the chunk is refused, and
// keeps the bytes admit() lets through; the memory they take is the
// session's (it reports a refusal with out_of_memory()). Past the size
// limit or out of memory the message is dropped but the chunks are still
// consumed to the end, and the transaction ends with the chunk's reply.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mailfort::proto::smtp {

struct BdatArgs {
  uint64_t size = 0;  // the chunk's octets, following the command line at once
  bool last = false;  // LAST: the message ends with this chunk
};

// "<size> [LAST]" (LAST in any case). nullopt: the session cannot know
// where the chunk ends and must close the connection.
std::optional<BdatArgs> parse_bdat_args(std::string_view args);

class ChunkReceiver {
 public:
  // What the session answers once a chunk is read.
  enum class Outcome {
    NeedMail,       // no transaction (503)
    NoRecipients,   // no accepted recipient (554)
    TooBig,         // the message passed max_size; the transaction ends (552)
    OutOfMemory,    // the session could not keep it; the transaction ends (452)
    ChunkAccepted,  // kept; more chunks to come (250)
    Complete,       // the LAST chunk is in: the message is complete; the transaction ends
  };
  // What the session does with bytes of the chunk.
  enum class Admit {
    Keep,         // append them to the message
    Skip,         // drop them (a refused chunk or an already dropped message)
    DropMessage,  // drop them and the message kept so far: it just passed max_size
  };

  explicit ChunkReceiver(uint64_t max_size) : max_size_(max_size) {}

  // A BDAT command: its chunk follows. Chunks are kept only while the
  // transaction has a sender and at least one accepted recipient.
  void begin_chunk(const BdatArgs& args, bool has_mail, bool has_recipients);
  // Bytes of this chunk still to read.
  uint64_t remaining() const { return remaining_; }
  // `n` (at most remaining()) more bytes of the chunk arrived.
  Admit admit(std::size_t n);
  // The session's memory budget refused bytes admit() let through.
  void out_of_memory() { failure_ = Failure::OutOfMemory; }
  // After the chunk's last byte (remaining() == 0).
  Outcome end_chunk();
  // The chunk size of the last BDAT command (for "n octets received").
  uint64_t chunk_size() const { return chunk_size_; }
  // BDAT was used in this transaction: RCPT and DATA are refused (RFC 3030 3).
  bool in_use() const { return in_use_; }
  // RSET, a new MAIL, the end of a transaction.
  void reset();

 private:
  enum class Failure { None, TooBig, OutOfMemory };

  uint64_t max_size_;
  uint64_t size_ = 0;  // message octets kept so far
  uint64_t chunk_size_ = 0;
  uint64_t remaining_ = 0;
  bool last_ = false;
  bool has_mail_ = false;
  bool keeping_ = false;  // this chunk belongs to a transaction with recipients
  bool in_use_ = false;
  Failure failure_ = Failure::None;
};

}  // namespace mailfort::proto::smtp
