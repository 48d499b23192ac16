#include "spool/spool.h"

#include <algorithm>
#include <cstdio>

#include "spdlog/spdlog.h"

namespace sealtrace {

std::string Spool::FileName(uint64_t sequence, const Id16& segment_id) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(sequence));
  return std::string(buf) + "-" + segment_id.Hex() + ".seg";
}

bool Spool::ParseFileName(std::string_view name, uint64_t* sequence, Id16* segment_id) {
  // 20 digits, '-', 32 hex, ".seg"
  if (name.size() != 20 + 1 + 32 + 4 || name[20] != '-' || name.substr(53) != ".seg") return false;
  uint64_t seq = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    seq = seq * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  auto id = Id16::FromHex(name.substr(21, 32));
  if (!id) return false;
  *sequence = seq;
  *segment_id = *id;
  return true;
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(Env* env, SpoolOptions options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("spool directory not set");
  if (auto s = env->CreateDirs(options.dir); !s.ok()) return s;
  if (auto s = env->CreateDirs(JoinPath(options.dir, "rejected")); !s.ok()) return s;
  std::unique_ptr<Spool> sp(new Spool(env, std::move(options)));
  auto names = env->ListDir(sp->opt_.dir);
  if (!names.ok()) return names.status();
  for (const auto& n : *names) {
    if (sp->opt_.remove_unfinished && n.size() > 4 && n.substr(n.size() - 4) == ".tmp") {
      if (auto s = env->RemoveFile(JoinPath(sp->opt_.dir, n)); !s.ok()) return s;
      ++sp->stats_.removed_tmp_at_open;
    }
  }
  if (sp->stats_.removed_tmp_at_open > 0) {
    if (auto s = env->SyncDir(sp->opt_.dir); !s.ok()) return s;
    spdlog::info("spool: removed {} unfinished temporary file(s) from an interrupted write",
                 sp->stats_.removed_tmp_at_open);
  }
  auto list = sp->List();
  if (!list.ok()) return list.status();
  return sp;
}

absl::StatusOr<std::vector<SpoolEntry>> Spool::ListLocked() {
  auto names = env_->ListDir(opt_.dir);
  if (!names.ok()) return names.status();
  std::vector<SpoolEntry> out;
  uint64_t bytes = 0, max_seq = stats_.max_sequence;
  for (const auto& n : *names) {
    SpoolEntry e;
    if (!ParseFileName(n, &e.sequence, &e.segment_id)) continue;
    e.name = n;
    auto sz = env_->FileSize(JoinPath(opt_.dir, n));
    if (!sz.ok()) continue;  // removed concurrently
    e.size = *sz;
    bytes += e.size;
    max_seq = std::max(max_seq, e.sequence);
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(),
            [](const SpoolEntry& a, const SpoolEntry& b) { return a.sequence < b.sequence; });
  stats_.segments = out.size();
  stats_.bytes = bytes;
  stats_.max_sequence = max_seq;
  return out;
}

absl::StatusOr<std::vector<SpoolEntry>> Spool::List() {
  std::lock_guard<std::mutex> l(mu_);
  return ListLocked();
}

absl::StatusOr<PurgeReport> Spool::Put(uint64_t sequence, const Id16& segment_id,
                                       std::string_view bytes) {
  std::lock_guard<std::mutex> l(mu_);
  std::string path = JoinPath(opt_.dir, FileName(sequence, segment_id));
  if (auto s = WriteFileAtomic(env_, path, bytes); !s.ok()) return s;
  stats_.bytes += bytes.size();
  ++stats_.segments;
  stats_.max_sequence = std::max(stats_.max_sequence, sequence);
  PurgeReport report;
  if (stats_.bytes <= opt_.quota_bytes) return report;  // the common case: no listing
  auto list = ListLocked();
  if (!list.ok()) return report;  // the segment is stored; purge retried next time
  uint64_t total = stats_.bytes;
  for (const auto& e : *list) {
    if (total <= opt_.quota_bytes) break;
    if (e.sequence == sequence) continue;  // never purge what we just wrote
    if (!env_->RemoveFile(JoinPath(opt_.dir, e.name)).ok()) continue;
    total -= e.size;
    if (report.segments == 0) report.first_sequence = e.sequence;
    report.last_sequence = e.sequence;
    ++report.segments;
    report.bytes += e.size;
  }
  if (report.segments > 0) {
    // The files are gone either way; without the directory sync a crash may
    // bring some back, to be purged (or uploaded) again. Say so, carry on.
    if (auto s = env_->SyncDir(opt_.dir); !s.ok()) {
      spdlog::warn("spool: purge not yet durable (sync of {} failed: {})", opt_.dir,
                   std::string(s.message()));
    }
    stats_.purged_segments_total += report.segments;
    stats_.purged_bytes_total += report.bytes;
    spdlog::warn(
        "spool: quota of {} bytes exceeded; purged {} oldest segment(s) ({} bytes, sequences "
        "{}..{}) that were never uploaded",
        opt_.quota_bytes, report.segments, report.bytes, report.first_sequence,
        report.last_sequence);
    ListLocked().IgnoreError();
  }
  return report;
}

absl::StatusOr<std::string> Spool::Read(const SpoolEntry& e) {
  return env_->ReadFile(JoinPath(opt_.dir, e.name));
}

absl::Status Spool::Remove(const SpoolEntry& e) {
  std::lock_guard<std::mutex> l(mu_);
  auto s = env_->RemoveFile(JoinPath(opt_.dir, e.name));
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  if (s.ok()) {
    stats_.bytes -= std::min(stats_.bytes, e.size);
    stats_.segments -= std::min<uint64_t>(stats_.segments, 1);
  }
  return env_->SyncDir(opt_.dir);
}

absl::Status Spool::Quarantine(const SpoolEntry& e, std::string_view reason) {
  std::lock_guard<std::mutex> l(mu_);
  std::string rej = JoinPath(opt_.dir, "rejected");
  if (auto s = WriteFileAtomic(env_, JoinPath(rej, e.name + ".reason"), reason); !s.ok()) return s;
  if (auto s = env_->RenameFile(JoinPath(opt_.dir, e.name), JoinPath(rej, e.name)); !s.ok()) {
    return s;
  }
  if (auto s = env_->SyncDir(rej); !s.ok()) return s;
  ++stats_.quarantined_total;
  stats_.bytes -= std::min(stats_.bytes, e.size);
  stats_.segments -= std::min<uint64_t>(stats_.segments, 1);
  spdlog::error("spool: segment {} refused by the vault and moved to {}: {}", e.name, rej, reason);
  return env_->SyncDir(opt_.dir);
}

SpoolStats Spool::Stats() {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

}  // namespace sealtrace
