#include "auth/srs.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/base64.h"
#include "base/text.h"
#include "tls/hmac.h"

namespace mailfort::auth {
namespace {

constexpr std::string_view kTimeChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr int kHashLength = 4;
constexpr int kTimeSlots = 1024;  // the timestamp is 10 bits of day number
constexpr int64_t kDay = 24 * 60 * 60;

// libsrs2 accepts '=', '+' and '-' after the SRS0/SRS1 tag (SRS is often
// configured with a different first separator); fields are split by '='.
bool is_separator(char c) {
  return c == '=' || c == '+' || c == '-';
}

bool has_tag(std::string_view local, char version) {
  return local.size() > 4 && (local[0] == 'S' || local[0] == 's') && (local[1] == 'R' || local[1] == 'r') &&
         (local[2] == 'S' || local[2] == 's') && local[3] == version && is_separator(local[4]);
}

// Splits off the text up to the next '=' of `rest`; false when there is none.
bool next_field(std::string_view& rest, std::string_view& field) {
  auto eq = rest.find('=');
  if (eq == std::string_view::npos) return false;
  field = rest.substr(0, eq);
  rest.remove_prefix(eq + 1);
  return true;
}

int time_value(char c) {
  auto p = kTimeChars.find(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
  return p == std::string_view::npos ? -1 : static_cast<int>(p);
}

SrsReversed forged(std::string reason) {
  return {SrsStatus::Forged, "", std::move(reason)};
}

}  // namespace

bool looks_like_srs(std::string_view local) {
  return has_tag(local, '0') || has_tag(local, '1');
}

const char* srs_status_name(SrsStatus s) {
  switch (s) {
    case SrsStatus::Valid:
      return "valid";
    case SrsStatus::Forged:
      return "forged";
    case SrsStatus::Expired:
      return "expired";
  }
  return "forged";
}

std::string srs_timestamp(int64_t now) {
  int64_t day = (now / kDay) % kTimeSlots;
  return {kTimeChars[(day >> 5) & 31], kTimeChars[day & 31]};
}

Srs::Srs(std::vector<std::string> secrets, int max_age_days)
    : secrets_(std::move(secrets)), max_age_days_(max_age_days) {}

// libsrs2 hashes the lower-cased fields, so a relay that changes the case
// of the local part does not break the bounce.
std::string Srs::hash(const std::string& secret, std::initializer_list<std::string_view> parts) const {
  std::string data;
  for (auto p : parts) data += to_lower(p);
  return base64::encode(tls::hmac_sha1(secret, data)).substr(0, kHashLength);
}

bool Srs::hash_matches(std::string_view given, std::initializer_list<std::string_view> parts) const {
  // Compared without case (libsrs2 does too: some MTAs lower-case the
  // whole address) and in constant time, against every secret.
  std::string lowered = to_lower(given);
  bool match = false;
  for (const auto& s : secrets_) match |= tls::equal_constant_time(lowered, to_lower(hash(s, parts)));
  return match;
}

std::string Srs::forward(std::string_view sender, std::string_view domain, int64_t now) const {
  auto at = sender.rfind('@');
  if (sender.empty() || at == std::string_view::npos || at == 0) return std::string(sender);
  std::string_view local = sender.substr(0, at);
  std::string_view host = sender.substr(at + 1);
  // Already ours, or a quoted local part that SRS cannot carry unquoted.
  if (iequals(host, domain) || local.front() == '"') return std::string(sender);
  const std::string& secret = secrets_.front();
  std::string at_domain = "@" + std::string(domain);
  if (has_tag(local, '1')) {
    // SRS1 again: keep the first forwarder and the SRS0 part, hash anew
    // (libsrs2's shortcut: bounces then skip the middle forwarders).
    std::string_view rest = local.substr(5), old_hash, first_host;
    if (next_field(rest, old_hash) && next_field(rest, first_host) && !first_host.empty()) {
      return "SRS1=" + hash(secret, {first_host, rest}) + "=" + std::string(first_host) + "=" +
             std::string(rest) + at_domain;
    }
  } else if (has_tag(local, '0')) {
    // SRS0 of another forwarder: SRS1 names it, so the bounce goes back
    // there to be reversed with its secret.
    std::string_view rest = local.substr(4);  // keeps the separator
    return "SRS1=" + hash(secret, {host, rest}) + "=" + std::string(host) + "=" + std::string(rest) +
           at_domain;
  }
  std::string stamp = srs_timestamp(now);
  return "SRS0=" + hash(secret, {stamp, host, local}) + "=" + stamp + "=" + std::string(host) + "=" +
         std::string(local) + at_domain;
}

SrsReversed Srs::reverse(std::string_view local, int64_t now) const {
  if (has_tag(local, '1')) {
    std::string_view rest = local.substr(5), given, host;
    if (!next_field(rest, given) || !next_field(rest, host) || host.empty() || rest.empty())
      return forged("SRS1 address without hash, host and SRS0 part");
    if (!hash_matches(given, {host, rest})) return forged("SRS1 hash does not match");
    return {SrsStatus::Valid, "SRS0" + std::string(rest) + "@" + std::string(host), ""};
  }
  if (!has_tag(local, '0')) return forged("not an SRS address");
  std::string_view rest = local.substr(5), given, stamp, host;
  if (!next_field(rest, given) || !next_field(rest, stamp) || !next_field(rest, host) || host.empty() ||
      rest.empty())
    return forged("SRS0 address without hash, timestamp, domain and local part");
  if (stamp.size() != 2 || time_value(stamp[0]) < 0 || time_value(stamp[1]) < 0)
    return forged("SRS0 timestamp is not two base32 characters");
  if (!hash_matches(given, {stamp, host, rest})) return forged("SRS0 hash does not match");
  // Day numbers wrap at 1024: a stamp from the future reads as ~1000 days
  // old and is refused with the expired ones.
  int64_t then = (time_value(stamp[0]) << 5) | time_value(stamp[1]);
  int64_t today = (now / kDay) % kTimeSlots;
  if (today < then) today += kTimeSlots;
  if (today - then > max_age_days_)
    return {SrsStatus::Expired, "", "SRS0 timestamp is " + std::to_string(today - then) + " days old"};
  return {SrsStatus::Valid, std::string(rest) + "@" + std::string(host), ""};
}

Result<std::vector<std::string>> load_or_create_srs_secrets(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string raw(32, '\0');
    bool ok = ::getrandom(raw.data(), raw.size(), 0) == static_cast<ssize_t>(raw.size());
    std::string line = base64::encode(raw) + "\n";
    ok = ok && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      return make_error(Errc::Temp, "cannot write the SRS secret " + path);
    }
  } else if (errno != EEXIST) {
    return make_error(Errc::Perm, "cannot create the SRS secret " + path + ": " + std::strerror(errno));
  }
  std::ifstream in(path);
  if (!in) return make_error(Errc::Perm, "cannot read the SRS secret " + path);
  std::vector<std::string> secrets;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    if (!line.empty()) secrets.push_back(line);
  }
  if (secrets.empty()) return make_error(Errc::Perm, "the SRS secret " + path + " holds no secret");
  return secrets;
}

}  // namespace mailfort::auth
