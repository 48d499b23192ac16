// Export throughput: events/s on one core for the whole export (two passes of
// decrypt + decompress + parse, reduction, transforms, both formats, shard
// writes with fsync) beside only reading and decrypting the same segments, in
// the same run. Prints the ratio at the end.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "crypto/crypto.h"
#include "export/exporter.h"
#include "export/local_provider.h"
#include "segment/format.h"

namespace sealtrace::exporter {
namespace {

constexpr int kContributors = 4;
constexpr int kSegmentsPerContributor = 3;
constexpr int kEventsPerSegment = 20000;

struct Corpus {
  std::vector<std::pair<std::string, std::string>> files;
  std::map<Id16, std::string> secret_keys;
  std::map<Id16, std::string> public_keys;
  std::vector<Id16> owners;  // per file
  uint64_t events = 0;
};

Id16 MakeId(uint8_t a, uint8_t b) {
  Id16 id;
  id.b.fill(0x11);
  id.b[0] = a;
  id.b[1] = b;
  return id;
}

// A plausible mix: pointer moves, clicks, typing bursts, scrolls, focus changes.
std::vector<v1::Event> Events(int seed) {
  std::vector<v1::Event> out;
  out.reserve(kEventsPerSegment);
  uint64_t t = 0;
  int x = 500, y = 400;
  uint32_t rnd = 12345u + seed;
  auto next = [&] { return rnd = rnd * 1664525u + 1013904223u; };
  while (out.size() < static_cast<size_t>(kEventsPerSegment)) {
    const uint32_t r = next() % 100;
    v1::Event e;
    t += 8000 + next() % 40000;
    e.set_t_us(t);
    if (r < 1) {
      auto* f = e.mutable_focus();
      f->set_window_id(next() % 5);
      f->set_app_class(r % 2 ? "firefox" : "code");
      f->set_title("Some window title " + std::to_string(next() % 50));
      f->set_screen_width(1920);
      f->set_screen_height(1080);
    } else if (r < 50) {
      x = static_cast<int>((x + next() % 21) % 1920);
      y = static_cast<int>((y + next() % 17) % 1080);
      auto* p = e.mutable_pointer();
      p->set_kind(v1::PointerEvent::MOVE);
      p->set_x(x);
      p->set_y(y);
    } else if (r < 56) {
      auto* p = e.mutable_pointer();
      p->set_kind(r < 53 ? v1::PointerEvent::BUTTON_DOWN : v1::PointerEvent::BUTTON_UP);
      p->set_x(x);
      p->set_y(y);
      p->set_button(1);
    } else if (r < 60) {
      auto* p = e.mutable_pointer();
      p->set_kind(v1::PointerEvent::SCROLL);
      p->set_x(x);
      p->set_y(y);
      p->set_scroll_dy(r % 2 ? 1 : -1);
    } else {
      auto* k = e.mutable_key();
      k->set_down(r < 80);
      const char c = static_cast<char>('a' + next() % 26);
      k->set_keysym(static_cast<uint32_t>(c));
      k->set_keycode(38);
      if (k->down()) k->set_text(std::string(1, c));
    }
    out.push_back(std::move(e));
  }
  return out;
}

const Corpus& GetCorpus() {
  static Corpus* c = [] {
    InitCrypto();
    auto* corpus = new Corpus();
    for (int ci = 0; ci < kContributors; ++ci) {
      BoxKeyPair kp = GenerateBoxKeyPair();
      const Id16 contributor = MakeId(1, static_cast<uint8_t>(ci));
      corpus->secret_keys[contributor] = std::string(kp.secret_key.view());
      corpus->public_keys[contributor] = kp.public_key;
      uint64_t start = 1'000'000'000;
      for (int si = 0; si < kSegmentsPerContributor; ++si) {
        SegmentBuilder::Params p;
        p.contributor_id = contributor;
        p.device_id = MakeId(2, static_cast<uint8_t>(ci));
        p.segment_id = MakeId(3, static_cast<uint8_t>(ci * 16 + si));
        p.sequence = si;
        p.start_mono_us = start;
        p.recipient_public_key = kp.public_key;
        SegmentBuilder b(p);
        auto events = Events(ci * 100 + si);
        for (const auto& e : events) b.Add(e);
        start += events.back().t_us() + 1000;
        corpus->events += events.size();
        corpus->files.emplace_back("seg-" + std::to_string(ci) + "-" + std::to_string(si),
                                   *b.Seal());
        corpus->owners.push_back(contributor);
      }
    }
    return corpus;
  }();
  return *c;
}

void BM_ReadDecrypt(benchmark::State& state) {
  const Corpus& c = GetCorpus();
  std::map<Id16, SecretKey> keys;
  for (const auto& [id, sk] : c.secret_keys) keys.emplace(id, SecretKey(sk));
  for (auto _ : state) {
    uint64_t n = 0;
    for (size_t i = 0; i < c.files.size(); ++i) {
      const Id16& owner = c.owners[i];
      auto seg = OpenSegment(c.files[i].second, c.public_keys.at(owner), keys.at(owner));
      if (!seg.ok()) state.SkipWithError("open failed");
      n += seg->events.size();
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * c.events);
}

void BM_Export(benchmark::State& state) {
  const Corpus& c = GetCorpus();
  const std::string dir =
      std::filesystem::temp_directory_path().string() + "/export-bench-" + std::to_string(getpid());
  uint64_t episodes = 0, steps = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(dir);
    KeyMap keys;
    for (const auto& [id, sk] : c.secret_keys) keys.Add(id, SecretKey(sk));
    InMemorySegmentProvider provider(std::move(keys));
    for (const auto& [name, bytes] : c.files) (void)provider.AddFile(name, bytes);
    InMemoryBudgetLedger ledger({1000, 1});
    ExportOptions o;
    o.output_dir = dir;
    o.purpose = "bench";
    o.transforms.k_anonymity = 2;
    state.ResumeTiming();
    auto r = Exporter(Env::Default(), &provider, o, &ledger).Run();
    if (!r.ok() || !r->completed) state.SkipWithError("export failed");
    episodes = r->episodes;
    steps = r->steps;
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * c.events);
  state.counters["episodes"] = static_cast<double>(episodes);
  state.counters["steps"] = static_cast<double>(steps);
}

BENCHMARK(BM_ReadDecrypt)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Export)->Unit(benchmark::kMillisecond)->MinTime(1.0);

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) rates[r.benchmark_name()] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> rates;
};

}  // namespace
}  // namespace sealtrace::exporter

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  sealtrace::exporter::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const auto& r = reporter.rates;
  auto read = r.find("BM_ReadDecrypt/min_time:1.000");
  auto exp = r.find("BM_Export/min_time:1.000");
  if (read != r.end() && exp != r.end() && read->second > 0) {
    std::printf(
        "\nevents/s per core: read+decrypt %.0f, full export %.0f; export/read ratio %.3f "
        "(export decrypts every segment twice: k-anonymity pass + export pass)\n",
        read->second, exp->second, exp->second / read->second);
  }
  benchmark::Shutdown();
  return 0;
}
