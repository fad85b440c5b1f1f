#include "filter/rspamd_reply.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace mailfort::filter::rspamd {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxHeaderValue = 998;  // RFC 5322's line limit: Rspamd's HTTP parser needs no more
constexpr size_t kMaxErrorText = 200;    // of Rspamd's error text kept in our messages and logs

std::string error_text(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string())
    return header_value(j["error"].get<std::string>());
  return header_value(body.substr(0, kMaxErrorText));
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// A milter.add_headers value: a string, {"value": ..., "order": n}, or a
// list of either (one header field each).
void add_header_values(const std::string& name, const json& v, ScanResult& out) {
  if (v.is_string()) {
    out.add_headers.emplace_back(name, v.get<std::string>());
  } else if (v.is_object()) {
    auto value = v.find("value");
    if (value != v.end() && value->is_string()) out.add_headers.emplace_back(name, value->get<std::string>());
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (!item.is_array()) add_header_values(name, item, out);  // no lists of lists
    }
  }
}

}  // namespace

std::string header_value(std::string_view v) {
  std::string out;
  out.reserve(std::min(v.size(), kMaxHeaderValue));
  for (char c : v) {
    if (out.size() >= kMaxHeaderValue) break;
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    out.push_back(c);
  }
  return out;
}

Headers check_headers(const ScanInput& in) {
  Headers h;
  auto add = [&h](const char* name, std::string_view value) {
    std::string v = header_value(value);
    if (!v.empty()) h.emplace_back(name, std::move(v));
  };
  add("IP", in.ip);
  add("Helo", in.helo);
  // Rspamd reads an empty or absent From as "no envelope sender known";
  // "<>" tells it the sender was the null one (a bounce).
  h.emplace_back("From", in.sender.empty() ? std::string("<>") : header_value(in.sender));
  for (const auto& r : in.rcpts) add("Rcpt", r);
  add("User", in.auth_user);
  add("Queue-Id", in.queue_id);
  return h;
}

Headers learn_headers(std::string_view password, std::string_view user) {
  Headers h;
  if (!password.empty()) h.emplace_back("Password", header_value(password));
  if (!user.empty()) h.emplace_back("Deliver-To", header_value(user));
  return h;
}

Action action_from_name(std::string_view name) {
  if (name == "reject") return Action::Reject;
  if (name == "soft reject") return Action::SoftReject;
  if (name == "add header" || name == "rewrite subject") return Action::AddHeader;
  return Action::NoAction;  // "greylist", "no action"; we do not greylist by score
}

Result<ScanResult> parse_check_reply(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{Errc::Temp, "rspamd: the answer is not JSON"};
  if (j.contains("error")) return Error{Errc::Temp, "rspamd: " + error_text(body)};
  auto action = j.find("action");
  auto score = j.find("score");
  if (action == j.end() || !action->is_string() || score == j.end() || !score->is_number())
    return Error{Errc::Temp, "rspamd: the answer has no action or score"};

  ScanResult out;
  out.engine = "rspamd";
  out.action = action_from_name(action->get<std::string>());
  out.score = score->get<double>();
  if (auto r = j.find("required_score"); r != j.end() && r->is_number()) {
    out.required_score = r->get<double>();
    out.reject_score = out.required_score;
  }
  if (auto syms = j.find("symbols"); syms != j.end() && syms->is_object()) {
    for (const auto& [name, s] : syms->items()) {
      Symbol sym;
      sym.name = name;
      if (s.is_object()) {
        if (auto sc = s.find("score"); sc != s.end() && sc->is_number()) sym.score = sc->get<double>();
        if (auto opts = s.find("options"); opts != s.end() && opts->is_array()) {
          for (const auto& o : *opts)
            if (o.is_string()) sym.options.push_back(o.get<std::string>());
        }
      }
      out.symbols.push_back(std::move(sym));
    }
    std::sort(out.symbols.begin(), out.symbols.end(),
              [](const Symbol& a, const Symbol& b) { return a.name < b.name; });
  }
  if (auto m = j.find("messages"); m != j.end() && m->is_object()) {
    if (auto sm = m->find("smtp_message"); sm != m->end() && sm->is_string())
      out.reject_reason = header_value(sm->get<std::string>());
  }
  if (auto m = j.find("milter"); m != j.end() && m->is_object()) {
    if (auto add = m->find("add_headers"); add != m->end() && add->is_object()) {
      for (const auto& [name, v] : add->items()) add_header_values(name, v, out);
    }
    if (auto rm = m->find("remove_headers"); rm != m->end() && rm->is_object()) {
      for (const auto& [name, v] : rm->items()) out.remove_headers.push_back(name);
    }
  }
  return out;
}

Result<LearnOutcome> parse_learn_reply(long http_status, std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (http_status == 200 && j.is_object()) {
    auto ok = j.find("success");
    if (ok != j.end() && ok->is_boolean() && ok->get<bool>()) return LearnOutcome::Learned;
  }
  std::string why = error_text(body);
  if (contains(why, "already learned") || contains(why, "already in class") || http_status == 208)
    return LearnOutcome::AlreadyLearned;
  if (contains(why, "too few") || contains(why, "passthrough result")) return LearnOutcome::Skipped;
  if (http_status == 403 || http_status == 401)
    return Error{Errc::Denied, "rspamd controller refused the request (wrong rspamd_password_file?)"};
  if (why.empty()) why = "HTTP " + std::to_string(http_status);
  return Error{Errc::Temp, "rspamd: " + why};
}

}  // namespace mailfort::filter::rspamd
