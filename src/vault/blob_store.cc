#include "vault/blob_store.h"

#include "common/bytes.h"
#include "crypto/crypto.h"

namespace sealtrace::vault {

std::string BlobKeyOf(std::string_view data) { return ToHex(Sha256(data)); }

bool IsValidBlobKey(std::string_view key) {
  if (key.size() != 64) return false;
  for (char c : key) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<FsBlobStore>> FsBlobStore::Open(Env* env, const std::string& root) {
  if (auto s = env->CreateDirs(JoinPath(root, "tmp")); !s.ok()) return s;
  if (auto s = env->SyncDir(DirName(root)); !s.ok()) return s;
  if (auto s = env->SyncDir(root); !s.ok()) return s;
  // Temp files are never referenced: a crash mid-Put leaves them behind.
  auto left = env->ListDir(JoinPath(root, "tmp"));
  if (!left.ok()) return left.status();
  for (const auto& name : *left) {
    env->RemoveFile(JoinPath(JoinPath(root, "tmp"), name)).IgnoreError();
  }
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(env, root));
}

std::string FsBlobStore::PathOf(const std::string& key) const {
  return root_ + "/" + key.substr(0, 2) + "/" + key.substr(2, 2) + "/" + key;
}

absl::Status FsBlobStore::EnsureDir(const std::string& dir) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (durable_dirs_.count(dir)) return absl::OkStatus();
  }
  // New directory entries are durable only once their parents are synced. A directory
  // that exists may come from a Put that failed before syncing its parents, so sync
  // once per directory and process, not only on creation.
  if (auto s = env_->CreateDirs(dir); !s.ok()) return s;
  std::string parent = DirName(dir);
  if (auto s = env_->SyncDir(parent); !s.ok()) return s;
  if (auto s = env_->SyncDir(DirName(parent)); !s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  durable_dirs_.insert(dir);
  return absl::OkStatus();
}

absl::Status FsBlobStore::Put(const std::string& key, std::string_view data) {
  if (!IsValidBlobKey(key)) return absl::InvalidArgumentError("malformed blob key");
  const std::string path = PathOf(key);
  const std::string dir = DirName(path);
  if (env_->FileExists(path)) {
    auto existing = env_->ReadFile(path);
    if (existing.ok() && BlobKeyOf(*existing) == key) {
      // Another Put may have renamed it but not yet synced the directory.
      return env_->SyncDir(dir);
    }
    // Damaged or unreadable: fall through and replace it atomically.
  }
  if (auto s = EnsureDir(dir); !s.ok()) return s;
  std::string nonce(8, '\0');
  env_->RandomBytes(nonce.data(), nonce.size());
  const std::string tmp = JoinPath(JoinPath(root_, "tmp"), key + "." + ToHex(nonce) + ".tmp");
  auto f = env_->NewWritableFile(tmp, 0600);
  if (!f.ok()) return f.status();
  absl::Status s = (*f)->Append(data);
  if (s.ok()) s = (*f)->Sync();
  absl::Status c = (*f)->Close();
  if (s.ok()) s = c;
  if (s.ok()) s = env_->RenameFile(tmp, path);
  if (!s.ok()) {
    env_->RemoveFile(tmp).IgnoreError();
    return s;
  }
  return env_->SyncDir(dir);
}

absl::StatusOr<std::string> FsBlobStore::Get(const std::string& key) {
  if (!IsValidBlobKey(key)) return absl::InvalidArgumentError("malformed blob key");
  auto data = env_->ReadFile(PathOf(key));
  if (!data.ok()) return data.status();
  if (BlobKeyOf(*data) != key) {
    return absl::DataLossError("blob " + key + " does not match its hash");
  }
  return data;
}

absl::StatusOr<bool> FsBlobStore::Exists(const std::string& key) {
  if (!IsValidBlobKey(key)) return absl::InvalidArgumentError("malformed blob key");
  return env_->FileExists(PathOf(key));
}

absl::Status FsBlobStore::Delete(const std::string& key) {
  if (!IsValidBlobKey(key)) return absl::InvalidArgumentError("malformed blob key");
  const std::string path = PathOf(key);
  absl::Status s = env_->RemoveFile(path);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  if (absl::IsNotFound(s)) return absl::OkStatus();
  return env_->SyncDir(DirName(path));
}

}  // namespace sealtrace::vault
