// `sealtrace-scale`: the scale commands (loadgen, scale run|migrate|parked) as a
// stand-alone binary, used by the tests. The same commands are in `sealtrace`
// once RegisterScaleCommands is wired into src/cli/main.cc.
#include <CLI/CLI.hpp>

#include "crypto/crypto.h"

namespace sealtrace::cli {
void RegisterScaleCommands(CLI::App& app);
}

int main(int argc, char** argv) {
  sealtrace::InitCrypto();
  CLI::App app{"sealtrace-scale: multi-machine ingest roles and load generator"};
  app.require_subcommand(1);
  sealtrace::cli::RegisterScaleCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
