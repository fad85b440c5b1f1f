// Learning from users (the seed's antispam plugin): a COPY or MOVE into the
// Junk folder ([imap] junk_folder) teaches the spam filter "spam"; one out
// of Junk into any folder but Trash ([imap] trash_folder) teaches "ham".
// APPEND never learns. The learning itself runs on the FilterService's
// learner thread; the session only names the copies' files.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"

namespace mailfort::filter {
class FilterService;
}
namespace mailfort::store {
class UserMailbox;
}

namespace mailfort::imap {

enum class MoveLesson { None, Spam, Ham };

// What copying from folder `source` to `dest` (store names: "INBOX" for
// the inbox, else case-sensitive) teaches. Pure. Spam folders are [imap]
// junk_folder and the folders named "Junk" and "Spam"; out of one into
// another teaches nothing, nor into [imap] trash_folder.
MoveLesson lesson_of_copy(std::string_view source, std::string_view dest, const config::Imap& imap);

// Blocking (the mailbox index): hands the files of the copies `dest_uids`
// in `dest` to the filter's background learner for `user`. Never fails the
// copy: a lookup error is logged and nothing is learned.
void learn_from_copy(filter::FilterService& filter, store::UserMailbox& mailbox, const std::string& user,
                     std::string_view dest, const std::vector<uint32_t>& dest_uids, MoveLesson lesson);

}  // namespace mailfort::imap
