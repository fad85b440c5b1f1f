// Scan history and daily statistics (F6): every scan recorded with time,
// queue id, client, envelope, score, action and symbols, kept for [spam]
// history_days; per-day counters of scanned/ham/add_header/rejected and
// of learns. SQLite (<data_dir>/spam-history.sqlite), thread-safe.
#pragma once
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "filter/scan.h"

namespace mailfort::filter {

struct ScanRecord {
  std::time_t time = 0;
  std::string queue_id;
  std::string ip;
  std::string sender;
  std::vector<std::string> rcpts;
  std::string listener;  // listener name
  double score = 0;
  std::string action;  // action_name(), or "virus" / "milter-reject" / "tempfail"
  std::vector<Symbol> symbols;
  std::string virus;  // when ClamAV found one
};

struct DayStats {
  std::string day;  // "2026-12-04" (UTC)
  uint64_t scanned = 0, ham = 0, add_header = 0, rejected = 0, soft_rejected = 0, virus = 0;
  uint64_t learned_spam = 0, learned_ham = 0;
};

struct SymbolCount {
  std::string name;
  uint64_t count = 0;
};

class ScanHistory {
 public:
  virtual ~ScanHistory() = default;
  virtual Result<void> record(const ScanRecord& r) = 0;
  virtual Result<void> record_learn(bool spam, std::time_t when) = 0;
  // The last `days` days, newest first.
  virtual Result<std::vector<DayStats>> stats(uint32_t days) = 0;
  virtual Result<std::vector<SymbolCount>> top_symbols(uint32_t days, std::size_t limit) = 0;
  virtual Result<std::vector<ScanRecord>> recent(std::size_t limit) = 0;  // newest first
  // Drops records older than `days` (counters too).
  virtual Result<void> purge(uint32_t days, std::time_t now) = 0;
};

struct ScanHistoryOptions {
  // [spam] history_days: record() drops older rows itself, at most once an
  // hour (no timer needed).
  uint32_t keep_days = 30;
  // "Now" for stats(), top_symbols() and record()'s purge; null = time().
  std::function<std::time_t()> clock;
};

Result<std::unique_ptr<ScanHistory>> open_scan_history(const std::string& path,
                                                       ScanHistoryOptions options = {});

}  // namespace mailfort::filter
