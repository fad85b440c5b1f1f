// Per-account Sieve scripts on disk (see script_store.h). Every change is
// written to a temporary file in the same directory, fsynced, renamed over
// the target and the directory fsynced, so a crash leaves either the old or
// the new state. When the process runs as root (the CLI), new directories
// and files get the owner of the account's mailbox directory, so the server
// (which runs as the unprivileged run_as user) can still change them.
#include "sieve/script_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace mailfort::sieve {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSuffix = ".sieve";
constexpr const char* kActiveFile = "active";

// Decodes one UTF-8 code point at `s[i]`; -1 when the bytes are not
// well-formed (overlong, surrogate, beyond U+10FFFF, truncated).
long next_code_point(std::string_view s, std::size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  int extra;
  long cp;
  if (b < 0x80) {
    ++i;
    return b;
  }
  if ((b & 0xE0) == 0xC0) {
    extra = 1, cp = b & 0x1F;
  } else if ((b & 0xF0) == 0xE0) {
    extra = 2, cp = b & 0x0F;
  } else if ((b & 0xF8) == 0xF0) {
    extra = 3, cp = b & 0x07;
  } else {
    return -1;
  }
  if (i + extra >= s.size()) return -1;
  for (int k = 1; k <= extra; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr long kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += extra + 1;
  return cp;
}

// Owner to give new files and directories when running as root: the owner
// of the nearest existing ancestor of `path` (normally the mailbox dir).
void adopt_owner(const fs::path& path) {
  if (::geteuid() != 0) return;
  for (fs::path p = path.parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      if (::lchown(path.c_str(), st.st_uid, st.st_gid) != 0) {
        // Best effort: the server reports what it cannot write later.
      }
      return;
    }
    if (p == p.root_path()) return;
  }
}

Error io_error(const std::string& what, const fs::path& p) {
  return Error{Errc::Temp, what + " " + p.string() + ": " + std::strerror(errno)};
}

Result<void> fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync", dir);
  return {};
}

// Creates `dir` and its missing parents, each owned as adopt_owner says.
Result<void> make_dirs(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    auto r = make_dirs(dir.parent_path());
    if (!r) return r;
  }
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) return io_error("cannot create", dir);
  adopt_owner(dir);
  return {};
}

// Writes `data` to `target` atomically (temporary file, fsync, rename, fsync
// of the directory).
Result<void> write_atomic(const fs::path& target, std::string_view data) {
  static std::atomic<uint64_t> counter{0};
  fs::path tmp = target.parent_path() /
                 (".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return io_error("cannot create", tmp);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto e = io_error("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto e = io_error("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  }
  ::close(fd);
  adopt_owner(tmp);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    auto e = io_error("cannot rename to", target);
    ::unlink(tmp.c_str());
    return e;
  }
  return fsync_dir(target.parent_path());
}

Result<std::string> read_file(const fs::path& p, uint64_t max) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return Error{Errc::NotFound, "no such script"};
    return io_error("cannot read", p);
  }
  std::string out;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max) return Error{Errc::Perm, "file too large: " + p.string()};
  }
  return out;
}

}  // namespace

ScriptStore::ScriptStore(std::string data_dir, ScriptQuota quota)
    : data_dir_(std::move(data_dir)), quota_(quota) {}

bool ScriptStore::valid_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  std::size_t i = 0;
  while (i < name.size()) {
    long cp = next_code_point(name, i);
    // RFC 5804 1.6: no Cc (U+0000-U+001F, U+007F-U+009F), no U+2028/U+2029.
    if (cp < 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == '/')
      return false;
  }
  return true;
}

std::string ScriptStore::dir_of(const std::string& user) const {
  auto at = user.rfind('@');
  std::string local = at == std::string::npos ? user : user.substr(0, at);
  std::string domain = at == std::string::npos ? "" : user.substr(at + 1);
  return data_dir_ + "/mailboxes/" + domain + "/" + local + "/sieve";
}

std::string ScriptStore::path_of(const std::string& user, const std::string& name) const {
  return dir_of(user) + "/" + name + std::string(kSuffix);
}

Result<std::vector<ScriptEntry>> ScriptStore::list(const std::string& user) const {
  std::vector<ScriptEntry> out;
  fs::path dir = dir_of(user);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  auto act = active(user);
  std::string active_name = act && act->has_value() ? **act : std::string();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string file = it->path().filename().string();
    if (file.size() <= kSuffix.size() || !file.ends_with(kSuffix)) continue;
    std::string name = file.substr(0, file.size() - kSuffix.size());
    if (!valid_name(name)) continue;
    std::error_code ec2;
    if (!it->is_regular_file(ec2)) continue;
    uint64_t size = it->file_size(ec2);
    if (ec2) continue;
    out.push_back(ScriptEntry{name, name == active_name, size});
  }
  if (ec) return Error{Errc::Temp, "cannot list " + dir.string() + ": " + ec.message()};
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<std::string> ScriptStore::get(const std::string& user, const std::string& name) const {
  if (!valid_name(name)) return Error{Errc::NotFound, "no such script"};
  // A little above the quota: scripts put by hand are still readable.
  ScriptQuota q = quota();
  return read_file(path_of(user, name), std::max<uint64_t>(q.max_storage, q.max_script_size) * 4);
}

Result<std::optional<std::string>> ScriptStore::active(const std::string& user) const {
  auto text = read_file(fs::path(dir_of(user)) / kActiveFile, 4096);
  if (!text) {
    if (text.error().code == Errc::NotFound) return std::optional<std::string>{};
    return text.error();
  }
  std::string name = *text;
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  if (name.empty() || !valid_name(name)) return std::optional<std::string>{};
  // An active name whose script is gone counts as none active.
  std::error_code ec;
  if (!fs::is_regular_file(path_of(user, name), ec)) return std::optional<std::string>{};
  return std::optional<std::string>{name};
}

Space ScriptStore::have_space(const std::string& user, const std::string& name, uint64_t size) const {
  ScriptQuota q = quota();
  if (size > q.max_script_size) return Space::TooBig;
  auto scripts = list(user);
  if (!scripts) return Space::Ok;  // the write reports the real I/O problem
  uint64_t total = 0;
  std::size_t count = 0;
  for (const auto& s : *scripts) {
    if (s.name == name) continue;  // replaced
    total += s.size;
    ++count;
  }
  if (count + 1 > q.max_scripts) return Space::TooMany;
  if (total + size > q.max_storage) return Space::Full;
  return Space::Ok;
}

Result<void> ScriptStore::put(const std::string& user, const std::string& name, std::string_view text) {
  if (!valid_name(name)) return Error{Errc::Invalid, "invalid script name"};
  switch (have_space(user, name, text.size())) {
    case Space::Ok:
      break;
    case Space::TooBig:
      return Error{Errc::OverQuota, "script too large"};
    case Space::TooMany:
      return Error{Errc::OverQuota, "too many scripts"};
    case Space::Full:
      return Error{Errc::OverQuota, "script storage full"};
  }
  fs::path dir = dir_of(user);
  if (auto r = make_dirs(dir); !r) return r;
  return write_atomic(path_of(user, name), text);
}

Result<void> ScriptStore::activate(const std::string& user, const std::string& name) {
  fs::path dir = dir_of(user);
  if (name.empty()) {
    if (::unlink((dir / kActiveFile).c_str()) != 0) {
      if (errno == ENOENT) return {};
      return io_error("cannot remove", dir / kActiveFile);
    }
    return fsync_dir(dir);
  }
  std::error_code ec;
  if (!valid_name(name) || !fs::is_regular_file(path_of(user, name), ec))
    return Error{Errc::NotFound, "no such script"};
  return write_atomic(dir / kActiveFile, name + "\n");
}

Result<void> ScriptStore::remove(const std::string& user, const std::string& name) {
  std::error_code ec;
  if (!valid_name(name) || !fs::is_regular_file(path_of(user, name), ec))
    return Error{Errc::NotFound, "no such script"};
  auto act = active(user);
  if (!act) return act.error();
  if (*act && **act == name) return Error{Errc::Denied, "the script is active"};
  if (::unlink(path_of(user, name).c_str()) != 0) return io_error("cannot remove", path_of(user, name));
  return fsync_dir(dir_of(user));
}

Result<void> ScriptStore::rename(const std::string& user, const std::string& from, const std::string& to) {
  std::error_code ec;
  if (!valid_name(from) || !fs::is_regular_file(path_of(user, from), ec))
    return Error{Errc::NotFound, "no such script"};
  if (!valid_name(to)) return Error{Errc::Invalid, "invalid script name"};
  if (fs::exists(path_of(user, to), ec)) return Error{Errc::Exists, "a script of that name exists"};
  auto act = active(user);
  if (!act) return act.error();
  bool was_active = *act && **act == from;
  // link + unlink rather than rename: rename would silently replace a
  // script created as `to` meanwhile.
  if (::link(path_of(user, from).c_str(), path_of(user, to).c_str()) != 0) {
    if (errno == EEXIST) return Error{Errc::Exists, "a script of that name exists"};
    return io_error("cannot rename", path_of(user, from));
  }
  if (was_active) {
    if (auto r = write_atomic(fs::path(dir_of(user)) / kActiveFile, to + "\n"); !r) {
      ::unlink(path_of(user, to).c_str());
      return r;
    }
  }
  if (::unlink(path_of(user, from).c_str()) != 0) return io_error("cannot remove", path_of(user, from));
  return fsync_dir(dir_of(user));
}

}  // namespace mailfort::sieve
