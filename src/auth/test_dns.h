// Test support for src/auth unit tests: DNS answers from a map, every
// query recorded. Names not in the map are NXDOMAIN.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "auth/dns_source.h"

namespace mailfort::auth::test_support {

class MapDns final : public DnsSource {
 public:
  std::map<std::pair<std::string, dns::Type>, dns::Answer> answers;
  std::vector<std::string> asked;
  void txt(const std::string& name, std::vector<std::string> records) {
    dns::Answer a;
    a.status = dns::Answer::Status::Ok;
    a.txt = std::move(records);
    answers[{name, dns::Type::TXT}] = a;
  }
  void status(const std::string& name, dns::Type t, dns::Answer::Status s) {
    dns::Answer a;
    a.status = s;
    answers[{name, t}] = a;
  }
  dns::Answer query(const std::string& name, dns::Type type) override {
    asked.push_back(name);
    auto it = answers.find({name, type});
    if (it != answers.end()) return it->second;
    dns::Answer a;
    a.status = dns::Answer::Status::NxDomain;
    return a;
  }
};

}  // namespace mailfort::auth::test_support
