#include "privacy/exclusions.h"

#include <hs.h>

#include <array>
#include <cstdlib>
#include <exception>
#include <list>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "privacy/hs_compile.h"
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
  auto db = CompileHsBlockDatabase(
      {expr.c_str()}, {HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY}, {0});
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

absl::Status TypeError(std::string_view filename, const toml::node& n, std::string_view key,
                       std::string_view want) {
  std::string m = "'";
  m.append(key);
  m += "' must be ";
  m.append(want);
  return ConfigError(filename, LineOf(n), m);
}

// `title = ["a", "b"]`: several patterns, all of which must match.
absl::Status ParseTitlePatterns(const toml::node& rn, const std::string& f,
                                std::string_view filename, bool check_patterns, ExclusionRule* r) {
  const toml::array& pats = *rn.as_array();
  if (pats.empty() || pats.size() > 8)
    return ConfigError(filename, LineOf(rn), "'title' array must hold 1 to 8 patterns");
  for (const toml::node& pn : pats) {
    if (!pn.is_string()) return TypeError(filename, pn, f, "a string or an array of strings");
    std::string pat = *pn.value<std::string>();
    if (pat.empty()) return ConfigError(filename, LineOf(pn), "'title' is empty");
    if (check_patterns) {
      absl::Status s = CheckPattern(pat, filename, LineOf(pn), f);
      if (!s.ok()) return s;
    }
    if (r->title.empty()) {
      r->title = std::move(pat);
    } else {
      r->title_also.push_back(std::move(pat));
    }
  }
  return absl::OkStatus();
}

// One [[exclude]] table.
absl::StatusOr<ExclusionRule> ParseExcludeRule(const toml::node& e, std::string_view filename,
                                               bool check_patterns) {
  const toml::table& t = *e.as_table();
  ExclusionRule r;
  r.file = std::string(filename);
  r.line = LineOf(e);
  for (auto&& [rk, rn] : t) {
    std::string f(rk.str());
    if (f == "title" && rn.is_array()) {
      absl::Status s = ParseTitlePatterns(rn, f, filename, check_patterns, &r);
      if (!s.ok()) return s;
      continue;
    }
    std::string* dst = f == "reason"      ? &r.reason
                       : f == "app_class" ? &r.app_class
                       : f == "title"     ? &r.title
                       : f == "url"       ? &r.url
                                          : nullptr;
    if (!dst) return ConfigError(filename, LineOf(rn), "unknown key '" + f + "' in [[exclude]]");
    if (!rn.is_string()) {
      return TypeError(filename, rn, f,
                       f == "title" ? "a string or an array of strings" : "a string");
    }
    *dst = *rn.value<std::string>();
    if (dst->empty()) return ConfigError(filename, LineOf(rn), "'" + f + "' is empty");
    if (check_patterns && (f == "title" || f == "url")) {
      absl::Status s = CheckPattern(*dst, filename, LineOf(rn), f);
      if (!s.ok()) return s;
    }
  }
  if (r.app_class.empty() && r.title.empty() && r.url.empty())
    return ConfigError(filename, r.line, "[[exclude]] needs at least one of app_class, title, url");
  if (r.reason.empty()) r.reason = "excluded";
  for (unsigned char c : r.reason) {
    if (!(absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.'))
      return ConfigError(filename, r.line, "reason must be [A-Za-z0-9_.-] (it is recorded)");
  }
  return r;
}

// `check_patterns`: compile each title/url pattern on its own so an error names
// its line. Off for the embedded defaults (tests guard them, and the whole set
// is compiled by ExclusionMatcher::Create anyway, errors still naming file:line).
absl::StatusOr<PrivacyConfig> ParseImpl(std::string_view text, std::string_view filename,
                                        bool* include_defaults, bool check_patterns = true) {
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
    return TypeError(filename, n, key, want);
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
    } else if (key == "title_policy") {
      if (!node.is_string()) return type_err(node, key, "a string");
      auto tp = ParseTitlePolicy(*node.value<std::string>());
      if (!tp) {
        return ConfigError(filename, LineOf(node),
                           "'title_policy' must be \"full\", \"app-and-domain\" or \"app-only\"");
      }
      cfg.title_policy = *tp;
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
        auto r = ParseExcludeRule(e, filename, check_patterns);
        if (!r.ok()) return r.status();
        cfg.exclusions.push_back(*std::move(r));
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
    auto def = ParseImpl(DefaultPrivacyConfigToml(), "privacy.default.toml", &ignored,
                         /*check_patterns=*/false);
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
  auto cfg = ParseImpl(DefaultPrivacyConfigToml(), "privacy.default.toml", &ignored,
                       /*check_patterns=*/false);
  if (!cfg.ok()) std::abort();
  return *std::move(cfg);
}

// ---------------------------------------------------------------------------

namespace {

// Compiled exclusion databases, serialised, by their exact pattern set. A
// recorder builds the same set several times at start-up (config check,
// consent scope, the gate) and tests build many gates: compiling the shipped
// set once per process saves most of that (it is ~100 patterns).
class CompiledCache {
 public:
  static CompiledCache& Get() {
    static CompiledCache* c = new CompiledCache();
    return *c;
  }
  // nullptr on a miss; a fresh database (caller frees) on a hit.
  hs_database_t* Find(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first != key) continue;
      hs_database_t* db = nullptr;
      if (hs_deserialize_database(it->second.data(), it->second.size(), &db) != HS_SUCCESS) {
        entries_.erase(it);
        return nullptr;
      }
      entries_.splice(entries_.begin(), entries_, it);
      return db;
    }
    return nullptr;
  }
  void Put(std::string key, const hs_database_t* db) {
    char* bytes = nullptr;
    size_t n = 0;
    if (hs_serialize_database(db, &bytes, &n) != HS_SUCCESS) return;
    std::string ser(bytes, n);
    std::free(bytes);  // hs_serialize_database allocates with the misc allocator (malloc)
    std::lock_guard<std::mutex> l(mu_);
    entries_.emplace_front(std::move(key), std::move(ser));
    while (entries_.size() > kMaxEntries) entries_.pop_back();
  }

 private:
  static constexpr size_t kMaxEntries = 8;
  std::mutex mu_;
  std::list<std::pair<std::string, std::string>> entries_;
};

absl::StatusOr<hs_database_t*> CompileCached(const std::vector<const char*>& exprs,
                                             const std::vector<unsigned>& flags,
                                             const std::vector<unsigned>& ids, int* idx) {
  std::string key;
  for (size_t i = 0; i < exprs.size(); ++i) {
    key += std::to_string(ids[i]);
    key += ':';
    key += std::to_string(flags[i]);
    key += ':';
    key += exprs[i];
    key += '\0';
  }
  if (hs_database_t* db = CompiledCache::Get().Find(key)) return db;
  auto compiled = CompileHsBlockDatabase(exprs, flags, ids, idx);
  if (compiled.ok()) CompiledCache::Get().Put(std::move(key), *compiled);
  return compiled;
}

}  // namespace

absl::StatusOr<std::unique_ptr<const ExclusionMatcher>> ExclusionMatcher::Create(
    const std::vector<ExclusionRule>& rules) {
  std::unique_ptr<ExclusionMatcher> m(new ExclusionMatcher());
  m->rules_ = rules;
  m->title_first_.assign(rules.size(), 0);
  for (int which = 0; which < 2; ++which) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    std::vector<size_t> rule_of;  // expression index -> rule index (for errors)
    for (size_t i = 0; i < rules.size(); ++i) {
      std::vector<const std::string*> pats;
      if (which == 0) {
        m->title_first_[i] = exprs.size();
        if (!rules[i].title.empty()) pats.push_back(&rules[i].title);
        for (const std::string& t : rules[i].title_also) pats.push_back(&t);
      } else if (!rules[i].url.empty()) {
        pats.push_back(&rules[i].url);
      }
      for (const std::string* e : pats) {
        // Title pattern ids are their index (title_rule_ maps them to the
        // rule); URL pattern ids are rule indices.
        ids.push_back(static_cast<unsigned>(which == 0 ? exprs.size() : i));
        exprs.push_back(e->c_str());
        flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY);
        rule_of.push_back(i);
      }
    }
    if (which == 0) {
      m->title_rule_ = rule_of;
      m->title_patterns_ = exprs.size();
    }
    if (exprs.empty()) continue;
    int idx = -1;
    auto compiled = CompileCached(exprs, flags, ids, &idx);
    if (!compiled.ok() && !absl::IsInvalidArgument(compiled.status())) return compiled.status();
    hs_database_t* db = compiled.ok() ? *compiled : nullptr;
    if (!compiled.ok()) {
      const std::string msg(compiled.status().message());
      if (idx >= 0 && static_cast<size_t>(idx) < rule_of.size()) {
        const ExclusionRule& r = rules[rule_of[idx]];
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

std::vector<uint64_t> ExclusionMatcher::MatchDb(hs_database* db, std::string_view text,
                                                size_t ids) const {
  std::vector<uint64_t> bits((ids + 63) / 64, 0);
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
  std::vector<uint64_t> tbits = MatchDb(title_db_, title, title_patterns_);
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
      std::vector<uint64_t> b = MatchDb(url_db_, tok, rules_.size());
      for (size_t i = 0; i < b.size(); ++i) ubits[i] |= b[i];
    }
  }
  auto bit = [](const std::vector<uint64_t>& b, size_t i) { return (b[i / 64] >> (i % 64)) & 1; };
  for (size_t i = 0; i < rules_.size(); ++i) {
    const ExclusionRule& r = rules_[i];
    if (!r.app_class.empty() && !GlobMatch(r.app_class, app_class) &&
        !GlobMatch(r.app_class, app_instance))
      continue;
    if (!r.title.empty()) {
      bool all = true;
      for (size_t k = 0; k < 1 + r.title_also.size() && all; ++k)
        all = bit(tbits, title_first_[i] + k);
      if (!all) continue;
    }
    if (!r.url.empty() && !bit(ubits, i)) continue;
    return r.reason;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Title policy and site domains

std::string_view TitlePolicyName(TitlePolicy p) {
  switch (p) {
    case TitlePolicy::kFull:
      return "full";
    case TitlePolicy::kAppAndDomain:
      return "app-and-domain";
    case TitlePolicy::kAppOnly:
      return "app-only";
  }
  return "app-only";
}

std::optional<TitlePolicy> ParseTitlePolicy(std::string_view name) {
  for (TitlePolicy p : {TitlePolicy::kFull, TitlePolicy::kAppAndDomain, TitlePolicy::kAppOnly}) {
    if (TitlePolicyName(p) == name) return p;
  }
  return std::nullopt;
}

bool IsBrowserWindow(std::string_view app_class, std::string_view app_instance) {
  static constexpr std::array<const char*, 30> kBrowsers = {"firefox*",
                                                            "navigator",
                                                            "librewolf*",
                                                            "waterfox*",
                                                            "floorp*",
                                                            "icecat*",
                                                            "palemoon*",
                                                            "seamonkey*",
                                                            "mullvad*browser*",
                                                            "zen*",
                                                            "chromium*",
                                                            "google-chrome*",
                                                            "chrome",
                                                            "brave*",
                                                            "microsoft-edge*",
                                                            "msedge*",
                                                            "vivaldi*",
                                                            "opera*",
                                                            "yandex-browser*",
                                                            "thorium*",
                                                            "epiphany*",
                                                            "org.gnome.epiphany*",
                                                            "falkon*",
                                                            "qutebrowser*",
                                                            "konqueror*",
                                                            "midori*",
                                                            "nyxt*",
                                                            "min",
                                                            "ungoogled-chromium*",
                                                            "tor browser*"};
  for (const char* g : kBrowsers) {
    if (GlobMatch(g, app_class) || GlobMatch(g, app_instance)) return true;
  }
  return false;
}

namespace {

bool ValidHost(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  size_t labels = 0;
  bool all_numeric = true;
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    if (dot == std::string_view::npos) dot = h.size();
    std::string_view l = h.substr(start, dot - start);
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
    for (unsigned char c : l) {
      if (!(absl::ascii_isalnum(c) || c == '-')) return false;
      if (!absl::ascii_isdigit(c)) all_numeric = false;
    }
    ++labels;
    start = dot + 1;
  }
  if (labels < 2 || all_numeric) return false;  // single label, or an IPv4 address
  // The top-level label is alphabetic (or an IDN A-label).
  std::string_view tld = h.substr(h.rfind('.') + 1);
  if (tld.size() < 2) return false;
  if (tld.rfind("xn--", 0) == 0) return true;
  for (unsigned char c : tld) {
    if (!absl::ascii_isalpha(c)) return false;
  }
  return true;
}

}  // namespace

std::string HostOfToken(std::string_view tok) {
  // Strip the punctuation titles put around addresses: "(https://x.org)", "<x>", "x,".
  while (!tok.empty() && std::string_view("([<{\"'").find(tok.front()) != std::string_view::npos)
    tok.remove_prefix(1);
  while (!tok.empty() &&
         std::string_view(")]>}\"',;:.!?").find(tok.back()) != std::string_view::npos)
    tok.remove_suffix(1);
  std::string lower = absl::AsciiStrToLower(std::string(tok));
  std::string_view t = lower;
  std::string_view host;
  const size_t scheme = t.find("://");
  if (scheme != std::string_view::npos) {
    std::string_view sch = t.substr(0, scheme);
    if (sch != "http" && sch != "https") return "";
    std::string_view rest = t.substr(scheme + 3);
    host = rest.substr(0, rest.find_first_of("/?#"));
    const size_t at = host.rfind('@');  // user info
    if (at != std::string_view::npos) host.remove_prefix(at + 1);
  } else {
    const size_t slash = t.find_first_of("/?#");
    host = t.substr(0, slash);
    const bool www = host.rfind("www.", 0) == 0;
    // Without a scheme a path is required ("github.com/org/repo"), except for
    // "www." hosts: "notes.md" or "main.cc" alone is a file name.
    if (!www && slash == std::string_view::npos) return "";
    if (host.find('@') != std::string_view::npos) return "";  // user@host: an e-mail, not a site
  }
  if (!host.empty() && host.front() == '[') return "";  // IPv6 literal
  const size_t colon = host.find(':');
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    for (unsigned char c : port) {
      if (!absl::ascii_isdigit(c)) return "";
    }
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // FQDN dot
  if (!ValidHost(host)) return "";
  return std::string(host);
}

std::string RegistrableDomain(std::string_view host_in) {
  std::string host = absl::AsciiStrToLower(std::string(host_in));
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (!ValidHost(host)) return "";
  std::vector<std::string_view> labels;
  for (size_t start = 0;;) {
    const size_t dot = host.find('.', start);
    labels.push_back(std::string_view(host).substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  const size_t n = labels.size();
  auto last = [&](size_t k) {
    std::string out;
    for (size_t i = n - k; i < n; ++i) {
      if (!out.empty()) out += '.';
      out.append(labels[i]);
    }
    return out;
  };
  if (n == 2) return host;
  // Well-known two-label public suffixes where every subdomain is a separate
  // site (hosting platforms; from the Public Suffix List's private section).
  static constexpr std::array<const char*, 17> kHosting = {
      "github.io",      "gitlab.io",       "herokuapp.com", "appspot.com",    "blogspot.com",
      "netlify.app",    "vercel.app",      "pages.dev",     "workers.dev",    "azurewebsites.net",
      "cloudfront.net", "firebaseapp.com", "web.app",       "readthedocs.io", "myshopify.com",
      "glitch.me",      "fly.dev"};
  const std::string two = last(2);
  for (const char* h : kHosting) {
    if (two == h) return last(3);
  }
  // Country-code second-level suffixes: co.uk, com.au, ac.jp, gouv.fr, ...
  static constexpr std::array<const char*, 27> kSecondLevel = {
      "co",  "com", "net", "org",  "gov",  "edu",  "ac",  "or",  "ne",
      "go",  "gob", "gv",  "govt", "mil",  "nhs",  "ltd", "plc", "nom",
      "sch", "gen", "biz", "info", "firm", "gouv", "gc",  "id",  "me"};
  const std::string_view tld = labels[n - 1], sld = labels[n - 2];
  if (tld.size() == 2) {
    for (const char* s : kSecondLevel) {
      if (sld == s) return last(3);
    }
  }
  return two;
}

std::string SiteDomainFromTitle(std::string_view title) {
  if (title.size() > ExclusionMatcher::kMaxTitleBytes)
    title = title.substr(0, ExclusionMatcher::kMaxTitleBytes);
  size_t pos = 0;
  while (pos < title.size()) {
    size_t e = title.find_first_of(" \t|", pos);
    if (e == std::string_view::npos) e = title.size();
    std::string_view tok = title.substr(pos, e - pos);
    pos = e + 1;
    if (tok.find('.') == std::string_view::npos) continue;
    std::string host = HostOfToken(tok);
    if (host.empty()) continue;
    std::string d = RegistrableDomain(host);
    if (!d.empty()) return d;
  }
  return "";
}

}  // namespace sealtrace::privacy
