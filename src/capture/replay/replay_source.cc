#include "capture/replay/replay_source.h"

#include "segment/event_json.h"

namespace sealtrace {

absl::StatusOr<v1::Event> ParseReplayLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  line.remove_prefix(i);
  if (line.empty() || line.front() == '#') return absl::NotFoundError("blank or comment");
  if (line.size() > (1u << 20)) return absl::InvalidArgumentError("line longer than 1 MiB");
  absl::StatusOr<v1::Event> e = EventFromJson(line);
  if (!e.ok()) {
    return absl::InvalidArgumentError("not a sealtrace event: " + std::string(e.status().message()));
  }
  if (e->body_case() == v1::Event::BODY_NOT_SET) {
    return absl::InvalidArgumentError("event has no body (key, pointer, focus, ...)");
  }
  return e;
}

std::string FormatReplayLine(const v1::Event& e) { return EventToJson(e); }

ReplaySource::ReplaySource(Env* env, std::string path, double speed)
    : env_(env), path_(std::move(path)), speed_(speed) {}

absl::Status ReplaySource::Start() {
  auto data = env_->ReadFile(path_);
  if (!data.ok()) return data.status();
  data_ = std::move(*data);
  event_count_ = 0;
  uint64_t last_t = 0;
  size_t lineno = 0, pos = 0;
  while (pos < data_.size()) {
    size_t nl = data_.find('\n', pos);
    if (nl == std::string::npos) nl = data_.size();
    ++lineno;
    auto e = ParseReplayLine(std::string_view(data_).substr(pos, nl - pos));
    pos = nl + 1;
    if (absl::IsNotFound(e.status())) continue;
    std::string where = path_ + ":" + std::to_string(lineno) + ": ";
    if (!e.ok()) return absl::InvalidArgumentError(where + std::string(e.status().message()));
    if (e->t_us() < last_t) {
      return absl::InvalidArgumentError(where + "time goes backwards (" +
                                        std::to_string(e->t_us()) + " < " +
                                        std::to_string(last_t) + ")");
    }
    last_t = e->t_us();
    ++event_count_;
  }
  return absl::OkStatus();
}

absl::Status ReplaySource::Run(EventSink* sink) {
  const int64_t base = env_->NowMonoMicros();
  int64_t last_abs = base;
  size_t pos = 0;
  while (pos < data_.size() && !stop_.load()) {
    size_t nl = data_.find('\n', pos);
    if (nl == std::string::npos) nl = data_.size();
    auto e = ParseReplayLine(std::string_view(data_).substr(pos, nl - pos));
    pos = nl + 1;
    if (!e.ok()) continue;  // validated in Start(); only blanks/comments remain
    int64_t abs = base + static_cast<int64_t>(e->t_us());
    if (speed_ > 0) {
      int64_t due = base + static_cast<int64_t>(static_cast<double>(e->t_us()) / speed_);
      for (;;) {
        int64_t now = env_->NowMonoMicros();
        if (now >= due || stop_.load()) break;
        env_->SleepMicros(std::min<int64_t>(due - now, 50'000));
      }
      abs = std::max(env_->NowMonoMicros(), last_abs);
      if (stop_.load()) break;
    }
    last_abs = abs;
    e->set_t_us(static_cast<uint64_t>(abs));
    sink->OnEvent(std::move(*e));
  }
  return absl::OkStatus();
}

SourceInfo ReplaySource::Info() const {
  SourceInfo info;
  info.description = "replay " + path_;
  return info;
}

}  // namespace sealtrace
