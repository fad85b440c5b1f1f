#include "imap/imap_session_impl.h"
#include "proto/mime/mime.h"

// SORT and UID SORT (RFC 5256, SORT=DISPLAY of RFC 5957, ESORT of RFC
// 5267) and THREAD / UID THREAD (REFERENCES, ORDEREDSUBJECT): the search
// program is matched on the worker pool like SEARCH's, the header facts
// (Date, Subject, From/To/Cc, Message-ID, References, In-Reply-To) are read
// from the matching messages' header blocks, and the pure algorithms of
// proto/imap/sort.h order and thread them. Only US-ASCII and UTF-8 are
// accepted as the charset (NO [BADCHARSET] otherwise).
namespace mailfort::imap {
namespace {

std::string_view header_block(std::string_view message) {
  auto end = message.find("\r\n\r\n");
  if (end != std::string_view::npos) return message.substr(0, end + 2);
  end = message.find("\n\n");
  return end == std::string_view::npos ? message : message.substr(0, end + 1);
}

std::string first_value(std::string_view header, std::string_view name) {
  auto v = proto::mime::header_values(header, name);
  return v.empty() ? std::string() : std::move(v[0]);
}

std::string trimmed(std::string s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.back())) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && blank(s[i])) ++i;
  return s.substr(i);
}

// SORT FROM/TO/CC: the first address's mailbox (RFC 5256 3).
std::string mailbox_key(std::string_view value) {
  auto a = proto::imap::first_address(value);
  return a ? proto::imap::casemap(a->mailbox) : std::string();
}

// SORT DISPLAYFROM/DISPLAYTO: the first address's display name, else its
// addr-spec (RFC 5957 2).
std::string display_key(std::string_view value) {
  auto a = proto::imap::first_address(value);
  if (!a) return {};
  std::string name = trimmed(proto::mime::decode_header_value(a->name));
  if (name.empty()) name = a->domain.empty() ? a->mailbox : a->mailbox + "@" + a->domain;
  return proto::imap::casemap(name);
}

void fill_facts(EvaluatedMessage& m, std::string_view message, const store::MessageMeta& meta,
                NeedFacts need) {
  std::string_view header = header_block(message);
  bool reply = false;
  std::string subject = proto::imap::casemap(
      proto::imap::base_subject(proto::mime::decode_header_value(first_value(header, "Subject")), &reply));
  auto date = proto::imap::rfc5322_date_time(first_value(header, "Date"));
  int64_t sent = date ? *date : meta.internal_date;  // RFC 5256: else the internal date
  if (need == NeedFacts::Sort) {
    m.sort.sent = sent;
    m.sort.subject = std::move(subject);
    std::string from = first_value(header, "From"), to = first_value(header, "To");
    m.sort.from = mailbox_key(from);
    m.sort.to = mailbox_key(to);
    m.sort.cc = mailbox_key(first_value(header, "Cc"));
    m.sort.display_from = display_key(from);
    m.sort.display_to = display_key(to);
  } else if (need == NeedFacts::Thread) {
    auto& t = m.thread;
    t.sent = sent;
    t.subject = std::move(subject);
    t.reply = reply;
    auto id = proto::imap::message_ids(first_value(header, "Message-ID"), 1);
    if (!id.empty()) t.message_id = std::move(id[0]);
    t.references = proto::imap::message_ids(first_value(header, "References"));
    if (t.references.empty()) t.references = proto::imap::message_ids(first_value(header, "In-Reply-To"), 1);
  }
}

bool charset_ok(const std::string& charset) {
  return charset == "US-ASCII" || charset == "UTF-8";
}

}  // namespace

std::vector<EvaluatedMessage> evaluate_messages(store::UserMailbox& mb, int64_t folder,
                                                const std::vector<ImapView::Entry>& view,
                                                const SearchKey& key, NeedFacts need,
                                                const std::vector<uint32_t>* seqs, bool keep_unmatched,
                                                std::size_t max_header, const std::set<uint32_t>* recent) {
  std::vector<EvaluatedMessage> out;
  auto all = mb.messages(folder);
  if (!all) return out;
  bool text = search_needs_text(key);
  uint32_t max_uid = view.empty() ? 0 : view.back().uid;
  auto meta = all->begin();
  // Matches whose facts come from the batched header read: (out index, meta).
  std::vector<std::pair<std::size_t, store::MessageMeta>> pending;
  std::size_t count = seqs ? seqs->size() : view.size();
  for (std::size_t k = 0; k < count; ++k) {
    std::size_t i = seqs ? (*seqs)[k] - 1 : k;
    if (i >= view.size()) break;
    // Both in ascending UID order: merge.
    while (meta != all->end() && meta->uid < view[i].uid) ++meta;
    if (meta == all->end() || meta->uid != view[i].uid) continue;  // expunged meanwhile
    SearchFacts f =
        search_facts(*meta, static_cast<uint32_t>(i + 1), static_cast<uint32_t>(view.size()), max_uid, recent);
    std::string body;
    if (text) {
      auto r = mb.read(folder, f.uid);
      if (!r) continue;
      body = std::move(*r);
      f.message = body;
    }
    EvaluatedMessage m;
    m.seq = f.seq;
    m.uid = f.uid;
    m.matched = search_matches(key, f);
    if (!m.matched && !keep_unmatched) continue;
    m.sort.id = m.thread.id = f.uid;
    m.sort.seq = m.thread.seq = f.seq;
    m.sort.arrival = m.sort.sent = m.thread.sent = meta->internal_date;
    m.sort.size = meta->size;
    if (m.matched && need != NeedFacts::None) {
      if (text)
        fill_facts(m, header_block(body), *meta, need);
      else
        pending.emplace_back(out.size(), *meta);
    }
    out.push_back(std::move(m));
  }
  if (pending.empty()) return out;
  std::vector<uint32_t> uids;
  uids.reserve(pending.size());
  for (auto& [at, m] : pending) uids.push_back(m.uid);
  auto headers = mb.headers(folder, uids, max_header);
  if (!headers) return out;  // the internal dates stand in
  for (std::size_t k = 0; k < pending.size(); ++k)
    if ((*headers)[k]) fill_facts(out[pending[k].first], *(*headers)[k], pending[k].second, need);
  return out;
}

std::string ordered_set_text(const std::vector<uint32_t>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(ids[i]);
    if (j > i) out += ":" + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

asio::awaitable<bool> ImapSession::cmd_sort(Command& c, Selected& sel) {
  if (!charset_ok(c.charset))
    co_return co_await tagged(c.tag, "NO", "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
  bool headers = std::any_of(c.sort.begin(), c.sort.end(), [](const SortCriterion& k) {
    return k.key != SortKey::Arrival && k.key != SortKey::Size;
  });
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  std::vector<ImapView::Entry> view = sel.view.entries();
  const SearchKey& key = c.search;
  std::size_t max_header = cfg_->smtp.max_header_size;  // nothing longer is accepted by SMTP
  std::set<uint32_t> recent_uids = sel.recent;
  const std::set<uint32_t>* recent = rev2_ ? nullptr : &recent_uids;  // IMAP4rev2 has no \Recent
  auto found = co_await blocking([&] {
    return evaluate_messages(*mb, folder, view, key, headers ? NeedFacts::Sort : NeedFacts::None, nullptr,
                             false, max_header, recent);
  });
  std::vector<SortFacts> facts;
  facts.reserve(found.size());
  for (auto& m : found) facts.push_back(std::move(m.sort));  // id = UID, seq = message number
  std::vector<uint32_t> uids = sort_messages(facts, c.sort);
  std::vector<uint32_t> ids = uids;
  if (!c.uid)
    for (auto& id : ids) id = sel.view.seq_of_uid(id);
  if (c.search_esearch) {
    for (auto& f : facts) f.seq = f.id;  // a context orders by UID, which outlives message numbers
    co_return co_await context_result(c, sel, std::move(ids), std::move(uids), std::move(facts), true);
  }
  std::string line = "SORT";
  for (uint32_t id : ids) line += " " + std::to_string(id);
  untagged(line);
  co_await updates(sel, false);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_thread(Command& c, Selected& sel) {
  if (!charset_ok(c.charset))
    co_return co_await tagged(c.tag, "NO", "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  std::vector<ImapView::Entry> view = sel.view.entries();
  const SearchKey& key = c.search;
  std::size_t max_header = cfg_->smtp.max_header_size;
  std::set<uint32_t> recent_uids = sel.recent;
  const std::set<uint32_t>* recent = rev2_ ? nullptr : &recent_uids;
  auto found = co_await blocking([&] {
    return evaluate_messages(*mb, folder, view, key, NeedFacts::Thread, nullptr, false, max_header, recent);
  });
  std::vector<ThreadFacts> facts;
  facts.reserve(found.size());
  for (auto& m : found) {
    m.thread.id = c.uid ? m.uid : m.seq;
    facts.push_back(std::move(m.thread));
  }
  std::string text =
      c.thread_algorithm == "ORDEREDSUBJECT" ? thread_orderedsubject(facts) : thread_references(facts);
  untagged(text.empty() ? "THREAD" : "THREAD " + text);
  co_await updates(sel, false);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
