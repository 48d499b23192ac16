// On-device path: encode -> compress -> seal -> spool, in events per second per
// core, bytes per event and compression ratio. Baselines in the same run:
// protobuf encoding alone and encode+compress without sealing or fsync.
//
//   build/bench/device_path_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "agent/recorder.h"
#include "capture/replay/synthetic.h"
#include "segment/format.h"
#include "spool/spool.h"

namespace sealtrace {
namespace {

const std::vector<v1::Event>& Session() {
  static auto* s = [] {
    SyntheticOptions o;
    o.events = 100'000;
    o.seed = 7;
    return new std::vector<v1::Event>(MakeSyntheticSession(o));
  }();
  return *s;
}

void BM_EncodeOnly(benchmark::State& state) {
  const auto& ev = Session();
  std::string buf;
  for (auto _ : state) {
    buf.clear();
    for (const auto& e : ev) AppendDelimited(e, &buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ev.size()));
  state.counters["encoded_bytes_per_event"] =
      static_cast<double>(buf.size()) / static_cast<double>(ev.size());
}
BENCHMARK(BM_EncodeOnly)->Unit(benchmark::kMillisecond);

// Encode + zstd + seal (in memory), 1 s-sized segments as the recorder makes.
void BM_EncodeCompressSeal(benchmark::State& state) {
  const auto& ev = Session();
  BoxKeyPair kp = GenerateBoxKeyPair();
  const uint64_t seg_us = static_cast<uint64_t>(state.range(0)) * 1'000'000;
  size_t sealed = 0, plain = 0;
  for (auto _ : state) {
    sealed = plain = 0;
    size_t i = 0;
    while (i < ev.size()) {
      SegmentBuilder::Params p;
      p.contributor_id.b.fill(1);
      p.device_id.b.fill(2);
      p.segment_id.b.fill(3);
      p.recipient_public_key = kp.public_key;
      SegmentBuilder b(p);
      uint64_t t0 = ev[i].t_us();
      while (i < ev.size() && ev[i].t_us() - t0 < seg_us) b.Add(ev[i++]);
      plain += b.buffered_bytes();
      auto s = b.Seal();
      sealed += s->size();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ev.size()));
  state.counters["sealed_bytes_per_event"] = static_cast<double>(sealed) / ev.size();
  state.counters["compression_ratio"] = static_cast<double>(plain) / static_cast<double>(sealed);
}
// Arg: seconds of input per segment (the recorder's default is 1).
BENCHMARK(BM_EncodeCompressSeal)->Arg(1)->Arg(10)->Unit(benchmark::kMillisecond);

// The full recorder path onto a real spool directory (write, fdatasync,
// rename, directory fsync per segment), 1 s segments.
void BM_FullDevicePath(benchmark::State& state) {
  const auto& ev = Session();
  BoxKeyPair kp = GenerateBoxKeyPair();
  const uint64_t seg_us = static_cast<uint64_t>(state.range(0)) * 1'000'000;
  char tmpl[] = "/tmp/st_bench_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  uint64_t segs = 0, bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto spool = *Spool::Open(Env::Default(), {dir, 1ull << 34});
    auto list = *spool->List();
    for (auto& e : list) spool->Remove(e).IgnoreError();
    RecorderOptions o;
    o.contributor_id.b.fill(1);
    o.device_id.b.fill(2);
    o.recipient_public_key = kp.public_key;
    o.max_segment_age_us = INT64_MAX;  // cut by event time below, as 1 s of input
    Recorder rec(Env::Default(), spool.get(), o);
    state.ResumeTiming();
    uint64_t t0 = ev[0].t_us();
    for (const auto& e : ev) {
      if (e.t_us() - t0 >= seg_us) {
        rec.Flush().IgnoreError();
        t0 = e.t_us();
      }
      rec.OnEvent(e);
    }
    rec.Flush().IgnoreError();
    state.PauseTiming();
    auto st = rec.Stats();
    segs = st.segments;
    bytes = st.sealed_bytes;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ev.size()));
  state.counters["segments"] = static_cast<double>(segs);
  state.counters["sealed_bytes_per_event"] = static_cast<double>(bytes) / ev.size();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_FullDevicePath)->Arg(1)->Arg(10)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sealtrace

BENCHMARK_MAIN();
