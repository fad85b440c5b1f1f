// What Sieve tests read from a message: header fields (unfolded, RFC 2047
// encoded words decoded to UTF-8), the addresses in address fields and
// their parts (RFC 5228 2.7.4, subaddress RFC 5233), the body as the body
// test sees it (RFC 5173: :raw, :content types, :text), and RFC 5322
// dates with their parts in any zone (RFC 5260). Pure, bounded by the
// message's size.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::sieve {

class MessageAccess {
 public:
  // `message` must outlive this object.
  explicit MessageAccess(std::string_view message);
  ~MessageAccess();
  MessageAccess(const MessageAccess&) = delete;
  MessageAccess& operator=(const MessageAccess&) = delete;

  std::string_view message() const { return message_; }
  std::size_t size() const { return message_.size(); }

  // Every field `name` (case-insensitive) of the top-level header in
  // order: value unfolded (CRLF before whitespace removed), leading and
  // trailing whitespace removed; encoded words decoded when `decode`.
  std::vector<std::string> header(std::string_view name, bool decode = true) const;
  bool has_header(std::string_view name) const;

  // The addr-specs ("local@domain", or "local" without a domain) of every
  // address in the fields `name`, in order; group names are skipped (a
  // field of empty groups only counts as its whole value, as below). A
  // field that is not an address list gives its whole value as one entry
  // (RFC 5228 2.7.4: implementations may match it as a string).
  std::vector<std::string> addresses(std::string_view name) const;

  // RFC 5173. body_raw: the body octets as they are, without the header.
  std::string_view body_raw() const;
  // The decoded (transfer encoding undone, charset to UTF-8) content of
  // every MIME part whose type matches one of `types`: "" matches all,
  // "text" a top-level type, "text/html" exactly. Multipart containers
  // contribute their preamble/epilogue only for "multipart" types, as
  // RFC 5173 5.2 describes.
  std::vector<std::string> body_content(const std::vector<std::string>& types) const;
  // :text = the text/* parts decoded, as the RFC's "text" extraction.
  std::vector<std::string> body_text() const;

 private:
  struct Impl;
  std::string_view message_;
  Impl* impl_;
};

// RFC 5228 2.7.4 and RFC 5233: "localpart", "domain", "all", "user",
// "detail" of an address. nullopt where the part does not exist (":detail"
// of an address without the separator): such a value matches nothing.
enum class AddressPart { All, LocalPart, Domain, User, Detail };
std::optional<std::string> address_part(std::string_view address, AddressPart part,
                                        std::string_view separator = "+");

// RFC 5260. A point in time with the zone it was written in.
struct DateTime {
  int64_t utc = 0;       // seconds since the epoch
  int zone_minutes = 0;  // offset east of UTC as written (+0130 = 90)
};
// An RFC 5322 date-time (obsolete forms and named zones accepted).
std::optional<DateTime> parse_date(std::string_view value);
// "+0100" / "-0530" -> minutes; nullopt when malformed.
std::optional<int> parse_zone(std::string_view zone);
// The date part ("year", "month", "day", "date", "julian", "hour",
// "minute", "second", "time", "iso8601", "std11", "zone", "weekday") of
// `dt` shown in `zone_minutes`; nullopt for an unknown part.
std::optional<std::string> date_part(const DateTime& dt, std::string_view part, int zone_minutes);
bool is_date_part(std::string_view part);

}  // namespace mailfort::sieve
