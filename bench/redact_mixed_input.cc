#include "redact_mixed_input.h"

#include <cstdio>
#include <string_view>
#include <vector>

#include "gen_redaction_corpus/corpus.h"

namespace sealtrace::bench {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  bool Chance(unsigned percent) { return Below(100) < percent; }
  template <typename T, size_t N>
  const T& Pick(const T (&a)[N]) {
    return a[Below(N)];
  }
  std::string Chars(std::string_view alphabet, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(alphabet[Below(alphabet.size())]);
    return s;
  }
  std::string Num(uint64_t lo, uint64_t hi) { return std::to_string(lo + Next() % (hi - lo + 1)); }

 private:
  uint64_t s_;
};

constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char* const kWords[] = {
    "the",      "of",       "and",       "to",        "in",       "is",       "that",
    "for",      "it",       "as",        "was",       "with",     "be",       "by",
    "on",       "not",      "this",      "are",       "or",       "from",     "at",
    "which",    "but",      "have",      "an",        "they",     "we",       "their",
    "there",    "been",     "has",       "more",      "when",     "will",     "would",
    "who",      "so",       "no",        "data",      "system",   "recording","session",
    "contributor","privacy","window",    "keyboard",  "screen",   "upload",   "segment",
    "review",   "quarter",  "numbers",   "meeting",   "design",   "release",  "server",
    "latency",  "customer", "report",    "invoice",   "schedule", "project",  "team",
    "document", "approach", "question",  "results",   "analysis", "model",    "training",
    "evaluation","baseline","throughput","memory",    "process",  "thread",   "queue",
    "password", "token",    "account",   "order",     "number",   "phone",    "email",
    "address",  "version",  "build",     "deploy",    "cluster",  "service",  "request",
    "response", "error",    "warning",   "timeout",   "retry",    "budget",   "forecast",
};

std::string Sentence(Rng& r) {
  std::string s;
  size_t n = 6 + r.Below(18);
  for (size_t i = 0; i < n; ++i) {
    if (i) s.push_back(' ');
    std::string w = r.Pick(kWords);
    if (i == 0) w[0] = static_cast<char>(w[0] - 32);
    s += w;
    if (r.Chance(4)) {
      switch (r.Below(6)) {
        case 0: s += " " + r.Num(2, 99) + "%"; break;
        case 1: s += " in " + r.Num(1990, 2030); break;
        case 2: s += " (" + r.Num(1, 999) + " ms)"; break;
        case 3: s += " v" + r.Num(1, 9) + "." + r.Num(0, 30) + "." + r.Num(0, 9); break;
        case 4: s += " $" + r.Num(1, 999) + "," + r.Num(100, 999) + "." + r.Num(10, 99); break;
        default: s += ","; break;
      }
    }
  }
  s += r.Chance(85) ? "." : "?";
  return s;
}

std::string Prose(Rng& r) {
  if (r.Chance(25)) return "";  // paragraph break
  std::string s;
  if (r.Chance(10)) s = "## ";
  if (r.Chance(10)) s = "- ";
  size_t n = 1 + r.Below(6);
  for (size_t i = 0; i < n; ++i) {
    if (i) s.push_back(' ');
    s += Sentence(r);
  }
  return s;
}

std::string Timestamp(Rng& r) {
  char b[64];
  std::snprintf(b, sizeof b, "2024-%02d-%02dT%02d:%02d:%02d.%03dZ", 1 + int(r.Below(12)),
                1 + int(r.Below(28)), int(r.Below(24)), int(r.Below(60)), int(r.Below(60)),
                int(r.Below(1000)));
  return b;
}

std::string Ip(Rng& r) {
  return r.Num(1, 223) + "." + r.Num(0, 255) + "." + r.Num(0, 255) + "." + r.Num(1, 254);
}

std::string Uuid(Rng& r) {
  return r.Chars(kHex, 8) + "-" + r.Chars(kHex, 4) + "-4" + r.Chars(kHex, 3) + "-a" +
         r.Chars(kHex, 3) + "-" + r.Chars(kHex, 12);
}

std::string ServiceLog(Rng& r) {
  static const char* const kLevel[] = {"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"};
  static const char* const kPath[] = {"/api/v1/segments", "/api/v1/devices", "/healthz",
                                      "/api/v1/me/export", "/dashboard/terminal", "/metrics"};
  static const char* const kMsg[] = {"request done", "segment sealed", "upload retry scheduled",
                                     "cache miss", "connection reset by peer",
                                     "slow query", "checkpoint written"};
  std::string s = Timestamp(r) + " " + r.Pick(kLevel) + " [worker-" + r.Num(0, 15) + "] " +
                  r.Pick(kMsg) + " request_id=" + Uuid(r) + " path=" + r.Pick(kPath) + "/" +
                  r.Num(1, 9999999) + " status=" + r.Num(200, 504) + " duration_ms=" +
                  r.Num(0, 2000) + "." + r.Num(0, 9) + " bytes=" + r.Num(0, 10000000) +
                  " client=" + Ip(r);
  if (r.Chance(20)) s += " trace=" + r.Chars(kHex, 32) + " span=" + r.Chars(kHex, 16);
  if (r.Chance(10)) s += " user_agent=\"Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101\"";
  if (r.Chance(5)) s += " seq=" + r.Num(1000000000000ull, 9999999999999999ull);
  return s;
}

std::string AccessLog(Rng& r) {
  static const char* const kMon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  static const char* const kReq[] = {"GET /index.html", "GET /static/app.3f9a2c.js",
                                     "POST /api/v1/segments", "GET /favicon.ico",
                                     "GET /images/banner-1920x1080.png", "PUT /api/v1/devices/"};
  char b[96];
  std::snprintf(b, sizeof b, "[%02d/%s/2024:%02d:%02d:%02d +0000]", 1 + int(r.Below(28)),
                r.Pick(kMon), int(r.Below(24)), int(r.Below(60)), int(r.Below(60)));
  return Ip(r) + " - - " + b + " \"" + r.Pick(kReq) + r.Num(1, 99999) + " HTTP/1.1\" " +
         r.Num(200, 504) + " " + r.Num(100, 999999) + " \"-\" \"curl/8." + r.Num(0, 9) + "." +
         r.Num(0, 9) + "\"";
}

std::string Code(Rng& r) {
  std::string ind(static_cast<size_t>(r.Below(4)) * 2, ' ');
  switch (r.Below(14)) {
    case 0: return ind + "for (size_t i = 0; i < events.size(); ++i) total += events[i].t_us();";
    case 1: return ind + "if (status != HS_SUCCESS) return absl::InternalError(\"scan failed\");";
    case 2: return ind + "constexpr uint64_t kMask" + r.Num(0, 99) + " = 0x" + r.Chars(kHex, 16) + "ull;";
    case 3: return ind + "def parse(line): return [int(x) for x in line.split(',')]";
    case 4: return ind + "const std::string& name = config.at(\"" + r.Pick(kWords) + "\");";
    case 5: return ind + "// TODO(" + r.Pick(kWords) + "): see commit " + r.Chars(kHex, 40);
    case 6: return ind + "assert.Equal(t, " + r.Num(0, 100000) + ", len(" + r.Pick(kWords) + "Items))";
    case 7: return ind + "x = np.array([" + r.Num(0, 999) + ", " + r.Num(0, 999) + ", " +
                   r.Num(0, 999) + ", " + r.Num(0, 999) + "], dtype=np.float32)";
    case 8: return ind + "return " + r.Pick(kWords) + "_" + r.Pick(kWords) + "(ctx, " +
                   r.Pick(kWords) + ", opts)?;";
    case 9: return ind + "  \"integrity\": \"sha512-" + r.Chars(kB64, 86) + "==\",";
    case 10: return ind + "static const uint8_t kTable[] = {" + r.Num(0, 255) + ", " +
                    r.Num(0, 255) + ", " + r.Num(0, 255) + ", " + r.Num(0, 255) + ", " +
                    r.Num(0, 255) + ", " + r.Num(0, 255) + "};";
    case 11: return ind + "}";
    case 12: return ind + "EXPECT_EQ(f[" + r.Num(0, 9) + "].begin, " + r.Num(0, 4096) + "u);";
    default: return ind + "let " + r.Pick(kWords) + "Count = " + r.Pick(kWords) + "s.filter(x => x." +
                    r.Pick(kWords) + " > " + r.Num(0, 1000) + ").length;";
  }
}

std::string Config(Rng& r) {
  switch (r.Below(12)) {
    case 0: return "timeout_ms: " + r.Num(100, 60000);
    case 1: return "image: registry.example.com/team/" + std::string(r.Pick(kWords)) +
                   "@sha256:" + r.Chars(kHex, 64);
    case 2: return "  password: ${DB_PASSWORD}";
    case 3: return "replicas = " + r.Num(1, 12);
    case 4: return "LISTEN_ADDR=" + Ip(r) + ":" + r.Num(1024, 65535);
    case 5: return "  - name: " + std::string(r.Pick(kWords)) + "-" + r.Num(1, 99);
    case 6: return "[" + std::string(r.Pick(kWords)) + "]";
    case 7: return "log_level = \"info\"  # one of debug, info, warn, error";
    case 8: return "checksum: " + r.Chars(kHex, 64);
    case 9: return "  cert_data: " + r.Chars(kB64, 76);
    case 10: return "max_upload_bytes = " + r.Num(1000000, 4000000000ull);
    default: return "build_id: " + r.Chars(kAlnum, 20) + "-" + r.Num(100000, 999999);
  }
}

std::string Csv(Rng& r) {
  if (r.Chance(2)) return "id,date,customer_id,amount,qty,sku,lat,lon,order_no,ts_ms";
  char b[256];
  std::snprintf(b, sizeof b, "%llu,2024-%02d-%02d,%llu,%llu.%02llu,%llu,SKU-%05llu,%.4f,%.4f,%llu,%llu",
                static_cast<unsigned long long>(r.Below(10000000)), 1 + int(r.Below(12)),
                1 + int(r.Below(28)), static_cast<unsigned long long>(r.Below(1000000)),
                static_cast<unsigned long long>(r.Below(100000)),
                static_cast<unsigned long long>(r.Below(100)),
                static_cast<unsigned long long>(1 + r.Below(20)),
                static_cast<unsigned long long>(r.Below(100000)), -90.0 + r.Below(1800000) / 10000.0,
                -180.0 + r.Below(3600000) / 10000.0,
                static_cast<unsigned long long>(1000000000000ull + r.Below(9000000000000ull)),
                static_cast<unsigned long long>(1700000000000ull + r.Below(100000000000ull)));
  return b;
}

std::string Blob(Rng& r) {
  // Base64 payloads, long alphanumeric ids, hex dumps.
  switch (r.Below(3)) {
    case 0: return "data:image/png;base64," + r.Chars(kB64, 200 + r.Below(400));
    case 1: return "session " + r.Chars(kAlnum, 64 + r.Below(64)) + " resumed";
    default: {
      std::string s = r.Chars(kHex, 8) + ":";
      for (int i = 0; i < 16; ++i) s += " " + r.Chars(kHex, 2);
      return s;
    }
  }
}

}  // namespace

std::string MixedRedactionInput(size_t bytes, uint64_t seed) {
  Rng r(seed);
  // Labelled corpus lines (positives and look-alike negatives), reused in
  // order; a few seeds for variety.
  std::vector<std::string> corpus;
  for (uint64_t s : {seed, seed + 1, seed + 2})
    for (auto& l : corpus::Generate(s, 100)) corpus.push_back(std::move(l.text));
  size_t ci = 0;
  std::string out;
  out.reserve(bytes + 4096);
  while (out.size() < bytes) {
    size_t k = r.Below(100);
    std::string line;
    if (k < 26) {
      line = Prose(r);
    } else if (k < 46) {
      line = ServiceLog(r);
    } else if (k < 54) {
      line = AccessLog(r);
    } else if (k < 72) {
      line = Code(r);
    } else if (k < 82) {
      line = Config(r);
    } else if (k < 95) {
      line = Csv(r);
    } else if (k < 98) {
      line = Blob(r);
    } else {
      line = corpus[ci++ % corpus.size()];
    }
    out += line;
    out.push_back('\n');
  }
  return out;
}

std::string AdversarialRedactionInput(size_t bytes) {
  std::string out;
  uint32_t x = 1;
  size_t part = 0;
  while (out.size() < bytes) {
    size_t n = std::min<size_t>(1 << 20, bytes - out.size());
    std::string s;
    switch (part++ % 7) {
      case 0: s.assign(n, '1'); break;
      case 1: while (s.size() < n) s += "aB3xY9zQ"; break;
      case 2: while (s.size() < n) s += "1 "; break;
      case 3: while (s.size() < n) s += "a@"; break;
      case 4: while (s.size() < n) s += "password: "; break;
      case 5: while (s.size() < n) s += "4111-"; break;
      default:
        for (size_t i = 0; i < n; ++i) {
          x = x * 1103515245 + 12345;
          s.push_back(static_cast<char>(x >> 16));
        }
    }
    s.resize(n);
    out += s;
    out.push_back('\n');
  }
  return out;
}

}  // namespace sealtrace::bench
