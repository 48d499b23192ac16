// Helpers shared by the vault tests (test-only; not part of st_vault).
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "gtest/gtest.h"
#include "sealtrace/v1/events.pb.h"
#include "segment/format.h"

namespace sealtrace::vault::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sealtrace-vault-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline Id16 RandomId() {
  Id16 id;
  std::string r = RandomBytes(16);
  std::copy(r.begin(), r.end(), id.b.begin());
  return id;
}

// A sealed segment with `n` key events whose text is `text`.
inline std::string MakeSegment(const Id16& contributor, const Id16& device, const Id16& segment,
                               uint64_t sequence, const std::string& public_key, int n = 5,
                               const std::string& text = "hello") {
  SegmentBuilder::Params p;
  p.contributor_id = contributor;
  p.device_id = device;
  p.segment_id = segment;
  p.sequence = sequence;
  p.wall_anchor_us = 1'790'000'000'000'000 + static_cast<int64_t>(sequence) * 1'000'000;
  p.start_mono_us = 1000 + sequence;
  p.recipient_public_key = public_key;
  SegmentBuilder b(p);
  for (int i = 0; i < n; ++i) {
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(i) * 1000);
    e.mutable_key()->set_text(text);
    b.Add(e);
  }
  auto sealed = b.Seal();
  EXPECT_TRUE(sealed.ok()) << sealed.status();
  return sealed.ok() ? *sealed : std::string();
}

}  // namespace sealtrace::vault::testing
