// Fuzzes the segment parser: header parsing and framing validation (the
// vault's no-key path) and full opening with a fixed contributor key (the
// reader's path). Seeds in corpus/segment/ are sealed to that fixed key, so
// mutations reach the decryption and decompression code.
//
// Build the seed generator: see make_seeds() below (SEALTRACE_FUZZ_MAKE_SEEDS).
#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "segment/format.h"

namespace {

sealtrace::BoxKeyPair FixedKey() {
  unsigned char seed[crypto_box_SEEDBYTES];
  for (size_t i = 0; i < sizeof(seed); ++i) seed[i] = static_cast<unsigned char>(i * 7 + 1);
  sealtrace::BoxKeyPair kp;
  kp.public_key.resize(crypto_box_PUBLICKEYBYTES);
  crypto_box_seed_keypair(reinterpret_cast<unsigned char*>(kp.public_key.data()),
                          kp.secret_key.data(), seed);
  return kp;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sealtrace::BoxKeyPair* kp = [] {
    sealtrace::InitCrypto();
    return new sealtrace::BoxKeyPair(FixedKey());
  }();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto h = sealtrace::ParseSegmentHeader(in);
  if (h.ok()) (void)h->Encode();
  auto v = sealtrace::ValidateSegmentFraming(in);
  auto opened = sealtrace::OpenSegment(in, kp->public_key, kp->secret_key);
  // Anything that opens must also have passed the key-less validation.
  if (opened.ok() && !v.ok()) __builtin_trap();
  return 0;
}

#ifdef SEALTRACE_FUZZ_MAKE_SEEDS
// Writes the format-2 seeds, seed_v2_*.seg (the seed_N.seg files are format 1,
// written by this generator before v2 existed; keep them: readers accept v1).
// g++ -std=c++20 -DSEALTRACE_FUZZ_MAKE_SEEDS -I src -I build/proto fuzz/segment_fuzz.cc \
//   build/src/segment/libst_segment.a build/src/crypto/libst_crypto.a \
//   build/proto/libsealtrace_proto.a -lprotobuf -lsodium -lzstd $(absl libs) -o /tmp/mkseeds
// /tmp/mkseeds fuzz/corpus/segment
int main(int argc, char** argv) {
  sealtrace::InitCrypto();
  auto kp = FixedKey();
  const char* dir = argc > 1 ? argv[1] : ".";
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::string path = std::string(dir) + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return true;
  };
  // Event segments; the 400-event one starts 200 ms before an hour boundary,
  // so its clear range is two hours.
  for (int n : {0, 1, 5, 60, 400}) {
    sealtrace::SegmentBuilder::Params p;
    p.contributor_id.b.fill(1);
    p.device_id.b.fill(2);
    p.segment_id.b.fill(static_cast<uint8_t>(3 + n % 200));
    p.sequence = static_cast<uint64_t>(n);
    p.wall_anchor_us = 1'790'002'800'000'000 - (n == 400 ? 200'000 : 1'800'000'000);
    p.start_mono_us = 1'000'000 + static_cast<uint64_t>(n);
    p.recipient_public_key = kp.public_key;
    p.chunk_target_bytes = 512;
    sealtrace::SegmentBuilder b(p);
    for (int i = 0; i < n; ++i) {
      sealtrace::v1::Event e;
      e.set_t_us(static_cast<uint64_t>(i) * 1000);
      if (i % 3 == 0) {
        e.mutable_key()->set_text("x");
        e.mutable_key()->set_down(true);
      } else if (i % 3 == 1) {
        e.mutable_pointer()->set_x(i);
        e.mutable_pointer()->set_y(i * 2);
      } else {
        e.mutable_focus()->set_title("window " + std::to_string(i));
      }
      b.Add(e);
    }
    auto s = b.Seal();
    if (!s.ok() || !write("seed_v2_" + std::to_string(n) + ".seg", *s)) return 1;
  }
  // A frame segment.
  {
    sealtrace::SegmentBuilder::Params p;
    p.contributor_id.b.fill(1);
    p.device_id.b.fill(2);
    p.segment_id.b.fill(250);
    p.sequence = 1000;
    p.wall_anchor_us = 1'790'001'000'000'000;
    p.recipient_public_key = kp.public_key;
    p.flags = sealtrace::kFlagFramePayload;
    p.chunk_target_bytes = 512;
    sealtrace::SegmentBuilder b(p);
    std::string png = "\x89PNG\r\n\x1a\n";
    for (int i = 0; png.size() < 1500; ++i) png.push_back(static_cast<char>(i * 31));
    b.AddRaw(png);
    auto s = b.Seal();
    if (!s.ok() || !write("seed_v2_frame.seg", *s)) return 1;
  }
  return 0;
}
#endif
