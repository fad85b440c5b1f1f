// Rspamd over HTTP with libcurl. The protocol (request headers, JSON
// answers) is in rspamd_reply.cpp; here is the transport: a small pool of
// curl easy handles, so consecutive scans reuse their keep-alive
// connections to the workers, bounded by [spam] timeout_seconds.
//
// Neither the controller password nor message text is ever logged: curl's
// verbose output stays off and errors carry only curl's or Rspamd's
// error text.
#include "filter/rspamd.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>

#include "base/log.h"
#include "filter/rspamd_reply.h"

namespace mailfort::filter {
namespace {

constexpr size_t kMaxReply = 4 << 20;   // bytes of an answer we read: a scan's JSON is a few KiB
constexpr size_t kMaxIdleHandles = 16;  // kept for reuse; more concurrent calls make their own

struct HttpReply {
  long status = 0;  // 0 = no HTTP answer (connection, timeout)
  std::string body;
  std::string error;  // curl's reason when status is 0
};

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t bytes = size * n;
  if (body->size() + bytes > kMaxReply) return 0;  // curl fails the transfer: CURLE_WRITE_ERROR
  body->append(data, bytes);
  return bytes;
}

// Easy handles for reuse: each keeps its connection cache, so a handle
// taken again talks to Rspamd over the connection it left open.
class HandlePool {
 public:
  ~HandlePool() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }
  CURL* take() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void give(CURL* h) {
    curl_easy_reset(h);  // options go, the connection cache stays
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

 private:
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

class RspamdEngine final : public SpamEngine {
 public:
  RspamdEngine(const config::Spam& cfg, std::string password) : cfg_(cfg), password_(std::move(password)) {}

  ScanResult scan(const ScanInput& in) override {
    ScanResult out;
    out.engine = "rspamd";
    if (in.message.size() > cfg_.max_scan_size) {
      out.failed = true;
      out.error = "message larger than [spam] max_scan_size: not scanned";
      return out;
    }
    HttpReply r = post(cfg_.rspamd_url + "/checkv2", rspamd::check_headers(in), in.message);
    if (r.status == 0) {
      out.failed = true;
      out.error = "rspamd unreachable: " + r.error;
      return out;
    }
    if (r.status != 200) {
      out.failed = true;
      out.error = "rspamd answered HTTP " + std::to_string(r.status);
      return out;
    }
    auto parsed = rspamd::parse_check_reply(r.body);
    if (!parsed) {
      out.failed = true;
      out.error = parsed.error().message;
      return out;
    }
    return std::move(parsed.value());
  }

  Result<LearnOutcome> learn(std::string_view message, bool spam, const std::string& user) override {
    std::string url = cfg_.rspamd_controller_url + (spam ? "/learnspam" : "/learnham");
    HttpReply r = post(url, rspamd::learn_headers(password_, user), message);
    if (r.status == 0) return Error{Errc::Temp, "rspamd controller unreachable: " + r.error};
    return rspamd::parse_learn_reply(r.status, r.body);
  }

 private:
  HttpReply post(const std::string& url, const rspamd::Headers& headers, std::string_view body) {
    HttpReply out;
    CURL* h = pool_.take();
    if (!h) {
      out.error = "curl_easy_init failed";
      return out;
    }
    curl_slist* list = nullptr;
    for (const auto& [name, value] : headers) list = curl_slist_append(list, (name + ": " + value).c_str());
    // Rspamd reads the body at once; no "Expect: 100-continue" round trip.
    list = curl_slist_append(list, "Expect:");
    list = curl_slist_append(list, "Content-Type: application/octet-stream");
    long timeout_ms = static_cast<long>(cfg_.timeout_seconds) * 1000;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 5000L));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for timeouts
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
    } else {
      out.error = curl_easy_strerror(rc);
      out.body.clear();
    }
    curl_slist_free_all(list);
    pool_.give(h);
    return out;
  }

  config::Spam cfg_;
  std::string password_;
  HandlePool pool_;
};

bool is_http_url(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

}  // namespace

std::unique_ptr<SpamEngine> make_rspamd_engine(const config::Spam& cfg) {
  if (!is_http_url(cfg.rspamd_url) || !is_http_url(cfg.rspamd_controller_url)) {
    spdlog::error("spam rspamd-config error={}",
                  log::quote("rspamd_url and rspamd_controller_url must be http:// or https:// URLs"));
    return nullptr;
  }
  std::string password;
  if (!cfg.rspamd_password_file.empty()) {
    std::ifstream f(cfg.rspamd_password_file);
    if (!f) {
      spdlog::error("spam rspamd-password-file-unreadable file={}", log::quote(cfg.rspamd_password_file));
      return nullptr;
    }
    std::getline(f, password);  // the first line; a trailing newline is not part of it
    while (!password.empty() && (password.back() == '\r' || password.back() == ' ')) password.pop_back();
  }
  // Thread-safe since curl 7.84 and idempotent: the first engine does it.
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) {
    spdlog::error("spam rspamd-curl-init-failed");
    return nullptr;
  }
  auto strip = [](std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  };
  config::Spam c = cfg;
  c.rspamd_url = strip(c.rspamd_url);
  c.rspamd_controller_url = strip(c.rspamd_controller_url);
  return std::make_unique<RspamdEngine>(c, std::move(password));
}

}  // namespace mailfort::filter
