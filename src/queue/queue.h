// Outbound queue (Q2): durable storage of messages for remote recipients
// (forwarding aliases, submission to the world). The delivery engine comes
// later; the format and its durability are fixed here.
//
// Layout under <data_dir>/queue/:
//   tmp/<id>       being written (invisible; removed at start-up)
//   active/<id>    committed, waiting for delivery
// A queue file is self-describing:
//   "MAILFORT-QUEUE 1\n" <one line of JSON envelope> "\n" <message bytes>
// The envelope holds id, sender, recipients (each with state: pending,
// delivered, failed; attempts; last error), arrival time, next attempt time.
// Committed through GroupCommit like local delivery: when enqueue() returns
// ok the file is durable. Blocking: call on the worker pool.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mailfort::store {
class GroupCommit;
struct RenameStep;
}  // namespace mailfort::store

namespace mailfort::queue {

struct Recipient {
  std::string address;
  enum class State { Pending, Delivered, Failed } state = State::Pending;
  uint32_t attempts = 0;
  std::string last_error;
};

struct Envelope {
  std::string id;      // unique, filename-safe
  std::string sender;  // "" = null sender
  std::vector<Recipient> recipients;
  int64_t arrival = 0;       // unix seconds
  int64_t next_attempt = 0;  // unix seconds
  bool smtputf8 = false;
  bool eight_bit = false;
  std::string authenticated_user;  // submission: who sent it ("" on MX)
  bool delay_warned = false;       // the delay notice went out (sent once)
};

class Queue {
 public:
  Queue(std::string data_dir, store::GroupCommit& commit);

  // Writes and commits a new queue file; returns its id.
  Result<std::string> enqueue(Envelope envelope, std::string_view message);

  // enqueue() in two halves for a combined GroupCommit transaction: writes
  // the tmp file (assigning envelope.id) and returns its rename step.
  Result<store::RenameStep> prepare(Envelope& envelope, std::string_view message);

  // Reads a queued message (envelope, and the message when wanted).
  Result<Envelope> read_envelope(const std::string& id);
  Result<std::string> read_message(const std::string& id);
  Result<std::vector<std::string>> list();
  // Held messages (queue/hold/): kept, never attempted until released.
  Result<std::vector<std::string>> list_held();

  // Rewrites a queued message's envelope (delivery progress), durably and
  // atomically: the old or the new version survives a crash, never a mix.
  Result<void> update(const Envelope& envelope);
  // Removes a message (all recipients final, or `queue delete`).
  Result<void> remove(const std::string& id);
  Result<void> hold(const std::string& id);
  Result<void> release(const std::string& id);
  // Makes every active message due now (`queue flush`).
  Result<std::size_t> flush();
  // Reads a held message's envelope.
  Result<Envelope> read_held_envelope(const std::string& id);

  // Removes a finished message durably (the removal is synced before it
  // returns): a crash afterwards cannot bring it back for another attempt.
  Result<void> complete(const std::string& id);

  // Removes tmp/ leftovers of a crash.
  void cleanup_tmp();

  // The delivery engine learns about new messages at once: enqueue() calls
  // the listener after the commit; code that commits prepare()d files
  // itself calls notify(). The listener must be quick (it posts).
  void set_listener(std::function<void(const std::string& id)> listener);
  void notify(const std::string& id);

 private:
  std::string data_dir_;
  store::GroupCommit& commit_;
  std::mutex listener_mu_;
  std::function<void(const std::string&)> listener_;
};

// Serialisation, exposed for tests and the queue CLI.
std::string encode_envelope(const Envelope& e);
Result<Envelope> decode_envelope(std::string_view json_line);

}  // namespace mailfort::queue
