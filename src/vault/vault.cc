#include "vault/vault.h"

#include "vault/contributor_pause.h"

#include "segment/format.h"
#include "vault/sqlite_metadata_store.h"

namespace sealtrace::vault {

Vault::~Vault() = default;

namespace {

// The master key backend for this data dir: <data>/hsm.conf if present (the
// options may repeat it and name the PIN file), else the options' HSM (then
// recorded in hsm.conf once it opens: *record), else the key file.
absl::StatusOr<MasterKeyConfig> ResolveMasterKeys(Env* env, const VaultOptions& o, bool* record) {
  MasterKeyConfig mk = o.master_keys;
  const std::string hsm_conf = JoinPath(o.data_dir, "hsm.conf");
  *record = false;
  if (env->FileExists(hsm_conf)) {
    auto text = env->ReadFile(hsm_conf);
    if (!text.ok()) return text.status();
    auto conf = ParseHsmConf(*text);
    if (!conf.ok()) return conf.status();
    if (!mk.hsm_module.empty() &&
        (mk.hsm_module != conf->hsm_module || mk.hsm_token != conf->hsm_token)) {
      return absl::FailedPreconditionError(
          "this vault's keys are in token \"" + conf->hsm_token + "\" (" + conf->hsm_module +
          "), as " + hsm_conf + " records; refusing --hsm-module/--hsm-token naming another");
    }
    if (mk.hsm_pin_file.empty()) mk.hsm_pin_file = conf->hsm_pin_file;
    mk.hsm_module = conf->hsm_module;
    mk.hsm_token = conf->hsm_token;
    return mk;
  }
  const std::string local_key = JoinPath(o.data_dir, "keys/master.key");
  if (!mk.hsm_module.empty()) {
    if (env->FileExists(local_key)) {
      return absl::FailedPreconditionError(
          "this vault's keys are in the key file " + local_key +
          "; moving an existing vault's keys into an HSM is not supported yet (set the HSM up "
          "on a new data directory: sealtrace server init --hsm-module ...)");
    }
    *record = true;
    return mk;
  }
  if (mk.key_file.empty()) mk.key_file = local_key;
  if (!o.allow_local_master_key) {
    std::string dir = o.data_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (mk.key_file.rfind(dir + "/", 0) == 0) {
      return absl::FailedPreconditionError(
          "the master key would be the file " + mk.key_file +
          " inside the data directory, where whoever copies the data (or a backup of it) also "
          "holds the key that opens it; keep it in an HSM (sealtrace server init --hsm-module, "
          "docs/DEPLOY.md \"Keys in an HSM\") or pass --allow-local-master-key");
    }
  }
  return mk;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Vault>> Vault::Open(const VaultOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("vault needs a data directory");
  InitCrypto();
  std::unique_ptr<Vault> v(new Vault());
  v->env_ = options.env ? options.env : Env::Default();
  v->data_dir_ = options.data_dir;
  v->max_segment_bytes_ = options.max_segment_bytes ? options.max_segment_bytes : kMaxSegmentBytes;
  Env* env = v->env_;
  if (!env->FileExists(v->data_dir_)) {
    if (auto s = env->CreateDirs(v->data_dir_, 0700); !s.ok()) return s;
    if (auto s = env->SyncDir(DirName(v->data_dir_)); !s.ok()) return s;
  }
  if (options.open_metadata) {
    auto store = options.open_metadata();
    if (!store.ok()) return store.status();
    v->store_ = std::move(*store);
  } else {
    // Create the database file 0600 ourselves: SQLite would use 0644, and gives its
    // -wal and -shm files the database file's mode.
    const std::string db_path = JoinPath(v->data_dir_, "meta.db");
    if (!env->FileExists(db_path)) {
      auto f = env->NewWritableFile(db_path, 0600);
      if (!f.ok()) return f.status();
      if (auto s = (*f)->Close(); !s.ok()) return s;
    }
    auto store = SqliteMetadataStore::Open(db_path);
    if (!store.ok()) return store.status();
    v->store_ = std::move(*store);
  }
  auto blobs = FsBlobStore::Open(env, JoinPath(v->data_dir_, "blobs"));
  if (!blobs.ok()) return blobs.status();
  v->blobs_ = std::move(*blobs);
  bool record_hsm = false;
  auto mk = ResolveMasterKeys(env, options, &record_hsm);
  if (!mk.ok()) return mk.status();
  // A store that already holds wrapped keys never gets a fresh master key.
  auto rows = v->store_->ListContributorKeys();
  if (!rows.ok()) return rows.status();
  mk->create_if_missing = rows->empty();
  auto master = OpenMasterKeys(env, *mk);
  if (!master.ok()) return master.status();
  // Recorded once the token has answered (a typo'd label is not remembered).
  if (record_hsm && !(*master)->Versions().empty()) {
    if (auto s = WriteFileAtomic(env, JoinPath(v->data_dir_, "hsm.conf"), EncodeHsmConf(*mk), 0600);
        !s.ok()) {
      return s;
    }
  }
  auto keys = KeyService::Open(env, v->store_.get(), *std::move(master));
  if (!keys.ok()) return keys.status();
  v->keys_ = std::move(*keys);
  v->enroll_secret_path_ = JoinPath(v->data_dir_, "enroll.secret");
  auto secret = LoadOrCreateSecretFile(env, v->enroll_secret_path_);
  if (!secret.ok()) return secret.status();
  IngestService::Options io;
  io.max_segment_bytes = v->max_segment_bytes_;
  v->ingest_ = std::make_unique<IngestService>(v->store_.get(), v->blobs_.get(), v->keys_.get(),
                                               env, &v->metrics_, io);
  v->enroll_ = std::make_unique<EnrollService>(v->store_.get(), v->keys_.get(), env, &v->metrics_,
                                               std::move(*secret));
  return v;
}

namespace {

constexpr char kSpoolSettingPrefix[] = "device_spool/";

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

std::optional<SpoolReport> ParseSpoolHeader(std::string_view h) {
  constexpr std::string_view kSeg = "segments=", kBytes = ";bytes=";
  if (h.substr(0, kSeg.size()) != kSeg) return std::nullopt;
  h.remove_prefix(kSeg.size());
  const size_t semi = h.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  auto segs = ParseDecimal(h.substr(0, semi));
  h.remove_prefix(semi);
  if (h.substr(0, kBytes.size()) != kBytes) return std::nullopt;
  auto bytes = ParseDecimal(h.substr(kBytes.size()));
  if (!segs || !bytes) return std::nullopt;
  SpoolReport r;
  r.segments = *segs;
  r.bytes = *bytes;
  return r;
}

absl::StatusOr<std::optional<SpoolReport>> Vault::GetSpoolReport(const Id16& device) {
  auto v = store_->GetSetting(kSpoolSettingPrefix + device.Hex());
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<SpoolReport>();
  // Stored as "segments=N;bytes=B;at=US".
  const std::string& text = **v;
  const size_t at = text.rfind(";at=");
  if (at == std::string::npos) return std::optional<SpoolReport>();
  auto r = ParseSpoolHeader(std::string_view(text).substr(0, at));
  auto when = ParseDecimal(std::string_view(text).substr(at + 4));
  if (!r || !when) return std::optional<SpoolReport>();
  r->reported_us = static_cast<int64_t>(*when);
  return r;
}

absl::StatusOr<DeviceState> Vault::GetDeviceState(std::string_view authorization,
                                                  const std::optional<SpoolReport>& spool) {
  auto dev = AuthenticateDevice(store_.get(), authorization);
  if (!dev.ok()) return dev.status();
  const int64_t now = env_->NowWallMicros();
  store_->TouchDevice(dev->id, now).IgnoreError();  // best effort
  if (spool) {
    const std::string key = dev->id.Hex();
    bool write = false;
    {
      std::lock_guard<std::mutex> l(spool_mu_);
      auto it = spool_written_.find(key);
      write = it == spool_written_.end() || it->second.segments != spool->segments ||
              it->second.bytes != spool->bytes || now - it->second.reported_us >= 60'000'000;
    }
    if (write) {
      const std::string value = "segments=" + std::to_string(spool->segments) +
                                ";bytes=" + std::to_string(spool->bytes) +
                                ";at=" + std::to_string(now);
      if (store_->PutSetting(kSpoolSettingPrefix + key, value).ok()) {  // best effort
        SpoolReport stored = *spool;
        stored.reported_us = now;
        std::lock_guard<std::mutex> l(spool_mu_);
        spool_written_[key] = stored;
      }
    }
  }
  return ReadDeviceState(store_.get(), dev->contributor_id, env_->NowWallMicros());
}

absl::StatusOr<DeviceState> ReadDeviceState(MetadataStore* store, const Id16& contributor,
                                            int64_t now_wall_us) {
  auto state = store->GetSetting(kSettingProgrammeState);
  if (!state.ok()) return state.status();
  DeviceState out;
  out.programme_state = state->value_or("ACTIVE");
  out.recording_allowed = out.programme_state == "ACTIVE";
  // The contributor's own pause (dashboard): fail closed if it cannot be read.
  auto paused = ContributorRecordingPaused(store, contributor.Hex(), now_wall_us);
  if (!paused.ok()) return paused.status();
  out.contributor_paused = *paused;
  if (*paused) out.recording_allowed = false;
  auto title = store->GetSetting(kSettingTitlePolicy);
  if (!title.ok()) return title.status();
  out.title_policy = TitlePolicyFromSetting(*title);
  return out;
}

int TitlePolicyRank(std::string_view name) {
  if (name == "full") return 0;
  if (name == "app-and-domain") return 1;
  if (name == "app-only") return 2;
  return -1;
}

std::string TitlePolicyFromSetting(const std::optional<std::string>& stored) {
  if (!stored.has_value() || stored->empty()) return "full";
  return TitlePolicyRank(*stored) >= 0 ? *stored : "app-only";
}

absl::Status Vault::Health() { return store_->Ping(); }

absl::Status Vault::KeysHealth() { return keys_->CheckKeys(); }

}  // namespace sealtrace::vault
