// Tests of `sealtrace export` (src/cli/cmd_export.cc) through CLI11.
#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>

#include "cli/commands.h"
#include "crypto/crypto.h"
#include "export/export_test_util.h"
#include "export/exporter.h"

namespace sealtrace::exporter {
namespace {

namespace fs = std::filesystem;
using testing::StreamBuilder;
using testing::TestId;

// Runs `sealtrace export ARGS`; returns the exit code.
int RunCli(std::vector<std::string> args) {
  CLI::App app;
  app.require_subcommand(1);
  cli::RegisterExportCommand(app);
  args.insert(args.begin(), "export");
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return e.get_exit_code();
  }
  return 0;
}

struct CliEnv {
  std::string root, segs, keys, out, ledger;
};

CliEnv Make(const std::string& name) {
  InitCrypto();
  CliEnv s;
  s.root = ::testing::TempDir() + "/cli-" + name + "-" + std::to_string(::getpid());
  fs::remove_all(s.root);
  s.segs = s.root + "/segs";
  s.keys = s.root + "/keys.json";
  s.out = s.root + "/out";
  s.ledger = s.root + "/ledger.sqlite";
  fs::create_directories(s.segs);
  std::string keys = "{";
  for (int i = 0; i < 3; ++i) {
    BoxKeyPair kp = GenerateBoxKeyPair();
    const Id16 c = TestId(1, static_cast<uint8_t>(i));
    StreamBuilder b;
    b.Focus(0, 1, "firefox", "Inbox").Click(100, 10, 10).Type(500, "hi").Tap(900, 0xff0d, "\r");
    std::ofstream(s.segs + "/s" + std::to_string(i), std::ios::binary) << testing::MakeSegment(
        c, TestId(2, static_cast<uint8_t>(i)), TestId(3, static_cast<uint8_t>(i)), 0, 1'000'000,
        b.events(), kp.public_key);
    keys +=
        std::string(i ? "," : "") + "\"" + c.Hex() + "\": \"" + Base64(kp.secret_key.view()) + "\"";
  }
  keys += "}";
  std::ofstream(s.keys) << keys;
  return s;
}

TEST(ExportCliTest, ExportsADirectory) {
  CliEnv s = Make("ok");
  EXPECT_EQ(RunCli({"--segments", s.segs, "--key-file", s.keys, "--out", s.out, "--purpose", "test",
                    "--dp-ledger", s.ledger, "--k", "2", "--progress", "plain"}),
            0);
  EXPECT_TRUE(fs::exists(s.out + "/manifest.json"));
  EXPECT_TRUE(fs::exists(s.out + "/shard-00000.agentnet.jsonl"));
  EXPECT_TRUE(fs::exists(s.out + "/shard-00000.computer13.jsonl"));
  EXPECT_FALSE(fs::exists(s.out + "/" + Exporter::kCheckpointName));
}

TEST(ExportCliTest, ExpiredGrantIsRefusedValidOneRuns) {
  CliEnv s = Make("expired");
  std::vector<std::string> args = {"--segments", s.segs,     "--key-file", s.keys,
                                   "--out",      s.out,      "--purpose",  "test",
                                   "--no-dp",    "--format", "computer13"};
  auto expired = args;
  expired.insert(expired.end(), {"--expires-at", "1"});
  // Expired before it starts: refused, nothing written.
  EXPECT_EQ(RunCli(expired), cli::kExitError);
  EXPECT_FALSE(fs::exists(s.out + "/manifest.json"));
  EXPECT_EQ(RunCli(args), 0);
  EXPECT_TRUE(fs::exists(s.out + "/shard-00000.computer13.jsonl"));
  EXPECT_FALSE(fs::exists(s.out + "/shard-00000.agentnet.jsonl"));
}

TEST(ExportCliTest, UsageErrors) {
  CliEnv s = Make("usage");
  // DP without a ledger.
  EXPECT_EQ(RunCli({"--segments", s.segs, "--key-file", s.keys, "--out", s.out, "--purpose", "t"}),
            cli::kExitUsage);
  // A kept key must go outside the dataset.
  EXPECT_EQ(RunCli({"--segments", s.segs, "--key-file", s.keys, "--out", s.out, "--purpose", "t",
                    "--no-dp", "--keep-pseudonym-key", "audit", "--pseudonym-key-out",
                    s.out + "/key.json"}),
            cli::kExitUsage);
  // Kept outside: written 0600, and not in the dataset.
  EXPECT_EQ(RunCli({"--segments", s.segs, "--key-file", s.keys, "--out", s.out, "--purpose", "t",
                    "--no-dp", "--keep-pseudonym-key", "audit", "--pseudonym-key-out",
                    s.root + "/key.json"}),
            0);
  EXPECT_TRUE(fs::exists(s.root + "/key.json"));
  EXPECT_EQ(fs::status(s.root + "/key.json").permissions() & fs::perms::others_read,
            fs::perms::none);
  // Bad key file.
  std::ofstream(s.root + "/bad.json") << "{\"zz\": 1}";
  EXPECT_EQ(RunCli({"--segments", s.segs, "--key-file", s.root + "/bad.json", "--out",
                    s.root + "/o2", "--purpose", "t", "--no-dp"}),
            cli::kExitError);
}

}  // namespace
}  // namespace sealtrace::exporter
