#include "agent/state_files.h"

#include <algorithm>
#include <utility>
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

namespace {

// status.json's fields, one table per type, in file order; both directions
// read the same tables, so a field cannot be written under one key and read
// under another.
template <typename T>
struct Field {
  const char* key;
  T AgentStatus::*member;
};
constexpr Field<std::string> kStatusStrings[] = {
    {"state", &AgentStatus::state},
    {"programme_state", &AgentStatus::programme_state},
    {"programme_title_policy", &AgentStatus::programme_title_policy},
    {"title_policy", &AgentStatus::title_policy},
    {"source", &AgentStatus::source},
    {"source_warning", &AgentStatus::source_warning},
    {"hidden_input", &AgentStatus::hidden_input},
    {"uploader", &AgentStatus::uploader},
    {"last_error", &AgentStatus::last_error},
    {"source_error", &AgentStatus::source_error},
};
constexpr Field<int64_t> kStatusInts[] = {
    {"pid", &AgentStatus::pid},
    {"updated_wall_us", &AgentStatus::updated_wall_us},
    {"started_wall_us", &AgentStatus::started_wall_us},
    {"last_upload_wall_us", &AgentStatus::last_upload_wall_us},
};
constexpr Field<uint64_t> kStatusCounts[] = {
    {"events_total", &AgentStatus::events_total},
    {"segments_total", &AgentStatus::segments_total},
    {"frames_total", &AgentStatus::frames_total},
    {"seal_errors", &AgentStatus::seal_errors},
    {"unspooled_in_memory", &AgentStatus::unspooled_in_memory},
    {"spool_segments", &AgentStatus::spool_segments},
    {"spool_bytes", &AgentStatus::spool_bytes},
    {"spool_purged_segments", &AgentStatus::spool_purged_segments},
    {"spool_quarantined", &AgentStatus::spool_quarantined},
    {"uploaded", &AgentStatus::uploaded},
    {"upload_duplicates", &AgentStatus::upload_duplicates},
    {"upload_rejected", &AgentStatus::upload_rejected},
    {"upload_failures", &AgentStatus::upload_failures},
    {"last_acked_sequence", &AgentStatus::last_acked_sequence},
};
constexpr Field<double> kStatusRates[] = {
    {"events_per_min", &AgentStatus::events_per_min},
    {"segments_per_min", &AgentStatus::segments_per_min},
};
constexpr std::pair<const char*, uint64_t CaptureCounts::*> kCaptured[] = {
    {"key_down", &CaptureCounts::key_down},   {"key_up", &CaptureCounts::key_up},
    {"button_down", &CaptureCounts::button_down}, {"button_up", &CaptureCounts::button_up},
    {"scroll", &CaptureCounts::scroll},       {"move", &CaptureCounts::move},
    {"focus", &CaptureCounts::focus},         {"other", &CaptureCounts::other},
};

}  // namespace

std::string EncodeAgentStatus(const AgentStatus& s) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : kStatusStrings) j[f.key] = s.*f.member;
  for (const auto& f : kStatusInts) j[f.key] = s.*f.member;
  for (const auto& f : kStatusCounts) j[f.key] = s.*f.member;
  for (const auto& f : kStatusRates) j[f.key] = s.*f.member;
  j["window_manager"] = s.window_manager;
  nlohmann::json c = nlohmann::json::object();
  for (const auto& [k, m] : kCaptured) c[k] = s.captured.*m;
  j["captured"] = std::move(c);
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<AgentStatus> ParseAgentStatus(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;  // being replaced, or damaged
  AgentStatus s;
  // Each reader returns false for a present value of the wrong type.
  auto read = [&](const char* key, auto is_type, auto assign) {
    auto it = j.find(key);
    if (it == j.end()) return true;
    if (!is_type(*it)) return false;
    assign(*it);
    return true;
  };
  for (const auto& f : kStatusStrings) {
    if (!read(f.key, [](const auto& v) { return v.is_string(); },
              [&](const auto& v) { s.*f.member = v.template get<std::string>(); })) {
      return std::nullopt;
    }
  }
  for (const auto& f : kStatusInts) {
    if (!read(f.key, [](const auto& v) { return v.is_number_integer(); },
              [&](const auto& v) { s.*f.member = v.template get<int64_t>(); })) {
      return std::nullopt;
    }
  }
  for (const auto& f : kStatusCounts) {
    if (!read(f.key, [](const auto& v) { return v.is_number_unsigned(); },
              [&](const auto& v) { s.*f.member = v.template get<uint64_t>(); })) {
      return std::nullopt;
    }
  }
  for (const auto& f : kStatusRates) {
    if (!read(f.key, [](const auto& v) { return v.is_number(); },
              [&](const auto& v) { s.*f.member = v.template get<double>(); })) {
      return std::nullopt;
    }
  }
  if (!read("window_manager", [](const auto& v) { return v.is_boolean(); },
            [&](const auto& v) { s.window_manager = v.template get<bool>(); })) {
    return std::nullopt;
  }
  if (auto c = j.find("captured"); c != j.end()) {
    if (!c->is_object()) return std::nullopt;
    for (const auto& [k, m] : kCaptured) {
      auto it = c->find(k);
      if (it == c->end()) continue;
      if (!it->is_number_unsigned()) return std::nullopt;
      s.captured.*m = it->get<uint64_t>();
    }
  }
  return s;
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
