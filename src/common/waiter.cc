#include "common/waiter.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sealtrace {

absl::StatusOr<std::unique_ptr<Waiter>> Waiter::Create(const std::vector<std::string>& dirs) {
  std::unique_ptr<Waiter> w(new Waiter());
  w->event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->event_fd_ < 0) {
    return absl::InternalError(std::string("eventfd: ") + std::strerror(errno));
  }
  w->inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w->inotify_fd_ >= 0) {
    for (const auto& d : dirs) {
      if (inotify_add_watch(w->inotify_fd_, d.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        close(w->inotify_fd_);  // degrade to bounded polling (see header)
        w->inotify_fd_ = -1;
        break;
      }
    }
  }
  return w;
}

Waiter::~Waiter() {
  if (event_fd_ >= 0) close(event_fd_);
  if (inotify_fd_ >= 0) close(inotify_fd_);
}

void Waiter::Wake() {
  const uint64_t one = 1;
  // write(2) on an eventfd is async-signal-safe; a full counter already wakes.
  [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof(one));
}

Waiter::Result Waiter::Wait(int64_t timeout_us) {
  Result r;
  if (inotify_fd_ < 0) {
    r.all_changed = true;
    timeout_us = timeout_us < 0 ? kFallbackPollUs : std::min(timeout_us, kFallbackPollUs);
  }
  const int timeout_ms =
      timeout_us < 0 ? -1 : static_cast<int>(std::min<int64_t>((timeout_us + 999) / 1000, 1 << 30));
  pollfd fds[2] = {{event_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
  const nfds_t n = inotify_fd_ >= 0 ? 2 : 1;
  if (poll(fds, n, timeout_ms) <= 0) return r;  // timeout or EINTR: nothing to report
  if (fds[0].revents & POLLIN) {
    uint64_t v;
    r.woken = read(event_fd_, &v, sizeof(v)) == sizeof(v);
  }
  if (n == 2 && (fds[1].revents & POLLIN)) {
    bool lost_watch = false;
    alignas(inotify_event) char buf[4096];
    while (true) {
      ssize_t len = read(inotify_fd_, buf, sizeof(buf));
      if (len <= 0) break;
      for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= len;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        if (ev->mask & IN_Q_OVERFLOW) r.all_changed = true;
        if (ev->mask & IN_IGNORED) lost_watch = true;  // directory removed or unmounted
        if (ev->len > 0) {
          std::string name(ev->name, strnlen(ev->name, ev->len));
          if (std::find(r.changed.begin(), r.changed.end(), name) == r.changed.end()) {
            r.changed.push_back(std::move(name));
          }
        }
        off += static_cast<ssize_t>(sizeof(inotify_event)) + ev->len;
      }
    }
    if (lost_watch) {
      // A watch is gone: from now on bounded polling (see header).
      close(inotify_fd_);
      inotify_fd_ = -1;
      r.all_changed = true;
    }
  }
  return r;
}

}  // namespace sealtrace
