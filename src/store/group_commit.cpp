#include "store/group_commit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <future>

namespace mailfort::store {

Result<std::unique_ptr<GroupCommit>> GroupCommit::start(const std::string& root) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::Perm, "cannot open " + root + ": " + std::strerror(errno));
  std::unique_ptr<GroupCommit> gc(new GroupCommit());
  gc->root_fd_ = fd;
  gc->thread_ = std::thread([g = gc.get()] { g->loop(); });
  return gc;
}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (root_fd_ >= 0) ::close(root_fd_);
}

void GroupCommit::submit(std::vector<RenameStep> steps, Done done) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back(Pending{std::move(steps), std::move(done)});
  }
  cv_.notify_one();
}

Result<void> GroupCommit::commit(std::vector<RenameStep> steps) {
  std::promise<Result<void>> p;
  auto f = p.get_future();
  submit(std::move(steps), [&p](Result<void> r) { p.set_value(std::move(r)); });
  return f.get();
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void GroupCommit::loop() {
  // A batch whose renames are done but not yet durable. The next syncfs
  // completes it and, in the same call, flushes the data of the batch that
  // follows: under load one syncfs serves two batches, and a lone
  // transaction still pays exactly two.
  std::vector<Pending> renamed;
  std::vector<Result<void>> renamed_results;
  while (true) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      if (renamed.empty()) cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty() && stopping_ && renamed.empty()) return;
      batch.swap(pending_);
      if (!batch.empty()) {
        ++stats_.batches;
        stats_.transactions += batch.size();
      }
    }
    // 1. The renames of the previous batch and the contents of every tmp
    //    file of this one reach the disk.
    int rc = ::syncfs(root_fd_);
    std::string err = rc != 0 ? std::string("syncfs: ") + std::strerror(errno) : std::string();
    for (std::size_t i = 0; i < renamed.size(); ++i)
      renamed[i].done(rc == 0 ? std::move(renamed_results[i]) : make_error(Errc::Temp, err));
    renamed.clear();
    renamed_results.clear();
    if (batch.empty()) continue;
    if (rc != 0) {
      for (auto& p : batch) {
        for (auto& s : p.steps) ::unlink(s.from.c_str());
        p.done(make_error(Errc::Temp, err));
      }
      continue;
    }
    // 2. Make them visible. A transaction whose rename fails is undone.
    std::vector<Result<void>> results(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& steps = batch[i].steps;
      for (std::size_t k = 0; k < steps.size(); ++k) {
        if (::rename(steps[k].from.c_str(), steps[k].to.c_str()) != 0) {
          results[i] = make_error(Errc::Temp, "rename " + steps[k].to + ": " + std::strerror(errno));
          for (std::size_t j = 0; j < k; ++j) ::unlink(steps[j].to.c_str());
          for (std::size_t j = k; j < steps.size(); ++j) ::unlink(steps[j].from.c_str());
          break;
        }
      }
    }
    // 3. The renames reach the disk with the next syncfs (next iteration).
    renamed = std::move(batch);
    renamed_results = std::move(results);
  }
}

}  // namespace mailfort::store
