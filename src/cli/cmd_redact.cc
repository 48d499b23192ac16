// `sealtrace redact`: redacts text lines from stdin with the recorder's engine.
//
//   sealtrace redact [--json] [--config privacy.toml]
//
// Plain mode writes one redacted line per input line. Each line is redacted on
// its own (no look-back across lines); a "\r\n" line end counts as "\n". Input
// is read in 1 MiB blocks and the complete lines of a block are redacted
// together (Redactor::ScanLines: one engine pass, the same findings as line by
// line); output is written in blocks of about 1 MiB. A line longer than a
// block goes through StreamRedactor, so lines of any length are processed in
// bounded memory. --json writes one object per line:
// {"text": <redacted>, "findings": [{"kind", "begin", "end"}]} with byte
// offsets into the input line; the secret itself is never printed. In --json
// mode a line may be at most 16 MiB (clear error otherwise).
// --config loads a privacy config (never_record words; see docs/REDACTION.md).
// Exit status: 0 ok, 2 bad config / engine failure / over-long line / I/O error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "privacy/exclusions.h"
#include "privacy/redactor.h"

namespace sealtrace::cli {
namespace {

constexpr size_t kMaxJsonLine = 16u << 20;
constexpr size_t kBlock = 1u << 20;     // input read per call
constexpr size_t kOutFlush = 1u << 20;  // output written once this much is pending

struct RedactOptions {
  bool json = false;
  std::string config;
};

class Output {
 public:
  Output() { buf_.reserve(kOutFlush + (kOutFlush >> 2)); }
  std::string& buf() { return buf_; }
  bool MaybeFlush() { return buf_.size() < kOutFlush || Flush(); }
  bool Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size())
      return false;
    buf_.clear();
    return true;
  }

 private:
  std::string buf_;
};

template <typename Text>
bool Fail(const Text& what) {
  std::cerr << "sealtrace redact: " << what << "\n";
  return false;
}

// Appends `text` with its findings (sorted, non-overlapping) replaced.
void AppendRedacted(std::string_view text, const std::vector<privacy::Finding>& findings,
                    std::string* out) {
  size_t pos = 0;
  for (const auto& f : findings) {
    if (f.begin < pos || f.end > text.size()) continue;
    out->append(text.data() + pos, f.begin - pos);
    out->append("[REDACTED:").append(privacy::KindName(f.kind)).push_back(']');
    pos = f.end;
  }
  out->append(text.data() + pos, text.size() - pos);
}

// Plain mode.
class PlainRedactor {
 public:
  PlainRedactor(std::shared_ptr<const privacy::Redactor> r, Output* out)
      : redactor_(std::move(r)), stream_(redactor_), out_(out) {}

  // Consumes the complete lines at the front of `data` (each ending in '\n')
  // and returns how many bytes it consumed. With `eof`, also the last line
  // without a '\n'. A line still open at the end of a full block is streamed.
  bool Feed(std::string_view data, bool eof, size_t* consumed) {
    *consumed = 0;
    if (streaming_) {
      // The rest of an over-long line: up to its '\n'.
      const void* nl = std::memchr(data.data(), '\n', data.size());
      if (!nl && !eof) {
        // Keep a final '\r' back: it may be the start of "\r\n".
        size_t n = data.size();
        if (n > 0 && data[n - 1] == '\r') --n;
        if (!StreamAppend(data.substr(0, n))) return false;
        *consumed = n;
        return true;
      }
      size_t e = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data.data()) : data.size();
      size_t len = e;
      if (nl && len > 0 && data[len - 1] == '\r') --len;
      if (!StreamAppend(data.substr(0, len)) || !StreamEnd()) return false;
      streaming_ = false;
      *consumed = nl ? e + 1 : e;
      data.remove_prefix(*consumed);
    }
    // Complete lines: [0, last '\n'].
    const char* last = static_cast<const char*>(memrchr(data.data(), '\n', data.size()));
    if (last) {
      size_t n = static_cast<size_t>(last - data.data()) + 1;
      if (!Lines(data.substr(0, n))) return false;
      *consumed += n;
      data.remove_prefix(n);
    }
    if (eof) {
      if (!data.empty()) {
        // The last line has no '\n'; it gets one.
        if (!StreamAppend(data) || !StreamEnd()) return false;
        *consumed += data.size();
      }
    } else if (*consumed == 0 && data.size() >= kBlock) {
      // A full block without a line end: stream the line from here on.
      streaming_ = true;
      size_t n = data.size();
      if (data[n - 1] == '\r') --n;
      if (!StreamAppend(data.substr(0, n))) return false;
      *consumed = n;
    }
    return true;
  }

 private:
  // Complete lines, each ending in '\n' ("\r\n" counts as "\n").
  bool Lines(std::string_view text) {
    if (std::memchr(text.data(), '\r', text.size())) {
      // Drop the '\r' of each "\r\n" (a lone '\r' stays in its line).
      crlf_.clear();
      for (size_t i = 0; i < text.size(); ++i)
        if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n'))
          crlf_.push_back(text[i]);
      text = crlf_;
    }
    auto found = redactor_->ScanLines(text);
    if (!found.ok()) return Fail(found.status().message());
    AppendRedacted(text, *found, &out_->buf());
    return out_->MaybeFlush() || Fail("cannot write stdout");
  }
  bool StreamAppend(std::string_view piece) {
    if (piece.empty()) return true;
    absl::Status s = stream_.Append(piece, &out_->buf(), nullptr);
    if (!s.ok()) return Fail(s.message());
    return out_->MaybeFlush() || Fail("cannot write stdout");
  }
  bool StreamEnd() {
    absl::Status s = stream_.EndRun(&out_->buf(), nullptr);
    if (!s.ok()) return Fail(s.message());
    out_->buf().push_back('\n');
    return out_->MaybeFlush() || Fail("cannot write stdout");
  }

  std::shared_ptr<const privacy::Redactor> redactor_;
  privacy::StreamRedactor stream_;
  Output* out_;
  bool streaming_ = false;
  std::string crlf_;
};

// --json: one Redact per line.
bool JsonLine(const privacy::Redactor& redactor, std::string_view line, Output* out) {
  std::vector<privacy::Finding> findings;
  auto red = redactor.Redact(line, &findings);
  if (!red.ok()) return Fail(red.status().message());
  nlohmann::ordered_json j;
  j["text"] = *red;
  j["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : findings) {
    j["findings"].push_back(
        {{"kind", std::string(privacy::KindName(f.kind))}, {"begin", f.begin}, {"end", f.end}});
  }
  out->buf() += j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out->buf().push_back('\n');
  return out->MaybeFlush() || Fail("cannot write stdout");
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
  Output out;
  PlainRedactor plain(*redactor, &out);
  std::string json_line;  // --json: the current line
  bool json_open = false;
  size_t line_no = 0;
  auto json_feed = [&](std::string_view data, bool eof) -> bool {
    size_t start = 0;
    for (;;) {
      const void* nl = std::memchr(data.data() + start, '\n', data.size() - start);
      size_t e = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data.data()) : data.size();
      if (json_line.size() + (e - start) > kMaxJsonLine) {
        std::cerr << "sealtrace redact: line " << line_no + 1 << " is longer than " << kMaxJsonLine
                  << " bytes (--json limit)\n";
        return false;
      }
      json_line.append(data.data() + start, e - start);
      json_open = json_open || e > start;
      if (!nl) break;
      ++line_no;
      if (!json_line.empty() && json_line.back() == '\r') json_line.pop_back();  // CRLF input
      if (!JsonLine(**redactor, json_line, &out)) return false;
      json_line.clear();
      json_open = false;
      start = e + 1;
    }
    if (eof && json_open) {
      ++line_no;
      if (!JsonLine(**redactor, json_line, &out)) return false;
    }
    return true;
  };

  std::vector<char> buf(kBlock);
  size_t have = 0;  // unconsumed bytes at the front of buf
  for (;;) {
    size_t n = std::fread(buf.data() + have, 1, buf.size() - have, stdin);
    if (n == 0 && std::ferror(stdin)) {
      std::cerr << "sealtrace redact: error reading stdin\n";
      return 2;
    }
    const bool eof = n == 0;
    have += n;
    if (opt.json) {
      if (!json_feed(std::string_view(buf.data(), have), eof)) return 2;
      have = 0;
    } else {
      size_t consumed = 0;
      if (!plain.Feed(std::string_view(buf.data(), have), eof, &consumed)) return 2;
      std::memmove(buf.data(), buf.data() + consumed, have - consumed);
      have -= consumed;
    }
    if (eof) break;
  }
  if (!out.Flush()) {
    std::cerr << "sealtrace redact: cannot write stdout\n";
    return 2;
  }
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
