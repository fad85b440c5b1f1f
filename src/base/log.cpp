#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

#include "base/log.h"

namespace mailfort::log {
namespace {

std::mutex g_mu;
std::string g_file;

std::shared_ptr<spdlog::logger> make_logger(const std::string& file) {
  std::shared_ptr<spdlog::logger> logger;
  if (file.empty()) {
    logger = std::make_shared<spdlog::logger>("mailfort", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    logger = std::make_shared<spdlog::logger>("mailfort",
                                              std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
  }
  // UTC timestamps: one line per event, easy to grep and to feed fail2ban-
  // style monitors (P7).
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::info);
  return logger;
}

}  // namespace

bool init(const std::string& file, const std::string& level, std::string& err) {
  std::lock_guard lock(g_mu);
  try {
    auto logger = make_logger(file);
    logger->set_level(spdlog::level::from_str(level));
    spdlog::set_default_logger(logger);
    g_file = file;
  } catch (const spdlog::spdlog_ex& e) {
    err = e.what();
    return false;
  }
  return true;
}

void reopen() {
  std::lock_guard lock(g_mu);
  if (g_file.empty()) return;
  try {
    auto level = spdlog::default_logger()->level();
    auto logger = make_logger(g_file);
    logger->set_level(level);
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    spdlog::error("log reopen failed: {}", e.what());
  }
}

std::string quote(std::string_view v) {
  constexpr std::size_t kMax = 200;
  std::string out;
  bool needs_quotes = v.empty();
  for (std::size_t i = 0; i < v.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c >= 0x7F || c == '\\' || c == '"') {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
      needs_quotes = true;
    } else {
      if (c == ' ' || c == '=') needs_quotes = true;
      out.push_back(static_cast<char>(c));
    }
  }
  if (v.size() > kMax) out += "...";
  return needs_quotes ? "\"" + out + "\"" : out;
}

}  // namespace mailfort::log
