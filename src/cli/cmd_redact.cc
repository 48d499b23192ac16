// `sealtrace redact`: redacts text lines from stdin with the recorder's engine.
//
//   sealtrace redact [--json] [--config privacy.toml]
//
// Plain mode writes one redacted line per input line. Lines of any length are
// processed in bounded memory (StreamRedactor). --json writes one object per
// line: {"text": <redacted>, "findings": [{"kind", "begin", "end"}]} with byte
// offsets into the input line; the secret itself is never printed. In --json
// mode a line may be at most 16 MiB (clear error otherwise).
// --config loads a privacy config (never_record words; see docs/REDACTION.md).
// Exit status: 0 ok, 2 bad config / engine failure / over-long line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "privacy/exclusions.h"
#include "privacy/redactor.h"

namespace sealtrace::cli {
namespace {

constexpr size_t kMaxJsonLine = 16u << 20;

struct RedactOptions {
  bool json = false;
  std::string config;
};

void Write(const std::string& s) {
  if (!s.empty()) std::fwrite(s.data(), 1, s.size(), stdout);
}

int RunRedact(const RedactOptions& opt) {
  privacy::RedactorOptions ropts;
  if (!opt.config.empty()) {
    auto cfg = privacy::LoadPrivacyConfig(opt.config);
    if (!cfg.ok()) {
      std::cerr << "sealtrace redact: " << cfg.status().message() << "\n";
      return 2;
    }
    ropts.never_record = cfg->never_record;
  }
  auto redactor = privacy::Redactor::Create(ropts);
  if (!redactor.ok()) {
    std::cerr << "sealtrace redact: " << redactor.status().message() << "\n";
    return 2;
  }
  privacy::StreamRedactor stream(*redactor);
  std::string line;  // --json: the current line
  bool line_open = false;
  size_t line_no = 0;
  std::string out;
  std::vector<char> buf(64 * 1024);

  auto end_line = [&]() -> bool {
    ++line_no;
    if (opt.json) {
      std::vector<privacy::Finding> findings;
      auto red = (*redactor)->Redact(line, &findings);
      if (!red.ok()) {
        std::cerr << "sealtrace redact: " << red.status().message() << "\n";
        return false;
      }
      nlohmann::ordered_json j;
      j["text"] = *red;
      j["findings"] = nlohmann::ordered_json::array();
      for (const auto& f : findings) {
        j["findings"].push_back(
            {{"kind", std::string(privacy::KindName(f.kind))}, {"begin", f.begin}, {"end", f.end}});
      }
      Write(j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
      Write("\n");
      line.clear();
    } else {
      out.clear();
      absl::Status s = stream.EndRun(&out, nullptr);
      if (!s.ok()) {
        std::cerr << "sealtrace redact: " << s.message() << "\n";
        return false;
      }
      out.push_back('\n');
      Write(out);
    }
    line_open = false;
    return true;
  };
  auto feed = [&](const char* p, size_t n) -> bool {
    if (n == 0) return true;
    line_open = true;
    if (opt.json) {
      if (line.size() + n > kMaxJsonLine) {
        std::cerr << "sealtrace redact: line " << line_no + 1 << " is longer than " << kMaxJsonLine
                  << " bytes (--json limit)\n";
        return false;
      }
      line.append(p, n);
      return true;
    }
    out.clear();
    absl::Status s = stream.Append(std::string_view(p, n), &out, nullptr);
    if (!s.ok()) {
      std::cerr << "sealtrace redact: " << s.message() << "\n";
      return false;
    }
    Write(out);
    return true;
  };

  for (;;) {
    size_t n = std::fread(buf.data(), 1, buf.size(), stdin);
    if (n == 0) break;
    size_t start = 0;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] != '\n') continue;
      size_t len = i - start;
      if (len > 0 && buf[i - 1] == '\r') --len;  // CRLF input
      if (!feed(buf.data() + start, len) || !end_line()) return 2;
      start = i + 1;
    }
    if (!feed(buf.data() + start, n - start)) return 2;
  }
  if (std::ferror(stdin)) {
    std::cerr << "sealtrace redact: error reading stdin\n";
    return 2;
  }
  if (line_open && !end_line()) return 2;
  std::fflush(stdout);
  return std::ferror(stdout) ? 2 : 0;
}

}  // namespace

void RegisterRedactCommand(CLI::App& app) {
  auto opt = std::make_shared<RedactOptions>();
  CLI::App* cmd = app.add_subcommand(
      "redact", "Redact secrets and personal data from stdin lines (the recorder's engine)");
  cmd->add_flag("--json", opt->json,
                "Print {\"text\",\"findings\":[{kind,begin,end}]} per line (never the secret)");
  cmd->add_option("--config", opt->config, "Privacy config (TOML) with never_record words")
      ->check(CLI::ExistingFile);
  cmd->callback([opt]() {
    int rc = RunRedact(*opt);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace sealtrace::cli
