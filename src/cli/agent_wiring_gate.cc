// Privacy gate wiring: every recording path (agent, up, demo) goes through the
// PrivacyGate. If the gate cannot be built (redaction engine or exclusion
// patterns fail to compile, bad config), the agent refuses to record.
#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "cli/agent_wiring.h"
#include "privacy/exclusions.h"
#include "privacy/gate.h"

namespace sealtrace::cli {
namespace {

// Adapts the gate to the agent's EventFilter. External pause requests (CLI
// `sealtrace pause`, the vault's programme state) are applied on transitions
// only, so a pause toggled by the contributor's hotkey is not overridden.
class GateFilter final : public EventFilter {
 public:
  explicit GateFilter(std::unique_ptr<privacy::PrivacyGate> gate) : gate_(std::move(gate)) {}
  ~GateFilter() override;
  void OnEvent(v1::Event event) override { gate_->OnEvent(std::move(event)); }
  void SetPaused(bool paused, const std::string& reason) override {
    std::lock_guard<std::mutex> l(mu_);
    if (paused == external_paused_) return;
    external_paused_ = paused;
    if (paused) {
      gate_->Pause();
    } else {
      gate_->Resume();
    }
  }
  bool paused() const override { return gate_->IsPaused(); }
  bool excluded() const override { return gate_->IsExcluded(); }
  // The programme's title policy; a name this build does not know is read as
  // the strictest (app-only). The device config's policy stays a floor.
  void SetTitlePolicy(const std::string& policy) override {
    gate_->SetProgrammeTitlePolicy(
        privacy::ParseTitlePolicy(policy).value_or(privacy::TitlePolicy::kAppOnly));
  }
  std::string title_policy() const override {
    return std::string(privacy::TitlePolicyName(gate_->EffectiveTitlePolicy()));
  }
  void Flush() override { gate_->Flush(); }
  privacy::PrivacyGate* gate() { return gate_.get(); }

 private:
  std::unique_ptr<privacy::PrivacyGate> gate_;
  std::mutex mu_;
  bool external_paused_ = false;
};

// The last gate built, for the frame exclusion predicate (one agent per process).
std::mutex g_gate_mu;
privacy::PrivacyGate* g_gate = nullptr;

GateFilter::~GateFilter() {
  gate_->Flush();
  std::lock_guard<std::mutex> l(g_gate_mu);
  if (g_gate == gate_.get()) g_gate = nullptr;
}

absl::StatusOr<privacy::PrivacyConfig> LoadConfigFor(const std::string& path) {
  // No file: the shipped defaults (once; parsing the default file as a user
  // file would prepend the defaults to themselves).
  if (path.empty()) return privacy::ParsePrivacyConfig("", "<default>");
  return privacy::LoadPrivacyConfig(path);
}

// What the shipped exclusion reasons cover, for the consent text.
const char* ReasonDescription(const std::string& reason) {
  static const std::pair<const char*, const char*> kKnown[] = {
      {"password_manager", "password managers"},
      {"auth_prompt", "password and authentication prompts"},
      {"private_browsing", "private and incognito browser windows, Tor Browser"},
      {"messaging", "messaging applications and web messengers"},
      {"email", "e-mail applications and web mail"},
      {"web_mail_or_messaging", "web mail and web messengers, by address"},
      {"health", "patient portals, telehealth, health insurers' member and claim pages, pharmacies"},
      {"hr", "HR and performance-review systems, performance reviews, 360 feedback, disciplinary "
             "matters"},
      {"payroll", "payroll systems, payslips and pay stubs"},
      {"banking", "online banking, banks' login pages, banking and personal-finance applications"},
  };
  for (const auto& [r, d] : kKnown) {
    if (reason == r) return d;
  }
  return nullptr;
}

// One line per exclusion reason, in order of first appearance: what it covers,
// the applications, and the title and address patterns (listed for rules
// without a known description, counted for the shipped ones).
std::string SummariseExclusions(const std::vector<privacy::ExclusionRule>& rules) {
  struct Group {
    std::string reason;
    std::vector<std::string> apps, patterns;
    size_t titles = 0, urls = 0;
  };
  std::vector<Group> groups;
  for (const auto& r : rules) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const Group& g) { return g.reason == r.reason; });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{r.reason, {}, {}, 0, 0});
    if (!r.app_class.empty()) it->apps.push_back(r.app_class);
    if (!r.title.empty()) {
      ++it->titles;
      std::string p = "window title /" + r.title + "/";
      for (const auto& t : r.title_also) p += " and /" + t + "/";
      it->patterns.push_back(p);
    }
    if (!r.url.empty()) {
      ++it->urls;
      it->patterns.push_back("address /" + r.url + "/");
    }
  }
  std::string out;
  for (const Group& g : groups) {
    out += "  - " + g.reason;
    const char* desc = ReasonDescription(g.reason);
    if (desc) out += std::string(": ") + desc;
    std::vector<std::string> parts;
    if (!g.apps.empty()) {
      std::string a = "applications ";
      for (size_t i = 0; i < g.apps.size(); ++i) a += (i ? ", " : "") + g.apps[i];
      parts.push_back(a);
    }
    if (desc) {
      if (g.titles) parts.push_back(std::to_string(g.titles) + " window-title pattern(s)");
      if (g.urls) parts.push_back(std::to_string(g.urls) + " web-address pattern(s)");
    } else {
      parts.insert(parts.end(), g.patterns.begin(), g.patterns.end());
    }
    if (!parts.empty()) {
      out += " (";
      for (size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
      out += ")";
    }
    out += "\n";
  }
  return out;
}

}  // namespace

RecordingScope ScopeFor(const std::string& privacy_config, bool frames) {
  RecordingScope s;
  s.screen_frames = frames;
  auto cfg = LoadConfigFor(privacy_config);
  if (!cfg.ok()) {
    s.exclusions_summary = "  (privacy config does not load: " + std::string(cfg.status().message()) +
                           "; nothing will be recorded)\n";
    return s;
  }
  s.title_policy = std::string(privacy::TitlePolicyName(cfg->title_policy));
  s.exclusions_summary = SummariseExclusions(cfg->exclusions);
  if (!cfg->never_record.empty()) {
    s.exclusions_summary +=
        "  - " + std::to_string(cfg->never_record.size()) + " never-record word(s) you listed\n";
  }
  return s;
}

Agent::FilterFactory MakeGateFactory() {
  return [](const AgentConfig& cfg,
            EventSink* downstream) -> absl::StatusOr<std::unique_ptr<EventFilter>> {
    auto pc = LoadConfigFor(cfg.privacy_config);
    if (!pc.ok()) {
      return absl::FailedPreconditionError("privacy config refused, not recording: " +
                                           std::string(pc.status().message()));
    }
    auto gate = privacy::PrivacyGate::Create(downstream, *pc);
    if (!gate.ok()) {
      return absl::FailedPreconditionError("redaction engine unavailable, not recording: " +
                                           std::string(gate.status().message()));
    }
    (*gate)->SetConsent(cfg.consent);
    {
      std::lock_guard<std::mutex> l(g_gate_mu);
      g_gate = gate->get();
    }
    return std::unique_ptr<EventFilter>(new GateFilter(std::move(*gate)));
  };
}

std::function<bool(const v1::FocusEvent&)> FrameExclusionPredicate(const AgentConfig&) {
  return [](const v1::FocusEvent& f) {
    std::lock_guard<std::mutex> l(g_gate_mu);
    // No gate: never take a frame (fail closed).
    return g_gate == nullptr || g_gate->WindowExcluded(f) || g_gate->IsPaused();
  };
}

}  // namespace sealtrace::cli
