#include "agent/agent.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <thread>


#include "agent/uploader.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace sealtrace {

// Counts what the source delivers, by kind, and forwards it unchanged.
class Agent::CountingSink final : public EventSink {
 public:
  explicit CountingSink(EventSink* next) : next_(next) {}
  void OnEvent(v1::Event e) override {
    switch (e.body_case()) {
      case v1::Event::kKey:
        (e.key().down() ? key_down : key_up).fetch_add(1, std::memory_order_relaxed);
        break;
      case v1::Event::kPointer:
        switch (e.pointer().kind()) {
          case v1::PointerEvent::BUTTON_DOWN: button_down.fetch_add(1, std::memory_order_relaxed); break;
          case v1::PointerEvent::BUTTON_UP: button_up.fetch_add(1, std::memory_order_relaxed); break;
          case v1::PointerEvent::SCROLL: scroll.fetch_add(1, std::memory_order_relaxed); break;
          default: move.fetch_add(1, std::memory_order_relaxed); break;
        }
        break;
      case v1::Event::kFocus:
        focus.fetch_add(1, std::memory_order_relaxed);
        break;
      default:
        other.fetch_add(1, std::memory_order_relaxed);
        break;
    }
    next_->OnEvent(std::move(e));
  }
  CaptureCounts Get() const {
    CaptureCounts c;
    c.key_down = key_down.load();
    c.key_up = key_up.load();
    c.button_down = button_down.load();
    c.button_up = button_up.load();
    c.scroll = scroll.load();
    c.move = move.load();
    c.focus = focus.load();
    c.other = other.load();
    return c;
  }

 private:
  EventSink* next_;
  std::atomic<uint64_t> key_down{0}, key_up{0}, button_down{0}, button_up{0}, scroll{0}, move{0},
      focus{0}, other{0};
};

CaptureCounts Agent::captured() const { return counter_->Get(); }

std::string Agent::StatusPath(const AgentConfig& c) { return JoinPath(c.state_dir, "status.json"); }
std::string Agent::StatusRequestPath(const AgentConfig& c) {
  return JoinPath(c.state_dir, "status_request");
}
std::string Agent::ControlPath(const AgentConfig& c) { return JoinPath(c.state_dir, "control"); }

bool Agent::StatusRequested(const Waiter::Result& w) {
  // Without inotify every wait reports everything changed: only a request
  // not seen before (its content is the time it was made) counts.
  if (!w.all_changed &&
      std::find(w.changed.begin(), w.changed.end(), "status_request") == w.changed.end()) {
    return false;
  }
  auto r = env_->ReadFile(StatusRequestPath(cfg_));
  if (!r.ok() || *r == last_status_request_) return false;
  last_status_request_ = std::move(*r);
  return true;
}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(Env* env, AgentConfig config,
                                                     std::unique_ptr<Source> source,
                                                     AgentOptions options,
                                                     FilterFactory filter_factory) {
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
  // The last programme state the uploader wrote (a previous run's, until it
  // polls): its title policy applies from the first event on.
  a->ReadVaultState();
  a->counter_ = std::make_unique<CountingSink>(
      a->filter_ ? static_cast<EventSink*>(a->filter_.get()) : a->recorder_.get());
  auto waiter = Waiter::Create({a->cfg_.state_dir});
  if (!waiter.ok()) return waiter.status();
  a->waiter_ = std::move(*waiter);
  if (a->opt_.upload) {
    if (a->opt_.uploader_path.empty()) {
      const std::string self = ExecutablePath();
      if (!self.empty()) a->opt_.uploader_path = UploaderBinaryBeside(self);
    }
    if (a->opt_.uploader_path.empty() || access(a->opt_.uploader_path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          "the uploader binary '" + a->opt_.uploader_path +
          "' is missing (it is installed beside sealtrace); use --no-upload to only spool");
    }
    if (a->cfg_.path.empty()) {
      return absl::FailedPreconditionError("uploading needs the agent config's path");
    }
  }
  if (auto s = source->Start(); !s.ok()) return s;
  a->source_ = std::move(source);
  return a;
}

Agent::Agent(Env* env, AgentConfig config, AgentOptions options)
    : env_(env), cfg_(std::move(config)), opt_(std::move(options)) {}

Agent::~Agent() {
  stop_.store(true);
  StopUploader();
}

UploadReport Agent::ReadCurrentUploaderFile() {
  if (!opt_.upload || uploader_pid_ <= 0) return {};
  auto text = env_->ReadFile(UploaderStatusPath(cfg_));
  if (!text.ok()) return {};
  int64_t pid = 0;
  std::optional<UploadReport> r = ParseUploadReport(*text, &pid);
  // Only the uploader this agent started now counts (not a previous run's file).
  if (!r || pid != uploader_pid_) return {};
  r->present = true;
  return *r;
}

void Agent::FoldUploaderReport() {
  // Called when the current uploader has exited: its final counters join the
  // totals of this run, so a restart does not reset them.
  AccumulateUploadReport(&upload_totals_, ReadCurrentUploaderFile());
}

UploadReport Agent::ReadUploadReport() {
  const UploadReport cur = ReadCurrentUploaderFile();
  UploadReport r = upload_totals_;
  AccumulateUploadReport(&r, cur);
  r.present = cur.present;
  if (cur.present) {
    r.spool_segments = cur.spool_segments;
    r.spool_bytes = cur.spool_bytes;
  }
  return r;
}

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
  // With an uploader the spool shrinks in the other process: its report of
  // the backlog is current, our own counters only ever grow.
  UploadReport us = opt_.upload ? ReadUploadReport() : UploadReport{};
  auto ss = spool_->Stats();
  if (us.present) {
    ss.segments = us.spool_segments;
    ss.bytes = us.spool_bytes;
  }
  SourceInfo info;
  std::string source_error;
  {
    std::lock_guard<std::mutex> l(source_mu_);
    info = source_->Info();
    source_error = source_error_;
  }
  AgentStatus st;
  st.state = state;
  st.programme_state = programme_state_;
  st.programme_title_policy = programme_title_policy_;
  st.title_policy = filter_ ? filter_->title_policy() : std::string();
  st.source = info.description;
  st.source_warning = info.warning;
  st.hidden_input = info.hidden_input;
  st.source_error = source_error;
  st.window_manager = info.has_window_manager;
  st.pid = static_cast<int64_t>(getpid());
  st.updated_wall_us = env_->NowWallMicros();
  st.started_wall_us = started_wall_us_;
  st.events_total = rs.events;
  st.segments_total = rs.segments;
  st.frames_total = rs.frames;
  st.seal_errors = rs.seal_errors;
  st.unspooled_in_memory = rs.unspooled;
  st.events_per_min = events_per_min;
  st.segments_per_min = segments_per_min;
  st.captured = captured();
  st.spool_segments = ss.segments;
  st.spool_bytes = ss.bytes;
  st.spool_purged_segments = ss.purged_segments_total;
  st.spool_quarantined = ss.quarantined_total;
  st.uploader = !opt_.upload ? "off" : uploader_pid_ > 0 ? "running" : "not running";
  st.uploaded = us.uploaded;
  st.upload_duplicates = us.duplicates;
  st.upload_rejected = us.rejected;
  st.upload_failures = us.failures;
  st.last_upload_wall_us = us.last_upload_wall_us;
  st.last_acked_sequence = us.last_acked_sequence;
  st.last_error = us.last_error.empty() ? rs.last_error : us.last_error;
  // Advisory: atomic but not fsync'd.
  ReplaceFile(env_, StatusPath(cfg_), EncodeAgentStatus(st)).IgnoreError();
}

void Agent::ReadControl() {
  // The control file holds "pause <until_wall_us|0>" or "resume".
  local_pause_ = false;
  local_pause_until_wall_ = 0;
  auto ctl = env_->ReadFile(ControlPath(cfg_));
  if (!ctl.ok() || ctl->rfind("pause", 0) != 0) return;
  int64_t until = 0;
  try {
    until = std::stoll(ctl->substr(5));
  } catch (...) {
    until = 0;  // malformed: pause without an end, the safe reading
  }
  local_pause_ = until <= 0 || env_->NowWallMicros() < until;
  local_pause_until_wall_ = until > 0 ? until : 0;
}

void Agent::ReadVaultState() {
  if (!opt_.upload) return;
  auto text = env_->ReadFile(VaultStatePath(cfg_));
  if (!text.ok()) return;
  std::optional<DeviceState> st = ParseVaultState(*text);
  if (!st) return;  // damaged: keep the last state
  programme_state_ = st->programme_state;
  programme_title_policy_ = st->title_policy;
  if (filter_) filter_->SetTitlePolicy(st->title_policy);
  vault_pause_ = !st->recording_allowed;
  vault_pause_reason_ =
      st->contributor_paused ? "contributor_dashboard" : "programme_" + programme_state_;
}

void Agent::StartUploader() {
  // The uploader accepts 10 ms .. 1 h.
  const std::string poll_ms =
      std::to_string(std::clamp<int64_t>(opt_.state_poll_us / 1000, 10, 3'600'000));
  env_->RemoveFile(UploaderStatusPath(cfg_)).IgnoreError();  // a previous run's
  const std::string ppid = std::to_string(getpid());
  std::vector<std::string> args = {opt_.uploader_path, "--config",       cfg_.path,
                                   "--parent-pid",     ppid,             "--state-poll-ms",
                                   poll_ms};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, opt_.uploader_path.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) {
    spdlog::error("agent: could not start {}: {} (segments stay spooled)", opt_.uploader_path,
                  std::strerror(rc));
    uploader_pid_ = -1;
    uploader_restart_at_ = env_->NowMonoMicros() + 5'000'000;
    return;
  }
  uploader_pid_ = pid;
}

void Agent::SuperviseUploader() {
  if (!opt_.upload) return;
  if (uploader_pid_ > 0) {
    int status = 0;
    pid_t r;
    do {
      r = waitpid(uploader_pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return;  // still running
    FoldUploaderReport();
    spdlog::warn("agent: the uploader exited ({}); restarting it in 2 s",
                 WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                     : "status " + std::to_string(WEXITSTATUS(status)));
    uploader_pid_ = -1;
    uploader_restart_at_ = env_->NowMonoMicros() + 2'000'000;
  }
  if (env_->NowMonoMicros() >= uploader_restart_at_) StartUploader();
}

void Agent::StopUploader() {
  if (uploader_pid_ <= 0) return;
  kill(uploader_pid_, SIGTERM);
  // It finishes the upload in flight (bounded by the client's timeouts).
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    pid_t r = waitpid(uploader_pid_, &status, WNOHANG);
    if (r == uploader_pid_ || (r < 0 && errno != EINTR)) {
      FoldUploaderReport();
      uploader_pid_ = -1;
      return;
    }
    env_->SleepMicros(100'000);
  }
  kill(uploader_pid_, SIGKILL);
  while (waitpid(uploader_pid_, &status, 0) < 0 && errno == EINTR) {
  }
  FoldUploaderReport();
  uploader_pid_ = -1;
}

void Agent::Housekeeping() {
  const int64_t seal_check_us =
      std::max<int64_t>(10'000, std::min<int64_t>(1'000'000, cfg_.max_segment_age_ms * 1000));
  int64_t last_status = 0;
  std::string last_state, last_programme_state, last_title_policy;
  bool status_requested = false;
  bool source_stop_sent = false;
  ReadControl();
  ReadVaultState();
  while (true) {
    if (!source_stop_sent && (stop_.load() || end_source_.load() || source_done_.load())) {
      StopSource();
      source_stop_sent = true;
    }
    if (source_done_.load()) break;
    recorder_->Tick();
    SuperviseUploader();
    int64_t now = env_->NowMonoMicros();
    if (local_pause_ && local_pause_until_wall_ > 0 && env_->NowWallMicros() >= local_pause_until_wall_) {
      ReadControl();  // a timed pause has ended
    }
    if (filter_) {
      filter_->SetPaused(local_pause_ || vault_pause_, vault_pause_ ? vault_pause_reason_ : "local");
    }
    std::string state = "recording";
    if (source_lost_.load()) state = "source_lost";
    else if (filter_ && filter_->paused()) state = "paused";
    else if (filter_ && filter_->excluded()) state = "excluded";
    // Rewritten (not fsync'd) on a change of state, on request and on the
    // heartbeat: a file rewritten every second costs an open, a write and a
    // rename per second for a reader that is almost never there.
    if (status_requested || state != last_state || programme_state_ != last_programme_state ||
        programme_title_policy_ != last_title_policy || now - last_status >= kStatusHeartbeatUs) {
      last_status = now;
      last_state = state;
      last_programme_state = programme_state_;
      last_title_policy = programme_title_policy_;
      status_requested = false;
      WriteStatus(state);
    }
    // Sleep until the next deadline: a segment may come of age (Tick), the
    // status is due, a timed pause ends, sealed segments wait for the spool.
    int64_t timeout = std::min(seal_check_us, last_status + kStatusHeartbeatUs - now);
    if (recorder_->Stats().unspooled > 0) timeout = std::min<int64_t>(timeout, 100'000);
    if (local_pause_ && local_pause_until_wall_ > 0) {
      timeout = std::min(timeout, local_pause_until_wall_ - env_->NowWallMicros());
    }
    if (opt_.upload && uploader_pid_ <= 0) {
      timeout = std::min(timeout, uploader_restart_at_ - now);
    }
    Waiter::Result w = waiter_->Wait(std::max<int64_t>(0, timeout));
    bool control = w.all_changed, vault = w.all_changed;
    for (const auto& n : w.changed) {
      if (n == "control") control = true;
      if (n == "vault_state.json") vault = true;
    }
    if (StatusRequested(w)) status_requested = true;
    if (control) ReadControl();
    if (vault) ReadVaultState();
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

void Agent::StopSource() {
  std::lock_guard<std::mutex> l(source_mu_);
  source_stop_requested_ = true;
  source_->Stop();
}

bool Agent::ReconnectSource(const absl::Status& lost) {
  const int64_t lost_at = env_->NowMonoMicros();
  source_lost_.store(true);
  {
    std::lock_guard<std::mutex> l(source_mu_);
    source_error_ = std::string(lost.message());
  }
  spdlog::warn("agent: {}; sealing what was captured and retrying every {} ms",
               std::string(lost.message()), opt_.reconnect_interval_us / 1000);
  if (filter_) filter_->Flush();     // what the gate holds, then
  recorder_->Flush().IgnoreError();  // seal (errors show in the recorder's stats)
  int attempts = 0;
  while (!stop_.load() && !end_source_.load()) {
    for (int64_t slept = 0; slept < opt_.reconnect_interval_us && !stop_.load() &&
                            !end_source_.load();
         slept += 50'000) {
      env_->SleepMicros(std::min<int64_t>(50'000, opt_.reconnect_interval_us - slept));
    }
    if (stop_.load() || end_source_.load()) break;
    ++attempts;
    auto next = opt_.reconnect();
    absl::Status started = next.ok() ? (*next)->Start() : next.status();
    if (!started.ok()) {
      if (attempts == 1 || attempts % 60 == 0) {
        spdlog::info("agent: source not back yet ({})", std::string(started.message()));
      }
      continue;
    }
    std::unique_ptr<Source> old;
    {
      std::lock_guard<std::mutex> l(source_mu_);
      old = std::move(source_);
      source_ = std::move(*next);
      if (source_stop_requested_) source_->Stop();  // a stop raced with the swap
      source_error_.clear();
    }
    source_lost_.store(false);
    const int64_t now = env_->NowMonoMicros();
    spdlog::info("agent: source back after {} ms; recording again", (now - lost_at) / 1000);
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(now));
    e.mutable_control()->set_kind(v1::ControlEvent::SOURCE_RESTORED);
    e.mutable_control()->set_duration_us(static_cast<uint64_t>(now - lost_at));
    e.mutable_control()->set_reason("reconnected");
    counter_->OnEvent(std::move(e));
    return true;
  }
  return false;
}

absl::Status Agent::Run() {
  started_wall_us_ = env_->NowWallMicros();
  if (opt_.upload) StartUploader();
  std::thread hk([this] { Housekeeping(); });
  absl::Status st;
  while (true) {
    st = source_->Run(counter_.get());
    if (st.ok() || !absl::IsUnavailable(st) || !opt_.reconnect) break;
    if (!ReconnectSource(st)) {
      st = absl::OkStatus();  // stopped while the source was away: a clean end
      break;
    }
  }
  source_done_.store(true);
  waiter_->Wake();
  if (!st.ok()) {
    std::lock_guard<std::mutex> l(source_mu_);
    source_error_ = std::string(st.message());
    spdlog::error("agent: source stopped: {}", std::string(st.message()));
  }
  hk.join();
  if (filter_) filter_->Flush();
  absl::Status fl = recorder_->Flush();
  if (!opt_.exit_when_source_ends) {
    WriteStatus("source_ended");
    int64_t last_status = env_->NowMonoMicros();
    while (!stop_.load()) {
      SuperviseUploader();
      // On request and on the heartbeat (our own writes wake the waiter too).
      const int64_t now = env_->NowMonoMicros();
      if (now - last_status >= kStatusHeartbeatUs) {
        last_status = now;
        WriteStatus("source_ended");
      }
      Waiter::Result w =
          waiter_->Wait(std::max<int64_t>(0, last_status + kStatusHeartbeatUs - now));
      if (StatusRequested(w)) last_status = 0;
    }
  }
  if (!fl.ok()) spdlog::error("agent: final seal failed: {}", std::string(fl.message()));
  if (opt_.upload) {
    // Give the uploader a bounded time to drain; whatever is left stays spooled.
    int64_t deadline = env_->NowMonoMicros() + opt_.drain_timeout_us;
    while (env_->NowMonoMicros() < deadline && !stop_.load()) {
      auto l = spool_->List();
      if (l.ok() && l->empty()) break;
      SuperviseUploader();
      waiter_->Wait(50'000);
    }
    StopUploader();
  }
  WriteStatus(st.ok() ? "stopped" : "source_failed");
  return st.ok() ? fl : st;
}

}  // namespace sealtrace
