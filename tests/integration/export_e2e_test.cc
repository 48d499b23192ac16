// End to end: `sealtrace export` reaches plaintext only through the access
// layer. A TLS vault (`sealtrace server init` + `sealtrace server`), two
// enrolled contributors recording replays through real agent processes, a
// service principal (created by the operator, activated by a privacy officer)
// under a grant requested by one officer and approved by another; then the
// export over HTTPS, checked for: both formats, no identifier or sub-k canary
// title in any output byte, one audit leaf per segment opened, refusal under an
// unapproved grant, a clean resumable stop when the grant is revoked mid-export,
// and refusal in INCIDENT.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "e2e_util.h"
#include "export/access_provider.h"
#include "export/exporter.h"

namespace sealtrace::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kTitleCanary[] = "zqxCANARYtitle5519";

struct Reply {
  int status = 0;
  json body;
  std::string text;
};

struct TlsVault {
  std::string root, dir, log, ca;
  int port = 0;
  std::unique_ptr<Process> proc;

  std::string Url() const { return "https://127.0.0.1:" + std::to_string(port); }
  std::string Token(const std::string& name) const {
    std::string t = ReadAll(dir + "/bootstrap/" + name + ".token");
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t;
  }

  Reply Call(const std::string& token, const std::string& method, const std::string& path,
             const json& body = json::object()) const {
    httplib::Client cli(Url());
    cli.set_ca_cert_path(ca.c_str());
    cli.enable_server_certificate_verification(true);
    cli.set_read_timeout(60, 0);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    httplib::Result r = method == "GET"
                            ? cli.Get(path.c_str(), h)
                            : cli.Post(path.c_str(), h, body.dump(), "application/json");
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.text = r->body;
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }

  void Init() {
    ASSERT_EQ(RunToExit({SealtraceBinary(), "server", "init", "--data", dir}, root + "/init.log"),
              0)
        << ReadAll(root + "/init.log");
  }
  void Start() {
    proc = std::make_unique<Process>(
        std::vector<std::string>{SealtraceBinary(), "server", "--data", dir, "--listen",
                                 "127.0.0.1:" + std::to_string(port)},
        log);
    for (int i = 0; i < 300; ++i) {
      if (Call("", "GET", "/healthz").status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "vault did not become healthy over TLS: " << ReadAll(log);
  }
  void Stop() {
    if (!proc) return;
    proc->Terminate();
    EXPECT_EQ(proc->Wait(15000), 0) << ReadAll(log);
    proc.reset();
  }
};

std::string ConfigValue(const std::string& cfg_path, const std::string& key) {
  const std::string text = ReadAll(cfg_path);
  size_t pos = text.find(key + " = ");
  if (pos == std::string::npos) return "";
  pos += key.size() + 3;
  const char quote = text[pos];
  const size_t end = text.find(quote, pos + 1);
  return text.substr(pos + 1, end - pos - 1);
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ExportE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v_.root = MakeTempDir("st_export_e2e");
    v_.dir = v_.root + "/vault";
    v_.log = v_.root + "/vault.log";
    v_.ca = v_.dir + "/tls/ca.crt";
    v_.port = FreeLoopbackPort();
    v_.Init();
    v_.Start();
    op_ = v_.Token("operator");
    po1_ = v_.Token("privacy_officer_1");
    po2_ = v_.Token("privacy_officer_2");
    // An auditor (who, unlike officers, may still read the log in INCIDENT).
    Reply r = v_.Call(op_, "POST", "/v1/principals", {{"role", "auditor"}, {"name", "auditor"}});
    ASSERT_EQ(r.status, 200) << r.text;
    auditor_ = r.body.value("token", "");
    Reply a = v_.Call(po1_, "POST", "/v1/principals/activate",
                      {{"principal_id", r.body.value("principal_id", "")}});
    ASSERT_EQ(a.status, 200) << a.text;
  }
  void TearDown() override { v_.Stop(); }

  // Enrols `name` over TLS and records a synthetic session through the agent.
  std::string EnrolAndRecord(const std::string& name, uint64_t seed, const std::string& title) {
    const std::string cfg = v_.root + "/" + name + "/agent.toml";
    const std::string log = v_.root + "/" + name + ".log";
    EXPECT_EQ(RunToExit({SealtraceBinary(), "enroll", "--server", v_.Url(), "--name", name,
                         "--config", cfg, "--secret-file", v_.dir + "/enroll.secret", "--ca-file",
                         v_.ca, "--accept-scope"},
                        log),
              0)
        << ReadAll(log);
    SyntheticOptions so;
    so.events = 2500;
    so.seed = seed;
    so.planted_title = title;
    std::string replay =
        WriteReplay(v_.root + "/" + name + "/session.jsonl", MakeSyntheticSession(so));
    EXPECT_EQ(RunToExit({SealtraceBinary(), "agent", "--config", cfg, "--source",
                         "replay:" + replay, "--speed", "0"},
                        log),
              0)
        << ReadAll(log);
    return cfg;
  }

  // A service principal, activated by officer 1; returns its token file.
  std::string MakeService() {
    Reply r = v_.Call(op_, "POST", "/v1/principals", {{"role", "service"}, {"name", "exporter"}});
    EXPECT_EQ(r.status, 200) << r.text;
    EXPECT_TRUE(r.body.value("pending_activation", false)) << r.text;
    service_id_ = r.body.value("principal_id", "");
    Reply a = v_.Call(po1_, "POST", "/v1/principals/activate", {{"principal_id", service_id_}});
    EXPECT_EQ(a.status, 200) << a.text;
    const std::string file = v_.root + "/service.token";
    WriteAll(file, r.body.value("token", "") + "\n");
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
    return file;
  }

  // Officer 1 requests a grant for the service; officer 2 approves unless told not to.
  std::string Grant(bool approve) {
    json req = {{"grantee_id", service_id_},
                {"purpose", "computer-use model training (e2e)"},
                {"contributors", contributors_},
                {"from_us", 0},
                {"to_us", NowUs() + 3600LL * 1000000},
                {"channels", json::array({"keys", "pointer", "focus"})},
                {"expires_us", NowUs() + 86400LL * 1000000}};
    Reply r = v_.Call(po1_, "POST", "/v1/grants", req);
    EXPECT_EQ(r.status, 200) << r.text;
    const std::string id = r.body.value("id", "");
    if (approve) {
      Reply a = v_.Call(po2_, "POST", "/v1/grants/approve", {{"grant_id", id}});
      EXPECT_EQ(a.status, 200) << a.text;
    }
    return id;
  }

  int Export(const std::string& grant, const std::string& out, const std::string& log,
             std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {SealtraceBinary(),
                                     "export",
                                     "--server",
                                     v_.Url(),
                                     "--token-file",
                                     token_file_,
                                     "--grant",
                                     grant,
                                     "--ca-file",
                                     v_.ca,
                                     "--out",
                                     out,
                                     "--purpose",
                                     "computer-use model training (e2e)",
                                     "--k",
                                     "2",
                                     "--progress",
                                     "plain"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunToExit(argv, log);
  }

  // Audit entries of kind export that released one segment (not the listing).
  std::vector<json> ExportOpens() {
    Reply r = v_.Call(auditor_, "GET", "/v1/audit/entries");
    EXPECT_EQ(r.status, 200) << r.text;
    std::vector<json> out;
    if (!r.body.is_object()) return out;
    for (const auto& e : r.body["entries"]) {
      if (e.value("kind", "") == "export" && e.value("decision", "") == "allow" &&
          e.value("object_id", "") != "list" && e.value("object_id", "") != "dp_spend") {
        out.push_back(e);
      }
    }
    return out;
  }

  // Audit entries of the vault's privacy-budget ledger: charges and refusals.
  std::vector<json> BudgetEntries(const std::string& decision) {
    Reply r = v_.Call(auditor_, "GET", "/v1/audit/entries");
    EXPECT_EQ(r.status, 200) << r.text;
    std::vector<json> out;
    if (!r.body.is_object()) return out;
    for (const auto& e : r.body["entries"]) {
      if (e.value("object_id", "") == "dp_spend" && e.value("decision", "") == decision) {
        out.push_back(e);
      }
    }
    return out;
  }

  TlsVault v_;
  std::string op_, po1_, po2_, auditor_, service_id_, token_file_;
  std::vector<std::string> contributors_;
};

TEST_F(ExportE2eTest, ExportThroughTheAccessLayer) {
  const std::string alice = EnrolAndRecord("alice", 21, kTitleCanary);
  const std::string bob = EnrolAndRecord("bob", 22, "");
  std::vector<std::string> ids;  // raw identifiers that must never be exported
  for (const auto& cfg : {alice, bob}) {
    contributors_.push_back(ConfigValue(cfg, "contributor_id"));
    ids.push_back(ConfigValue(cfg, "contributor_id"));
    ids.push_back(ConfigValue(cfg, "device_id"));
  }
  for (const auto& id : ids) ASSERT_EQ(id.size(), 32u) << id;
  token_file_ = MakeService();

  // 1. A grant not yet approved by a second officer: refused, nothing written.
  const std::string pending = Grant(/*approve=*/false);
  const std::string refused_log = v_.root + "/export_pending.log";
  EXPECT_EQ(Export(pending, v_.root + "/ds_pending", refused_log), 1) << ReadAll(refused_log);
  EXPECT_NE(ReadAll(refused_log).find("grant.not_approved"), std::string::npos)
      << ReadAll(refused_log);
  EXPECT_FALSE(fs::exists(v_.root + "/ds_pending/manifest.json"));
  // The export is bound to the grant's purpose: another purpose is refused.
  {
    const std::string grant_p = Grant(/*approve=*/true);
    const std::string log_p = v_.root + "/export_purpose.log";
    std::vector<std::string> argv = {SealtraceBinary(), "export", "--server", v_.Url(),
                                     "--token-file", token_file_, "--grant", grant_p,
                                     "--ca-file", v_.ca, "--out", v_.root + "/ds_purpose",
                                     "--purpose", "advertising", "--no-dp"};
    EXPECT_EQ(RunToExit(argv, log_p), 2) << ReadAll(log_p);
    EXPECT_NE(ReadAll(log_p).find("differs from the grant's purpose"), std::string::npos)
        << ReadAll(log_p);
    EXPECT_FALSE(fs::exists(v_.root + "/ds_purpose/manifest.json"));
    // Another principal cannot read the grant (not its grantee).
    Reply r = v_.Call(auditor_, "GET", "/v1/export/grant?grant_id=" + grant_p);
    EXPECT_EQ(r.status, 403) << r.text;
  }

  // 2. The approved grant: the export runs, one audited open per segment per pass.
  const std::string grant = Grant(/*approve=*/true);
  const size_t opens_before = ExportOpens().size();
  const std::string out = v_.root + "/ds";
  const std::string log = v_.root + "/export.log";
  ASSERT_EQ(Export(grant, out, log), 0) << ReadAll(log);
  std::cerr << ReadAll(log);
  for (const char* f : {"manifest.json", "card.json", "card.md", "stats_dp.json",
                        "shard-00000.agentnet.jsonl", "shard-00000.computer13.jsonl"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  EXPECT_FALSE(fs::exists(out + "/" + std::string(exporter::Exporter::kCheckpointName)));
  json card = json::parse(ReadAll(out + "/card.json"));
  EXPECT_EQ(card["grant_id"], grant);
  EXPECT_EQ(card["purpose"], "computer-use model training (e2e)");
  // The card holds the vault's signed audit checkpoint (C2SP: origin, size, root, signature).
  const std::string checkpoint = card["audit_checkpoint"].get<std::string>();
  EXPECT_NE(checkpoint.find("\n\n\xE2\x80\x94 "), std::string::npos) << checkpoint;
  const uint64_t segments = card["counts"]["segments_in_scope"].get<uint64_t>();
  EXPECT_GE(segments, 2u);
  EXPECT_EQ(card["counts"]["segments_skipped"], 0);
  EXPECT_EQ(card["counts"]["contributors"], 2);
  EXPECT_GT(card["counts"]["steps"].get<uint64_t>(), 100u);

  // Every segment opened left an audit leaf under this grant: pass 1 (k-anonymity
  // scan) and pass 2 (export) each open every event segment.
  std::vector<json> opens = ExportOpens();
  ASSERT_GE(opens.size(), opens_before + 2 * segments);
  std::set<std::string> audited_ids;
  for (size_t i = opens_before; i < opens.size(); ++i) {
    EXPECT_EQ(opens[i]["grant_id"], grant);
    EXPECT_EQ(opens[i]["actor_id"], service_id_);
    audited_ids.insert(opens[i]["object_id"].get<std::string>());
  }
  EXPECT_EQ(audited_ids.size(), segments);

  // No raw contributor id, device id or sub-k title in any output byte, while the
  // generalisation that replaced the title is visible.
  for (const auto& id : ids) {
    for (const std::string& needle : {id, absl::AsciiStrToUpper(id)}) {
      auto hits = FilesContaining(out, needle);
      EXPECT_TRUE(hits.empty()) << needle << " found in " << hits[0];
    }
  }
  EXPECT_TRUE(FilesContaining(out, kTitleCanary).empty());
  EXPECT_FALSE(FilesContaining(out, "[title]").empty());

  // The DP statistics were charged to each contributor's budget in the vault's
  // ledger (audited), epsilon 1 of the default budget 4.
  json stats = json::parse(ReadAll(out + "/stats_dp.json"));
  EXPECT_EQ(stats["differential_privacy"]["contributors_included"], 2) << stats.dump();
  std::vector<json> charges = BudgetEntries("allow");
  ASSERT_EQ(charges.size(), 2u);
  for (const auto& c : charges) EXPECT_EQ(c["grant_id"], grant);
  // A release asking for 4 more would exceed the budget (1 + 4 > 4): the vault
  // refuses, the exporter leaves both contributors out of the statistics.
  const std::string over_log = v_.root + "/export_over.log";
  ASSERT_EQ(Export(grant, v_.root + "/ds_over", over_log, {"--dp-epsilon", "4"}), 0)
      << ReadAll(over_log);
  json over = json::parse(ReadAll(v_.root + "/ds_over/stats_dp.json"));
  EXPECT_EQ(over["differential_privacy"]["contributors_included"], 0) << over.dump();
  EXPECT_EQ(over["differential_privacy"]["contributors_excluded_budget"], 2) << over.dump();
  std::vector<json> refusals;
  {
    Reply r = v_.Call(auditor_, "GET", "/v1/audit/entries");
    for (const auto& e : r.body["entries"]) {
      if (e.value("rule", "") == "dp.budget_exhausted") refusals.push_back(e);
    }
  }
  EXPECT_EQ(refusals.size(), 2u);
  // Exactly the rest of the budget (1 + 3 = 4) is still granted.
  const std::string rest_log = v_.root + "/export_rest.log";
  ASSERT_EQ(Export(grant, v_.root + "/ds_rest", rest_log, {"--dp-epsilon", "3"}), 0)
      << ReadAll(rest_log);
  json rest = json::parse(ReadAll(v_.root + "/ds_rest/stats_dp.json"));
  EXPECT_EQ(rest["differential_privacy"]["contributors_included"], 2) << rest.dump();
  // An exporter cannot bring its own ledger to a vault.
  const std::string own_log = v_.root + "/export_own_ledger.log";
  EXPECT_EQ(Export(grant, v_.root + "/ds_own", own_log, {"--dp-ledger", v_.root + "/l.db"}), 2)
      << ReadAll(own_log);

  // 3. The grant is revoked mid-export (in-process exporter over the same
  // provider): a clean stop, nothing half-written, resumable under a new grant.
  const std::string grant2 = Grant(/*approve=*/true);
  const std::string out2 = v_.root + "/ds_stop";
  {
    exporter::HttpAccessOptions ho;
    ho.server_url = v_.Url();
    ho.token = ReadAll(token_file_);
    ho.token.pop_back();
    ho.ca_file = v_.ca;
    ho.grant_id = grant2;
    auto provider = exporter::HttpAccessProvider::Create(ho);
    ASSERT_TRUE(provider.ok()) << provider.status();
    exporter::ExportOptions o;
    o.output_dir = out2;
    o.grant_id = grant2;
    o.purpose = "computer-use model training (e2e)";
    o.transforms.k_anonymity = 2;
    o.dp_enabled = false;
    exporter::Exporter ex(Env::Default(), provider->get(), o);
    ex.set_authorised([p = provider->get()] { return p->CheckAuthorised(); });
    bool revoked = false;
    ex.set_progress([&](const exporter::Progress& p) {
      if (!revoked && p.segments_done >= 1) {
        revoked = true;
        Reply r = v_.Call(po2_, "POST", "/v1/grants/revoke", {{"grant_id", grant2}});
        EXPECT_EQ(r.status, 200) << r.text;
      }
    });
    auto r = ex.Run();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(revoked);
    EXPECT_FALSE(r->completed);
    EXPECT_NE(r->stop_reason.find("grant.revoked"), std::string::npos) << r->stop_reason;
  }
  EXPECT_TRUE(fs::exists(out2 + "/" + std::string(exporter::Exporter::kCheckpointName)));
  EXPECT_FALSE(fs::exists(out2 + "/manifest.json"));
  for (const auto& e : fs::directory_iterator(out2)) {
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  }
  // The same command under a fresh approved grant resumes and finishes with the
  // same content as the uninterrupted export (no segment lost or skipped).
  const std::string grant3 = Grant(/*approve=*/true);
  const std::string resume_log = v_.root + "/export_resume.log";
  ASSERT_EQ(Export(grant3, out2, resume_log, {"--no-dp"}), 0) << ReadAll(resume_log);
  EXPECT_NE(ReadAll(resume_log).find("(resumed)"), std::string::npos) << ReadAll(resume_log);
  json card2 = json::parse(ReadAll(out2 + "/card.json"));
  EXPECT_EQ(card2["grant_id"], grant3);
  EXPECT_EQ(card2["counts"]["segments_skipped"], 0);
  EXPECT_EQ(card2["counts"]["episodes"], card["counts"]["episodes"]);
  EXPECT_EQ(card2["counts"]["steps"], card["counts"]["steps"]);

  // 4. INCIDENT (two officers): a new export is refused with a clear error.
  Reply prop = v_.Call(po1_, "POST", "/v1/programme/propose",
                       {{"state", "INCIDENT"}, {"reason", "e2e: suspected leak"}});
  ASSERT_EQ(prop.status, 200) << prop.text;
  Reply conf = v_.Call(po2_, "POST", "/v1/programme/confirm",
                       {{"proposal_id", prop.body.value("proposal_id", "")}});
  ASSERT_EQ(conf.status, 200) << conf.text;
  const std::string incident_log = v_.root + "/export_incident.log";
  const size_t opens_incident = ExportOpens().size();
  EXPECT_EQ(Export(grant, v_.root + "/ds_incident", incident_log), 1) << ReadAll(incident_log);
  EXPECT_NE(ReadAll(incident_log).find("INCIDENT"), std::string::npos) << ReadAll(incident_log);
  EXPECT_FALSE(fs::exists(v_.root + "/ds_incident/manifest.json"));
  EXPECT_EQ(ExportOpens().size(), opens_incident);
}

}  // namespace
}  // namespace sealtrace::testing
