// The key store: PEM files and the active-selector list per domain.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "base/text.h"
#include "dkim/dkim.h"

namespace mailfort::dkim {
namespace {

std::string dir_of(const std::string& data_dir) {
  return data_dir + "/dkim";
}
std::string selectors_path(const std::string& data_dir, const std::string& domain) {
  return dir_of(data_dir) + "/" + domain + ".selectors";
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return make_error(Errc::NotFound, path + " does not exist");
    return make_error(Errc::Temp, "cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `data` to a new file with `mode`; with `exclusive`, refuses to
// replace an existing one. Durable before it returns.
Result<void> write_file(const std::string& path, const std::string& data, mode_t mode, bool exclusive) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), mode);
  if (fd < 0) {
    if (errno == EEXIST) return make_error(Errc::Exists, path + " exists");
    return make_error(Errc::Perm, "cannot create " + path + ": " + std::strerror(errno));
  }
  ::fchmod(fd, mode);  // whatever the umask
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return make_error(Errc::Perm, "cannot write " + path + ": " + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return make_error(Errc::Perm, "cannot sync " + path);
  return {};
}

std::vector<std::string> read_selectors(const std::string& data_dir, const std::string& domain) {
  std::vector<std::string> out;
  auto text = read_file(selectors_path(data_dir, domain));
  if (!text) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (valid_selector(line)) out.push_back(line);
  }
  return out;
}

}  // namespace

bool valid_selector(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '.' || s.back() == '.' || s.front() == '-') return false;
  char prev = 0;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '_';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

std::string default_selector(Algorithm a, int64_t now) {
  std::time_t t = now;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m", &tm);
  return std::string("mf") + buf + (a == Algorithm::Ed25519 ? "e" : "r");
}

std::string key_path(const std::string& data_dir, const std::string& domain, const std::string& selector) {
  return dir_of(data_dir) + "/" + to_lower(domain) + "." + selector + ".key";
}

Result<Key> create_key(const std::string& data_dir, const std::string& domain_in, const std::string& selector,
                       Algorithm a) {
  std::string domain = to_lower(domain_in);
  if (!is_valid_domain(domain)) return make_error(Errc::Invalid, "invalid domain '" + domain_in + "'");
  if (!valid_selector(selector)) return make_error(Errc::Invalid, "invalid selector '" + selector + "'");
  std::string dir = dir_of(data_dir);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error(Errc::Perm, "cannot create " + dir + ": " + std::strerror(errno));
  auto pem = generate_key_pem(a);
  if (!pem) return pem.error();
  std::string path = key_path(data_dir, domain, selector);
  if (auto w = write_file(path, *pem, 0600, true); !w) return w.error();

  // Active selectors: the new one replaces the active key of its algorithm.
  std::string list;
  for (const auto& s : read_selectors(data_dir, domain)) {
    if (s == selector) continue;
    auto other = read_file(key_path(data_dir, domain, s));
    if (!other) continue;
    auto oa = key_algorithm(*other);
    if (oa && *oa == a) continue;
    list += s + "\n";
  }
  list += selector + "\n";
  std::string sel = selectors_path(data_dir, domain);
  std::string tmp = sel + ".tmp";
  if (auto w = write_file(tmp, list, 0600, false); !w) return w.error();
  if (::rename(tmp.c_str(), sel.c_str()) != 0)
    return make_error(Errc::Perm, "cannot rename " + tmp + ": " + std::strerror(errno));
  return Key{domain, selector, a, std::move(*pem)};
}

Result<std::vector<Key>> load_keys(const std::string& data_dir, const std::string& domain_in) {
  std::string domain = to_lower(domain_in);
  std::vector<Key> out;
  if (!is_valid_domain(domain)) return out;
  for (const auto& s : read_selectors(data_dir, domain)) {
    auto pem = read_file(key_path(data_dir, domain, s));
    if (!pem) return pem.error();
    auto a = key_algorithm(*pem);
    if (!a) return make_error(Errc::Perm, key_path(data_dir, domain, s) + ": " + a.error().message);
    out.push_back(Key{domain, s, *a, std::move(*pem)});
  }
  return out;
}

}  // namespace mailfort::dkim
