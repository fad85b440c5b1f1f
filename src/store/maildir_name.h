// Maildir unique file names, the one builder for every file the store
// creates (MailStore deliveries, UserMailbox APPEND and COPY):
//   <sec>.M<usec>P<pid>Q<seq>.<host>,S=<size>
// as Dovecot and Courier write them, so standard tools read the mailboxes;
// ",S=" lets quota scans and IMAP read the size from the name. Files in
// cur/ add the info part (":2,<flags>") themselves.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace mailfort::store {

// The host name as a name component: '/' and ':' (which starts the info
// part) become '_'.
std::string maildir_host(std::string_view hostname);

// A new unique name. `host` is maildir_host()'s; Q<seq> counts for the
// whole process, so two writers never make the same name in one
// microsecond. Thread-safe.
std::string maildir_unique_name(std::string_view host, std::size_t size);

}  // namespace mailfort::store
