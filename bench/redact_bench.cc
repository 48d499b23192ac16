// Redaction throughput beside `cat`, measured in the same run.
//
// Part 1 (the mixed file): a deterministic >= 64 MB mixed text (prose, logs,
// code, configs, CSV with numbers, hashes, base64, and lines of the labelled
// evaluation corpus with secrets and look-alikes; redact_mixed_input.h) is
// written to a temporary file, then, `--rounds` times each:
//   memcpy            64 KiB memcpy of the buffer (memory baseline)
//   read              read(2) the file -> write(2) /dev/null, 64 KiB (in-process cat)
//   cat               /bin/cat < file > out file (process harness)
//   sealtrace redact  sealtrace redact < file > out file (same harness, whole CLI)
//   Redactor::Redact whole buffer / per line, Redactor::ScanLines on 1 MiB
//   blocks (the CLI's engine path), StreamRedactor (in-process)
// and prints MB/s (best and median round) and the ratio to `cat` and to
// read. The CLI's output is checked byte for byte against the in-process
// per-line Redact of the same input. The same is done on an adversarial file
// (long digit and alphanumeric runs, digit groups, repeated cues, binary
// garbage), with the CLI's peak RSS.
// Part 2: the google-benchmark micro cases on ~1 MiB of typed-looking text.
//
// Flags (before the google-benchmark ones):
//   --mixed_mb=N        size of the mixed file (default 64; 0 skips part 1)
//   --adversarial_mb=N  size of the adversarial file (default 16; 0 skips it)
//   --rounds=N          rounds per measurement (default 3)
//   --sealtrace=PATH    the CLI (default: the build's sealtrace, or $SEALTRACE_BINARY)
//   --rule_costs        per-rule candidates, findings and validator time on the mixed file
//   --mixed_only        skip part 2
//   --write_input=PATH  write the mixed file to PATH (and the adversarial one to
//                       PATH.adversarial) and exit
//   --save_output=PATH  keep the CLI's output (PATH, PATH.adversarial)
//   --compare_output=PATH  also compare the CLI's output with a kept one
// Single-threaded: every figure is per core.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <hs.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "privacy/gate.h"
#include "privacy/hs_compile.h"
#include "privacy/redactor.h"
#include "privacy/redactor_rules.h"
#include "redact_mixed_input.h"

extern char** environ;

namespace {

using sealtrace::privacy::Finding;
using sealtrace::privacy::Redactor;
using sealtrace::privacy::StreamRedactor;

std::shared_ptr<const Redactor> R() {
  static auto r = *Redactor::Create({});
  return r;
}

// ---------------------------------------------------------------------------
// Part 1: the mixed file, process harness.

struct Flags {
  size_t mixed_mb = 64;
  size_t adversarial_mb = 16;
  int rounds = 3;
  std::string sealtrace;
  bool rule_costs = false;
  bool mixed_only = false;
  std::string write_input;
  std::string save_output;     // where to keep the CLI's output (mixed file)
  std::string compare_output;  // a saved output to compare the CLI's with
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Sample {
  double wall = 0;  // seconds
  double cpu = 0;   // seconds (user + sys), processes only
  long max_rss_kb = 0;
};

struct Row {
  std::string name;
  std::vector<Sample> samples;
  size_t bytes = 0;
  bool process = false;
};

double CpuNow() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Times f() in wall and CPU seconds (in-process cases; single-threaded).
template <typename F>
Sample Time(F f) {
  double w0 = Now(), c0 = CpuNow();
  f();
  return Sample{Now() - w0, CpuNow() - c0, 0};
}

double MBps(size_t bytes, double s) { return s > 0 ? bytes / s / 1e6 : 0; }

double Best(const Row& r) {
  double b = 1e300;
  for (const auto& s : r.samples) b = std::min(b, s.wall);
  return b;
}
double Median(const Row& r) {
  std::vector<double> v;
  for (const auto& s : r.samples) v.push_back(s.wall);
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double BestCpu(const Row& r) {
  double b = 1e300;
  for (const auto& s : r.samples) b = std::min(b, s.cpu);
  return b;
}

// Runs argv with stdin from `in` and stdout to `out`; wall time, child CPU
// and peak RSS.
bool RunProcess(const std::vector<std::string>& args, const std::string& in,
                const std::string& out, Sample* s) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  double t0 = Now();
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return false;
  // Peak RSS: VmHWM from /proc while it runs (ru_maxrss of a spawned child
  // also counts the parent's pages it shared before exec).
  std::string status_path = "/proc/" + std::to_string(pid) + "/status";
  int status = 0;
  rusage ru{};
  for (;;) {
    pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    if (w < 0) return false;
    if (FILE* f = std::fopen(status_path.c_str(), "r")) {
      char line[256];
      while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmHWM:", 6) == 0) s->max_rss_kb = std::atol(line + 6);
      std::fclose(f);
    }
    usleep(2000);
  }
  s->wall = Now() - t0;
  s->cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool WriteFile(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  return std::fclose(f) == 0 && ok;
}

std::string ReadFile(const std::string& path) {
  std::string s;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return s;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

template <typename F>
void ForEachLine(const std::string& text, F f) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    f(std::string_view(text).substr(start, nl - start));
    start = nl + 1;
  }
}

// What `sealtrace redact` must print: every line (without the '\r' of a
// "\r\n") redacted on its own, as Redact(line) does; a line of 1 MiB or more
// (longer than the CLI's input block) through StreamRedactor, as the CLI
// streams it.
constexpr size_t kCliBlock = 1 << 20;
std::string ExpectedCliOutput(const std::string& text, size_t* findings, size_t* streamed) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::vector<Finding> f;
  ForEachLine(text, [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // "\r\n" ends a line
    if (line.size() >= kCliBlock) {
      ++*streamed;
      StreamRedactor s(R());
      (void)s.Append(line, &out, &f);
      (void)s.EndRun(&out, &f);
    } else {
      out += *R()->Redact(line, &f);
    }
    out.push_back('\n');
    *findings += f.size();
    f.clear();
  });
  return out;
}

struct InProcess {
  const char* name;
  std::function<size_t(const std::string&)> run;  // returns output bytes
};

std::vector<InProcess> InProcessCases() {
  return {
      {"Redactor::Redact, whole buffer",
       [](const std::string& t) { return R()->Redact(t)->size(); }},
      {"Redactor::Redact, per line",
       [](const std::string& t) {
         size_t n = 0;
         ForEachLine(t, [&](std::string_view l) { n += R()->Redact(l)->size() + 1; });
         return n;
       }},
      {"Redactor::ScanLines, 1 MiB blocks",
       [](const std::string& t) {
         // The CLI's engine path: complete lines of 1 MiB blocks.
         std::string out;
         size_t n = 0;
         for (size_t b = 0; b < t.size();) {
           size_t e = std::min(t.size(), b + (1 << 20));
           if (e < t.size()) {
             size_t nl = t.rfind('\n', e - 1);
             e = nl == std::string::npos || nl < b ? e : nl + 1;
           }
           std::string_view block = std::string_view(t).substr(b, e - b);
           auto f = R()->ScanLines(block);
           out = Redactor::Apply(block, *f);
           n += out.size();
           b = e;
         }
         return n;
       }},
      {"StreamRedactor, run per line",
       [](const std::string& t) {
         StreamRedactor s(R());
         std::string out;
         size_t n = 0;
         ForEachLine(t, [&](std::string_view l) {
           (void)s.Append(l, &out, nullptr);
           (void)s.EndRun(&out, nullptr);
           out.push_back('\n');
           if (out.size() > (1 << 16)) {
             n += out.size();
             out.clear();
           }
         });
         return n + out.size();
       }},
      {"StreamRedactor, one run, 64 KiB",
       [](const std::string& t) {
         StreamRedactor s(R());
         std::string out;
         size_t n = 0;
         for (size_t i = 0; i < t.size(); i += 1 << 16) {
           (void)s.Append(std::string_view(t).substr(i, 1 << 16), &out, nullptr);
           n += out.size();
           out.clear();
         }
         (void)s.EndRun(&out, nullptr);
         return n + out.size();
       }},
  };
}

void PrintRows(const std::vector<Row>& rows, const Row& cat) {
  std::printf("  %-36s %10s %10s %9s %9s %9s %9s\n", "case", "wall MB/s", "median", "x cat",
              "CPU MB/s", "x cat CPU", "max RSS");
  double cat_w = Best(cat), cat_c = BestCpu(cat);
  for (const auto& r : rows) {
    double b = Best(r), c = BestCpu(r);
    char rss[32] = "";
    if (r.process) {
      long m = 0;
      for (const auto& s : r.samples) m = std::max(m, s.max_rss_kb);
      std::snprintf(rss, sizeof rss, "%.1f MB", m / 1024.0);
    }
    std::printf("  %-36s %10.1f %10.1f %9.4f %9.1f %9.4f %9s\n", r.name.c_str(), MBps(r.bytes, b),
                MBps(r.bytes, Median(r)), cat_w / b, MBps(r.bytes, c), c > 0 ? cat_c / c : 0, rss);
  }
}

// Measures one input file: baselines, CLI, in-process cases.
bool MeasureFile(const char* title, const std::string& text, const Flags& fl) {
  std::string dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string in = dir + "/sealtrace_redact_bench_in_" + std::to_string(getpid());
  std::string out = dir + "/sealtrace_redact_bench_out_" + std::to_string(getpid());
  if (!WriteFile(in, text)) {
    std::fprintf(stderr, "cannot write %s\n", in.c_str());
    return false;
  }
  size_t lines = std::count(text.begin(), text.end(), '\n');
  std::printf("\n== %s: %zu bytes (%.1f MB), %zu lines, %d rounds ==\n", title, text.size(),
              text.size() / 1e6, lines, fl.rounds);
  std::vector<Row> rows;
  auto add = [&](const std::string& name, bool process) -> Row& {
    rows.push_back(Row{name, {}, text.size(), process});
    return rows.back();
  };
  // Baselines.
  {
    Row& r = add("memcpy 64 KiB", false);
    std::vector<char> buf(1 << 16);
    for (int k = 0; k < fl.rounds; ++k) {
      r.samples.push_back(Time([&] {
        for (size_t off = 0; off < text.size(); off += buf.size()) {
          size_t n = std::min(buf.size(), text.size() - off);
          std::memcpy(buf.data(), text.data() + off, n);
          benchmark::DoNotOptimize(buf.data());
        }
      }));
    }
  }
  {
    Row& r = add("read(2) -> /dev/null 64 KiB", false);
    std::vector<char> buf(1 << 16);
    for (int k = 0; k < fl.rounds; ++k) {
      int fd = open(in.c_str(), O_RDONLY), null = open("/dev/null", O_WRONLY);
      r.samples.push_back(Time([&] {
        ssize_t n;
        while ((n = read(fd, buf.data(), buf.size())) > 0)
          if (write(null, buf.data(), static_cast<size_t>(n)) != n) break;
      }));
      close(fd);
      close(null);
    }
  }
  const std::string cat = "/bin/cat";
  {
    Row& r = add("cat < file > file", true);
    for (int k = 0; k < fl.rounds; ++k) {
      Sample s;
      if (!RunProcess({cat}, in, out, &s)) {
        std::fprintf(stderr, "cat failed\n");
        return false;
      }
      r.samples.push_back(s);
    }
  }
  bool cli_ok = true;
  std::string cli_output;
  if (!fl.sealtrace.empty() && access(fl.sealtrace.c_str(), X_OK) == 0) {
    Row& r = add("sealtrace redact < file > file", true);
    for (int k = 0; k < fl.rounds; ++k) {
      Sample s;
      if (!RunProcess({fl.sealtrace, "redact"}, in, out, &s)) {
        std::fprintf(stderr, "sealtrace redact failed\n");
        cli_ok = false;
        break;
      }
      r.samples.push_back(s);
    }
    cli_output = ReadFile(out);
  } else {
    std::printf("  (no sealtrace binary at '%s': CLI not measured; pass --sealtrace=PATH)\n",
                fl.sealtrace.c_str());
    cli_ok = false;
  }
  for (const auto& c : InProcessCases()) {
    Row& r = add(c.name, false);
    for (int k = 0; k < fl.rounds; ++k) {
      r.samples.push_back(Time([&] {
        size_t n = c.run(text);
        benchmark::DoNotOptimize(n);
      }));
    }
  }
  const Row& cat_row = rows[2];
  double cat_s = Best(cat_row);
  PrintRows(rows, cat_row);
  // Same findings: the CLI's output equals per-line Redact.
  size_t findings = 0, streamed = 0;
  std::string want = ExpectedCliOutput(text, &findings, &streamed);
  std::printf("  findings (each line on its own): %zu; output %zu bytes; %zu lines >= 1 MiB\n",
              findings, want.size(), streamed);
  if (cli_ok) {
    bool same = cli_output == want;
    std::printf("  sealtrace redact output identical to each line redacted on its own: %s\n",
                same ? "yes" : "NO");
    if (!fl.compare_output.empty()) {
      std::string other = ReadFile(fl.compare_output);
      std::printf("  sealtrace redact output identical to %s: %s\n", fl.compare_output.c_str(),
                  other == cli_output ? "yes" : "NO");
    }
    if (!fl.save_output.empty()) WriteFile(fl.save_output, cli_output);
    for (const auto& r : rows) {
      if (r.name.rfind("sealtrace redact", 0) == 0)
        std::printf(
            "  => sealtrace redact: %.1f MB/s wall (best of %d), %.3f x cat (%.1f MB/s); "
            "%.1f MB/s CPU, %.3f x cat CPU\n",
            MBps(r.bytes, Best(r)), fl.rounds, cat_s / Best(r), MBps(r.bytes, cat_s),
            MBps(r.bytes, BestCpu(r)), BestCpu(cat_row) / BestCpu(r));
    }
  }
  unlink(in.c_str());
  unlink(out.c_str());
  return !cli_ok || cli_output == want;
}

// Per rule, on the mixed file: the candidates its patterns produce and the
// findings and validator time they lead to (line by line, as the CLI sees the
// text; a whole-text rule's validator is its whole cost), and what its
// patterns cost Vectorscan: the CPU time of one scan of the file with all
// patterns minus that without the rule's (validators off). Sorted by the sum.
namespace rules = sealtrace::privacy::rules;

struct RuleStat {
  size_t candidates = 0, findings = 0;
  double validate_s = 0;
};

struct CostCtx {
  rules::ScanState* st;
  const std::vector<Redactor::Rule>* rules;
  const std::vector<uint32_t>* pattern_rule;
  std::vector<RuleStat>* stats;
  bool validate;
};

int CostOnMatch(unsigned id, unsigned long long from, unsigned long long to, unsigned, void* p) {
  auto* c = static_cast<CostCtx*>(p);
  uint32_t rule = (*c->pattern_rule)[id];
  auto& s = (*c->stats)[rule];
  ++s.candidates;
  if (!c->validate) return 0;
  const size_t before = c->st->out->size();
  auto t0 = std::chrono::steady_clock::now();
  Finding f{};
  if ((*c->rules)[rule].validate(*c->st, rule, from, to, &f) && f.end > f.begin) c->st->out->push_back(f);
  s.validate_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.findings += c->st->out->size() - before;
  return 0;
}

struct RuleDb {
  hs_database_t* db = nullptr;
  hs_scratch_t* scratch = nullptr;
  std::vector<uint32_t> pattern_rule;
  ~RuleDb() {
    if (scratch) hs_free_scratch(scratch);
    if (db) hs_free_database(db);
  }
};

bool BuildRuleDb(const std::vector<Redactor::Rule>& all, const std::vector<size_t>& keep,
                 RuleDb* out) {
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (size_t i : keep)
    for (const auto& p : all[i].patterns) {
      ids.push_back(static_cast<unsigned>(exprs.size()));
      exprs.push_back(p.expr);
      flags.push_back(p.flags);
      out->pattern_rule.push_back(static_cast<uint32_t>(i));
    }
  int bad = -1;
  auto db = sealtrace::privacy::CompileHsBlockDatabase(exprs, flags, ids, &bad);
  if (!db.ok()) return false;
  out->db = *db;
  return hs_alloc_scratch(out->db, &out->scratch) == HS_SUCCESS;
}

// CPU seconds of one scan of `text` (best of `rounds`), counting matches only.
double ScanOnlyCpu(const RuleDb& d, const std::string& text, int rounds) {
  double best = 1e300;
  for (int r = 0; r < rounds; ++r) {
    size_t n = 0;
    double t0 = CpuNow();
    hs_scan(
        d.db, text.data(), static_cast<unsigned>(text.size()), 0, d.scratch,
        [](unsigned, unsigned long long, unsigned long long, unsigned, void* c) {
          ++*static_cast<size_t*>(c);
          return 0;
        },
        &n);
    best = std::min(best, CpuNow() - t0);
  }
  return best;
}

void RuleCosts(const std::string& text) {
  std::vector<Redactor::Rule> all;
  rules::AddIdentifierRules(&all);
  rules::AddTokenRules(&all);
  rules::AddCredentialRules(&all);
  std::vector<size_t> every;
  for (size_t i = 0; i < all.size(); ++i) every.push_back(i);
  RuleDb full;
  if (!BuildRuleDb(all, every, &full)) {
    std::printf("rule costs: cannot compile\n");
    return;
  }
  // Candidates, findings and validator time, line by line.
  std::vector<RuleStat> stats(all.size());
  {
    std::vector<Finding> raw;
    std::vector<size_t> skip(all.size(), 0), last(all.size(), std::string_view::npos);
    rules::ScanState st{{},     R().get(), &raw, &skip, &last, std::string_view::npos,
                        std::string_view::npos, nullptr};
    CostCtx ctx{&st, &all, &full.pattern_rule, &stats, true};
    ForEachLine(text, [&](std::string_view line) {
      if (line.empty()) return;
      st.text = line;
      std::fill(skip.begin(), skip.end(), 0);
      std::fill(last.begin(), last.end(), std::string_view::npos);
      st.pem_end_cache_from = st.pem_end_cache_pos = std::string_view::npos;
      raw.clear();
      hs_scan(full.db, line.data(), static_cast<unsigned>(line.size()), 0, full.scratch,
              CostOnMatch, &ctx);
    });
  }
  const int rounds = 3;
  const double full_scan = ScanOnlyCpu(full, text, rounds);
  std::vector<double> without(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    std::vector<size_t> keep;
    for (size_t j = 0; j < all.size(); ++j)
      if (j != i) keep.push_back(j);
    RuleDb d;
    without[i] = BuildRuleDb(all, keep, &d) ? ScanOnlyCpu(d, text, rounds) : 0;
  }
  std::printf("\n== per-rule cost on the mixed file (%.1f MB) ==\n", text.size() / 1e6);
  std::printf("  Vectorscan alone, all %zu rules, one scan, no validators: %.3f s CPU (%.1f MB/s)\n",
              all.size(), full_scan, MBps(text.size(), full_scan));
  std::printf("  %-4s %-20s %11s %8s %11s %10s %10s  %s\n", "rule", "kind", "candidates",
              "findings", "validate s", "scan s", "sum ms/MB", "first pattern");
  std::vector<size_t> order = every;
  auto cost = [&](size_t i) { return stats[i].validate_s + std::max(0.0, full_scan - without[i]); };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost(a) > cost(b); });
  for (size_t i : order) {
    const auto& s = stats[i];
    std::string pat = all[i].patterns.empty() ? "" : all[i].patterns[0].expr;
    if (pat.size() > 56) pat = pat.substr(0, 53) + "...";
    std::printf("  %-4zu %-20s %11zu %8zu %11.3f %10.3f %10.3f  %s\n", i,
                std::string(sealtrace::privacy::KindName(all[i].kind)).c_str(), s.candidates,
                s.findings, s.validate_s, full_scan - without[i],
                cost(i) * 1e3 / (text.size() / 1e6), pat.c_str());
  }
  std::printf(
      "  (scan s: CPU time of the scan with all patterns minus without the rule's, best of %d;\n"
      "   noisy on a busy machine, and can be negative. validate s: per-candidate timing,\n"
      "   includes ~25 ns of clock reads per candidate. ^[\\s\\S] marks a whole-text rule.)\n",
      rounds);
}

// ---------------------------------------------------------------------------
// Part 2: google-benchmark micro cases on ~1 MiB of typed-looking text, with
// a cat-like and a memcpy baseline in the same run.

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

// One Redact() per line (the --json path).
void BM_RedactLines(benchmark::State& state) {
  size_t findings = 0;
  for (auto _ : state) {
    for (const auto& l : Lines()) {
      std::vector<Finding> f;
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
    StreamRedactor s(R());
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

// Stream mode, the whole text as one run in 4 KiB pieces.
void BM_RedactStreamOneRun4K(benchmark::State& state) {
  for (auto _ : state) {
    StreamRedactor s(R());
    std::string out;
    for (size_t i = 0; i < Blob().size(); i += 4096) {
      (void)s.Append(std::string_view(Blob()).substr(i, 4096), &out, nullptr);
      out.clear();
    }
    (void)s.EndRun(&out, nullptr);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Blob().size()));
}
BENCHMARK(BM_RedactStreamOneRun4K);

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
      std::printf("  %-24s %10.1f MB/s   %8.4f x cat\n", name.c_str(), v, cat > 0 ? v / cat : 0);
    }
  }

 private:
  std::map<std::string, double> mbps_;
};

bool TakeFlag(const char* arg, const char* name, std::string* value) {
  size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0) return false;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return true;
  }
  if (arg[n] == 0) {
    *value = "1";
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  Flags fl;
#ifdef SEALTRACE_BINARY_PATH
  fl.sealtrace = SEALTRACE_BINARY_PATH;
#endif
  if (const char* e = std::getenv("SEALTRACE_BINARY")) fl.sealtrace = e;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (TakeFlag(argv[i], "--mixed_mb", &v)) {
      fl.mixed_mb = std::strtoull(v.c_str(), nullptr, 10);
    } else if (TakeFlag(argv[i], "--adversarial_mb", &v)) {
      fl.adversarial_mb = std::strtoull(v.c_str(), nullptr, 10);
    } else if (TakeFlag(argv[i], "--rounds", &v)) {
      fl.rounds = std::max(1, std::atoi(v.c_str()));
    } else if (TakeFlag(argv[i], "--sealtrace", &v)) {
      fl.sealtrace = v;
    } else if (TakeFlag(argv[i], "--rule_costs", &v)) {
      fl.rule_costs = true;
    } else if (TakeFlag(argv[i], "--mixed_only", &v)) {
      fl.mixed_only = true;
    } else if (TakeFlag(argv[i], "--write_input", &v)) {
      fl.write_input = v;
    } else if (TakeFlag(argv[i], "--save_output", &v)) {
      fl.save_output = v;
    } else if (TakeFlag(argv[i], "--compare_output", &v)) {
      fl.compare_output = v;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rargc = static_cast<int>(rest.size());
  benchmark::Initialize(&rargc, rest.data());
  int rc = 0;
  if (!fl.write_input.empty() || fl.mixed_mb > 0 || fl.rule_costs) {
    size_t mb = fl.mixed_mb > 0 ? fl.mixed_mb : 64;
    double t0 = Now();
    std::string text = sealtrace::bench::MixedRedactionInput(mb << 20);
    std::printf("mixed input: %zu bytes generated in %.2f s\n", text.size(), Now() - t0);
    if (!fl.write_input.empty()) {
      std::string adv = sealtrace::bench::AdversarialRedactionInput(
          (fl.adversarial_mb > 0 ? fl.adversarial_mb : 16) << 20);
      return WriteFile(fl.write_input, text) && WriteFile(fl.write_input + ".adversarial", adv)
                 ? 0
                 : 1;
    }
    if (fl.mixed_mb > 0 && !MeasureFile("mixed file", text, fl)) rc = 1;
    if (fl.rule_costs) RuleCosts(text);
  }
  if (fl.adversarial_mb > 0) {
    std::string adv = sealtrace::bench::AdversarialRedactionInput(fl.adversarial_mb << 20);
    Flags afl = fl;
    afl.save_output = fl.save_output.empty() ? "" : fl.save_output + ".adversarial";
    afl.compare_output = fl.compare_output.empty() ? "" : fl.compare_output + ".adversarial";
    if (!MeasureFile("adversarial file", adv, afl)) rc = 1;
  }
  std::fflush(stdout);
  if (!fl.mixed_only) {
    // Compile the engine and build the text before any timing (the first
    // benchmark would otherwise pay the Vectorscan compile).
    benchmark::DoNotOptimize(R());
    benchmark::DoNotOptimize(Blob());
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  benchmark::Shutdown();
  return rc;
}
