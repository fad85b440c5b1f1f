// MailStore: local delivery into per-user mailboxes (Q1). The only code that
// knows the on-disk layout: Maildir under
//   <data_dir>/mailboxes/<domain>/<user>/mail/{tmp,new,cur}
// with unique names "<time>.M<usec>P<pid>Q<seq>.<host>,S=<size>" as Dovecot
// and Courier write them (maildir_name.h), so standard tools read the
// mailboxes.
//
// deliver() writes one copy per mailbox into tmp/ and commits them through
// GroupCommit: when it returns ok every copy is durable and visible in new/.
// Blocking: call on the worker pool. Thread-safe.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace mailfort::store {

class GroupCommit;
struct RenameStep;

class MailStore {
 public:
  MailStore(std::string data_dir, std::string hostname, GroupCommit& commit);

  // Delivers `message` byte-for-byte (CRLF line ends as received, so IMAP
  // sizes equal file sizes) to every mailbox ("user@domain"). Errors: Temp
  // (disk full, I/O), Perm.
  Result<void> deliver(const std::vector<std::string>& mailboxes, std::string_view message);

  // The two halves of deliver(), for callers that commit several stores in
  // one GroupCommit transaction (local copies + queue file, all or nothing):
  // prepare() writes the tmp/ files and returns their rename steps;
  // delivered() updates quota usage after the commit succeeded.
  Result<std::vector<struct RenameStep>> prepare(const std::vector<std::string>& mailboxes,
                                                 std::string_view message);
  void delivered(const std::vector<std::string>& mailboxes, std::size_t size);

  // Bytes used by a mailbox (all its messages), for quota checks.
  Result<uint64_t> usage(const std::string& mailbox);

  // Called after every successful delivery with each mailbox, to wake the
  // IMAP/POP3 sessions watching it. Set once at start-up.
  void set_on_delivered(std::function<void(const std::string&)> fn) { on_delivered_ = std::move(fn); }

  // Usage changed by IMAP/POP3 (APPEND, COPY, EXPUNGE, DELE).
  void adjust_usage(const std::string& mailbox, int64_t delta);

  // Removes leftovers in tmp/ directories (crash during a delivery).
  void cleanup_tmp();

  std::string maildir_of(const std::string& mailbox) const;

 private:
  std::string data_dir_;
  std::string hostname_;  // maildir_host()
  GroupCommit& commit_;
  std::mutex mu_;
  std::unordered_map<std::string, uint64_t> usage_;  // cache, filled on first use
  std::function<void(const std::string&)> on_delivered_;
};

}  // namespace mailfort::store
