#include "agent/state_files.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sealtrace {

void AccumulateUploadReport(UploadReport* into, const UploadReport& add) {
  into->uploaded += add.uploaded;
  into->duplicates += add.duplicates;
  into->rejected += add.rejected;
  into->failures += add.failures;
  into->last_acked_sequence = std::max(into->last_acked_sequence, add.last_acked_sequence);
  into->last_upload_wall_us = std::max(into->last_upload_wall_us, add.last_upload_wall_us);
  if (!add.last_error.empty()) into->last_error = add.last_error;
}

std::string EncodeUploadReport(const UploadReport& r, int64_t pid) {
  nlohmann::json j{{"pid", pid},
                   {"uploaded", r.uploaded},
                   {"upload_duplicates", r.duplicates},
                   {"upload_rejected", r.rejected},
                   {"upload_failures", r.failures},
                   {"last_upload_wall_us", r.last_upload_wall_us},
                   {"last_acked_sequence", r.last_acked_sequence},
                   {"last_error", r.last_error},
                   {"spool_segments", r.spool_segments},
                   {"spool_bytes", r.spool_bytes},
                   {"spool_quarantined", r.spool_quarantined}};
  return j.dump() + "\n";
}

std::optional<UploadReport> ParseUploadReport(std::string_view text, int64_t* pid) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;  // being replaced, or damaged
  auto u64 = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : uint64_t{0};
  };
  auto p = j.find("pid");
  if (p == j.end() || !p->is_number_integer()) return std::nullopt;
  *pid = p->get<int64_t>();
  UploadReport r;
  r.uploaded = u64("uploaded");
  r.duplicates = u64("upload_duplicates");
  r.rejected = u64("upload_rejected");
  r.failures = u64("upload_failures");
  r.last_acked_sequence = u64("last_acked_sequence");
  r.last_upload_wall_us = static_cast<int64_t>(u64("last_upload_wall_us"));
  r.spool_segments = u64("spool_segments");
  r.spool_bytes = u64("spool_bytes");
  r.spool_quarantined = u64("spool_quarantined");
  if (auto it = j.find("last_error"); it != j.end() && it->is_string()) r.last_error = *it;
  return r;
}

std::string EncodeVaultState(const DeviceState& s, int64_t updated_wall_us) {
  nlohmann::json j{{"programme_state", s.programme_state},
                   {"recording_allowed", s.recording_allowed},
                   {"contributor_paused", s.contributor_paused},
                   {"title_policy", s.title_policy},
                   {"updated_wall_us", updated_wall_us}};
  return j.dump() + "\n";
}

std::optional<DeviceState> ParseVaultState(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto ps = j.find("programme_state");
  auto allowed = j.find("recording_allowed");
  auto cp = j.find("contributor_paused");
  if (ps == j.end() || !ps->is_string() || allowed == j.end() || !allowed->is_boolean()) {
    return std::nullopt;
  }
  DeviceState s;
  s.programme_state = ps->get<std::string>();
  s.recording_allowed = allowed->get<bool>();
  s.contributor_paused = cp != j.end() && cp->is_boolean() && cp->get<bool>();
  // Absent (an older uploader's file): the vault sent none, "full".
  if (auto tp = j.find("title_policy"); tp != j.end()) {
    if (!tp->is_string()) return std::nullopt;
    s.title_policy = tp->get<std::string>();
  }
  return s;
}

}  // namespace sealtrace
