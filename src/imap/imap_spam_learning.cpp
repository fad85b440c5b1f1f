#include "imap/imap_spam_learning.h"

#include <spdlog/spdlog.h>

#include "base/log.h"
#include "base/text.h"
#include "filter/filter_service.h"
#include "store/mailbox.h"

namespace mailfort::imap {
namespace {

// The store's folder identity: INBOX in any case, every other name exactly.
bool same_folder(std::string_view a, std::string_view b) {
  if (iequals(a, "INBOX") || iequals(b, "INBOX")) return iequals(a, b);
  return a == b;
}

// Spam folders, as Dovecot's antispam plugin takes a list (antispam_spam =
// Junk;Spam): the configured one, and the two names clients create
// themselves (Thunderbird and most clients "Junk", the seed's "Spam").
bool is_spam_folder(std::string_view name, const config::Imap& imap) {
  return same_folder(name, imap.junk_folder) || name == "Junk" || name == "Spam";
}

}  // namespace

MoveLesson lesson_of_copy(std::string_view source, std::string_view dest, const config::Imap& imap) {
  bool from_junk = is_spam_folder(source, imap);
  bool to_junk = is_spam_folder(dest, imap);
  if (to_junk) return from_junk ? MoveLesson::None : MoveLesson::Spam;
  if (from_junk && !same_folder(dest, imap.trash_folder)) return MoveLesson::Ham;
  return MoveLesson::None;
}

void learn_from_copy(filter::FilterService& filter, store::UserMailbox& mailbox, const std::string& user,
                     std::string_view dest, const std::vector<uint32_t>& dest_uids, MoveLesson lesson) {
  if (lesson == MoveLesson::None || dest_uids.empty()) return;
  auto files = mailbox.files(dest, dest_uids);
  if (!files) {
    spdlog::warn("spam learn-skipped user={} folder={} error={}", log::quote(user),
                 log::quote(std::string(dest)), log::quote(files.error().message));
    return;
  }
  filter.learn_in_background(user, std::move(files).value(), lesson == MoveLesson::Spam);
}

}  // namespace mailfort::imap
