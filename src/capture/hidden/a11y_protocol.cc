#include "capture/hidden/a11y_protocol.h"

#include <vector>


namespace sealtrace::hidden {
namespace {

bool ParseFlag(std::string_view s, bool* out) {
  if (s == "0" || s == "1") {
    *out = s == "1";
    return true;
  }
  return false;
}

bool ValidRole(std::string_view s) {
  if (s.empty() || s.size() > 48) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;  // < 10^19: no overflow
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

std::vector<std::string_view> SplitSpaces(std::string_view line) {
  std::vector<std::string_view> f;
  size_t b = 0;
  for (;;) {
    size_t e = line.find(' ', b);
    f.push_back(line.substr(b, e == std::string_view::npos ? e : e - b));
    if (e == std::string_view::npos || f.size() > 8) return f;
    b = e + 1;
  }
}

}  // namespace

absl::Status ParseHelperLine(std::string_view line, HelperMessage* out) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(std::string("a11y helper line: ") + why);
  };
  if (line.size() > kMaxLine) return bad("too long");
  std::vector<std::string_view> f = SplitSpaces(line);
  if (f.empty()) return bad("empty");
  uint64_t a = 0, b = 0;
  if (f[0] == "hello") {
    if (f.size() != 3 || !ParseU64(f[1], &a) || a > 1000 || !ParseFlag(f[2], &out->enabled))
      return bad("malformed hello");
    out->type = HelperMessage::kHello;
    out->version = static_cast<int>(a);
    return absl::OkStatus();
  }
  if (f[0] == "a") {
    if (f.size() != 5 || !ParseU64(f[1], &a) || a == 0 || !ParseU64(f[2], &b) ||
        b > 0xffffffffu || !ParseFlag(f[3], &out->hidden) || !ValidRole(f[4]))
      return bad("malformed answer");
    out->type = HelperMessage::kAnswer;
    out->id = a;
    out->pid = static_cast<uint32_t>(b);
    out->role = std::string(f[4]);
    return absl::OkStatus();
  }
  if (f[0] == "f") {
    if (f.size() != 4 || !ParseU64(f[1], &b) || b > 0xffffffffu ||
        !ParseFlag(f[2], &out->hidden) || !ValidRole(f[3]))
      return bad("malformed focus report");
    out->type = HelperMessage::kFocus;
    out->id = 0;
    out->pid = static_cast<uint32_t>(b);
    out->role = std::string(f[3]);
    return absl::OkStatus();
  }
  if (f[0] == "e") {
    if (f.size() != 2 || !ValidRole(f[1])) return bad("malformed diagnostic");
    out->type = HelperMessage::kError;
    out->role = std::string(f[1]);
    return absl::OkStatus();
  }
  return bad("unknown message");
}

std::string SanitizeRole(std::string_view role) {
  std::string s;
  for (char c : role) {
    if (s.size() == 48) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    s.push_back(ok ? c : '-');
  }
  return s.empty() ? "unknown" : s;
}

}  // namespace sealtrace::hidden
