#include "queue/queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/group_commit.h"

namespace mailfort::queue {
namespace {

constexpr std::string_view kMagic = "MAILFORT-QUEUE 1\n";

const char* state_name(Recipient::State s) {
  switch (s) {
    case Recipient::State::Pending:
      return "pending";
    case Recipient::State::Delivered:
      return "delivered";
    case Recipient::State::Failed:
      return "failed";
  }
  return "pending";
}

std::string new_id() {
  // Time-ordered (so `queue list` sorts by arrival) plus randomness.
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  unsigned char rnd[6];
  if (::getrandom(rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd)) std::memset(rnd, 0, sizeof rnd);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%010lx%05lx", static_cast<unsigned long>(tv.tv_sec),
                static_cast<unsigned long>(tv.tv_usec));
  std::string id(buf);
  static const char* hex = "0123456789abcdef";
  for (unsigned char b : rnd) {
    id.push_back(hex[b >> 4]);
    id.push_back(hex[b & 15]);
  }
  return id;
}

bool safe_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::string encode_envelope(const Envelope& e) {
  nlohmann::json j;
  j["id"] = e.id;
  j["sender"] = e.sender;
  j["arrival"] = e.arrival;
  j["next_attempt"] = e.next_attempt;
  j["smtputf8"] = e.smtputf8;
  j["eight_bit"] = e.eight_bit;
  j["authenticated_user"] = e.authenticated_user;
  if (e.delay_warned) j["delay_warned"] = true;  // absent in older files: false
  auto& rcpts = j["recipients"] = nlohmann::json::array();
  for (const auto& r : e.recipients) {
    rcpts.push_back({{"address", r.address},
                     {"state", state_name(r.state)},
                     {"attempts", r.attempts},
                     {"last_error", r.last_error}});
  }
  // dump() escapes control characters, so the envelope is one line.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Envelope> decode_envelope(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(Errc::Perm, "corrupt queue envelope");
  Envelope e;
  try {
    e.id = j.at("id").get<std::string>();
    e.sender = j.at("sender").get<std::string>();
    e.arrival = j.value("arrival", int64_t{0});
    e.next_attempt = j.value("next_attempt", int64_t{0});
    e.smtputf8 = j.value("smtputf8", false);
    e.eight_bit = j.value("eight_bit", false);
    e.authenticated_user = j.value("authenticated_user", std::string());
    e.delay_warned = j.value("delay_warned", false);
    for (const auto& r : j.at("recipients")) {
      Recipient rc;
      rc.address = r.at("address").get<std::string>();
      std::string st = r.value("state", std::string("pending"));
      rc.state = st == "delivered" ? Recipient::State::Delivered
                 : st == "failed"  ? Recipient::State::Failed
                                   : Recipient::State::Pending;
      rc.attempts = r.value("attempts", 0u);
      rc.last_error = r.value("last_error", std::string());
      e.recipients.push_back(std::move(rc));
    }
  } catch (const nlohmann::json::exception&) {
    return make_error(Errc::Perm, "corrupt queue envelope");
  }
  return e;
}

Queue::Queue(std::string data_dir, store::GroupCommit& commit)
    : data_dir_(std::move(data_dir)), commit_(commit) {
  ::mkdir((data_dir_ + "/queue").c_str(), 0700);
  ::mkdir((data_dir_ + "/queue/tmp").c_str(), 0700);
  ::mkdir((data_dir_ + "/queue/active").c_str(), 0700);
  ::mkdir((data_dir_ + "/queue/hold").c_str(), 0700);
}

Result<std::string> Queue::enqueue(Envelope envelope, std::string_view message) {
  auto step = prepare(envelope, message);
  if (!step) return step.error();
  auto r = commit_.commit({std::move(step.value())});
  if (!r) return r.error();
  notify(envelope.id);
  return envelope.id;
}

void Queue::set_listener(std::function<void(const std::string& id)> listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(listener);
}

void Queue::notify(const std::string& id) {
  std::lock_guard lock(listener_mu_);
  if (listener_) listener_(id);
}

Result<void> Queue::complete(const std::string& id) {
  if (auto r = remove(id); !r) return r;
  return commit_.commit({});  // syncfs: the unlink is on disk
}

Result<store::RenameStep> Queue::prepare(Envelope& envelope, std::string_view message) {
  if (envelope.id.empty()) envelope.id = new_id();
  if (envelope.arrival == 0) envelope.arrival = ::time(nullptr);
  if (envelope.next_attempt == 0) envelope.next_attempt = envelope.arrival;
  std::string tmp = data_dir_ + "/queue/tmp/" + envelope.id;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::Temp, "cannot create queue file: " + std::string(std::strerror(errno)));
  std::string head(kMagic);
  head += encode_envelope(envelope);
  head += '\n';
  bool ok = true;
  for (std::string_view part : {std::string_view(head), message}) {
    while (ok && !part.empty()) {
      ssize_t n = ::write(fd, part.data(), part.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        ok = false;
      else
        part.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    return make_error(Errc::Temp, "cannot write queue file: " + std::string(std::strerror(errno)));
  }
  return store::RenameStep{tmp, data_dir_ + "/queue/active/" + envelope.id};
}

namespace {
Result<std::pair<Envelope, std::size_t>> read_head(const std::string& path, std::string* message) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::NotFound, "no such queue file");
  std::string magic, line;
  std::getline(in, magic);
  if (magic + "\n" != kMagic) return make_error(Errc::Perm, "not a queue file");
  std::getline(in, line);
  auto env = decode_envelope(line);
  if (!env) return env.error();
  if (message) {
    std::ostringstream ss;
    ss << in.rdbuf();
    *message = ss.str();
  }
  return std::make_pair(std::move(env.value()), magic.size() + line.size() + 2);
}
}  // namespace

Result<Envelope> Queue::read_envelope(const std::string& id) {
  if (!safe_id(id)) return make_error(Errc::Invalid, "invalid queue id");
  auto r = read_head(data_dir_ + "/queue/active/" + id, nullptr);
  if (!r) return r.error();
  return std::move(r->first);
}

Result<std::string> Queue::read_message(const std::string& id) {
  if (!safe_id(id)) return make_error(Errc::Invalid, "invalid queue id");
  std::string msg;
  auto r = read_head(data_dir_ + "/queue/active/" + id, &msg);
  if (!r) return r.error();
  return msg;
}

Result<std::vector<std::string>> Queue::list() {
  std::vector<std::string> ids;
  DIR* d = ::opendir((data_dir_ + "/queue/active").c_str());
  if (!d) return make_error(Errc::Temp, "cannot read queue directory");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::vector<std::string>> Queue::list_held() {
  std::vector<std::string> ids;
  DIR* d = ::opendir((data_dir_ + "/queue/hold").c_str());
  if (!d) return ids;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<Envelope> Queue::read_held_envelope(const std::string& id) {
  if (!safe_id(id)) return make_error(Errc::Invalid, "invalid queue id");
  auto r = read_head(data_dir_ + "/queue/hold/" + id, nullptr);
  if (!r) return r.error();
  return std::move(r->first);
}

Result<void> Queue::update(const Envelope& envelope) {
  if (!safe_id(envelope.id)) return make_error(Errc::Invalid, "invalid queue id");
  std::string message;
  auto r = read_head(data_dir_ + "/queue/active/" + envelope.id, &message);
  if (!r) return r.error();
  // Same id: prepare() writes tmp/<id>, the commit renames it over active/<id>.
  Envelope copy = envelope;
  auto step = prepare(copy, message);
  if (!step) return step.error();
  return commit_.commit({std::move(step.value())});
}

Result<void> Queue::remove(const std::string& id) {
  if (!safe_id(id)) return make_error(Errc::Invalid, "invalid queue id");
  if (::unlink((data_dir_ + "/queue/active/" + id).c_str()) != 0 &&
      ::unlink((data_dir_ + "/queue/hold/" + id).c_str()) != 0)
    return make_error(Errc::NotFound, "no such queued message");
  return {};
}

Result<void> Queue::hold(const std::string& id) {
  if (!safe_id(id)) return make_error(Errc::Invalid, "invalid queue id");
  if (::rename((data_dir_ + "/queue/active/" + id).c_str(), (data_dir_ + "/queue/hold/" + id).c_str()) != 0)
    return make_error(Errc::NotFound, "no such active message");
  return {};
}

Result<void> Queue::release(const std::string& id) {
  if (!safe_id(id)) return make_error(Errc::Invalid, "invalid queue id");
  if (::rename((data_dir_ + "/queue/hold/" + id).c_str(), (data_dir_ + "/queue/active/" + id).c_str()) != 0)
    return make_error(Errc::NotFound, "no such held message");
  return {};
}

Result<std::size_t> Queue::flush() {
  auto ids = list();
  if (!ids) return ids.error();
  std::size_t n = 0;
  for (auto& id : *ids) {
    auto env = read_envelope(id);
    if (!env || env->next_attempt <= ::time(nullptr)) continue;
    env->next_attempt = ::time(nullptr);
    if (update(*env)) ++n;
  }
  return n;
}

void Queue::cleanup_tmp() {
  std::string tmp = data_dir_ + "/queue/tmp";
  DIR* d = ::opendir(tmp.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ::unlink((tmp + "/" + e->d_name).c_str());
  }
  ::closedir(d);
}

}  // namespace mailfort::queue
