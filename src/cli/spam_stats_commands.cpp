// mailfort spam stats [--days N] [--json]: per UTC day the scans by action
// and the messages learned, then the most frequent symbols.
// mailfort spam history [--limit N] [--json]: the latest scans, newest
// first. Both read the scan history the server writes
// (<data_dir>/spam-history.sqlite, filter/history.h); they work while the
// server runs (WAL).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/spam_commands.h"
#include "filter/history.h"

namespace mailfort::cli {
namespace {

constexpr std::size_t kTopSymbols = 10;

struct StatsArgs {
  uint32_t days = 7;
  bool json = false;
};

struct HistoryArgs {
  std::size_t limit = 20;
  bool json = false;
};

// History strings come from the network: JSON output replaces invalid
// UTF-8 instead of failing on it.
std::string dump(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::unique_ptr<filter::ScanHistory>> open_history(const config::Config& cfg) {
  return filter::open_scan_history(cfg.spam_history_db_path(), {.keep_days = cfg.spam.history_days});
}

nlohmann::json day_json(const filter::DayStats& d) {
  return {{"day", d.day},
          {"scanned", d.scanned},
          {"ham", d.ham},
          {"add_header", d.add_header},
          {"rejected", d.rejected},
          {"soft_rejected", d.soft_rejected},
          {"virus", d.virus},
          {"learned_spam", d.learned_spam},
          {"learned_ham", d.learned_ham}};
}

int show_stats(const AdminContext& admin, const StatsArgs& a) {
  auto history = open_history(admin.cfg);
  if (!history) return fail(history.error().message);
  auto days = history.value()->stats(a.days);
  if (!days) return fail(days.error().message);
  auto top = history.value()->top_symbols(a.days, kTopSymbols);
  if (!top) return fail(top.error().message);
  if (a.json) {
    nlohmann::json j{{"days", nlohmann::json::array()}, {"top_symbols", nlohmann::json::array()}};
    for (const auto& d : *days) j["days"].push_back(day_json(d));
    for (const auto& s : *top) j["top_symbols"].push_back({{"name", s.name}, {"count", s.count}});
    std::printf("%s\n", dump(j).c_str());
    return 0;
  }
  std::printf("%-10s %8s %8s %10s %8s %13s %6s %12s %11s\n", "day", "scanned", "ham", "add_header",
              "rejected", "soft_rejected", "virus", "learned_spam", "learned_ham");
  for (const auto& d : *days) {
    std::printf("%-10s %8llu %8llu %10llu %8llu %13llu %6llu %12llu %11llu\n", d.day.c_str(),
                static_cast<unsigned long long>(d.scanned), static_cast<unsigned long long>(d.ham),
                static_cast<unsigned long long>(d.add_header), static_cast<unsigned long long>(d.rejected),
                static_cast<unsigned long long>(d.soft_rejected), static_cast<unsigned long long>(d.virus),
                static_cast<unsigned long long>(d.learned_spam),
                static_cast<unsigned long long>(d.learned_ham));
  }
  std::string line = "top symbols:";
  for (std::size_t i = 0; i < top->size(); ++i)
    line += (i ? ", " : " ") + (*top)[i].name + " " + std::to_string((*top)[i].count);
  if (top->empty()) line += " none";
  std::printf("%s\n", line.c_str());
  return 0;
}

nlohmann::json scan_json(const filter::ScanRecord& r) {
  nlohmann::json symbols = nlohmann::json::array();
  for (const auto& s : r.symbols)
    symbols.push_back({{"name", s.name}, {"score", s.score}, {"options", s.options}});
  return {{"time", iso_time(r.time)}, {"queue_id", r.queue_id}, {"ip", r.ip},       {"sender", r.sender},
          {"rcpts", r.rcpts},         {"listener", r.listener}, {"score", r.score}, {"action", r.action},
          {"symbols", symbols},       {"virus", r.virus}};
}

// One line: time queue-id ip <sender> -> <rcpt>,... score action symbols.
std::string scan_line(const filter::ScanRecord& r) {
  std::string line = iso_time(r.time) + " " + (r.queue_id.empty() ? "-" : r.queue_id) + " " +
                     (r.ip.empty() ? "-" : r.ip) + " <" + r.sender + "> ->";
  for (std::size_t i = 0; i < r.rcpts.size(); ++i) line += (i ? ",<" : " <") + r.rcpts[i] + ">";
  char score[32];
  std::snprintf(score, sizeof score, "%.2f", r.score);
  line += std::string(" score=") + score + " action=\"" + r.action + "\"";
  if (!r.virus.empty()) line += " virus=" + r.virus;
  line += " symbols=";
  for (std::size_t i = 0; i < r.symbols.size(); ++i) {
    std::snprintf(score, sizeof score, "(%.2f)", r.symbols[i].score);
    line += (i ? "," : "") + r.symbols[i].name + score;
  }
  if (r.symbols.empty()) line += "-";
  return line;
}

int show_history(const AdminContext& admin, const HistoryArgs& a) {
  auto history = open_history(admin.cfg);
  if (!history) return fail(history.error().message);
  auto scans = history.value()->recent(a.limit);
  if (!scans) return fail(scans.error().message);
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : *scans) j.push_back(scan_json(r));
    std::printf("%s\n", dump(j).c_str());
    return 0;
  }
  for (const auto& r : *scans) std::printf("%s\n", scan_line(r).c_str());
  return 0;
}

}  // namespace

void add_spam_stats_commands(CLI::App& spam, CliContext& ctx) {
  auto stats_args = std::make_shared<StatsArgs>();
  auto* stats = spam.add_subcommand(
      "stats", "Scans per UTC day (scanned, ham, add_header, rejected, learned) and the top symbols");
  stats->add_option("--days", stats_args->days, "days to show, today included (default 7)")
      ->check(CLI::Range(1, 3650));
  stats->add_flag("--json", stats_args->json, "print as JSON");
  on_admin(stats, ctx, [stats_args](AdminContext& admin) { return show_stats(admin, *stats_args); });

  auto history_args = std::make_shared<HistoryArgs>();
  auto* history = spam.add_subcommand("history", "The latest scans, newest first");
  history->add_option("--limit", history_args->limit, "scans to show (default 20)")
      ->check(CLI::Range(1, 100000));
  history->add_flag("--json", history_args->json, "print as JSON");
  on_admin(history, ctx, [history_args](AdminContext& admin) { return show_history(admin, *history_args); });
}

}  // namespace mailfort::cli
