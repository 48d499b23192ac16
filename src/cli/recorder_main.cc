// `sealtrace-recorder`: the device-side commands only (agent, enroll, status,
// inspect, pause, resume), linked without the vault, access, export, scale and
// dashboard code and their libraries (PostgreSQL, NATS, SQLite, ...), so the
// process that runs all day on every contributor's desktop maps and touches as
// little as possible. `sealtrace agent ...` re-executes this binary when it is
// installed beside `sealtrace` (same arguments, same behaviour).
#include "common/harden.h"
#include <cstdio>
#include <malloc.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "privacy/hs_compile.h"

namespace {

// xcb allocates two blocks for every event it reads and reads events in
// batches (a typing burst is dozens per read); glibc's per-thread cache keeps
// only 7 freed blocks of a size, so most of those go through the slower arena
// path. The cache size can only be set when the process starts
// (GLIBC_TUNABLES), so the recorder executes itself once more with it, adding
// to whatever tunables the user set. The second start puts the environment
// back as it was, so the processes it starts (uploader, pattern compiler) get
// the user's. If the exec fails it carries on as it is.
constexpr char kTcacheTunable[] = "glibc.malloc.tcache_count=256";
constexpr char kReexecMark[] = "SEALTRACE_RECORDER_REEXEC";  // "1:<original>" or "0:"

void MaybeReexecWithMallocTunables(char** argv) {
  if (const char* mark = std::getenv(kReexecMark)) {
    const std::string m = mark;
    unsetenv(kReexecMark);
    if (m.size() >= 2 && m[0] == '1') {
      setenv("GLIBC_TUNABLES", m.c_str() + 2, 1);
    } else {
      unsetenv("GLIBC_TUNABLES");
    }
    return;  // executed once already, whatever glibc made of the tunable
  }
  if (getauxval(AT_SECURE) != 0) return;  // glibc drops tunables for such a process
  const char* env = std::getenv("GLIBC_TUNABLES");
  const bool had = env != nullptr;
  const std::string before = had ? env : "";
  if (before.find("glibc.malloc.tcache_count=") != std::string::npos) return;  // the user's
  const std::string value = (before.empty() ? "" : before + ":") + kTcacheTunable;
  if (setenv(kReexecMark, ((had ? "1:" : "0:") + before).c_str(), 1) != 0) return;
  if (setenv("GLIBC_TUNABLES", value.c_str(), 1) == 0) execv("/proc/self/exe", argv);
  // exec failed: restore the environment and run without the tunable.
  unsetenv(kReexecMark);
  if (had) {
    setenv("GLIBC_TUNABLES", before.c_str(), 1);
  } else {
    unsetenv("GLIBC_TUNABLES");
  }
}

}  // namespace

int main(int argc, char** argv) {
  MaybeReexecWithMallocTunables(argv);
  // No core file, not dumpable: keys and plaintext never reach a crash file.
  if (auto s = sealtrace::DisableCoreDumps(); !s.ok()) {
    std::fprintf(stderr, "sealtrace: %s\n", std::string(s.message()).c_str());
  }
  // One malloc arena for the process: the recorder has two threads that
  // allocate a few kilobytes a second, and a second arena costs its own
  // resident pages and fragmentation (about 170 KB measured) for no gain.
  mallopt(M_ARENA_MAX, 1);
  sealtrace::InitCrypto();
  // Compile the redaction and exclusion patterns in another process: this
  // long-running one then maps only the scanning runtime (hs_compile.h). The
  // static build links no compiler at all and runs the helper beside it.
#ifdef SEALTRACE_HS_COMPILE_HELPER
  sealtrace::privacy::SetHsCompilerExecutable(
      sealtrace::JoinPath(sealtrace::DirName(sealtrace::ExecutablePath()), "sealtrace-hs-compile"));
#else
  sealtrace::privacy::SetHsCompileIsolation(true);
#endif
  CLI::App app{"sealtrace-recorder: the sealtrace recorder (device-side commands)"};
  app.set_version_flag("--version", "sealtrace 0.1.0");
  app.require_subcommand(1);
  sealtrace::cli::RegisterAgentCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
