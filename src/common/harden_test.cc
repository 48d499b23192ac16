#include "common/harden.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace sealtrace {
namespace {

// A child that holds a "secret" in memory, hardens itself and aborts must
// leave no core: the kernel reports no dump, and its directory has no core file.
TEST(Harden, AbortAfterDisableCoreDumpsLeavesNoCore) {
  char tmpl[] = "/tmp/sealtrace-core-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(3);
    volatile char secret[64] = "CANARY-KEY-MATERIAL";
    (void)secret;
    struct rlimit big = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &big);  // as permissive as the system allows
    const bool ok = DisableCoreDumps().ok();
    struct rlimit now{};
    getrlimit(RLIMIT_CORE, &now);
    const char report[3] = {ok ? '1' : '0', static_cast<char>('0' + prctl(PR_GET_DUMPABLE)),
                            now.rlim_cur == 0 && now.rlim_max == 0 ? '1' : '0'};
    (void)!write(fds[1], report, 3);
    abort();
  }
  close(fds[1]);
  char report[3] = {};
  ASSERT_EQ(read(fds[0], report, 3), 3);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(report[0], '1') << "DisableCoreDumps failed";
  EXPECT_EQ(report[1], '0') << "still dumpable";
  EXPECT_EQ(report[2], '1') << "RLIMIT_CORE not 0";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
  EXPECT_FALSE(WCOREDUMP(status));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sealtrace
