// Privacy end to end through the real X11 source: xdotool types a card
// number, an AWS key and a password into xterm on a real Xvfb + openbox, and
// chats in an excluded window. The test then opens every sealed segment
// (spool and vault) with the contributor key and scans every byte on disk:
// the secrets and the excluded text are nowhere; the ordinary text around
// them is there, with one redaction marker per secret and only
// excluded-activity markers for the excluded window.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "segment/event_json.h"
#include "capture/x11/xvfb_session.h"
#include "e2e_util.h"
#include "spool/spool.h"

namespace sealtrace::testing {
namespace {

std::string TypedText(const std::vector<v1::Event>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e.has_key() && e.key().down()) text += e.key().text();
    if (e.has_redaction()) text += "[R:" + e.redaction().kind() + "]";
  }
  return text;
}

std::vector<v1::Event> OpenAll(const std::vector<std::string>& blobs, const vault::ReleasedKey& k) {
  std::vector<v1::Event> out;
  for (const auto& b : blobs) {
    auto seg = OpenSegment(b, k.public_key, k.secret_key);
    EXPECT_TRUE(seg.ok()) << seg.status();
    if (!seg.ok()) continue;
    for (auto& e : seg->events) out.push_back(e);
  }
  return out;
}

TEST(X11Privacy, SecretsAndExcludedWindowsNeverReachDisk) {
  std::string root = MakeTempDir("st_x11priv");
  XvfbSession x;
  ASSERT_TRUE(x.Start(true).ok());
  pid_t p1 = 0, p2 = 0;
  auto notes = x.StartXterm("notes", &p1);
  auto chat = x.StartXterm("Private Chat - family", &p2);
  ASSERT_TRUE(notes.ok() && chat.ok());

  WriteAll(root + "/privacy.toml",
           "[[exclude]]\nreason = \"test_private_chat\"\ntitle = \"private chat\"\n");
  VaultProcess v = NewVault(root);
  v.Start();
  std::string cfg = Enrol(v, root, "frank", {"--privacy-config", root + "/privacy.toml"});
  Process agent({SealtraceBinary(), "agent", "--config", cfg, "--source", "x11:" + x.display(),
                 "--no-upload"},
                root + "/agent.log");
  // The private chat window has the focus at start: "excluded".
  ASSERT_TRUE(WaitForAgentState(cfg, {"recording", "excluded"})) << ReadAll(root + "/agent.log");

  auto run = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), "xdotool");
    auto r = x.Run(argv);
    ASSERT_TRUE(r.ok()) << r.status();
  };
  run({"windowactivate", "--sync", std::to_string(*notes)});
  run({"type", "--delay", "30", "hello world card 4111 1111 1111 1111 end"});
  run({"key", "Return"});
  run({"type", "--delay", "30", "key AKIAIOSFODNN7EXAMPLE ok"});
  run({"key", "Return"});
  run({"type", "--delay", "30", "password: Tr0ub4dor&3xyzQ"});
  run({"key", "Return"});
  run({"windowactivate", "--sync", std::to_string(*chat)});
  run({"type", "--delay", "30", "secretplans"});
  run({"click", "1"});
  run({"windowactivate", "--sync", std::to_string(*notes)});
  run({"type", "--delay", "30", "bye"});
  run({"key", "Return"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  agent.Terminate();
  ASSERT_EQ(agent.Wait(20000), 0) << ReadAll(root + "/agent.log");

  // Read the spool as a thief with the contributor key would.
  v.Stop();
  vault::VaultOptions vo;
  vo.data_dir = v.dir;
  auto key = [&] {
    auto vault = *vault::Vault::Open(vo);
    return *vault->keys()->ReleaseSecretKey(ContributorOf(cfg), [] { return absl::OkStatus(); });
  }();
  auto spool = *Spool::Open(Env::Default(), {root + "/frank/spool", 1ull << 30});
  std::vector<std::string> blobs;
  auto listed = *spool->List();
  for (auto& e : listed) blobs.push_back(*spool->Read(e));
  ASSERT_FALSE(blobs.empty());
  auto events = OpenAll(blobs, key);

  // Upload the spool to the vault and read it back there too.
  v.Start();
  std::string empty = root + "/empty.jsonl";
  WriteAll(empty, "");
  ASSERT_EQ(RunToExit({SealtraceBinary(), "agent", "--config", cfg, "--source", "replay:" + empty},
                      root + "/agent2.log"),
            0);
  v.Stop();
  auto in_vault = ReadVault(v.dir, ContributorOf(cfg));
  EXPECT_EQ(in_vault.failed_to_open, 0);
  EXPECT_EQ(in_vault.events.size(), events.size());

  std::printf("recorded text (spool): %s\n", TypedText(events).c_str());
  for (const auto* evs : {&events, &in_vault.events}) {
    std::string text = TypedText(*evs);
    // Ordinary text is kept...
    EXPECT_NE(text.find("hello world card "), std::string::npos) << text;
    EXPECT_NE(text.find(" end"), std::string::npos) << text;
    EXPECT_NE(text.find("key "), std::string::npos) << text;
    EXPECT_NE(text.find(" ok"), std::string::npos) << text;
    EXPECT_NE(text.find("bye"), std::string::npos) << text;
    // ...each secret is one marker...
    EXPECT_NE(text.find("[R:payment_card]"), std::string::npos) << text;
    EXPECT_NE(text.find("[R:aws_access_key]"), std::string::npos) << text;
    EXPECT_NE(text.find("[R:password]"), std::string::npos) << text;
    // ...and no plaintext of secrets or of the excluded window survives.
    for (const char* secret : {"4111", "AKIAIOSFODNN7EXAMPLE", "Tr0ub4dor", "secretplans"}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << secret;
      for (const auto& e : *evs) {
        EXPECT_EQ(e.SerializeAsString().find(secret), std::string::npos)
            << secret << " in " << sealtrace::EventToJson(e);
      }
    }
    // The excluded window leaves only markers: no title, no pointer position.
    int enter = 0, leave = 0;
    for (const auto& e : *evs) {
      if (e.has_focus()) {
        EXPECT_EQ(e.focus().title().find("Private Chat"), std::string::npos);
      }
      if (e.has_control() && e.control().kind() == v1::ControlEvent::EXCLUDED_ENTER) ++enter;
      if (e.has_control() && e.control().kind() == v1::ControlEvent::EXCLUDED_LEAVE) ++leave;
    }
    EXPECT_GE(enter, 1);
    EXPECT_GE(leave, 1);
  }
  // Not one byte of a secret anywhere on disk: spool, vault, logs, config.
  for (const char* secret : {"4111 1111", "AKIAIOSFODNN7EXAMPLE", "Tr0ub4dor", "secretplans"}) {
    auto hits = FilesContaining(root, secret);
    EXPECT_TRUE(hits.empty()) << secret << " found in " << hits[0];
  }
}

}  // namespace
}  // namespace sealtrace::testing
