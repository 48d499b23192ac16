#include "vault/key_service.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

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

absl::Status ParseKeyFile(const std::string& path, std::string_view text,
                          std::map<uint32_t, SecretKey>* out) {
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
    bool inserted = out->emplace(version, SecretKey(*raw)).second;
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
  std::unique_ptr<KeyService> ks(new KeyService(env, store));
  if (!env->FileExists(key_file)) {
    const std::string dir = DirName(key_file);
    if (!env->FileExists(dir)) {
      if (auto s = env->CreateDirs(dir, 0700); !s.ok()) return s;
      if (auto s = env->SyncDir(DirName(dir)); !s.ok()) return s;
    }
    std::string key(kMasterKeyBytes, '\0');
    env->RandomBytes(key.data(), key.size());
    std::string text =
        "# sealtrace master key file: \"<version> <base64url key>\" per line; keep it secret\n"
        "1 " +
        Base64Url(key) + "\n";
    sodium_memzero(key.data(), key.size());
    absl::Status s = WriteFileAtomic(env, key_file, text, 0600);
    sodium_memzero(text.data(), text.size());
    if (!s.ok()) return s;
  }
  if (auto s = CheckPrivateFileMode(key_file); !s.ok()) return s;
  auto text = env->ReadFile(key_file);
  if (!text.ok()) return text.status();
  absl::Status s = ParseKeyFile(key_file, *text, &ks->master_keys_);
  sodium_memzero(text->data(), text->size());
  if (!s.ok()) return s;
  return ks;
}

absl::StatusOr<std::string> KeyService::CreateContributorKey(const Id16& contributor_id) {
  auto existing = store_->GetLatestContributorKey(contributor_id);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    return absl::AlreadyExistsError("contributor " + contributor_id.Hex() + " already has a key");
  }
  BoxKeyPair kp = GenerateBoxKeyPair();
  ContributorKeyRecord rec;
  rec.contributor_id = contributor_id;
  rec.key_version = 1;
  rec.master_key_version = current_master_key_version();
  rec.public_key = kp.public_key;
  rec.wrapped_secret_key =
      AeadWrap(master_keys_.rbegin()->second, kp.secret_key.view(),
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
  auto k = store_->GetLatestContributorKey(contributor_id);
  if (!k.ok()) return k.status();
  if (!k->has_value() || (*k)->destroyed) {
    return absl::NotFoundError("no live key for contributor " + contributor_id.Hex());
  }
  const ContributorKeyRecord& rec = **k;
  auto mk = master_keys_.find(rec.master_key_version);
  if (mk == master_keys_.end()) {
    return absl::FailedPreconditionError(
        "master key version " + std::to_string(rec.master_key_version) + " is not in the key file");
  }
  // Audit before release: no entry, no key.
  if (absl::Status s = audit_first(); !s.ok()) return s;
  auto sk = AeadUnwrap(mk->second, rec.wrapped_secret_key,
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
