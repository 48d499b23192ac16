// Redaction throughput on realistic typed text, beside a `cat`-like baseline
// (read(2) from a page-cached file + write(2) to /dev/null, and plain memcpy)
// measured in the same run. Single-threaded: figures are per core.
//
// Prints, after the google-benchmark table, each redaction benchmark's MB/s
// and its ratio to the cat baseline.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "privacy/gate.h"
#include "privacy/redactor.h"

namespace {

using sealtrace::privacy::Redactor;

// ~1 MiB of typed-looking text: shell commands, prose, code, chat-like
// lines, with a secret or identifier every ~40 lines.
const std::vector<std::string>& Lines() {
  static const std::vector<std::string> lines = [] {
    static const char* kPlain[] = {
        "git commit -am \"fix the flaky upload retry test\"",
        "cd ~/src/sealtrace && cmake --build build -j2",
        "Thanks for the review, I will update the docs tomorrow morning.",
        "for (size_t i = 0; i < events.size(); ++i) total += events[i].t_us();",
        "kubectl get pods -n staging | grep api",
        "Meeting moved to 14:30, room 4.12, agenda in the shared doc",
        "SELECT id, created_at FROM segments WHERE device_id = 42 ORDER BY id;",
        "the quarterly numbers look fine, version 2.14.0 ships on 2024-03-15",
        "def parse(line): return [int(x) for x in line.split(',')]",
        "ssh build-01 'journalctl -u sealtrace-agent --since today | tail -50'",
    };
    static const char* kSecret[] = {
        "card 4111 1111 1111 1111 exp 12/27",
        "password: Tr0ub4dor&3",
        "export GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "mail jane.roe@example.com about it",
        "call +44 20 7946 0958 after lunch",
    };
    std::vector<std::string> v;
    size_t bytes = 0;
    for (size_t i = 0; bytes < (1u << 20); ++i) {
      std::string l = i % 40 == 39 ? kSecret[(i / 40) % 5] : kPlain[(i * 7) % 10];
      bytes += l.size() + 1;
      v.push_back(std::move(l));
    }
    return v;
  }();
  return lines;
}

const std::string& Blob() {
  static const std::string b = [] {
    std::string s;
    for (const auto& l : Lines()) s += l + "\n";
    return s;
  }();
  return b;
}

std::shared_ptr<const Redactor> R() {
  static auto r = *Redactor::Create({});
  return r;
}

void BM_CatBaseline(benchmark::State& state) {
  char path[] = "/tmp/sealtrace_redact_bench_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, Blob().data(), Blob().size()) != static_cast<ssize_t>(Blob().size())) {
    state.SkipWithError("temp file");
    return;
  }
  int null = open("/dev/null", O_WRONLY);
  std::vector<char> buf(64 * 1024);
  for (auto _ : state) {
    off_t off = 0;
    ssize_t n;
    while ((n = pread(fd, buf.data(), buf.size(), off)) > 0) {
      off += n;
      if (write(null, buf.data(), static_cast<size_t>(n)) != n) state.SkipWithError("write");
    }
  }
  close(null);
  close(fd);
  unlink(path);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Blob().size()));
}
BENCHMARK(BM_CatBaseline);

void BM_MemcpyBaseline(benchmark::State& state) {
  std::vector<char> buf(64 * 1024);
  for (auto _ : state) {
    const std::string& b = Blob();
    for (size_t off = 0; off < b.size(); off += buf.size()) {
      size_t n = std::min(buf.size(), b.size() - off);
      std::memcpy(buf.data(), b.data() + off, n);
      benchmark::DoNotOptimize(buf.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Blob().size()));
}
BENCHMARK(BM_MemcpyBaseline);

// `sealtrace redact` path: one Redact() per line.
void BM_RedactLines(benchmark::State& state) {
  size_t findings = 0;
  for (auto _ : state) {
    for (const auto& l : Lines()) {
      std::vector<sealtrace::privacy::Finding> f;
      auto out = R()->Redact(l, &f);
      findings += f.size();
      benchmark::DoNotOptimize(out);
    }
  }
  state.counters["findings"] = static_cast<double>(findings) / state.iterations();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Blob().size()));
}
BENCHMARK(BM_RedactLines);

// Whole buffer in one scan (upper bound of the engine).
void BM_RedactBlock(benchmark::State& state) {
  for (auto _ : state) {
    auto out = R()->Redact(Blob());
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Blob().size()));
}
BENCHMARK(BM_RedactBlock);

// Stream mode, 16-byte pieces, one run per line.
void BM_RedactStream16(benchmark::State& state) {
  for (auto _ : state) {
    sealtrace::privacy::StreamRedactor s(R());
    std::string out;
    for (const auto& l : Lines()) {
      for (size_t i = 0; i < l.size(); i += 16)
        (void)s.Append(std::string_view(l).substr(i, 16), &out, nullptr);
      (void)s.EndRun(&out, nullptr);
      out.clear();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Blob().size()));
}
BENCHMARK(BM_RedactStream16);

// The recorder path: one key press + release per character through the gate.
class NullSink : public sealtrace::EventSink {
 public:
  void OnEvent(sealtrace::v1::Event e) override { benchmark::DoNotOptimize(e); }
};

void BM_GateTyping(benchmark::State& state) {
  NullSink sink;
  auto cfg = sealtrace::privacy::DefaultPrivacyConfig();
  auto gate = *sealtrace::privacy::PrivacyGate::Create(&sink, cfg);
  gate->SetConsent(true);
  sealtrace::v1::Event focus;
  focus.mutable_focus()->set_window_id(1);
  focus.mutable_focus()->set_app_class("xterm");
  gate->OnEvent(focus);
  uint64_t t = 1;
  sealtrace::v1::Event e;
  for (auto _ : state) {
    for (const auto& l : Lines()) {
      for (char c : l) {
        e.set_t_us(t++);
        auto* k = e.mutable_key();
        k->set_down(true);
        k->set_keysym(static_cast<unsigned char>(c));
        k->set_text(std::string(1, c));
        gate->OnEvent(e);
        k->set_down(false);
        k->set_text("");
        gate->OnEvent(e);
      }
      e.set_t_us(t++);
      e.mutable_key()->set_down(true);
      e.mutable_key()->set_keysym(0xff0d);
      e.mutable_key()->set_text("\r");
      gate->OnEvent(e);
    }
    gate->Flush();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Blob().size()));
}
BENCHMARK(BM_GateTyping)->Unit(benchmark::kMillisecond);

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      auto it = r.counters.find("bytes_per_second");
      if (it != r.counters.end()) mbps_[r.benchmark_name()] = it->second.value / 1e6;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    double cat = mbps_.count("BM_CatBaseline") ? mbps_["BM_CatBaseline"] : 0;
    std::printf("\nthroughput per core (MB/s) and ratio to the cat baseline (%.1f MB/s):\n", cat);
    for (const auto& [name, v] : mbps_) {
      std::printf("  %-22s %10.1f MB/s   %8.4f x cat\n", name.c_str(), v, cat > 0 ? v / cat : 0);
    }
  }

 private:
  std::map<std::string, double> mbps_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
