// Registration functions of the `sealtrace` subcommands. Each lives in its
// own cmd_*.cc so heavy dependencies stay in the files that need them.
#pragma once

namespace CLI {
class App;
}

namespace sealtrace::cli {

void RegisterAgentCommands(CLI::App& app);   // agent, enroll, status, inspect, pause, resume
void RegisterUpCommands(CLI::App& app);      // up, demo (X11)
void RegisterServerCommand(CLI::App& app);   // server (vault)
void RegisterRedactCommand(CLI::App& app);   // redact
void RegisterAuditCommand(CLI::App& app);    // audit verify|checkpoint
void RegisterExportCommand(CLI::App& app);   // export
void RegisterScaleCommands(CLI::App& app);   // loadgen, scale run|migrate|parked
void RegisterAccessCommands(CLI::App& app);  // principal, grant, read, programme, ...

// Shared exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

}  // namespace sealtrace::cli
