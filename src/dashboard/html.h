// HTML, form and cookie helpers for the dashboard (server-rendered pages).
//
// Every value that reaches a page goes through Escape(): window titles,
// application names, purposes and ids are attacker-controlled. Escape() also
// replaces control characters and invalid UTF-8 so a page is always valid text.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sealtrace::dashboard {

// Escapes & < > " ' (and backtick) for element content and quoted attribute
// values; control characters other than \n and \t, and invalid UTF-8, become U+FFFD.
std::string Escape(std::string_view s);

// "2026-11-29 01:02:03 UTC" (seconds precision). 0 -> "never".
std::string FormatTimeUtc(int64_t unix_us);
// "2026-11-29"
std::string FormatDayUtc(int64_t unix_us);
// Value for <input type="datetime-local">: "2026-11-29T01:02" (UTC).
std::string FormatDateTimeLocal(int64_t unix_us);
// Parses "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" as UTC. nullopt if malformed.
std::optional<int64_t> ParseDateTimeLocal(std::string_view s);
// "1 h 02 min", "4 min 05 s", "12 s".
std::string FormatDuration(int64_t us);
// "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB" (binary units, one decimal above bytes).
std::string FormatBytes(int64_t bytes);

// Decodes an application/x-www-form-urlencoded body (or query string). The
// first value of each name wins. nullopt on malformed percent escapes.
std::optional<std::map<std::string, std::string>> ParseForm(std::string_view body);
// Percent-encodes for a query string value.
std::string UrlEncode(std::string_view s);

// The value of cookie `name` in a Cookie header ("" if absent).
std::string CookieValue(std::string_view cookie_header, std::string_view name);

// Whether a state-changing request comes from our own pages: Sec-Fetch-Site
// (when sent) must be "same-origin"; the Origin header (or, when absent, the
// Referer) must equal `expected_origin` ("https://host:port") or one of
// `extra_origins`. A request carrying neither Origin nor Referer is refused.
bool SameOriginRequest(std::string_view origin, std::string_view referer,
                       std::string_view sec_fetch_site, std::string_view expected_origin,
                       const std::vector<std::string>& extra_origins);

}  // namespace sealtrace::dashboard
