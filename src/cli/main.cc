#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "crypto/crypto.h"

int main(int argc, char** argv) {
  sealtrace::InitCrypto();
  CLI::App app{
      "sealtrace: records computer-use demonstrations with privacy by construction.\n"
      "Redacts on the device, seals under the contributor's key, and releases plaintext only\n"
      "to audited, purpose-bound reads."};
  app.set_version_flag("--version", "sealtrace 0.1.0");
  app.require_subcommand(1);
  sealtrace::cli::RegisterAgentCommands(app);
#ifndef SEALTRACE_NO_X11
  sealtrace::cli::RegisterUpCommands(app);
#endif
#ifndef SEALTRACE_NO_CMD_server
  sealtrace::cli::RegisterServerCommand(app);
#endif
#ifndef SEALTRACE_NO_CMD_redact
  sealtrace::cli::RegisterRedactCommand(app);
#endif
#ifndef SEALTRACE_NO_CMD_audit
  sealtrace::cli::RegisterAuditCommand(app);
#endif
#ifndef SEALTRACE_NO_CMD_export
  sealtrace::cli::RegisterExportCommand(app);
#endif
#ifndef SEALTRACE_NO_CMD_scale
  sealtrace::cli::RegisterScaleCommands(app);
#endif
#ifndef SEALTRACE_NO_CMD_access
  sealtrace::cli::RegisterAccessCommands(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
