#include "vault/key_service.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "common/bytes.h"

namespace sealtrace::vault {
namespace {

constexpr size_t kMasterKeyBytes = 32;

std::string WrapAd(const Id16& contributor, uint32_t key_version, uint32_t master_version) {
  std::string ad = "sealtrace-contributor-key";
  ad.append(contributor.Bytes());
  PutU32(&ad, key_version);
  PutU32(&ad, master_version);
  return ad;
}

bool ParseVersion(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 9) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = v;
  return true;
}

using KeyMap = std::map<uint32_t, std::shared_ptr<const SecretKey>>;

constexpr uint32_t kMaxMasterKeyVersion = 999999999;  // 9 digits (ParseVersion)
constexpr char kKeyFileHeader[] =
    "# sealtrace master key file: \"<version> <base64url key>\" per line; keep it secret\n";

absl::Status ParseKeyFile(const std::string& path, std::string_view text, KeyMap* out) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.find(' ');
    uint32_t version = 0;
    if (sp == std::string_view::npos || !ParseVersion(line.substr(0, sp), &version) ||
        version == 0) {
      return absl::FailedPreconditionError("master key file " + path +
                                           " is malformed (want lines \"<version> <key>\")");
    }
    auto raw = FromBase64Url(line.substr(sp + 1));
    if (!raw.ok() || raw->size() != kMasterKeyBytes) {
      return absl::FailedPreconditionError("master key file " + path + ": key version " +
                                           std::to_string(version) + " is not 32 bytes");
    }
    bool inserted = out->emplace(version, std::make_shared<const SecretKey>(*raw)).second;
    sodium_memzero(raw->data(), raw->size());
    if (!inserted) {
      return absl::FailedPreconditionError("master key file " + path + ": duplicate version");
    }
  }
  if (out->empty()) {
    return absl::FailedPreconditionError("master key file " + path + " holds no key");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckPrivateFileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(path + " does not exist");
    return absl::UnavailableError("stat " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::FailedPreconditionError(path + " has mode " + mode +
                                         ": it must not be accessible by group or others "
                                         "(run: chmod 600 " +
                                         path + ")");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<KeyService>> KeyService::Open(Env* env, MetadataStore* store,
                                                             const std::string& key_file) {
  InitCrypto();
  std::unique_ptr<KeyService> ks(new KeyService(env, store, key_file));
  if (!env->FileExists(key_file)) {
    const std::string dir = DirName(key_file);
    if (!env->FileExists(dir)) {
      if (auto s = env->CreateDirs(dir, 0700); !s.ok()) return s;
      if (auto s = env->SyncDir(DirName(dir)); !s.ok()) return s;
    }
    std::string key(kMasterKeyBytes, '\0');
    env->RandomBytes(key.data(), key.size());
    KeyMap first;
    first.emplace(1, std::make_shared<const SecretKey>(key));
    sodium_memzero(key.data(), key.size());
    if (auto s = ks->WriteKeyFile(first); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> l(ks->admin_mu_);
  if (auto s = ks->ReloadLocked(); !s.ok()) return s;
  return ks;
}

std::shared_ptr<const KeyService::KeyMap> KeyService::Snapshot() const {
  std::lock_guard<std::mutex> l(keys_mu_);
  return master_keys_;
}

void KeyService::Publish(std::shared_ptr<const KeyMap> keys) {
  std::unique_lock<std::shared_mutex> w(wrap_mu_);  // waits for in-flight wraps
  std::lock_guard<std::mutex> l(keys_mu_);
  master_keys_ = std::move(keys);
}

absl::Status KeyService::ReloadLocked() {
  if (auto s = CheckPrivateFileMode(key_file_); !s.ok()) return s;
  auto text = env_->ReadFile(key_file_);
  if (!text.ok()) return text.status();
  auto keys = std::make_shared<KeyMap>();
  absl::Status s = ParseKeyFile(key_file_, *text, keys.get());
  sodium_memzero(text->data(), text->size());
  if (!s.ok()) return s;
  // The file is the source of truth, but a version we hold must not change its key
  // under us (that would make rows wrapped under it unreadable).
  if (auto old = Snapshot()) {
    for (const auto& [v, k] : *keys) {
      auto it = old->find(v);
      if (it != old->end() && it->second->view() != k->view()) {
        return absl::FailedPreconditionError("master key file " + key_file_ + ": version " +
                                             std::to_string(v) +
                                             " changed its key while in use; refusing it");
      }
    }
  }
  Publish(std::move(keys));
  return absl::OkStatus();
}

absl::Status KeyService::WriteKeyFile(const KeyMap& keys) {
  std::string text = kKeyFileHeader;
  for (const auto& [v, k] : keys) text += std::to_string(v) + " " + Base64Url(k->view()) + "\n";
  absl::Status s = WriteFileAtomic(env_, key_file_, text, 0600);
  sodium_memzero(text.data(), text.size());
  return s;
}

uint32_t KeyService::current_master_key_version() const { return Snapshot()->rbegin()->first; }

std::vector<uint32_t> KeyService::master_key_versions() const {
  std::vector<uint32_t> out;
  std::shared_ptr<const KeyMap> keys = Snapshot();  // keeps the set alive while we read it
  for (const auto& kv : *keys) out.push_back(kv.first);
  return out;
}

absl::StatusOr<MasterKeyRotation> KeyService::RotateMasterKey() {
  std::lock_guard<std::mutex> admin(admin_mu_);
  // Pick up the file as it is now (an operator edit, another process's rotation).
  if (auto s = ReloadLocked(); !s.ok()) return s;
  std::shared_ptr<const KeyMap> keys = Snapshot();
  MasterKeyRotation out;
  out.previous_version = keys->rbegin()->first;
  auto rows = store_->ListContributorKeys();
  if (!rows.ok()) return rows.status();
  bool pending = false;
  for (const auto& r : *rows) pending |= r.master_key_version != out.previous_version;
  if (!pending) {
    if (out.previous_version >= kMaxMasterKeyVersion) {
      return absl::FailedPreconditionError("master key version space exhausted");
    }
    const uint32_t next = out.previous_version + 1;
    std::string raw(kMasterKeyBytes, '\0');
    env_->RandomBytes(raw.data(), raw.size());
    auto grown = std::make_shared<KeyMap>(*keys);
    grown->emplace(next, std::make_shared<const SecretKey>(raw));
    sodium_memzero(raw.data(), raw.size());
    // Durable first: once a row is wrapped under `next`, the file must hold it.
    if (auto s = WriteKeyFile(*grown); !s.ok()) return s;
    Publish(grown);
    keys = grown;
    out.new_version = true;
    // Rows created before the publish are under the old version: list again.
    rows = store_->ListContributorKeys();
    if (!rows.ok()) return rows.status();
  }
  const uint32_t current = keys->rbegin()->first;
  out.master_key_version = current;
  const SecretKey& new_key = *keys->rbegin()->second;
  for (const auto& r : *rows) {
    if (r.master_key_version == current) continue;
    auto old = keys->find(r.master_key_version);
    if (old == keys->end()) {
      return absl::FailedPreconditionError(
          "contributor " + r.contributor_id.Hex() + " key is wrapped under master key version " +
          std::to_string(r.master_key_version) + ", which is not in the key file " + key_file_);
    }
    auto sk = AeadUnwrap(*old->second, r.wrapped_secret_key,
                         WrapAd(r.contributor_id, r.key_version, r.master_key_version));
    if (!sk.ok()) {
      return absl::DataLossError("wrapped key of contributor " + r.contributor_id.Hex() +
                                 " failed to unwrap (wrong master key or tampered row); "
                                 "rotation stopped, " +
                                 std::to_string(out.rewrapped) + " keys rewrapped so far");
    }
    SecretKey plain(*sk);
    sodium_memzero(sk->data(), sk->size());
    if (BoxPublicKeyOf(plain) != r.public_key) {
      return absl::DataLossError("wrapped key of contributor " + r.contributor_id.Hex() +
                                 " does not match its public key; rotation stopped");
    }
    std::string wrapped =
        AeadWrap(new_key, plain.view(), WrapAd(r.contributor_id, r.key_version, current));
    auto changed = store_->UpdateWrappedKey(r.contributor_id, r.key_version, r.master_key_version,
                                            current, wrapped);
    if (!changed.ok()) return changed.status();
    if (*changed) {
      ++out.rewrapped;
    } else {
      ++out.skipped;
    }
  }
  return out;
}

absl::Status KeyService::RetireMasterKey(uint32_t version) {
  std::lock_guard<std::mutex> admin(admin_mu_);
  if (auto s = ReloadLocked(); !s.ok()) return s;
  std::shared_ptr<const KeyMap> keys = Snapshot();
  if (keys->find(version) == keys->end()) {
    return absl::NotFoundError("master key version " + std::to_string(version) +
                               " is not in the key file");
  }
  if (version == keys->rbegin()->first) {
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
  auto shrunk = std::make_shared<KeyMap>(*keys);
  shrunk->erase(version);
  if (auto s = WriteKeyFile(*shrunk); !s.ok()) return s;
  Publish(std::move(shrunk));
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyService::CreateContributorKey(const Id16& contributor_id) {
  auto existing = store_->GetLatestContributorKey(contributor_id);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    return absl::AlreadyExistsError("contributor " + contributor_id.Hex() + " already has a key");
  }
  BoxKeyPair kp = GenerateBoxKeyPair();
  // Held until the row is in: a rotation cannot publish a newer version meanwhile.
  std::shared_lock<std::shared_mutex> wrap(wrap_mu_);
  std::shared_ptr<const KeyMap> keys = Snapshot();
  ContributorKeyRecord rec;
  rec.contributor_id = contributor_id;
  rec.key_version = 1;
  rec.master_key_version = keys->rbegin()->first;
  rec.public_key = kp.public_key;
  rec.wrapped_secret_key =
      AeadWrap(*keys->rbegin()->second, kp.secret_key.view(),
               WrapAd(contributor_id, rec.key_version, rec.master_key_version));
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
  auto n = store_->DestroyContributorKeys(contributor_id, env_->NowWallMicros());
  return n.status();
}

absl::StatusOr<ReleasedKey> KeyService::ReleaseSecretKey(
    const Id16& contributor_id, const std::function<absl::Status()>& audit_first) {
  if (!audit_first) {
    return absl::FailedPreconditionError("key release needs an audit callback");
  }
  // The row and the key set are read separately, so a concurrent rotation (row
  // rewrapped under a version published after our snapshot) or retirement (row
  // read before its rewrap, key set after the retirement) can pair them wrongly:
  // read both again; on the last try reload the key file (another process rotated).
  std::optional<ContributorKeyRecord> row;
  std::shared_ptr<const SecretKey> master;
  for (int attempt = 0; attempt < 3 && !master; ++attempt) {
    if (attempt == 2) {
      std::lock_guard<std::mutex> admin(admin_mu_);
      ReloadLocked().IgnoreError();
    }
    auto k = store_->GetLatestContributorKey(contributor_id);
    if (!k.ok()) return k.status();
    if (!k->has_value() || (*k)->destroyed) {
      return absl::NotFoundError("no live key for contributor " + contributor_id.Hex());
    }
    row = std::move(*k);
    std::shared_ptr<const KeyMap> keys = Snapshot();
    if (auto it = keys->find(row->master_key_version); it != keys->end()) master = it->second;
  }
  if (!master) {
    return absl::FailedPreconditionError("master key version " +
                                         std::to_string(row->master_key_version) +
                                         " is not in the key file");
  }
  const ContributorKeyRecord& rec = *row;
  // Audit before release: no entry, no key.
  if (absl::Status s = audit_first(); !s.ok()) return s;
  auto sk = AeadUnwrap(*master, rec.wrapped_secret_key,
                       WrapAd(contributor_id, rec.key_version, rec.master_key_version));
  if (!sk.ok()) {
    return absl::DataLossError("wrapped key of contributor " + contributor_id.Hex() +
                               " failed to unwrap (wrong master key or tampered row)");
  }
  ReleasedKey out;
  out.public_key = rec.public_key;
  out.secret_key = SecretKey(*sk);
  out.key_version = rec.key_version;
  sodium_memzero(sk->data(), sk->size());
  if (BoxPublicKeyOf(out.secret_key) != out.public_key) {
    return absl::DataLossError("unwrapped key does not match the stored public key");
  }
  return out;
}

}  // namespace sealtrace::vault
