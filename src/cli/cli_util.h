// Helpers every subcommand shares. Light on purpose: no CLI11 here.
#pragma once

#include <string>

#include "cli/commands.h"

namespace sealtrace::cli {

// Prints "sealtrace: MSG" on stderr and ends the running subcommand with exit
// code `code` (throws CLI::RuntimeError, which main() returns as the exit code).
[[noreturn]] void Fail(const std::string& msg, int code = kExitError);

// $XDG_CONFIG_HOME/sealtrace/agent.toml, else ~/.config/sealtrace/agent.toml.
std::string DefaultAgentConfigPath();

// Shows `scope_text` and asks on the terminal whether the contributor
// consents; `pre_accepted` (--accept-scope) answers yes. Without a terminal
// and without --accept-scope: false, with a hint on stderr.
bool AskConsent(const std::string& scope_text, bool pre_accepted);

}  // namespace sealtrace::cli
