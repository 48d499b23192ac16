#include "privacy/exclusions.h"

#include "privacy/hs_compile.h"

#include <hs.h>

#include <cstdlib>
#include <exception>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "sealtrace/v1/events.pb.h"

// toml++ is compiled as a shared library (TOML_HEADER_ONLY=0 from pkg-config).
#include <toml++/toml.h>

namespace sealtrace::privacy {
namespace {

std::string Where(std::string_view file, int line) {
  std::string s(file);
  s += ":";
  s += std::to_string(line);
  s += ": ";
  return s;
}

absl::Status ConfigError(std::string_view file, int line, std::string_view reason) {
  std::string m = Where(file, line);
  m.append(reason);
  return absl::InvalidArgumentError(m);
}

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// Vectorscan syntax check of a single pattern (so errors carry a line).
absl::Status CheckPattern(const std::string& expr, std::string_view file, int line,
                          std::string_view what) {
  auto db = CompileHsBlockDatabase({expr.c_str()},
                                   {HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY},
                                   {0});
  if (absl::IsInvalidArgument(db.status())) {
    std::string msg = "invalid ";
    msg.append(what);
    msg += " pattern: ";
    msg += std::string(db.status().message());
    return ConfigError(file, line, msg);
  }
  if (!db.ok()) return db.status();
  hs_free_database(*db);
  return absl::OkStatus();
}

}  // namespace

bool GlobMatch(std::string_view p, std::string_view t) {
  // Iterative glob with single-star backtracking: O(|p| * |t|) worst case,
  // both short (class names).
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() &&
        (p[pi] == '?' || absl::ascii_tolower(static_cast<unsigned char>(p[pi])) ==
                             absl::ascii_tolower(static_cast<unsigned char>(t[ti])))) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

absl::StatusOr<Hotkey> ParseHotkey(std::string_view spec) {
  Hotkey hk;
  std::vector<std::string> parts = absl::StrSplit(std::string(spec), '+');
  if (parts.empty()) return absl::InvalidArgumentError("empty hotkey");
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string p = absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts[i]));
    bool last = i + 1 == parts.size();
    if (!last) {
      if (p == "ctrl" || p == "control") {
        hk.modifiers |= v1::MOD_CTRL;
      } else if (p == "alt" || p == "meta") {
        hk.modifiers |= v1::MOD_ALT;
      } else if (p == "shift") {
        hk.modifiers |= v1::MOD_SHIFT;
      } else if (p == "super" || p == "win" || p == "logo") {
        hk.modifiers |= v1::MOD_SUPER;
      } else {
        return absl::InvalidArgumentError("unknown hotkey modifier '" + p + "'");
      }
      continue;
    }
    if (p.size() == 1 && p[0] > 0x20 && p[0] < 0x7f) {
      hk.keysym = static_cast<unsigned char>(p[0]);
    } else if (p.size() >= 2 && p[0] == 'f' && p.size() <= 3 &&
               std::isdigit(static_cast<unsigned char>(p[1]))) {
      int n = std::atoi(p.c_str() + 1);
      if (n < 1 || n > 35) return absl::InvalidArgumentError("bad function key '" + p + "'");
      hk.keysym = 0xffbe + static_cast<uint32_t>(n - 1);  // XK_F1
    } else if (p == "pause") {
      hk.keysym = 0xff13;
    } else if (p == "scroll_lock") {
      hk.keysym = 0xff14;
    } else if (p == "space") {
      hk.keysym = 0x20;
    } else {
      return absl::InvalidArgumentError("unknown hotkey key '" + p + "'");
    }
  }
  if (hk.keysym == 0) return absl::InvalidArgumentError("hotkey has no key");
  if (hk.modifiers == 0 && hk.keysym < 0xff00)
    return absl::InvalidArgumentError("a printable hotkey needs at least one modifier");
  return hk;
}

namespace {

absl::StatusOr<PrivacyConfig> ParseImpl(std::string_view text, std::string_view filename,
                                        bool* include_defaults) {
  PrivacyConfig cfg;
  cfg.hotkey = Hotkey{v1::MOD_CTRL | v1::MOD_ALT | v1::MOD_SHIFT, 'p'};
  toml::table root;
  try {
    root = toml::parse(text, filename);
  } catch (const toml::parse_error& e) {
    return ConfigError(filename, static_cast<int>(e.source().begin.line),
                       std::string(e.description()));
  } catch (const std::exception& e) {
    return ConfigError(filename, 0, e.what());
  }
  auto type_err = [&](const toml::node& n, std::string_view key, std::string_view want) {
    std::string m = "'";
    m.append(key);
    m += "' must be ";
    m.append(want);
    return ConfigError(filename, LineOf(n), m);
  };
  for (auto&& [k, node] : root) {
    std::string key(k.str());
    if (key == "include_defaults") {
      auto v = node.value<bool>();
      if (!node.is_boolean() || !v) return type_err(node, key, "a boolean");
      *include_defaults = *v;
    } else if (key == "hotkey") {
      if (!node.is_string()) return type_err(node, key, "a string");
      auto hk = ParseHotkey(*node.value<std::string>());
      if (!hk.ok()) return ConfigError(filename, LineOf(node), std::string(hk.status().message()));
      cfg.hotkey = *hk;
    } else if (key == "never_record") {
      const toml::array* arr = node.as_array();
      if (!arr) return type_err(node, key, "an array of strings");
      for (const toml::node& e : *arr) {
        if (!e.is_string()) return type_err(e, key, "an array of strings");
        std::string w = *e.value<std::string>();
        if (w.size() > 512) return ConfigError(filename, LineOf(e), "never_record entry too long");
        if (!w.empty()) cfg.never_record.push_back(w);
      }
    } else if (key == "minimise" || key == "minimize") {
      const toml::table* t = node.as_table();
      if (!t) return type_err(node, key, "a table");
      for (auto&& [mk, mn] : *t) {
        std::string m(mk.str());
        if (m != "pointer_epsilon_px" && m != "timing_quantum_ms")
          return ConfigError(filename, LineOf(mn), "unknown key '" + m + "' in [" + key + "]");
        auto v = mn.value<int64_t>();
        if (!mn.is_integer() || !v || *v < 0 || *v > 100000)
          return type_err(mn, m, "an integer in 0..100000");
        (m == "pointer_epsilon_px" ? cfg.pointer_epsilon_px : cfg.timing_quantum_ms) =
            static_cast<uint32_t>(*v);
      }
    } else if (key == "exclude") {
      const toml::array* arr = node.as_array();
      if (!arr || !arr->is_array_of_tables())
        return type_err(node, key, "an array of tables ([[exclude]])");
      for (const toml::node& e : *arr) {
        const toml::table& t = *e.as_table();
        ExclusionRule r;
        r.file = std::string(filename);
        r.line = LineOf(e);
        for (auto&& [rk, rn] : t) {
          std::string f(rk.str());
          std::string* dst = f == "reason"      ? &r.reason
                             : f == "app_class" ? &r.app_class
                             : f == "title"     ? &r.title
                             : f == "url"       ? &r.url
                                                : nullptr;
          if (!dst)
            return ConfigError(filename, LineOf(rn), "unknown key '" + f + "' in [[exclude]]");
          if (!rn.is_string()) return type_err(rn, f, "a string");
          *dst = *rn.value<std::string>();
          if (dst->empty()) return ConfigError(filename, LineOf(rn), "'" + f + "' is empty");
          if (f == "title" || f == "url") {
            absl::Status s = CheckPattern(*dst, filename, LineOf(rn), f);
            if (!s.ok()) return s;
          }
        }
        if (r.app_class.empty() && r.title.empty() && r.url.empty())
          return ConfigError(filename, r.line,
                             "[[exclude]] needs at least one of app_class, title, url");
        if (r.reason.empty()) r.reason = "excluded";
        for (unsigned char c : r.reason) {
          if (!(absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.'))
            return ConfigError(filename, r.line, "reason must be [A-Za-z0-9_.-] (it is recorded)");
        }
        cfg.exclusions.push_back(std::move(r));
      }
    } else {
      return ConfigError(filename, LineOf(node), "unknown key '" + key + "'");
    }
  }
  return cfg;
}

}  // namespace

absl::StatusOr<PrivacyConfig> ParsePrivacyConfig(std::string_view toml_text,
                                                 std::string_view filename) {
  bool include_defaults = true;
  auto cfg = ParseImpl(toml_text, filename, &include_defaults);
  if (!cfg.ok()) return cfg.status();
  if (include_defaults) {
    bool ignored = false;
    auto def = ParseImpl(DefaultPrivacyConfigToml(), "privacy.default.toml", &ignored);
    if (!def.ok()) return def.status();
    cfg->exclusions.insert(cfg->exclusions.begin(), def->exclusions.begin(), def->exclusions.end());
  }
  // Compile once to be sure the whole set loads.
  auto m = ExclusionMatcher::Create(cfg->exclusions);
  if (!m.ok()) return m.status();
  return cfg;
}

absl::StatusOr<PrivacyConfig> LoadPrivacyConfig(const std::string& path, Env* env) {
  auto text = env->ReadFile(path);
  if (!text.ok()) return text.status();
  return ParsePrivacyConfig(*text, path);
}

PrivacyConfig DefaultPrivacyConfig() {
  bool ignored = false;
  auto cfg = ParseImpl(DefaultPrivacyConfigToml(), "privacy.default.toml", &ignored);
  if (!cfg.ok()) std::abort();
  return *std::move(cfg);
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<const ExclusionMatcher>> ExclusionMatcher::Create(
    const std::vector<ExclusionRule>& rules) {
  std::unique_ptr<ExclusionMatcher> m(new ExclusionMatcher());
  m->rules_ = rules;
  for (int which = 0; which < 2; ++which) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    for (size_t i = 0; i < rules.size(); ++i) {
      const std::string& e = which == 0 ? rules[i].title : rules[i].url;
      if (e.empty()) continue;
      exprs.push_back(e.c_str());
      flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY);
      ids.push_back(static_cast<unsigned>(i));
    }
    if (exprs.empty()) continue;
    int idx = -1;
    auto compiled = CompileHsBlockDatabase(exprs, flags, ids, &idx);
    if (!compiled.ok() && !absl::IsInvalidArgument(compiled.status())) return compiled.status();
    hs_database_t* db = compiled.ok() ? *compiled : nullptr;
    if (!compiled.ok()) {
      const std::string msg(compiled.status().message());
      if (idx >= 0 && static_cast<size_t>(idx) < ids.size()) {
        const ExclusionRule& r = rules[ids[idx]];
        return ConfigError(r.file, r.line, "invalid pattern: " + msg);
      }
      return absl::InvalidArgumentError("exclusion patterns: " + msg);
    }
    (which == 0 ? m->title_db_ : m->url_db_) = db;
    if (hs_alloc_scratch(db, &m->scratch_proto_) != HS_SUCCESS)
      return absl::ResourceExhaustedError("exclusions: cannot allocate scratch");
  }
  return std::unique_ptr<const ExclusionMatcher>(std::move(m));
}

ExclusionMatcher::~ExclusionMatcher() {
  if (scratch_proto_) hs_free_scratch(scratch_proto_);
  if (title_db_) hs_free_database(title_db_);
  if (url_db_) hs_free_database(url_db_);
}

std::vector<uint64_t> ExclusionMatcher::MatchDb(hs_database* db, std::string_view text) const {
  std::vector<uint64_t> bits((rules_.size() + 63) / 64, 0);
  if (!db) return bits;
  hs_scratch_t* s = nullptr;
  if (hs_clone_scratch(scratch_proto_, &s) != HS_SUCCESS) {
    // Fail closed: treat every pattern rule as matching.
    for (auto& b : bits) b = ~0ull;
    return bits;
  }
  auto cb = [](unsigned int id, unsigned long long, unsigned long long, unsigned int,
               void* ctx) -> int {
    auto* b = static_cast<std::vector<uint64_t>*>(ctx);
    (*b)[id / 64] |= 1ull << (id % 64);
    return 0;
  };
  if (hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, s, cb, &bits) != HS_SUCCESS) {
    for (auto& b : bits) b = ~0ull;
  }
  hs_free_scratch(s);
  return bits;
}

std::optional<std::string> ExclusionMatcher::Match(std::string_view app_class,
                                                   std::string_view app_instance,
                                                   std::string_view title) const {
  if (title.size() > kMaxTitleBytes) title = title.substr(0, kMaxTitleBytes);
  std::vector<uint64_t> tbits = MatchDb(title_db_, title);
  // URLs or host names carried in the title: tokens with "://" or a dot.
  std::vector<uint64_t> ubits((rules_.size() + 63) / 64, 0);
  if (url_db_) {
    size_t pos = 0;
    while (pos < title.size()) {
      size_t e = title.find_first_of(" \t|", pos);
      if (e == std::string_view::npos) e = title.size();
      std::string_view tok = title.substr(pos, e - pos);
      pos = e + 1;
      if (tok.find("://") == std::string_view::npos && tok.find('.') == std::string_view::npos)
        continue;
      std::vector<uint64_t> b = MatchDb(url_db_, tok);
      for (size_t i = 0; i < b.size(); ++i) ubits[i] |= b[i];
    }
  }
  auto bit = [](const std::vector<uint64_t>& b, size_t i) { return (b[i / 64] >> (i % 64)) & 1; };
  for (size_t i = 0; i < rules_.size(); ++i) {
    const ExclusionRule& r = rules_[i];
    if (!r.app_class.empty() && !GlobMatch(r.app_class, app_class) &&
        !GlobMatch(r.app_class, app_instance))
      continue;
    if (!r.title.empty() && !bit(tbits, i)) continue;
    if (!r.url.empty() && !bit(ubits, i)) continue;
    return r.reason;
  }
  return std::nullopt;
}

}  // namespace sealtrace::privacy
