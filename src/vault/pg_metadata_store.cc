#include "vault/pg_metadata_store.h"

#include <utility>
#include <vector>

#include "storage/pg/pg.h"

namespace sealtrace::vault {
namespace {

using storage::PgConn;
using storage::PgParam;
using storage::PgResult;

// Migrations: index i brings the "metadata" component from version i to i+1.
// Append only: never edit one that has shipped.
const std::vector<const char*> kMigrations = {
    // v1: initial schema (mirrors the SQLite v1 schema).
    R"sql(
CREATE TABLE contributors(
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  public_key BYTEA NOT NULL,
  created_us BIGINT NOT NULL
);
CREATE TABLE contributor_keys(
  contributor_id TEXT COLLATE "C" NOT NULL,
  key_version BIGINT NOT NULL,
  master_key_version BIGINT NOT NULL,
  public_key BYTEA NOT NULL,
  wrapped_secret_key BYTEA NOT NULL,
  created_us BIGINT NOT NULL,
  destroyed BOOLEAN NOT NULL DEFAULT false,
  destroyed_us BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY(contributor_id, key_version)
);
CREATE TABLE devices(
  id TEXT COLLATE "C" PRIMARY KEY,
  contributor_id TEXT COLLATE "C" NOT NULL REFERENCES contributors(id),
  token_sha256 BYTEA NOT NULL UNIQUE,
  created_us BIGINT NOT NULL,
  last_seen_us BIGINT NOT NULL DEFAULT 0,
  last_upload_us BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_by_contributor ON devices(contributor_id);
CREATE TABLE segments(
  segment_id TEXT COLLATE "C" PRIMARY KEY,
  contributor_id TEXT COLLATE "C" NOT NULL,
  device_id TEXT COLLATE "C" NOT NULL,
  sequence BIGINT NOT NULL,            -- u64 stored as its two's-complement i64
  wall_anchor_us BIGINT NOT NULL,
  duration_us BIGINT NOT NULL,
  event_count BIGINT NOT NULL,
  size BIGINT NOT NULL,
  blob_sha256 TEXT COLLATE "C" NOT NULL,
  flags BIGINT NOT NULL,
  received_us BIGINT NOT NULL
);
CREATE INDEX segments_by_contributor ON segments(contributor_id, device_id, sequence);
CREATE INDEX segments_by_blob ON segments(blob_sha256);
CREATE TABLE settings(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO settings(key, value) VALUES('programme_state', 'ACTIVE');
)sql",
    // v2: devices a contributor revoked.
    R"sql(
ALTER TABLE devices ADD COLUMN revoked_us BIGINT NOT NULL DEFAULT 0;
)sql",
    // v3: segments keep only a coarse time range (whole UTC hours) and the
    // ingest time floored to the hour (mirrors SQLite v3). The old columns are
    // zeroed before they are dropped, so live row versions no longer hold the
    // exact values; superseded versions go with the next (auto)vacuum
    // (docs/DEPLOY.md: VACUUM FULL segments removes them at once). The hours
    // are computed in numeric and clamped to whole hours inside BIGINT, so a
    // row with an absurd anchor or duration (a v1 header is the device's
    // word) cannot overflow and stop the vault from starting.
    R"sql(
ALTER TABLE segments ADD COLUMN wall_start_us BIGINT;
ALTER TABLE segments ADD COLUMN wall_end_us BIGINT;
UPDATE segments SET
  wall_start_us = LEAST(GREATEST(floor(wall_anchor_us::numeric / 3600000000) * 3600000000,
                                 -9223372036800000000), 9223372036800000000)::bigint,
  wall_end_us = LEAST(GREATEST(floor((wall_anchor_us::numeric + duration_us) / 3600000000) * 3600000000
                                 + 3600000000, -9223372036800000000), 9223372036800000000)::bigint,
  received_us = LEAST(GREATEST(floor(received_us::numeric / 3600000000) * 3600000000,
                               -9223372036800000000), 9223372036800000000)::bigint,
  wall_anchor_us = 0, duration_us = 0, event_count = 0;
ALTER TABLE segments ALTER COLUMN wall_start_us SET NOT NULL;
ALTER TABLE segments ALTER COLUMN wall_end_us SET NOT NULL;
ALTER TABLE segments DROP COLUMN wall_anchor_us;
ALTER TABLE segments DROP COLUMN duration_us;
ALTER TABLE segments DROP COLUMN event_count;
)sql",
};

constexpr char kComponent[] = "metadata";
constexpr char kSegmentCols[] =
    "segment_id, contributor_id, device_id, sequence, wall_start_us, wall_end_us, size, "
    "blob_sha256, flags, received_us";
constexpr char kDeviceCols[] =
    "id, contributor_id, token_sha256, created_us, last_seen_us, last_upload_us, revoked_us";

Id16 IdOf(const std::string& hex) {
  auto id = Id16::FromHex(hex);
  return id ? *id : Id16{};
}

ContributorRecord ReadContributor(const PgResult& r, int i) {
  ContributorRecord c;
  c.id = IdOf(r.Text(i, 0));
  c.name = r.Text(i, 1);
  c.public_key = r.Bytes(i, 2);
  c.created_us = r.Int(i, 3);
  return c;
}

DeviceRecord ReadDevice(const PgResult& r, int i) {
  DeviceRecord d;
  d.id = IdOf(r.Text(i, 0));
  d.contributor_id = IdOf(r.Text(i, 1));
  d.token_sha256 = r.Bytes(i, 2);
  d.created_us = r.Int(i, 3);
  d.last_seen_us = r.Int(i, 4);
  d.last_upload_us = r.Int(i, 5);
  d.revoked_us = r.Int(i, 6);
  return d;
}

SegmentRecord ReadSegment(const PgResult& r, int i) {
  SegmentRecord s;
  s.segment_id = IdOf(r.Text(i, 0));
  s.contributor_id = IdOf(r.Text(i, 1));
  s.device_id = IdOf(r.Text(i, 2));
  s.sequence = static_cast<uint64_t>(r.Int(i, 3));
  s.wall_start_us = r.Int(i, 4);
  s.wall_end_us = r.Int(i, 5);
  s.size = static_cast<uint64_t>(r.Int(i, 6));
  s.blob_sha256 = r.Text(i, 7);
  s.flags = static_cast<uint32_t>(r.Int(i, 8));
  s.received_us = r.Int(i, 9);
  return s;
}

// One statement on a pooled connection (autocommit).
absl::StatusOr<PgResult> Run(storage::PgPool* pool, const std::string& name, const std::string& sql,
                             const std::vector<PgParam>& params) {
  auto lease = pool->Acquire();
  if (!lease.ok()) return lease.status();
  return (*lease)->Exec(name, sql.c_str(), params);
}

}  // namespace

PgMetadataStore::PgMetadataStore(std::unique_ptr<storage::PgPool> pool) : pool_(std::move(pool)) {}
PgMetadataStore::~PgMetadataStore() = default;

absl::StatusOr<std::unique_ptr<PgMetadataStore>> PgMetadataStore::Open(const Options& options) {
  static_assert(kSchemaVersion == 3);
  auto pool = storage::PgPool::Open(options.conninfo, options.max_connections);
  if (!pool.ok()) return pool.status();
  if (auto s = (*pool)->Migrate(kComponent, kMigrations); !s.ok()) return s;
  return std::unique_ptr<PgMetadataStore>(new PgMetadataStore(std::move(*pool)));
}

absl::StatusOr<int> PgMetadataStore::SchemaVersion() { return pool_->SchemaVersion(kComponent); }

absl::Status PgMetadataStore::Ping() {
  return Run(pool_.get(), "ping", "SELECT 1 FROM settings LIMIT 1", {}).status();
}

absl::Status PgMetadataStore::CreateContributor(const ContributorRecord& c) {
  return Run(pool_.get(), "create_contributor",
             "INSERT INTO contributors(id, name, public_key, created_us) VALUES($1,$2,$3,$4)",
             {PgParam::Text(c.id.Hex()), PgParam::Text(c.name), PgParam::Bytes(c.public_key),
              PgParam::Int(c.created_us)})
      .status();
}

absl::StatusOr<std::optional<ContributorRecord>> PgMetadataStore::GetContributor(const Id16& id) {
  auto r = Run(pool_.get(), "get_contributor",
               "SELECT id, name, public_key, created_us FROM contributors WHERE id=$1",
               {PgParam::Text(id.Hex())});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<ContributorRecord>();
  return std::optional<ContributorRecord>(ReadContributor(*r, 0));
}

absl::StatusOr<std::optional<ContributorRecord>> PgMetadataStore::FindContributorByName(
    const std::string& name) {
  auto r = Run(pool_.get(), "find_contributor",
               "SELECT id, name, public_key, created_us FROM contributors WHERE name=$1",
               {PgParam::Text(name)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<ContributorRecord>();
  return std::optional<ContributorRecord>(ReadContributor(*r, 0));
}

absl::Status PgMetadataStore::PutContributorKey(const ContributorKeyRecord& k) {
  return Run(pool_.get(), "put_key",
             "INSERT INTO contributor_keys(contributor_id, key_version, master_key_version, "
             "public_key, wrapped_secret_key, created_us, destroyed) "
             "VALUES($1,$2,$3,$4,$5,$6,$7)",
             {PgParam::Text(k.contributor_id.Hex()), PgParam::Int(k.key_version),
              PgParam::Int(k.master_key_version), PgParam::Bytes(k.public_key),
              PgParam::Bytes(k.wrapped_secret_key), PgParam::Int(k.created_us),
              PgParam::Text(k.destroyed ? "true" : "false")})
      .status();
}

absl::StatusOr<std::optional<ContributorKeyRecord>> PgMetadataStore::GetLatestContributorKey(
    const Id16& contributor_id) {
  auto r = Run(pool_.get(), "latest_key",
               "SELECT key_version, master_key_version, public_key, wrapped_secret_key, "
               "created_us, destroyed FROM contributor_keys WHERE contributor_id=$1 "
               "ORDER BY key_version DESC LIMIT 1",
               {PgParam::Text(contributor_id.Hex())});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<ContributorKeyRecord>();
  ContributorKeyRecord k;
  k.contributor_id = contributor_id;
  k.key_version = static_cast<uint32_t>(r->Int(0, 0));
  k.master_key_version = static_cast<uint32_t>(r->Int(0, 1));
  k.public_key = r->Bytes(0, 2);
  k.wrapped_secret_key = r->Bytes(0, 3);
  k.created_us = r->Int(0, 4);
  k.destroyed = r->Text(0, 5) == "t";
  return std::optional<ContributorKeyRecord>(std::move(k));
}

absl::StatusOr<int> PgMetadataStore::DestroyContributorKeys(const Id16& contributor_id,
                                                            int64_t now_us) {
  int live = 0;
  absl::Status s = pool_->InTransaction([&](PgConn* c) -> absl::Status {
    auto zero = c->Exec("zero_keys",
                        "UPDATE contributor_keys SET wrapped_secret_key="
                        "decode(repeat('00', length(wrapped_secret_key)), 'hex') "
                        "WHERE contributor_id=$1 AND NOT destroyed",
                        {PgParam::Text(contributor_id.Hex())});
    if (!zero.ok()) return zero.status();
    live = static_cast<int>(zero->affected());
    auto st = c->Exec("destroy_keys",
                      "UPDATE contributor_keys SET wrapped_secret_key='\\x'::bytea, "
                      "destroyed=true, destroyed_us=$1 WHERE contributor_id=$2 AND NOT destroyed",
                      {PgParam::Int(now_us), PgParam::Text(contributor_id.Hex())});
    return st.status();
  });
  if (!s.ok()) return s;
  // Reclaim the dead row versions that still hold the wrapped bytes (best effort;
  // VACUUM cannot run inside a transaction block, so it runs on its own).
  if (auto lease = pool_->Acquire(); lease.ok()) {
    (*lease)->ExecSimple("VACUUM contributor_keys", "vacuum").IgnoreError();
  }
  return live;
}

absl::StatusOr<std::vector<ContributorKeyRecord>> PgMetadataStore::ListContributorKeys() {
  auto r = Run(pool_.get(), "list_keys",
               "SELECT contributor_id, key_version, master_key_version, public_key, "
               "wrapped_secret_key, created_us FROM contributor_keys WHERE NOT destroyed "
               "ORDER BY contributor_id, key_version",
               {});
  if (!r.ok()) return r.status();
  std::vector<ContributorKeyRecord> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    ContributorKeyRecord k;
    k.contributor_id = IdOf(r->Text(i, 0));
    k.key_version = static_cast<uint32_t>(r->Int(i, 1));
    k.master_key_version = static_cast<uint32_t>(r->Int(i, 2));
    k.public_key = r->Bytes(i, 3);
    k.wrapped_secret_key = r->Bytes(i, 4);
    k.created_us = r->Int(i, 5);
    out.push_back(std::move(k));
  }
  return out;
}

absl::StatusOr<bool> PgMetadataStore::UpdateWrappedKey(const Id16& contributor_id,
                                                       uint32_t key_version,
                                                       uint32_t from_master_version,
                                                       uint32_t master_key_version,
                                                       const std::string& wrapped_secret_key) {
  auto r = Run(pool_.get(), "rewrap_key",
               "UPDATE contributor_keys SET master_key_version=$1, wrapped_secret_key=$2 "
               "WHERE contributor_id=$3 AND key_version=$4 AND master_key_version=$5 "
               "AND NOT destroyed",
               {PgParam::Int(master_key_version), PgParam::Bytes(wrapped_secret_key),
                PgParam::Text(contributor_id.Hex()), PgParam::Int(key_version),
                PgParam::Int(from_master_version)});
  if (!r.ok()) return r.status();
  return r->affected() > 0;
}

absl::Status PgMetadataStore::CreateDevice(const DeviceRecord& d) {
  return Run(pool_.get(), "create_device",
             "INSERT INTO devices(id, contributor_id, token_sha256, created_us, last_seen_us, "
             "last_upload_us) VALUES($1,$2,$3,$4,$5,$6)",
             {PgParam::Text(d.id.Hex()), PgParam::Text(d.contributor_id.Hex()),
              PgParam::Bytes(d.token_sha256), PgParam::Int(d.created_us),
              PgParam::Int(d.last_seen_us), PgParam::Int(d.last_upload_us)})
      .status();
}

absl::StatusOr<std::optional<DeviceRecord>> PgMetadataStore::GetDevice(const Id16& id) {
  auto r = Run(pool_.get(), "get_device",
               std::string("SELECT ") + kDeviceCols + " FROM devices WHERE id=$1",
               {PgParam::Text(id.Hex())});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<DeviceRecord>();
  return std::optional<DeviceRecord>(ReadDevice(*r, 0));
}

absl::StatusOr<std::optional<DeviceRecord>> PgMetadataStore::FindDeviceByTokenHash(
    const std::string& token_sha256) {
  auto r = Run(pool_.get(), "find_device",
               std::string("SELECT ") + kDeviceCols + " FROM devices WHERE token_sha256=$1",
               {PgParam::Bytes(token_sha256)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<DeviceRecord>();
  return std::optional<DeviceRecord>(ReadDevice(*r, 0));
}

absl::Status PgMetadataStore::RevokeDevice(const Id16& id, int64_t now_us) {
  auto r = Run(pool_.get(), "revoke_device",
               "UPDATE devices SET revoked_us=$1 WHERE id=$2 AND revoked_us=0",
               {PgParam::Int(now_us), PgParam::Text(id.Hex())});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) {
    auto d = GetDevice(id);
    if (!d.ok()) return d.status();
    if (!d->has_value()) return absl::NotFoundError("no device " + id.Hex());
  }
  return absl::OkStatus();
}

absl::Status PgMetadataStore::DeleteEnrolment(const Id16& device_id, const Id16& contributor_id,
                                              bool new_contributor) {
  return pool_->InTransaction([&](PgConn* c) -> absl::Status {
    auto used = c->Exec("enrol_used",
                        "SELECT 1 FROM segments WHERE device_id=$1 OR ($2 AND contributor_id=$3) "
                        "LIMIT 1",
                        {PgParam::Text(device_id.Hex()), PgParam::Text(new_contributor ? "t" : "f"),
                         PgParam::Text(contributor_id.Hex())});
    if (!used.ok()) return used.status();
    if (used->rows() > 0) return absl::FailedPreconditionError("the enrolment already has segments");
    auto dev = c->Exec("enrol_del_device", "DELETE FROM devices WHERE id=$1",
                       {PgParam::Text(device_id.Hex())});
    if (!dev.ok()) return dev.status();
    if (!new_contributor) return absl::OkStatus();
    auto keys = c->Exec("enrol_del_keys", "DELETE FROM contributor_keys WHERE contributor_id=$1",
                        {PgParam::Text(contributor_id.Hex())});
    if (!keys.ok()) return keys.status();
    return c->Exec("enrol_del_contributor", "DELETE FROM contributors WHERE id=$1",
                   {PgParam::Text(contributor_id.Hex())})
        .status();
  });
}

absl::Status PgMetadataStore::TouchDevice(const Id16& id, int64_t last_seen_us) {
  return Run(pool_.get(), "touch_device",
             "UPDATE devices SET last_seen_us=greatest(last_seen_us, $1) WHERE id=$2",
             {PgParam::Int(last_seen_us), PgParam::Text(id.Hex())})
      .status();
}

absl::StatusOr<InsertSegmentResult> PgMetadataStore::InsertSegment(const SegmentRecord& s) {
  InsertSegmentResult result = InsertSegmentResult::kInserted;
  absl::Status st = pool_->InTransaction([&](PgConn* c) -> absl::Status {
    // ON CONFLICT DO NOTHING waits for a concurrent insert of the same id to
    // commit or abort, so exactly one caller sees kInserted.
    auto ins = c->Exec(
        "insert_segment",
        "INSERT INTO segments(segment_id, contributor_id, device_id, sequence, wall_start_us, "
        "wall_end_us, size, blob_sha256, flags, received_us) "
        "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT(segment_id) DO NOTHING",
        {PgParam::Text(s.segment_id.Hex()), PgParam::Text(s.contributor_id.Hex()),
         PgParam::Text(s.device_id.Hex()), PgParam::Int(static_cast<int64_t>(s.sequence)),
         PgParam::Int(s.wall_start_us), PgParam::Int(s.wall_end_us),
         PgParam::Int(static_cast<int64_t>(s.size)),
         PgParam::Text(s.blob_sha256), PgParam::Int(s.flags), PgParam::Int(s.received_us)});
    if (!ins.ok()) return ins.status();
    if (ins->affected() == 0) {
      result = InsertSegmentResult::kExists;
      return absl::OkStatus();
    }
    return c
        ->Exec("segment_device",
               "UPDATE devices SET last_seen_us=greatest(last_seen_us, $1), "
               "last_upload_us=greatest(last_upload_us, $1) WHERE id=$2",
               {PgParam::Int(s.received_us), PgParam::Text(s.device_id.Hex())})
        .status();
  });
  if (!st.ok()) return st;
  return result;
}

absl::StatusOr<std::optional<SegmentRecord>> PgMetadataStore::GetSegment(const Id16& segment_id) {
  auto r = Run(pool_.get(), "get_segment",
               std::string("SELECT ") + kSegmentCols + " FROM segments WHERE segment_id=$1",
               {PgParam::Text(segment_id.Hex())});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<SegmentRecord>();
  return std::optional<SegmentRecord>(ReadSegment(*r, 0));
}

absl::StatusOr<std::vector<SegmentRecord>> PgMetadataStore::ListSegments(const Id16& contributor_id,
                                                                         int limit) {
  auto r = Run(pool_.get(), "list_segments",
               std::string("SELECT ") + kSegmentCols +
                   " FROM segments WHERE contributor_id=$1 ORDER BY device_id, sequence LIMIT $2",
               {PgParam::Text(contributor_id.Hex()), PgParam::Int(limit < 0 ? 0 : limit)});
  if (!r.ok()) return r.status();
  std::vector<SegmentRecord> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(ReadSegment(*r, i));
  return out;
}

absl::Status PgMetadataStore::DeleteSegment(const Id16& segment_id) {
  return Run(pool_.get(), "delete_segment", "DELETE FROM segments WHERE segment_id=$1",
             {PgParam::Text(segment_id.Hex())})
      .status();
}

absl::StatusOr<bool> PgMetadataStore::BlobReferenced(const std::string& blob_sha256) {
  auto r = Run(pool_.get(), "blob_referenced",
               "SELECT 1 FROM segments WHERE blob_sha256=$1 LIMIT 1", {PgParam::Text(blob_sha256)});
  if (!r.ok()) return r.status();
  return r->rows() > 0;
}

absl::StatusOr<StoreCounts> PgMetadataStore::Counts() {
  auto r = Run(pool_.get(), "counts",
               "SELECT (SELECT count(*) FROM contributors), (SELECT count(*) FROM devices), "
               "(SELECT count(*) FROM segments), (SELECT coalesce(sum(size),0) FROM segments)",
               {});
  if (!r.ok()) return r.status();
  StoreCounts c;
  c.contributors = r->Int(0, 0);
  c.devices = r->Int(0, 1);
  c.segments = r->Int(0, 2);
  c.segment_bytes = r->Int(0, 3);
  return c;
}

absl::StatusOr<std::optional<std::string>> PgMetadataStore::GetSetting(const std::string& key) {
  auto r = Run(pool_.get(), "get_setting", "SELECT value FROM settings WHERE key=$1",
               {PgParam::Text(key)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r->Text(0, 0));
}

absl::Status PgMetadataStore::PutSetting(const std::string& key, const std::string& value) {
  return Run(pool_.get(), "put_setting",
             "INSERT INTO settings(key, value) VALUES($1,$2) "
             "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
             {PgParam::Text(key), PgParam::Text(value)})
      .status();
}

}  // namespace sealtrace::vault
