// mailfort spam bench [--repeat N] [--threads T] [--ip IP] [--helo NAME]
// [--sender ADDR] [--rcpt ADDR]... PATH...: scans every message file (PATH:
// files, or directories read recursively) N times in-process with the
// configured spam engine on T threads, as bench/spam_scan.sh does for the
// built-in scorer, and prints messages per second, CPU seconds per message
// (getrusage of the whole process: our threads, and the resolver's) and the
// count of each action. With --ip, the mail authentication (SPF, DKIM,
// DMARC, ARC) runs before each scan as on the MX and is counted in the
// time; with one local mailbox among the --rcpt, its per-user Bayes
// statistics are read too (as on the MX). The messages are read into memory
// before the clock starts.
#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "auth/dns_source.h"
#include "auth/inbound_message.h"
#include "auth/message_auth.h"
#include "base/log.h"
#include "base/text.h"
#include "cli/auth_commands.h"
#include "cli/commands.h"
#include "cli/message_file.h"
#include "cli/spam_commands.h"
#include "dns/resolver.h"
#include "filter/filter_service.h"
#include "smtp/inbound_auth.h"

namespace mailfort::cli {
namespace {

struct BenchArgs {
  unsigned repeat = 1;
  unsigned threads = 1;
  std::string ip;  // "" = no authentication checks
  std::string helo;
  std::string sender;
  std::vector<std::string> rcpts;
  std::vector<std::string> paths;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Regular files of `paths`, directories walked recursively, in a stable order.
std::vector<std::string> message_files(const std::vector<std::string>& paths, std::string& error) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> here;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_regular_file(ec)) here.push_back(it->path().string());
      }
      if (ec) {
        error = p + ": " + ec.message();
        return {};
      }
      std::sort(here.begin(), here.end());
      out.insert(out.end(), here.begin(), here.end());
    } else if (fs::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      error = p + ": not a file or directory";
      return {};
    }
  }
  return out;
}

int bench(AdminContext& ctx, BenchArgs a) {
  const config::Config& cfg = ctx.cfg;
  std::string log_error;
  if (!log::init("", "warn", log_error)) return fail(log_error);
  std::string error;
  auto files = message_files(a.paths, error);
  if (!error.empty()) return fail(error);
  if (files.empty()) return fail("no message files");
  std::vector<std::string> messages;
  messages.reserve(files.size());
  for (const auto& f : files) {
    auto m = read_message_file(f);
    if (!m) return fail("cannot read " + f);
    messages.push_back(std::move(*m));
  }
  if (a.helo.empty()) a.helo = cfg.hostname;
  auto resolver = open_resolver(cfg);
  if (!resolver) return fail(resolver.error().message);
  auto service = filter::FilterService::open(cfg, resolver.value(), nullptr);
  if (!service) return fail(service.error().message);
  filter::SpamEngine* engine = service.value()->engine();
  if (!engine) return fail("spam filtering is off ([spam] engine = \"off\")");
  auto dns = auth::resolver_source(resolver.value());
  directory::Directory* dir = ctx.dir.get();
  auto is_local = [dir](std::string_view domain) {
    auto r = dir->is_local_domain(to_lower(domain));
    return r && r.value();
  };

  const std::string user = spam_bayes_user(*dir, a.rcpts);
  const size_t total = messages.size() * a.repeat;
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::map<std::string, size_t> actions;
  size_t failed = 0;
  std::string first_error;

  auto worker = [&] {
    std::map<std::string, size_t> mine;
    size_t my_failed = 0;
    std::string my_error;
    for (size_t i = next++; i < total; i = next++) {
      const std::string& message = messages[i % messages.size()];
      std::optional<auth::Verdict> verdict;
      if (!a.ip.empty()) {
        verdict = mx_verdict(cfg, *dns, message, a.ip, a.helo, a.sender);
      }
      filter::ScanInput in;
      in.message = message;
      in.ip = a.ip;
      in.helo = a.helo;
      in.sender = a.sender;
      in.rcpts = a.rcpts;
      in.mx = true;
      in.verdict = verdict ? &*verdict : nullptr;
      in.is_local_domain = is_local;
      in.bayes_user = user;
      filter::ScanResult r = engine->scan(in);
      if (r.failed) {
        ++my_failed;
        if (my_error.empty()) my_error = r.error;
        continue;
      }
      ++mine[std::string(filter::action_name(r.action))];
    }
    std::lock_guard lock(mu);
    for (const auto& [k, v] : mine) actions[k] += v;
    failed += my_failed;
    if (first_error.empty()) first_error = my_error;
  };

  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::max(1u, a.threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;

  std::printf("engine: %s\n", cfg.spam.engine.c_str());
  std::printf("messages: %zu (%zu files x %u)\n", total, messages.size(), a.repeat);
  std::printf("threads: %u\n", std::max(1u, a.threads));
  std::printf("wall_seconds: %.3f\n", wall);
  std::printf("cpu_seconds: %.3f\n", cpu);
  std::printf("messages_per_second: %.1f\n", wall > 0 ? static_cast<double>(total) / wall : 0.0);
  std::printf("cpu_ms_per_message: %.3f\n", total ? cpu * 1000.0 / static_cast<double>(total) : 0.0);
  std::printf("messages_per_cpu_second: %.1f\n", cpu > 0 ? static_cast<double>(total) / cpu : 0.0);
  for (const auto& [name, n] : actions) std::printf("action %s: %zu\n", name.c_str(), n);
  std::printf("failed: %zu\n", failed);
  if (failed) std::fprintf(stderr, "first failure: %s\n", first_error.c_str());
  return failed == total ? 1 : 0;
}

}  // namespace

void add_spam_bench_command(CLI::App& spam, CliContext& ctx) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = spam.add_subcommand(
      "bench", "Scan message files N times in-process with the configured engine; print messages/s and CPU");
  cmd->add_option("--repeat", a->repeat, "scan each message this many times (default 1)")
      ->check(CLI::Range(1u, 1000000u));
  cmd->add_option("--threads", a->threads, "scanning threads (default 1)")->check(CLI::Range(1u, 256u));
  cmd->add_option("--ip", a->ip, "client IP address; given, SPF/DKIM/DMARC/ARC run before each scan");
  cmd->add_option("--helo", a->helo, "EHLO name (default: the configured hostname)");
  cmd->add_option("--sender", a->sender, "envelope sender (MAIL FROM)");
  cmd->add_option("--rcpt", a->rcpts, "envelope recipient (repeatable)")->allow_extra_args(false);
  cmd->add_option("PATH", a->paths, "message files or directories (read recursively)")->required();
  on_directory(cmd, ctx, [a](AdminContext& c) { return bench(c, *a); });
}

}  // namespace mailfort::cli
