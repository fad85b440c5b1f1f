// The one table of configuration keys. Adding a key: add the field with its
// default to config.h, then one entry here; parsing, unknown-key rejection
// and docs/configuration.md follow.
#include "base/config_keys.h"

#include <fmt/format.h>

namespace mailfort::config::schema {
namespace {

template <class Get>
Key string_key(std::string_view name, Get get, std::string_view doc, bool required = false,
               bool path = false) {
  Key k{name, path ? Kind::Path : Kind::String};
  k.doc = doc;
  k.required = required;
  k.show = [get](const Config& c) {
    auto& v = get(const_cast<Config&>(c));
    return v.empty() ? std::string("(none)") : "\"" + v + "\"";
  };
  k.set = [get](Config& c, const toml::node& n, std::string& err) {
    if (!n.is_string()) {
      err = "must be a string";
      return false;
    }
    get(c) = *n.value<std::string>();
    return true;
  };
  return k;
}

template <class Get>
Key path_key(std::string_view name, Get get, std::string_view doc, bool required = false) {
  return string_key(name, get, doc, required, true);
}

template <class Get>
Key bool_key(std::string_view name, Get get, std::string_view doc) {
  Key k{name, Kind::Bool};
  k.doc = doc;
  k.show = [get](const Config& c) {
    return get(const_cast<Config&>(c)) ? std::string("true") : std::string("false");
  };
  k.set = [get](Config& c, const toml::node& n, std::string& err) {
    if (!n.is_boolean()) {
      err = "must be true or false";
      return false;
    }
    get(c) = *n.value<bool>();
    return true;
  };
  return k;
}

template <class Get>
Key uint_key(std::string_view name, Get get, uint64_t min, uint64_t max, std::string_view doc,
             std::string_view why) {
  Key k{name, Kind::UInt, min, max};
  k.doc = doc;
  k.why = why;
  k.show = [get](const Config& c) { return std::to_string(get(const_cast<Config&>(c))); };
  k.set = [get, min, max](Config& c, const toml::node& n, std::string& err) {
    if (!n.is_integer()) {
      err = "must be an integer";
      return false;
    }
    int64_t v = *n.value<int64_t>();
    if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max) {
      err = fmt::format("must be between {} and {}", min, max);
      return false;
    }
    using T = std::remove_reference_t<decltype(get(c))>;
    get(c) = static_cast<T>(v);
    return true;
  };
  return k;
}

template <class Get>
Key number_key(std::string_view name, Get get, uint64_t min, uint64_t max, std::string_view doc) {
  Key k{name, Kind::Number, min, max};
  k.doc = doc;
  k.show = [get](const Config& c) { return fmt::format("{:.1f}", get(const_cast<Config&>(c))); };
  k.set = [get, min, max](Config& c, const toml::node& n, std::string& err) {
    if (!n.is_number()) {
      err = "must be a number";
      return false;
    }
    double v = n.is_integer() ? static_cast<double>(*n.value<int64_t>()) : *n.value<double>();
    if (!(v >= static_cast<double>(min) && v <= static_cast<double>(max))) {
      err = fmt::format("must be between {} and {}", min, max);
      return false;
    }
    get(c) = v;
    return true;
  };
  return k;
}

template <class Get>
Key enum_key(std::string_view name, Get get, std::vector<std::string_view> allowed, std::string_view doc) {
  Key k{name, Kind::Enum};
  k.allowed = allowed;
  k.doc = doc;
  k.show = [get](const Config& c) { return "\"" + get(const_cast<Config&>(c)) + "\""; };
  k.set = [get, allowed](Config& c, const toml::node& n, std::string& err) {
    auto v = n.value<std::string>();
    if (!n.is_string() || std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
      err = "must be one of:";
      for (auto a : allowed) err += " " + std::string(a);
      return false;
    }
    get(c) = *v;
    return true;
  };
  return k;
}

template <class Get>
Key string_array_key(std::string_view name, Get get, std::string_view doc) {
  Key k{name, Kind::StringArray};
  k.doc = doc;
  k.show = [get](const Config& c) {
    auto& v = get(const_cast<Config&>(c));
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
    return s + "]";
  };
  k.set = [get](Config& c, const toml::node& n, std::string& err) {
    const auto* arr = n.as_array();
    if (!arr) {
      err = "must be an array of strings";
      return false;
    }
    std::vector<std::string> out;
    for (const auto& e : *arr) {
      if (!e.is_string()) {
        err = "must be an array of strings";
        return false;
      }
      out.push_back(*e.value<std::string>());
    }
    get(c) = std::move(out);
    return true;
  };
  return k;
}

#define F(expr)             \
  [](Config & c) -> auto& { \
    return c.expr;          \
  }

std::vector<Key> make_keys() {
  constexpr uint64_t kYear = 365ull * 24 * 3600;
  return {
      string_key("hostname", F(hostname), "Fully qualified name of this server (EHLO, banners, Received).",
                 true),
      path_key("data_dir", F(data_dir), "Directory for mailboxes, queue and state databases.", true),
      string_key("run_as", F(run_as),
                 "Unprivileged user the server switches to after binding its ports when started as root."),

      path_key("tls.cert", F(tls.cert), "PEM certificate chain (leaf first). Reloaded on SIGHUP."),
      path_key("tls.key", F(tls.key), "PEM private key of the certificate. Reloaded on SIGHUP."),
      enum_key("tls.min_version", F(tls.min_version), {"1.2", "1.3"}, "Lowest TLS version accepted."),
      string_key("tls.ciphers", F(tls.ciphers),
                 "TLS 1.2 cipher list (OpenSSL syntax); empty = AEAD ciphers with ECDHE only."),
      string_key("tls.ciphersuites", F(tls.ciphersuites),
                 "TLS 1.3 cipher suites; empty = OpenSSL's default."),

      string_array_key("dns.resolvers", F(dns.resolvers),
                       "Forwarding resolvers as \"ip:port\"; empty = the nameservers of /etc/resolv.conf."),
      bool_key("dns.recursion", F(dns.recursion), "Resolve from the root servers instead of forwarding."),
      path_key("dns.trust_anchor", F(dns.trust_anchor),
               "DNSSEC trust anchor file (e.g. /usr/share/dns/root.key)."),

      enum_key("directory.backend", F(directory.backend), {"sqlite", "mysql", "postgresql"},
               "Where domains, accounts and aliases live: the embedded SQLite file, or a MariaDB/MySQL or "
               "PostgreSQL server (the guide's vmail schema as is; several nodes can share it)."),
      path_key("directory.path", F(directory.path), "SQLite file; default <data_dir>/directory.sqlite."),
      string_key("directory.url", F(directory.url),
                 "The database server for mysql/postgresql: \"mysql://vmail@127.0.0.1:3306/vmail\", "
                 "\"postgresql://vmail@127.0.0.1/vmail\", a unix socket with ?socket=PATH (mysql) or "
                 "?host=DIR (postgresql). No password here: see password_file."),
      path_key("directory.password_file", F(directory.password_file),
               "File whose first line is the database password (keep it mode 0600)."),
      enum_key("directory.tls", F(directory.tls), {"none", "require", "verify"},
               "TLS to the database server: require encrypts, verify also checks its certificate and name."),
      path_key("directory.tls_ca_file", F(directory.tls_ca_file),
               "CA bundle for tls = \"verify\"; empty = the system's."),
      uint_key("directory.pool_size", F(directory.pool_size), 1, 256,
               "Connections to the database server per process (opened on demand).",
               "the database's max_connections is shared by every node"),
      uint_key("directory.cache_seconds", F(directory.cache_seconds), 0, 3600,
               "How long a lookup on a database server (domain, account, alias, TLS policy; found or not) "
               "is remembered; 0 = ask every time. Changes made by this process's CLI/API clear it at once; "
               "other writers are seen within this time.",
               "bounds how long another node's change takes to show"),
      uint_key("directory.connect_timeout_seconds", F(directory.connect_timeout_seconds), 1, 120,
               "Longest a connection to the database server may take to open.",
               "a down database must not hold sessions"),
      string_key("directory.queries.domain", F(directory.queries.domain),
                 "Own schema: returns a row when :domain is a local domain. Empty = the guide's tables."),
      string_key("directory.queries.user", F(directory.queries.user),
                 "Own schema: one row of username, domain, password, quota (MB), enabled, sendonly for "
                 ":username/:domain (:address is the whole address)."),
      string_key("directory.queries.password", F(directory.queries.password),
                 "Own schema: one row of password, enabled for a login (:username, :domain, :address)."),
      string_key("directory.queries.aliases", F(directory.queries.aliases),
                 "Own schema: the enabled destinations of :address (\"@domain\" for a catch-all; "
                 ":username is empty then), as rows of username, domain or one column of addresses "
                 "(comma-separated lists are split)."),
      string_key("directory.queries.tls_policy", F(directory.queries.tls_policy),
                 "Own schema: one row of policy, params for :domain."),

      enum_key("state.backend", F(state.backend), {"local", "redis"},
               "Where bans, failure counts, sending-limit counters, greylisting, DNSBL/MTA-STS caches and "
               "Bayes statistics live: this node only, or Redis shared by every node (local state is used "
               "while Redis is unreachable)."),
      string_key("state.redis_url", F(state.redis_url),
                 "\"redis://127.0.0.1:6379/0\", \"rediss://host:6380/0\" (TLS) or "
                 "\"unix:///run/redis/redis.sock?db=0\". No password here: see redis_password_file."),
      path_key("state.redis_password_file", F(state.redis_password_file),
               "File whose first line is the Redis password (AUTH)."),
      path_key("state.redis_tls_ca_file", F(state.redis_tls_ca_file),
               "CA bundle for rediss://; empty = the system's."),
      string_key("state.redis_key_prefix", F(state.redis_key_prefix),
                 "Prefix of every Redis key Mailfort writes (nodes of one cluster share it)."),
      uint_key("state.redis_timeout_ms", F(state.redis_timeout_ms), 10, 60000,
               "Longest a Redis connect or command may take before local state is used.",
               "a slow Redis must not hold sessions"),
      uint_key("directory.auth_cache_seconds", F(directory.auth_cache_seconds), 0, 86400,
               "How long a verified password is remembered (as a keyed hash, tied to the stored hash, so a "
               "password change ends it at once); 0 verifies every login.",
               "Argon2id costs ~0.1-0.3 s and 64 MiB per login; clients that log in every few minutes "
               "would otherwise keep the CPU busy"),
      uint_key("directory.auth_cache_entries", F(directory.auth_cache_entries), 1, 10000000,
               "Most verified passwords remembered at once (about 300 bytes each).", "bounds memory"),

      uint_key("limits.max_connections", F(limits.max_connections), 1, 1000000,
               "Connections open at once, all listeners together.",
               "caps memory and file descriptors under a connection flood"),
      uint_key("limits.max_connections_per_ip", F(limits.max_connections_per_ip), 1, 100000,
               "Connections open at once from one client IP, all listeners together.",
               "one host cannot take all connection slots"),
      uint_key("limits.auth_failures_before_ban", F(limits.auth_failures_before_ban), 0, 1000,
               "Failed logins from one IP within the ban window that ban it (0 = never ban).",
               "password guessing (fail2ban built in)"),
      uint_key("limits.ban_window_seconds", F(limits.ban_window_seconds), 1, kYear,
               "Window in which failed logins are counted.", "how long failures are remembered"),
      uint_key("limits.ban_duration_seconds", F(limits.ban_duration_seconds), 1, kYear,
               "How long a ban lasts.", "slows guessing to a handful of tries per ban period"),
      uint_key("limits.max_line_length", F(limits.max_line_length), 512, 65536,
               "Longest command line accepted (RFC 5321 requires at least 512).",
               "bounds memory per connection while a line is read"),
      uint_key("limits.idle_timeout_seconds", F(limits.idle_timeout_seconds), 10, 3600,
               "Time a client may take to send a whole command line (one deadline per line, not per read: "
               "trickled bytes do not extend it) before it is disconnected.",
               "idle connections hold slots and memory (RFC 5321 suggests 5 min)"),
      uint_key("limits.tls_handshake_timeout_seconds", F(limits.tls_handshake_timeout_seconds), 1, 600,
               "Time allowed for a TLS handshake.", "slow handshakes hold slots and CPU"),
      uint_key("limits.max_auth_failures_per_connection", F(limits.max_auth_failures_per_connection), 1, 100,
               "Failed logins after which one connection is closed.", "guessing without reconnecting"),
      uint_key("limits.ipv6_prefix_length", F(limits.ipv6_prefix_length), 32, 128,
               "IPv6 clients are counted per network of this prefix length for bans and "
               "max_connections_per_ip (\"2001:db8:1:2::/64\" in `mailfort ban list`); IPv4 clients per "
               "address.",
               "one IPv6 host usually holds a whole /64 and could take a fresh address for every "
               "connection or guess"),
      uint_key("limits.min_data_rate_bytes_per_second", F(limits.min_data_rate_bytes_per_second), 0, 1u << 30,
               "Slowest transfer accepted for a message (SMTP DATA, BDAT) or an IMAP literal: each read "
               "earns bytes/rate seconds more, never beyond idle_timeout_seconds ahead, like Postfix's "
               "smtpd_min_data_rate (default 500 as there); 0 gives every read the whole idle timeout.",
               "without it a client trickling one byte every few seconds holds a connection forever "
               "(slowloris); 500 bytes/s is far below any real link"),
      uint_key("limits.unauthenticated_session_seconds", F(limits.unauthenticated_session_seconds), 5, 86400,
               "Total time an IMAP, POP3 or submission/SMTPS session may take to log in; then it gets a "
               "goodbye (* BYE, -ERR, 421 4.4.2) and is closed. Port 25 and trusted networks never log "
               "in and are bounded by the per-line deadline and the data rate instead.",
               "unauthenticated sessions are free for an attacker to open; a real client logs in within "
               "seconds (Dovecot closes pre-login connections after a similar time)"),
      uint_key("limits.send_per_hour_mailbox", F(limits.send_per_hour_mailbox), 0, 10000000,
               "Messages one authenticated account may submit per hour, sliding window (0 = unlimited). "
               "One message counts once, whatever its number of recipients (see "
               "send_recipients_per_hour_mailbox); over the limit MAIL FROM gets 450 4.7.1. "
               "`mailfort user limit` overrides it per account.",
               "500/h is far above what a person sends but stops a stolen password from sending a spam "
               "run of 100,000 messages before anyone notices"),
      uint_key("limits.send_per_hour_domain", F(limits.send_per_hour_domain), 0, 10000000,
               "Messages all accounts of one domain together may submit per hour (0 = unlimited). "
               "`mailfort domain limit` overrides it per domain.",
               "unlimited by default: domains range from one person to a whole company, so a useful "
               "number is the admin's; each account is already capped"),
      uint_key("limits.send_per_hour_server", F(limits.send_per_hour_server), 0, 10000000,
               "Messages submitted per hour on the whole server: authenticated accounts plus all "
               "mail from smtp.trusted_networks without AUTH (0 = unlimited). Inbound mail for local "
               "users from other hosts does not count. Counts live in memory; a restart forgets them.",
               "a backstop for the server's IP reputation when many accounts or a trusted host are "
               "compromised; unlimited by default because a trusted application may send bulk mail "
               "legitimately"),
      uint_key("limits.send_recipients_per_hour_mailbox", F(limits.send_recipients_per_hour_mailbox), 0,
               100000000,
               "Recipients of the messages one authenticated account submits per hour, sliding window "
               "(0 = unlimited); over the limit RCPT TO gets 450 4.7.1.",
               "the message limit alone still lets 500 messages of 100 recipients each through; 2000/h "
               "covers a person writing to a large list and stops a bulk run"),

      uint_key("smtp.max_message_size", F(smtp.max_message_size), 1024, 2ull * 1024 * 1024 * 1024,
               "Largest message accepted, in bytes (advertised as SIZE).", "disk and memory per message"),
      uint_key("smtp.max_recipients", F(smtp.max_recipients), 1, 10000, "Recipients per message.",
               "limits the fan-out of one message (452 4.5.3 beyond)"),
      string_key("smtp.greeting", F(smtp.greeting), "Text after the host name in the 220 greeting."),
      bool_key("smtp.auth_on_mx", F(smtp.auth_on_mx),
               "Also offer AUTH (after STARTTLS) on smtp (port 25) listeners."),
      string_array_key("smtp.trusted_networks", F(smtp.trusted_networks),
                       "Client networks (CIDR) allowed to relay without AUTH, like Postfix's mynetworks."),
      bool_key("smtp.reject_unresolvable_helo", F(smtp.reject_unresolvable_helo),
               "On MX listeners refuse HELO names that do not resolve."),
      bool_key("smtp.enforce_header_from", F(smtp.enforce_header_from),
               "Mail from an authenticated client is refused (550 5.7.1) unless every address in its "
               "header From and Sender is one the login owns (its own or an alias of it), as for the "
               "envelope sender. `mailfort user allow-any-from` / `domain allow-any-from` make exceptions."),
      uint_key("smtp.max_bad_commands", F(smtp.max_bad_commands), 1, 1000,
               "Protocol errors one SMTP session may make (unknown commands, syntax errors, commands out "
               "of sequence: 500-504 and 555 replies); then 421 4.7.0 and the connection is closed.",
               "a client that ignores the replies (2,000 pipelined RCPT without MAIL) costs a reply each; "
               "real clients make none, like Postfix's smtpd_hard_error_limit"),
      uint_key("smtp.max_header_size", F(smtp.max_header_size), 1024, 64ull * 1024 * 1024,
               "Largest header block of a message, in bytes.", "header parsing cost and memory"),
      uint_key("smtp.max_data_line_length", F(smtp.max_data_line_length), 1000, 16 * 1024 * 1024,
               "Longest line inside a message, in bytes.", "pathological lines break downstream tools"),
      uint_key("smtp.greet_pause_ms", F(smtp.greet_pause_ms), 0, 30000,
               "MX listeners wait this long before the greeting; clients that talk first are refused.",
               "catches spam bots that do not wait for the greeting (postscreen's pregreet test)"),

      uint_key("smtp.max_inflight_message_bytes", F(smtp.max_inflight_message_bytes), 1024 * 1024,
               64ull * 1024 * 1024 * 1024,
               "Memory all sessions together may hold for messages being received; beyond it new data gets "
               "452 4.3.1.",
               "many large messages at once cannot exhaust memory"),

      uint_key("imap.max_literal_size", F(imap.max_literal_size), 1024, 4ull * 1024 * 1024 * 1024,
               "Largest literal a client may send (an APPENDed message); also advertised as APPENDLIMIT.",
               "a literal is held in memory until the command completes"),
      uint_key("imap.max_command_size", F(imap.max_command_size), 1024, 64ull * 1024 * 1024,
               "Largest IMAP command (lines and literals, APPEND's message not counted).",
               "many large literals in one command cannot exhaust memory (CVE-2024-34055 class)"),
      uint_key("imap.max_append_messages", F(imap.max_append_messages), 1, 100000,
               "Messages one APPEND may carry (MULTIAPPEND, RFC 3502), counting CATENATE's large TEXT parts.",
               "every message of an APPEND is held in memory until all are stored"),
      uint_key("imap.max_append_size", F(imap.max_append_size), 1024, 64ull * 1024 * 1024 * 1024,
               "Bytes of all messages of one APPEND together; never less than imap.max_literal_size.",
               "a MULTIAPPEND is held in memory whole, to be stored all or nothing"),
      uint_key("imap.max_catenate_urls", F(imap.max_catenate_urls), 1, 100000,
               "URL parts of one APPEND (CATENATE, RFC 4469), each read from a stored message.",
               "each URL reads a message file; many of them make one command expensive"),
      uint_key(
          "imap.max_inflight_append_bytes", F(imap.max_inflight_append_bytes), 1024 * 1024,
          64ull * 1024 * 1024 * 1024,
          "Memory all IMAP sessions together may hold for APPENDed messages as they arrive; at most half "
          "of smtp.max_inflight_message_bytes is used, whatever is set here.",
          "logged-in IMAP users cannot take the memory inbound SMTP delivery needs"),
      uint_key("imap.max_inflight_append_bytes_per_user", F(imap.max_inflight_append_bytes_per_user),
               1024 * 1024, 64ull * 1024 * 1024 * 1024,
               "Memory one account's IMAP sessions together may hold for APPENDed messages as they arrive.",
               "one account cannot take the whole IMAP share"),
      uint_key("imap.max_inflight_append_bytes_per_ip", F(imap.max_inflight_append_bytes_per_ip), 1024 * 1024,
               64ull * 1024 * 1024 * 1024,
               "Memory the IMAP sessions of one client address together may hold for APPENDed messages.",
               "one client cannot take the whole IMAP share with many accounts"),
      uint_key(
          "imap.max_connections_per_user_ip", F(imap.max_connections_per_user_ip), 1, 10000,
          "IMAP and POP3 sessions one account may hold from one IP (Dovecot mail_max_userip_connections).",
          "a broken or hostile client cannot hold every connection slot"),
      uint_key("imap.idle_timeout_seconds", F(imap.idle_timeout_seconds), 60, 7 * 24 * 3600,
               "Seconds an authenticated IMAP/POP3 session may stay silent (RFC 9051 asks at least 30 min).",
               "abandoned sessions are closed"),
      uint_key("imap.idle_notify_seconds", F(imap.idle_notify_seconds), 10, 3600,
               "Seconds between \"* OK Still here\" lines during IDLE, to keep NAT state alive.",
               "middleboxes drop silent connections"),
      uint_key("imap.max_update_contexts", F(imap.max_update_contexts), 0, 1000,
               "SEARCH/SORT results one IMAP session may keep updated (RFC 5267 RETURN (UPDATE)).",
               "each one is evaluated again after every change to the folder"),
      uint_key("imap.notify_max_pending_bytes", F(imap.notify_max_pending_bytes), 4096, 64 << 20,
               "Bytes of NOTIFY responses one wake-up may produce; beyond, the session gets "
               "[NOTIFICATIONOVERFLOW] and NOTIFY is switched off (RFC 5465 5.8).",
               "a session that falls far behind must not buffer without bound"),
      bool_key("imap.compress", F(imap.compress),
               "Offer COMPRESS=DEFLATE (RFC 4978) after login; a compressed session holds about 200 KiB "
               "of zlib state."),
      string_key("imap.junk_folder", F(imap.junk_folder), "Name of the \\Junk special-use folder."),
      string_key("imap.trash_folder", F(imap.trash_folder), "Name of the \\Trash special-use folder."),
      string_key("imap.sent_folder", F(imap.sent_folder), "Name of the \\Sent special-use folder."),
      string_key("imap.drafts_folder", F(imap.drafts_folder), "Name of the \\Drafts special-use folder."),

      uint_key("queue.minimal_backoff_seconds", F(queue.minimal_backoff_seconds), 1, kYear,
               "Delay before the first retry of a deferred message; doubles per attempt.", "retry storms"),
      uint_key("queue.maximal_backoff_seconds", F(queue.maximal_backoff_seconds), 1, kYear,
               "Longest delay between retries.", "a deferred message is still retried regularly"),
      uint_key("queue.maximal_lifetime_seconds", F(queue.maximal_lifetime_seconds), 0, kYear,
               "How long a message is retried before it bounces.",
               "undeliverable mail does not stay forever"),
      uint_key("queue.bounce_lifetime_seconds", F(queue.bounce_lifetime_seconds), 0, kYear,
               "How long a bounce (null sender) is retried.", "bounces to dead senders are dropped sooner"),
      uint_key("queue.delay_warning_seconds", F(queue.delay_warning_seconds), 0, kYear,
               "After this long in the queue a message with pending recipients gets one delay notice "
               "(RFC 3464, Action: delayed) to its sender; 0 = never (Postfix delay_warning_time).",
               "one notice per message, never to the null sender"),
      bool_key("delivery.enabled", F(delivery.enabled),
               "Deliver the outbound queue; false keeps every message queued (maintenance; live on SIGHUP)."),
      enum_key("delivery.default_tls_policy", F(delivery.default_tls_policy),
               {"none", "may", "encrypt", "dane", "dane-only", "verify", "secure"},
               "TLS policy for domains without a tlspolicies row (Postfix smtp_tls_security_level)."),
      enum_key("delivery.min_tls_version", F(delivery.min_tls_version), {"1.2", "1.3"},
               "Lowest TLS version used when relaying."),
      uint_key("delivery.remote_port", F(delivery.remote_port), 1, 65535,
               "TCP port of remote MX hosts (25; tests point it elsewhere).", "ports are 16 bits"),
      uint_key("delivery.max_connections_per_destination", F(delivery.max_connections_per_destination), 1,
               1000, "Concurrent outbound connections to one recipient domain.",
               "remote servers limit connections too"),
      uint_key("delivery.max_connections", F(delivery.max_connections), 1, 100000,
               "Concurrent outbound SMTP connections in all.", "bounded file descriptors and memory"),
      uint_key("delivery.connect_timeout_seconds", F(delivery.connect_timeout_seconds), 1, 600,
               "Timeout for connecting to a remote MX.", "dead hosts must not hold a delivery slot"),
      uint_key("delivery.command_timeout_seconds", F(delivery.command_timeout_seconds), 1, 3600,
               "Timeout for each reply of a remote MX (RFC 5321 4.5.3.2).",
               "stalled servers release the slot"),
      string_key("delivery.source_address", F(delivery.source_address),
                 "Local IP address outgoing connections are made from; empty = chosen by the kernel."),
      path_key("delivery.ca_file", F(delivery.ca_file),
               "CA certificates for the verify and secure TLS policies and MTA-STS; empty = the system trust "
               "store."),
      bool_key(
          "delivery.mta_sts", F(delivery.mta_sts),
          "Honour MTA-STS policies (RFC 8461) of domains without a tlspolicies row; DANE takes precedence."),
      string_key("delivery.relay_host", F(delivery.relay_host),
                 "Send all outbound mail through this host (Postfix relayhost): \"[host]:port\" without MX "
                 "lookup, \"host:port\" with one; TLS policy from the host's tlspolicies row, else the "
                 "default. Empty = direct MX delivery."),
      uint_key("delivery.connection_reuse_seconds", F(delivery.connection_reuse_seconds), 0, 300,
               "How long an idle outbound connection is kept for more messages to the same destination "
               "(0 = one connection per delivery run).",
               "remote servers close idle connections; each one holds a slot"),
      uint_key("delivery.max_messages_per_connection", F(delivery.max_messages_per_connection), 1, 100000,
               "Messages delivered over one outbound connection before it is closed.",
               "bounds the life of one connection, as Postfix smtp_connection_reuse_count_limit"),
      bool_key("delivery.tls_reports", F(delivery.tls_reports),
               "SMTP TLS Reporting (RFC 8460): count outbound TLS sessions per recipient domain and send "
               "each domain that publishes an _smtp._tls TXT record (mailto: rua) one report per UTC day."),

      string_key("inbound.authserv_id", F(inbound.authserv_id),
                 "authserv-id of the Authentication-Results header added to mail received on MX listeners "
                 "(RFC 8601); empty = the hostname. Incoming headers claiming it are removed."),
      bool_key("inbound.spf", F(inbound.spf), "Check SPF (RFC 7208) of MAIL FROM and HELO on MX listeners."),
      bool_key("inbound.dkim", F(inbound.dkim),
               "Verify DKIM signatures (RFC 6376, RFC 8463) of mail received on MX listeners."),
      bool_key("inbound.dmarc", F(inbound.dmarc),
               "Evaluate and enforce DMARC (RFC 7489): p=reject is refused 550 5.7.1, p=quarantine goes to "
               "Junk; messages without exactly one From address are refused."),
      bool_key("inbound.arc", F(inbound.arc), "Verify ARC chains (RFC 8617) and seal forwarded mail."),
      string_array_key("inbound.arc_trusted_forwarders", F(inbound.arc_trusted_forwarders),
                       "Domains whose ARC chain, when it passes and its oldest ARC-Authentication-Results "
                       "says dmarc=pass, overrides a local DMARC failure (mailing lists)."),
      bool_key("inbound.spf_reject_fail", F(inbound.spf_reject_fail),
               "Refuse SPF fail at MAIL FROM with 550 5.7.23 (policyd-spf style); false records it only."),
      string_array_key("inbound.dnsbl", F(inbound.dnsbl),
                       "DNS block and allow lists in postscreen_dnsbl_sites syntax, e.g. "
                       "\"zen.spamhaus.org*2\", \"list.dnswl.org=127.0.[0..255].[0..255]*-2\"; queried at "
                       "connect, weights summed."),
      uint_key("inbound.dnsbl_threshold", F(inbound.dnsbl_threshold), 1, 1000,
               "Summed DNSBL weight at which a client is refused 554 5.7.1 and disconnected.",
               "one list alone should not decide unless its weight says so"),
      uint_key("inbound.dnsbl_timeout_seconds", F(inbound.dnsbl_timeout_seconds), 1, 60,
               "How long the greeting waits for the DNS lists (queried in parallel); a list that has "
               "not answered by then counts 0 (Postfix's postscreen_dnsbl_timeout).",
               "a slow or dead list must not hold every new client for the resolver's own timeout"),
      bool_key("inbound.require_fcrdns", F(inbound.require_fcrdns),
               "Refuse clients without forward-confirmed reverse DNS with 450 4.7.25 (RFC 8689)."),
      string_array_key("inbound.fcrdns_exceptions", F(inbound.fcrdns_exceptions),
                       "CIDRs exempt from require_fcrdns (Postfix without_ptr)."),
      bool_key("inbound.greylisting", F(inbound.greylisting),
               "Answer a new (client network, sender, recipient) triplet 451 4.7.1 until "
               "greylist_delay_seconds have passed."),
      uint_key("inbound.greylist_delay_seconds", F(inbound.greylist_delay_seconds), 0, 86400,
               "How long a new triplet is deferred.", "legitimate MTAs retry within minutes"),
      uint_key("inbound.greylist_pass_count", F(inbound.greylist_pass_count), 1, 1000,
               "Deliveries that passed greylisting after which the client is allowed without delay.",
               "a proven retrying MTA need not wait again"),
      uint_key("inbound.greylist_allow_days", F(inbound.greylist_allow_days), 1, 3650,
               "How long an allowed client (and a passed triplet) stays allowed.",
               "state is pruned after it"),
      bool_key("inbound.dmarc_reports", F(inbound.dmarc_reports),
               "Send DMARC aggregate reports (RFC 7489) once per UTC day to domains publishing rua=mailto:."),
      path_key("inbound.srs_secret_file", F(inbound.srs_secret_file),
               "Secret of the Sender Rewriting Scheme for forwarded mail; empty = <data_dir>/srs.key "
               "(created at init and at start)."),

      enum_key("spam.engine", F(spam.engine), {"builtin", "rspamd", "off"},
               "Spam scoring: the built-in scorer, Rspamd over HTTP (rspamd_url), or none."),
      number_key("spam.add_header_score", F(spam.add_header_score), 0, 1000,
                 "At or above this score mail gets X-Spam-Flag: YES and goes to the Junk folder."),
      number_key("spam.reject_score", F(spam.reject_score), 0, 1000,
                 "At or above this score mail from outside is refused (554 5.7.1, nothing stored). "
                 "Authenticated submission is never refused by score alone."),
      bool_key("spam.bayes", F(spam.bayes),
               "Bayes classifier (learned with `spam learn` and from moves to Junk)."),
      uint_key("spam.bayes_min_learns", F(spam.bayes_min_learns), 1, 1000000,
               "Messages of each class learned before Bayes votes.", ""),
      string_array_key("spam.rules", F(spam.rules),
                       "Local rule files (header/body/uri regular expressions "
                       "-> symbol and weight, RE2 syntax)."),
      string_array_key("spam.uribl", F(spam.uribl),
                       "URL blocklist zones the host names and registered domains of URLs are looked up in."),
      uint_key("spam.history_days", F(spam.history_days), 1, 3650,
               "Days each scan is kept for `spam history` and `spam stats`.", ""),
      uint_key("spam.timeout_seconds", F(spam.timeout_seconds), 1, 600,
               "Longest a scan may take (Rspamd round trip, URL blocklist lookups); then mail is delivered "
               "unscored.",
               "a slow scanner must not hold SMTP sessions open"),
      uint_key("spam.max_scan_size", F(spam.max_scan_size), 65536, 1ull << 31,
               "Bytes of a message the scorer reads; larger messages are scored on their header and first "
               "bytes.",
               "scoring time and memory grow with the message"),
      string_key("spam.rspamd_url", F(spam.rspamd_url), "Rspamd's normal worker (engine = \"rspamd\")."),
      string_key("spam.rspamd_controller_url", F(spam.rspamd_controller_url),
                 "Rspamd's controller, for learning on moves to and from Junk."),
      path_key("spam.rspamd_password_file", F(spam.rspamd_password_file),
               "File holding the Rspamd controller password (never the password in this file)."),

      string_key("antivirus.clamd", F(antivirus.clamd),
                 "clamd to scan every message with (INSTREAM): \"host:port\" or a unix socket path; empty = "
                 "off."),
      enum_key("antivirus.on_error", F(antivirus.on_error), {"tempfail", "accept"},
               "When clamd cannot be reached or times out: 451 4.7.1, or deliver with a header saying the "
               "message was not scanned."),
      uint_key("antivirus.max_scan_size", F(antivirus.max_scan_size), 1024, 1ull << 32,
               "Bytes of a message streamed to clamd (keep at or below clamd's StreamMaxLength).",
               "clamd refuses longer streams"),
      uint_key("antivirus.timeout_seconds", F(antivirus.timeout_seconds), 1, 600,
               "Longest a clamd scan may take.", "a hung clamd must not hold SMTP sessions open"),
      uint_key("antivirus.max_connections", F(antivirus.max_connections), 1, 256,
               "Connections to clamd at once (pooled).", "clamd has a bounded thread pool (MaxThreads)"),

      bool_key("sieve.enabled", F(sieve.enabled),
               "Run Sieve scripts at local delivery (global before/after scripts and each account's active "
               "script)."),
      string_array_key("sieve.before", F(sieve.before),
                       "Global scripts run before each account's active script, in order (Pigeonhole's "
                       "sieve_before); `mailfort init` writes one that files X-Spam-Flag: YES into the Junk "
                       "folder."),
      string_array_key("sieve.after", F(sieve.after),
                       "Global scripts run after each account's active script (sieve_after)."),
      path_key("sieve.global_dir", F(sieve.global_dir),
               "Directory of the scripts `include :global` reads; empty = <data_dir>/sieve/global."),
      uint_key("sieve.max_script_size", F(sieve.max_script_size), 1024, 16777216,
               "Bytes of one script (ManageSieve PUTSCRIPT, `sieve put`).", "scripts are compiled in memory"),
      uint_key("sieve.max_scripts", F(sieve.max_scripts), 1, 10000, "Scripts per account.",
               "bounds each account's storage"),
      uint_key("sieve.max_storage", F(sieve.max_storage), 1024, 1ull << 32, "Bytes of all of an account's scripts.",
               "bounds each account's storage"),
      uint_key("sieve.max_actions", F(sieve.max_actions), 1, 1000, "Actions one message may get.",
               "a script must not fan one message out without bound"),
      uint_key("sieve.max_redirects", F(sieve.max_redirects), 0, 100,
               "Redirects one message may get (ManageSieve's MAXREDIRECTS).", "redirect loops and amplification"),
      uint_key("sieve.max_steps", F(sieve.max_steps), 100, 100000000,
               "Commands and tests evaluated per message before the run stops with an error (implicit keep).",
               "no script may stall delivery"),
      uint_key("sieve.max_include_depth", F(sieve.max_include_depth), 1, 100, "Nesting of `include`.",
               "include cycles and deep nesting"),
      uint_key("sieve.max_header_edits", F(sieve.max_header_edits), 0, 10000,
               "addheader/deleteheader per message (editheader).", "a script must not grow a header without bound"),
      uint_key("sieve.vacation_default_days", F(sieve.vacation_default_days), 1, 365,
               "Vacation's period when a script gives neither :days nor :seconds.", ""),
      uint_key("sieve.vacation_min_seconds", F(sieve.vacation_min_seconds), 0, 31536000,
               "Shortest vacation period honoured (RFC 6131 :seconds); shorter ones are raised to it.",
               "one auto-reply per sender per period keeps replies from flooding"),
      uint_key("sieve.vacation_max_days", F(sieve.vacation_max_days), 1, 3650,
               "Longest vacation period honoured; longer ones are lowered to it.", ""),
      uint_key("sieve.max_received_headers", F(sieve.max_received_headers), 5, 1000,
               "A message with more Received fields is not redirected (mail loop).", "mail loops"),

      path_key("log.file", F(log.file), "Log file; empty = standard error. Reopened on SIGHUP."),
      enum_key("log.level", F(log.level), {"trace", "debug", "info", "warn", "error"},
               "Lowest level logged."),
  };
}

Key listener_enum(std::string_view name, std::vector<std::string_view> allowed, std::string_view doc,
                  std::function<void(Listener&, std::string_view)> store) {
  Key k{name, Kind::Enum};
  k.allowed = allowed;
  k.doc = doc;
  k.set = [allowed, store](Config& c, const toml::node& n, std::string& err) {
    auto v = n.value<std::string>();
    if (!n.is_string() || std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
      err = "must be one of:";
      for (auto a : allowed) err += " " + std::string(a);
      return false;
    }
    store(c.listeners.back(), *v);
    return true;
  };
  return k;
}

std::vector<Key> make_listener_keys() {
  std::vector<Key> ks;
  Key name{"name", Kind::String};
  name.doc = "Unique name used in logs (mx, submission, imaps, ...).";
  name.required = true;
  name.set = [](Config& c, const toml::node& n, std::string& err) {
    if (!n.is_string() || n.value<std::string>()->empty()) {
      err = "must be a non-empty string";
      return false;
    }
    c.listeners.back().name = *n.value<std::string>();
    return true;
  };
  ks.push_back(name);
  ks.push_back(listener_enum(
      "protocol", {"smtp", "submission", "imap", "pop3", "managesieve", "admin"},
      "What the listener speaks. smtp = MX (port 25, no AUTH by default); submission = "
      "mail clients (587 with starttls, 465 with implicit).",
      [](Listener& l, std::string_view v) {
        static const std::pair<std::string_view, Protocol> m[] = {
            {"smtp", Protocol::smtp}, {"submission", Protocol::submission},   {"imap", Protocol::imap},
            {"pop3", Protocol::pop3}, {"managesieve", Protocol::managesieve}, {"admin", Protocol::admin}};
        for (auto& [s, p] : m)
          if (s == v) l.protocol = p;
      }));
  ks.back().required = true;
  Key addr{"address", Kind::String};
  addr.doc = "\"ip:port\" to bind; IPv6 as \"[::1]:993\"; 0.0.0.0 / [::] for all addresses.";
  addr.required = true;
  addr.set = [](Config& c, const toml::node& n, std::string& err) {
    if (!n.is_string()) {
      err = "must be a string \"ip:port\"";
      return false;
    }
    c.listeners.back().address = *n.value<std::string>();
    return true;
  };
  ks.push_back(addr);
  ks.push_back(listener_enum("tls", {"none", "starttls", "implicit"},
                             "none = plaintext only; starttls = plaintext that upgrades (required before "
                             "login); implicit = TLS from the first byte. Default: starttls, none for admin.",
                             [](Listener& l, std::string_view v) {
                               l.tls = v == "none"       ? TlsMode::none
                                       : v == "implicit" ? TlsMode::implicit
                                                         : TlsMode::starttls;
                             }));
  return ks;
}

Key milter_string(std::string_view name, std::string_view doc, bool required,
                  std::function<void(Milter&, const std::string&)> store) {
  Key k{name, Kind::String};
  k.doc = doc;
  k.required = required;
  k.set = [store](Config& c, const toml::node& n, std::string& err) {
    if (!n.is_string() || n.value<std::string>()->empty()) {
      err = "must be a non-empty string";
      return false;
    }
    store(c.milters.back(), *n.value<std::string>());
    return true;
  };
  return k;
}

Key milter_uint(std::string_view name, uint64_t min, uint64_t max, std::string_view doc,
                std::function<void(Milter&, uint32_t)> store) {
  Key k{name, Kind::UInt, min, max};
  k.doc = doc;
  k.set = [store, min, max](Config& c, const toml::node& n, std::string& err) {
    int64_t v = n.is_integer() ? *n.value<int64_t>() : -1;
    if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max) {
      err = fmt::format("must be an integer between {} and {}", min, max);
      return false;
    }
    store(c.milters.back(), static_cast<uint32_t>(v));
    return true;
  };
  return k;
}

std::vector<Key> make_milter_keys() {
  std::vector<Key> ks;
  ks.push_back(milter_string("name", "Unique name used in logs.", true,
                             [](Milter& m, const std::string& v) { m.name = v; }));
  ks.push_back(milter_string("address", "\"host:port\" or a unix socket path.", true,
                             [](Milter& m, const std::string& v) { m.address = v; }));
  Key listeners{"listeners", Kind::StringArray};
  listeners.doc =
      "Listener names it applies to; \"mx\" and \"submission\" also name every listener of that protocol. "
      "Default [\"mx\", \"submission\"].";
  listeners.set = [](Config& c, const toml::node& n, std::string& err) {
    const auto* arr = n.as_array();
    std::vector<std::string> out;
    if (arr)
      for (const auto& e : *arr)
        if (e.is_string()) out.push_back(*e.value<std::string>());
    if (!arr || out.size() != arr->size()) {
      err = "must be an array of strings";
      return false;
    }
    c.milters.back().listeners = std::move(out);
    return true;
  };
  ks.push_back(listeners);
  Key action{"default_action", Kind::Enum};
  action.allowed = {"accept", "tempfail", "reject"};
  action.doc = "What a message gets when the milter cannot be reached or times out.";
  action.set = [](Config& c, const toml::node& n, std::string& err) {
    auto v = n.value<std::string>();
    if (!n.is_string() || (*v != "accept" && *v != "tempfail" && *v != "reject")) {
      err = "must be one of: accept tempfail reject";
      return false;
    }
    c.milters.back().default_action = *v;
    return true;
  };
  ks.push_back(action);
  ks.push_back(milter_uint("connect_timeout_seconds", 1, 300, "Longest the connection may take. Default 5.",
                           [](Milter& m, uint32_t v) { m.connect_timeout_seconds = v; }));
  ks.push_back(milter_uint("timeout_seconds", 1, 3600, "Longest one milter reply may take. Default 30.",
                           [](Milter& m, uint32_t v) { m.timeout_seconds = v; }));
  return ks;
}

}  // namespace

const std::vector<Key>& milter_keys() {
  static const std::vector<Key> k = make_milter_keys();
  return k;
}

const std::vector<Key>& keys() {
  static const std::vector<Key> k = make_keys();
  return k;
}

const std::vector<Key>& listener_keys() {
  static const std::vector<Key> k = make_listener_keys();
  return k;
}

const std::vector<std::string_view>& sections() {
  static const std::vector<std::string_view> s{"tls",     "dns",  "directory", "limits",
                                               "smtp",    "imap", "queue",     "delivery",
                                               "inbound", "spam", "antivirus", "sieve", "log",
                                               "state",   "directory.queries"};
  return s;
}

}  // namespace mailfort::config::schema
