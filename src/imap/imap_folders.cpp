#include "imap/imap_session_impl.h"

// Folder commands: SELECT/EXAMINE and CLOSE/UNSELECT (in and out of the
// selected state), CREATE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS,
// NAMESPACE, GETQUOTA(ROOT). LIST/LSUB are in imap_list.cpp.
namespace mailfort::imap {

void ImapSession::deselect() {
  if (auto* s = selected()) {
    auto account = s->account;
    state_ = Authenticated{std::move(account)};
  }
}

asio::awaitable<bool> ImapSession::cmd_select(Command& c) {
  if (c.qresync && !qresync_) co_return co_await tagged(c.tag, "BAD", "QRESYNC not enabled");
  bool had = selected() != nullptr;
  deselect();
  if (had) untagged("OK [CLOSED] Previous mailbox closed");
  std::string name = from_wire(c.args[0]);
  auto* mb = account().mailbox.get();
  struct Opened {
    store::FolderStatus status;
    ImapView view;
    std::vector<std::string> keywords;
    uint32_t first_recent = UINT32_MAX;  // messages from this UID on are recent to the session
    std::string mailboxid;  // RFC 8474
  };
  // \Recent (IMAP4rev1 only): SELECT takes the folder's new messages for
  // this session, EXAMINE shows them without taking them.
  bool want_recent = !rev2_, claim_recent = !rev2_ && c.kind == CommandKind::Select;
  auto r = co_await blocking([&]() -> Result<Opened> {
    if (strcasecmp(name.c_str(), "INBOX") == 0) (void)mb->sync_inbox();
    auto st = mb->status(name);
    if (!st) return st.error();
    Opened s;
    s.status = *st;
    auto msgs = mb->messages(st->id);
    if (!msgs) return msgs.error();
    s.view.load(*msgs);
    if (want_recent && !msgs->empty()) {
      auto first = mb->take_recent(st->id, msgs->back().uid, claim_recent);
      if (first) s.first_recent = *first;
    }
    auto kw = mb->keywords(st->id);
    if (kw) s.keywords = std::move(*kw);
    if (auto id = mb->mailbox_id(st->id)) s.mailboxid = std::move(*id);
    return s;
  });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + "Mailbox does not exist");
  if (c.condstore) condstore_ = true;
  Selected opened;
  opened.account = std::get<Authenticated>(state_).account;
  opened.folder = r->status.id;
  opened.name = r->status.name;
  opened.view = std::move(r->view);
  opened.modseq_seen = r->status.highest_modseq;
  opened.uidvalidity = r->status.uidvalidity;
  opened.read_only = c.kind == CommandKind::Examine;
  for (auto& e : opened.view.entries())
    if (e.uid >= r->first_recent) opened.recent.insert(e.uid);
  opened.keywords.insert(r->keywords.begin(), r->keywords.end());
  state_ = std::move(opened);
  Selected& s = std::get<Selected>(state_);
  untagged(std::to_string(s.view.size()) + " EXISTS");
  s.recent_reported = static_cast<uint32_t>(s.recent.size());
  if (!rev2_) untagged(std::to_string(s.recent_reported) + " RECENT");
  announce_flags(s);
  if (!rev2_) {
    for (uint32_t seq = 1; seq <= s.view.size(); ++seq) {
      if (!(s.view.at(seq).flags & store::kSeen)) {
        untagged("OK [UNSEEN " + std::to_string(seq) + "] First unseen");
        break;
      }
    }
  }
  untagged("OK [UIDVALIDITY " + std::to_string(s.uidvalidity) + "] UIDs valid");
  untagged("OK [UIDNEXT " + std::to_string(r->status.uidnext) + "] Predicted next UID");
  untagged("OK [HIGHESTMODSEQ " + std::to_string(s.modseq_seen) + "] Highest");
  if (!r->mailboxid.empty()) untagged("OK [MAILBOXID (" + r->mailboxid + ")] Ok");
  if (c.qresync) co_await qresync_select(*c.qresync, std::get<Selected>(state_));
  if (rev2_) untagged("LIST () \"/\" " + quote(wire_name(s.name)));
  co_return co_await tagged(c.tag, "OK", (s.read_only ? "[READ-ONLY] " : "[READ-WRITE] ") + completed(c));
}

asio::awaitable<bool> ImapSession::cmd_close(Command& c, Selected& sel, bool expunge) {
  if (expunge && !sel.read_only) {
    auto* mb = sel.account->mailbox.get();
    int64_t folder = sel.folder;
    (void)co_await blocking([&] { return mb->expunge(folder, nullptr); });
  }
  deselect();
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_create(Command& c) {
  std::string name = from_wire(c.args[0]);
  while (!name.empty() && name.back() == '/') name.pop_back();  // "foo/" creates "foo"
  std::string use;
  for (auto& f : c.special_use) {
    static const char* allowed[] = {"\\Sent",    "\\Trash", "\\Junk",   "\\Drafts",
                                    "\\Archive", "\\All",   "\\Flagged"};
    bool ok = false;
    for (auto* a : allowed) ok = ok || strcasecmp(a, f.c_str()) == 0;
    if (!ok) co_return co_await tagged(c.tag, "NO", "[USEATTR] Unsupported special-use attribute");
    use = f;
  }
  if (strcasecmp(name.c_str(), "INBOX") == 0)
    co_return co_await tagged(c.tag, "NO", "[ALREADYEXISTS] INBOX always exists");
  auto* mb = account().mailbox.get();
  auto r = co_await blocking([&]() -> Result<std::string> {
    if (auto made = mb->create(name, use); !made) return made.error();
    auto st = mb->status(name);  // its MAILBOXID for the tagged OK (RFC 8474)
    if (!st) return std::string();
    auto id = mb->mailbox_id(st->id);
    return id ? *id : std::string();
  });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  // Built outside the co_await: GCC 12 destroys string temporaries of a
  // conditional expression inside one twice.
  std::string text = completed(c);
  if (!r->empty()) text = "[MAILBOXID (" + *r + ")] " + text;
  co_return co_await tagged(c.tag, "OK", std::move(text));
}

asio::awaitable<bool> ImapSession::cmd_delete(Command& c) {
  std::string name = from_wire(c.args[0]);
  if (auto* s = selected(); s && name == s->name) deselect();
  auto* mb = account().mailbox.get();
  auto r = co_await blocking([&] { return mb->remove(name); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_rename(Command& c) {
  std::string from = from_wire(c.args[0]), to = from_wire(c.args[1]);
  auto* mb = account().mailbox.get();
  auto r = co_await blocking([&] { return mb->rename(from, to); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  if (auto* s = selected(); s && (s->name == from || s->name.starts_with(from + "/"))) deselect();
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_subscribe(Command& c, bool on) {
  std::string name = from_wire(c.args[0]);
  auto* mb = account().mailbox.get();
  auto r = co_await blocking([&] { return mb->subscribe(name, on); });
  if (!r && on) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + "No such mailbox");
  co_return co_await tagged(c.tag, "OK", completed(c));
}

std::string ImapSession::status_line(const store::FolderStatus& f, const StatusItems& s,
                                     const std::string& mailboxid) {
  std::string items;
  auto add = [&](const char* k, uint64_t v) {
    items += (items.empty() ? "" : " ") + std::string(k) + " " + std::to_string(v);
  };
  if (s.messages) add("MESSAGES", f.messages);
  if (s.recent) add("RECENT", f.recent);
  if (s.uidnext) add("UIDNEXT", f.uidnext);
  if (s.uidvalidity) add("UIDVALIDITY", f.uidvalidity);
  if (s.unseen) add("UNSEEN", f.unseen);
  if (s.deleted) add("DELETED", f.deleted);
  if (s.size) add("SIZE", f.size);
  if (s.highestmodseq) add("HIGHESTMODSEQ", f.highest_modseq);
  if (s.mailboxid && !mailboxid.empty())
    items += (items.empty() ? "" : " ") + ("MAILBOXID (" + mailboxid + ")");
  return "STATUS " + quote(wire_name(f.name)) + " (" + items + ")";
}

asio::awaitable<bool> ImapSession::cmd_status(Command& c) {
  std::string name = from_wire(c.args[0]);
  auto* mb = account().mailbox.get();
  std::string mailboxid;
  auto st = co_await blocking([&] {
    if (strcasecmp(name.c_str(), "INBOX") == 0) (void)mb->sync_inbox();
    auto r = mb->status(name);
    if (r && c.status.mailboxid)
      if (auto id = mb->mailbox_id(r->id)) mailboxid = std::move(*id);
    return r;
  });
  if (!st) co_return co_await tagged(c.tag, "NO", error_code(st.error()) + "Mailbox does not exist");
  if (c.status.highestmodseq) enable_condstore();  // RFC 7162 3.1
  untagged(status_line(*st, c.status, mailboxid));
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_namespace(Command& c) {
  untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_quota(Command& c) {
  auto* mb = account().mailbox.get();
  uint64_t used = co_await blocking([&] { return mb->usage(); });
  uint64_t limit = mb->quota();
  if (c.kind == CommandKind::GetQuotaRoot) {
    untagged("QUOTAROOT " + quote(c.args[0]) + (limit ? " \"\"" : ""));
  } else if (!c.args[0].empty()) {
    co_return co_await tagged(c.tag, "NO", "[NONEXISTENT] No such quota root");
  }
  if (limit)
    untagged("QUOTA \"\" (STORAGE " + std::to_string((used + 1023) / 1024) + " " +
             std::to_string(limit / 1024) + ")");
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
