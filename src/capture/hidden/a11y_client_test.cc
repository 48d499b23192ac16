// A11yClient against scripted helpers (fault injection: a helper that
// answers, crashes, floods garbage, or does not exist). The real helper on a
// real AT-SPI bus is exercised by tests/x11/hidden_input_test.sh.
#include "capture/hidden/a11y_client.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "capture/hidden/a11y_protocol.h"

namespace sealtrace::hidden {
namespace {

std::string Script(const std::string& name, const std::string& body) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

template <typename F>
bool WaitFor(F f, int ms = 5000) {
  for (int i = 0; i < ms / 5; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

A11yClient::Options Opts(std::string path) {
  A11yClient::Options o;
  o.helper_path = std::move(path);
  o.backoff_min_us = 20'000;
  o.backoff_max_us = 80'000;
  return o;
}

TEST(A11yClient, AnswersQueriesFromAWorkingHelper) {
  // Answers "password" for pid 7, "entry" otherwise.
  auto path = Script("helper_ok", R"(echo "hello 1 1"
echo "f 7 1 password-text"
while read q id pid; do
  if [ "$pid" = 7 ]; then echo "a $id $pid 1 password-text"; else echo "a $id $pid 0 entry"; fi
done
)");
  A11yClient c(Env::Default(), Opts(path));
  std::mutex mu;
  std::vector<FocusAnswer> got;
  c.SetCallback([&](const FocusAnswer& a) {
    std::lock_guard<std::mutex> l(mu);
    got.push_back(a);
  });
  ASSERT_TRUE(WaitFor([&] { return c.Available(); }));
  EXPECT_NE(c.Status().find("accessibility enabled"), std::string::npos) << c.Status();
  c.Query(1, 7);
  c.Query(2, 8);
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> l(mu);
    return got.size() >= 3;
  }));
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(got[0].query, 0u);  // the unsolicited report
  EXPECT_TRUE(got[0].hidden);
  EXPECT_EQ(got[1].query, 1u);
  EXPECT_TRUE(got[1].hidden);
  EXPECT_EQ(got[1].role, "password-text");
  EXPECT_EQ(got[2].query, 2u);
  EXPECT_FALSE(got[2].hidden);
  EXPECT_EQ(c.starts(), 1);
}

TEST(A11yClient, CrashingHelperIsRestartedWithBackoff) {
  auto path = Script("helper_crash", "echo 'hello 1 1'\nkill -SEGV $$\n");
  A11yClient c(Env::Default(), Opts(path));
  ASSERT_TRUE(WaitFor([&] { return c.starts() >= 3; }));
  EXPECT_TRUE(WaitFor([&] { return c.Status().find("degraded") != std::string::npos; }))
      << c.Status();
}

TEST(A11yClient, GarbageAndOverlongLinesGetTheHelperReplaced) {
  auto path = Script("helper_garbage", R"(echo "hello 1 1"
while true; do
  echo "a 1 2 3 this is not a role"
  head -c 100000 /dev/zero | tr '\0' 'x'; echo
done
)");
  A11yClient c(Env::Default(), Opts(path));
  int answers = 0;
  c.SetCallback([&](const FocusAnswer&) { ++answers; });
  ASSERT_TRUE(WaitFor([&] { return c.starts() >= 2; }));
  EXPECT_EQ(answers, 0);
}

TEST(A11yClient, MissingHelperSaysSoAndNeverAnswers) {
  A11yClient c(Env::Default(), Opts("/nonexistent/sealtrace-a11y-helper"));
  EXPECT_TRUE(WaitFor([&] { return c.Status().find("cannot start") != std::string::npos; }))
      << c.Status();
  EXPECT_FALSE(c.Available());
  c.Query(1, 1);  // harmless
}

TEST(A11yClient, HungHelperNeverBlocksQueries) {
  // Reads nothing: queries fill the socket buffer and are dropped, not blocked.
  auto path = Script("helper_hung", "echo 'hello 1 1'\nexec sleep 30\n");
  A11yClient c(Env::Default(), Opts(path));
  ASSERT_TRUE(WaitFor([&] { return c.Available(); }));
  auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 1; i <= 200000; ++i) c.Query(i, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

#ifdef SEALTRACE_A11Y_HELPER_PATH
// The real helper with no session bus at all: it must say so or answer
// "nothing hidden" quickly, and never take the recorder down with it.
TEST(A11yClient, RealHelperWithoutABusDegradesCleanly) {
  const char* old = std::getenv("DBUS_SESSION_BUS_ADDRESS");
  std::string saved = old ? old : "";
  setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
  {
    A11yClient c(Env::Default(), Opts(SEALTRACE_A11Y_HELPER_PATH));
    std::atomic<int> hidden_answers{0}, answers{0};
    c.SetCallback([&](const FocusAnswer& a) {
      ++answers;
      if (a.hidden) ++hidden_answers;
    });
    // Either it comes up (and can only answer "none") or it keeps failing
    // and the status says why.
    ASSERT_TRUE(WaitFor(
        [&] {
          return c.Available() || c.Status().find("degraded") != std::string::npos ||
                 c.Status().find("reports") != std::string::npos;
        },
        15000))
        << c.Status();
    if (c.Available()) {
      c.Query(1, static_cast<uint32_t>(getpid()));
      WaitFor([&] { return answers.load() > 0; }, 3000);
    }
    EXPECT_EQ(hidden_answers.load(), 0);
    if (!c.Available()) {
      EXPECT_NE(c.Status().find("no-session-bus"), std::string::npos) << c.Status();
    }
    std::printf("status without a bus: %s\n", c.Status().c_str());
  }
  if (old) {
    setenv("DBUS_SESSION_BUS_ADDRESS", saved.c_str(), 1);
  } else {
    unsetenv("DBUS_SESSION_BUS_ADDRESS");
  }
}
#endif

TEST(HelperProtocol, ParsesTheGrammarAndRefusesTheRest) {
  HelperMessage m;
  ASSERT_TRUE(ParseHelperLine("a 12 345 1 password-text", &m).ok());
  EXPECT_EQ(m.type, HelperMessage::kAnswer);
  EXPECT_EQ(m.id, 12u);
  EXPECT_EQ(m.pid, 345u);
  EXPECT_TRUE(m.hidden);
  ASSERT_TRUE(ParseHelperLine("f 0 0 none", &m).ok());
  EXPECT_EQ(m.type, HelperMessage::kFocus);
  ASSERT_TRUE(ParseHelperLine("hello 1 0", &m).ok());
  EXPECT_FALSE(m.enabled);
  for (const char* bad :
       {"", "a", "a 0 1 1 entry", "a 1 1 2 entry", "a 1 1 1 Entry", "a 1 99999999999 1 entry",
        "a 1 1 1 entry extra", "f 1 1", "hello x 1", "q 1 1", "a  1 1 1 entry",
        "a 1 1 1 role-that-is-much-longer-than-forty-eight-bytes-in-total-xx"}) {
    EXPECT_FALSE(ParseHelperLine(bad, &m).ok()) << bad;
  }
  EXPECT_EQ(SanitizeRole("Password Text"), "password-text");
  EXPECT_EQ(SanitizeRole(""), "unknown");
  EXPECT_EQ(SanitizeRole(std::string(100, 'a')).size(), 48u);
}

}  // namespace
}  // namespace sealtrace::hidden
