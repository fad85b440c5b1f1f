// Real MariaDB and PostgreSQL servers for the tests that need them (header
// only: nothing test-only is compiled into mf_sql). Each server starts on
// first use, once per test binary, in a temp directory on a free loopback
// port, with a database `vmail` and a user `vmail` that logs in with
// kPassword; at the end of the binary both are stopped and the directory is
// removed (MAILFORT_KEEP_SQL_TEST_DIR keeps it). ServerTest skips a test
// when its server's binaries are missing. Running as root (CI containers),
// mariadbd runs with --user=root and PostgreSQL as `nobody` (it refuses
// root). When openssl is there, each server has a certificate for
// 127.0.0.1 signed by Engine::dir / "ca.crt" (and not by "other-ca.crt").
#pragma once

#include <errno.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sql/sql.h"

namespace mailfort::sql::testing {

namespace fs = std::filesystem;

inline constexpr const char* kPassword = "s3cr't\"pw\\";  // quotes and a backslash, quoted below
inline constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline int sh(const std::string& cmd) {
  return std::system(cmd.c_str());
}

// A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated
// CA, in `d` (ca.crt, server.crt, server.key, other-ca.crt).
inline bool make_certs(const fs::path& d) {
  if (!fs::exists("/usr/bin/openssl")) return false;
  std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::string q = " >/dev/null 2>&1";
  auto f = [&](const char* name) { return (d / name).string(); };
  std::ofstream(f("san.ext")) << "subjectAltName=IP:127.0.0.1\n";
  return sh("openssl req -x509" + ec + " -keyout " + f("ca.key") + " -out " + f("ca.crt") +
            " -subj /CN=mailfort-test-ca -days 2" + q) == 0 &&
         sh("openssl req -x509" + ec + " -keyout " + f("other-ca.key") + " -out " + f("other-ca.crt") +
            " -subj /CN=mailfort-other-ca -days 2" + q) == 0 &&
         sh("openssl req" + ec + " -keyout " + f("server.key") + " -out " + f("server.csr") +
            " -subj /CN=127.0.0.1" + q) == 0 &&
         sh("openssl x509 -req -in " + f("server.csr") + " -CA " + f("ca.crt") + " -CAkey " + f("ca.key") +
            " -CAcreateserial -out " + f("server.crt") + " -days 2 -extfile " + f("san.ext") + q) == 0;
}

// Retries connect() until the server answers (it is starting).
inline Result<std::unique_ptr<Connection>> connect_until_up(const ConnectOptions& o,
                                                            std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto c = connect(o);
    if (c || c.error().code != Errc::Temp || std::chrono::steady_clock::now() > end) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// One server: setup() installs, starts and provisions it in parent / name;
// then ok, or why not.
class Engine {
 public:
  Engine(Dialect dialect, const char* name) : dialect_(dialect), name_(name) {}
  virtual ~Engine() = default;

  void setup(const fs::path& parent) {
    dir = parent / name_;
    port_ = free_port();
    ok = install() && start() && provision();
  }
  virtual bool start() = 0;
  virtual void stop() = 0;
  // The superuser, over the Unix socket.
  virtual ConnectOptions admin() const = 0;
  // The user `vmail` with its password, over TCP.
  ConnectOptions options() const {
    ConnectOptions o;
    o.dialect = dialect_;
    o.host = "127.0.0.1";
    o.port = port_;
    o.user = "vmail";
    o.password = kPassword;
    o.database = "vmail";
    o.connect_timeout = std::chrono::seconds(2);
    o.query_timeout = std::chrono::seconds(5);
    return o;
  }

  bool tried = false;  // setup() ran
  bool tls = false;    // the server has a certificate (dir / "ca.crt" signed it)
  fs::path dir;
  bool ok = false;
  std::string why;  // when not ok

 protected:
  // The binaries are there, the data directory and certificates are made.
  virtual bool install() = 0;
  // The statements that make the database and the user `vmail`.
  virtual std::vector<std::string> provisioning() const = 0;

  bool fail(std::string w) {
    why = std::move(w);
    return false;
  }
  // Runs `cmd` with its output in dir / log.
  bool run(const std::string& cmd, const char* log, const char* what) {
    auto path = (dir / log).string();
    return sh(cmd + " >" + path + " 2>&1") == 0 || fail(std::string(what) + " failed, see " + path);
  }
  bool wait_up(const std::string& what, const std::string& see = "") {
    auto c = connect_until_up(admin(), std::chrono::seconds(20));
    return c.ok() || fail(what + " did not come up: " + c.error().message + see);
  }
  // One statement at a time: PostgreSQL's CREATE DATABASE refuses a
  // multi-statement script (which it runs as one transaction).
  bool provision() {
    auto c = connect(admin());
    if (!c) return fail(c.error().message);
    for (const auto& s : provisioning())
      if (auto r = (*c)->execute_script(s); !r) return fail(r.error().message);
    return true;
  }

  Dialect dialect_;
  const char* name_;
  uint16_t port_ = 0;
};

class MariaDb final : public Engine {
 public:
  MariaDb() : Engine(Dialect::MySQL, "mariadb") {}

  bool start() override {
    std::vector<std::string> args{"/usr/sbin/mariadbd",
                                  "--no-defaults",
                                  "--datadir=" + (dir / "data").string(),
                                  "--socket=" + (dir / "sock").string(),
                                  "--port=" + std::to_string(port_),
                                  "--bind-address=127.0.0.1",
                                  "--pid-file=" + (dir / "pid").string(),
                                  "--log-error=" + (dir / "error.log").string(),
                                  "--skip-name-resolve",
                                  "--skip-log-bin",
                                  "--performance-schema=OFF",
                                  "--innodb-buffer-pool-size=16M",
                                  "--open-files-limit=1024"};
    if (geteuid() == 0) args.push_back("--user=root");
    if (tls)
      for (const auto& [opt, file] : std::initializer_list<std::pair<const char*, const char*>>{
               {"ca", "ca.crt"}, {"cert", "server.crt"}, {"key", "server.key"}})
        args.push_back(std::string("--ssl-") + opt + "=" + (dir / file).string());
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return wait_up("mariadbd", ", see " + (dir / "error.log").string());
  }

  void stop() override {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  ConnectOptions admin() const override {
    ConnectOptions o;
    o.dialect = Dialect::MySQL;
    o.socket = (dir / "sock").string();
    o.user = "root";
    return o;
  }

 protected:
  bool install() override {
    if (!fs::exists("/usr/sbin/mariadbd") || !fs::exists("/usr/bin/mariadb-install-db"))
      return fail("mariadbd or mariadb-install-db not installed");
    fs::create_directories(dir);
    if (!run("mariadb-install-db --no-defaults --datadir=" + (dir / "data").string() +
                 (geteuid() == 0 ? " --user=root" : "") +
                 " --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve",
             "install.log", "mariadb-install-db"))
      return false;
    tls = make_certs(dir);
    return true;
  }
  std::vector<std::string> provisioning() const override {
    return {"CREATE DATABASE vmail CHARACTER SET utf8mb4",
            "CREATE USER 'vmail'@'127.0.0.1' IDENTIFIED BY 's3cr''t\"pw\\\\'",
            "GRANT ALL ON vmail.* TO 'vmail'@'127.0.0.1'"};
  }

 private:
  pid_t pid_ = -1;
};

class Postgres final : public Engine {
 public:
  Postgres() : Engine(Dialect::PostgreSQL, "postgresql") {}

  bool start() override {
    if (sh(as_user() + kPgBin + "/pg_ctl -D " + (dir / "data").string() + " -l " +
           (dir / "server.log").string() + " -o \"-p " + std::to_string(port_) + " -k " + dir.string() +
           " -c listen_addresses=127.0.0.1 -c fsync=off" + ssl_args() + "\" -w start >/dev/null") != 0)
      return fail("pg_ctl start failed, see " + (dir / "server.log").string());
    running_ = true;
    return wait_up("postgres");
  }

  void stop() override {
    if (!running_) return;
    sh(as_user() + kPgBin + "/pg_ctl -D " + (dir / "data").string() + " -m fast -w stop >/dev/null");
    running_ = false;
  }

  ConnectOptions admin() const override {
    ConnectOptions o;
    o.dialect = Dialect::PostgreSQL;
    o.socket = dir.string();
    o.port = port_;
    o.user = "postgres";
    o.database = "postgres";
    return o;
  }

 protected:
  bool install() override {
    if (!fs::exists(std::string(kPgBin) + "/initdb"))
      return fail(std::string(kPgBin) + "/initdb not installed");
    fs::create_directories(dir);
    if (geteuid() == 0 && sh("chown nobody " + dir.string()) != 0) return fail("chown nobody failed");
    if (!run(as_user() + kPgBin + "/initdb -D " + (dir / "data").string() +
                 " -U postgres --auth-local=trust --auth-host=scram-sha-256 --no-sync",
             "initdb.log", "initdb"))
      return false;
    // The key must belong to the server's user and be private.
    tls = make_certs(dir) && ::chmod((dir / "server.key").c_str(), 0600) == 0 &&
          (geteuid() != 0 || sh("chown nobody " + (dir / "server.key").string()) == 0);
    return true;
  }
  std::vector<std::string> provisioning() const override {
    return {"CREATE ROLE vmail LOGIN PASSWORD 's3cr''t\"pw\\'", "CREATE DATABASE vmail OWNER vmail"};
  }

 private:
  std::string ssl_args() const {
    if (!tls) return "";
    return " -c ssl=on -c ssl_cert_file=" + (dir / "server.crt").string() +
           " -c ssl_key_file=" + (dir / "server.key").string();
  }
  static std::string as_user() { return geteuid() == 0 ? "runuser -u nobody -- " : ""; }
  bool running_ = false;
};

// Both servers, each started on first use (a binary that runs only other
// tests, as ctest runs one test per process, starts none), stopped at the
// end of the binary.
class Servers : public ::testing::Environment {
 public:
  // Call from the main thread: mariadbd's parent-death signal fires when
  // the thread that forked it ends.
  Engine& get(Dialect d) {
    Engine& e = d == Dialect::MySQL ? static_cast<Engine&>(mariadb_) : postgres_;
    if (!e.tried) {
      e.tried = true;
      if (dir().empty())
        e.why = "mkdtemp failed";
      else
        e.setup(dir());
    }
    return e;
  }
  void TearDown() override {
    mariadb_.stop();
    postgres_.stop();
    if (!dir_.empty() && !std::getenv("MAILFORT_KEEP_SQL_TEST_DIR")) fs::remove_all(dir_);
  }

 private:
  // The servers' directory, made on first use.
  const fs::path& dir() {
    if (dir_.empty()) {
      std::string tmpl = std::string("/tmp/mailfort-") + program_invocation_short_name + ".XXXXXX";
      if (!mkdtemp(tmpl.data())) return dir_;
      ::chmod(tmpl.c_str(), 0755);  // postgres runs as nobody
      dir_ = tmpl;
    }
    return dir_;
  }
  MariaDb mariadb_;
  Postgres postgres_;
  fs::path dir_;
};

inline Servers* const g_servers = static_cast<Servers*>(::testing::AddGlobalTestEnvironment(new Servers));

// The server for `d`, started on first use: check ok.
inline Engine& server(Dialect d) {
  return g_servers->get(d);
}

// A test against the server of its parameter, skipped when that server is
// not ok. A derived SetUp() calls ServerTest::SetUp() first and returns when
// IsSkipped().
class ServerTest : public ::testing::TestWithParam<Dialect> {
 protected:
  Engine& engine() { return server(GetParam()); }
  void SetUp() override {
    if (!engine().ok) GTEST_SKIP() << dialect_name(GetParam()) << ": " << engine().why;
  }
};

}  // namespace mailfort::sql::testing
