#include "capture/hidden/a11y_client.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "capture/hidden/a11y_protocol.h"

extern char** environ;

namespace sealtrace::hidden {

A11yClient::A11yClient(Env* env, Options options) : env_(env), opt_(std::move(options)) {
  thread_ = std::thread([this] { Supervise(); });
}

A11yClient::~A11yClient() {
  stop_ = true;
  sleep_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string A11yClient::DefaultHelperPath(Env* env) {
  if (const char* p = std::getenv("SEALTRACE_A11Y_HELPER"); p && *p) return p;
  (void)env;
  std::string self = ExecutablePath();
  if (self.empty()) return "sealtrace-a11y-helper";
  return JoinPath(DirName(self), "sealtrace-a11y-helper");
}

void A11yClient::SetCallback(std::function<void(const FocusAnswer&)> cb) {
  std::lock_guard<std::mutex> l(cb_mu_);
  cb_ = std::move(cb);
}

void A11yClient::Query(uint64_t id, uint32_t window_pid) {
  std::string line = "q " + std::to_string(id) + " " + std::to_string(window_pid) + "\n";
  std::lock_guard<std::mutex> l(write_mu_);
  if (fd_ < 0) return;
  // Never blocks the source thread: a helper that stopped reading loses the
  // query, and the filter's bound releases what it held.
  (void)send(fd_, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

std::string A11yClient::Status() const {
  std::lock_guard<std::mutex> l(status_mu_);
  return status_;
}

void A11yClient::SetStatus(std::string s) {
  std::lock_guard<std::mutex> l(status_mu_);
  status_ = std::move(s);
}

bool A11yClient::SleepInterruptible(int64_t us) {
  std::unique_lock<std::mutex> l(sleep_mu_);
  sleep_cv_.wait_for(l, std::chrono::microseconds(us), [this] { return stop_.load(); });
  return !stop_;
}

void A11yClient::Supervise() {
  int64_t backoff = opt_.backoff_min_us;
  while (!stop_) {
    const int64_t started = env_->NowMonoMicros();
    const bool ran = RunOnce();
    if (stop_) break;
    // A helper that ran a good while earns a fresh back-off.
    if (ran && env_->NowMonoMicros() - started > 60'000'000) backoff = opt_.backoff_min_us;
    std::string why = Status();
    SetStatus(why + "; restarting in " + std::to_string(backoff / 1000) + " ms");
    if (!SleepInterruptible(backoff)) break;
    backoff = std::min(backoff * 2, opt_.backoff_max_us);
  }
}

bool A11yClient::RunOnce() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    SetStatus(std::string("unavailable: socketpair: ") + std::strerror(errno));
    return false;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  char* argv[] = {const_cast<char*>(opt_.helper_path.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, opt_.helper_path.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    SetStatus("unavailable: cannot start " + opt_.helper_path + ": " + std::strerror(rc));
    return false;
  }
  ++starts_;
  pid_ = pid;
  {
    std::lock_guard<std::mutex> l(write_mu_);
    fd_ = sv[0];
  }
  SetStatus("starting (helper pid " + std::to_string(pid) + ")");
  std::string buf;
  bool skipping = false;  // inside an over-long line
  int bad = 0;
  char chunk[4096];
  while (!stop_ && bad < opt_.max_bad_lines) {
    pollfd p{sv[0], POLLIN, 0};
    int n = poll(&p, 1, 200);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    ssize_t r = read(sv[0], chunk, sizeof(chunk));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) break;  // EOF: the helper exited
    for (ssize_t i = 0; i < r; ++i) {
      char c = chunk[i];
      if (c == '\n') {
        if (!skipping) HandleLine(buf, &bad);
        buf.clear();
        skipping = false;
      } else if (!skipping) {
        buf.push_back(c);
        if (buf.size() > kMaxLine) {
          ++bad;
          skipping = true;
          buf.clear();
        }
      }
    }
  }
  ready_ = false;
  {
    std::lock_guard<std::mutex> l(write_mu_);
    fd_ = -1;
  }
  close(sv[0]);
  // Reap: ask politely, then insist.
  int status = 0;
  pid_t w = waitpid(pid, &status, WNOHANG);
  if (w == 0) {
    kill(pid, SIGTERM);
    for (int i = 0; i < 20 && (w = waitpid(pid, &status, WNOHANG)) == 0; ++i) usleep(10'000);
    if (w == 0) {
      kill(pid, SIGKILL);
      w = waitpid(pid, &status, 0);
    }
  }
  pid_ = 0;
  std::string why = bad >= opt_.max_bad_lines ? "helper sent malformed lines"
                    : WIFSIGNALED(status)    ? "helper killed by signal " +
                                                std::to_string(WTERMSIG(status))
                    : WIFEXITED(status) ? "helper exited with status " +
                                              std::to_string(WEXITSTATUS(status))
                                        : "helper gone";
  {
    std::lock_guard<std::mutex> l(status_mu_);
    if (!diagnostic_.empty()) why += " (" + diagnostic_ + ")";
    diagnostic_.clear();
  }
  if (!stop_) SetStatus("degraded: " + why);
  return true;
}

void A11yClient::HandleLine(const std::string& line, int* bad) {
  HelperMessage m;
  if (!ParseHelperLine(line, &m).ok()) {
    ++*bad;
    return;
  }
  switch (m.type) {
    case HelperMessage::kHello:
      if (m.version != kProtocolVersion) {
        *bad = opt_.max_bad_lines;  // incompatible helper: stop using it
        return;
      }
      {
        std::lock_guard<std::mutex> l(status_mu_);
        enabled_ = m.enabled;
        status_ = "on (helper pid " + std::to_string(pid_.load()) + ", accessibility " +
                  (m.enabled ? "enabled" : "NOT enabled: applications may not report fields") +
                  ")";
      }
      ready_ = true;
      return;
    case HelperMessage::kError: {
      std::lock_guard<std::mutex> l(status_mu_);
      diagnostic_ = m.role;
      status_ = "on, helper reports: " + m.role;
      return;
    }
    case HelperMessage::kAnswer:
    case HelperMessage::kFocus: {
      FocusAnswer a{m.id, m.pid, m.hidden, m.role};
      std::lock_guard<std::mutex> l(cb_mu_);
      if (cb_) cb_(a);
      return;
    }
  }
}

}  // namespace sealtrace::hidden
