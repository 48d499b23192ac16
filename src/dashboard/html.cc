#include "dashboard/html.h"

#include <time.h>

#include <cstdio>
#include <iterator>

namespace sealtrace::dashboard {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return n;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> Decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool ToTm(int64_t unix_us, struct tm* tm) {
  const time_t secs = static_cast<time_t>(unix_us / 1000000 - (unix_us % 1000000 < 0 ? 1 : 0));
  return gmtime_r(&secs, tm) != nullptr;
}

}  // namespace

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    switch (c) {
      case '&':
        out += "&amp;";
        ++i;
        continue;
      case '<':
        out += "&lt;";
        ++i;
        continue;
      case '>':
        out += "&gt;";
        ++i;
        continue;
      case '"':
        out += "&quot;";
        ++i;
        continue;
      case '\'':
        out += "&#39;";
        ++i;
        continue;
      case '`':
        out += "&#96;";
        ++i;
        continue;
      default:
        break;
    }
    const auto uc = static_cast<unsigned char>(c);
    if (uc < 0x20 || uc == 0x7F) {
      if (c == '\n' || c == '\t') {
        out.push_back(c);
      } else {
        out += kReplacement;
      }
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    // C1 control characters (U+0080..U+009F) are encoded as C2 80..C2 9F.
    if (n == 2 && uc == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      out += kReplacement;
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string FormatTimeUtc(int64_t unix_us) {
  if (unix_us == 0) return "never";
  struct tm tm {};
  if (!ToTm(unix_us, &tm)) return "?";
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string FormatDayUtc(int64_t unix_us) {
  struct tm tm {};
  if (!ToTm(unix_us, &tm)) return "?";
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string FormatDateTimeLocal(int64_t unix_us) {
  struct tm tm {};
  if (!ToTm(unix_us, &tm)) return "";
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M", &tm);
  return buf;
}

std::optional<int64_t> ParseDateTimeLocal(std::string_view s) {
  if (s.size() != 16 && s.size() != 19) return std::nullopt;
  auto digits = [&](size_t pos, size_t n, int lo, int hi) -> std::optional<int> {
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      const char c = s[pos + k];
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    if (v < lo || v > hi) return std::nullopt;
    return v;
  };
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':') return std::nullopt;
  auto y = digits(0, 4, 1970, 9999);
  auto mo = digits(5, 2, 1, 12);
  auto d = digits(8, 2, 1, 31);
  auto h = digits(11, 2, 0, 23);
  auto mi = digits(14, 2, 0, 59);
  std::optional<int> sec = 0;
  if (s.size() == 19) {
    if (s[16] != ':') return std::nullopt;
    sec = digits(17, 2, 0, 59);
  }
  if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  const int max_day = kDays[*mo - 1] + (*mo == 2 && leap ? 1 : 0);
  if (*d > max_day) return std::nullopt;
  struct tm tm {};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *sec;
  const time_t t = timegm(&tm);
  return static_cast<int64_t>(t) * 1000000;
}

std::string FormatDuration(int64_t us) {
  if (us < 0) us = 0;
  const int64_t s = us / 1000000;
  char buf[64];
  if (s >= 3600) {
    snprintf(buf, sizeof buf, "%lld h %02lld min", static_cast<long long>(s / 3600),
             static_cast<long long>((s % 3600) / 60));
  } else if (s >= 60) {
    snprintf(buf, sizeof buf, "%lld min %02lld s", static_cast<long long>(s / 60),
             static_cast<long long>(s % 60));
  } else {
    snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(s));
  }
  return buf;
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 0) bytes = 0;
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

std::optional<std::map<std::string, std::string>> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view pair = body.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      auto name = Decode(pair.substr(0, eq));
      auto value = Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
      if (!name || !value) return std::nullopt;
      out.emplace(std::move(*name), std::move(*value));
    }
    pos = amp + 1;
  }
  return out;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string CookieValue(std::string_view header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) semi = header.size();
    std::string_view part = header.substr(pos, semi - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      return std::string(part.substr(eq + 1));
    }
    pos = semi + 1;
  }
  return "";
}

bool SameOriginRequest(std::string_view origin, std::string_view referer,
                       std::string_view sec_fetch_site, std::string_view expected_origin,
                       const std::vector<std::string>& extra_origins) {
  if (!sec_fetch_site.empty() && sec_fetch_site != "same-origin") return false;
  auto allowed = [&](std::string_view o) {
    if (o.empty()) return false;
    if (o == expected_origin) return true;
    for (const auto& e : extra_origins) {
      if (o == e) return true;
    }
    return false;
  };
  if (!origin.empty()) return allowed(origin);
  if (referer.empty()) return false;
  // Referer: scheme://host[:port]/path...  -> its origin part.
  const size_t scheme = referer.find("://");
  if (scheme == std::string_view::npos) return false;
  const size_t slash = referer.find('/', scheme + 3);
  return allowed(referer.substr(0, slash));
}

}  // namespace sealtrace::dashboard
