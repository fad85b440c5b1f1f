// mailfort spam learn --spam|--ham [--user ADDRESS] PATH...: bulk training
// of the spam engine from message files and Maildir folders, as the seed
// does with `find ... -exec rspamc learn_spam`. A PATH that is a file is one
// message; a directory is walked recursively and gives the files of every
// `cur/` and `new/` folder in it (Maildir: `tmp/`, index and control files
// are left alone), or, when it holds no Maildir folder at all, every file
// not starting with a dot (a folder of exported messages). Each message
// goes through FilterService::learn, so the history counts the learns and
// [spam] engine = "rspamd" trains Rspamd the same way. A progress bar on
// stderr when it is a terminal; one summary line on stdout at the end.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cli/commands.h"
#include "cli/message_file.h"
#include "cli/spam_commands.h"
#include "filter/filter_service.h"
#include "state/open.h"

namespace mailfort::cli {
namespace {

namespace fs = std::filesystem;

struct LearnArgs {
  bool spam = false, ham = false;
  std::string user;
  std::vector<std::string> paths;
};

struct Tally {
  std::size_t learned = 0, already = 0, relearned = 0, skipped = 0, failed = 0;
};

// The messages under one directory, in name order (see the head comment).
std::vector<std::string> messages_in(const std::string& dir, std::error_code& ec) {
  std::vector<std::string> maildir, plain;
  fs::directory_iterator top(dir, ec);  // the PATH itself unreadable: an error, not "no messages"
  if (ec) return {};
  auto options = fs::directory_options::skip_permission_denied;  // below it: skipped
  for (fs::recursive_directory_iterator it(dir, options, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    const fs::path& p = it->path();
    std::string parent = p.parent_path().filename().string();
    if (parent == "cur" || parent == "new") {
      maildir.push_back(p.string());
    } else if (p.filename().string().rfind('.', 0) != 0) {
      plain.push_back(p.string());
    }
  }
  auto& out = maildir.empty() ? plain : maildir;
  std::sort(out.begin(), out.end());
  return std::move(out);
}

// Every PATH's messages; a PATH that cannot be read is reported and counted.
std::vector<std::string> collect(const std::vector<std::string>& paths, Tally& tally) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      // The server's user (run_as) reads the files: say why it cannot.
      std::fprintf(stderr, "mailfort: %s: %s\n", path.c_str(),
                   ec && ec != std::errc::no_such_file_or_directory ? ec.message().c_str()
                                                                    : "no such file or directory");
      ++tally.failed;
    } else if (fs::is_directory(status)) {
      auto found = messages_in(path, ec);
      if (ec) {
        std::fprintf(stderr, "mailfort: %s: %s\n", path.c_str(), ec.message().c_str());
        ++tally.failed;
      }
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(path);
    }
  }
  return files;
}

// "learning [##########          ] 200/400" on a terminal, redrawn at
// most ten times a second.
class Progress {
 public:
  explicit Progress(std::size_t total) : total_(total), shown_(isatty(STDERR_FILENO) == 1 && total > 0) {}
  void update(std::size_t done) {
    if (!shown_) return;
    auto now = std::chrono::steady_clock::now();
    if (done != total_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr std::size_t kWidth = 30;
    std::size_t filled = done * kWidth / total_;
    std::string bar(filled, '#');
    bar.append(kWidth - filled, ' ');
    std::fprintf(stderr, "\rlearning [%s] %zu/%zu", bar.c_str(), done, total_);
    if (done == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  std::size_t total_;
  bool shown_;
  std::chrono::steady_clock::time_point last_{};
};

int learn(AdminContext& admin, const LearnArgs& a) {
  if (a.spam == a.ham) return fail("give one of --spam or --ham");
  std::string user;
  if (!a.user.empty()) {
    auto account = admin.dir->find_account(a.user);
    if (!account) return fail(account.error().message);
    if (!account.value()) return fail("no such account: " + a.user);
    user = account.value()->address();
  }
  // Learning needs no DNS; with [state] backend = "redis" it learns into the shared statistics.
  auto redis = state::open_redis(admin.cfg.state);
  if (!redis) return fail(redis.error().message);
  auto service = filter::FilterService::open(admin.cfg, nullptr, nullptr, redis.value());
  if (!service) return fail(service.error().message);
  if (!service.value()->engine()) return fail("spam filtering is off ([spam] engine = \"off\")");

  Tally tally;
  auto files = collect(a.paths, tally);
  Progress progress(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    progress.update(i);
    const std::string& file = files[i];
    auto message = read_message_file(file);
    if (!message) {
      std::fprintf(stderr, "mailfort: %s: cannot read\n", file.c_str());
      ++tally.failed;
      continue;
    }
    auto r = service.value()->learn(*message, a.spam, user);
    if (!r) {
      // A setting (Bayes off) fails every message alike: stop at the first.
      if (r.error().code == Errc::Invalid) return fail(r.error().message);
      std::fprintf(stderr, "mailfort: %s: %s\n", file.c_str(), r.error().message.c_str());
      ++tally.failed;
      continue;
    }
    switch (r.value()) {
      case filter::LearnOutcome::Learned:
        ++tally.learned;
        break;
      case filter::LearnOutcome::AlreadyLearned:
        ++tally.already;
        break;
      case filter::LearnOutcome::Relearned:
        ++tally.relearned;
        break;
      case filter::LearnOutcome::Skipped:
        ++tally.skipped;
        break;
    }
  }
  progress.update(files.size());
  std::printf("learned %zu, already learned %zu, relearned %zu, skipped %zu, failed %zu\n", tally.learned,
              tally.already, tally.relearned, tally.skipped, tally.failed);
  return tally.failed == 0 ? 0 : 1;
}

}  // namespace

void add_spam_learn_command(CLI::App& spam, CliContext& ctx) {
  auto a = std::make_shared<LearnArgs>();
  auto* cmd = spam.add_subcommand("learn",
                                  "Train the spam engine with message files and Maildir folders (a "
                                  "directory: the files of every cur/ and "
                                  "new/ in it, or all its files when it holds no Maildir)");
  auto* spam_flag = cmd->add_flag("--spam", a->spam, "The messages are spam");
  auto* ham_flag = cmd->add_flag("--ham", a->ham, "The messages are ham (not spam)");
  spam_flag->excludes(ham_flag);
  cmd->add_option("--user", a->user, "Also train this account's own statistics (an existing local account)");
  cmd->add_option("PATH", a->paths, "Message files and directories")->required();
  on_directory(cmd, ctx, [a](AdminContext& admin) { return learn(admin, *a); });
}

}  // namespace mailfort::cli
