// Server resources from /proc, the way ../shared/bench/peers/procmon.py
// counts them: a process and all its live descendants (Dovecot's master and
// its login and imap processes; Mailfort's one process). CPU is
// utime+stime+cutime+cstime summed over them, so children that exited and
// were reaped by a member still count; memory is the sum of Pss (and Rss)
// from /proc/PID/smaps_rollup. Reading another user's processes needs root.
#pragma once
#include <string>

namespace imapload {

struct ProcSample {
  int nproc = 0;
  double cpu_s = 0;     // user + system, children included
  long pss_kb = 0;
  long rss_kb = 0;
};

// `spec` is a PID or a pid file (first integer in it, re-read each time).
// Returns false if the process is gone.
bool proc_sample(const std::string& spec, ProcSample& out, bool with_memory);

}  // namespace imapload
