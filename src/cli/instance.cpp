#include "cli/instance.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "auth/srs.h"
#include "base/config.h"
#include "base/privileges.h"
#include "directory/directory.h"
#include "dkim/dkim.h"
#include "tls/certs.h"

namespace mailfort::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRunAs = "mailfort";

struct ListenerSpec {
  const char* name;
  const char* protocol;
  int dev_port;
  int port;
  const char* tls;
};

constexpr ListenerSpec kListeners[] = {
    {"mx", "smtp", 2525, 25, "starttls"},           {"submission", "submission", 2587, 587, "starttls"},
    {"smtps", "submission", 2465, 465, "implicit"}, {"imap", "imap", 2143, 143, "starttls"},
    {"imaps", "imap", 2993, 993, "implicit"},       {"pop3", "pop3", 2110, 110, "starttls"},
    {"pop3s", "pop3", 2995, 995, "implicit"},       {"managesieve", "managesieve", 4190, 4190, "starttls"},
    {"admin", "admin", 8080, 8080, "none"},
};

int fail(const std::string& msg) {
  std::fprintf(stderr, "mailfort: %s\n", msg.c_str());
  return 1;
}

// Runs a program without a shell (no quoting pitfalls).
int run_program(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Result<UserIds> ensure_system_user(const std::string& name) {
  if (auto ids = lookup_user(name)) return ids;
  int rc = run_program({"useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", name});
  if (rc != 0)
    return make_error(Errc::Perm,
                      "cannot create system user '" + name + "' (useradd exit " + std::to_string(rc) + ")");
  return lookup_user(name);
}

void chown_tree(const fs::path& p, uid_t uid, gid_t gid) {
  ::lchown(p.c_str(), uid, gid);
  if (!fs::is_directory(p)) return;
  for (const auto& e : fs::recursive_directory_iterator(p)) ::lchown(e.path().c_str(), uid, gid);
}

// The seed's global script: what the spam engine or a milter marked as
// spam goes to the Junk folder (which always exists), before the user's
// own script runs (`stop` ends the chain).
std::string spam_global_script(const std::string& junk_folder) {
  std::string quoted;
  for (char c : junk_folder) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return "# Written by `mailfort init`: spam into the Junk folder (runs before each account's script).\n"
         "require [\"fileinto\"];\n"
         "if header :contains \"X-Spam-Flag\" \"YES\" {\n"
         "  fileinto \"" +
         quoted +
         "\";\n"
         "  stop;\n"
         "}\n"
         "if header :is \"X-Spam\" \"Yes\" {\n"
         "  fileinto \"" +
         quoted +
         "\";\n"
         "}\n";
}

}  // namespace

std::string render_config(const InitOptions& o, const std::string& cert, const std::string& key) {
  std::string bind = o.dev ? "127.0.0.1" : "0.0.0.0";
  std::string out = fmt::format(
      "# Mailfort configuration, written by `mailfort init`.\n"
      "# Every key is documented in docs/configuration.md; `mailfort check -c FILE` validates this file.\n"
      "# Relative paths are relative to this file's directory.\n\n"
      "hostname = \"{}\"\n"
      "data_dir = \"data\"\n"
      "# Started as root, the server binds its ports and then runs as this user.\n"
      "run_as = \"{}\"\n\n"
      "[tls]\n"
      "cert = \"{}\"\n"
      "key = \"{}\"\n"
      "min_version = \"1.2\"\n\n"
      "[dns]\n"
      "# Forwarders as \"ip:port\"; empty = the nameservers of /etc/resolv.conf.\n"
      "resolvers = []\n\n"
      "[directory]\n"
      "backend = \"sqlite\"\n"
      "path = \"data/directory.sqlite\"\n\n"
      "[limits]\n"
      "# max_connections = 5000\n"
      "# max_connections_per_ip = 50\n"
      "# auth_failures_before_ban = 10\n"
      "# ban_window_seconds = 600\n"
      "# ban_duration_seconds = 3600\n"
      "# ipv6_prefix_length = 64\n"
      "# min_data_rate_bytes_per_second = 500\n"
      "# unauthenticated_session_seconds = 60\n"
      "# Messages per hour an account may send (0 = unlimited); `mailfort user limit` overrides it.\n"
      "# send_per_hour_mailbox = 500\n\n"
      "[smtp]\n"
      "# max_message_size = 52428800\n"
      "# trusted_networks = []\n\n"
      "[imap]\n"
      "# max_connections_per_user_ip = 20\n"
      "# sent_folder = \"Sent\"\n\n"
      "[queue]\n"
      "# maximal_lifetime_seconds = 3600\n\n"
      "[delivery]\n"
      "# default_tls_policy = \"dane\"\n\n"
      "[spam]\n"
      "# builtin | rspamd | off\n"
      "# engine = \"builtin\"\n"
      "# At or above: X-Spam-Flag: YES and the Junk folder; refused (MX only).\n"
      "# add_header_score = 6.0\n"
      "# reject_score = 15.0\n"
      "# rules = [\"/etc/mailfort/local.rules\"]\n"
      "# uribl = [\"dbl.spamhaus.org\"]\n\n"
      "[antivirus]\n"
      "# clamd as \"host:port\" or a unix socket path; empty = no virus scanning.\n"
      "# clamd = \"/run/clamav/clamd.ctl\"\n"
      "# on_error = \"tempfail\"\n\n"
      "[sieve]\n"
      "# Global scripts around each account's active script; this one files spam into the Junk folder.\n"
      "before = [\"data/sieve/spam-global.sieve\"]\n"
      "# after = []\n"
      "# global_dir = \"data/sieve/global\"\n\n"
      "[log]\n"
      "level = \"info\"\n",
      o.hostname, kRunAs, cert, key);
  for (const auto& l : kListeners) {
    std::string host = (!o.dev && std::string(l.protocol) == "admin") ? "127.0.0.1" : bind;
    out +=
        fmt::format("\n[[listener]]\nname = \"{}\"\nprotocol = \"{}\"\naddress = \"{}:{}\"\ntls = \"{}\"\n",
                    l.name, l.protocol, host, o.dev ? l.dev_port : l.port, l.tls);
  }
  return out;
}

int run_init(const InitOptions& o) {
  fs::path dir = fs::absolute(o.dir);
  fs::path cfg_path = dir / "mailfort.toml";
  if (fs::exists(cfg_path) && !o.force) {
    return fail(cfg_path.string() + " exists; use --force to overwrite the config");
  }
  std::error_code ec;
  fs::create_directories(dir / "data", ec);
  if (ec) return fail("cannot create " + (dir / "data").string() + ": " + ec.message());
  fs::permissions(dir, fs::perms(0755), ec);
  fs::permissions(dir / "data", fs::perms(0750), ec);

  std::string cert = o.cert, key = o.key;
  bool self_signed = cert.empty();
  if (self_signed != key.empty()) return fail("--cert and --key go together");
  if (self_signed) {
    fs::create_directories(dir / "tls", ec);
    cert = "tls/cert.pem";
    key = "tls/key.pem";
    if (!fs::exists(dir / cert)) {
      auto r = tls::generate_self_signed(o.hostname, (dir / cert).string(), (dir / key).string());
      if (!r) return fail(r.error().message);
    }
  } else {
    cert = fs::absolute(cert).string();
    key = fs::absolute(key).string();
    auto problems = tls::check_cert_key(cert, key);
    if (!problems.empty()) return fail(problems.front().message);
  }

  // The global Sieve script that files spam (X-Spam-Flag: YES from our
  // engine, X-Spam: Yes from Rspamd's milter headers) into the Junk folder,
  // and the directory of `include :global` scripts. A re-run keeps an
  // existing script (the admin may have edited it).
  fs::create_directories(dir / "data" / "sieve" / "global", ec);
  if (ec) return fail("cannot create " + (dir / "data" / "sieve" / "global").string() + ": " + ec.message());
  if (fs::path spam_script = dir / "data" / "sieve" / "spam-global.sieve"; !fs::exists(spam_script)) {
    std::ofstream out(spam_script, std::ios::trunc);
    out << spam_global_script(config::Imap{}.junk_folder);
    if (!out) return fail("cannot write " + spam_script.string());
  }

  std::string text = render_config(o, cert, key);
  {
    std::ofstream out(cfg_path, std::ios::trunc);
    out << text;
    if (!out) return fail("cannot write " + cfg_path.string());
  }
  fs::permissions(cfg_path, fs::perms(0640), ec);
  auto loaded = config::load_file(cfg_path.string());
  if (!loaded.config) {
    for (const auto& p : loaded.problems) std::fprintf(stderr, "%s\n", p.to_string().c_str());
    return fail("the generated config does not validate (hostname or domain invalid?)");
  }
  const config::Config& cfg = *loaded.config;

  if (geteuid() == 0) {
    auto ids = ensure_system_user(cfg.run_as);
    if (!ids) return fail(ids.error().message);
    // The server runs as run_as: it owns its data, and reads the config and
    // the key on SIGHUP (certificate renewal) after dropping root.
    chown_tree(dir / "data", ids->uid, ids->gid);
    ::chown(cfg_path.c_str(), ids->uid, ids->gid);
    if (self_signed) chown_tree(dir / "tls", ids->uid, ids->gid);
    if (auto r = drop_privileges(cfg.run_as); !r) return fail(r.error().message);
  }
  auto d = directory::open_sqlite(cfg.directory_db_path());
  if (!d) return fail(d.error().message);
  auto added = d.value()->add_domain(o.domain);
  if (!added && added.error().code != Errc::Exists) return fail(added.error().message);
  // RFC 5321 4.5.1: postmaster@domain must reach someone. A new instance has
  // no account yet: the first `mailfort user add` creates the alias (to
  // itself, unless that account is postmaster@ itself); a re-run over an
  // existing directory adds it now if it is missing.
  auto postmaster = d.value()->ensure_postmaster(o.domain);
  if (!postmaster) return fail(postmaster.error().message);

  // DKIM: an rsa2048 and an ed25519 key (dual signing, RFC 8463), created
  // as run_as (privileges are already dropped) so the server can read them.
  // A re-run keeps the domain's existing keys.
  std::vector<std::string> dkim_records;
  {
    auto keys = dkim::load_keys(cfg.data_dir, o.domain);
    if (!keys) return fail(keys.error().message);
    std::vector<dkim::Key> active = std::move(keys.value());
    if (active.empty()) {
      for (auto alg : {dkim::Algorithm::Rsa2048, dkim::Algorithm::Ed25519}) {
        auto k =
            dkim::create_key(cfg.data_dir, o.domain, dkim::default_selector(alg, std::time(nullptr)), alg);
        if (!k) return fail(k.error().message);
        active.push_back(std::move(k.value()));
      }
    }
    for (const auto& k : active) {
      auto zone = dkim::zone_record(k);
      if (!zone) return fail(zone.error().message);
      dkim_records.push_back(zone.value());
    }
  }

  // The SRS secret of forwarded mail, also as run_as (a re-run keeps it).
  if (auto srs = auth::load_or_create_srs_secrets(cfg.srs_secret_path()); !srs)
    return fail(srs.error().message);

  std::string spki;
  if (auto s = tls::spki_sha256_hex(cfg.tls.cert)) spki = s.value();
  std::printf("Created a Mailfort instance in %s\n", dir.c_str());
  std::printf("  config      %s\n", cfg_path.c_str());
  std::printf("  data        %s\n", cfg.data_dir.c_str());
  std::printf("  certificate %s%s\n", cfg.tls.cert.c_str(), self_signed ? " (self-signed)" : "");
  std::printf("  directory   %s (domain %s)\n", cfg.directory_db_path().c_str(), o.domain.c_str());
  if (postmaster.value()) {
    std::printf("  postmaster  postmaster@%s -> %s\n", o.domain.c_str(), postmaster.value()->c_str());
  }
  std::printf("\nNext:\n  mailfort -c %s user add you@%s\n  mailfort -c %s serve\n", cfg_path.c_str(),
              o.domain.c_str(), cfg_path.c_str());
  auto accounts = d.value()->list_accounts("");
  if (accounts && accounts->empty()) {
    std::printf("The first account you add also receives postmaster@%s (an alias; RFC 5321 4.5.1).\n",
                o.domain.c_str());
  }
  std::printf("\nDNS records to publish for %s:\n", o.domain.c_str());
  std::printf("  %s. IN MX 10 %s.\n", o.domain.c_str(), o.hostname.c_str());
  std::printf("  %s. IN TXT \"v=spf1 mx -all\"\n", o.domain.c_str());
  std::printf("  _dmarc.%s. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@%s\"\n", o.domain.c_str(),
              o.domain.c_str());
  if (!spki.empty()) std::printf("  _25._tcp.%s. IN TLSA 3 1 1 %s\n", o.hostname.c_str(), spki.c_str());
  for (const auto& r : dkim_records) std::printf("  %s\n", r.c_str());
  std::printf("PTR: the public IP of %s should have a PTR record %s., and %s an A/AAAA record to that IP.\n",
              o.hostname.c_str(), o.hostname.c_str(), o.hostname.c_str());
  if (self_signed) {
    std::printf(
        "The TLSA record above pins the self-signed key; publish it only with the certificate you deploy.\n");
  }
  return 0;
}

}  // namespace mailfort::cli
