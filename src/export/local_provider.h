// Local SegmentProviders for tests, benchmarks and single-machine use.
//
// DirectorySegmentProvider: every regular file of a directory is a segment
// file; headers are parsed (no decryption) to list them. Keys come from a
// KeyMap (contributor id -> X25519 secret key), e.g. loaded from a JSON key
// file {"<contributor id hex>": "<base64 secret key>", ...}.
// InMemorySegmentProvider: the same over segment bytes held in memory.
//
// Files that are not segments (bad header) are listed as unreadable in
// `unlisted()` and skipped. These providers do not audit: they stand in for the
// access layer and must not be used against a vault's storage.
//
// Thread-safety: not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/env.h"
#include "crypto/crypto.h"
#include "export/provider.h"

namespace sealtrace::exporter {

class KeyMap {
 public:
  void Add(const Id16& contributor, SecretKey sk);
  const SecretKey* Find(const Id16& contributor) const;
  // Parses {"<hex id>": "<base64 32-byte secret key>", ...}.
  static absl::StatusOr<KeyMap> FromJson(std::string_view json);

 private:
  std::map<Id16, std::shared_ptr<SecretKey>> keys_;
};

class InMemorySegmentProvider : public SegmentProvider {
 public:
  explicit InMemorySegmentProvider(KeyMap keys) : keys_(std::move(keys)) {}
  // Adds a segment file's bytes (its header is parsed here).
  absl::Status AddFile(std::string name, std::string bytes);
  absl::StatusOr<std::vector<SegmentInfo>> List() override;
  absl::StatusOr<OpenedSegment> Open(const SegmentInfo& s) override;
  absl::StatusOr<OpenedSegment> OpenFrame(const Id16& frame_id) override;
  const std::vector<std::pair<std::string, std::string>>& unlisted() const { return unlisted_; }
  uint64_t opens() const { return opens_; }

 protected:
  virtual absl::StatusOr<std::string> Read(const std::string& name) {
    auto it = bytes_.find(name);
    if (it == bytes_.end()) return absl::NotFoundError("segment vanished");
    return it->second;
  }
  absl::Status AddHeader(std::string name, std::string_view file_prefix);
  absl::StatusOr<OpenedSegment> OpenNamed(const std::string& name, const Id16& contributor);

  KeyMap keys_;
  std::vector<SegmentInfo> infos_;
  std::map<Id16, std::string> names_;  // segment id -> name
  std::map<std::string, std::string> bytes_;
  std::vector<std::pair<std::string, std::string>> unlisted_;  // name, reason
  uint64_t opens_ = 0;
};

class DirectorySegmentProvider final : public InMemorySegmentProvider {
 public:
  // Scans `dir` (headers only).
  static absl::StatusOr<std::unique_ptr<DirectorySegmentProvider>> Create(Env* env, std::string dir,
                                                                          KeyMap keys);

 protected:
  absl::StatusOr<std::string> Read(const std::string& name) override;

 private:
  DirectorySegmentProvider(Env* env, std::string dir, KeyMap keys)
      : InMemorySegmentProvider(std::move(keys)), env_(env), dir_(std::move(dir)) {}
  Env* env_;
  std::string dir_;
};

}  // namespace sealtrace::exporter
