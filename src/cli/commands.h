// Registration functions of the `sealtrace` subcommands. Each lives in its
// own cmd_*.cc so heavy dependencies stay in the files that need them.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace sealtrace::cli {

void RegisterEnrollCommand(CLI::App& app);   // enroll (not in the recorder binary)
void RegisterAgentCommands(CLI::App& app);   // agent, consent, status, inspect, pause, resume
void RegisterUpCommands(CLI::App& app);      // up, demo (X11)
void RegisterServerCommand(CLI::App& app);   // server (vault)
void RegisterRedactCommand(CLI::App& app);   // redact
void RegisterAuditCommand(CLI::App& app);    // audit verify|checkpoint
void RegisterExportCommand(CLI::App& app);   // export
void RegisterScaleCommands(CLI::App& app);   // loadgen, scale run|migrate|parked
void RegisterAccessCommands(CLI::App& app);  // principal, grant, read, programme, ...

// Runs every role of a scale config (or `role` alone when not empty) in this
// process until SIGINT/SIGTERM; returns a process exit code. `sealtrace server
// --role ROLE --config FILE` and `sealtrace scale run` (cmd_scale.cc).
int RunScaleRoles(const std::string& config_path, const std::string& role);

// Shared exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

}  // namespace sealtrace::cli
