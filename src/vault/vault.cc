#include "vault/vault.h"

#include "vault/contributor_pause.h"

#include "segment/format.h"
#include "vault/sqlite_metadata_store.h"

namespace sealtrace::vault {

Vault::~Vault() = default;

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
  std::string key_file =
      options.key_file.empty() ? JoinPath(v->data_dir_, "keys/master.key") : options.key_file;
  auto keys = KeyService::Open(env, v->store_.get(), key_file);
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

absl::StatusOr<DeviceState> Vault::GetDeviceState(std::string_view authorization) {
  auto dev = AuthenticateDevice(store_.get(), authorization);
  if (!dev.ok()) return dev.status();
  store_->TouchDevice(dev->id, env_->NowWallMicros()).IgnoreError();  // best effort
  auto state = store_->GetSetting(kSettingProgrammeState);
  if (!state.ok()) return state.status();
  DeviceState out;
  out.programme_state = state->value_or("ACTIVE");
  out.recording_allowed = out.programme_state == "ACTIVE";
  // The contributor's own pause (dashboard): fail closed if it cannot be read.
  auto paused = ContributorRecordingPaused(store_.get(), dev->contributor_id.Hex(),
                                           env_->NowWallMicros());
  if (!paused.ok()) return paused.status();
  out.contributor_paused = *paused;
  if (*paused) out.recording_allowed = false;
  return out;
}

absl::Status Vault::Health() { return store_->Ping(); }

}  // namespace sealtrace::vault
