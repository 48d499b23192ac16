#include "access/pg_access_store.h"

#include "access/store_rows.h"
#include "storage/pg/pg.h"

namespace sealtrace::access {
namespace {

using storage::PgConn;
using storage::PgParam;
using storage::PgPool;
using storage::PgResult;

const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE access_principals(
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  name TEXT NOT NULL,
  contributor_id TEXT UNIQUE,
  created_us BIGINT NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE access_tokens(
  id TEXT PRIMARY KEY,
  principal_id TEXT NOT NULL,
  token_sha256 BYTEA NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  created_us BIGINT NOT NULL,
  expires_us BIGINT NOT NULL,
  revoked_us BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE access_grants(
  seq BIGSERIAL,
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE access_proposals(
  seq BIGSERIAL,
  id TEXT PRIMARY KEY,
  status INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE access_devices(
  device_id TEXT PRIMARY KEY,
  contributor_id TEXT NOT NULL,
  enrolled_us BIGINT NOT NULL
);
CREATE TABLE access_settings(
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
);
)sql",
    // 2: passkeys, single-use codes, and how each token was obtained.
    R"sql(
ALTER TABLE access_tokens ADD COLUMN method TEXT NOT NULL DEFAULT 'token';
ALTER TABLE access_tokens ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE TABLE access_passkeys(
  seq BIGSERIAL,
  id BYTEA PRIMARY KEY,
  principal_id TEXT NOT NULL,
  sign_count BIGINT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX access_passkeys_principal ON access_passkeys(principal_id);
CREATE TABLE access_codes(
  code_sha256 BYTEA PRIMARY KEY,
  kind TEXT NOT NULL,
  expires_us BIGINT NOT NULL,
  used_us BIGINT NOT NULL DEFAULT 0,
  data TEXT NOT NULL
);
)sql",
};

constexpr char kPrincipalCols[] = "id, role, name, contributor_id, created_us, disabled";
constexpr char kTokenCols[] =
    "id, principal_id, token_sha256, scopes, created_us, expires_us, revoked_us, method, client";

Principal RowPrincipal(const PgResult& r, int i) {
  Principal p;
  p.id = r.Text(i, 0);
  p.name = r.Text(i, 2);
  p.contributor_id = r.IsNull(i, 3) ? std::string() : r.Text(i, 3);
  p.created_us = r.Int(i, 4);
  p.disabled = r.Text(i, 5) == "t";
  SetRoleFromRow(r.Text(i, 1), &p);
  return p;
}

TokenRecord RowToken(const PgResult& r, int i) {
  TokenRecord t;
  t.id = r.Text(i, 0);
  t.principal_id = r.Text(i, 1);
  t.token_sha256 = r.Bytes(i, 2);
  t.scopes = SplitScopes(r.Text(i, 3));
  t.created_us = r.Int(i, 4);
  t.expires_us = r.Int(i, 5);
  t.revoked_us = r.Int(i, 6);
  t.method = r.Text(i, 7);
  t.client = r.Text(i, 8);
  return t;
}

class PgAccessStore final : public AccessStore {
 public:
  explicit PgAccessStore(std::unique_ptr<PgPool> pool) : pool_(std::move(pool)) {}

  absl::Status CreatePrincipal(const Principal& p) override {
    PgParam contributor = p.contributor_id.empty() ? PgParam::Null()
                                                   : PgParam::Text(p.contributor_id);
    return Run("acc_create_principal",
               "INSERT INTO access_principals(id, role, name, contributor_id, created_us, "
               "disabled) VALUES($1,$2,$3,$4,$5,$6)",
               {PgParam::Text(p.id), PgParam::Text(std::string(RoleName(p.role))),
                PgParam::Text(p.name), contributor, PgParam::Int(p.created_us),
                PgParam::Text(p.disabled ? "true" : "false")})
        .status();
  }
  absl::StatusOr<std::optional<Principal>> GetPrincipal(const std::string& id) override {
    return OnePrincipal("acc_get_principal", "id", id);
  }
  absl::StatusOr<std::optional<Principal>> FindContributorPrincipal(
      const std::string& contributor_id) override {
    return OnePrincipal("acc_find_contributor", "contributor_id", contributor_id);
  }
  absl::StatusOr<std::vector<Principal>> ListPrincipals() override {
    auto r = Run("acc_list_principals",
                 "SELECT id, role, name, contributor_id, created_us, disabled FROM "
                 "access_principals ORDER BY created_us, id",
                 {});
    if (!r.ok()) return r.status();
    std::vector<Principal> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(RowPrincipal(*r, i));
    return out;
  }
  absl::Status SetPrincipalDisabled(const std::string& id, bool disabled) override {
    auto r = Run("acc_disable_principal", "UPDATE access_principals SET disabled = $1 WHERE id = $2",
                 {PgParam::Text(disabled ? "true" : "false"), PgParam::Text(id)});
    if (!r.ok()) return r.status();
    if (r->affected() == 0) return absl::NotFoundError("no principal " + id);
    return absl::OkStatus();
  }

  absl::Status PutToken(const TokenRecord& t) override {
    return Run("acc_put_token",
               "INSERT INTO access_tokens(id, principal_id, token_sha256, scopes, created_us, "
               "expires_us, revoked_us, method, client) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)",
               {PgParam::Text(t.id), PgParam::Text(t.principal_id), PgParam::Bytes(t.token_sha256),
                PgParam::Text(JoinScopes(t.scopes)), PgParam::Int(t.created_us),
                PgParam::Int(t.expires_us), PgParam::Int(t.revoked_us), PgParam::Text(t.method),
                PgParam::Text(t.client)})
        .status();
  }
  absl::StatusOr<std::optional<TokenRecord>> FindTokenByHash(const std::string& h) override {
    return OneToken("acc_token_by_hash", "token_sha256", PgParam::Bytes(h));
  }
  absl::StatusOr<std::optional<TokenRecord>> GetToken(const std::string& id) override {
    return OneToken("acc_token_by_id", "id", PgParam::Text(id));
  }
  absl::Status RevokeToken(const std::string& id, int64_t now) override {
    auto r = Run("acc_revoke_token",
                 "UPDATE access_tokens SET revoked_us = $1 WHERE id = $2 AND revoked_us = 0",
                 {PgParam::Int(now), PgParam::Text(id)});
    if (!r.ok()) return r.status();
    if (r->affected() == 0) {
      auto t = GetToken(id);
      if (!t.ok()) return t.status();
      if (!t->has_value()) return absl::NotFoundError("no token " + id);
    }
    return absl::OkStatus();
  }

  absl::Status CreateGrant(const Grant& g) override {
    return Run("acc_create_grant", "INSERT INTO access_grants(id, status, data) VALUES($1,$2,$3)",
               {PgParam::Text(g.id), PgParam::Text(std::string(GrantStatusName(g.status))),
                PgParam::Text(EncodeGrantRow(g))})
        .status();
  }
  absl::StatusOr<std::optional<Grant>> GetGrant(const std::string& id) override {
    auto r = Run("acc_get_grant", "SELECT data FROM access_grants WHERE id = $1",
                 {PgParam::Text(id)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<Grant>();
    auto g = DecodeGrantRow(r->Text(0, 0));
    if (!g.ok()) return g.status();
    return std::optional<Grant>(*std::move(g));
  }
  absl::StatusOr<std::vector<Grant>> ListGrants() override {
    auto r = Run("acc_list_grants", "SELECT data FROM access_grants ORDER BY seq", {});
    if (!r.ok()) return r.status();
    std::vector<Grant> out;
    for (int i = 0; i < r->rows(); ++i) {
      auto g = DecodeGrantRow(r->Text(i, 0));
      if (!g.ok()) return g.status();
      out.push_back(*std::move(g));
    }
    return out;
  }
  absl::Status UpdateGrantIf(const Grant& g, GrantStatus expected) override {
    auto r = Run("acc_update_grant",
                 "UPDATE access_grants SET status = $1, data = $2 WHERE id = $3 AND status = $4",
                 {PgParam::Text(std::string(GrantStatusName(g.status))),
                  PgParam::Text(EncodeGrantRow(g)), PgParam::Text(g.id),
                  PgParam::Text(std::string(GrantStatusName(expected)))});
    if (!r.ok()) return r.status();
    if (r->affected() == 0) {
      return absl::FailedPreconditionError("grant " + g.id + " is no longer " +
                                           std::string(GrantStatusName(expected)));
    }
    return absl::OkStatus();
  }

  absl::Status CreateProposal(const StateProposal& p) override {
    return Run("acc_create_proposal",
               "INSERT INTO access_proposals(id, status, data) VALUES($1,$2,$3)",
               {PgParam::Text(p.id), PgParam::Int(static_cast<int>(p.status)),
                PgParam::Text(EncodeProposalRow(p))})
        .status();
  }
  absl::StatusOr<std::optional<StateProposal>> GetProposal(const std::string& id) override {
    auto r = Run("acc_get_proposal", "SELECT data FROM access_proposals WHERE id = $1",
                 {PgParam::Text(id)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<StateProposal>();
    auto p = DecodeProposalRow(r->Text(0, 0));
    if (!p.ok()) return p.status();
    return std::optional<StateProposal>(*std::move(p));
  }
  absl::StatusOr<std::vector<StateProposal>> ListPendingProposals() override {
    auto r = Run("acc_list_pending_proposals",
                 "SELECT data FROM access_proposals WHERE status = $1 ORDER BY seq",
                 {PgParam::Int(static_cast<int>(ProposalStatus::kPending))});
    if (!r.ok()) return r.status();
    std::vector<StateProposal> out;
    for (int i = 0; i < r->rows(); ++i) {
      auto p = DecodeProposalRow(r->Text(i, 0));
      if (!p.ok()) return p.status();
      out.push_back(*std::move(p));
    }
    return out;
  }
  absl::Status UpdateProposalIfPending(const StateProposal& p) override {
    auto r = Run("acc_update_proposal",
                 "UPDATE access_proposals SET status = $1, data = $2 WHERE id = $3 AND status = $4",
                 {PgParam::Int(static_cast<int>(p.status)), PgParam::Text(EncodeProposalRow(p)),
                  PgParam::Text(p.id), PgParam::Int(static_cast<int>(ProposalStatus::kPending))});
    if (!r.ok()) return r.status();
    if (r->affected() == 0) {
      return absl::FailedPreconditionError("proposal " + p.id + " is no longer pending");
    }
    return absl::OkStatus();
  }

  absl::Status RecordDevice(const DeviceEntry& d) override {
    return Run("acc_record_device",
               "INSERT INTO access_devices(device_id, contributor_id, enrolled_us) "
               "VALUES($1,$2,$3) ON CONFLICT (device_id) DO NOTHING",
               {PgParam::Text(d.device_id), PgParam::Text(d.contributor_id),
                PgParam::Int(d.enrolled_us)})
        .status();
  }
  absl::StatusOr<std::vector<DeviceEntry>> ListDevices() override {
    auto r = Run("acc_list_devices",
                 "SELECT device_id, contributor_id, enrolled_us FROM access_devices "
                 "ORDER BY enrolled_us, device_id",
                 {});
    if (!r.ok()) return r.status();
    std::vector<DeviceEntry> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back({r->Text(i, 0), r->Text(i, 1), r->Int(i, 2)});
    return out;
  }

  absl::StatusOr<std::optional<std::string>> GetSetting(const std::string& key) override {
    auto r = Run("acc_get_setting", "SELECT v FROM access_settings WHERE k = $1",
                 {PgParam::Text(key)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r->Text(0, 0));
  }
  absl::Status PutSetting(const std::string& key, const std::string& value) override {
    return Run("acc_put_setting",
               "INSERT INTO access_settings(k, v) VALUES($1, $2) ON CONFLICT (k) DO UPDATE SET "
               "v = EXCLUDED.v",
               {PgParam::Text(key), PgParam::Text(value)})
        .status();
  }

  absl::Status PutPasskey(const PasskeyRecord& k) override {
    return Run("acc_put_passkey",
               "INSERT INTO access_passkeys(id, principal_id, sign_count, data) VALUES($1,$2,$3,$4)",
               {PgParam::Bytes(k.credential_id), PgParam::Text(k.principal_id),
                PgParam::Int(k.sign_count), PgParam::Text(EncodePasskeyRow(k))})
        .status();
  }
  absl::StatusOr<std::optional<PasskeyRecord>> GetPasskey(const std::string& id) override {
    auto r = Run("acc_get_passkey", "SELECT data FROM access_passkeys WHERE id = $1",
                 {PgParam::Bytes(id)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<PasskeyRecord>();
    auto k = DecodePasskeyRow(r->Text(0, 0));
    if (!k.ok()) return k.status();
    return std::optional<PasskeyRecord>(*std::move(k));
  }
  absl::StatusOr<std::vector<PasskeyRecord>> ListPasskeys(const std::string& principal) override {
    auto r = Run("acc_list_passkeys",
                 "SELECT data FROM access_passkeys WHERE principal_id = $1 ORDER BY seq",
                 {PgParam::Text(principal)});
    if (!r.ok()) return r.status();
    std::vector<PasskeyRecord> out;
    for (int i = 0; i < r->rows(); ++i) {
      auto k = DecodePasskeyRow(r->Text(i, 0));
      if (!k.ok()) return k.status();
      out.push_back(*std::move(k));
    }
    return out;
  }
  absl::Status UpdatePasskeyUse(const std::string& id, uint32_t expected, uint32_t count,
                                int64_t now) override {
    auto k = GetPasskey(id);
    if (!k.ok()) return k.status();
    if (!k->has_value()) return absl::NotFoundError("no such passkey");
    PasskeyRecord rec = **k;
    rec.sign_count = count;
    rec.last_used_us = now;
    auto r = Run("acc_use_passkey",
                 "UPDATE access_passkeys SET sign_count = $1, data = $2 WHERE id = $3 AND "
                 "sign_count = $4",
                 {PgParam::Int(count), PgParam::Text(EncodePasskeyRow(rec)), PgParam::Bytes(id),
                  PgParam::Int(expected)});
    if (!r.ok()) return r.status();
    if (r->affected() == 0) {
      return absl::FailedPreconditionError("passkey counter changed concurrently");
    }
    return absl::OkStatus();
  }

  absl::Status PutCode(const OneTimeCode& c) override {
    return Run("acc_put_code",
               "INSERT INTO access_codes(code_sha256, kind, expires_us, used_us, data) "
               "VALUES($1,$2,$3,$4,$5)",
               {PgParam::Bytes(c.code_sha256), PgParam::Text(c.kind), PgParam::Int(c.expires_us),
                PgParam::Int(c.used_us), PgParam::Text(EncodeCodeRow(c))})
        .status();
  }
  absl::StatusOr<std::optional<OneTimeCode>> GetCode(const std::string& h) override {
    auto r = Run("acc_get_code", "SELECT data, used_us FROM access_codes WHERE code_sha256 = $1",
                 {PgParam::Bytes(h)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<OneTimeCode>();
    auto c = DecodeCodeRow(r->Text(0, 0));
    if (!c.ok()) return c.status();
    c->code_sha256 = h;
    c->used_us = r->Int(0, 1);
    return std::optional<OneTimeCode>(*std::move(c));
  }
  absl::StatusOr<bool> UseCode(const std::string& h, std::string_view kind, int64_t now) override {
    auto r = Run("acc_use_code",
                 "UPDATE access_codes SET used_us = $1 WHERE code_sha256 = $2 AND kind = $3 AND "
                 "used_us = 0 AND expires_us > $1",
                 {PgParam::Int(now), PgParam::Bytes(h), PgParam::Text(std::string(kind))});
    if (!r.ok()) return r.status();
    return r->affected() == 1;
  }

 private:
  absl::StatusOr<PgResult> Run(const std::string& name, const char* sql,
                               const std::vector<PgParam>& params) {
    auto lease = pool_->Acquire();
    if (!lease.ok()) return lease.status();
    return (*lease)->Exec(name, sql, params);
  }
  absl::StatusOr<std::optional<Principal>> OnePrincipal(const std::string& name,
                                                        const std::string& column,
                                                        const std::string& v) {
    const std::string sql = std::string("SELECT ") + kPrincipalCols +
                            " FROM access_principals WHERE " + column + " = $1";
    auto r = Run(name, sql.c_str(), {PgParam::Text(v)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<Principal>();
    return std::optional<Principal>(RowPrincipal(*r, 0));
  }
  absl::StatusOr<std::optional<TokenRecord>> OneToken(const std::string& name,
                                                      const std::string& column, PgParam v) {
    const std::string sql =
        std::string("SELECT ") + kTokenCols + " FROM access_tokens WHERE " + column + " = $1";
    auto r = Run(name, sql.c_str(), {std::move(v)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(RowToken(*r, 0));
  }

  std::unique_ptr<PgPool> pool_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AccessStore>> OpenPgAccessStore(const std::string& conninfo,
                                                               int max_connections) {
  static_assert(kPgAccessSchemaVersion == 2);
  auto pool = PgPool::Open(conninfo, max_connections);
  if (!pool.ok()) return pool.status();
  if (auto s = (*pool)->Migrate("access", kMigrations); !s.ok()) return s;
  return std::unique_ptr<AccessStore>(new PgAccessStore(*std::move(pool)));
}

}  // namespace sealtrace::access
