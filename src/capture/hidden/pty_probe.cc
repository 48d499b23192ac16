#include "capture/hidden/pty_probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace sealtrace::hidden {
namespace {

struct ProcStat {
  uint32_t pid = 0, ppid = 0;
  int64_t tty_nr = 0;
};

// Parses /proc/<pid>/stat: "pid (comm) state ppid pgrp session tty_nr ...".
// comm may hold spaces and parentheses: the fields start after the last ')'.
bool ReadStat(const std::string& path, ProcStat* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  char* close_paren = nullptr;
  for (char* p = buf; *p; ++p)
    if (*p == ')') close_paren = p;
  if (!close_paren) return false;
  char state;
  int ppid, pgrp, session, tty;
  if (sscanf(close_paren + 1, " %c %d %d %d %d", &state, &ppid, &pgrp, &session, &tty) != 5)
    return false;
  out->pid = static_cast<uint32_t>(atol(buf));
  out->ppid = static_cast<uint32_t>(ppid);
  out->tty_nr = tty;
  return true;
}

// UNIX98 pty slaves: majors 136-143. Returns the pts index or -1.
int PtsIndex(int64_t tty_nr) {
  int64_t major = (tty_nr >> 8) & 0xfff;
  int64_t minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
  if (major < 136 || major > 143) return -1;
  return static_cast<int>((major - 136) * 256 + minor);
}

// The terminals whose master side `pid` holds: its /dev/ptmx descriptors,
// each with "tty-index:" in /proc/<pid>/fdinfo/<fd> (Linux >= 4.9).
std::set<int> MastersHeld(const std::string& proc, uint32_t pid) {
  std::set<int> out;
  const std::string fd_dir = proc + "/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(fd_dir.c_str());
  if (!d) return out;
  int seen = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || ++seen > 4096) continue;
    char target[64];
    ssize_t n = readlink((fd_dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    target[n] = 0;
    if (std::strcmp(target, "/dev/ptmx") != 0 && std::strcmp(target, "/dev/pts/ptmx") != 0)
      continue;
    const std::string info = proc + "/" + std::to_string(pid) + "/fdinfo/" + e->d_name;
    int fd = open(info.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    ssize_t r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (r <= 0) continue;
    buf[r] = 0;
    if (const char* t = std::strstr(buf, "tty-index:")) out.insert(atoi(t + 10));
  }
  closedir(d);
  return out;
}

// Fallback without fdinfo: the controlling terminals of pid's descendants
// (not of pid itself: a GUI started from a shell has that shell's terminal).
std::set<int> DescendantTerminals(const std::string& proc, uint32_t pid) {
  std::vector<ProcStat> all;
  DIR* d = opendir(proc.c_str());
  if (!d) return {};
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    if (all.size() >= PtyProbe::kMaxProcesses) break;
    ProcStat st;
    if (ReadStat(proc + "/" + e->d_name + "/stat", &st)) all.push_back(st);
  }
  closedir(d);
  std::set<uint32_t> tree{pid};
  for (bool grew = true; grew;) {  // acyclic: at most all.size() rounds
    grew = false;
    for (const ProcStat& s : all) {
      if (!tree.count(s.pid) && tree.count(s.ppid)) {
        tree.insert(s.pid);
        grew = true;
      }
    }
  }
  std::set<int> pts;
  for (const ProcStat& s : all) {
    if (s.pid == pid || !tree.count(s.pid)) continue;
    int idx = PtsIndex(s.tty_nr);
    if (idx >= 0) pts.insert(idx);
  }
  return pts;
}

}  // namespace

PtyProbe::PtyProbe(Env* env, std::string proc, std::string dev_pts, int64_t rescan_us)
    : env_(env), proc_(std::move(proc)), dev_pts_(std::move(dev_pts)), rescan_us_(rescan_us) {}

std::vector<std::string> PtyProbe::TerminalsOf(uint32_t pid) const {
  if (pid == 0) return {};
  std::set<int> pts = MastersHeld(proc_, pid);
  if (pts.empty()) pts = DescendantTerminals(proc_, pid);
  std::vector<std::string> out;
  for (int i : pts) out.push_back(dev_pts_ + "/" + std::to_string(i));
  return out;
}

bool PtyProbe::NoEchoPrompt(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  termios t{};
  bool ok = tcgetattr(fd, &t) == 0;
  close(fd);
  return ok && (t.c_lflag & ICANON) != 0 && (t.c_lflag & ECHO) == 0;
}

bool PtyProbe::Hidden(uint32_t window_pid) {
  if (window_pid == 0) return false;
  ++checks_;
  const int64_t now = env_->NowMonoMicros();
  Cached& c = cache_[window_pid];
  if (c.scanned_us == 0 || now - c.scanned_us >= rescan_us_) {
    c.terminals = TerminalsOf(window_pid);
    c.scanned_us = now;
  }
  if (cache_.size() > 256) {  // windows come and go: keep the cache bounded
    Cached keep = c;
    cache_.clear();
    cache_[window_pid] = keep;
  }
  const auto& terms = cache_[window_pid].terminals;
  bool hidden = std::any_of(terms.begin(), terms.end(), NoEchoPrompt);
  if (hidden) ++hidden_;
  return hidden;
}

std::string PtyProbe::Status() const {
  return "on (" + std::to_string(checks_) + " key checks, " + std::to_string(hidden_) +
         " at a no-echo prompt)";
}

}  // namespace sealtrace::hidden
