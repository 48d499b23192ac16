#include "cli/cli_util.h"

#include <unistd.h>

#include <CLI/Error.hpp>
#include <cstdlib>
#include <iostream>

namespace sealtrace::cli {

void Fail(const std::string& msg, int code) {
  std::cerr << "sealtrace: " << msg << "\n";
  throw CLI::RuntimeError(code);
}

std::string DefaultAgentConfigPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.config";
  return base + "/sealtrace/agent.toml";
}

bool AskConsent(const std::string& scope_text, bool pre_accepted) {
  std::cout << "\n" << scope_text << "\n";
  if (pre_accepted) {
    std::cout << "Scope accepted (--accept-scope).\n";
    return true;
  }
  if (!isatty(STDIN_FILENO)) {
    std::cerr << "sealtrace: consent is needed and there is no terminal to ask; re-run with "
                 "--accept-scope after reading the scope above\n";
    return false;
  }
  std::cout << "Do you consent to recording with this scope? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace sealtrace::cli
