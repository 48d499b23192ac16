// SIGABRT to the real recorder and the real vault server leaves no core file,
// while the same environment does write one for an ordinary process (so the
// check can fail). Both run with RLIMIT_CORE raised to unlimited by the test:
// only their own hardening (common/harden.h) keeps the core away.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "e2e_util.h"

namespace sealtrace::testing {
namespace {

int CoreFiles(const std::string& dir) {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("core", 0) == 0) ++n;
  }
  return n;
}

std::string CoreLimitOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("Max core file size", 0) == 0) return line;
  }
  return "";
}

TEST(CoreDumps, RecorderAndServerLeaveNoCoreOnAbort) {
  const std::string root = MakeTempDir("st_core");
  const std::string cores = root + "/cwd";
  std::filesystem::create_directories(cores);
  ASSERT_EQ(chdir(cores.c_str()), 0);
  struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_CORE, &unlimited) != 0) GTEST_SKIP() << "cannot raise RLIMIT_CORE here";

  // Control: an ordinary process aborted here writes a core (where the
  // system's core_pattern writes files at all).
  std::string pattern;
  std::getline(std::ifstream("/proc/sys/kernel/core_pattern"), pattern);
  const bool files = !pattern.empty() && pattern[0] != '|';
  {
    Process sleeper({"/bin/sleep", "30"}, root + "/sleep.log");
    usleep(200 * 1000);
    kill(sleeper.pid(), SIGABRT);
    EXPECT_EQ(sleeper.Wait(10000), -SIGABRT);
  }
  if (files) {
    ASSERT_EQ(CoreFiles(cores), 1) << "core_pattern " << pattern << ": the control wrote no core";
    for (auto& e : std::filesystem::directory_iterator(cores)) std::filesystem::remove(e.path());
  }

  VaultProcess v = NewVault(root);
  v.Start();
  const std::string cfg = Enrol(v, root, "cora");
  SyntheticOptions so;
  so.events = 2000;  // about a minute of activity at speed 1
  const std::string replay = WriteReplay(root + "/session.jsonl", MakeSyntheticSession(so));
  Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + replay,
                 "--speed", "1"},
                root + "/agent.log");
  ASSERT_TRUE(WaitForAgentState(cfg, {"recording"}, 60000)) << ReadAll(root + "/agent.log");
  for (pid_t pid : {agent.pid(), v.proc->pid()}) {
    const std::string limit = CoreLimitOf(pid);
    EXPECT_NE(limit.find(" 0 "), std::string::npos) << "pid " << pid << ": " << limit;
  }
  kill(agent.pid(), SIGABRT);
  EXPECT_EQ(agent.Wait(15000), -SIGABRT);
  kill(v.proc->pid(), SIGABRT);
  EXPECT_EQ(v.proc->Wait(15000), -SIGABRT);
  v.proc.reset();
  usleep(500 * 1000);
  EXPECT_EQ(CoreFiles(cores), 0) << "a core file was written";
  EXPECT_EQ(CoreFiles(root), 0);
}

}  // namespace
}  // namespace sealtrace::testing
