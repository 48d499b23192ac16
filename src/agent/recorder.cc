#include "agent/recorder.h"

#include "spdlog/spdlog.h"

namespace sealtrace {

Recorder::Recorder(Env* env, Spool* spool, RecorderOptions options)
    : env_(env), spool_(spool), opt_(std::move(options)), next_seq_(opt_.first_sequence) {}

Recorder::~Recorder() {
  std::lock_guard<std::mutex> l(mu_);
  absl::Status s = builder_ ? SealLocked() : DrainUnspooledLocked();
  if (!s.ok() || !unspooled_.empty()) {
    // Never silent: these sealed segments could not reach the spool.
    spdlog::error("recorder: {} sealed segment(s) lost at shutdown, spool refused them: {}",
                  unspooled_.size(), std::string(s.message()));
  }
}

Id16 Recorder::NewId() {
  Id16 id;
  do {
    env_->RandomBytes(id.b.data(), id.b.size());
  } while (id.IsZero());
  return id;
}

void Recorder::StartSegmentLocked(uint64_t t_us) {
  SegmentBuilder::Params p;
  p.contributor_id = opt_.contributor_id;
  p.device_id = opt_.device_id;
  p.segment_id = NewId();
  p.sequence = next_seq_;
  p.start_mono_us = t_us;
  // Wall-clock anchor of t == 0: now on the wall clock minus the monotonic
  // age of the segment start, so a later wall-clock jump does not move events.
  int64_t now_mono = env_->NowMonoMicros();
  p.wall_anchor_us = env_->NowWallMicros() - (now_mono - static_cast<int64_t>(t_us));
  p.recipient_public_key = opt_.recipient_public_key;
  p.zstd_level = opt_.zstd_level;
  p.zstd_max_table_log = opt_.zstd_max_table_log;
  // The source time at which the wall clock reaches the next whole hour.
  constexpr int64_t kHourUs = 3600LL * 1000000;
  const int64_t hour_start = p.wall_anchor_us - ((p.wall_anchor_us % kHourUs) + kHourUs) % kHourUs;
  seg_hour_end_t_ = t_us + static_cast<uint64_t>(hour_start + kHourUs - p.wall_anchor_us);
  builder_ = std::make_unique<SegmentBuilder>(std::move(p));
  seg_start_mono_ = t_us;
  seg_open_at_ = now_mono;
  if (pending_purge_) {
    v1::Event gap;
    gap.set_t_us(0);
    auto* c = gap.mutable_control();
    c->set_kind(v1::ControlEvent::GAP);
    c->set_reason("spool_quota_purge:segments=" + std::to_string(pending_purge_->segments) +
                  ",sequences=" + std::to_string(pending_purge_->first_sequence) + "-" +
                  std::to_string(pending_purge_->last_sequence));
    builder_->Add(gap);
    pending_purge_.reset();
  }
}

void Recorder::OnEvent(v1::Event event) {
  std::lock_guard<std::mutex> l(mu_);
  // Keep times monotonic whatever the source did.
  uint64_t t = std::max<uint64_t>(event.t_us(), last_t_);
  last_t_ = t;
  // A segment never spans an hour boundary: its clear header then names
  // exactly one whole hour (docs/FORMAT.md §1.1), never a two-hour range that
  // would place the activity within a second of the boundary.
  if (builder_ && t >= seg_hour_end_t_) SealLocked().IgnoreError();
  if (!builder_) StartSegmentLocked(t);
  event.set_t_us(t - seg_start_mono_);
  builder_->Add(event);
  ++stats_.events;
  if (builder_->buffered_bytes() >= opt_.max_segment_bytes ||
      env_->NowMonoMicros() - seg_open_at_ >= opt_.max_segment_age_us) {
    SealLocked().IgnoreError();
  }
}

void Recorder::Tick() {
  std::lock_guard<std::mutex> l(mu_);
  if (!unspooled_.empty()) DrainUnspooledLocked().IgnoreError();
  if (builder_ && env_->NowMonoMicros() - seg_open_at_ >= opt_.max_segment_age_us) {
    SealLocked().IgnoreError();
  }
}

absl::Status Recorder::Flush() {
  std::lock_guard<std::mutex> l(mu_);
  if (!builder_) return DrainUnspooledLocked();
  return SealLocked();
}

absl::Status Recorder::SealLocked() {
  const uint64_t plaintext_bytes = builder_->buffered_bytes();  // sealed (not in the v2 header)
  auto sealed = builder_->Seal();
  if (!sealed.ok()) {
    // Only a bad recipient key gets here, which the agent checks at start.
    ++stats_.seal_errors;
    stats_.last_error = std::string(sealed.status().message());
    builder_.reset();
    return sealed.status();
  }
  auto header = ParseSegmentHeader(*sealed);
  if (!header.ok()) return header.status();  // impossible: we just built it
  ++stats_.segments;
  stats_.sealed_bytes += sealed->size();
  stats_.plaintext_bytes += plaintext_bytes;
  ++next_seq_;
  builder_.reset();
  unspooled_.push_back({header->sequence, header->segment_id, std::move(*sealed)});
  return DrainUnspooledLocked();
}

absl::Status Recorder::DrainUnspooledLocked() {
  while (!unspooled_.empty()) {
    auto& u = unspooled_.front();
    auto put = spool_->Put(u.sequence, u.segment_id, u.bytes);
    if (!put.ok()) {
      ++stats_.seal_errors;
      stats_.last_error = "spool: " + std::string(put.status().message());
      spdlog::error("recorder: could not spool segment {} (kept in memory, {} waiting): {}",
                    u.sequence, unspooled_.size(), std::string(put.status().message()));
      // Bound memory: beyond the limit the oldest sealed segment is dropped and
      // the loss is recorded as a GAP in the stream, never silently.
      while (unspooled_.size() > kMaxUnspooled) {
        PurgeReport lost;
        lost.segments = 1;
        lost.first_sequence = lost.last_sequence = unspooled_.front().sequence;
        lost.bytes = unspooled_.front().bytes.size();
        pending_purge_ = lost;
        unspooled_.pop_front();
        ++stats_.dropped_segments;
      }
      return put.status();
    }
    if (put->segments > 0) pending_purge_ = *put;
    unspooled_.pop_front();
  }
  return absl::OkStatus();
}

absl::StatusOr<Id16> Recorder::SealFrame(std::string_view png, uint64_t t_us) {
  std::lock_guard<std::mutex> l(mu_);
  SegmentBuilder::Params p;
  p.contributor_id = opt_.contributor_id;
  p.device_id = opt_.device_id;
  p.segment_id = NewId();
  p.sequence = next_seq_;
  p.start_mono_us = t_us;
  p.wall_anchor_us = env_->NowWallMicros() - (env_->NowMonoMicros() - static_cast<int64_t>(t_us));
  p.recipient_public_key = opt_.recipient_public_key;
  p.flags = kFlagFramePayload;
  p.zstd_level = 1;
  p.zstd_max_table_log = opt_.zstd_max_table_log;
  SegmentBuilder b(std::move(p));
  b.AddRaw(png);
  auto sealed = b.Seal();
  if (!sealed.ok()) return sealed.status();
  auto h = ParseSegmentHeader(*sealed);
  if (!h.ok()) return h.status();
  auto put = spool_->Put(h->sequence, h->segment_id, *sealed);
  if (!put.ok()) return put.status();
  if (put->segments > 0) pending_purge_ = *put;
  ++next_seq_;
  ++stats_.frames;
  return h->segment_id;
}

RecorderStats Recorder::Stats() {
  std::lock_guard<std::mutex> l(mu_);
  RecorderStats s = stats_;
  s.next_sequence = next_seq_;
  s.unspooled = unspooled_.size();
  return s;
}

}  // namespace sealtrace
