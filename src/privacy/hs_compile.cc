#include "privacy/hs_compile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "privacy/hs_compile_internal.h"

extern char** environ;

namespace sealtrace::privacy {
namespace internal {

namespace {

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

bool GetU32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  std::memcpy(v, in->data(), 4);
  in->remove_prefix(4);
  return true;
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

}  // namespace

std::string EncodeHsCompileRequest(const std::vector<const char*>& exprs,
                                   const std::vector<unsigned>& flags,
                                   const std::vector<unsigned>& ids) {
  std::string out;
  PutU32(&out, static_cast<uint32_t>(exprs.size()));
  for (size_t i = 0; i < exprs.size(); ++i) {
    const size_t len = std::strlen(exprs[i]);
    PutU32(&out, flags[i]);
    PutU32(&out, ids[i]);
    PutU32(&out, static_cast<uint32_t>(len));
    out.append(exprs[i], len);
  }
  return out;
}

bool DecodeHsCompileRequest(std::string_view in, std::vector<std::string>* exprs,
                            std::vector<unsigned>* flags, std::vector<unsigned>* ids) {
  uint32_t n = 0;
  if (!GetU32(&in, &n) || n == 0 || n > 100'000) return false;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t f = 0, id = 0, len = 0;
    if (!GetU32(&in, &f) || !GetU32(&in, &id) || !GetU32(&in, &len)) return false;
    if (len > (1u << 20) || in.size() < len) return false;
    std::string e(in.substr(0, len));
    if (e.find('\0') != std::string::npos) return false;
    in.remove_prefix(len);
    exprs->push_back(std::move(e));
    flags->push_back(f);
    ids->push_back(id);
  }
  return in.empty();
}

bool WriteHsCompileReply(int fd, HsCompiled& c) {
  const uint8_t ok = c.db != nullptr ? 1 : 0;
  const int32_t expr = c.error_expression;
  char* serialized = nullptr;
  const char* bytes = c.error.data();
  size_t len = c.error.size();
  if (ok) {
    const hs_error_t rc = hs_serialize_database(c.db, &serialized, &len);
    hs_free_database(c.db);
    c.db = nullptr;
    if (rc != HS_SUCCESS) return false;
    bytes = serialized;
  }
  const uint64_t len64 = len;
  const bool sent = WriteAll(fd, &ok, 1) && WriteAll(fd, &expr, sizeof expr) &&
                    WriteAll(fd, &len64, sizeof len64) && WriteAll(fd, bytes, len);
  std::free(serialized);
  return sent;
}

}  // namespace internal

namespace {

using internal::HsCompiled;

std::atomic<bool> g_isolate{false};
std::mutex g_helper_mu;
std::string g_helper;  // guarded by g_helper_mu; empty: no helper

std::string Helper() {
  std::lock_guard<std::mutex> l(g_helper_mu);
  return g_helper;
}

// Reads a whole reply from fd, then parses it.
absl::StatusOr<HsCompiled> ReadReply(int fd, const std::string& who, int* status_out,
                                     pid_t pid) {
  std::string msg;
  char buf[65536];
  for (;;) {
    const ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    msg.append(buf, static_cast<size_t>(r));
  }
  close(fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (status_out) *status_out = status;
  constexpr size_t kHead = 1 + sizeof(int32_t) + sizeof(uint64_t);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || msg.size() < kHead) {
    return absl::InternalError(who + " failed (status " + std::to_string(status) + ")");
  }
  const uint8_t ok = static_cast<uint8_t>(msg[0]);
  int32_t expr = -1;
  uint64_t len = 0;
  std::memcpy(&expr, msg.data() + 1, sizeof expr);
  std::memcpy(&len, msg.data() + 1 + sizeof expr, sizeof len);
  if (len != msg.size() - kHead) return absl::InternalError(who + " sent a short reply");
  HsCompiled out;
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

// A forked child compiles. `fallback` is set when no child could run.
absl::StatusOr<HsCompiled> CompileInChild(const std::vector<const char*>& exprs,
                                          const std::vector<unsigned>& flags,
                                          const std::vector<unsigned>& ids, bool* fallback) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *fallback = true;
    return HsCompiled{};
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    *fallback = true;
    return HsCompiled{};
  }
  if (pid == 0) {
    close(fds[0]);
    HsCompiled c = internal::CompileHsHere(exprs, flags, ids);
    _exit(internal::WriteHsCompileReply(fds[1], c) ? 0 : 4);
  }
  close(fds[1]);
  return ReadReply(fds[0], "pattern compiler process", nullptr, pid);
}

// The sealtrace-hs-compile helper compiles: request on its stdin, reply on
// its stdout.
absl::StatusOr<HsCompiled> CompileInHelper(const std::string& helper,
                                           const std::vector<const char*>& exprs,
                                           const std::vector<unsigned>& flags,
                                           const std::vector<unsigned>& ids) {
  const std::string request = internal::EncodeHsCompileRequest(exprs, flags, ids);
  // The request goes over a socket so that a helper that died early gives
  // EPIPE (MSG_NOSIGNAL), not a SIGPIPE in the recorder.
  int in[2], out[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
    return absl::InternalError("socketpair failed");
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return absl::InternalError("pipe failed");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  char* argv[] = {const_cast<char*>(helper.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, helper.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    return absl::FailedPreconditionError("cannot start the pattern compiler " + helper + ": " +
                                         std::strerror(rc));
  }
  // The helper reads the whole request before it writes, so writing first
  // cannot deadlock; a helper that died shows in its exit status.
  bool sent = true;
  for (size_t at = 0; at < request.size();) {
    const ssize_t w = send(in[1], request.data() + at, request.size() - at, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      sent = false;
      break;
    }
    at += static_cast<size_t>(w);
  }
  shutdown(in[1], SHUT_WR);
  close(in[1]);
  int status = 0;
  auto r = ReadReply(out[0], "pattern compiler " + helper, &status, pid);
  if (!sent && r.ok()) return absl::InternalError("could not send the patterns to " + helper);
  return r;
}

}  // namespace

void SetHsCompileIsolation(bool on) { g_isolate = on; }
bool HsCompileIsolation() { return g_isolate; }

void SetHsCompilerExecutable(std::string path) {
  std::lock_guard<std::mutex> l(g_helper_mu);
  g_helper = std::move(path);
}

bool HasInProcessHsCompiler() { return internal::HaveInProcessHsCompiler(); }

absl::StatusOr<hs_database_t*> CompileHsBlockDatabase(const std::vector<const char*>& exprs,
                                                      const std::vector<unsigned>& flags,
                                                      const std::vector<unsigned>& ids,
                                                      int* error_expression) {
  if (error_expression) *error_expression = -1;
  if (exprs.size() != flags.size() || exprs.size() != ids.size() || exprs.empty()) {
    return absl::InvalidArgumentError("pattern compiler: mismatched or empty inputs");
  }
  HsCompiled c;
  const std::string helper = Helper();
  if (!helper.empty()) {
    auto r = CompileInHelper(helper, exprs, flags, ids);
    if (!r.ok()) return r.status();
    c = std::move(*r);
  } else {
    if (!internal::HaveInProcessHsCompiler()) {
      return absl::FailedPreconditionError(
          "this binary has no pattern compiler and no sealtrace-hs-compile helper was set");
    }
    bool fallback = !g_isolate;
    if (!fallback) {
      auto r = CompileInChild(exprs, flags, ids, &fallback);
      if (!r.ok()) return r.status();
      c = std::move(*r);
    }
    if (fallback) c = internal::CompileHsHere(exprs, flags, ids);
  }
  if (c.db == nullptr) {
    if (error_expression) *error_expression = c.error_expression;
    return absl::InvalidArgumentError(c.error.empty() ? "unknown error" : c.error);
  }
  return c.db;
}

}  // namespace sealtrace::privacy
