// BlobStore: content-addressed storage of sealed segment files.
//
// A blob's key is the lowercase hex SHA-256 of its bytes. Blobs are sealed
// ciphertext; the store never interprets them. Implementations: FsBlobStore
// (files under <root>/ab/cd/<hex>); an S3-like store later.
//
// Ownership: the vault owns one store and hands out raw pointers.
// Thread-safety: implementations must be safe for concurrent use, including
// concurrent Put of the same blob.
// Failure: UNAVAILABLE / INTERNAL / RESOURCE_EXHAUSTED on I/O problems (retryable by
// the caller), INVALID_ARGUMENT on a malformed key, NOT_FOUND for a missing blob,
// DATA_LOSS for a blob whose bytes no longer match their hash.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/env.h"

namespace sealtrace::vault {

// Lowercase hex SHA-256 of `data`: the key under which a BlobStore holds it.
std::string BlobKeyOf(std::string_view data);
// True for exactly 64 lowercase hex characters.
bool IsValidBlobKey(std::string_view key);

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores `data` under `key` (which must equal BlobKeyOf(data); the caller has
  // computed it already). Durable when it returns OK. Idempotent: an existing
  // intact blob is kept; a damaged one is rewritten.
  virtual absl::Status Put(const std::string& key, std::string_view data) = 0;
  // Reads a blob and verifies its hash.
  virtual absl::StatusOr<std::string> Get(const std::string& key) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& key) = 0;
  // Purge: removes the blob durably. OK if absent.
  virtual absl::Status Delete(const std::string& key) = 0;
};

// Files under `root` (created if missing): <root>/ab/cd/<hex>, written to
// <root>/tmp/ first, fsynced, renamed into place, then the directory fsynced.
// Leftover temp files from a crash are removed by Open().
class FsBlobStore final : public BlobStore {
 public:
  static absl::StatusOr<std::unique_ptr<FsBlobStore>> Open(Env* env, const std::string& root);

  absl::Status Put(const std::string& key, std::string_view data) override;
  absl::StatusOr<std::string> Get(const std::string& key) override;
  absl::StatusOr<bool> Exists(const std::string& key) override;
  absl::Status Delete(const std::string& key) override;

  // Path of a blob (for tests and diagnostics).
  std::string PathOf(const std::string& key) const;

 private:
  FsBlobStore(Env* env, std::string root) : env_(env), root_(std::move(root)) {}
  absl::Status EnsureDir(const std::string& dir);

  Env* env_;
  std::string root_;
  std::mutex mu_;
  std::set<std::string> durable_dirs_;  // fan-out dirs whose entries this process has synced
};

}  // namespace sealtrace::vault
