#include "export/exporter.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "export/card.h"
#include "export/formats.h"
#include "nlohmann/json.hpp"

namespace sealtrace::exporter {
namespace {

using ojson = nlohmann::ordered_json;

constexpr int kCheckpointVersion = 1;
constexpr char kCellSep = '\x1f';

std::string Dump(const ojson& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ShardName(uint64_t n, std::string_view format) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "shard-%05llu.%s.jsonl", static_cast<unsigned long long>(n),
                std::string(format).c_str());
  return buf;
}

std::string UtcDate(int64_t wall_us) {
  const std::time_t t = static_cast<std::time_t>(wall_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ojson ReducerJson(const ReducerOptions& r) {
  return ojson{{"multi_click_interval_ms", r.multi_click_interval_us / 1000},
               {"multi_click_distance_px", r.multi_click_distance_px},
               {"drag_threshold_px", r.drag_threshold_px},
               {"scroll_window_ms", r.scroll_window_us / 1000},
               {"scroll_distance_px", r.scroll_distance_px},
               {"hover_idle_ms", r.hover_idle_us / 1000},
               {"move_min_px", r.move_min_px},
               {"wait_threshold_ms", r.wait_threshold_us / 1000},
               {"episode_idle_split_ms", r.episode_idle_split_us / 1000},
               {"split_on_focus_change", r.split_on_focus_change},
               {"max_episode_steps", r.max_episode_steps},
               {"max_drag_path_points", r.max_drag_path_points},
               {"max_type_run_bytes", r.max_type_run_bytes},
               {"default_screen", std::to_string(r.default_screen_width) + "x" +
                                      std::to_string(r.default_screen_height)}};
}

// Everything that changes the output; a resume requires the same fingerprint.
ojson OptionsJson(const ExportOptions& o, bool dp_active) {
  ojson dom = ojson::array();
  for (const auto& d : o.dp_app_domain) dom.push_back(d);
  return ojson{{"reduction", ReducerJson(o.reducer)},
               {"k_anonymity", o.transforms.k_anonymity},
               {"time_quantum_ms", o.transforms.time_quantum_us / 1000},
               {"jitter_quanta", o.transforms.jitter_quanta},
               {"max_steps_per_contributor", o.transforms.max_steps_per_contributor},
               {"include_frames", o.transforms.include_frames},
               {"agentnet", o.write_agentnet},
               {"computer13", o.write_computer13},
               {"shard_max_bytes", o.shard_max_bytes},
               {"shard_max_episodes", o.shard_max_episodes},
               {"dp", dp_active},
               {"dp_epsilon", o.dp.epsilon.ToString()},
               {"dp_per_cell_cap", o.dp.per_cell_cap},
               {"dp_max_cells", o.dp.max_cells},
               {"dp_app_domain", dom}};
}

// A shard file being written: temp name, incremental sha256.
class ShardFile {
 public:
  absl::Status Open(Env* env, std::string dir, std::string name) {
    env_ = env;
    dir_ = std::move(dir);
    name_ = std::move(name);
    auto f = env->NewWritableFile(TmpPath(), 0644);
    if (!f.ok()) return f.status();
    file_ = std::move(*f);
    crypto_hash_sha256_init(&sha_);
    bytes_ = 0;
    return absl::OkStatus();
  }
  bool is_open() const { return file_ != nullptr; }
  absl::Status Append(std::string_view line) {
    crypto_hash_sha256_update(&sha_, reinterpret_cast<const unsigned char*>(line.data()),
                              line.size());
    bytes_ += line.size();
    return file_->Append(line);
  }
  uint64_t bytes() const { return bytes_; }
  // fsync, close, rename into place. Returns the sha256 hex.
  absl::StatusOr<std::string> Finish() {
    if (absl::Status s = file_->Sync(); !s.ok()) return s;
    if (absl::Status s = file_->Close(); !s.ok()) return s;
    file_.reset();
    if (absl::Status s = env_->RenameFile(TmpPath(), JoinPath(dir_, name_)); !s.ok()) return s;
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&sha_, out);
    return ToHex(std::string_view(reinterpret_cast<char*>(out), sizeof(out)));
  }
  void Abandon() {
    if (file_) {
      file_->Close().IgnoreError();
      file_.reset();
      env_->RemoveFile(TmpPath()).IgnoreError();
    }
  }
  const std::string& name() const { return name_; }

 private:
  std::string TmpPath() const { return JoinPath(dir_, name_ + ".tmp"); }
  Env* env_ = nullptr;
  std::string dir_, name_;
  std::unique_ptr<WritableFile> file_;
  crypto_hash_sha256_state sha_{};
  uint64_t bytes_ = 0;
};

struct ContributorGroup {
  Id16 id;
  std::vector<std::vector<const SegmentInfo*>> streams;  // per device, by sequence
};

// Durable state (the checkpoint).
struct State {
  std::string dataset_id;
  std::string key;  // 32 raw bytes
  uint64_t contributors_done = 0;
  uint64_t current_episodes = 0;  // next ordinal of the current contributor in finished shards
  uint64_t next_shard = 0;
  ojson shards = ojson::array();
  uint64_t contributors = 0, episodes = 0, steps = 0;
  uint64_t episodes_dropped_cap = 0, steps_dropped_cap = 0;
  uint64_t frames = 0, frames_missing = 0;
  std::map<std::string, uint64_t> kinds;
  std::map<std::string, uint64_t> dp_totals;
  uint64_t dp_clipped = 0, dp_included = 0, dp_excluded = 0;
  std::set<std::string> kept_apps;
  std::map<std::string, std::string> skipped;  // segment id hex -> reason
};

ojson MapJson(const std::map<std::string, uint64_t>& m) {
  ojson j = ojson::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

class Job {
 public:
  Job(Env* env, SegmentProvider* provider, const ExportOptions& opt, BudgetLedger* ledger,
      RandomSource* rng, const std::function<void(const Progress&)>& progress,
      const std::function<absl::Status()>& authorised, PseudonymKeyKeeper* keeper)
      : env_(env),
        provider_(provider),
        opt_(opt),
        ledger_(ledger),
        rng_(rng),
        progress_(progress),
        authorised_(authorised),
        keeper_(keeper) {}

  absl::StatusOr<ExportResult> Run();

 private:
  absl::Status Validate();
  absl::Status Plan();
  absl::Status LoadOrCreateState();
  absl::Status SaveCheckpoint();
  absl::Status Authorised();
  // Opens a listed segment and checks its header against the listing.
  absl::StatusOr<OpenedSegment> OpenChecked(const SegmentInfo& s);
  void Skip(const SegmentInfo& s, const absl::Status& why);
  absl::Status Pass1();
  absl::Status Pass2();
  absl::Status ExportContributor(size_t ci, bool resuming);
  absl::Status OnEpisode(Episode&& ep);
  absl::Status WriteEpisode(const ExportEpisode& ep);
  absl::Status WriteFrame(const std::string& frame_id, const std::string& image);
  absl::Status FinishShard();
  absl::Status Finish();
  // Finish's parts.
  absl::StatusOr<ojson> ReleaseDp();
  ojson TransformsJson() const;
  ojson SkippedJson() const;
  void Report(std::string_view phase);
  std::string Cell(const std::string& app_generalised, const std::string& raw_app,
                   const std::string& kind) const;

  Env* env_;
  SegmentProvider* provider_;
  const ExportOptions& opt_;
  BudgetLedger* ledger_;
  RandomSource* rng_;
  const std::function<void(const Progress&)>& progress_;
  const std::function<absl::Status()>& authorised_;
  PseudonymKeyKeeper* keeper_;

  bool dp_active_ = false;
  std::string options_sha_;
  std::string scope_sha_;
  std::string checkpoint_path_;
  std::vector<SegmentInfo> infos_;
  std::vector<ContributorGroup> groups_;
  uint64_t event_segments_ = 0;

  State st_;
  bool resumed_ = false;
  std::unique_ptr<Pseudonymizer> pseudo_;
  std::unique_ptr<KAnonFilter> kanon_;
  std::unique_ptr<EpisodeTransformer> transformer_;
  std::unique_ptr<BoundedHistogram> hist_;
  std::set<std::string> dp_domain_apps_;  // public domain, when given
  std::set<Id16> failed_;

  // Current shard.
  ShardFile agentnet_, c13_;
  uint64_t shard_episodes_ = 0, shard_steps_ = 0;

  // Current contributor.
  std::string pseudonym_;
  uint64_t ordinal_ = 0;
  uint64_t skip_below_ = 0;
  uint64_t contributor_steps_ = 0;
  uint64_t contributor_exported_ = 0;
  absl::Status episode_status_;

  // This run.
  int64_t start_us_ = 0;
  uint64_t segments_done_ = 0;
  uint64_t events_ = 0;
  uint64_t scan_events_ = 0;
  uint64_t segments_read_ = 0;
  bool stopped_ = false;
  std::string stop_reason_;
};

absl::Status Job::Validate() {
  if (opt_.output_dir.empty()) return absl::InvalidArgumentError("no output directory");
  if (!opt_.write_agentnet && !opt_.write_computer13) {
    return absl::InvalidArgumentError("no output format selected");
  }
  if (opt_.transforms.time_quantum_us < 1000 || opt_.transforms.time_quantum_us % 1000 != 0) {
    return absl::InvalidArgumentError("time quantum must be a positive whole number of ms");
  }
  if (opt_.transforms.k_anonymity < 1) return absl::InvalidArgumentError("k must be >= 1");
  if (opt_.shard_max_bytes == 0 || opt_.shard_max_episodes == 0) {
    return absl::InvalidArgumentError("shard size must be > 0");
  }
  if (!opt_.keep_pseudonym_key_purpose.empty() && keeper_ == nullptr) {
    return absl::InvalidArgumentError("keeping the pseudonym key needs a key keeper");
  }
  dp_active_ = opt_.dp_enabled && ledger_ != nullptr;
  if (dp_active_ &&
      (opt_.dp.epsilon.IsZero() || opt_.dp.per_cell_cap == 0 || opt_.dp.max_cells == 0)) {
    return absl::InvalidArgumentError("DP needs epsilon > 0, per-cell cap > 0, max cells > 0");
  }
  return absl::OkStatus();
}

absl::Status Job::Plan() {
  absl::StatusOr<std::vector<SegmentInfo>> list = provider_->List();
  if (!list.ok()) return list.status();
  infos_ = std::move(*list);
  std::sort(infos_.begin(), infos_.end(), [](const SegmentInfo& a, const SegmentInfo& b) {
    return std::tie(a.contributor_id, a.device_id, a.sequence, a.segment_id) <
           std::tie(b.contributor_id, b.device_id, b.sequence, b.segment_id);
  });
  std::string scope;
  for (const SegmentInfo& s : infos_) {
    scope.append(s.segment_id.Bytes());
    scope.push_back(s.frame ? 'f' : 'e');
    if (s.frame) continue;
    ++event_segments_;
    if (groups_.empty() || groups_.back().id != s.contributor_id) {
      groups_.push_back(ContributorGroup{s.contributor_id, {}});
    }
    auto& streams = groups_.back().streams;
    if (streams.empty() || streams.back().back()->device_id != s.device_id) streams.emplace_back();
    streams.back().push_back(&s);
  }
  scope_sha_ = ToHex(Sha256(scope));
  options_sha_ = ToHex(Sha256(Dump(OptionsJson(opt_, dp_active_))));
  return absl::OkStatus();
}

absl::Status Job::LoadOrCreateState() {
  checkpoint_path_ = JoinPath(opt_.output_dir, Exporter::kCheckpointName);
  if (!env_->FileExists(checkpoint_path_)) {
    if (env_->FileExists(JoinPath(opt_.output_dir, "manifest.json"))) {
      return absl::FailedPreconditionError(
          "output directory already holds a finished export (manifest.json); use a new one");
    }
    std::string id(16, '\0'), key(32, '\0');
    env_->RandomBytes(id.data(), id.size());
    env_->RandomBytes(key.data(), key.size());
    st_.dataset_id = ToHex(id);
    st_.key = std::move(key);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> text = env_->ReadFile(checkpoint_path_);
  if (!text.ok()) return text.status();
  try {
    ojson j = ojson::parse(*text);
    if (j.at("version").get<int>() != kCheckpointVersion) {
      return absl::FailedPreconditionError("checkpoint has an unknown version");
    }
    if (j.at("scope_sha256").get<std::string>() != scope_sha_) {
      return absl::FailedPreconditionError(
          "the segments in scope changed since the interrupted export; start a new export in "
          "a new directory");
    }
    if (j.at("options_sha256").get<std::string>() != options_sha_) {
      return absl::FailedPreconditionError(
          "export options differ from the interrupted export's; resume with the same options");
    }
    st_.dataset_id = j.at("dataset_id").get<std::string>();
    absl::StatusOr<std::string> key = FromBase64(j.at("pseudonym_key").get<std::string>());
    if (!key.ok() || key->size() != 32) return absl::DataLossError("checkpoint key is corrupt");
    st_.key = std::move(*key);
    st_.contributors_done = j.at("contributors_done").get<uint64_t>();
    st_.current_episodes = j.at("current_episodes").get<uint64_t>();
    st_.next_shard = j.at("next_shard").get<uint64_t>();
    st_.shards = j.at("shards");
    const ojson& c = j.at("counts");
    st_.contributors = c.at("contributors").get<uint64_t>();
    st_.episodes = c.at("episodes").get<uint64_t>();
    st_.steps = c.at("steps").get<uint64_t>();
    st_.episodes_dropped_cap = c.at("episodes_dropped_cap").get<uint64_t>();
    st_.steps_dropped_cap = c.at("steps_dropped_cap").get<uint64_t>();
    st_.frames = c.at("frames").get<uint64_t>();
    st_.frames_missing = c.at("frames_missing").get<uint64_t>();
    st_.kinds = c.at("steps_by_kind").get<std::map<std::string, uint64_t>>();
    st_.dp_totals = j.at("dp_totals").get<std::map<std::string, uint64_t>>();
    st_.dp_clipped = j.at("dp_clipped").get<uint64_t>();
    st_.dp_included = j.at("dp_included").get<uint64_t>();
    st_.dp_excluded = j.at("dp_excluded").get<uint64_t>();
    st_.kept_apps = j.at("kept_apps").get<std::set<std::string>>();
    st_.skipped = j.at("skipped").get<std::map<std::string, std::string>>();
  } catch (const std::exception&) {
    return absl::DataLossError("checkpoint is corrupt; remove the output directory and re-export");
  }
  if (st_.contributors_done > groups_.size()) {
    return absl::DataLossError("checkpoint does not match the scope");
  }
  resumed_ = true;
  return absl::OkStatus();
}

absl::Status Job::SaveCheckpoint() {
  ojson j;
  j["version"] = kCheckpointVersion;
  j["note"] = "sealtrace export checkpoint; holds the pseudonym key; deleted when the export ends";
  j["dataset_id"] = st_.dataset_id;
  j["scope_sha256"] = scope_sha_;
  j["options_sha256"] = options_sha_;
  j["pseudonym_key"] = Base64(st_.key);
  j["contributors_done"] = st_.contributors_done;
  j["current_episodes"] = st_.current_episodes;
  j["next_shard"] = st_.next_shard;
  j["shards"] = st_.shards;
  j["counts"] = ojson{{"contributors", st_.contributors},
                      {"episodes", st_.episodes},
                      {"steps", st_.steps},
                      {"episodes_dropped_cap", st_.episodes_dropped_cap},
                      {"steps_dropped_cap", st_.steps_dropped_cap},
                      {"frames", st_.frames},
                      {"frames_missing", st_.frames_missing},
                      {"steps_by_kind", MapJson(st_.kinds)}};
  j["dp_totals"] = MapJson(st_.dp_totals);
  j["dp_clipped"] = st_.dp_clipped;
  j["dp_included"] = st_.dp_included;
  j["dp_excluded"] = st_.dp_excluded;
  j["kept_apps"] = st_.kept_apps;
  j["skipped"] = st_.skipped;
  return WriteFileAtomic(env_, checkpoint_path_, Dump(j), 0600);
}

absl::Status Job::Authorised() {
  if (!authorised_) return absl::OkStatus();
  return authorised_();
}

void Job::Report(std::string_view phase) {
  if (!progress_) return;
  Progress p;
  p.phase = std::string(phase);
  p.segments_done = segments_done_;
  p.segments_total = 2 * event_segments_;
  p.events = events_ + scan_events_;
  p.episodes = st_.episodes;
  p.elapsed_us = env_->NowMonoMicros() - start_us_;
  progress_(p);
}

void Job::Skip(const SegmentInfo& s, const absl::Status& why) {
  failed_.insert(s.segment_id);
  st_.skipped.emplace(s.segment_id.Hex(),
                      absl::StrCat(absl::StatusCodeToString(why.code()), ": ", why.message()));
}

absl::StatusOr<OpenedSegment> Job::OpenChecked(const SegmentInfo& s) {
  absl::StatusOr<OpenedSegment> seg = provider_->Open(s);
  if (!seg.ok()) return seg.status();
  const SegmentHeader& h = seg->header;
  if (h.segment_id != s.segment_id || h.contributor_id != s.contributor_id ||
      h.device_id != s.device_id || h.sequence != s.sequence ||
      (h.flags & kFlagFramePayload) != 0) {
    return absl::DataLossError("segment header does not match the listed metadata");
  }
  ++segments_read_;
  return seg;
}

absl::Status Job::Pass1() {
  for (size_t ci = 0; ci < groups_.size(); ++ci) {
    for (const auto& stream : groups_[ci].streams) {
      for (const SegmentInfo* s : stream) {
        if (absl::Status a = Authorised(); !a.ok()) {
          stopped_ = true;
          stop_reason_ = std::string(a.message());
          return absl::OkStatus();
        }
        absl::StatusOr<OpenedSegment> seg = OpenChecked(*s);
        ++segments_done_;
        if (!seg.ok()) {
          // A refusal (grant expired mid-export) is a stop, not a bad segment.
          if (absl::Status a = Authorised(); !a.ok()) {
            stopped_ = true;
            stop_reason_ = std::string(a.message());
            return absl::OkStatus();
          }
          Skip(*s, seg.status());
          continue;
        }
        scan_events_ += seg->events.size();
        for (const v1::Event& e : seg->events) {
          if (!e.has_focus()) continue;
          const auto& f = e.focus();
          if (!f.app_class().empty()) {
            kanon_->Observe(pseudo_->ValueKey("app", f.app_class()), static_cast<uint32_t>(ci));
          }
          if (!f.title().empty()) {
            kanon_->Observe(pseudo_->ValueKey("title", f.title()), static_cast<uint32_t>(ci));
          }
        }
        Report("scan");
      }
    }
  }
  return absl::OkStatus();
}

std::string Job::Cell(const std::string& app_generalised, const std::string& raw_app,
                      const std::string& kind) const {
  std::string app;
  if (!opt_.dp_app_domain.empty()) {
    app = dp_domain_apps_.count(raw_app) ? raw_app : "[other]";
  } else {
    app = app_generalised.empty() ? "[none]" : app_generalised;
  }
  return app + kCellSep + kind;
}

absl::Status Job::WriteFrame(const std::string& frame_id, const std::string& image) {
  const std::string path = JoinPath(opt_.output_dir, image);
  if (env_->FileExists(path)) return absl::OkStatus();
  std::optional<Id16> id = Id16::FromBytes(frame_id);
  if (!id) return absl::InvalidArgumentError("frame id is not 16 bytes");
  absl::StatusOr<OpenedSegment> seg = provider_->OpenFrame(*id);
  if (!seg.ok()) return seg.status();
  if ((seg->header.flags & kFlagFramePayload) == 0 || seg->raw.empty()) {
    return absl::DataLossError("not a frame segment");
  }
  ++st_.frames;
  return WriteFileAtomic(env_, path, seg->raw, 0644);
}

absl::Status Job::WriteEpisode(const ExportEpisode& ep) {
  if (!agentnet_.is_open() && !c13_.is_open()) {
    if (opt_.write_agentnet) {
      if (auto s = agentnet_.Open(env_, opt_.output_dir, ShardName(st_.next_shard, "agentnet"));
          !s.ok()) {
        return s;
      }
    }
    if (opt_.write_computer13) {
      if (auto s = c13_.Open(env_, opt_.output_dir, ShardName(st_.next_shard, "computer13"));
          !s.ok()) {
        return s;
      }
    }
  }
  if (opt_.write_agentnet) {
    if (auto s = agentnet_.Append(AgentNetRecord(ep) + "\n"); !s.ok()) return s;
  }
  if (opt_.write_computer13) {
    if (auto s = c13_.Append(Computer13Record(ep) + "\n"); !s.ok()) return s;
  }
  ++shard_episodes_;
  shard_steps_ += ep.steps.size();
  ++st_.episodes;
  st_.steps += ep.steps.size();
  for (const ExportStep& s : ep.steps) ++st_.kinds[ActionKindName(s.action)];
  const uint64_t bytes = opt_.write_agentnet ? agentnet_.bytes() : c13_.bytes();
  if (bytes >= opt_.shard_max_bytes || shard_episodes_ >= opt_.shard_max_episodes) {
    return FinishShard();
  }
  return absl::OkStatus();
}

absl::Status Job::FinishShard() {
  for (ShardFile* f : {&agentnet_, &c13_}) {
    if (!f->is_open()) continue;
    const uint64_t bytes = f->bytes();
    absl::StatusOr<std::string> sha = f->Finish();
    if (!sha.ok()) return sha.status();
    st_.shards.push_back(ojson{{"file", f->name()},
                               {"format", f == &agentnet_ ? "agentnet" : "computer_13"},
                               {"sha256", *sha},
                               {"bytes", bytes},
                               {"episodes", shard_episodes_},
                               {"steps", shard_steps_}});
  }
  if (absl::Status s = env_->SyncDir(opt_.output_dir); !s.ok()) return s;
  ++st_.next_shard;
  shard_episodes_ = 0;
  shard_steps_ = 0;
  // Every episode emitted so far is in a finished shard now.
  st_.current_episodes = ordinal_;
  return SaveCheckpoint();
}

absl::Status Job::OnEpisode(Episode&& ep) {
  if (ep.steps.empty()) return absl::OkStatus();
  const uint64_t ordinal = ordinal_++;
  // DP counts see every action (before caps), bounded per contributor.
  if (dp_active_) {
    for (const Action& a : ep.steps) {
      if (a.type == ActionType::kWait) continue;
      hist_->Add(Cell(transformer_->App(a.ctx.app_class), a.ctx.app_class, ActionKindName(a)));
    }
  }
  if (contributor_steps_ + ep.steps.size() > opt_.transforms.max_steps_per_contributor) {
    if (ordinal >= skip_below_) {
      ++st_.episodes_dropped_cap;
      st_.steps_dropped_cap += ep.steps.size();
    }
    return absl::OkStatus();
  }
  contributor_steps_ += ep.steps.size();
  ++contributor_exported_;
  if (ordinal < skip_below_) return absl::OkStatus();  // written before the interruption

  ExportEpisode out = transformer_->Transform(ep, pseudonym_, ordinal);
  for (const ExportStep& s : out.steps) {
    const std::string& app = s.action.ctx.app_class;
    if (!app.empty() && app != kGeneralisedApp) st_.kept_apps.insert(app);
  }
  if (opt_.transforms.include_frames) {
    for (size_t i = 0; i < out.steps.size(); ++i) {
      if (out.steps[i].image.empty()) continue;
      absl::Status fs = WriteFrame(ep.steps[i].frame_id, out.steps[i].image);
      if (!fs.ok()) {
        if (absl::IsUnavailable(fs) || absl::IsInternal(fs)) return fs;
        ++st_.frames_missing;
        out.steps[i].image.clear();
      }
    }
  }
  return WriteEpisode(out);
}

absl::Status Job::ExportContributor(size_t ci, bool resuming) {
  const ContributorGroup& g = groups_[ci];
  pseudonym_ = pseudo_->Contributor(g.id);
  ordinal_ = 0;
  skip_below_ = resuming ? st_.current_episodes : 0;
  contributor_steps_ = 0;
  contributor_exported_ = 0;
  if (hist_) hist_->BeginContributor();

  for (const auto& stream : g.streams) {
    episode_status_ = absl::OkStatus();
    ActionReducer reducer(opt_.reducer, [this](Episode&& ep) {
      if (!episode_status_.ok()) return;
      episode_status_ = OnEpisode(std::move(ep));
    });
    std::optional<uint64_t> prev_seq;
    for (const SegmentInfo* s : stream) {
      if (absl::Status a = Authorised(); !a.ok()) {
        stopped_ = true;
        stop_reason_ = std::string(a.message());
        return absl::OkStatus();
      }
      if (prev_seq && s->sequence != *prev_seq + 1) reducer.Break("gap");
      prev_seq = s->sequence;
      if (failed_.count(s->segment_id)) {
        ++segments_done_;
        reducer.Break("gap");
        continue;
      }
      absl::StatusOr<OpenedSegment> seg = OpenChecked(*s);
      ++segments_done_;
      if (!seg.ok()) {
        // A refusal (grant expired mid-export) is a stop, not a bad segment:
        // nothing of this contributor's unfinished episodes is written.
        if (absl::Status a = Authorised(); !a.ok()) {
          stopped_ = true;
          stop_reason_ = std::string(a.message());
          return absl::OkStatus();
        }
        Skip(*s, seg.status());
        reducer.Break("gap");
        continue;
      }
      const uint64_t base = seg->header.start_mono_us;
      for (const v1::Event& e : seg->events) {
        reducer.OnEvent(e, base + e.t_us());
        if (!episode_status_.ok()) return episode_status_;
      }
      events_ += seg->events.size();
      Report("export");
    }
    reducer.Finish();
    if (!episode_status_.ok()) return episode_status_;
  }

  if (dp_active_) {
    absl::Status spend = ledger_->Spend(g.id.Hex(), st_.dataset_id, opt_.dp.epsilon);
    if (!spend.ok() && !absl::IsResourceExhausted(spend)) return spend;
    hist_->EndContributor(spend.ok());
    if (spend.ok()) {
      ++st_.dp_included;
    } else {
      ++st_.dp_excluded;
    }
    st_.dp_totals = hist_->totals();
    st_.dp_clipped = hist_->clipped();
  }
  if (contributor_exported_ > 0) ++st_.contributors;
  st_.contributors_done = ci + 1;
  st_.current_episodes = 0;
  ordinal_ = 0;
  return absl::OkStatus();
}

absl::Status Job::Pass2() {
  const uint64_t start = st_.contributors_done;
  // Segments of contributors finished before an interruption count as done.
  for (size_t ci = 0; ci < start; ++ci) {
    for (const auto& stream : groups_[ci].streams) segments_done_ += stream.size();
  }
  for (size_t ci = start; ci < groups_.size(); ++ci) {
    absl::Status s = ExportContributor(ci, resumed_ && ci == start);
    if (!s.ok() || stopped_) return s;
  }
  return absl::OkStatus();
}

// The DP statistics (stats_dp.json, written here) and their description
// for the card.
absl::StatusOr<ojson> Job::ReleaseDp() {
  ojson dp = ojson::object();
  ojson dp_cells = ojson::array();
  if (dp_active_) {
    std::vector<std::string> apps;
    if (!opt_.dp_app_domain.empty()) {
      apps.assign(dp_domain_apps_.begin(), dp_domain_apps_.end());
      apps.push_back("[other]");
    } else {
      apps.assign(st_.kept_apps.begin(), st_.kept_apps.end());
      apps.push_back(kGeneralisedApp);
      apps.push_back("[none]");
    }
    std::vector<std::string> domain;
    for (const auto& app : apps) {
      for (const auto& kind : AllActionKindNames()) {
        if (kind == "wait") continue;
        domain.push_back(app + kCellSep + kind);
      }
    }
    absl::StatusOr<std::map<std::string, int64_t>> noisy =
        ReleaseLaplace(st_.dp_totals, domain, opt_.dp, hist_->sensitivity(), *rng_);
    if (!noisy.ok()) return noisy.status();
    for (const auto& [cell, n] : *noisy) {
      const size_t sep = cell.find(kCellSep);
      dp_cells.push_back(ojson{
          {"app", cell.substr(0, sep)}, {"action", cell.substr(sep + 1)}, {"noisy_count", n}});
    }
    dp = ojson{
        {"enabled", true},
        {"mechanism", "discrete Laplace (Canonne, Kamath & Steinke 2020, Algorithm 2)"},
        {"guarantee", "pure epsilon-DP per contributor (user-level)"},
        {"epsilon", opt_.dp.epsilon.ToString()},
        {"per_cell_cap", opt_.dp.per_cell_cap},
        {"max_cells_per_contributor", opt_.dp.max_cells},
        {"l1_sensitivity", hist_->sensitivity()},
        {"noise_scale", absl::StrCat(hist_->sensitivity(), "/(", opt_.dp.epsilon.ToString(), ")")},
        {"app_domain", opt_.dp_app_domain.empty() ? "apps kept by k-anonymity (not DP)"
                                                  : "public list supplied by the operator"},
        {"contributors_included", st_.dp_included},
        {"contributors_excluded_budget", st_.dp_excluded},
        {"actions_dropped_by_bounding", st_.dp_clipped},
        {"release_id", st_.dataset_id}};
  } else {
    dp = ojson{{"enabled", false},
               {"reason", opt_.dp_enabled ? "no privacy-budget ledger available"
                                          : "disabled by the operator"},
               {"epsilon", "0"}};
  }
  if (dp_active_) {
    ojson stats{{"dataset_id", st_.dataset_id}, {"differential_privacy", dp}, {"cells", dp_cells}};
    if (absl::Status s =
            WriteFileAtomic(env_, JoinPath(opt_.output_dir, "stats_dp.json"), Dump(stats, 1), 0644);
        !s.ok()) {
      return s;
    }
  }

  return dp;
}

// What the card says was done to the data, with the parameters used.
ojson Job::TransformsJson() const {
  const ojson opts = OptionsJson(opt_, dp_active_);
  const bool keep_key = !opt_.keep_pseudonym_key_purpose.empty();
  ojson transforms = ojson::array();
  transforms.push_back(ojson{
      {"name", "Keyed contributor pseudonyms"},
      {"description",
       "Contributor ids are replaced by HMAC-SHA-256(dataset key, contributor id), truncated to "
       "96 bits. The 32-byte key is random for this dataset, so pseudonyms are unlinkable "
       "across datasets."},
      {"parameters",
       ojson{{"algorithm", "HMAC-SHA-256"},
             {"key", keep_key ? "kept by the vault for purpose: " + opt_.keep_pseudonym_key_purpose
                              : "destroyed after export"}}}});
  transforms.push_back(ojson{
      {"name", "Timing anonymisation"},
      {"description",
       "Times are relative to each episode's start; step times and wait durations are rounded "
       "to the quantum. Per-key timing (dwell and flight times) is never exported: a typed run "
       "is one step. Wall-clock times are not exported."},
      {"parameters", ojson{{"relative_to", "episode start"},
                           {"quantum_ms", opts["time_quantum_ms"]},
                           {"jitter_quanta", opts["jitter_quanta"]}}}});
  transforms.push_back(
      ojson{{"name", "k-anonymous window context"},
            {"description",
             "An application class or window title is kept only when at least k distinct "
             "contributors in scope used it (counted in a first pass over keyed hashes); otherwise "
             "it is written as [app] / [title]."},
            {"parameters", ojson{{"k", opt_.transforms.k_anonymity},
                                 {"generalised_app", kGeneralisedApp},
                                 {"generalised_title", kGeneralisedTitle},
                                 {"distinct_values_seen", kanon_->distinct_values()},
                                 {"values_kept", kanon_->kept_values()}}}});
  transforms.push_back(ojson{
      {"name", "Per-contributor caps"},
      {"description",
       "Whole episodes beyond a contributor's step cap are dropped, so no one person dominates "
       "the dataset."},
      {"parameters", ojson{{"max_steps_per_contributor", opt_.transforms.max_steps_per_contributor},
                           {"max_steps_per_episode", opt_.reducer.max_episode_steps}}}});
  transforms.push_back(ojson{
      {"name", "Identifiers never exported"},
      {"description",
       "Device ids, hostnames, segment ids, process ids, window ids and wall-clock anchors are "
       "not written. Typed text was redacted on the device before sealing; redactions appear "
       "as [REDACTED:<kind>]."},
      {"parameters", ojson{{"frames_included", opt_.transforms.include_frames}}}});

  return transforms;
}

// Segments that could not be read, under keyed ids (no vault id leaves).
ojson Job::SkippedJson() const {
  ojson skipped = ojson::array();
  for (const auto& [id, reason] : st_.skipped) {
    skipped.push_back(
        ojson{{"segment", "s_" + ToHex(HmacSha256(st_.key, "segment:" + id)).substr(0, 16)},
              {"reason", reason}});
  }
  return skipped;
}

absl::Status Job::Finish() {
  if (agentnet_.is_open() || c13_.is_open()) {
    if (absl::Status s = FinishShard(); !s.ok()) return s;
  } else {
    st_.current_episodes = 0;
    if (absl::Status s = SaveCheckpoint(); !s.ok()) return s;
  }
  const int64_t now = env_->NowWallMicros();
  absl::StatusOr<ojson> dp = ReleaseDp();
  if (!dp.ok()) return dp.status();
  ojson counts{{"contributors", st_.contributors},
               {"episodes", st_.episodes},
               {"steps", st_.steps},
               {"episodes_dropped_by_step_cap", st_.episodes_dropped_cap},
               {"steps_dropped_by_step_cap", st_.steps_dropped_cap},
               {"frames", st_.frames},
               {"frames_missing", st_.frames_missing},
               {"segments_in_scope", event_segments_},
               {"segments_skipped", st_.skipped.size()},
               {"shards", st_.next_shard},
               {"steps_by_kind", MapJson(st_.kinds)}};

  // Manifest.
  ojson manifest{{"dataset_id", st_.dataset_id},
                 {"created_utc", UtcDate(now)},
                 {"formats", ojson::array()},
                 {"shards", st_.shards},
                 {"counts", counts},
                 {"card", "card.md"},
                 {"card_json", "card.json"}};
  if (opt_.write_agentnet) manifest["formats"].push_back("agentnet");
  if (opt_.write_computer13) manifest["formats"].push_back("computer_13");
  if (dp_active_) manifest["stats_dp"] = "stats_dp.json";

  // Card.
  const bool keep_key = !opt_.keep_pseudonym_key_purpose.empty();
  const ojson transforms = TransformsJson();
  const ojson skipped = SkippedJson();
  ojson card{
      {"dataset_id", st_.dataset_id},
      {"created_utc", UtcDate(now)},
      {"grant_id", opt_.grant_id},
      {"purpose", opt_.purpose},
      {"status", "complete"},
      {"audit_checkpoint", opt_.audit_checkpoint},
      {"formats", manifest["formats"]},
      {"counts", counts},
      {"shards", st_.shards},
      {"transforms", transforms},
      {"differential_privacy", *dp},
      {"epsilon_spent_per_contributor", dp_active_ ? opt_.dp.epsilon.ToString() : "0"},
      {"reduction", ReducerJson(opt_.reducer)},
      {"skipped_segments", skipped},
      {"limits",
       ojson::array({"Typed text is included after on-device redaction; redaction is pattern-based "
                     "and can miss secrets it has no matcher for.",
                     "Screen frames, when included, are not redacted.",
                     "k-anonymity of titles protects against rare values, not against "
                     "combinations of common ones.",
                     "Exact counts in this card are derivable from the shards; only stats_dp.json "
                     "is differentially private."})}};
  const std::string card_json = Dump(card, 1);
  absl::StatusOr<std::string> card_md = CardMarkdown(card_json);
  if (!card_md.ok()) return card_md.status();
  for (const auto& [name, data] : {std::pair<std::string, std::string>{"card.json", card_json},
                                   std::pair<std::string, std::string>{"card.md", *card_md}}) {
    if (absl::Status s = WriteFileAtomic(env_, JoinPath(opt_.output_dir, name), data, 0644);
        !s.ok()) {
      return s;
    }
  }
  // The manifest last: its presence marks a finished export.
  if (absl::Status s = WriteFileAtomic(env_, JoinPath(opt_.output_dir, "manifest.json"),
                                       Dump(manifest, 1), 0644);
      !s.ok()) {
    return s;
  }
  if (keep_key) {
    if (absl::Status s =
            keeper_->Keep(st_.dataset_id, opt_.keep_pseudonym_key_purpose, pseudo_->key());
        !s.ok()) {
      return s;
    }
  }
  // Destroy the key: the checkpoint is its only copy on disk.
  if (absl::Status s = env_->RemoveFile(checkpoint_path_); !s.ok()) return s;
  return env_->SyncDir(opt_.output_dir);
}

absl::StatusOr<ExportResult> Job::Run() {
  start_us_ = env_->NowMonoMicros();
  if (absl::Status s = Validate(); !s.ok()) return s;
  if (absl::Status s = Authorised(); !s.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("export not authorised: ", s.message()));
  }
  if (absl::Status s = env_->CreateDirs(opt_.output_dir, 0755); !s.ok()) return s;
  if (opt_.transforms.include_frames) {
    if (absl::Status s = env_->CreateDirs(JoinPath(opt_.output_dir, "frames"), 0755); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = Plan(); !s.ok()) return s;
  if (absl::Status s = LoadOrCreateState(); !s.ok()) return s;
  // A new export checkpoints at once, so an interrupted run keeps its dataset id
  // (budget charges are idempotent per dataset id) and key.
  if (!resumed_) {
    if (absl::Status s = SaveCheckpoint(); !s.ok()) return s;
  }
  pseudo_ = std::make_unique<Pseudonymizer>(SecretKey(st_.key));
  kanon_ = std::make_unique<KAnonFilter>(opt_.transforms.k_anonymity);
  transformer_ =
      std::make_unique<EpisodeTransformer>(opt_.transforms, pseudo_.get(), kanon_.get(), rng_);
  if (dp_active_) {
    hist_ = std::make_unique<BoundedHistogram>(opt_.dp);
    hist_->set_totals(st_.dp_totals);
    hist_->set_clipped(st_.dp_clipped);
    dp_domain_apps_.insert(opt_.dp_app_domain.begin(), opt_.dp_app_domain.end());
  }

  ExportResult r;
  r.dataset_id = st_.dataset_id;
  r.resumed = resumed_;
  absl::Status s = Pass1();
  if (s.ok() && !stopped_) s = Pass2();
  if (s.ok() && !stopped_) s = Finish();
  if (!s.ok() || stopped_) {
    // Leave finished shards and the checkpoint; drop the unfinished shard.
    agentnet_.Abandon();
    c13_.Abandon();
    if (!s.ok()) return s;
  }
  r.completed = !stopped_;
  r.stop_reason = stop_reason_;
  r.contributors = st_.contributors;
  r.episodes = st_.episodes;
  r.steps = st_.steps;
  r.events = events_;
  r.segments_read = segments_read_;
  r.shards = st_.next_shard;
  r.frames = st_.frames;
  for (const auto& [id, reason] : st_.skipped) r.skipped.push_back({id, reason});
  r.epsilon_spent = dp_active_ ? opt_.dp.epsilon.ToString() : "";
  return r;
}

}  // namespace

Exporter::Exporter(Env* env, SegmentProvider* provider, ExportOptions options, BudgetLedger* ledger,
                   RandomSource* rng)
    : env_(env),
      provider_(provider),
      opt_(std::move(options)),
      ledger_(ledger),
      rng_(rng != nullptr ? rng : SodiumRandom::Get()) {}

absl::StatusOr<ExportResult> Exporter::Run() {
  Job job(env_, provider_, opt_, ledger_, rng_, progress_, authorised_, keeper_);
  return job.Run();
}

}  // namespace sealtrace::exporter
