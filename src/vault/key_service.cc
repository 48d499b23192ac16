#include "vault/key_service.h"

#include <sodium.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "common/bytes.h"

namespace sealtrace::vault {
namespace {

constexpr std::string_view kBoundTag = "B1";  // prefix of a bound row's inner value

std::string WrapAd(const Id16& contributor, uint32_t key_version, uint32_t master_version) {
  std::string ad = "sealtrace-contributor-key";
  ad.append(contributor.Bytes());
  PutU32(&ad, key_version);
  PutU32(&ad, master_version);
  return ad;
}

std::string BindAd(const Id16& contributor, uint32_t key_version) {
  std::string ad = "sealtrace-contributor-binding";
  ad.append(contributor.Bytes());
  PutU32(&ad, key_version);
  return ad;
}

uint32_t Current(const std::vector<uint32_t>& versions) {
  return versions.empty() ? 0 : versions.back();
}

bool Holds(const std::vector<uint32_t>& versions, uint32_t v) {
  return std::find(versions.begin(), versions.end(), v) != versions.end();
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyService>> KeyService::Open(Env* env, MetadataStore* store,
                                                             const std::string& key_file) {
  auto keys = OpenFileMasterKeys(env, key_file);
  if (!keys.ok()) return keys.status();
  return Open(env, store, *std::move(keys));
}

absl::StatusOr<std::unique_ptr<KeyService>> KeyService::Open(Env* env, MetadataStore* store,
                                                             std::unique_ptr<MasterKeys> keys) {
  InitCrypto();
  if (keys == nullptr) return absl::InvalidArgumentError("key service: no master key backend");
  // An HSM that was absent at start holds no version yet: the service starts
  // (ingest needs no private key) and loads them once the token answers.
  return std::unique_ptr<KeyService>(new KeyService(env, store, std::move(keys)));
}

uint32_t KeyService::current_master_key_version() const { return Current(keys_->Versions()); }

std::vector<uint32_t> KeyService::master_key_versions() const { return keys_->Versions(); }

absl::Status KeyService::CheckKeys() { return keys_->Check(); }

std::string KeyService::DescribeKeys() const { return keys_->Describe(); }

absl::Status KeyService::EnsureVersions() {
  if (!keys_->Versions().empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> admin(admin_mu_);
  std::unique_lock<std::shared_mutex> w(wrap_mu_);
  if (auto s = keys_->Reload(); !s.ok()) return s;
  if (keys_->Versions().empty()) {
    return absl::FailedPreconditionError(keys_->Describe() + " holds no master key");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyService::SealNew(const Id16& contributor, uint32_t key_version,
                                                uint32_t master_version, const SecretKey& sk) {
  auto inner = keys_->Bind(contributor, sk.view(), BindAd(contributor, key_version));
  if (!inner.ok()) return inner.status();
  std::string plain = std::string(kBoundTag) + *inner;
  return keys_->Wrap(master_version, plain, WrapAd(contributor, key_version, master_version));
}

absl::StatusOr<SecretKey> KeyService::OpenRow(const ContributorKeyRecord& r) {
  const std::string who = "wrapped key of contributor " + r.contributor_id.Hex();
  auto outer = keys_->Unwrap(r.master_key_version, r.wrapped_secret_key,
                             WrapAd(r.contributor_id, r.key_version, r.master_key_version));
  if (absl::IsDataLoss(outer.status())) {
    return absl::DataLossError(who + " failed to unwrap (wrong master key or tampered row)");
  }
  if (absl::IsNotFound(outer.status())) {  // the master key version, not the contributor, is gone
    return absl::FailedPreconditionError(std::string(outer.status().message()));
  }
  if (!outer.ok()) return outer.status();
  std::optional<SecretKey> sk;
  if (outer->size() == kSecretKeyBytes) {  // written before bindings existed
    if (!keys_->AcceptsUnbound(r.master_key_version)) {
      sodium_memzero(outer->data(), outer->size());
      return absl::DataLossError(who + " has no binding key under master key version " +
                                 std::to_string(r.master_key_version) +
                                 ", made after binding keys existed (forged or replayed row)");
    }
    sk.emplace(*outer);
  } else if (std::string_view(*outer).substr(0, kBoundTag.size()) == kBoundTag) {
    auto plain = keys_->Unbind(r.contributor_id, std::string_view(*outer).substr(kBoundTag.size()),
                               BindAd(r.contributor_id, r.key_version));
    if (absl::IsDataLoss(plain.status())) {
      return absl::DataLossError(who + " does not open under its binding key (tampered row)");
    }
    if (!plain.ok()) return plain.status();
    if (plain->size() == kSecretKeyBytes) sk.emplace(*plain);
    sodium_memzero(plain->data(), plain->size());
  }
  sodium_memzero(outer->data(), outer->size());
  if (!sk) return absl::DataLossError(who + " has an unknown format");
  if (BoxPublicKeyOf(*sk) != r.public_key) {
    return absl::DataLossError(who + " does not match its public key");
  }
  return std::move(*sk);
}

absl::StatusOr<std::string> KeyService::Rewrap(const ContributorKeyRecord& r, uint32_t version,
                                               bool* bound) {
  auto outer = keys_->Unwrap(r.master_key_version, r.wrapped_secret_key,
                             WrapAd(r.contributor_id, r.key_version, r.master_key_version));
  if (!outer.ok()) return outer.status();
  absl::StatusOr<std::string> out;
  *bound = outer->size() == kSecretKeyBytes;
  if (*bound) {  // a row from before bindings: bind it now
    if (auto s = keys_->CreateBinding(r.contributor_id); !s.ok()) return s;
    SecretKey sk(*outer);
    out = SealNew(r.contributor_id, r.key_version, version, sk);
  } else {  // the inner (bound) value is kept as it is
    out = keys_->Wrap(version, *outer, WrapAd(r.contributor_id, r.key_version, version));
  }
  sodium_memzero(outer->data(), outer->size());
  return out;
}

absl::StatusOr<MasterKeyRotation> KeyService::RotateMasterKey() {
  std::lock_guard<std::mutex> admin(admin_mu_);
  {  // Pick up the keys as they are now (an operator edit, another process).
    std::unique_lock<std::shared_mutex> w(wrap_mu_);
    if (auto s = keys_->Reload(); !s.ok()) return s;
  }
  MasterKeyRotation out;
  out.previous_version = Current(keys_->Versions());
  auto rows = store_->ListContributorKeys();
  if (!rows.ok()) return rows.status();
  bool pending = false;
  for (const auto& r : *rows) pending |= r.master_key_version != out.previous_version;
  if (!pending) {
    {  // Durable first: once a row is wrapped under the new version, it is held.
      std::unique_lock<std::shared_mutex> w(wrap_mu_);  // waits for in-flight wraps
      auto v = keys_->AddVersion();
      if (!v.ok()) return v.status();
    }
    out.new_version = true;
    // Rows created before the publish are under the old version: list again.
    rows = store_->ListContributorKeys();
    if (!rows.ok()) return rows.status();
  }
  const std::vector<uint32_t> held = keys_->Versions();
  const uint32_t current = Current(held);
  out.master_key_version = current;
  for (const auto& r : *rows) {
    if (r.master_key_version == current) continue;
    if (!Holds(held, r.master_key_version)) {
      return absl::FailedPreconditionError(
          "contributor " + r.contributor_id.Hex() + " key is wrapped under master key version " +
          std::to_string(r.master_key_version) + ", which " + keys_->Describe() + " does not hold");
    }
    if (auto sk = OpenRow(r); !sk.ok()) {
      if (absl::IsNotFound(sk.status())) {  // binding destroyed: a deletion under way
        ++out.skipped;
        continue;
      }
      return absl::Status(sk.status().code(),
                          std::string(sk.status().message()) + "; rotation stopped, " +
                              std::to_string(out.rewrapped) + " keys rewrapped so far");
    }
    bool bound = false;
    auto wrapped = Rewrap(r, current, &bound);
    if (!wrapped.ok()) return wrapped.status();
    auto changed = store_->UpdateWrappedKey(r.contributor_id, r.key_version, r.master_key_version,
                                            current, *wrapped);
    if (!changed.ok()) return changed.status();
    if (*changed) {
      ++out.rewrapped;
      out.bound += bound ? 1 : 0;
    } else {
      ++out.skipped;
    }
  }
  return out;
}

absl::Status KeyService::RetireMasterKey(uint32_t version) {
  std::lock_guard<std::mutex> admin(admin_mu_);
  std::unique_lock<std::shared_mutex> w(wrap_mu_);
  if (auto s = keys_->Reload(); !s.ok()) return s;
  const std::vector<uint32_t> held = keys_->Versions();
  if (!Holds(held, version)) {
    return absl::NotFoundError("master key version " + std::to_string(version) + " is not in " +
                               keys_->Describe());
  }
  if (version == Current(held)) {
    return absl::FailedPreconditionError("master key version " + std::to_string(version) +
                                         " is the current one; rotate first");
  }
  auto rows = store_->ListContributorKeys();
  if (!rows.ok()) return rows.status();
  int in_use = 0;
  for (const auto& r : *rows) in_use += r.master_key_version == version ? 1 : 0;
  if (in_use > 0) {
    return absl::FailedPreconditionError(
        std::to_string(in_use) + " contributor key(s) are still wrapped under master key version " +
        std::to_string(version) + "; finish the rotation (rotate-master-key) first");
  }
  return keys_->RemoveVersion(version);
}

absl::StatusOr<std::string> KeyService::CreateContributorKey(const Id16& contributor_id) {
  auto existing = store_->GetLatestContributorKey(contributor_id);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    return absl::AlreadyExistsError("contributor " + contributor_id.Hex() + " already has a key");
  }
  if (auto s = EnsureVersions(); !s.ok()) return s;
  if (auto s = keys_->CreateBinding(contributor_id); !s.ok()) return s;
  BoxKeyPair kp = GenerateBoxKeyPair();
  // Held until the row is in: a rotation cannot publish a newer version meanwhile.
  std::shared_lock<std::shared_mutex> wrap(wrap_mu_);
  ContributorKeyRecord rec;
  rec.contributor_id = contributor_id;
  rec.key_version = 1;
  rec.master_key_version = current_master_key_version();
  rec.public_key = kp.public_key;
  auto wrapped = SealNew(contributor_id, rec.key_version, rec.master_key_version, kp.secret_key);
  if (absl::IsNotFound(wrapped.status())) {
    // Another process rotated and retired our current version: load the
    // versions as they are now and wrap under the current one.
    wrap.unlock();
    {
      std::lock_guard<std::mutex> admin(admin_mu_);
      std::unique_lock<std::shared_mutex> w(wrap_mu_);
      if (auto st = keys_->Reload(); !st.ok()) return st;
    }
    wrap.lock();
    rec.master_key_version = current_master_key_version();
    wrapped = SealNew(contributor_id, rec.key_version, rec.master_key_version, kp.secret_key);
  }
  if (!wrapped.ok()) return wrapped.status();
  rec.wrapped_secret_key = *std::move(wrapped);
  rec.created_us = env_->NowWallMicros();
  if (auto s = store_->PutContributorKey(rec); !s.ok()) return s;
  return kp.public_key;
}

absl::StatusOr<std::string> KeyService::PublicKey(const Id16& contributor_id) {
  auto k = store_->GetLatestContributorKey(contributor_id);
  if (!k.ok()) return k.status();
  if (!k->has_value() || (*k)->destroyed) {
    return absl::NotFoundError("no live key for contributor " + contributor_id.Hex());
  }
  return (*k)->public_key;
}

absl::Status KeyService::DestroyContributorKey(const Id16& contributor_id) {
  // The binding first: once it is gone, no copy of the rows opens anywhere.
  if (auto s = keys_->DestroyBinding(contributor_id); !s.ok()) return s;
  auto n = store_->DestroyContributorKeys(contributor_id, env_->NowWallMicros());
  return n.status();
}

absl::StatusOr<ReleasedKey> KeyService::ReleaseSecretKey(
    const Id16& contributor_id, const std::function<absl::Status()>& audit_first) {
  if (!audit_first) {
    return absl::FailedPreconditionError("key release needs an audit callback");
  }
  // The row and the held versions are read separately, so a concurrent
  // rotation (row rewrapped under a version published after our look) or
  // retirement can pair them wrongly: read both again; on the last try reload
  // the versions (another process rotated).
  std::optional<ContributorKeyRecord> row;
  bool held = false;
  absl::Status reload;
  for (int attempt = 0; attempt < 3 && !held; ++attempt) {
    if (attempt == 2) {
      std::lock_guard<std::mutex> admin(admin_mu_);
      std::unique_lock<std::shared_mutex> w(wrap_mu_);
      reload = keys_->Reload();
    }
    auto k = store_->GetLatestContributorKey(contributor_id);
    if (!k.ok()) return k.status();
    if (!k->has_value() || (*k)->destroyed) {
      return absl::NotFoundError("no live key for contributor " + contributor_id.Hex());
    }
    row = std::move(*k);
    held = Holds(keys_->Versions(), row->master_key_version);
  }
  // Audit before release: no entry, no key. The attempt is on record even when
  // the keys then cannot be used (an HSM that does not answer).
  if (absl::Status s = audit_first(); !s.ok()) return s;
  if (!held) {
    if (!reload.ok()) return reload;  // e.g. the HSM does not answer
    return absl::FailedPreconditionError("master key version " +
                                         std::to_string(row->master_key_version) + " is not in " +
                                         keys_->Describe());
  }
  auto sk = OpenRow(*row);
  if (!sk.ok()) return sk.status();
  ReleasedKey out;
  out.public_key = row->public_key;
  out.secret_key = *std::move(sk);
  out.key_version = row->key_version;
  return out;
}

}  // namespace sealtrace::vault
