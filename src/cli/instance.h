// `mailfort init`: creates a new instance (config, data directory, TLS
// certificate, SQLite directory with the first domain) and prints the DNS
// records to publish.
#pragma once
#include <string>

namespace mailfort::cli {

struct InitOptions {
  std::string dir;
  std::string hostname;
  std::string domain;
  bool dev = false;
  std::string cert;  // existing chain; empty = make a self-signed one
  std::string key;
  bool force = false;
};

int run_init(const InitOptions& o);

// The config file init writes (exposed for tests).
std::string render_config(const InitOptions& o, const std::string& cert, const std::string& key);

}  // namespace mailfort::cli
