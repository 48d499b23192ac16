// X11 source wiring (only this file depends on the X11 backend).
#include <unistd.h>

#include "capture/hidden/a11y_client.h"
#include "capture/hidden/hidden_input.h"
#include "capture/hidden/pty_probe.h"
#include "capture/x11/x11_source.h"
#include "cli/agent_wiring.h"

namespace sealtrace::cli {

namespace {
std::atomic<Agent*> g_frame_target{nullptr};
}

void BindFrameTarget(Agent* agent) { g_frame_target.store(agent); }

absl::StatusOr<std::unique_ptr<Source>> MakeX11Source(const std::string& display,
                                                      const AgentConfig& cfg) {
  X11Source::Options o;
  o.display = display;
  o.frames = cfg.frames;
  o.key_batch_ms = cfg.key_batch_ms;
  o.frame_sink = [](FrameCapture f) {
    Agent* a = g_frame_target.load();
    if (a == nullptr) return;
    v1::FrameRef meta;
    meta.set_width(f.width);
    meta.set_height(f.height);
    meta.set_x(f.x);
    meta.set_y(f.y);
    meta.set_trigger(f.trigger);
    a->SubmitFrame(f.png, std::move(meta), f.t_us).IgnoreError();
  };
  o.is_excluded = FrameExclusionPredicate(cfg);
  auto src = std::make_unique<X11Source>(std::move(o));
  src->SetOwnPid(static_cast<uint32_t>(getpid()));
  // Hidden input is withheld before the gate: terminals at a no-echo prompt
  // and password fields reported by the AT-SPI helper process.
  Env* env = Env::Default();
  hidden::A11yClient::Options ao;
  ao.helper_path = hidden::A11yClient::DefaultHelperPath(env);
  return std::unique_ptr<Source>(new hidden::HiddenInputSource(
      std::move(src), std::make_unique<hidden::PtyProbe>(env),
      std::make_unique<hidden::A11yClient>(env, std::move(ao)), env));
}

}  // namespace sealtrace::cli
