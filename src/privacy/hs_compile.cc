#include "privacy/hs_compile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace sealtrace::privacy {
namespace {

std::atomic<bool> g_isolate{false};

struct Compiled {
  hs_database_t* db = nullptr;
  int error_expression = -1;
  std::string error;  // empty on success
};

Compiled CompileHere(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                     const std::vector<unsigned>& ids) {
  Compiled out;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                       static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &out.db,
                       &err) != HS_SUCCESS) {
    out.db = nullptr;
    out.error = err && err->message ? err->message : "unknown error";
    out.error_expression = err ? err->expression : -1;
    if (err) hs_free_compile_error(err);
  }
  return out;
}

bool WriteAll(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Child: compile, then send [u8 ok][i32 expr][u64 len][bytes] and _exit.
[[noreturn]] void ChildCompile(int fd, const std::vector<const char*>& exprs,
                               const std::vector<unsigned>& flags,
                               const std::vector<unsigned>& ids) {
  Compiled c = CompileHere(exprs, flags, ids);
  uint8_t ok = c.db != nullptr ? 1 : 0;
  int32_t expr = c.error_expression;
  char* bytes = nullptr;
  size_t len = 0;
  if (ok) {
    if (hs_serialize_database(c.db, &bytes, &len) != HS_SUCCESS) _exit(3);
  } else {
    bytes = c.error.data();
    len = c.error.size();
  }
  const uint64_t len64 = len;
  const bool sent = WriteAll(fd, &ok, 1) && WriteAll(fd, &expr, sizeof expr) &&
                    WriteAll(fd, &len64, sizeof len64) && WriteAll(fd, bytes, len);
  _exit(sent ? 0 : 4);
}

// Parent side of an isolated compile. `fallback` is set when no child could run.
absl::StatusOr<Compiled> CompileIsolated(const std::vector<const char*>& exprs,
                                         const std::vector<unsigned>& flags,
                                         const std::vector<unsigned>& ids, bool* fallback) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *fallback = true;
    return Compiled{};
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    *fallback = true;
    return Compiled{};
  }
  if (pid == 0) {
    close(fds[0]);
    ChildCompile(fds[1], exprs, flags, ids);
  }
  close(fds[1]);
  std::string msg;
  char buf[65536];
  for (;;) {
    const ssize_t r = read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    msg.append(buf, static_cast<size_t>(r));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  constexpr size_t kHead = 1 + sizeof(int32_t) + sizeof(uint64_t);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || msg.size() < kHead) {
    return absl::InternalError("pattern compiler process failed (status " +
                               std::to_string(status) + ")");
  }
  const uint8_t ok = static_cast<uint8_t>(msg[0]);
  int32_t expr = -1;
  uint64_t len = 0;
  std::memcpy(&expr, msg.data() + 1, sizeof expr);
  std::memcpy(&len, msg.data() + 1 + sizeof expr, sizeof len);
  if (len != msg.size() - kHead) return absl::InternalError("pattern compiler sent a short reply");
  Compiled out;
  if (!ok) {
    out.error_expression = expr;
    out.error = msg.substr(kHead);
    return out;
  }
  if (hs_deserialize_database(msg.data() + kHead, len, &out.db) != HS_SUCCESS) {
    return absl::InternalError("cannot load the compiled pattern database");
  }
  return out;
}

}  // namespace

void SetHsCompileIsolation(bool on) { g_isolate = on; }
bool HsCompileIsolation() { return g_isolate; }

absl::StatusOr<hs_database_t*> CompileHsBlockDatabase(const std::vector<const char*>& exprs,
                                                      const std::vector<unsigned>& flags,
                                                      const std::vector<unsigned>& ids,
                                                      int* error_expression) {
  if (error_expression) *error_expression = -1;
  if (exprs.size() != flags.size() || exprs.size() != ids.size() || exprs.empty()) {
    return absl::InvalidArgumentError("pattern compiler: mismatched or empty inputs");
  }
  Compiled c;
  bool fallback = !g_isolate;
  if (!fallback) {
    auto r = CompileIsolated(exprs, flags, ids, &fallback);
    if (!r.ok()) return r.status();
    c = std::move(*r);
  }
  if (fallback) c = CompileHere(exprs, flags, ids);
  if (c.db == nullptr) {
    if (error_expression) *error_expression = c.error_expression;
    return absl::InvalidArgumentError(c.error.empty() ? "unknown error" : c.error);
  }
  return c.db;
}

}  // namespace sealtrace::privacy
