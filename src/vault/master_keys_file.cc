// The file backend of MasterKeys (master_keys.h).
#include <sodium.h>

#include <map>
#include <mutex>
#include <utility>

#include "crypto/crypto.h"
#include "vault/master_keys.h"

namespace sealtrace::vault {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr uint32_t kMaxVersion = 999999999;  // 9 digits (ParseVersion)
constexpr char kKeyFileHeader[] =
    "# sealtrace master key file: \"<version> <base64url key> [bound]\" per line; keep it "
    "secret\n";
constexpr char kBindingHeader[] =
    "# sealtrace contributor binding key: destroying this file makes the contributor's data "
    "unreadable in every backup. Never back it up.\n";

// A master key version. `legacy`: written before binding keys existed (its
// line has no "bound" flag), so rows wrapped under it may hold an unbound key.
struct Version {
  std::shared_ptr<const SecretKey> key;
  bool legacy = false;
};
using KeyMap = std::map<uint32_t, Version>;

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
      return absl::FailedPreconditionError(
          "master key file " + path + " is malformed (want lines \"<version> <key> [bound]\")");
    }
    std::string_view key_text = line.substr(sp + 1);
    bool legacy = true;
    if (size_t sp2 = key_text.find(' '); sp2 != std::string_view::npos) {
      if (key_text.substr(sp2 + 1) != "bound") {
        return absl::FailedPreconditionError("master key file " + path + ": version " +
                                             std::to_string(version) + " has an unknown flag");
      }
      key_text = key_text.substr(0, sp2);
      legacy = false;
    }
    auto raw = FromBase64Url(key_text);
    if (!raw.ok() || raw->size() != kKeyBytes) {
      return absl::FailedPreconditionError("master key file " + path + ": key version " +
                                           std::to_string(version) + " is not 32 bytes");
    }
    bool inserted =
        out->emplace(version, Version{std::make_shared<const SecretKey>(*raw), legacy}).second;
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

std::shared_ptr<const SecretKey> FreshKey(Env* env) {
  std::string raw(kKeyBytes, '\0');
  env->RandomBytes(raw.data(), raw.size());
  auto k = std::make_shared<const SecretKey>(raw);
  sodium_memzero(raw.data(), raw.size());
  return k;
}

class FileMasterKeys final : public MasterKeys {
 public:
  FileMasterKeys(Env* env, std::string key_file)
      : env_(env), key_file_(std::move(key_file)), bindings_(JoinPath(DirName(key_file_), "bindings")) {}

  absl::Status Init(bool create_if_missing) {
    if (!env_->FileExists(key_file_)) {
      if (!create_if_missing) {
        return absl::FailedPreconditionError(
            "the master key file " + key_file_ +
            " does not exist, but the metadata store holds contributor keys wrapped under a "
            "master key: refusing to make a new one that opens none of them (restore the key "
            "file, or point --key-file at it)");
      }
      if (auto s = EnsureDir(DirName(key_file_)); !s.ok()) return s;
      KeyMap first;
      first.emplace(1, Version{FreshKey(env_), false});
      if (auto s = WriteKeyFile(first); !s.ok()) return s;
    }
    return Reload();
  }

  std::string Describe() const override { return "key file " + key_file_; }

  std::vector<uint32_t> Versions() const override {
    std::vector<uint32_t> out;
    for (const auto& kv : *Snapshot()) out.push_back(kv.first);
    return out;
  }

  absl::Status Reload() override {
    if (auto s = CheckPrivateFileMode(key_file_); !s.ok()) return s;
    auto text = env_->ReadFile(key_file_);
    if (!text.ok()) return text.status();
    auto keys = std::make_shared<KeyMap>();
    absl::Status s = ParseKeyFile(key_file_, *text, keys.get());
    sodium_memzero(text->data(), text->size());
    if (!s.ok()) return s;
    // The file is the source of truth, but a version we hold must not change its
    // key under us (rows wrapped under it would become unreadable).
    if (auto old = Snapshot()) {
      for (const auto& [v, k] : *keys) {
        auto it = old->find(v);
        if (it != old->end() && it->second.key->view() != k.key->view()) {
          return absl::FailedPreconditionError("master key file " + key_file_ + ": version " +
                                               std::to_string(v) +
                                               " changed its key while in use; refusing it");
        }
      }
    }
    Publish(std::move(keys));
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> AddVersion() override {
    auto keys = Snapshot();
    const uint32_t next = keys->rbegin()->first + 1;
    if (next > kMaxVersion) return absl::FailedPreconditionError("master key version space exhausted");
    auto grown = std::make_shared<KeyMap>(*keys);
    grown->emplace(next, Version{FreshKey(env_), false});
    if (auto s = WriteKeyFile(*grown); !s.ok()) return s;  // durable before use
    Publish(std::move(grown));
    return next;
  }

  absl::Status RemoveVersion(uint32_t version) override {
    auto keys = Snapshot();
    if (keys->find(version) == keys->end()) {
      return absl::NotFoundError("master key version " + std::to_string(version) +
                                 " is not in the key file");
    }
    auto shrunk = std::make_shared<KeyMap>(*keys);
    shrunk->erase(version);
    if (auto s = WriteKeyFile(*shrunk); !s.ok()) return s;
    Publish(std::move(shrunk));
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Wrap(uint32_t version, std::string_view plaintext,
                                   std::string_view ad) override {
    auto k = Find(version);
    if (!k.ok()) return k.status();
    return AeadWrap(**k, plaintext, ad);
  }

  absl::StatusOr<std::string> Unwrap(uint32_t version, std::string_view wrapped,
                                     std::string_view ad) override {
    auto k = Find(version);
    if (!k.ok()) return k.status();
    auto out = AeadUnwrap(**k, wrapped, ad);
    if (!out.ok()) return absl::DataLossError("does not unwrap under master key version " +
                                              std::to_string(version));
    return out;
  }

  absl::Status CreateBinding(const Id16& c) override {
    const std::string path = BindingPath(c);
    if (env_->FileExists(path)) return absl::OkStatus();
    if (auto s = EnsureDir(bindings_); !s.ok()) return s;
    auto key = FreshKey(env_);
    std::string text = std::string(kBindingHeader) + Base64Url(key->view()) + "\n";
    absl::Status s = WriteFileAtomic(env_, path, text, 0600);
    sodium_memzero(text.data(), text.size());
    return s;
  }

  absl::StatusOr<std::string> Bind(const Id16& c, std::string_view plaintext,
                                   std::string_view ad) override {
    auto k = LoadBinding(c);
    if (!k.ok()) return k.status();
    return AeadWrap(*k, plaintext, ad);
  }

  absl::StatusOr<std::string> Unbind(const Id16& c, std::string_view wrapped,
                                     std::string_view ad) override {
    auto k = LoadBinding(c);
    if (!k.ok()) return k.status();
    auto out = AeadUnwrap(*k, wrapped, ad);
    if (!out.ok()) return absl::DataLossError("does not open under the binding key of " + c.Hex());
    return out;
  }

  absl::Status DestroyBinding(const Id16& c) override {
    const std::string path = BindingPath(c);
    if (!env_->FileExists(path)) return absl::OkStatus();
    if (auto s = env_->RemoveFile(path); !s.ok()) return s;
    return env_->SyncDir(bindings_);
  }

  absl::Status Check() override { return CheckPrivateFileMode(key_file_); }

  bool AcceptsUnbound(uint32_t version) const override {
    auto keys = Snapshot();
    auto it = keys->find(version);
    return it != keys->end() && it->second.legacy;
  }

 private:
  std::shared_ptr<const KeyMap> Snapshot() const {
    std::lock_guard<std::mutex> l(mu_);
    return keys_;
  }
  void Publish(std::shared_ptr<const KeyMap> k) {
    std::lock_guard<std::mutex> l(mu_);
    keys_ = std::move(k);
  }
  absl::StatusOr<std::shared_ptr<const SecretKey>> Find(uint32_t version) const {
    auto keys = Snapshot();
    auto it = keys->find(version);
    if (it == keys->end()) {
      return absl::NotFoundError("master key version " + std::to_string(version) +
                                 " is not in the key file " + key_file_);
    }
    return it->second.key;
  }
  absl::Status EnsureDir(const std::string& dir) {
    if (env_->FileExists(dir)) return absl::OkStatus();
    if (auto s = env_->CreateDirs(dir, 0700); !s.ok()) return s;
    return env_->SyncDir(DirName(dir));
  }
  absl::Status WriteKeyFile(const KeyMap& keys) {
    std::string text = kKeyFileHeader;
    for (const auto& [v, k] : keys) {
      text += std::to_string(v) + " " + Base64Url(k.key->view()) + (k.legacy ? "\n" : " bound\n");
    }
    absl::Status s = WriteFileAtomic(env_, key_file_, text, 0600);
    sodium_memzero(text.data(), text.size());
    return s;
  }
  std::string BindingPath(const Id16& c) const { return JoinPath(bindings_, c.Hex() + ".key"); }
  absl::StatusOr<SecretKey> LoadBinding(const Id16& c) {
    const std::string path = BindingPath(c);
    if (auto s = CheckPrivateFileMode(path); !s.ok()) {
      if (absl::IsNotFound(s)) {
        return absl::NotFoundError("contributor " + c.Hex() + " has no binding key (destroyed)");
      }
      return s;
    }
    auto text = env_->ReadFile(path);
    if (!text.ok()) return text.status();
    std::string_view t = *text;
    while (!t.empty() && t[0] == '#') t.remove_prefix(std::min(t.size(), t.find('\n') + 1));
    if (!t.empty() && t.back() == '\n') t.remove_suffix(1);
    auto raw = FromBase64Url(t);
    sodium_memzero(text->data(), text->size());
    if (!raw.ok() || raw->size() != kKeyBytes) {
      return absl::DataLossError("binding key file " + path + " is malformed");
    }
    SecretKey k(*raw);
    sodium_memzero(raw->data(), raw->size());
    return k;
  }

  Env* const env_;
  const std::string key_file_;
  const std::string bindings_;
  mutable std::mutex mu_;               // guards the pointer keys_
  std::shared_ptr<const KeyMap> keys_;  // copy-on-write; version -> key
};

}  // namespace

absl::StatusOr<std::unique_ptr<MasterKeys>> OpenFileMasterKeys(Env* env,
                                                               const std::string& key_file,
                                                               bool create_if_missing) {
  InitCrypto();
  auto keys = std::make_unique<FileMasterKeys>(env, key_file);
  if (auto s = keys->Init(create_if_missing); !s.ok()) return s;
  return std::unique_ptr<MasterKeys>(std::move(keys));
}

}  // namespace sealtrace::vault
