#include "common/harden.h"
#include <cstdio>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/env.h"
#include "crypto/crypto.h"

namespace {

// `sealtrace agent ...` runs all day on every contributor's desktop: hand it to
// the lean `sealtrace-recorder` beside this binary (same commands, none of the
// vault/export/scale code and libraries mapped). SEALTRACE_NO_REEXEC=1 keeps it
// in this process.
void MaybeExecRecorder(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "agent") != 0) return;
  const char* no = std::getenv("SEALTRACE_NO_REEXEC");
  if (no != nullptr && *no == '1') return;
  const std::string self = sealtrace::ExecutablePath();
  if (self.empty()) return;
  const std::string recorder = sealtrace::JoinPath(sealtrace::DirName(self), "sealtrace-recorder");
  if (access(recorder.c_str(), X_OK) != 0) return;
  std::vector<char*> args(argv, argv + argc);
  args[0] = const_cast<char*>(recorder.c_str());
  args.push_back(nullptr);
  execv(recorder.c_str(), args.data());
  // exec failed: carry on in this process.
}

}  // namespace

int main(int argc, char** argv) {
  MaybeExecRecorder(argc, argv);
  // No core file, not dumpable: keys and plaintext never reach a crash file.
  if (auto s = sealtrace::DisableCoreDumps(); !s.ok()) {
    std::fprintf(stderr, "sealtrace: %s\n", std::string(s.message()).c_str());
  }
  sealtrace::InitCrypto();
  CLI::App app{
      "sealtrace: records computer-use demonstrations with privacy by construction.\n"
      "Redacts on the device, seals under the contributor's key, and releases plaintext only\n"
      "to audited, purpose-bound reads."};
  app.set_version_flag("--version", "sealtrace 0.1.0");
  app.require_subcommand(1);
  sealtrace::cli::RegisterEnrollCommand(app);
  sealtrace::cli::RegisterAgentCommands(app);
#ifndef SEALTRACE_NO_X11
  sealtrace::cli::RegisterUpCommands(app);
#endif
  sealtrace::cli::RegisterServerCommand(app);
  sealtrace::cli::RegisterRedactCommand(app);
  sealtrace::cli::RegisterAuditCommand(app);
  sealtrace::cli::RegisterExportCommand(app);
  sealtrace::cli::RegisterScaleCommands(app);
  sealtrace::cli::RegisterAccessCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
