// The configuration schema: every key of mailfort.toml declared once (name,
// type, bounds, docs, why). Private to src/base; config.h is the public face.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "base/config.h"

namespace mailfort::config::schema {

enum class Kind { String, Path, Bool, UInt, Number, StringArray, Enum };

struct Key {
  std::string_view name;  // "limits.max_connections"; listener keys: "listener.name"
  Kind kind;
  uint64_t min = 0, max = 0;              // UInt and Number bounds
  std::vector<std::string_view> allowed;  // Enum values
  std::string_view doc;
  std::string_view why;  // for limits: what the bound protects
  bool required = false;
  // Renders the default from a default-constructed Config (defaults live only
  // in config.h's member initialisers).
  std::function<std::string(const Config&)> show;
  // Stores a TOML value; false with `err` set when it does not fit.
  std::function<bool(Config&, const toml::node&, std::string& err)> set;
};

const std::vector<Key>& keys();           // top-level and [section] keys
const std::vector<Key>& listener_keys();  // keys of one [[listener]] table (set on config.listeners.back())
const std::vector<Key>& milter_keys();    // keys of one [[milter]] table (set on config.milters.back())
const std::vector<std::string_view>& sections();  // "tls", "dns", ...

}  // namespace mailfort::config::schema
