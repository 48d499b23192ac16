#include "export/exporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/env_fault.h"
#include "export/export_test_util.h"
#include "export/local_provider.h"
#include "nlohmann/json.hpp"

namespace sealtrace::exporter {
namespace {

namespace fs = std::filesystem;
using testing::MakeFrameSegment;
using testing::MakeSegment;
using testing::StreamBuilder;
using testing::TestId;

constexpr uint32_t kReturn = 0xff0d;
const char kCanary[] = "canary-7f3a";
const char kHost[] = "secret-host.corp.example";
const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + "fake-frame-bytes";

struct Fixture {
  std::vector<Id16> contributors, devices;
  std::vector<std::string> public_keys;
  std::vector<std::pair<std::string, std::string>> files;  // name, bytes
  KeyMap keys;
  Id16 frame_id = TestId(9, 1);
  Id16 corrupt_segment = TestId(3, 99);
};

Fixture MakeFixture(int n_contributors = 6) {
  InitCrypto();
  Fixture f;
  for (int i = 0; i < n_contributors; ++i) {
    BoxKeyPair kp = GenerateBoxKeyPair();
    const Id16 c = TestId(1, static_cast<uint8_t>(i));
    const Id16 d = TestId(2, static_cast<uint8_t>(i));
    f.contributors.push_back(c);
    f.devices.push_back(d);
    f.public_keys.push_back(kp.public_key);
    const uint64_t start = 5'000'000'000ull + i * 1000;
    StreamBuilder s0;
    s0.Focus(0, 100 + i, "firefox", "Inbox - Mail");
    if (i == 0) s0.Frame(50, std::string(f.frame_id.Bytes()));
    s0.Click(100, 100 + i, 200).Click(250, 100 + i, 200);
    s0.Type(1000, "hello world").Tap(2500, kReturn, "\r");
    s0.Scroll(3000, 500, 500, 0, 2).Scroll(3100, 500, 500, 0, 1);
    s0.Click(9000, 300, 300, 3);  // after a wait
    f.files.emplace_back("c" + std::to_string(i) + "-0.seg",
                         MakeSegment(c, d, TestId(3, static_cast<uint8_t>(i * 4)), 0, start,
                                     s0.events(), kp.public_key));
    StreamBuilder s1;
    if (i == 0) {
      s1.Focus(0, 7, "gedit", std::string("ssh ") + kCanary + "@" + kHost);
    } else {
      s1.Focus(0, 8, "xterm", "Terminal");
    }
    s1.Type(200, "ls -la").Tap(1200, kReturn, "\r");
    s1.Down(2000, 10, 10).Move(2100, 300, 300).Up(2200, 300, 300);
    f.files.emplace_back("c" + std::to_string(i) + "-1.seg",
                         MakeSegment(c, d, TestId(3, static_cast<uint8_t>(i * 4 + 1)), 1,
                                     start + 30'000'000, s1.events(), kp.public_key));
    if (i == 1) {
      StreamBuilder s2;
      s2.Focus(0, 9, "firefox", "Inbox - Mail").Type(100, "ZZCORRUPT secret");
      std::string seg =
          MakeSegment(c, d, f.corrupt_segment, 2, start + 60'000'000, s2.events(), kp.public_key);
      seg[seg.size() - 20] ^= 0x40;  // breaks authentication of the last chunk
      f.files.emplace_back("c1-2.seg", std::move(seg));
    }
    if (i == 0) {
      f.files.emplace_back("frame.seg", MakeFrameSegment(c, d, f.frame_id, kPng, kp.public_key));
    }
    f.keys.Add(c, std::move(kp.secret_key));
  }
  return f;
}

std::unique_ptr<InMemorySegmentProvider> Provider(const Fixture& f) {
  KeyMap keys;
  for (const Id16& c : f.contributors) keys.Add(c, SecretKey(f.keys.Find(c)->view()));
  auto p = std::make_unique<InMemorySegmentProvider>(std::move(keys));
  for (const auto& [name, bytes] : f.files) EXPECT_TRUE(p->AddFile(name, bytes).ok());
  return p;
}

std::string FreshDir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/export-" + name + "-" + std::to_string(::getpid());
  fs::remove_all(d);
  return d;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ExportOptions BaseOptions(const std::string& dir) {
  ExportOptions o;
  o.output_dir = dir;
  o.grant_id = "grant-123";
  o.purpose = "train computer-use model v7";
  o.audit_checkpoint = "sealtrace-audit\n42\nAAAA\n";
  o.dp.epsilon = {1, 2};
  o.transforms.include_frames = true;
  return o;
}

// Shard lines in manifest order, contributor pseudonyms replaced by their order.
std::vector<std::string> NormalisedLines(const std::string& dir) {
  nlohmann::json m = nlohmann::json::parse(ReadAll(fs::path(dir) / "manifest.json"));
  std::vector<std::string> out;
  std::map<std::string, std::string> names;
  std::regex re("c_[0-9a-f]{24}");
  for (const auto& s : m["shards"]) {
    std::istringstream in(ReadAll(fs::path(dir) / s["file"].get<std::string>()));
    for (std::string line; std::getline(in, line);) {
      std::string norm;
      auto begin = std::sregex_iterator(line.begin(), line.end(), re);
      size_t last = 0;
      for (auto it = begin; it != std::sregex_iterator(); ++it) {
        const std::string p = it->str();
        if (!names.count(p)) names[p] = "C" + std::to_string(names.size());
        norm += line.substr(last, it->position() - last) + names[p];
        last = it->position() + it->length();
      }
      norm += line.substr(last);
      out.push_back(norm);
    }
  }
  // Frame file names are keyed hashes too.
  for (auto& l : out) l = std::regex_replace(l, std::regex("f_[0-9a-f]{32}"), "F");
  return out;
}

TEST(ExporterTest, FullExportHoldsTheTransforms) {
  Fixture f = MakeFixture();
  auto provider = Provider(f);
  const std::string dir = FreshDir("full");
  InMemoryBudgetLedger ledger({1, 1});
  Exporter ex(Env::Default(), provider.get(), BaseOptions(dir), &ledger);
  std::vector<Progress> progress;
  ex.set_progress([&](const Progress& p) { progress.push_back(p); });
  auto r = ex.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->completed);
  EXPECT_EQ(r->contributors, 6u);
  EXPECT_GE(r->episodes, 12u);
  EXPECT_EQ(r->frames, 1u);
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].segment_id, f.corrupt_segment.Hex());
  EXPECT_THAT(r->skipped[0].reason, ::testing::HasSubstr("DATA_LOSS"));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().segments_done, progress.back().segments_total);

  // No raw identifier or canary in any output byte.
  std::vector<std::string> forbidden = {kCanary, kHost, "ZZCORRUPT", "gedit", "instance"};
  for (size_t i = 0; i < f.contributors.size(); ++i) {
    forbidden.push_back(f.contributors[i].Hex());
    forbidden.push_back(std::string(f.contributors[i].Bytes()));
    forbidden.push_back(f.devices[i].Hex());
    forbidden.push_back(std::string(f.devices[i].Bytes()));
  }
  size_t files = 0;
  bool saw_title_kept = false, saw_title_generalised = false, saw_app_generalised = false;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::string data = ReadAll(e.path());
    for (const auto& bad : forbidden) {
      EXPECT_EQ(data.find(bad), std::string::npos) << e.path() << " contains a forbidden value";
    }
    saw_title_kept |= data.find("Inbox - Mail") != std::string::npos;
    saw_title_generalised |= data.find("[title]") != std::string::npos;
    saw_app_generalised |= data.find("[app]") != std::string::npos;
    EXPECT_EQ(e.path().extension() == ".tmp", false);
    EXPECT_NE(e.path().filename(), Exporter::kCheckpointName);
  }
  EXPECT_GE(files, 7u);                // 2 shards, frame, stats, manifest, card.json, card.md
  EXPECT_TRUE(saw_title_kept);         // shared by 6 >= k contributors
  EXPECT_TRUE(saw_title_generalised);  // "Terminal" (5 contributors) is kept; the ssh title is not
  EXPECT_TRUE(saw_app_generalised);

  // Manifest hashes match; timings quantised as the card says.
  nlohmann::json manifest = nlohmann::json::parse(ReadAll(fs::path(dir) / "manifest.json"));
  nlohmann::json card = nlohmann::json::parse(ReadAll(fs::path(dir) / "card.json"));
  int64_t quantum = -1;
  for (const auto& t : card["transforms"]) {
    if (t["parameters"].contains("quantum_ms")) quantum = t["parameters"]["quantum_ms"];
  }
  ASSERT_EQ(quantum, 100);
  uint64_t steps = 0;
  for (const auto& s : manifest["shards"]) {
    const std::string data = ReadAll(fs::path(dir) / s["file"].get<std::string>());
    EXPECT_EQ(ToHex(Sha256(data)), s["sha256"]);
    std::istringstream in(data);
    for (std::string line; std::getline(in, line);) {
      auto ep = nlohmann::json::parse(line);
      const auto& list = ep.contains("traj") ? ep["traj"] : ep["steps"];
      for (const auto& st : list) {
        EXPECT_EQ(st["time_ms"].get<int64_t>() % quantum, 0);
        if (st.contains("wait_ms")) {
          EXPECT_EQ(st["wait_ms"].get<int64_t>() % quantum, 0);
        }
        ++steps;
      }
    }
  }
  EXPECT_GT(steps, 0u);
  EXPECT_EQ(card["grant_id"], "grant-123");
  EXPECT_EQ(card["purpose"], "train computer-use model v7");
  EXPECT_EQ(card["audit_checkpoint"], "sealtrace-audit\n42\nAAAA\n");
  EXPECT_EQ(card["epsilon_spent_per_contributor"], "1/2");
  EXPECT_EQ(card["skipped_segments"].size(), 1u);
  EXPECT_TRUE(fs::exists(fs::path(dir) / "card.md"));
  EXPECT_TRUE(fs::exists(fs::path(dir) / "stats_dp.json"));
  for (const Id16& c : f.contributors) EXPECT_EQ(*ledger.Spent(c.Hex()), (Rational{1, 2}));
  // The frame was written beside the shards.
  size_t frames = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "frames")) {
    EXPECT_EQ(ReadAll(e.path()), kPng);
    ++frames;
  }
  EXPECT_EQ(frames, 1u);

  // A second export into the same directory is refused.
  Exporter again(Env::Default(), provider.get(), BaseOptions(dir), &ledger);
  EXPECT_TRUE(absl::IsFailedPrecondition(again.Run().status()));

  // The stdlib example reads every shard; every code string parses as Python.
  const std::string script = testing::SourceDir() + "/examples/load_shard.py";
  for (const auto& s : manifest["shards"]) {
    const std::string cmd = "python3 " + script + " " + dir + "/" + s["file"].get<std::string>() +
                            " > " + dir + "/../py-out.txt 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadAll(dir + "/../py-out.txt");
    EXPECT_THAT(ReadAll(dir + "/../py-out.txt"), ::testing::HasSubstr("contributors 6"));
  }
  EXPECT_EQ(std::system(("python3 " + script + " --verify " + dir + " > /dev/null").c_str()), 0);
}

TEST(ExporterTest, TitlesBelowKAreGeneralised) {
  Fixture f = MakeFixture();
  auto provider = Provider(f);
  const std::string dir = FreshDir("k7");
  ExportOptions o = BaseOptions(dir);
  o.transforms.k_anonymity = 7;  // more than the 6 contributors
  o.dp_enabled = false;
  Exporter ex(Env::Default(), provider.get(), o);
  auto r = ex.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string data = ReadAll(e.path());
    for (const char* v : {"Inbox - Mail", "Terminal", "firefox", "xterm"}) {
      EXPECT_EQ(data.find(std::string("\"") + v + "\""), std::string::npos) << e.path() << v;
    }
  }
}

TEST(ExporterTest, PerContributorStepCap) {
  Fixture f = MakeFixture();
  auto provider = Provider(f);
  const std::string dir = FreshDir("cap");
  ExportOptions o = BaseOptions(dir);
  o.transforms.max_steps_per_contributor = 8;
  o.dp_enabled = false;
  auto r = Exporter(Env::Default(), provider.get(), o).Run();
  ASSERT_TRUE(r.ok());
  nlohmann::json card = nlohmann::json::parse(ReadAll(fs::path(dir) / "card.json"));
  EXPECT_GT(card["counts"]["episodes_dropped_by_step_cap"].get<int>(), 0);
  std::map<std::string, int> per;
  std::istringstream in(ReadAll(fs::path(dir) / "shard-00000.agentnet.jsonl"));
  for (std::string line; std::getline(in, line);) {
    auto ep = nlohmann::json::parse(line);
    per[ep["contributor"]] += static_cast<int>(ep["traj"].size()) - 1;  // minus terminate
  }
  for (const auto& [c, n] : per) EXPECT_LE(n, 8) << c;
}

TEST(ExporterTest, GrantExpiryStopsCleanlyAndResumes) {
  Fixture f = MakeFixture();
  auto provider = Provider(f);
  const std::string ref_dir = FreshDir("ref");
  ExportOptions o = BaseOptions(ref_dir);
  o.shard_max_episodes = 1;
  InMemoryBudgetLedger ref_ledger({1, 1});
  ASSERT_TRUE(Exporter(Env::Default(), provider.get(), o, &ref_ledger).Run().ok());
  const std::vector<std::string> want = NormalisedLines(ref_dir);

  for (int allowed : {1, 5, 14, 20}) {
    const std::string dir = FreshDir("expiry" + std::to_string(allowed));
    o.output_dir = dir;
    InMemoryBudgetLedger ledger({1, 1});
    Exporter ex(Env::Default(), provider.get(), o, &ledger);
    int calls = 0;
    ex.set_authorised([&]() -> absl::Status {
      return ++calls > allowed ? absl::DeadlineExceededError("grant expired") : absl::OkStatus();
    });
    auto r = ex.Run();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->completed);
    EXPECT_EQ(r->stop_reason, "grant expired");
    EXPECT_FALSE(fs::exists(fs::path(dir) / "manifest.json"));
    EXPECT_TRUE(fs::exists(fs::path(dir) / Exporter::kCheckpointName));
    for (const auto& e : fs::directory_iterator(dir)) {
      EXPECT_NE(e.path().extension(), ".tmp") << e.path();
    }
    Exporter resume(Env::Default(), provider.get(), o, &ledger);
    auto r2 = resume.Run();
    ASSERT_TRUE(r2.ok()) << r2.status();
    EXPECT_TRUE(r2->completed);
    EXPECT_TRUE(r2->resumed);
    EXPECT_EQ(r2->dataset_id, r->dataset_id);
    EXPECT_EQ(NormalisedLines(dir), want) << "allowed=" << allowed;
    for (const Id16& c : f.contributors) EXPECT_EQ(*ledger.Spent(c.Hex()), (Rational{1, 2}));
  }
}

TEST(ExporterTest, CrashMidExportResumesWithoutDuplicates) {
  Fixture f = MakeFixture();
  auto provider = Provider(f);
  const std::string ref_dir = FreshDir("cref");
  ExportOptions o = BaseOptions(ref_dir);
  o.shard_max_episodes = 2;
  o.dp_enabled = false;
  ASSERT_TRUE(Exporter(Env::Default(), provider.get(), o).Run().ok());
  const std::vector<std::string> want = NormalisedLines(ref_dir);

  int crashed = 0;
  for (int n = 3; n < 80; n += 7) {
    const std::string dir = FreshDir("crash" + std::to_string(n));
    o.output_dir = dir;
    FaultInjectionEnv fenv(Env::Default());
    fenv.FailNthWrite(n);
    auto r = Exporter(&fenv, provider.get(), o).Run();
    if (r.ok()) continue;  // finished before the n-th write
    ++crashed;
    ASSERT_TRUE(fenv.DropUnsyncedData().ok());  // power loss
    auto r2 = Exporter(Env::Default(), provider.get(), o).Run();
    ASSERT_TRUE(r2.ok()) << "n=" << n << ": " << r2.status();
    EXPECT_TRUE(r2->completed);
    EXPECT_EQ(NormalisedLines(dir), want) << "n=" << n;
  }
  EXPECT_GE(crashed, 5);
}

TEST(ExporterTest, ChangedScopeRefusesToResume) {
  Fixture f = MakeFixture();
  auto provider = Provider(f);
  const std::string dir = FreshDir("scope");
  ExportOptions o = BaseOptions(dir);
  o.dp_enabled = false;
  Exporter ex(Env::Default(), provider.get(), o);
  ex.set_authorised([n = 0]() mutable -> absl::Status {
    return ++n > 3 ? absl::DeadlineExceededError("grant expired") : absl::OkStatus();
  });
  ASSERT_TRUE(ex.Run().ok());
  Fixture g = MakeFixture(7);
  auto bigger = Provider(g);
  auto r = Exporter(Env::Default(), bigger.get(), o).Run();
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  o.transforms.k_anonymity = 3;
  r = Exporter(Env::Default(), provider.get(), o).Run();
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
}

class CapturingKeeper : public PseudonymKeyKeeper {
 public:
  absl::Status Keep(std::string_view dataset_id, std::string_view purpose,
                    const SecretKey& key) override {
    kept_key = std::string(key.view());
    kept_purpose = std::string(purpose);
    return absl::OkStatus();
  }
  std::string kept_key, kept_purpose;
};

TEST(ExporterTest, PseudonymKeyIsDestroyedOrHandedToTheKeeper) {
  Fixture f = MakeFixture();
  auto provider = Provider(f);
  const std::string dir = FreshDir("keep");
  ExportOptions o = BaseOptions(dir);
  o.dp_enabled = false;
  o.keep_pseudonym_key_purpose = "re-identify for deletion requests";
  CapturingKeeper keeper;
  Exporter ex(Env::Default(), provider.get(), o);
  ex.set_key_keeper(&keeper);
  auto r = ex.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(keeper.kept_key.size(), 32u);
  EXPECT_EQ(keeper.kept_purpose, "re-identify for deletion requests");
  // The key is not in the dataset, and it reproduces the pseudonyms.
  Pseudonymizer p(SecretKey(keeper.kept_key));
  const std::string shard = ReadAll(fs::path(dir) / "shard-00000.agentnet.jsonl");
  EXPECT_NE(shard.find(p.Contributor(f.contributors[0])), std::string::npos);
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string data = ReadAll(e.path());
    EXPECT_EQ(data.find(Base64(keeper.kept_key)), std::string::npos);
    EXPECT_EQ(data.find(keeper.kept_key), std::string::npos);
  }
  EXPECT_THAT(ReadAll(fs::path(dir) / "card.md"),
              ::testing::HasSubstr("kept by the vault for purpose: re-identify"));
  // Without a keeper the option is refused.
  o.output_dir = FreshDir("keep2");
  EXPECT_TRUE(absl::IsInvalidArgument(Exporter(Env::Default(), provider.get(), o).Run().status()));
}

TEST(ExporterTest, DirectoryProviderAndExhaustedBudget) {
  Fixture f = MakeFixture();
  const std::string seg_dir = FreshDir("segs");
  fs::create_directories(seg_dir);
  for (const auto& [name, bytes] : f.files)
    std::ofstream(seg_dir + "/" + name, std::ios::binary) << bytes;
  std::ofstream(seg_dir + "/README.txt") << "not a segment";
  KeyMap keys;
  for (const Id16& c : f.contributors) keys.Add(c, SecretKey(f.keys.Find(c)->view()));
  auto provider = DirectorySegmentProvider::Create(Env::Default(), seg_dir, std::move(keys));
  ASSERT_TRUE(provider.ok());
  EXPECT_EQ((*provider)->unlisted().size(), 1u);
  InMemoryBudgetLedger ledger({1, 1});
  ASSERT_TRUE(ledger.Spend(f.contributors[2].Hex(), "older-release", {3, 4}).ok());
  const std::string dir = FreshDir("dirprov");
  auto r = Exporter(Env::Default(), provider->get(), BaseOptions(dir), &ledger).Run();
  ASSERT_TRUE(r.ok()) << r.status();
  nlohmann::json card = nlohmann::json::parse(ReadAll(fs::path(dir) / "card.json"));
  EXPECT_EQ(card["differential_privacy"]["contributors_excluded_budget"], 1);
  EXPECT_EQ(card["differential_privacy"]["contributors_included"], 5);
  EXPECT_EQ(*ledger.Spent(f.contributors[2].Hex()), (Rational{3, 4}));
}

}  // namespace
}  // namespace sealtrace::exporter
