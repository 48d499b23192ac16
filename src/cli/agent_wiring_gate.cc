// Privacy gate wiring: every recording path (agent, up, demo) goes through the
// PrivacyGate. If the gate cannot be built (redaction engine or exclusion
// patterns fail to compile, bad config), the agent refuses to record.
#include <mutex>

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
  if (path.empty()) return privacy::ParsePrivacyConfig(privacy::DefaultPrivacyConfigToml(), "<default>");
  return privacy::LoadPrivacyConfig(path);
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
  for (const auto& r : cfg->exclusions) {
    s.exclusions_summary += "  - " + r.reason;
    if (!r.app_class.empty()) s.exclusions_summary += " (application " + r.app_class + ")";
    if (!r.title.empty()) s.exclusions_summary += " (window title /" + r.title + "/)";
    s.exclusions_summary += "\n";
  }
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
