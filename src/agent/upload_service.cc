#include "agent/upload_service.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>

#include "spdlog/spdlog.h"

namespace sealtrace {

absl::StatusOr<std::unique_ptr<UploadService>> UploadService::Create(
    Env* env, AgentConfig config, std::unique_ptr<VaultClient> client,
    UploadServiceOptions options) {
  std::unique_ptr<UploadService> s(new UploadService(env, std::move(config), std::move(options)));
  if (auto st = env->CreateDirs(s->cfg_.state_dir); !st.ok()) return st;
  const std::string lock = JoinPath(s->cfg_.state_dir, "uploader.lock");
  s->lock_fd_ = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd_ < 0) return absl::InternalError("cannot open " + lock);
  if (flock(s->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError("another uploader holds " + lock);
  }
  SpoolOptions so{s->cfg_.spool_dir, s->cfg_.spool_quota_bytes};
  so.remove_unfinished = false;  // the recorder owns the spool's *.tmp files
  auto spool = Spool::Open(env, so);
  if (!spool.ok()) return spool.status();
  s->spool_ = std::move(*spool);
  auto waiter = Waiter::Create({s->cfg_.spool_dir});
  if (!waiter.ok()) return waiter.status();
  s->waiter_ = std::move(*waiter);
  s->client_ = std::move(client);
  s->opt_.uploader.state_file = JoinPath(s->cfg_.state_dir, "uploader.state");
  s->uploader_ =
      std::make_unique<Uploader>(env, s->spool_.get(), s->client_.get(), s->opt_.uploader);
  return s;
}

UploadService::~UploadService() {
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the lock
}

void UploadService::PollState() {
  DeviceReport report;
  const SpoolStats stats = spool_->Stats();
  report.has_spool = true;
  report.spool_segments = stats.segments;
  report.spool_bytes = stats.bytes;
  auto st = client_->GetDeviceState(report);
  if (!st.ok()) return;  // unreachable: the last answer stays in force
  if (last_state_ && *last_state_ == *st) return;
  if (ReplaceFile(env_, VaultStatePath(cfg_), EncodeVaultState(*st, env_->NowWallMicros())).ok()) {
    last_state_ = *st;
  }
}

void UploadService::WriteStatus() {
  const UploaderStats us = uploader_->Stats();
  const SpoolStats ss = spool_->Stats();
  UploadReport r;
  r.uploaded = us.uploaded;
  r.duplicates = us.duplicates;
  r.rejected = us.rejected;
  r.failures = us.failures;
  r.last_upload_wall_us = us.last_upload_wall_us;
  r.last_acked_sequence = us.last_acked_sequence;
  r.last_error = us.last_error;
  r.spool_segments = ss.segments;
  r.spool_bytes = ss.bytes;
  r.spool_quarantined = ss.quarantined_total;
  std::string text = EncodeUploadReport(r, getpid());
  if (text == last_status_json_) return;
  if (ReplaceFile(env_, UploaderStatusPath(cfg_), text).ok()) last_status_json_ = std::move(text);
}

absl::Status UploadService::Run() {
  constexpr int64_t kNever = INT64_MAX;
  int attempt = 0;
  int64_t next_upload = 0, next_state = 0;
  while (!stop_.load()) {
    if (opt_.parent_pid > 0 && getppid() != opt_.parent_pid) {
      spdlog::info("uploader: the recorder is gone; stopping");
      break;
    }
    int64_t now = env_->NowMonoMicros();
    if (now >= next_upload) {
      auto r = uploader_->UploadOnce(&stop_);
      if (!r.ok()) {
        ++attempt;
        const int64_t wait = uploader_->BackoffDelayUs(attempt);
        if (attempt == 1 || attempt % 10 == 0) {
          spdlog::warn("uploader: {} (retry {} in {} ms; segments stay spooled)",
                       std::string(r.status().message()), attempt, wait / 1000);
        }
        next_upload = now + wait;
      } else {
        attempt = 0;
        next_upload = now + opt_.idle_rescan_us;  // or sooner, when a segment arrives
      }
      now = env_->NowMonoMicros();
    }
    if (now >= next_state) {
      PollState();
      next_state = now + opt_.state_poll_us;
    }
    WriteStatus();
    int64_t deadline = std::min(next_upload, next_state);
    if (opt_.parent_pid > 0) deadline = std::min(deadline, now + 1'000'000);
    Waiter::Result w = waiter_->Wait(deadline == kNever ? -1 : std::max<int64_t>(0, deadline - now));
    bool new_segment = w.all_changed;
    for (const auto& n : w.changed) {
      uint64_t seq;
      Id16 id;
      if (Spool::ParseFileName(n, &seq, &id)) new_segment = true;
    }
    // A new segment is uploaded now, unless we are backing off after a failure.
    if (new_segment && attempt == 0) next_upload = 0;
  }
  WriteStatus();
  return absl::OkStatus();
}

}  // namespace sealtrace
