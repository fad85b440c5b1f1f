#include "procmon.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>

namespace imapload {

namespace {

struct Stat {
  int ppid = 0;
  long ticks = 0;  // utime + stime + cutime + cstime
};

bool read_stat(int pid, Stat& st) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return false;
  char buf[1024];
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (!p) return false;
  // After ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  char state;
  long v[14];
  if (std::sscanf(p + 2, "%c %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &state, &v[0], &v[1], &v[2],
                  &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13]) != 15)
    return false;
  st.ppid = static_cast<int>(v[0]);
  st.ticks = v[10] + v[11] + v[12] + v[13];
  return true;
}

int root_pid(const std::string& spec) {
  if (!spec.empty() && spec.find_first_not_of("0123456789") == std::string::npos) return std::atoi(spec.c_str());
  std::ifstream f(spec);
  int pid = 0;
  f >> pid;
  return pid;
}

void add_memory(int pid, ProcSample& out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    long kb;
    if (std::sscanf(line, "Rss: %ld kB", &kb) == 1) out.rss_kb += kb;
    else if (std::sscanf(line, "Pss: %ld kB", &kb) == 1) out.pss_kb += kb;
  }
  std::fclose(f);
}

}  // namespace

bool proc_sample(const std::string& spec, ProcSample& out, bool with_memory) {
  out = {};
  int root = root_pid(spec);
  if (root <= 0) return false;
  std::map<int, Stat> all;
  DIR* d = opendir("/proc");
  if (!d) return false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    int pid = std::atoi(e->d_name);
    Stat st;
    if (read_stat(pid, st)) all[pid] = st;
  }
  closedir(d);
  if (!all.count(root)) return false;
  std::map<int, std::vector<int>> kids;
  for (auto& [pid, st] : all) kids[st.ppid].push_back(pid);
  std::vector<int> stack{root};
  long ticks = 0;
  while (!stack.empty()) {
    int pid = stack.back();
    stack.pop_back();
    ticks += all[pid].ticks;
    ++out.nproc;
    if (with_memory) add_memory(pid, out);
    for (int k : kids[pid]) stack.push_back(k);
  }
  out.cpu_s = static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return true;
}

}  // namespace imapload
