// GroupCommit: makes files durable in batches (S9: nothing is acknowledged
// before it is on stable storage) without one fsync per message.
//
// A transaction writes its files into tmp/ directories (no fsync), then
// submits a Batch of "rename tmp -> final" steps and waits. One committer
// thread takes every batch pending at that moment and runs:
//   syncfs()            data of all tmp files durable
//   rename() each step  messages become visible (new/, queue/)
//   syncfs()            the renames durable
// and then completes them all. Under load, many transactions share the two
// syncfs calls (group commit), and the second syncfs of one batch is the
// first of the next (it makes the renames of one and the data of the other
// durable); alone, a transaction pays exactly two.
// A crash before the final syncfs leaves at worst un-acknowledged messages
// visible; a crash before the renames leaves only tmp/ files, which
// cleanup_tmp() removes at start-up: a half-written file is never visible.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"

namespace mailfort::store {

struct RenameStep {
  std::string from;  // a file in some tmp/ directory
  std::string to;    // its final name (same filesystem)
};

class GroupCommit {
 public:
  using Done = std::function<void(Result<void>)>;

  // `root` is any path on the filesystem to sync (the data directory).
  static Result<std::unique_ptr<GroupCommit>> start(const std::string& root);
  ~GroupCommit();  // finishes pending batches, then stops the thread

  // Queues the steps; `done` runs on the committer thread once they are
  // durable (or failed: then none of the steps that failed is visible).
  void submit(std::vector<RenameStep> steps, Done done);
  // Blocking convenience for worker threads.
  Result<void> commit(std::vector<RenameStep> steps);

  struct Stats {
    uint64_t batches = 0;
    uint64_t transactions = 0;
  };
  Stats stats() const;

 private:
  GroupCommit() = default;
  void loop();

  int root_fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Pending {
    std::vector<RenameStep> steps;
    Done done;
  };
  std::vector<Pending> pending_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace mailfort::store
