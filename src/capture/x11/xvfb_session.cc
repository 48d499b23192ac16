#include "capture/x11/xvfb_session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace sealtrace {
namespace {

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void SleepMs(int ms) { usleep(static_cast<useconds_t>(ms) * 1000); }

// fork + exec with stdin from /dev/null, stdout to `out_fd` (-1: /dev/null),
// stderr to /dev/null and `extra_fd` (if >= 0) as fd 3. Children get SIGKILL
// if the test process dies (PR_SET_PDEATHSIG), so a crashed test leaves no
// X server behind.
absl::StatusOr<pid_t> SpawnWith(const std::vector<std::string>& argv,
                                const std::vector<std::string>& env, int out_fd,
                                int extra_fd = -1) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  std::vector<char*> e;
  for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
  e.push_back(nullptr);
  int exec_err[2];
  if (pipe2(exec_err, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(out_fd >= 0 ? out_fd : devnull, 1);
    dup2(devnull, 2);
    if (extra_fd >= 0) dup2(extra_fd, 3);
    execvpe(a[0], a.data(), e.data());
    int err = errno;
    ssize_t w = write(exec_err[1], &err, sizeof(err));
    (void)w;
    _exit(127);
  }
  close(exec_err[1]);
  int err = 0;
  ssize_t r = read(exec_err[0], &err, sizeof(err));
  close(exec_err[0]);
  if (r == static_cast<ssize_t>(sizeof(err))) {
    waitpid(pid, nullptr, 0);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start ", argv[0], ": ", strerror(err)));
  }
  return pid;
}

void KillAndReap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    SleepMs(10);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace

std::vector<std::string> XvfbSession::Environment() const {
  std::vector<std::string> env;
  for (char** p = environ; *p; ++p) {
    if (strncmp(*p, "DISPLAY=", 8) != 0) env.emplace_back(*p);
  }
  env.push_back("DISPLAY=" + display_);
  return env;
}

absl::Status XvfbSession::StartServer(int n) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  // Xvfb writes the display number to fd 3 (dup'ed from the pipe) when ready.
  std::vector<std::string> argv = {"Xvfb", absl::StrCat(":", n), "-screen", "0",
                                   screen_, "-nolisten",         "tcp",     "-displayfd",
                                   "3"};
  std::vector<std::string> env;
  for (char** p = environ; *p; ++p) env.emplace_back(*p);
  absl::StatusOr<pid_t> spawned = SpawnWith(argv, env, -1, fds[1]);
  close(fds[1]);
  if (!spawned.ok()) {
    close(fds[0]);
    return spawned.status();
  }
  pid_t pid = *spawned;
  std::string got;
  int64_t deadline = NowMs() + 15000;
  while (NowMs() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[32];
    ssize_t r = read(fds[0], buf, sizeof(buf));
    if (r <= 0) break;  // Xvfb exited (display taken)
    got.append(buf, static_cast<size_t>(r));
    if (got.find('\n') != std::string::npos) break;
  }
  close(fds[0]);
  if (got.find('\n') == std::string::npos) {
    KillAndReap(pid);
    return absl::UnavailableError(absl::StrCat("Xvfb did not start on :", n));
  }
  xvfb_pid_ = pid;
  display_number_ = n;
  display_ = absl::StrCat(":", n);
  return absl::OkStatus();
}

absl::Status XvfbSession::RestartXvfb() {
  if (display_number_ < 0) return absl::FailedPreconditionError("never started");
  if (xvfb_pid_ > 0) return absl::FailedPreconditionError("the X server is still running");
  // The killed server's lock file stays (it keeps other sessions off this
  // display); a new Xvfb removes it once it sees its pid gone, but may refuse
  // while the old listening socket is still held (a child such as xkbcomp
  // outliving it). Retry for a while rather than fail on the first refusal.
  absl::Status s;
  const int64_t deadline = NowMs() + 20000;
  do {
    s = StartServer(display_number_);
    if (s.ok() || !absl::IsUnavailable(s)) return s;
    SleepMs(250);
  } while (NowMs() < deadline);
  return s;
}

absl::Status XvfbSession::Start(bool with_window_manager, int width, int height) {
  screen_ = absl::StrCat(width, "x", height, "x24");
  for (int n = 90; n <= 120 && xvfb_pid_ < 0; ++n) {
    const int fd = open(absl::StrCat("/tmp/.sealtrace-X", n, ".reserve").c_str(),
                        O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {  // another session's
      if (fd >= 0) close(fd);
      continue;
    }
    struct stat st;
    absl::Status started = absl::UnavailableError("locked");
    if (stat(absl::StrCat("/tmp/.X", n, "-lock").c_str(), &st) != 0) started = StartServer(n);
    if (started.ok()) {
      reserve_fd_ = fd;
      break;
    }
    close(fd);
    if (!absl::IsUnavailable(started)) return started;  // e.g. no Xvfb
    // UNAVAILABLE: the display is in use (or was taken meanwhile); try the next.
  }
  if (xvfb_pid_ < 0) return absl::UnavailableError("no free X display in :90..:120");
  if (!with_window_manager) return absl::OkStatus();
  absl::StatusOr<pid_t> wm = Spawn({"openbox", "--sm-disable"});
  if (!wm.ok()) return wm.status();
  // Generous: on a loaded 2-core machine (sanitizer builds, parallel tests)
  // openbox has been seen to need more than 15 s.
  int64_t deadline = NowMs() + 45000;
  while (NowMs() < deadline) {
    absl::StatusOr<std::string> out = Run({"xprop", "-root", "_NET_SUPPORTING_WM_CHECK"});
    if (out.ok() && out->find("window id") != std::string::npos) return absl::OkStatus();
    int status = 0;
    if (waitpid(*wm, &status, WNOHANG) == *wm) {
      children_.erase(std::remove(children_.begin(), children_.end(), *wm), children_.end());
      return absl::UnavailableError(
          absl::StrCat("openbox exited before managing the display (",
                       WIFEXITED(status) ? "exit status " : "signal ",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), ")"));
    }
    SleepMs(100);
  }
  return absl::DeadlineExceededError("openbox did not come up within 45 s");
}

absl::StatusOr<pid_t> XvfbSession::Spawn(const std::vector<std::string>& argv) {
  absl::StatusOr<pid_t> pid = SpawnWith(argv, Environment(), -1);
  if (pid.ok()) children_.push_back(*pid);
  return pid;
}

absl::StatusOr<std::string> XvfbSession::Run(const std::vector<std::string>& argv, int timeout_s) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  absl::StatusOr<pid_t> pid = SpawnWith(argv, Environment(), fds[1]);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  std::string out;
  int64_t deadline = NowMs() + int64_t{timeout_s} * 1000;
  bool eof = false;
  while (!eof && NowMs() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t r = read(fds[0], buf, sizeof(buf));
    if (r <= 0) {
      eof = true;
    } else {
      out.append(buf, static_cast<size_t>(r));
    }
  }
  close(fds[0]);
  if (!eof) {
    KillAndReap(*pid);
    return absl::DeadlineExceededError(absl::StrCat("timed out: ", absl::StrJoin(argv, " ")));
  }
  int status = 0;
  waitpid(*pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("failed (status ", status, "): ", absl::StrJoin(argv, " ")));
  }
  return out;
}

absl::StatusOr<uint64_t> XvfbSession::StartXterm(const std::string& title, pid_t* pid) {
  absl::StatusOr<pid_t> p = Spawn({"xterm", "-T", title, "-geometry", "80x24", "-e", "sh", "-c",
                                   "trap '' INT QUIT TSTP; exec cat >/dev/null"});
  if (!p.ok()) return p.status();
  if (pid) *pid = *p;
  absl::StatusOr<std::string> id =
      Run({"xdotool", "search", "--sync", "--onlyvisible", "--name", "^" + title + "$"}, 20);
  if (!id.ok()) return id.status();
  return std::stoull(*id);
}

void XvfbSession::KillXvfb() {
  if (xvfb_pid_ > 0) {
    kill(xvfb_pid_, SIGKILL);
    waitpid(xvfb_pid_, nullptr, 0);
    xvfb_pid_ = -1;
  }
}

void XvfbSession::Stop() {
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) KillAndReap(*it);
  children_.clear();
  KillAndReap(xvfb_pid_);
  xvfb_pid_ = -1;
  if (reserve_fd_ >= 0) close(reserve_fd_);  // releases the reservation
  reserve_fd_ = -1;
}

}  // namespace sealtrace
