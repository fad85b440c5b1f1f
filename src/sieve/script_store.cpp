// PLACEHOLDER: replaced by the ManageSieve helper.
#include "sieve/script_store.h"

namespace mailfort::sieve {

ScriptStore::ScriptStore(std::string data_dir, ScriptQuota quota)
    : data_dir_(std::move(data_dir)), quota_(quota) {}
bool ScriptStore::valid_name(std::string_view name) {
  return !name.empty();
}
std::string ScriptStore::dir_of(const std::string& user) const {
  auto at = user.find('@');
  return data_dir_ + "/mailboxes/" + user.substr(at + 1) + "/" + user.substr(0, at) + "/sieve";
}
std::string ScriptStore::path_of(const std::string& user, const std::string& name) const {
  return dir_of(user) + "/" + name + ".sieve";
}
Result<std::vector<ScriptEntry>> ScriptStore::list(const std::string& user) const {
  return std::vector<ScriptEntry>{};
}
Result<std::string> ScriptStore::get(const std::string& user, const std::string& name) const {
  return Error{Errc::NotFound, "no such script"};
}
Result<std::optional<std::string>> ScriptStore::active(const std::string& user) const {
  return std::optional<std::string>{};
}
Space ScriptStore::have_space(const std::string& user, const std::string& name, uint64_t size) const {
  return Space::Ok;
}
Result<void> ScriptStore::put(const std::string& user, const std::string& name, std::string_view text) {
  return Error{Errc::Perm, "not implemented"};
}
Result<void> ScriptStore::activate(const std::string& user, const std::string& name) {
  return Error{Errc::Perm, "not implemented"};
}
Result<void> ScriptStore::remove(const std::string& user, const std::string& name) {
  return Error{Errc::Perm, "not implemented"};
}
Result<void> ScriptStore::rename(const std::string& user, const std::string& from, const std::string& to) {
  return Error{Errc::Perm, "not implemented"};
}

}  // namespace mailfort::sieve
