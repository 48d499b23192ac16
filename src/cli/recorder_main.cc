// `sealtrace-recorder`: the device-side commands only (agent, enroll, status,
// inspect, pause, resume), linked without the vault, access, export, scale and
// dashboard code and their libraries (PostgreSQL, NATS, SQLite, ...), so the
// process that runs all day on every contributor's desktop maps and touches as
// little as possible. `sealtrace agent ...` re-executes this binary when it is
// installed beside `sealtrace` (same arguments, same behaviour).
#include <malloc.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "privacy/hs_compile.h"

int main(int argc, char** argv) {
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
