#include "export/transforms.h"

#include <algorithm>
#include <cstdio>

namespace sealtrace::exporter {

std::string Pseudonymizer::Contributor(const Id16& id) const {
  std::string msg = "sealtrace.export.contributor.v1";
  msg.push_back('\0');
  msg.append(id.Bytes());
  return "c_" + ToHex(HmacSha256(key_.view(), msg)).substr(0, 24);
}

std::string Pseudonymizer::ValueKey(std::string_view kind, std::string_view value) const {
  std::string msg = "sealtrace.export.value.v1";
  msg.push_back('\0');
  msg.append(kind);
  msg.push_back('\0');
  msg.append(value);
  return HmacSha256(key_.view(), msg).substr(0, 16);
}

std::string Pseudonymizer::FrameName(std::string_view frame_id) const {
  std::string msg = "sealtrace.export.frame.v1";
  msg.push_back('\0');
  msg.append(frame_id);
  return "f_" + ToHex(HmacSha256(key_.view(), msg)).substr(0, 32);
}

void KAnonFilter::Observe(const std::string& value_key, uint32_t contributor_index) {
  Entry& e = entries_[value_key];
  if (e.kept) return;
  if (std::find(e.contributors.begin(), e.contributors.end(), contributor_index) !=
      e.contributors.end()) {
    return;
  }
  e.contributors.push_back(contributor_index);
  if (e.contributors.size() >= k_) {
    e.kept = true;
    e.contributors.clear();
    e.contributors.shrink_to_fit();
  }
}

bool KAnonFilter::Kept(const std::string& value_key) const {
  auto it = entries_.find(value_key);
  return it != entries_.end() && it->second.kept;
}

size_t KAnonFilter::kept_values() const {
  size_t n = 0;
  for (const auto& [k, e] : entries_) n += e.kept ? 1 : 0;
  return n;
}

uint64_t Quantise(uint64_t us, uint64_t q) {
  if (q <= 1) return us;
  return (us + q / 2) / q * q;
}

std::string EpisodeTransformer::App(std::string_view app) const {
  if (app.empty()) return "";
  return kanon_->Kept(pseudo_->ValueKey("app", app)) ? std::string(app) : kGeneralisedApp;
}

std::string EpisodeTransformer::Title(std::string_view title) const {
  if (title.empty()) return "";
  return kanon_->Kept(pseudo_->ValueKey("title", title)) ? std::string(title) : kGeneralisedTitle;
}

ExportEpisode EpisodeTransformer::Transform(const Episode& ep, const std::string& contributor,
                                            uint64_t ordinal) const {
  ExportEpisode out;
  char ord[32];
  std::snprintf(ord, sizeof(ord), "%06llu", static_cast<unsigned long long>(ordinal));
  out.episode_id = contributor + "-" + ord;
  out.contributor = contributor;
  out.end_reason = ep.end_reason;
  if (ep.steps.empty()) return out;
  out.screen_width = ep.steps.front().ctx.screen_width;
  out.screen_height = ep.steps.front().ctx.screen_height;
  out.app = App(ep.steps.front().ctx.app_class);

  const uint64_t q = opt_.time_quantum_us;
  const uint64_t t0 = ep.steps.front().t_us;
  uint64_t prev_raw = 0;  // quantised relative time of the previous step
  uint64_t prev_out = 0;  // emitted (possibly jittered) time of the previous step
  out.steps.reserve(ep.steps.size());
  for (const Action& a : ep.steps) {
    ExportStep s;
    s.action = a;
    s.action.frame_id.clear();
    s.action.ctx.app_class = App(a.ctx.app_class);
    s.action.ctx.title = Title(a.ctx.title);
    if (opt_.include_frames && !a.frame_id.empty()) {
      s.image = "frames/" + pseudo_->FrameName(a.frame_id) + ".png";
    }
    const uint64_t rel = a.t_us > t0 ? a.t_us - t0 : 0;
    const uint64_t qrel = std::max(Quantise(rel, q), prev_raw);
    int64_t delta = static_cast<int64_t>(qrel - prev_raw);
    if (opt_.jitter_quanta > 0 && rng_ != nullptr && &a != &ep.steps.front()) {
      const int64_t j = static_cast<int64_t>(rng_->Uniform(2 * opt_.jitter_quanta + 1)) -
                        static_cast<int64_t>(opt_.jitter_quanta);
      delta = std::max<int64_t>(0, delta + j * static_cast<int64_t>(q));
    }
    prev_raw = qrel;
    prev_out += static_cast<uint64_t>(delta);
    s.time_ms = static_cast<int64_t>(prev_out / 1000);
    if (a.type == ActionType::kWait) {
      s.wait_ms = static_cast<int64_t>(Quantise(a.duration_us, q) / 1000);
    }
    s.action.t_us = 0;
    s.action.duration_us = 0;
    out.steps.push_back(std::move(s));
  }
  out.duration_ms = out.steps.back().time_ms;
  return out;
}

}  // namespace sealtrace::exporter
