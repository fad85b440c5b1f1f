// Mailfort configuration: the typed result of reading mailfort.toml.
//
// Every key is declared once in config_schema.cpp (name, type, default, bounds,
// one line of docs and why the limit exists); parsing, unknown-key rejection,
// `mailfort check` and docs/configuration.md all come from that one table.
// Faces trusted input (the admin's file) but reports every problem with
// file:line instead of stopping at the first.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mailfort::config {

// TLS 1.2 ciphers used when [tls] ciphers is empty: AEAD with ECDHE only.
extern const char* const kDefaultTls12Ciphers;

enum class Protocol { smtp, submission, imap, pop3, managesieve, admin };
enum class TlsMode { none, starttls, implicit };

const char* to_string(Protocol p);
const char* to_string(TlsMode m);

struct Listener {
  std::string name;
  Protocol protocol = Protocol::smtp;
  std::string address;  // "ip:port" as written ("[::1]:25" for IPv6)
  std::string host;     // parsed ip, without brackets
  uint16_t port = 0;
  TlsMode tls = TlsMode::none;
  int line = 0;  // source line of the [[listener]] table, for messages
};

struct Tls {
  std::string cert;                 // PEM chain file (leaf first)
  std::string key;                  // PEM private key file
  std::string min_version = "1.2";  // "1.2" | "1.3"
  std::string ciphers;              // TLS 1.2 cipher list (OpenSSL syntax); default AEAD+ECDHE only
  std::string ciphersuites;         // TLS 1.3 suites; default OpenSSL's
};

struct Dns {
  std::vector<std::string> resolvers;  // forwarders "ip:port"; empty = /etc/resolv.conf
  bool recursion = false;              // full recursion from the root (ignores resolvers)
  std::string trust_anchor;            // DNSSEC trust anchor file; empty = none
};

// [directory.queries]: the statements Mailfort reads the directory with, for
// schemas other than the guide's (PostfixAdmin, an in-house one). Empty =
// the guide's. Named parameters :address, :username, :domain.
struct DirectoryQueries {
  std::string domain;      // any row = :domain is ours
  std::string user;        // one row: username, domain, password, quota (MB), enabled, sendonly
  std::string password;    // one row: password, enabled (login)
  std::string aliases;     // rows of destination_username, destination_domain, or one column of addresses
  std::string tls_policy;  // one row: policy, params
  bool any() const {
    return !domain.empty() || !user.empty() || !password.empty() || !aliases.empty() || !tls_policy.empty();
  }
};

struct Directory {
  std::string backend = "sqlite";      // sqlite | mysql | postgresql
  std::string path;                    // sqlite file; default <data_dir>/directory.sqlite
  std::string url;                     // mysql:// or postgresql:// (no password in it)
  std::string password_file;           // the database password, first line
  std::string tls = "none";            // to the database server: none | require | verify
  std::string tls_ca_file;             // verify: CA bundle; empty = the system's
  uint32_t pool_size = 8;              // connections per process
  uint32_t cache_seconds = 10;         // positive and negative lookups (SQL servers); 0 = off
  uint32_t connect_timeout_seconds = 5;
  DirectoryQueries queries;
  uint32_t auth_cache_seconds = 3600;  // 0 = verify every login
  uint32_t auth_cache_entries = 100000;
};

// [state]: where state several nodes must share lives.
struct State {
  std::string backend = "local";  // local | redis
  std::string redis_url;          // redis://host:6379/0, rediss://..., unix:///path
  std::string redis_password_file;
  std::string redis_tls_ca_file;
  std::string redis_key_prefix = "mailfort:";
  uint32_t redis_timeout_ms = 500;
};

struct Limits {
  uint32_t max_connections = 5000;       // all protocols together
  uint32_t max_connections_per_ip = 50;  // per client IP, all protocols
  uint32_t auth_failures_before_ban = 10;
  uint32_t ban_window_seconds = 600;
  uint32_t ban_duration_seconds = 3600;
  uint32_t max_line_length = 4096;      // command lines (SMTP RFC 5321 minimum 512)
  uint32_t idle_timeout_seconds = 300;  // SMTP: RFC 5321 4.5.3.2.7 asks >= 5 min
  uint32_t tls_handshake_timeout_seconds = 30;
  uint32_t max_auth_failures_per_connection = 3;
  uint32_t ipv6_prefix_length = 64;                  // bans and per-IP caps count IPv6 clients per network
  uint32_t min_data_rate_bytes_per_second = 500;     // DATA/BDAT/literals (Postfix smtpd_min_data_rate)
  uint32_t unauthenticated_session_seconds = 60;     // total life before login (IMAP, POP3, submission)
  uint32_t send_per_hour_mailbox = 500;              // authenticated submissions per account, sliding hour
  uint32_t send_per_hour_domain = 0;                 // all accounts of a domain together; 0 = unlimited
  uint32_t send_per_hour_server = 0;                 // everything submitted or relayed; 0 = unlimited
  uint32_t send_recipients_per_hour_mailbox = 2000;  // recipients of one account's messages
};

struct Smtp {
  uint64_t max_message_size = 50ull * 1024 * 1024;  // bytes, advertised in SIZE
  uint32_t max_recipients = 100;
  std::string greeting;                       // banner text after the hostname; default "ESMTP Mailfort"
  bool auth_on_mx = false;                    // offer AUTH on smtp (port 25) listeners
  std::vector<std::string> trusted_networks;  // CIDRs allowed to relay without AUTH
  bool reject_unresolvable_helo = false;      // MX: HELO name must resolve (A/AAAA/MX)
  bool enforce_header_from = true;            // authenticated mail: From/Sender owned by the login (S6)
  uint32_t max_bad_commands = 10;          // protocol errors per session before 421 (smtpd_hard_error_limit)
  uint64_t max_header_size = 1024 * 1024;  // bytes of the header block
  uint32_t max_data_line_length = 65536;   // bytes per message line
  uint32_t greet_pause_ms = 0;             // MX: wait before the greeting to catch early talkers
  uint64_t max_inflight_message_bytes = 1024ull * 1024 * 1024;  // all sessions' message buffers together
};

struct Imap {
  uint64_t max_literal_size = 64ull * 1024 * 1024;  // bytes of one literal (APPEND message)
  uint64_t max_command_size = 256ull * 1024;        // bytes of one command without APPEND's message
  uint32_t max_append_messages = 100;               // messages (and CATENATE TEXT literals) in one APPEND
  uint64_t max_append_size = 128ull * 1024 * 1024;  // their bytes together (at least max_literal_size)
  uint32_t max_catenate_urls = 100;                 // URL parts of one APPEND (each reads a message)
  // APPEND messages held in memory while they arrive: all IMAP sessions,
  // one account, one client network (never more than half the SMTP budget).
  uint64_t max_inflight_append_bytes = 512ull * 1024 * 1024;
  uint64_t max_inflight_append_bytes_per_user = 128ull * 1024 * 1024;
  uint64_t max_inflight_append_bytes_per_ip = 128ull * 1024 * 1024;
  uint32_t max_connections_per_user_ip = 20;    // Dovecot mail_max_userip_connections
  uint32_t idle_timeout_seconds = 1800;         // RFC 9051 5.4: at least 30 minutes
  uint32_t idle_notify_seconds = 120;           // "* OK Still here" during IDLE
  uint32_t max_update_contexts = 10;            // RFC 5267 SEARCH/SORT RETURN (UPDATE) per session
  uint32_t notify_max_pending_bytes = 1 << 20;  // NOTIFY: beyond, [NOTIFICATIONOVERFLOW]
  bool compress = true;                         // offer COMPRESS=DEFLATE (RFC 4978)
  std::string junk_folder = "Spam";
  std::string trash_folder = "Trash";
  std::string sent_folder = "Sent";
  std::string drafts_folder = "Drafts";
};

struct Queue {
  uint32_t minimal_backoff_seconds = 300;    // Postfix minimal_backoff_time
  uint32_t maximal_backoff_seconds = 900;    // Postfix maximal_backoff_time
  uint32_t maximal_lifetime_seconds = 3600;  // Postfix maximal_queue_lifetime (the guide's 1h)
  uint32_t bounce_lifetime_seconds = 3600;   // Postfix bounce_queue_lifetime
  uint32_t delay_warning_seconds = 0;        // Postfix delay_warning_time; 0 = no delay notices
};

struct Delivery {
  bool enabled = true;                      // false: keep everything queued (maintenance)
  std::string default_tls_policy = "dane";  // none may encrypt dane dane-only verify secure
  std::string min_tls_version = "1.2";
  uint32_t remote_port = 25;  // TCP port of remote MX hosts (tests use others)
  uint32_t max_connections_per_destination = 10;
  uint32_t max_connections = 100;  // outbound SMTP connections in all
  uint32_t connect_timeout_seconds = 30;
  uint32_t command_timeout_seconds = 300;  // RFC 5321 4.5.3.2 (data: 10 min)
  std::string source_address;              // bind outgoing connections; empty = any
  std::string ca_file;                     // trust store for verify/secure/MTA-STS; empty = system
  bool mta_sts = true;                     // honour MTA-STS policies (RFC 8461)
  std::string relay_host;                  // Postfix relayhost syntax; empty = direct MX delivery
  uint32_t connection_reuse_seconds = 5;   // idle time of a cached connection
  uint32_t max_messages_per_connection = 100;
  bool tls_reports = true;  // SMTP TLS Reporting (RFC 8460): count sessions, send daily reports
};

// Inbound mail authentication and pre-acceptance defense (MX listeners
// only; authenticated submission and smtp.trusted_networks skip it all).
struct Inbound {
  std::string authserv_id;  // Authentication-Results authserv-id; empty = hostname
  bool spf = true;
  bool dkim = true;
  bool dmarc = true;
  bool arc = true;
  std::vector<std::string> arc_trusted_forwarders;  // domains whose ARC verdict (dmarc=pass) we trust
  bool spf_reject_fail = false;                     // 550 at MAIL FROM on SPF fail
  std::vector<std::string> dnsbl;                   // postscreen_dnsbl_sites syntax
  uint32_t dnsbl_threshold = 2;
  uint32_t dnsbl_timeout_seconds = 10;  // a list not answered by then counts 0
  bool require_fcrdns = false;
  std::vector<std::string> fcrdns_exceptions;  // CIDRs (Postfix without_ptr)
  bool greylisting = false;
  uint32_t greylist_delay_seconds = 300;
  uint32_t greylist_pass_count = 1;
  uint32_t greylist_allow_days = 36;
  bool dmarc_reports = false;   // send RFC 7489 aggregate reports daily
  std::string srs_secret_file;  // empty = <data_dir>/srs.key
};

// Spam filtering (issue 13, src/filter): the built-in scorer, or Rspamd,
// or nothing; thresholds in Rspamd's model (symbols with weights, summed).
struct Spam {
  std::string engine = "builtin";  // builtin | rspamd | off
  double add_header_score = 6.0;   // X-Spam headers and the Junk folder at or above
  double reject_score = 15.0;      // 554 5.7.1 at or above (MX only)
  bool bayes = true;
  uint32_t bayes_min_learns = 200;  // of each class before Bayes votes
  std::vector<std::string> rules;   // local rule files (filter/rules.h syntax)
  std::vector<std::string> uribl;   // URL blocklist zones ("dbl.spamhaus.org")
  uint32_t history_days = 30;
  uint32_t timeout_seconds = 20;      // the whole scan (Rspamd round trip; URIBL lookups)
  uint64_t max_scan_size = 10485760;  // bytes of a message the scorer reads (larger: header + first bytes)
  std::string rspamd_url = "http://127.0.0.1:11333";
  std::string rspamd_controller_url = "http://127.0.0.1:11334";
  std::string rspamd_password_file;
};

// ClamAV through clamd (INSTREAM).
struct Antivirus {
  std::string clamd;                  // "127.0.0.1:3310" or a unix socket path; empty = off
  std::string on_error = "tempfail";  // tempfail | accept
  uint64_t max_scan_size = 26214400;  // bytes streamed to clamd (its StreamMaxLength)
  uint32_t timeout_seconds = 30;
  uint32_t max_connections = 8;  // pooled connections to clamd
};

// Sieve filtering (RFC 5228 and extensions) and ManageSieve (RFC 5804).
struct Sieve {
  bool enabled = true;
  std::vector<std::string> before;  // global scripts run before each user's active script
  std::vector<std::string> after;   // global scripts run after it
  std::string global_dir;           // `include :global`; empty = <data_dir>/sieve/global
  uint64_t max_script_size = 65536;  // bytes of one script (also ManageSieve's literal limit)
  uint32_t max_scripts = 20;         // scripts per account
  uint64_t max_storage = 1048576;    // bytes of all of an account's scripts
  uint32_t max_actions = 32;         // actions per message
  uint32_t max_redirects = 4;        // redirects per message
  uint32_t max_steps = 100000;       // commands and tests evaluated per message
  uint32_t max_include_depth = 10;
  uint32_t max_header_edits = 64;    // addheader/deleteheader per message
  uint32_t vacation_default_days = 7;
  uint32_t vacation_min_seconds = 86400;  // shortest :days/:seconds honoured
  uint32_t vacation_max_days = 90;
  uint32_t max_received_headers = 50;     // redirect refused beyond (mail loop)
};

// One [[milter]] table: a Sendmail milter (protocol 6) called at end of data.
struct Milter {
  std::string name;
  std::string address;  // "host:port" or a unix socket path
  // Listener names, or "mx" / "submission" for every listener of that kind.
  std::vector<std::string> listeners = {"mx", "submission"};
  std::string default_action = "tempfail";  // accept | tempfail | reject when it cannot be reached
  uint32_t connect_timeout_seconds = 5;
  uint32_t timeout_seconds = 30;  // each reply
  int line = 0;
};

struct Log {
  std::string file;            // empty = stderr
  std::string level = "info";  // trace|debug|info|warn|error
};

struct Config {
  std::string path;  // the file it was read from
  std::string hostname;
  std::string data_dir;
  std::string run_as = "mailfort";
  Tls tls;
  Dns dns;
  Directory directory;
  State state;
  Limits limits;
  Smtp smtp;
  Imap imap;
  Queue queue;
  Delivery delivery;
  Inbound inbound;
  Spam spam;
  Antivirus antivirus;
  Sieve sieve;
  Log log;
  std::vector<Listener> listeners;
  std::vector<Milter> milters;
  // "tls.cert" -> line, "listener.2.address" -> line: lets later checks
  // (cert readable, port clash) point at the right line.
  std::map<std::string, int> key_lines;

  int line_of(const std::string& key) const;
  std::string state_db_path() const;         // <data_dir>/state.sqlite (bans)
  std::string directory_db_path() const;     // directory.path or default
  std::string authserv_id() const;           // inbound.authserv_id or hostname
  std::string srs_secret_path() const;       // inbound.srs_secret_file or <data_dir>/srs.key
  std::string bayes_db_path() const;         // <data_dir>/bayes.sqlite
  std::string spam_history_db_path() const;  // <data_dir>/spam-history.sqlite
  std::string sieve_global_dir() const;       // sieve.global_dir or <data_dir>/sieve/global
  std::string sieve_state_db_path() const;    // <data_dir>/sieve-state.sqlite
};

struct Problem {
  std::string file;
  int line = 0;  // 0 when not tied to a line
  std::string message;
  std::string to_string() const;  // "file:line: message"
};

struct LoadResult {
  std::optional<Config> config;   // set when there are no problems
  std::optional<Config> partial;  // what could be read despite problems (for `check`)
  std::vector<Problem> problems;
};

// Parses and validates syntax, types, bounds, unknown keys, enum values,
// addresses and in-file consistency (duplicate listener names, port clashes).
// Does not touch other files: see the server's check for cert/key checks.
LoadResult load_file(const std::string& path);
LoadResult load_string(const std::string& text, const std::string& path_for_messages);

// docs/configuration.md, generated from the schema table.
std::string reference_markdown();

}  // namespace mailfort::config
