#include "agent/agent.h"

#include <unistd.h>

#include <deque>
#include <thread>

#include <nlohmann/json.hpp>

#include "spdlog/spdlog.h"

namespace sealtrace {

std::string Agent::StatusPath(const AgentConfig& c) { return JoinPath(c.state_dir, "status.json"); }
std::string Agent::ControlPath(const AgentConfig& c) { return JoinPath(c.state_dir, "control"); }

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(Env* env, AgentConfig config,
                                                     std::unique_ptr<Source> source,
                                                     AgentOptions options,
                                                     FilterFactory filter_factory,
                                                     std::unique_ptr<VaultClient> client) {
  if (config.contributor_public_key.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError("config has no valid contributor public key");
  }
  std::unique_ptr<Agent> a(new Agent(env, std::move(config), options));
  if (auto s = env->CreateDirs(a->cfg_.state_dir); !s.ok()) return s;
  auto spool = Spool::Open(env, {a->cfg_.spool_dir, a->cfg_.spool_quota_bytes});
  if (!spool.ok()) return spool.status();
  a->spool_ = std::move(*spool);
  std::string state_file = JoinPath(a->cfg_.state_dir, "uploader.state");
  uint64_t last_acked = Uploader::LoadLastAcked(env, state_file);
  RecorderOptions ro;
  ro.contributor_id = a->cfg_.contributor_id;
  ro.device_id = a->cfg_.device_id;
  ro.recipient_public_key = a->cfg_.contributor_public_key;
  ro.max_segment_age_us = a->cfg_.max_segment_age_ms * 1000;
  ro.max_segment_bytes = a->cfg_.max_segment_bytes;
  ro.first_sequence = std::max(a->spool_->Stats().max_sequence, last_acked) + 1;
  a->recorder_ = std::make_unique<Recorder>(env, a->spool_.get(), ro);
  if (filter_factory) {
    auto f = filter_factory(a->cfg_, a->recorder_.get());
    if (!f.ok()) return f.status();
    a->filter_ = std::move(*f);
  }
  a->client_ = client ? std::move(client)
                      : NewHttpVaultClient(a->cfg_.server_url, a->cfg_.device_token,
                                           a->cfg_.ca_file);
  UploaderOptions uo;
  uo.state_file = state_file;
  a->uploader_ = std::make_unique<Uploader>(env, a->spool_.get(), a->client_.get(), uo);
  if (auto s = source->Start(); !s.ok()) return s;
  a->source_ = std::move(source);
  return a;
}

Agent::~Agent() { Stop(); }

void Agent::WriteStatus(const std::string& state) {
  auto rs = recorder_->Stats();
  // Rates over the last minute (or since start, if shorter).
  int64_t now_mono = env_->NowMonoMicros();
  rate_samples_.push_back({now_mono, rs.events, rs.segments});
  while (rate_samples_.size() > 2 && now_mono - rate_samples_.front().mono_us > 60'000'000) {
    rate_samples_.pop_front();
  }
  double events_per_min = 0, segments_per_min = 0;
  if (rate_samples_.size() >= 2) {
    const auto& a = rate_samples_.front();
    double minutes = static_cast<double>(now_mono - a.mono_us) / 60e6;
    if (minutes > 0) {
      events_per_min = static_cast<double>(rs.events - a.events) / minutes;
      segments_per_min = static_cast<double>(rs.segments - a.segments) / minutes;
    }
  }
  auto us = uploader_->Stats();
  auto ss = spool_->Stats();
  auto info = source_->Info();
  nlohmann::json j{
      {"state", state},
      {"programme_state", programme_state_},
      {"source", info.description},
      {"source_warning", info.warning},
      {"window_manager", info.has_window_manager},
      {"pid", static_cast<int64_t>(getpid())},
      {"updated_wall_us", env_->NowWallMicros()},
      {"started_wall_us", started_wall_us_},
      {"events_total", rs.events},
      {"events_per_min", events_per_min},
      {"segments_per_min", segments_per_min},
      {"segments_total", rs.segments},
      {"frames_total", rs.frames},
      {"seal_errors", rs.seal_errors},
      {"unspooled_in_memory", rs.unspooled},
      {"spool_segments", ss.segments},
      {"spool_bytes", ss.bytes},
      {"spool_purged_segments", ss.purged_segments_total},
      {"spool_quarantined", ss.quarantined_total},
      {"uploaded", us.uploaded},
      {"upload_duplicates", us.duplicates},
      {"upload_rejected", us.rejected},
      {"upload_failures", us.failures},
      {"last_upload_wall_us", us.last_upload_wall_us},
      {"last_acked_sequence", us.last_acked_sequence},
      {"last_error", us.last_error.empty() ? rs.last_error : us.last_error},
      {"source_error", source_error_},
  };
  WriteFileAtomic(env_, StatusPath(cfg_), j.dump(2) + "\n").IgnoreError();
}

void Agent::Housekeeping() {
  int64_t last_status = 0, last_state_poll = 0;
  while (!stop_.load() && !source_done_.load()) {
    env_->SleepMicros(100'000);
    recorder_->Tick();
    int64_t now = env_->NowMonoMicros();
    // Local pause control: the file holds "pause <until_wall_us|0>" or "resume".
    bool local_pause = false;
    if (auto ctl = env_->ReadFile(ControlPath(cfg_)); ctl.ok()) {
      if (ctl->rfind("pause", 0) == 0) {
        int64_t until = 0;
        try {
          until = std::stoll(ctl->substr(5));
        } catch (...) {
          until = 0;
        }
        local_pause = until == 0 || env_->NowWallMicros() < until;
      }
    }
    if (opt_.upload && now - last_state_poll >= opt_.state_poll_us) {
      last_state_poll = now;
      DeviceReport report;
      {
        const SpoolStats stats = spool_->Stats();
        report.has_spool = true;
        report.spool_segments = stats.segments;
        report.spool_bytes = stats.bytes;
      }
      auto st = client_->GetDeviceState(report);
      if (st.ok()) {
        programme_state_ = st->programme_state;
        vault_pause_ = !st->recording_allowed;
        vault_pause_reason_ = st->contributor_paused ? "contributor_dashboard"
                                                     : "programme_" + st->programme_state;
      }
    }
    if (filter_) {
      filter_->SetPaused(local_pause || vault_pause_, vault_pause_ ? vault_pause_reason_ : "local");
    }
    if (now - last_status >= 1'000'000) {
      last_status = now;
      std::string state = "recording";
      if (filter_ && filter_->paused()) state = "paused";
      else if (filter_ && filter_->excluded()) state = "excluded";
      WriteStatus(state);
    }
  }
}

absl::Status Agent::SubmitFrame(std::string_view png, v1::FrameRef meta, uint64_t t_us) {
  if (filter_ && (filter_->paused() || filter_->excluded())) {
    return absl::FailedPreconditionError("frame refused: recording paused or window excluded");
  }
  auto id = recorder_->SealFrame(png, t_us);
  if (!id.ok()) return id.status();
  v1::Event e;
  e.set_t_us(t_us);
  *e.mutable_frame() = std::move(meta);
  e.mutable_frame()->set_frame_id(std::string(id->Bytes()));
  e.mutable_frame()->set_format("png");
  EventSink* sink = filter_ ? static_cast<EventSink*>(filter_.get()) : recorder_.get();
  sink->OnEvent(std::move(e));
  return absl::OkStatus();
}

absl::Status Agent::Run() {
  started_wall_us_ = env_->NowWallMicros();
  std::thread uploader_thread;
  std::atomic<bool> upload_stop{false};
  if (opt_.upload) uploader_thread = std::thread([&] { uploader_->Run(&upload_stop); });
  std::thread hk([this] { Housekeeping(); });
  std::thread stopper([this] {
    while (!stop_.load() && !end_source_.load() && !source_done_.load()) {
      env_->SleepMicros(50'000);
    }
    source_->Stop();
  });
  EventSink* sink = filter_ ? static_cast<EventSink*>(filter_.get()) : recorder_.get();
  absl::Status st = source_->Run(sink);
  source_done_.store(true);
  if (!st.ok()) {
    source_error_ = std::string(st.message());
    spdlog::error("agent: source stopped: {}", std::string(st.message()));
  }
  stopper.join();
  hk.join();
  if (filter_) filter_->Flush();
  absl::Status fl = recorder_->Flush();
  if (!opt_.exit_when_source_ends) {
    WriteStatus("source_ended");
    while (!stop_.load()) env_->SleepMicros(100'000);
  }
  if (!fl.ok()) spdlog::error("agent: final seal failed: {}", std::string(fl.message()));
  if (opt_.upload) {
    // Give the uploader a bounded time to drain; whatever is left stays spooled.
    int64_t deadline = env_->NowMonoMicros() + opt_.drain_timeout_us;
    while (env_->NowMonoMicros() < deadline && !stop_.load()) {
      auto l = spool_->List();
      if (l.ok() && l->empty()) break;
      env_->SleepMicros(100'000);
    }
    upload_stop.store(true);
    uploader_thread.join();
  }
  WriteStatus(st.ok() ? "stopped" : "source_failed");
  return st.ok() ? fl : st;
}

}  // namespace sealtrace
