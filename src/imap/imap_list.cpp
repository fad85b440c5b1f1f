#include "imap/imap_list.h"

#include <map>

#include "imap/imap_session_impl.h"

// LIST and LSUB: list_entries() decides what is listed (pure), cmd_list
// renders it with the attributes the client asked for.
namespace mailfort::imap {
namespace {

constexpr char kDelimiter = '/';

// The names above `name`: "a/b/c" -> "a", "a/b".
template <class F>
void for_each_parent(std::string_view name, F&& f) {
  for (std::size_t pos = name.find(kDelimiter); pos != std::string_view::npos;
       pos = name.find(kDelimiter, pos + 1))
    if (pos > 0) f(std::string(name.substr(0, pos)));
}

bool is_inbox_rooted(std::string_view name) {
  return name.starts_with("INBOX") && (name.size() == 5 || name[5] == kDelimiter);
}

}  // namespace

bool list_pattern_matches(std::string_view pattern, std::string_view name) {
  if (list_match(pattern, name, kDelimiter)) return true;
  if (!is_inbox_rooted(name)) return false;
  // INBOX is case-insensitive (RFC 9051 5.1): "inbox", "Inbox/%", "inb*".
  std::string p(pattern);
  static constexpr std::string_view kInbox = "INBOX";
  bool changed = false;
  for (std::size_t i = 0; i < p.size() && i < kInbox.size(); ++i) {
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(p[i])));
    if (u != kInbox[i]) break;
    changed = changed || u != p[i];
    p[i] = u;
  }
  return changed && list_match(p, name, kDelimiter);
}

std::vector<ListEntry> list_entries(const std::vector<ListFolder>& folders,
                                    const std::vector<std::string>& subscriptions, const ListQuery& q) {
  std::map<std::string, ListEntry> nodes;
  auto node = [&](const std::string& name) -> ListEntry& {
    auto& e = nodes[name];
    e.name = name;
    return e;
  };
  for (std::size_t i = 0; i < folders.size(); ++i) {
    auto& e = node(folders[i].name);
    e.exists = true;
    e.special_use = folders[i].special_use;
    e.folder = i;
    for_each_parent(folders[i].name, [&](const std::string& p) { node(p).has_children = true; });
  }
  for (const auto& s : subscriptions) node(s).subscribed = true;

  auto matches = [&](std::string_view name) {
    for (const auto& p : q.patterns)
      if (list_pattern_matches(p, name)) return true;
    return false;
  };
  auto meets = [&](const ListEntry& e) {
    if (q.lsub) return e.subscribed;
    if (q.select_subscribed && !e.subscribed) return false;
    if (q.select_special_use && e.special_use.empty()) return false;
    return q.select_subscribed || e.exists || e.has_children;
  };
  std::map<std::string, bool> out;  // name -> listed
  std::vector<std::string> unmatched;
  for (auto& [name, e] : nodes) {
    e.selected = meets(e);
    if (!e.selected) continue;
    if (matches(name))
      out[name] = true;
    else
      unmatched.push_back(name);
  }
  if (q.recursive_match || q.lsub) {
    for (const auto& name : unmatched) {
      for_each_parent(name, [&](const std::string& p) {
        if (!matches(p)) return;
        auto& e = node(p);
        e.child_subscribed = e.child_subscribed || q.select_subscribed || q.lsub;
        e.child_special_use = e.child_special_use || q.select_special_use;
        out[p] = true;
      });
    }
  }
  std::vector<ListEntry> entries;
  entries.reserve(out.size());
  for (const auto& [name, listed] : out) entries.push_back(nodes[name]);
  return entries;
}

asio::awaitable<bool> ImapSession::cmd_list(Command& c) {
  auto& l = c.list;
  bool lsub = c.kind == CommandKind::Lsub;
  if (!lsub && l.patterns.size() == 1 && l.patterns[0].empty() && !l.extended) {
    untagged("LIST (\\Noselect) \"/\" \"\"");  // the delimiter and root (RFC 9051 6.3.9)
    co_return co_await tagged(c.tag, "OK", completed(c));
  }
  auto* mb = account().mailbox.get();
  struct Listing {
    std::vector<store::FolderStatus> folders;
    std::vector<std::string> subscriptions;
    std::vector<std::string> mailboxids;  // by folder, for RETURN (STATUS (MAILBOXID)) (RFC 8474)
  };
  bool want_ids = l.return_status && l.return_status->mailboxid;
  auto listing = co_await blocking([&]() -> Result<Listing> {
    (void)mb->sync_inbox();
    auto folders = mb->folders();
    if (!folders) return folders.error();
    auto subs = mb->subscriptions();
    if (!subs) return subs.error();
    std::vector<std::string> ids(want_ids ? folders->size() : 0);
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (auto id = mb->mailbox_id((*folders)[i].id)) ids[i] = std::move(*id);
    return Listing{std::move(*folders), std::move(*subs), std::move(ids)};
  });
  if (!listing) co_return co_await tagged(c.tag, "NO", "[UNAVAILABLE] Cannot list folders");
  std::vector<ListFolder> folders;
  folders.reserve(listing->folders.size());
  for (const auto& f : listing->folders) folders.push_back({f.name, f.special_use});
  ListQuery q;
  q.lsub = lsub;
  q.select_subscribed = l.subscribed && !lsub;
  q.select_special_use = l.special_use;
  q.recursive_match = l.recursive_match;
  std::string ref = from_wire(l.reference);
  for (const auto& p : l.patterns) q.patterns.push_back(ref + from_wire(p));

  // \NonExistent is LIST-EXTENDED's (and IMAP4rev2's); other clients know \Noselect.
  const bool nonexistent = l.extended || rev2_;
  const bool show_subscribed = l.subscribed || l.return_subscribed;
  for (const auto& e : list_entries(folders, listing->subscriptions, q)) {
    std::string attrs;
    auto add = [&](std::string_view a) {
      if (!attrs.empty()) attrs += ' ';
      attrs += a;
    };
    std::string extra;
    if (lsub) {
      if (!e.selected || !e.exists) add("\\Noselect");
    } else {
      if (!e.exists) add(nonexistent ? "\\NonExistent" : "\\Noselect");
      if (e.has_children)
        add("\\HasChildren");
      else if (e.exists)
        add("\\HasNoChildren");
      if (e.subscribed && show_subscribed) add("\\Subscribed");
      if (e.exists && !e.special_use.empty()) add(e.special_use);
      if (l.extended && (e.child_subscribed || e.child_special_use)) {
        extra = " (\"CHILDINFO\" (";
        if (e.child_subscribed) extra += "\"SUBSCRIBED\"";
        if (e.child_special_use) extra += e.child_subscribed ? " \"SPECIAL-USE\"" : "\"SPECIAL-USE\"";
        extra += "))";
      }
    }
    untagged(std::string(lsub ? "LSUB" : "LIST") + " (" + attrs + ") \"/\" " + quote(wire_name(e.name)) +
             extra);
    if (l.return_status && e.exists)
      untagged(status_line(listing->folders[e.folder], *l.return_status,
                           want_ids ? listing->mailboxids[e.folder] : std::string()));
  }
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
