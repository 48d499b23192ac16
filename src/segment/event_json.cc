// See event_json.h. The rules below were taken from protobuf 3.21's
// util/internal (json_escaping.cc, json_stream_parser.cc, datapiece.cc,
// proto_writer.cc, protostream_objectwriter.cc) and stubs/strutil.cc, and
// confirmed by experiment; tests/data/event_json/ holds the evidence.
#include "segment/event_json.h"

#include <locale.h>
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"

namespace sealtrace {
namespace {

std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) s.append(p);
  return s;
}

// ===========================================================================
// Printing

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void AppendU16Escape(uint32_t unit, std::string* out) {
  const char buf[6] = {'\\',
                       'u',
                       kHexDigits[(unit >> 12) & 15],
                       kHexDigits[(unit >> 8) & 15],
                       kHexDigits[(unit >> 4) & 15],
                       kHexDigits[unit & 15]};
  out->append(buf, 6);
}

// json_util's escape for code point `cp`, if it has one. Returns false when
// the code point is copied as it is.
bool AppendEscape(uint32_t cp, std::string* out) {
  if (cp < 0xa0) {
    switch (cp) {
      case '\b':
        out->append("\\b");
        return true;
      case '\t':
        out->append("\\t");
        return true;
      case '\n':
        out->append("\\n");
        return true;
      case '\f':
        out->append("\\f");
        return true;
      case '\r':
        out->append("\\r");
        return true;
      case '"':
        out->append("\\\"");
        return true;
      case '\\':
        out->append("\\\\");
        return true;
      case '<':
      case '>':
        AppendU16Escape(cp, out);
        return true;
      default:
        break;
    }
    // C0 controls, DEL, C1 controls.
    if (cp < 0x20 || cp >= 0x7f) {
      AppendU16Escape(cp, out);
      return true;
    }
    return false;
  }
  // Not required by JSON; json_util escapes them against JavaScript pitfalls.
  if (cp == 0xad || (cp >= 0x600 && cp <= 0x603) || cp == 0x6dd || cp == 0x70f || cp == 0x17b4 ||
      cp == 0x17b5 || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
      (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x206a && cp <= 0x206f) || cp == 0xfeff ||
      (cp >= 0xfff9 && cp <= 0xfffb)) {
    AppendU16Escape(cp, out);
    return true;
  }
  if (cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0020 && cp <= 0xe007f)) {
    const uint32_t v = cp - 0x10000;
    AppendU16Escape(0xd800 + (v >> 10), out);
    AppendU16Escape(0xdc00 + (v & 0x3ff), out);
    return true;
  }
  return false;
}

// A JSON string literal for `s`, byte-identical to json_util's
// JsonEscaping::Escape, including what it does with bytes that are not UTF-8:
// a sequence that is malformed is dropped (a lead byte, the continuation bytes
// read so far and the first byte that is not a continuation byte); overlong
// forms are not checked, so they are decoded (and escaped if the code point
// has an escape, else copied as they are); surrogates and code points above
// U+10FFFF are dropped; a sequence cut off by the end of the string is dropped.
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      if (!AppendEscape(lead, out)) out->push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len;
    if (lead <= 0xbf) {  // stray continuation byte
      ++i;
      continue;
    } else if (lead <= 0xdf) {
      cp = lead & 0x1f;
      len = 2;
    } else if (lead <= 0xef) {
      cp = lead & 0x0f;
      len = 3;
    } else if (lead <= 0xf7) {
      cp = lead & 0x07;
      len = 4;
    } else {  // 0xf8..0xff
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool malformed = false;
    while (j < i + len && j < n) {
      const unsigned char c = static_cast<unsigned char>(s[j++]);
      cp = (cp << 6) | (c & 0x3f);
      if (c < 0x80 || c > 0xbf) {
        malformed = true;
        break;
      }
    }
    if (malformed) {
      i = j;  // the offending byte goes too
      continue;
    }
    if (j < i + len) break;  // cut off by the end of the string
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      i = j;
      continue;
    }
    if (!AppendEscape(cp, out)) out->append(s.data() + i, len);
    i = j;
  }
  out->push_back('"');
}

void AppendBase64(std::string_view in, std::string* out) {
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                       (static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                       static_cast<uint32_t>(static_cast<unsigned char>(in[i + 2]));
    out->push_back(kBase64Chars[v >> 18]);
    out->push_back(kBase64Chars[(v >> 12) & 63]);
    out->push_back(kBase64Chars[(v >> 6) & 63]);
    out->push_back(kBase64Chars[v & 63]);
  }
  if (in.size() - i == 1) {
    const uint32_t v = static_cast<unsigned char>(in[i]);
    out->push_back(kBase64Chars[v >> 2]);
    out->push_back(kBase64Chars[(v & 3) << 4]);
    out->append("==");
  } else if (in.size() - i == 2) {
    const uint32_t v = (static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 8) |
                       static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1]));
    out->push_back(kBase64Chars[v >> 10]);
    out->push_back(kBase64Chars[(v >> 4) & 63]);
    out->push_back(kBase64Chars[(v & 15) << 2]);
    out->push_back('=');
  }
}

// Writes one JSON object: '{' on construction, '}' on destruction. Each method
// skips a field that has its default value.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  ~ObjectWriter() { out_->push_back('}'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  void Key(std::string_view name) {
    if (!first_) out_->push_back(',');
    first_ = false;
    out_->push_back('"');
    out_->append(name);
    out_->append("\":");
  }
  void Uint64(std::string_view name, uint64_t v) {
    if (v == 0) return;
    Key(name);
    out_->append("\"").append(std::to_string(v)).push_back('"');
  }
  void Uint32(std::string_view name, uint32_t v) {
    if (v == 0) return;
    Key(name);
    out_->append(std::to_string(v));
  }
  void Int32(std::string_view name, int32_t v) {
    if (v == 0) return;
    Key(name);
    out_->append(std::to_string(v));
  }
  void Bool(std::string_view name, bool v) {
    if (!v) return;
    Key(name);
    out_->append("true");
  }
  void String(std::string_view name, std::string_view v) {
    if (v.empty()) return;
    Key(name);
    AppendJsonString(v, out_);
  }
  void Bytes(std::string_view name, std::string_view v) {
    if (v.empty()) return;
    Key(name);
    out_->push_back('"');
    AppendBase64(v, out_);
    out_->push_back('"');
  }
  // `value_name` is empty for a number the enum does not define.
  void Enum(std::string_view name, int v, std::string_view value_name) {
    if (v == 0) return;
    Key(name);
    if (value_name.empty()) {
      out_->append(std::to_string(v));
    } else {
      out_->append("\"").append(value_name).push_back('"');
    }
  }

 private:
  std::string* out_;
  bool first_ = true;
};

// ===========================================================================
// Parsing

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t more;
    unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
    } else if (c == 0xe0) {
      more = 2;
      lo = 0xa0;
    } else if (c == 0xed) {
      more = 2;
      hi = 0x9f;
    } else if (c >= 0xe1 && c <= 0xef) {
      more = 2;
    } else if (c == 0xf0) {
      more = 3;
      lo = 0x90;
    } else if (c == 0xf4) {
      more = 3;
      hi = 0x8f;
    } else if (c >= 0xf1 && c <= 0xf3) {
      more = 3;
    } else {
      return false;
    }
    if (n - i - 1 < more) return false;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (size_t k = 2; k <= more; ++k) {
      const unsigned char ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xbf) return false;
    }
    i += more + 1;
  }
  return true;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// json_util's whitespace (ascii_isspace).
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// First character of a bare (unquoted) object key, and the ones after it.
bool IsKeyStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool IsKeyChar(char c) { return IsKeyStart(c) || IsDigit(c); }

// protobuf's safe_strto{32,64}/safe_strtou{32,64}: optional sign, then one or
// more decimal digits, nothing else. A '-' is refused for unsigned targets
// (even "-0"). Sets *negative and *magnitude.
bool ParseDecimal(std::string_view s, bool allow_negative, uint64_t max_positive,
                  uint64_t max_negative_magnitude, bool* negative, uint64_t* magnitude) {
  if (s.empty()) return false;
  *negative = s[0] == '-';
  if (*negative || s[0] == '+') {
    s.remove_prefix(1);
    if (s.empty()) return false;
  }
  if (*negative && !allow_negative) return false;
  const uint64_t limit = *negative ? max_negative_magnitude : max_positive;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (d > limit || v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  *magnitude = v;
  return true;
}

// strtod in the "C" locale (protobuf's NoLocaleStrtod), the whole of `s`.
bool ParseDouble(const std::string& s, double* out) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  if (s.empty()) return false;
  char* end = nullptr;
  *out = c_locale != static_cast<locale_t>(nullptr) ? strtod_l(s.c_str(), &end, c_locale)
                                                    : strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// One JSON scalar as the stream parser classified it.
struct Scalar {
  enum Kind { kString, kUint, kInt, kDouble, kBool, kNull };
  Kind kind = kNull;
  std::string str;  // kString: decoded
  uint64_t u = 0;   // kUint: a number token without '.', 'e', 'E' that fits uint64
  int64_t i = 0;    // kInt: such a token starting with '-' that fits int64
  double d = 0;     // kDouble: any other number token
  bool b = false;   // kBool
};

// Integer conversions of DataPiece (ToUint64, ToUint32, ToInt32). A double
// converts when it is an integer in range; a string when it is [+-]digits
// with no spaces.
bool ToUnsigned(const Scalar& s, uint64_t max, uint64_t* out) {
  switch (s.kind) {
    case Scalar::kUint:
      if (s.u > max) return false;
      *out = s.u;
      return true;
    case Scalar::kInt:
      if (s.i < 0 || static_cast<uint64_t>(s.i) > max) return false;
      *out = static_cast<uint64_t>(s.i);
      return true;
    case Scalar::kDouble:
      // max + 1 is a power of two, exact as a double.
      if (!(s.d >= 0) || s.d >= static_cast<double>(max) + 1.0 || std::trunc(s.d) != s.d) {
        return false;
      }
      *out = static_cast<uint64_t>(s.d);
      return true;
    case Scalar::kString: {
      bool negative;
      uint64_t v;
      if (!ParseDecimal(s.str, /*allow_negative=*/false, max, 0, &negative, &v)) return false;
      *out = v;
      return true;
    }
    default:
      return false;
  }
}

bool ToInt32(const Scalar& s, int32_t* out) {
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  switch (s.kind) {
    case Scalar::kUint:
      if (s.u > static_cast<uint64_t>(kMax)) return false;
      *out = static_cast<int32_t>(s.u);
      return true;
    case Scalar::kInt:
      if (s.i < kMin || s.i > kMax) return false;
      *out = static_cast<int32_t>(s.i);
      return true;
    case Scalar::kDouble:
      if (!(s.d >= static_cast<double>(kMin) && s.d <= static_cast<double>(kMax)) ||
          std::trunc(s.d) != s.d) {
        return false;
      }
      *out = static_cast<int32_t>(s.d);
      return true;
    case Scalar::kString: {
      bool negative;
      uint64_t v;
      if (!ParseDecimal(s.str, /*allow_negative=*/true, static_cast<uint64_t>(kMax),
                        static_cast<uint64_t>(kMax) + 1, &negative, &v)) {
        return false;
      }
      *out = negative ? static_cast<int32_t>(-static_cast<int64_t>(v)) : static_cast<int32_t>(v);
      return true;
    }
    default:
      return false;
  }
}

// DataPiece::ToBool: a JSON bool, or a string protobuf's safe_strtob knows.
bool ToBool(const Scalar& s, bool* out) {
  if (s.kind == Scalar::kBool) {
    *out = s.b;
    return true;
  }
  if (s.kind != Scalar::kString) return false;
  for (const char* t : {"true", "t", "yes", "y", "1"}) {
    if (absl::EqualsIgnoreCase(s.str, t)) {
      *out = true;
      return true;
    }
  }
  for (const char* f : {"false", "f", "no", "n", "0"}) {
    if (absl::EqualsIgnoreCase(s.str, f)) {
      *out = false;
      return true;
    }
  }
  return false;
}

int Base64Value(char c, bool* standard_only, bool* url_only) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '/') {
    *standard_only = true;
    return c == '+' ? 62 : 63;
  }
  if (c == '-' || c == '_') {
    *url_only = true;
    return c == '-' ? 62 : 63;
  }
  return -1;
}

// DataPiece::ToBytes with strict decoding (json_util's default): the text must
// be exactly what the encoder would produce for the decoded bytes, in one
// alphabet, standard or URL-safe, with its '=' padding or with none.
bool DecodeBase64(std::string_view in, std::string* out) {
  size_t padding = 0;
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
    ++padding;
  }
  const size_t tail = in.size() % 4;
  if (tail == 1) return false;
  const size_t expected_padding = tail == 0 ? 0 : 4 - tail;
  if (padding != 0 && padding != expected_padding) return false;
  bool standard = false, url = false;
  out->clear();
  out->reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = Base64Value(c, &standard, &url);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (standard && url) return false;
  // Leftover bits (4 after two characters, 2 after three) must be zero.
  return (acc & ((1u << bits) - 1)) == 0;
}

enum class Type { kUint64, kUint32, kInt32, kBool, kString, kBytes, kEnum };

// A scalar converted for a field of a given Type.
struct Converted {
  uint64_t u64 = 0;
  uint32_t u32 = 0;
  int32_t i32 = 0;
  bool b = false;
  std::string s;
};

// A field's value as the printer reads it (views into the message).
struct Printed {
  uint64_t u64 = 0;
  uint32_t u32 = 0;
  int32_t i32 = 0;
  bool b = false;
  std::string_view s;
};

// One field of a message, for both directions: the parser sets it from a
// Converted scalar, the printer reads it into Printed. A table lists a
// message's fields in field-number order (the order json_util prints them),
// one ST_FIELD line per field of sealtrace/v1/events.proto.
template <typename M>
struct FieldSpec {
  std::string_view name;       // proto field name
  std::string_view json_name;  // lowerCamelCase
  Type type;
  void (*set)(M*, Converted&);
  void (*get)(const M&, Printed*);
  // kEnum only: value by exact name, whether a number is defined, and the
  // name of a defined number.
  bool (*enum_parse)(const std::string&, int*) = nullptr;
  bool (*enum_valid)(int) = nullptr;
  std::string_view (*enum_name)(int) = nullptr;
};

// A scalar field: `slot` is the Converted/Printed member of its type.
#define ST_FIELD(M, field, json, type, slot)                                                      \
  FieldSpec<M> {                                                                                  \
#field, json, Type::type,                                                                     \
        [](M * m,                                                                                 \
           Converted &                                                                            \
               v) { m->set_##field(std::move(v.slot)); }, [](const M& m,                          \
                                                             Printed* p) { p->slot = m.field(); } \
  }
// An enum field of enum type M::E.
#define ST_ENUM_FIELD(M, field, json, E)                                                                          \
  FieldSpec<M> {                                                                                                  \
#field, json, Type::kEnum,                                                                                    \
        [](M * m,                                                                                                 \
           Converted &                                                                                            \
               v) { m->set_##field(static_cast<M::E>(v.i32)); },                                                  \
                                                              [](const M& m,                                      \
                                                                 Printed*                                         \
                                                                     p) { p->i32 = m.field(); },                  \
                                                                                              EnumParse <         \
                                                                                                  M::E,           \
                                                                                              M::E##_Parse>       \
                                                                                              ,                   \
                                                                                              EnumValid <         \
                                                                                                  M::E##_IsValid> \
                                                                                              ,                   \
                                                                                              EnumName <          \
                                                                                                  M::E,           \
                                                                                              M::E##_IsValid,     \
                                                                                              M::E##_Name>        \
  }

template <typename E, bool (*Parse)(const std::string&, E*)>
bool EnumParse(const std::string& name, int* v) {
  E e;
  if (!Parse(name, &e)) return false;
  *v = e;
  return true;
}
template <bool (*IsValid)(int)>
bool EnumValid(int v) {
  return IsValid(v);
}
// Empty for a number the enum does not define (printed as the number).
template <typename E, bool (*IsValid)(int), const std::string& (*Name)(E)>
std::string_view EnumName(int v) {
  return IsValid(v) ? std::string_view(Name(static_cast<E>(v))) : std::string_view();
}

using v1::ControlEvent;
using v1::FocusEvent;
using v1::FrameRef;
using v1::KeyEvent;
using v1::PointerEvent;
using v1::RedactionMarker;

const FieldSpec<KeyEvent> kKeyFields[] = {
    ST_FIELD(KeyEvent, down, "down", kBool, b),
    ST_FIELD(KeyEvent, keycode, "keycode", kUint32, u32),
    ST_FIELD(KeyEvent, keysym, "keysym", kUint32, u32),
    ST_FIELD(KeyEvent, text, "text", kString, s),
    ST_FIELD(KeyEvent, modifiers, "modifiers", kUint32, u32),
    ST_FIELD(KeyEvent, repeat, "repeat", kBool, b),
};

const FieldSpec<PointerEvent> kPointerFields[] = {
    ST_ENUM_FIELD(PointerEvent, kind, "kind", Kind),
    ST_FIELD(PointerEvent, x, "x", kInt32, i32),
    ST_FIELD(PointerEvent, y, "y", kInt32, i32),
    ST_FIELD(PointerEvent, button, "button", kUint32, u32),
    ST_FIELD(PointerEvent, scroll_dx, "scrollDx", kInt32, i32),
    ST_FIELD(PointerEvent, scroll_dy, "scrollDy", kInt32, i32),
    ST_FIELD(PointerEvent, modifiers, "modifiers", kUint32, u32),
};

const FieldSpec<FocusEvent> kFocusFields[] = {
    ST_FIELD(FocusEvent, window_id, "windowId", kUint64, u64),
    ST_FIELD(FocusEvent, app_class, "appClass", kString, s),
    ST_FIELD(FocusEvent, app_instance, "appInstance", kString, s),
    ST_FIELD(FocusEvent, title, "title", kString, s),
    ST_FIELD(FocusEvent, pid, "pid", kUint32, u32),
    ST_FIELD(FocusEvent, x, "x", kInt32, i32),
    ST_FIELD(FocusEvent, y, "y", kInt32, i32),
    ST_FIELD(FocusEvent, width, "width", kUint32, u32),
    ST_FIELD(FocusEvent, height, "height", kUint32, u32),
    ST_FIELD(FocusEvent, screen_width, "screenWidth", kUint32, u32),
    ST_FIELD(FocusEvent, screen_height, "screenHeight", kUint32, u32),
    ST_FIELD(FocusEvent, title_change, "titleChange", kBool, b),
};

const FieldSpec<RedactionMarker> kRedactionFields[] = {
    ST_FIELD(RedactionMarker, kind, "kind", kString, s),
    ST_FIELD(RedactionMarker, length_bucket, "lengthBucket", kUint32, u32),
    ST_FIELD(RedactionMarker, key_events, "keyEvents", kUint32, u32),
};

const FieldSpec<ControlEvent> kControlFields[] = {
    ST_ENUM_FIELD(ControlEvent, kind, "kind", Kind),
    ST_FIELD(ControlEvent, duration_us, "durationUs", kUint64, u64),
    ST_FIELD(ControlEvent, reason, "reason", kString, s),
};

const FieldSpec<FrameRef> kFrameFields[] = {
    ST_FIELD(FrameRef, frame_id, "frameId", kBytes, s),
    ST_FIELD(FrameRef, format, "format", kString, s),
    ST_FIELD(FrameRef, width, "width", kUint32, u32),
    ST_FIELD(FrameRef, height, "height", kUint32, u32),
    ST_FIELD(FrameRef, x, "x", kInt32, i32),
    ST_FIELD(FrameRef, y, "y", kInt32, i32),
    ST_FIELD(FrameRef, trigger, "trigger", kString, s),
};

#undef ST_ENUM_FIELD
#undef ST_FIELD

// Prints a message's fields in table order, each only when it is not its
// default (json_util's output without always_print_primitive_fields).
template <typename M, size_t N>
void WriteFields(const M& m, const FieldSpec<M> (&fields)[N], std::string* out) {
  ObjectWriter w(out);
  for (const FieldSpec<M>& f : fields) {
    Printed p;
    f.get(m, &p);
    switch (f.type) {
      case Type::kUint64:
        w.Uint64(f.name, p.u64);
        break;
      case Type::kUint32:
        w.Uint32(f.name, p.u32);
        break;
      case Type::kInt32:
        w.Int32(f.name, p.i32);
        break;
      case Type::kBool:
        w.Bool(f.name, p.b);
        break;
      case Type::kString:
        w.String(f.name, p.s);
        break;
      case Type::kBytes:
        w.Bytes(f.name, p.s);
        break;
      case Type::kEnum:
        w.Enum(f.name, p.i32, f.enum_name(p.i32));
        break;
    }
  }
}

// Converts `s` for a field of type `type`; false if json_util refused it.
template <typename M>
bool Convert(const FieldSpec<M>& f, Scalar& s, Converted* out) {
  switch (f.type) {
    case Type::kUint64:
      return ToUnsigned(s, std::numeric_limits<uint64_t>::max(), &out->u64);
    case Type::kUint32: {
      uint64_t v;
      if (!ToUnsigned(s, std::numeric_limits<uint32_t>::max(), &v)) return false;
      out->u32 = static_cast<uint32_t>(v);
      return true;
    }
    case Type::kInt32:
      return ToInt32(s, &out->i32);
    case Type::kBool:
      return ToBool(s, &out->b);
    case Type::kString:
      if (s.kind != Scalar::kString) return false;
      out->s = std::move(s.str);
      return true;
    case Type::kBytes:
      return s.kind == Scalar::kString && DecodeBase64(s.str, &out->s);
    case Type::kEnum: {
      if (s.kind == Scalar::kString) {
        int v;
        if (f.enum_parse(s.str, &v)) {
          out->i32 = v;
          return true;
        }
        // A defined number, as a string ("3").
        int32_t n;
        if (ToInt32(s, &n) && f.enum_valid(n)) {
          out->i32 = n;
          return true;
        }
        return false;
      }
      // A number keeps its value, defined or not.
      return ToInt32(s, &out->i32);
    }
  }
  return false;
}

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kUint64:
      return "a uint64";
    case Type::kUint32:
      return "a uint32";
    case Type::kInt32:
      return "an int32";
    case Type::kBool:
      return "a bool";
    case Type::kString:
      return "a string";
    case Type::kBytes:
      return "base64 bytes";
    case Type::kEnum:
      return "an enum value";
  }
  return "a value";
}

// Names an unknown key in an error message only when it looks like a field
// name; anything else could be content.
std::string DescribeKey(std::string_view key) {
  bool plain = !key.empty() && key.size() <= 64;
  for (char c : key) plain = plain && IsKeyChar(c) && c != '$';
  return plain ? Cat({"\"", key, "\""}) : std::string("(name not shown)");
}

class Parser {
 public:
  explicit Parser(std::string_view text) : in_(text) {}

  absl::Status ParseEvent(v1::Event* e) {
    if (!IsValidUtf8(in_)) return absl::InvalidArgumentError("event JSON: text is not UTF-8");
    SkipSpace();
    if (AtEnd()) return absl::InvalidArgumentError("event JSON: empty text");
    if (in_[pos_] != '{') return absl::InvalidArgumentError("event JSON: not a JSON object");
    bool body_set = false;
    absl::Status st = ParseObject([&](const std::string& key) -> absl::Status {
      if (key == "t_us" || key == "tUs") {
        if (absl::Status bad = ReadScalarFor("t_us"); !bad.ok()) return bad;
        Scalar s;
        if (absl::Status bad = ReadScalar(&s); !bad.ok()) return bad;
        if (s.kind == Scalar::kNull) return absl::OkStatus();
        uint64_t v;
        if (!ToUnsigned(s, std::numeric_limits<uint64_t>::max(), &v)) {
          return FieldError("t_us", "is not a uint64 in range");
        }
        e->set_t_us(v);
        return absl::OkStatus();
      }
      if (key == "key") return ParseBody(key, e, &v1::Event::mutable_key, kKeyFields, &body_set);
      if (key == "pointer") {
        return ParseBody(key, e, &v1::Event::mutable_pointer, kPointerFields, &body_set);
      }
      if (key == "focus") {
        return ParseBody(key, e, &v1::Event::mutable_focus, kFocusFields, &body_set);
      }
      if (key == "redaction") {
        return ParseBody(key, e, &v1::Event::mutable_redaction, kRedactionFields, &body_set);
      }
      if (key == "control") {
        return ParseBody(key, e, &v1::Event::mutable_control, kControlFields, &body_set);
      }
      if (key == "frame") {
        return ParseBody(key, e, &v1::Event::mutable_frame, kFrameFields, &body_set);
      }
      return absl::InvalidArgumentError(Cat({"event JSON: unknown field ", DescribeKey(key)}));
    });
    if (!st.ok()) return st;
    SkipSpace();
    if (!AtEnd()) return SyntaxError("text after the end of the object");
    return absl::OkStatus();
  }

 private:
  bool AtEnd() const { return pos_ >= in_.size(); }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(in_[pos_])) ++pos_;
  }
  bool LookingAt(std::string_view word) const { return in_.substr(pos_, word.size()) == word; }

  absl::Status SyntaxError(std::string_view what) const {
    return absl::InvalidArgumentError(
        Cat({"event JSON: syntax error at offset ", std::to_string(pos_), ": ", what}));
  }
  static absl::Status FieldError(std::string_view path, std::string_view what) {
    return absl::InvalidArgumentError(Cat({"event JSON: field ", path, " ", what}));
  }

  // A value is about to be read for a scalar field: objects and lists are
  // refused (json_util: "Starting an object on a scalar field", "Proto field
  // is not repeating, cannot start list").
  absl::Status ReadScalarFor(std::string_view path) {
    if (AtEnd()) return absl::OkStatus();  // ReadScalar reports it
    if (in_[pos_] == '{') return FieldError(path, "takes a scalar, not an object");
    if (in_[pos_] == '[') return FieldError(path, "takes a scalar, not a list");
    return absl::OkStatus();
  }

  // Reads `{ member, ... }` calling on_member(key) with pos_ at the value
  // (after whitespace). Trailing comma allowed, keys quoted or bare.
  template <typename OnMember>
  absl::Status ParseObject(OnMember on_member) {
    ++pos_;  // '{'
    std::string key;
    for (;;) {
      SkipSpace();
      if (AtEnd()) return SyntaxError("unexpected end, expected a key or '}'");
      const char c = in_[pos_];
      if (c == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c == '"' || c == '\'') {
        if (absl::Status st = ReadString(&key); !st.ok()) return st;
      } else if (IsKeyStart(c)) {
        const size_t start = pos_;
        while (!AtEnd() && IsKeyChar(in_[pos_])) ++pos_;
        key.assign(in_.substr(start, pos_ - start));
        if (key == "true" || key == "false" || key == "null") {
          pos_ = start;
          return SyntaxError("expected a key or '}'");
        }
      } else {
        return SyntaxError("expected a key or '}'");
      }
      SkipSpace();
      if (AtEnd() || in_[pos_] != ':') return SyntaxError("expected ':'");
      ++pos_;
      SkipSpace();
      if (absl::Status st = on_member(key); !st.ok()) return st;
      SkipSpace();
      if (AtEnd()) return SyntaxError("unexpected end, expected ',' or '}'");
      if (in_[pos_] == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      if (in_[pos_] != ',') return SyntaxError("expected ',' or '}'");
      ++pos_;
    }
  }

  // A member of the `body` oneof: an object (at most one non-null member of
  // the oneof per event) or null (ignored, does not count as set).
  template <typename M, size_t N>
  absl::Status ParseBody(std::string_view name, v1::Event* e, M* (v1::Event::*mutable_msg)(),
                         const FieldSpec<M> (&fields)[N], bool* body_set) {
    if (!AtEnd() && in_[pos_] == '[') return FieldError(name, "takes an object, not a list");
    if (AtEnd() || in_[pos_] != '{') {
      Scalar s;
      if (absl::Status st = ReadScalar(&s); !st.ok()) return st;
      if (s.kind == Scalar::kNull) return absl::OkStatus();
      return FieldError(name, "takes an object");
    }
    if (*body_set) {
      return absl::InvalidArgumentError(
          Cat({"event JSON: field ", name, ": the oneof body already has a member"}));
    }
    *body_set = true;
    M* msg = (e->*mutable_msg)();
    return ParseObject([&](const std::string& key) -> absl::Status {
      const FieldSpec<M>* f = nullptr;
      for (const FieldSpec<M>& spec : fields) {
        if (key == spec.name || key == spec.json_name) {
          f = &spec;
          break;
        }
      }
      if (f == nullptr) {
        return absl::InvalidArgumentError(
            Cat({"event JSON: unknown field ", DescribeKey(key), " in ", name}));
      }
      const std::string path = Cat({name, ".", f->name});
      if (absl::Status st = ReadScalarFor(path); !st.ok()) return st;
      Scalar s;
      if (absl::Status st = ReadScalar(&s); !st.ok()) return st;
      if (s.kind == Scalar::kNull) return absl::OkStatus();
      Converted v;
      if (!Convert(*f, s, &v)) return FieldError(path, Cat({"is not ", TypeName(f->type)}));
      f->set(msg, v);
      return absl::OkStatus();
    });
  }

  // string | number | true | false | null.
  absl::Status ReadScalar(Scalar* s) {
    if (AtEnd()) return SyntaxError("unexpected end, expected a value");
    const char c = in_[pos_];
    if (c == '"' || c == '\'') {
      s->kind = Scalar::kString;
      return ReadString(&s->str);
    }
    if (c == '-' || IsDigit(c)) return ReadNumber(s);
    if (LookingAt("true")) {
      pos_ += 4;
      s->kind = Scalar::kBool;
      s->b = true;
      return absl::OkStatus();
    }
    if (LookingAt("false")) {
      pos_ += 5;
      s->kind = Scalar::kBool;
      s->b = false;
      return absl::OkStatus();
    }
    if (LookingAt("null")) {
      pos_ += 4;
      s->kind = Scalar::kNull;
      return absl::OkStatus();
    }
    return SyntaxError("expected a value");
  }

  // JsonStreamParser::ParseStringHelper: "..." or '...'; a backslash makes the
  // next character stand for itself except b f n r t v and uXXXX.
  absl::Status ReadString(std::string* out) {
    out->clear();
    const char quote = in_[pos_++];
    while (!AtEnd()) {
      const char c = in_[pos_];
      if (c == quote) {
        ++pos_;
        return absl::OkStatus();
      }
      if (c != '\\') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= in_.size()) break;
      const char e = in_[pos_ + 1];
      if (e == 'u') {
        if (absl::Status st = ReadUnicodeEscape(out); !st.ok()) return st;
        continue;
      }
      switch (e) {
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'v':
          out->push_back('\v');
          break;
        default:
          out->push_back(e);
      }
      pos_ += 2;
    }
    return SyntaxError("unterminated string");
  }

  bool ReadHex4(size_t at, uint32_t* v) const {
    *v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int h = HexValue(in_[at + k]);
      if (h < 0) return false;
      *v = (*v << 4) | static_cast<uint32_t>(h);
    }
    return true;
  }

  // pos_ at "\u". A high surrogate must be followed by "\u" and a low one; a
  // lone low surrogate is refused.
  absl::Status ReadUnicodeEscape(std::string* out) {
    if (in_.size() - pos_ < 6) return SyntaxError("incomplete \\u escape");
    uint32_t code;
    if (!ReadHex4(pos_ + 2, &code)) return SyntaxError("bad \\u escape");
    if (code >= 0xd800 && code <= 0xdbff) {
      if (in_.size() - pos_ < 12) return SyntaxError("missing low surrogate");
      if (in_[pos_ + 6] != '\\' || in_[pos_ + 7] != 'u') {
        return SyntaxError("missing low surrogate");
      }
      uint32_t low;
      if (!ReadHex4(pos_ + 8, &low)) return SyntaxError("bad \\u escape");
      if (low < 0xdc00 || low > 0xdfff) return SyntaxError("invalid low surrogate");
      code = (((code & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
      pos_ += 6;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return SyntaxError("lone low surrogate");
    }
    AppendUtf8(code, out);
    pos_ += 6;
    return absl::OkStatus();
  }

  // JsonStreamParser::ParseNumberHelper: the token is the longest run of
  // [0-9.eE+-x]; with '.', 'e' or 'E' it is a double (strtod, must be finite);
  // else a uint64 (or int64 if it starts with '-'), falling back to double when
  // it does not fit. No leading zero ("01", "-01") outside doubles.
  absl::Status ReadNumber(Scalar* s) {
    const size_t start = pos_;
    bool floating = false;
    size_t end = pos_;
    for (; end < in_.size(); ++end) {
      const char c = in_[end];
      if (IsDigit(c) || c == '+' || c == '-' || c == 'x') continue;
      if (c == '.' || c == 'e' || c == 'E') {
        floating = true;
        continue;
      }
      break;
    }
    const std::string token(in_.substr(start, end - start));
    const bool negative = token[0] == '-';
    if (!floating) {
      if (!negative && token.size() >= 2 && token[0] == '0') {
        return SyntaxError("number with a leading zero");
      }
      if (negative && token.size() >= 3 && token[1] == '0') {
        return SyntaxError("number with a leading zero");
      }
      bool neg;
      uint64_t mag;
      if (!negative &&
          ParseDecimal(token, false, std::numeric_limits<uint64_t>::max(), 0, &neg, &mag)) {
        s->kind = Scalar::kUint;
        s->u = mag;
        pos_ = end;
        return absl::OkStatus();
      }
      if (negative && ParseDecimal(token, true, std::numeric_limits<int64_t>::max(),
                                   static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1,
                                   &neg, &mag)) {
        s->kind = Scalar::kInt;
        s->i = mag == 0 ? 0 : static_cast<int64_t>(0 - mag);
        pos_ = end;
        return absl::OkStatus();
      }
    }
    double d;
    if (!ParseDouble(token, &d)) return SyntaxError("malformed number");
    if (!std::isfinite(d)) return SyntaxError("number out of the range of double");
    s->kind = Scalar::kDouble;
    s->d = d;
    pos_ = end;
    return absl::OkStatus();
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::string EventToJson(const v1::Event& e) {
  std::string out;
  {
    ObjectWriter w(&out);
    w.Uint64("t_us", e.t_us());
    switch (e.body_case()) {
      case v1::Event::kKey:
        w.Key("key");
        WriteFields(e.key(), kKeyFields, &out);
        break;
      case v1::Event::kPointer:
        w.Key("pointer");
        WriteFields(e.pointer(), kPointerFields, &out);
        break;
      case v1::Event::kFocus:
        w.Key("focus");
        WriteFields(e.focus(), kFocusFields, &out);
        break;
      case v1::Event::kRedaction:
        w.Key("redaction");
        WriteFields(e.redaction(), kRedactionFields, &out);
        break;
      case v1::Event::kControl:
        w.Key("control");
        WriteFields(e.control(), kControlFields, &out);
        break;
      case v1::Event::kFrame:
        w.Key("frame");
        WriteFields(e.frame(), kFrameFields, &out);
        break;
      case v1::Event::BODY_NOT_SET:
        break;
    }
  }
  return out;
}

absl::StatusOr<v1::Event> EventFromJson(std::string_view json_text) {
  v1::Event e;
  Parser p(json_text);
  if (absl::Status st = p.ParseEvent(&e); !st.ok()) return st;
  return e;
}

}  // namespace sealtrace
