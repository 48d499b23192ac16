// One-off generator for tests/data/event_json/{print,parse}_golden.jsonl.
//
// The fixtures pin down what google::protobuf::util::MessageToJsonString /
// JsonStringToMessage (protobuf 3.21.12, full runtime, the options used in
// src/capture/replay, src/access, src/dashboard and src/export) do with
// sealtrace.v1.Event, so that src/segment/event_json.cc (our own codec, which
// also works with LITE_RUNTIME) can be checked against them byte for byte.
// It is NOT part of the CMake build: it needs the full runtime and json_util.
//
// How it was run (Debian 12, protobuf 3.21.12-3+deb12u1), in a scratch dir,
// from events.proto as of commit 5e53be7 (optimize_for = SPEED; json_util and
// this tool need the full runtime, so with a LITE_RUNTIME events.proto, sed
// the option back to SPEED in the scratch copy first):
//   mkdir -p /tmp/ej/proto/sealtrace/v1 && cd /tmp/ej
//   cp <repo>/proto/sealtrace/v1/events.proto proto/sealtrace/v1/
//   sed -i 's/LITE_RUNTIME/SPEED/' proto/sealtrace/v1/events.proto
//   protoc -Iproto --cpp_out=. proto/sealtrace/v1/events.proto
//   g++ -std=c++20 -O1 -I. sealtrace/v1/events.pb.cc
//       <repo>/tools/gen_event_json_golden.cc -o gen $(pkg-config --cflags --libs protobuf)
//   (that g++ command on one line)
//   ./gen <repo>/tests/data/event_json   (about 0.2 s)
//
// Deterministic: own PRNG (splitmix64), no std distributions, fixed seed.
//
// Output, one JSON object per line:
//   print_golden.jsonl: {"name", "event_hex", "binary_parses", "json" | "json_hex",
//                        "reparse_hex" | null}
//     event_hex   Event::SerializeAsString() of the event printed (may contain
//                 strings that are not UTF-8, and unknown fields)
//     binary_parses  whether Event::ParseFromString accepts event_hex (it
//                 refuses strings that are not UTF-8)
//     json        MessageToJsonString(preserve_proto_field_names=true) output;
//                 json_hex instead when that output is not valid UTF-8
//     reparse_hex what JsonStringToMessage(ignore_unknown_fields=false) made of
//                 that output (serialized), or null when it rejected it
//   parse_golden.jsonl: {"name", "input" | "input_hex", "ok", "event_hex"}
//     input       the JSON text given to JsonStringToMessage; input_hex instead
//                 when it is not valid UTF-8
//     ok          whether JsonStringToMessage accepted it
//     event_hex   the resulting Event, serialized (only when ok)
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "sealtrace/v1/events.pb.h"

namespace {

using sealtrace::v1::ControlEvent;
using sealtrace::v1::Event;
using sealtrace::v1::FocusEvent;
using sealtrace::v1::FrameRef;
using sealtrace::v1::KeyEvent;
using sealtrace::v1::PointerEvent;
using sealtrace::v1::RedactionMarker;

struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
  bool Chance(int percent) { return Below(100) < static_cast<size_t>(percent); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
};

std::string Hex(std::string_view s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Utf8(uint32_t cp) {
  std::string o;
  if (cp < 0x80) {
    o.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    o.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    o.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    o.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    o.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    o.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    o.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    o.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    o.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    o.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
  return o;
}

// Strict RFC 3629 check (used only to decide between "json" and "json_hex").
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // needs bytes i+1 .. i+n
    for (int k = 1; k <= n; ++k) {
      unsigned char d = s[i + k];
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// JSON string literal for the golden files themselves (valid UTF-8 input only).
std::string Quote(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      o += buf;
    } else {
      o.push_back(static_cast<char>(c));
    }
  }
  o.push_back('"');
  return o;
}

std::string Print(const Event& e, bool* ok) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  *ok = google::protobuf::util::MessageToJsonString(e, &out, opts).ok();
  return out;
}

bool Parse(std::string_view text, Event* e) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  return google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(text.data(), text.size()), e, opts)
      .ok();
}

// ---------------------------------------------------------------------------
// Random events.

const std::vector<uint32_t>& InterestingCodePoints() {
  static const std::vector<uint32_t> v = {
      0x00,    0x01,    0x07,    0x08,    0x09,    0x0a,     0x0b,    0x0c,    0x0d,    0x0e,
      0x1b,    0x1f,    0x20,    0x21,    0x22,    0x26,     0x27,    0x2f,    0x3c,    0x3d,
      0x3e,    0x5c,    0x60,    0x7e,    0x7f,    0x80,     0x85,    0x9f,    0xa0,    0xad,
      0xe9,    0xff,    0x100,   0x5ff,   0x600,   0x603,    0x604,   0x6dd,   0x70f,   0x17b3,
      0x17b4,  0x17b5,  0x17b6,  0x200a,  0x200b,  0x200f,   0x2010,  0x2027,  0x2028,  0x2029,
      0x202e,  0x202f,  0x205f,  0x2060,  0x2064,  0x2065,   0x2069,  0x206a,  0x206f,  0x2070,
      0x4e2d,  0xd7ff,  0xe000,  0xfeff,  0xfff8,  0xfff9,   0xfffb,  0xfffc,  0xfffd,  0xfffe,
      0xffff,  0x10000, 0x1d172, 0x1d173, 0x1d17a, 0x1d17b,  0x1f600, 0x1f9d1, 0xe0000, 0xe0001,
      0xe0002, 0xe001f, 0xe0020, 0xe007f, 0xe0080, 0x10fffd, 0x10ffff};
  return v;
}

// Byte sequences that are not UTF-8 (or are, but only "structurally").
const std::vector<std::string>& BadSequences() {
  static const std::vector<std::string> v = {"\x80",
                                             "\xbf",
                                             "\xc0",
                                             "\xc3",
                                             "\xc3(",
                                             "\xc3\xc3",
                                             "\xc0\x80",
                                             "\xc1\xbf",
                                             "\xc0\xbc",
                                             "\xc0\xa2",
                                             "\xc1\x9c",
                                             "\xc1\x81",
                                             "\xe0\x80\xaf",
                                             "\xe0\x80\x80",
                                             "\xe0\x82\xa8",
                                             "\xe2\x82",
                                             "\xe2(\xa1",
                                             "\xed\xa0\x80",
                                             "\xed\xbf\xbf",
                                             "\xed\xb0\x80",
                                             "\xef\xbf",
                                             "\xf0\x80\x80\xaf",
                                             "\xf0\x90\x80",
                                             "\xf0\x9f\x98",
                                             "\xf4\x90\x80\x80",
                                             "\xf7\xbf\xbf\xbf",
                                             "\xf5\x80\x80\x80",
                                             "\xf8\x88\x80\x80\x80",
                                             "\xfc\x84\x80\x80\x80\x80",
                                             "\xfe",
                                             "\xff",
                                             "\xf0\x8e\x80\xa8",
                                             "\xe0\x80\xbc",
                                             "\xf0\xa0\x80\x80\x80"};
  return v;
}

std::string RandomString(Rng& r, bool allow_bad) {
  if (r.Chance(25)) return "";
  size_t n = 1 + r.Below(r.Chance(10) ? 40 : 10);
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    switch (r.Below(allow_bad ? 7 : 6)) {
      case 0:
      case 1:
        s.push_back(static_cast<char>(0x20 + r.Below(0x5f)));  // printable ASCII
        break;
      case 2:
        s.push_back(static_cast<char>(r.Below(0x80)));  // any ASCII incl. controls, DEL
        break;
      case 3:
        s += Utf8(r.Pick(InterestingCodePoints()));
        break;
      case 4: {
        uint32_t cp;
        do {
          switch (r.Below(3)) {
            case 0:
              cp = 0x80 + static_cast<uint32_t>(r.Below(0x800 - 0x80));
              break;
            case 1:
              cp = 0x800 + static_cast<uint32_t>(r.Below(0x10000 - 0x800));
              break;
            default:
              cp = 0x10000 + static_cast<uint32_t>(r.Below(0x110000 - 0x10000));
          }
        } while (cp >= 0xd800 && cp <= 0xdfff);
        s += Utf8(cp);
        break;
      }
      case 5:
        s += r.Pick(std::vector<std::string>{"\"", "\\", "/", "<", ">", "&", "=", "'", "\\u0041",
                                             "</script>", "\r\n", "\xe2\x80\xa8",
                                             "\xf0\x9f\x98\x80", "\xc3\xa9"});
        break;
      default:
        if (r.Chance(50)) {
          s += r.Pick(BadSequences());
        } else {
          s.push_back(static_cast<char>(0x80 + r.Below(0x80)));
        }
    }
  }
  return s;
}

std::string RandomBytes(Rng& r) {
  if (r.Chance(25)) return "";
  size_t n = r.Chance(30) ? 16 : 1 + r.Below(24);
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(r.Below(256)));
  return s;
}

uint64_t RandomU64(Rng& r) {
  static const std::vector<uint64_t> v = {0,
                                          1,
                                          2,
                                          999,
                                          1000000,
                                          (1ull << 31) - 1,
                                          1ull << 31,
                                          (1ull << 32) - 1,
                                          1ull << 32,
                                          (1ull << 53) - 1,
                                          1ull << 53,
                                          (1ull << 53) + 1,
                                          (1ull << 63) - 1,
                                          1ull << 63,
                                          std::numeric_limits<uint64_t>::max() - 1,
                                          std::numeric_limits<uint64_t>::max()};
  if (r.Chance(40)) return 0;
  if (r.Chance(50)) return r.Pick(v);
  return r.Next() >> r.Below(64);
}

uint32_t RandomU32(Rng& r) {
  static const std::vector<uint32_t> v = {0,          1,          8,          255,
                                          0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
  if (r.Chance(40)) return 0;
  if (r.Chance(50)) return r.Pick(v);
  return static_cast<uint32_t>(r.Next() >> (32 + r.Below(32)));
}

int32_t RandomI32(Rng& r) {
  static const std::vector<int32_t> v = {0,
                                         1,
                                         -1,
                                         2,
                                         -2,
                                         1919,
                                         -1080,
                                         std::numeric_limits<int32_t>::min(),
                                         std::numeric_limits<int32_t>::max(),
                                         std::numeric_limits<int32_t>::min() + 1};
  if (r.Chance(40)) return 0;
  if (r.Chance(50)) return r.Pick(v);
  int32_t x = static_cast<int32_t>(static_cast<uint32_t>(r.Next() >> (32 + r.Below(32))));
  return r.Chance(50) ? x : -x;
}

int RandomEnum(Rng& r, int max_known) {
  static const std::vector<int> unknown = {-1,
                                           -7,
                                           11,
                                           99,
                                           1000,
                                           std::numeric_limits<int32_t>::min(),
                                           std::numeric_limits<int32_t>::max()};
  if (r.Chance(30)) return 0;
  if (r.Chance(15)) {
    int u = r.Pick(unknown);
    if (u >= 0 && u <= max_known) u = max_known + 1;
    return u;
  }
  return static_cast<int>(r.Below(static_cast<size_t>(max_known) + 1));
}

template <typename M>
google::protobuf::UnknownFieldSet* Unk(M* m) {
  return m->GetReflection()->MutableUnknownFields(m);
}

void AddUnknown(Rng& r, google::protobuf::UnknownFieldSet* u) {
  int n = 1 + static_cast<int>(r.Below(3));
  for (int i = 0; i < n; ++i) {
    int number =
        r.Chance(30) ? 1 + static_cast<int>(r.Below(7)) : 20 + static_cast<int>(r.Below(80));
    switch (r.Below(3)) {
      case 0:
        // Wire type must not match the known field with that number (else the
        // parse in the test would fold it into the known field).
        if (number <= 12) number += 100;
        u->AddVarint(number, r.Next() >> r.Below(64));
        break;
      case 1:
        if (number <= 12) number += 100;
        u->AddLengthDelimited(number, "unk\x01");
        break;
      default:
        u->AddFixed32(number, static_cast<uint32_t>(r.Next()));
    }
  }
}

Event RandomEvent(Rng& r, bool allow_bad) {
  Event e;
  e.set_t_us(RandomU64(r));
  auto str = [&] { return RandomString(r, allow_bad); };
  switch (r.Below(7)) {
    case 0:
      break;
    case 1: {
      KeyEvent* k = e.mutable_key();
      if (r.Chance(50)) k->set_down(r.Chance(50));
      k->set_keycode(RandomU32(r));
      k->set_keysym(RandomU32(r));
      k->set_text(str());
      k->set_modifiers(RandomU32(r));
      if (r.Chance(30)) k->set_repeat(true);
      if (r.Chance(5)) AddUnknown(r, Unk(k));
      break;
    }
    case 2: {
      PointerEvent* p = e.mutable_pointer();
      p->set_kind(static_cast<PointerEvent::Kind>(RandomEnum(r, 3)));
      p->set_x(RandomI32(r));
      p->set_y(RandomI32(r));
      p->set_button(RandomU32(r));
      p->set_scroll_dx(RandomI32(r));
      p->set_scroll_dy(RandomI32(r));
      p->set_modifiers(RandomU32(r));
      if (r.Chance(5)) AddUnknown(r, Unk(p));
      break;
    }
    case 3: {
      FocusEvent* f = e.mutable_focus();
      f->set_window_id(RandomU64(r));
      f->set_app_class(str());
      f->set_app_instance(str());
      f->set_title(str());
      f->set_pid(RandomU32(r));
      f->set_x(RandomI32(r));
      f->set_y(RandomI32(r));
      f->set_width(RandomU32(r));
      f->set_height(RandomU32(r));
      f->set_screen_width(RandomU32(r));
      f->set_screen_height(RandomU32(r));
      if (r.Chance(30)) f->set_title_change(true);
      if (r.Chance(5)) AddUnknown(r, Unk(f));
      break;
    }
    case 4: {
      RedactionMarker* m = e.mutable_redaction();
      m->set_kind(str());
      m->set_length_bucket(RandomU32(r));
      m->set_key_events(RandomU32(r));
      if (r.Chance(5)) AddUnknown(r, Unk(m));
      break;
    }
    case 5: {
      ControlEvent* c = e.mutable_control();
      c->set_kind(static_cast<ControlEvent::Kind>(RandomEnum(r, 10)));
      c->set_duration_us(RandomU64(r));
      c->set_reason(str());
      if (r.Chance(5)) AddUnknown(r, Unk(c));
      break;
    }
    default: {
      FrameRef* f = e.mutable_frame();
      f->set_frame_id(RandomBytes(r));
      f->set_format(r.Chance(50) ? "png" : str());
      f->set_width(RandomU32(r));
      f->set_height(RandomU32(r));
      f->set_x(RandomI32(r));
      f->set_y(RandomI32(r));
      f->set_trigger(r.Chance(50) ? "click" : str());
      if (r.Chance(5)) AddUnknown(r, Unk(f));
    }
  }
  if (r.Chance(5)) AddUnknown(r, Unk(&e));
  return e;
}

// Hand-picked events for printing.
std::vector<std::pair<std::string, Event>> HandEvents() {
  std::vector<std::pair<std::string, Event>> v;
  auto add = [&](std::string name, const std::function<void(Event*)>& f) {
    Event e;
    f(&e);
    v.emplace_back(std::move(name), std::move(e));
  };
  add("empty", [](Event*) {});
  add("t_us_only", [](Event* e) { e->set_t_us(42); });
  add("t_us_max", [](Event* e) { e->set_t_us(std::numeric_limits<uint64_t>::max()); });
  add("key_empty", [](Event* e) { e->mutable_key(); });
  add("pointer_empty", [](Event* e) { e->mutable_pointer(); });
  add("focus_empty", [](Event* e) { e->mutable_focus(); });
  add("redaction_empty", [](Event* e) { e->mutable_redaction(); });
  add("control_empty", [](Event* e) { e->mutable_control(); });
  add("frame_empty", [](Event* e) { e->mutable_frame(); });
  add("key_full", [](Event* e) {
    e->set_t_us(1);
    auto* k = e->mutable_key();
    k->set_down(true);
    k->set_keycode(38);
    k->set_keysym(0x61);
    k->set_text("a");
    k->set_modifiers(1 | 4);
    k->set_repeat(true);
  });
  add("pointer_extremes", [](Event* e) {
    auto* p = e->mutable_pointer();
    p->set_kind(PointerEvent::SCROLL);
    p->set_x(std::numeric_limits<int32_t>::min());
    p->set_y(std::numeric_limits<int32_t>::max());
    p->set_button(std::numeric_limits<uint32_t>::max());
    p->set_scroll_dx(-1);
    p->set_scroll_dy(1);
    p->set_modifiers(0xffffffffu);
  });
  add("focus_full", [](Event* e) {
    e->set_t_us(123456789012345ull);
    auto* f = e->mutable_focus();
    f->set_window_id(std::numeric_limits<uint64_t>::max());
    f->set_app_class("Firefox");
    f->set_app_instance("Navigator");
    f->set_title("Inbox \xe2\x80\x94 <me@example.com> & \"friends\"");
    f->set_pid(4242);
    f->set_x(-1920);
    f->set_y(0);
    f->set_width(1920);
    f->set_height(1080);
    f->set_screen_width(3840);
    f->set_screen_height(2160);
    f->set_title_change(true);
  });
  add("redaction_full", [](Event* e) {
    auto* m = e->mutable_redaction();
    m->set_kind("payment_card");
    m->set_length_bucket(16);
    m->set_key_events(19);
  });
  add("control_full", [](Event* e) {
    auto* c = e->mutable_control();
    c->set_kind(ControlEvent::GAP);
    c->set_duration_us(std::numeric_limits<uint64_t>::max());
    c->set_reason("spool_full");
  });
  add("frame_full", [](Event* e) {
    auto* f = e->mutable_frame();
    f->set_frame_id(std::string("\x00\x01\xfb\xff\xfe\x3e\x3f", 7));
    f->set_format("png");
    f->set_width(640);
    f->set_height(480);
    f->set_x(-5);
    f->set_y(7);
    f->set_trigger("focus");
  });
  for (int k = 0; k <= 3; ++k) {
    add("pointer_kind_" + std::to_string(k),
        [k](Event* e) { e->mutable_pointer()->set_kind(static_cast<PointerEvent::Kind>(k)); });
  }
  for (int k :
       {4, 5, 100, -1, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()}) {
    add("pointer_kind_unknown_" + std::to_string(k),
        [k](Event* e) { e->mutable_pointer()->set_kind(static_cast<PointerEvent::Kind>(k)); });
  }
  for (int k = 0; k <= 12; ++k) {
    add("control_kind_" + std::to_string(k),
        [k](Event* e) { e->mutable_control()->set_kind(static_cast<ControlEvent::Kind>(k)); });
  }
  for (size_t n = 0; n <= 7; ++n) {
    add("frame_id_len_" + std::to_string(n), [n](Event* e) {
      std::string b;
      for (size_t i = 0; i < n; ++i) b.push_back(static_cast<char>(0xf8 + i));
      e->mutable_frame()->set_frame_id(b);
    });
  }
  // Every code point below 0x100, one per event (text of one char), and the
  // interesting ones above.
  for (uint32_t cp = 0; cp < 0x100; ++cp) {
    add("char_" + std::to_string(cp), [cp](Event* e) { e->mutable_key()->set_text(Utf8(cp)); });
  }
  for (uint32_t cp : InterestingCodePoints()) {
    add("cp_" + std::to_string(cp),
        [cp](Event* e) { e->mutable_key()->set_text("x" + Utf8(cp) + "y"); });
  }
  // Every escaped range, end to end.
  add("escape_ranges", [](Event* e) {
    std::string s;
    for (uint32_t cp = 0x5f0; cp <= 0x710; ++cp) s += Utf8(cp);
    for (uint32_t cp = 0x17b0; cp <= 0x17b8; ++cp) s += Utf8(cp);
    for (uint32_t cp = 0x2000; cp <= 0x2070; ++cp) s += Utf8(cp);
    for (uint32_t cp = 0xfef0; cp <= 0xffff; ++cp) s += Utf8(cp);
    e->mutable_key()->set_text(s);
  });
  add("escape_ranges_supplementary", [](Event* e) {
    std::string s;
    for (uint32_t cp = 0x1d170; cp <= 0x1d17c; ++cp) s += Utf8(cp);
    for (uint32_t cp = 0xe0000; cp <= 0xe0082; ++cp) s += Utf8(cp);
    e->mutable_focus()->set_title(s);
  });
  for (size_t i = 0; i < BadSequences().size(); ++i) {
    add("bad_utf8_" + std::to_string(i),
        [i](Event* e) { e->mutable_key()->set_text("A" + BadSequences()[i] + "B"); });
    add("bad_utf8_end_" + std::to_string(i),
        [i](Event* e) { e->mutable_focus()->set_title("A" + BadSequences()[i]); });
  }
  for (int b = 0x80; b < 0x100; ++b) {
    add("raw_byte_" + std::to_string(b), [b](Event* e) {
      e->mutable_control()->set_reason(std::string("<") + static_cast<char>(b) + ">");
    });
  }
  add("unknown_fields_top", [](Event* e) {
    e->set_t_us(5);
    Unk(e)->AddVarint(99, 1);
    Unk(e)->AddLengthDelimited(1, "wrong wire type");
  });
  add("unknown_fields_nested", [](Event* e) {
    e->mutable_key()->set_keycode(9);
    Unk(e->mutable_key())->AddVarint(77, 3);
  });
  return v;
}

// ---------------------------------------------------------------------------
// Parse inputs.

std::vector<std::string> HandParseInputs() {
  std::vector<std::string> v = {
      // Shapes of the document.
      "{}",
      "[]",
      " [ ] ",
      "[1]",
      "[{}]",
      "null",
      "5",
      "\"x\"",
      "true",
      "",
      "   ",
      "{",
      "}",
      "{}}",
      "{}{}",
      "{} x",
      "{}\n",
      "\t{}\r\n",
      "\v{}\f",
      "\xef\xbb\xbf{}",
      std::string("{}\0", 3),
      std::string("\0{}", 3),
      "{,}",
      "{\"t_us\":1,}",
      "{\"t_us\":1,,}",
      "{\"t_us\":1 \"key\":{}}",
      "{\"t_us\" 1}",
      "{\"t_us\"::1}",
      "{:1}",
      "{\"t_us\":}",
      "{\"t_us\":1",
      "{\"t_us\":1,",
      "{\"t_us\"",
      "{\"t_us",
      "{t_us",
      "{t_us:1}",
      "{t_us :1}",
      "{$x:1}",
      "{_x:1}",
      "{1:1}",
      "{-x:1}",
      "{true:1}",
      "{false:1}",
      "{null:1}",
      "{trueish:1}",
      "{nullx:1}",
      "{\"\":1}",
      "{'t_us':1}",
      "{'t_us':'1'}",
      "{\"t_us':1}",
      "{key:{down:true,keycode:5,},}",
      "{\"key\":{\"down\":true}}}",
      "{\"t_us\":1/*c*/}",
      "{\"t_us\":1}//c",
      "{\"t_us\":1}#",
      "{\"key\":{\"down\":true},}",
      "{\"key\":{,}}",
      // t_us: uint64.
      "{\"t_us\":0}",
      "{\"t_us\":-0}",
      "{\"t_us\":-0.0}",
      "{\"t_us\":0.0}",
      "{\"t_us\":1}",
      "{\"t_us\":\"1\"}",
      "{\"tUs\":1}",
      "{\"tUs\":\"1\"}",
      "{\"TUs\":1}",
      "{\"t_Us\":1}",
      "{\"tus\":1}",
      "{\"t_us\":1e3}",
      "{\"t_us\":1E3}",
      "{\"t_us\":1e+3}",
      "{\"t_us\":1e-3}",
      "{\"t_us\":1.5}",
      "{\"t_us\":3.0}",
      "{\"t_us\":1.}",
      "{\"t_us\":1.e2}",
      "{\"t_us\":.5}",
      "{\"t_us\":+1}",
      "{\"t_us\":-1}",
      "{\"t_us\":--1}",
      "{\"t_us\":-}",
      "{\"t_us\":1e}",
      "{\"t_us\":1e5e5}",
      "{\"t_us\":1.2.3}",
      "{\"t_us\":007}",
      "{\"t_us\":00}",
      "{\"t_us\":-00}",
      "{\"t_us\":-01}",
      "{\"t_us\":00.5}",
      "{\"t_us\":01.0}",
      "{\"t_us\":0x10}",
      "{\"t_us\":-0x1}",
      "{\"t_us\":0x1.8}",
      "{\"t_us\":0xe}",
      "{\"t_us\":0x1e}",
      "{\"t_us\":0x.e}",
      "{\"t_us\":-0x1.0}",
      "{\"t_us\":0x1p3}",
      "{\"t_us\":1x}",
      "{\"t_us\":1-2}",
      "{\"t_us\":1+2}",
      "{\"t_us\":12a}",
      "{\"t_us\":NaN}",
      "{\"t_us\":Infinity}",
      "{\"t_us\":-Infinity}",
      "{\"t_us\":\"NaN\"}",
      "{\"t_us\":\"Infinity\"}",
      "{\"t_us\":1e400}",
      "{\"t_us\":-1e400}",
      "{\"t_us\":1e-400}",
      "{\"t_us\":-1e-400}",
      "{\"t_us\":4e-320}",
      "{\"t_us\":18446744073709551615}",
      "{\"t_us\":18446744073709551616}",
      "{\"t_us\":18446744073709551615.0}",
      "{\"t_us\":18446744073709549568.0}",
      "{\"t_us\":1.8446744073709550e19}",
      "{\"t_us\":9223372036854775808}",
      "{\"t_us\":9007199254740993}",
      "{\"t_us\":9007199254740993.0}",
      "{\"t_us\":\"18446744073709551615\"}",
      "{\"t_us\":\"18446744073709551616\"}",
      "{\"t_us\":\"+5\"}",
      "{\"t_us\":\"-0\"}",
      "{\"t_us\":\"-1\"}",
      "{\"t_us\":\" 5\"}",
      "{\"t_us\":\"5 \"}",
      "{\"t_us\":\"\\t5\"}",
      "{\"t_us\":\"5\\n\"}",
      "{\"t_us\":\"007\"}",
      "{\"t_us\":\"1e3\"}",
      "{\"t_us\":\"3.0\"}",
      "{\"t_us\":\"0x10\"}",
      "{\"t_us\":\"\"}",
      "{\"t_us\":\"+\"}",
      "{\"t_us\":\"1_0\"}",
      "{\"t_us\":\"\\u0035\"}",
      "{\"t_us\":'5'}",
      "{\"t_us\":true}",
      "{\"t_us\":false}",
      "{\"t_us\":null}",
      "{\"t_us\":{}}",
      "{\"t_us\":[]}",
      "{\"t_us\":[1]}",
      "{\"t_us\":5,\"t_us\":null}",
      "{\"t_us\":5,\"tUs\":7}",
      "{\"t_us\":5,\"t_us\":0}",
      "{\"t_us\":5,\"t_us\":\"x\"}",
      "{\"t_us\":5,\"t_us\":1.5}",
      // oneof.
      "{\"key\":{}}",
      "{\"key\":null}",
      "{\"key\":{},\"key\":{}}",
      "{\"key\":{},\"pointer\":{}}",
      "{\"key\":null,\"pointer\":{}}",
      "{\"pointer\":{},\"key\":null}",
      "{\"key\":null,\"key\":{}}",
      "{\"key\":{},\"key\":null}",
      "{\"key\":null,\"key\":null,\"pointer\":{\"x\":1}}",
      "{\"key\":{\"down\":true},\"pointer\":null}",
      "{\"focus\":{},\"redaction\":{}}",
      "{\"control\":{},\"frame\":{}}",
      "{\"frame\":{},\"t_us\":1}",
      "{\"key\":5}",
      "{\"key\":\"\"}",
      "{\"key\":true}",
      "{\"key\":[]}",
      "{\"key\":[{}]}",
      "{\"Key\":{}}",
      "{\"KEY\":{}}",
      "{\"body\":{}}",
      "{\"body\":{\"key\":{}}}",
      "{\"key\":{\"key\":{}}}",
      "{\"key\":{\"down\":{}}}",
      // KeyEvent.
      "{\"key\":{\"down\":true}}",
      "{\"key\":{\"down\":false}}",
      "{\"key\":{\"down\":\"true\"}}",
      "{\"key\":{\"down\":\"false\"}}",
      "{\"key\":{\"down\":\"True\"}}",
      "{\"key\":{\"down\":\"TRUE\"}}",
      "{\"key\":{\"down\":\"t\"}}",
      "{\"key\":{\"down\":\"T\"}}",
      "{\"key\":{\"down\":\"yes\"}}",
      "{\"key\":{\"down\":\"YeS\"}}",
      "{\"key\":{\"down\":\"y\"}}",
      "{\"key\":{\"down\":\"1\"}}",
      "{\"key\":{\"down\":\"no\"}}",
      "{\"key\":{\"down\":\"n\"}}",
      "{\"key\":{\"down\":\"f\"}}",
      "{\"key\":{\"down\":\"0\"}}",
      "{\"key\":{\"down\":\"2\"}}",
      "{\"key\":{\"down\":\"on\"}}",
      "{\"key\":{\"down\":\"off\"}}",
      "{\"key\":{\"down\":\"\"}}",
      "{\"key\":{\"down\":\" true\"}}",
      "{\"key\":{\"down\":\"true \"}}",
      "{\"key\":{\"down\":\"yes!\"}}",
      "{\"key\":{\"down\":1}}",
      "{\"key\":{\"down\":0}}",
      "{\"key\":{\"down\":1.0}}",
      "{\"key\":{\"down\":null}}",
      "{\"key\":{\"down\":True}}",
      "{\"key\":{\"down\":tRUE}}",
      "{\"key\":{\"down\":truex}}",
      "{\"key\":{\"down\":true }}",
      "{\"key\":{\"down\":tru}}",
      "{\"key\":{\"down\":nul}}",
      "{\"key\":{\"down\":[]}}",
      "{\"key\":{\"keycode\":0}}",
      "{\"key\":{\"keycode\":-1}}",
      "{\"key\":{\"keycode\":-0}}",
      "{\"key\":{\"keycode\":\"-0\"}}",
      "{\"key\":{\"keycode\":4294967295}}",
      "{\"key\":{\"keycode\":4294967296}}",
      "{\"key\":{\"keycode\":4294967295.0}}",
      "{\"key\":{\"keycode\":4294967296.0}}",
      "{\"key\":{\"keycode\":\"4294967295\"}}",
      "{\"key\":{\"keycode\":\"4294967296\"}}",
      "{\"key\":{\"keycode\":-1.0}}",
      "{\"key\":{\"keycode\":1e9}}",
      "{\"key\":{\"keycode\":1e10}}",
      "{\"key\":{\"keycode\":\"+7\"}}",
      "{\"key\":{\"keysym\":65}}",
      "{\"key\":{\"keySym\":65}}",
      "{\"key\":{\"keysym\":\"0x41\"}}",
      "{\"key\":{\"text\":\"a\"}}",
      "{\"key\":{\"text\":\"\"}}",
      "{\"key\":{\"text\":5}}",
      "{\"key\":{\"text\":true}}",
      "{\"key\":{\"text\":null}}",
      "{\"key\":{\"text\":{}}}",
      "{\"key\":{\"text\":[]}}",
      "{\"key\":{\"text\":'a\"b'}}",
      "{\"key\":{\"text\":\"a'b\"}}",
      "{\"key\":{\"text\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}}",
      "{\"key\":{\"text\":\"\\v\\a\\'\\x\\0\\q\"}}",
      "{\"key\":{\"text\":\"\\u0000\"}}",
      "{\"key\":{\"text\":\"\\u001F\\u007f\\u0080\"}}",
      "{\"key\":{\"text\":\"\\u00e9\\u00E9\"}}",
      "{\"key\":{\"text\":\"\\u2028\\u2029\"}}",
      "{\"key\":{\"text\":\"\\ud83d\\ude00\"}}",
      "{\"key\":{\"text\":\"\\uD83D\\uDE00\"}}",
      "{\"key\":{\"text\":\"\\ud83d\"}}",
      "{\"key\":{\"text\":\"\\ud83d\\u0041\"}}",
      "{\"key\":{\"text\":\"\\ud83d\\ud83d\"}}",
      "{\"key\":{\"text\":\"\\ude00\"}}",
      "{\"key\":{\"text\":\"\\ude00\\ud83d\"}}",
      "{\"key\":{\"text\":\"\\ud83dx\"}}",
      "{\"key\":{\"text\":\"\\ud83d\\\"}}",
      "{\"key\":{\"text\":\"\\uZZZZ\"}}",
      "{\"key\":{\"text\":\"\\u12\"}}",
      "{\"key\":{\"text\":\"\\u12\"",
      "{\"key\":{\"text\":\"\\u00e",
      "{\"key\":{\"text\":\"\\",
      "{\"key\":{\"text\":\"abc",
      "{\"key\":{\"text\":\"a\nb\"}}",
      "{\"key\":{\"text\":\"a\tb\"}}",
      std::string("{\"key\":{\"text\":\"a\0b\"}}", 22),
      "{\"key\":{\"text\":\"\x01\x1f\x7f\"}}",
      "{\"key\":{\"text\":\"\xc3\xa9\"}}",
      "{\"key\":{\"text\":\"\\\xc3\xa9\"}}",
      "{\"key\":{\"text\":\"\\\xf0\x9f\x98\x80\"}}",
      "{\"key\":{\"text\":\"\xe2\x80\xa8\"}}",
      "{\"key\":{\"text\":\"\xf4\x8f\xbf\xbf\"}}",
      "{\"key\":{\"text\":\"\xef\xbf\xbf\"}}",
      "{\"key\":{\"text\":\"\xc3(\"}}",
      "{\"key\":{\"text\":\"\xc0\x80\"}}",
      "{\"key\":{\"text\":\"\xc1\xbf\"}}",
      "{\"key\":{\"text\":\"\xe0\x80\xaf\"}}",
      "{\"key\":{\"text\":\"\xed\xa0\x80\"}}",
      "{\"key\":{\"text\":\"\xed\xbf\xbf\"}}",
      "{\"key\":{\"text\":\"\xf4\x90\x80\x80\"}}",
      "{\"key\":{\"text\":\"\xf5\x80\x80\x80\"}}",
      "{\"key\":{\"text\":\"\xff\"}}",
      "{\"key\":{\"text\":\"\x80\"}}",
      "{\"key\":{\"text\":\"\xc3\"}}",
      "{\"t_us\":1}\xff",
      "{\"t_us\":1} \xc3",
      "{\"\xc3\xa9\":1}",
      "{\xc3\xa9:1}",
      "{\"\\u0074_us\":5}",
      "{\"t\\u005fus\":5}",
      "{\"t_us\\u0000\":5}",
      "{\"key\":{\"modifiers\":5,\"repeat\":true}}",
      // PointerEvent.
      "{\"pointer\":{\"kind\":\"MOVE\"}}",
      "{\"pointer\":{\"kind\":\"BUTTON_DOWN\"}}",
      "{\"pointer\":{\"kind\":\"BUTTON_UP\"}}",
      "{\"pointer\":{\"kind\":\"SCROLL\"}}",
      "{\"pointer\":{\"kind\":\"scroll\"}}",
      "{\"pointer\":{\"kind\":\"Scroll\"}}",
      "{\"pointer\":{\"kind\":\"BUTTON-DOWN\"}}",
      "{\"pointer\":{\"kind\":\"buttonDown\"}}",
      "{\"pointer\":{\"kind\":\"SCROLL \"}}",
      "{\"pointer\":{\"kind\":\" SCROLL\"}}",
      "{\"pointer\":{\"kind\":\"\"}}",
      "{\"pointer\":{\"kind\":\"GAP\"}}",
      "{\"pointer\":{\"kind\":\"MOD_SHIFT\"}}",
      "{\"pointer\":{\"kind\":\"0\"}}",
      "{\"pointer\":{\"kind\":\"3\"}}",
      "{\"pointer\":{\"kind\":\"+3\"}}",
      "{\"pointer\":{\"kind\":\"03\"}}",
      "{\"pointer\":{\"kind\":\"-0\"}}",
      "{\"pointer\":{\"kind\":\" 3\"}}",
      "{\"pointer\":{\"kind\":\"3.0\"}}",
      "{\"pointer\":{\"kind\":\"4\"}}",
      "{\"pointer\":{\"kind\":\"-1\"}}",
      "{\"pointer\":{\"kind\":0}}",
      "{\"pointer\":{\"kind\":3}}",
      "{\"pointer\":{\"kind\":4}}",
      "{\"pointer\":{\"kind\":-1}}",
      "{\"pointer\":{\"kind\":-7}}",
      "{\"pointer\":{\"kind\":2147483647}}",
      "{\"pointer\":{\"kind\":2147483648}}",
      "{\"pointer\":{\"kind\":-2147483648}}",
      "{\"pointer\":{\"kind\":-2147483649}}",
      "{\"pointer\":{\"kind\":1.0}}",
      "{\"pointer\":{\"kind\":1.5}}",
      "{\"pointer\":{\"kind\":1e0}}",
      "{\"pointer\":{\"kind\":true}}",
      "{\"pointer\":{\"kind\":null}}",
      "{\"pointer\":{\"kind\":{}}}",
      "{\"pointer\":{\"kind\":[]}}",
      "{\"pointer\":{\"x\":2147483647,\"y\":-2147483648}}",
      "{\"pointer\":{\"y\":2147483648}}",
      "{\"pointer\":{\"x\":-2147483649}}",
      "{\"pointer\":{\"x\":2147483647.0}}",
      "{\"pointer\":{\"x\":-2147483648.0}}",
      "{\"pointer\":{\"x\":-2147483649.0}}",
      "{\"pointer\":{\"x\":\"-2147483648\"}}",
      "{\"pointer\":{\"x\":\"2147483648\"}}",
      "{\"pointer\":{\"x\":\"-2147483649\"}}",
      "{\"pointer\":{\"x\":\"-\"}}",
      "{\"pointer\":{\"x\":\"--1\"}}",
      "{\"pointer\":{\"x\":\"+-1\"}}",
      "{\"pointer\":{\"x\":\"-+1\"}}",
      "{\"pointer\":{\"x\":\"\xef\xbc\x91\"}}",
      "{\"pointer\":{\"x\":\"-0\"}}",
      "{\"pointer\":{\"x\":-0.5}}",
      "{\"pointer\":{\"x\":-1e-400}}",
      "{\"pointer\":{\"x\":-1e2}}",
      "{\"pointer\":{\"scrollDx\":1,\"scroll_dy\":2}}",
      "{\"pointer\":{\"scrollDY\":3}}",
      "{\"pointer\":{\"ScrollDx\":1}}",
      "{\"pointer\":{\"scroll_Dx\":1}}",
      "{\"pointer\":{\"scrolldx\":1}}",
      "{\"pointer\":{\"button\":3,\"modifiers\":\"4\"}}",
      // FocusEvent.
      "{\"focus\":{\"windowId\":1,\"appClass\":\"a\",\"appInstance\":\"b\",\"screenWidth\":1,"
      "\"screenHeight\":2,\"titleChange\":true}}",
      "{\"focus\":{\"window_id\":\"18446744073709551615\",\"app_class\":\"\",\"title\":\"t\","
      "\"pid\":1,\"x\":-1,\"y\":-2,\"width\":3,\"height\":4,\"screen_width\":5,"
      "\"screen_height\":6,\"title_change\":false}}",
      "{\"focus\":{\"window_id\":-1}}",
      "{\"focus\":{\"windowID\":1}}",
      "{\"focus\":{\"pid\":\"\"}}",
      // RedactionMarker.
      "{\"redaction\":{\"kind\":\"payment_card\",\"length_bucket\":16,\"key_events\":19}}",
      "{\"redaction\":{\"lengthBucket\":8,\"keyEvents\":2}}",
      "{\"redaction\":{\"kind\":1}}",
      // ControlEvent.
      "{\"control\":{\"kind\":\"CLOCK_JUMP\",\"duration_us\":\"18446744073709551615\",\"reason\":"
      "\"x\"}}",
      "{\"control\":{\"kind\":\"UNKNOWN\"}}",
      "{\"control\":{\"kind\":\"GAP\",\"durationUs\":1}}",
      "{\"control\":{\"kind\":\"MOVE\"}}",
      "{\"control\":{\"kind\":\"10\"}}",
      "{\"control\":{\"kind\":\"11\"}}",
      "{\"control\":{\"kind\":11}}",
      "{\"control\":{\"kind\":\"gap\"}}",
      "{\"control\":{\"duration_us\":-1}}",
      "{\"control\":{\"duration_us\":\"1.0\"}}",
      // FrameRef / bytes.
      "{\"frame\":{\"frame_id\":\"QQ==\"}}",
      "{\"frame\":{\"frame_id\":\"QQ\"}}",
      "{\"frame\":{\"frame_id\":\"QQ=\"}}",
      "{\"frame\":{\"frame_id\":\"QQ===\"}}",
      "{\"frame\":{\"frame_id\":\"QR==\"}}",
      "{\"frame\":{\"frame_id\":\"QR\"}}",
      "{\"frame\":{\"frame_id\":\"Q Q==\"}}",
      "{\"frame\":{\"frame_id\":\" QQ==\"}}",
      "{\"frame\":{\"frame_id\":\"QQ== \"}}",
      "{\"frame\":{\"frame_id\":\"QQ==\\n\"}}",
      "{\"frame\":{\"frame_id\":\"QQ\\n==\"}}",
      "{\"frame\":{\"frame_id\":\"QQ..\"}}",
      "{\"frame\":{\"frame_id\":\"QQ.\"}}",
      "{\"frame\":{\"frame_id\":\"QQ=.\"}}",
      "{\"frame\":{\"frame_id\":\"QQ.=\"}}",
      "{\"frame\":{\"frame_id\":\"-_8=\"}}",
      "{\"frame\":{\"frame_id\":\"-_8\"}}",
      "{\"frame\":{\"frame_id\":\"+/8=\"}}",
      "{\"frame\":{\"frame_id\":\"+/8\"}}",
      "{\"frame\":{\"frame_id\":\"+_8=\"}}",
      "{\"frame\":{\"frame_id\":\"-/8=\"}}",
      "{\"frame\":{\"frame_id\":\"\"}}",
      "{\"frame\":{\"frame_id\":\"=\"}}",
      "{\"frame\":{\"frame_id\":\"==\"}}",
      "{\"frame\":{\"frame_id\":\"====\"}}",
      "{\"frame\":{\"frame_id\":\"Q\"}}",
      "{\"frame\":{\"frame_id\":\"Q===\"}}",
      "{\"frame\":{\"frame_id\":\"QUI\"}}",
      "{\"frame\":{\"frame_id\":\"QUI=\"}}",
      "{\"frame\":{\"frame_id\":\"QUI==\"}}",
      "{\"frame\":{\"frame_id\":\"QUJ=\"}}",
      "{\"frame\":{\"frame_id\":\"QUJD\"}}",
      "{\"frame\":{\"frame_id\":\"QUJD=\"}}",
      "{\"frame\":{\"frame_id\":\"QUJDRA\"}}",
      "{\"frame\":{\"frame_id\":\"QUJDRA==\"}}",
      "{\"frame\":{\"frame_id\":\"QUJDRA=\"}}",
      "{\"frame\":{\"frame_id\":\"QQ==QQ==\"}}",
      "{\"frame\":{\"frame_id\":\"QQ\\u0000\"}}",
      "{\"frame\":{\"frame_id\":\"QUJD\\u0000\"}}",
      "{\"frame\":{\"frame_id\":\"____\"}}",
      "{\"frame\":{\"frame_id\":\"////\"}}",
      "{\"frame\":{\"frame_id\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}}",
      "{\"frame\":{\"frame_id\":\"AAAAAAAAAAAAAAAAAAAAAA\"}}",
      "{\"frame\":{\"frame_id\":\"\\u0051Q==\"}}",
      "{\"frame\":{\"frame_id\":\"QQ%3D%3D\"}}",
      "{\"frame\":{\"frame_id\":5}}",
      "{\"frame\":{\"frame_id\":true}}",
      "{\"frame\":{\"frame_id\":null}}",
      "{\"frame\":{\"frame_id\":[]}}",
      "{\"frame\":{\"frameId\":\"AAAA\"}}",
      "{\"frame\":{\"format\":\"png\",\"width\":1,\"height\":2,\"x\":-1,\"y\":-2,\"trigger\":"
      "\"click\"}}",
      // Keys with odd spellings.
      "{\"t_us\" : 1 , \"key\" : { } }",
      "{ \"key\" :\n{\n\"down\"\n:\ntrue\n}\n}",
      "{\"key\"\v:\f{\"down\":true}}",
      // More number spellings (strtod decides for tokens with '.', 'e', 'E').
      "{\"t_us\":1.0e+2}",
      "{\"t_us\":-0e0}",
      "{\"t_us\":0e5}",
      "{\"t_us\":0.0e-0}",
      "{\"t_us\":1e0001}",
      "{\"t_us\":1e309}",
      "{\"t_us\":1e308}",
      "{\"t_us\":0xE}",
      "{\"t_us\":0x1E}",
      "{\"t_us\":0xff}",
      "{\"t_us\":0xfe}",
      "{\"t_us\":0X10}",
      "{\"t_us\":0x.}",
      "{\"t_us\":0x}",
      "{\"t_us\":1 2}",
      "{\"t_us\":\"18446744073709551616.0\"}",
      "{\"t_us\":-9223372036854775808}",
      "{\"t_us\":-9223372036854775809}",
      "{\"pointer\":{\"x\":-9223372036854775809}}",
      "{\"pointer\":{\"x\":2147483647.5}}",
      "{\"pointer\":{\"x\":-2147483648.5}}",
      "{\"pointer\":{\"x\":1e-320}}",
      "{\"pointer\":{\"kind\":\"\\u0053CROLL\"}}",
      "{\"pointer\":{\"kind\":-0}}",
      // Quotes and escapes.
      "{'key':{\"text\":'a\\'b'}}",
      "{\"key\":{\"text\":\"a\\'b\"}}",
      "{'key':{\"down\":true}}",
      "{\"key\":{\"text\":\"\\U0041\"}}",
      "{\"key\":{\"text\":'\"'}}",
      "{\"key\":{\"text\":\"'\"}}",
      "{\"key\":{'text':\"x\"}}",
      "{\"key\":{\"text\":\"x'}}",
      "{\"frame\":{\"frame_id\":\"+\\/8=\"}}",
      "{\"\":null}",
      "{\"t_us\":null,}",
      "{\"key\":{\"text\":\"a\"},\"key\":null}",
      "{\"key\":{\"text\":\"\\ud83d\\uDE00\\u00e9\"}}",
      "{t_us1:1}",
      "{\"key\":{text:\"x\",down:true}}",
      "{\"key\":{\"down\":true,\"down\":\"n\"}}",
      "{\"key\":{\"down\":true,\"down\":null}}",
  };
  // Deep nesting.
  std::string deep;
  for (int i = 0; i < 99; ++i) deep += "{\"a\":";
  deep += "{}";
  for (int i = 0; i < 99; ++i) deep += "}";
  v.push_back(deep);
  deep.clear();
  for (int i = 0; i < 101; ++i) deep += "{\"key\":";
  deep += "{}";
  for (int i = 0; i < 101; ++i) deep += "}";
  v.push_back(deep);
  v.push_back("{\"key\":" + std::string(5000, '[') + std::string(5000, ']') + "}");
  v.push_back(std::string(5000, '[') + std::string(5000, ']'));
  v.push_back(std::string(20000, '{'));
  v.push_back("{\"t_us\":" + std::string(400, '9') + "}");
  v.push_back("{\"t_us\":" + std::string(308, '9') + "}");
  v.push_back("{\"t_us\":" + std::string(309, '9') + "}");
  v.push_back("{\"t_us\":1" + std::string(400, '0') + "e-400}");
  v.push_back("{\"t_us\":0." + std::string(400, '0') + "1}");
  v.push_back("{\"t_us\":\"" + std::string(400, '9') + "\"}");
  v.push_back("{\"key\":{\"text\":\"" + std::string(100000, 'x') + "\"}}");
  return v;
}

// Mutations of a valid document: each returns a new candidate input.
std::string Mutate(Rng& r, const std::string& doc) {
  std::string s = doc;
  auto pos_of = [&](const std::string& needle) -> size_t {
    std::vector<size_t> hits;
    for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) {
      hits.push_back(p);
    }
    return hits.empty() ? std::string::npos : hits[r.Below(hits.size())];
  };
  static const std::vector<std::pair<std::string, std::string>> kCamel = {
      {"\"t_us\"", "\"tUs\""},
      {"\"scroll_dx\"", "\"scrollDx\""},
      {"\"scroll_dy\"", "\"scrollDy\""},
      {"\"window_id\"", "\"windowId\""},
      {"\"app_class\"", "\"appClass\""},
      {"\"app_instance\"", "\"appInstance\""},
      {"\"screen_width\"", "\"screenWidth\""},
      {"\"screen_height\"", "\"screenHeight\""},
      {"\"title_change\"", "\"titleChange\""},
      {"\"length_bucket\"", "\"lengthBucket\""},
      {"\"key_events\"", "\"keyEvents\""},
      {"\"duration_us\"", "\"durationUs\""},
      {"\"frame_id\"", "\"frameId\""},
      {"\"t_us\"", "\"T_us\""},
      {"\"key_events\"", "\"keyevents\""},
  };
  static const std::vector<std::string> kValues = {"null",
                                                   "true",
                                                   "false",
                                                   "0",
                                                   "-0",
                                                   "1",
                                                   "-1",
                                                   "1.5",
                                                   "1e3",
                                                   "1E400",
                                                   "\"\"",
                                                   "\"1\"",
                                                   "\"-1\"",
                                                   "\"x\"",
                                                   "{}",
                                                   "[]",
                                                   "[1]",
                                                   "\"QQ==\"",
                                                   "\"true\"",
                                                   "\"MOVE\"",
                                                   "\"GAP\"",
                                                   "4294967295",
                                                   "4294967296",
                                                   "2147483648",
                                                   "-2147483649",
                                                   "18446744073709551615",
                                                   "18446744073709551616",
                                                   "\"18446744073709551615\"",
                                                   "1.0",
                                                   "0.0",
                                                   "-0.0",
                                                   "'x'",
                                                   "tru",
                                                   "nul",
                                                   "\"\\ud800\""};
  static const std::vector<std::string> kWs = {" ", "\n", "\t", "\r", "\v", "\f", "  "};
  static const std::vector<std::string> kJunk = {",", ":", "{", "}", "[", "]",    "\"",   "'", "\\",
                                                 "x", "0", "-", ".", "e", "\xc3", "\xff", "\0"};
  switch (r.Below(16)) {
    case 0: {  // camelCase or wrong-case key
      const auto& c = r.Pick(kCamel);
      size_t p = pos_of(c.first);
      if (p != std::string::npos) s.replace(p, c.first.size(), c.second);
      break;
    }
    case 1:
    case 2: {  // replace a value
      size_t p = pos_of("\":");
      if (p == std::string::npos) break;
      p += 2;
      if (s[p] == '{') break;  // keep messages; values only
      size_t e = p;
      if (s[e] == '"') {
        ++e;
        while (e < s.size() && s[e] != '"') e += (s[e] == '\\') ? 2 : 1;
        ++e;
      } else {
        while (e < s.size() && s[e] != ',' && s[e] != '}') ++e;
      }
      if (e > s.size()) break;
      std::string val = s.substr(p, e - p);
      std::string repl;
      switch (r.Below(5)) {
        case 0:
          repl = r.Pick(kValues);
          break;
        case 1:  // number -> string, string number -> number
          if (!val.empty() && val[0] == '"') {
            repl = val.substr(1, val.size() - 2);
          } else {
            repl = "\"" + val + "\"";
          }
          break;
        case 2:
          repl = val + r.Pick(std::vector<std::string>{".0", "e0", ".5", "e2", "0", "e-1", "."});
          break;
        case 3:
          repl = "-" + val;
          break;
        default:
          repl = "\"" + val + "\"";
          if (!val.empty() && val[0] == '"') repl = "'" + val.substr(1, val.size() - 2) + "'";
      }
      s.replace(p, e - p, repl);
      break;
    }
    case 3: {  // whitespace between tokens
      size_t p = r.Below(s.size() + 1);
      s.insert(p, r.Pick(kWs));
      break;
    }
    case 4: {  // trailing comma
      size_t p = pos_of("}");
      if (p != std::string::npos && p > 1) s.insert(p, ",");
      break;
    }
    case 5: {  // duplicate a member or add a second oneof member
      static const std::vector<std::string> kExtra = {
          ",\"key\":{}",    ",\"pointer\":{\"x\":1}", ",\"focus\":null", ",\"t_us\":7",
          ",\"tUs\":\"8\"", ",\"t_us\":null",         ",\"frame\":{}",   ",\"control\":null",
          ",\"bogus\":1",   ",\"bogus\":null",        ",\"key\":null"};
      if (s.size() >= 2 && s.back() == '}') s.insert(s.size() - 1, r.Pick(kExtra));
      if (s == "{,\"key\":{}}" || s.rfind("{,", 0) == 0) s.erase(1, 1);
      break;
    }
    case 6: {  // delete a character
      if (!s.empty()) s.erase(r.Below(s.size()), 1);
      break;
    }
    case 7: {  // insert junk
      s.insert(r.Below(s.size() + 1), r.Pick(kJunk));
      break;
    }
    case 8: {  // truncate
      s.resize(r.Below(s.size()));
      break;
    }
    case 9: {  // unknown field in a nested message
      size_t p = pos_of(":{");
      if (p != std::string::npos) {
        s.insert(p + 2, r.Pick(std::vector<std::string>{"\"zzz\":1,", "\"x\":1,", "\"down\":true,",
                                                        "\"kind\":\"GAP\",", "\"text\":null,"}));
      }
      break;
    }
    case 10: {  // quotes: single quotes or bare keys
      size_t p = pos_of("\"");
      if (p != std::string::npos) {
        size_t q = s.find('"', p + 1);
        if (q != std::string::npos && q + 1 < s.size() && s[q + 1] == ':') {
          if (r.Chance(50)) {
            s[p] = '\'';
            s[q] = '\'';
          } else {
            s.erase(q, 1);
            s.erase(p, 1);
          }
        }
      }
      break;
    }
    case 11: {  // escape one character of a string with \uXXXX or a simple escape
      size_t p = pos_of("\"");
      if (p == std::string::npos || p + 1 >= s.size()) break;
      unsigned char c = s[p + 1];
      if (c == '"' || c == '\\' || c >= 0x80) break;
      char buf[8];
      std::snprintf(buf, sizeof(buf), r.Chance(50) ? "\\u%04x" : "\\u%04X", c);
      s.replace(p + 1, 1,
                r.Chance(80) ? std::string(buf) : std::string("\\") + static_cast<char>(c));
      break;
    }
    case 12: {  // base64 variants
      size_t p = pos_of("\"frame_id\":\"");
      if (p == std::string::npos) {
        s = "{\"frame\":{\"frame_id\":\"" +
            r.Pick(std::vector<std::string>{"QQ==", "QUI=", "QUJD", "+/+/", "-_-_", "AAAA"}) +
            "\"}}";
        p = s.find("\"frame_id\":\"");
      }
      p += 12;
      size_t e = s.find('"', p);
      if (e == std::string::npos) break;
      std::string b = s.substr(p, e - p);
      switch (r.Below(6)) {
        case 0:
          while (!b.empty() && b.back() == '=') b.pop_back();
          break;
        case 1:
          for (char& ch : b) {
            if (ch == '+') ch = '-';
            if (ch == '/') ch = '_';
          }
          break;
        case 2:
          b += "=";
          break;
        case 3:
          if (!b.empty())
            b.insert(r.Below(b.size()),
                     r.Pick(std::vector<std::string>{" ", "\\n", "=", ".", "\\u0000", "*"}));
          break;
        case 4: {
          size_t k = b.find_last_not_of('=');
          if (k != std::string::npos) {
            static const std::string kAlpha =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
            b[k] = kAlpha[r.Below(kAlpha.size())];
          }
          break;
        }
        default:
          if (!b.empty()) b.erase(r.Below(b.size()), 1);
      }
      s.replace(p, e - p, b);
      break;
    }
    case 13: {  // enum spelled differently
      size_t p = pos_of("\"kind\":");
      if (p == std::string::npos) break;
      p += 7;
      size_t e = p;
      while (e < s.size() && s[e] != ',' && s[e] != '}') ++e;
      s.replace(p, e - p,
                r.Pick(std::vector<std::string>{"0", "1", "3", "7", "10", "11", "-1", "\"1\"",
                                                "\"7\"", "\"move\"", "\"SCROLL\"", "\"GAP\"",
                                                "\"RESUME\"", "\"CLOCK_JUMP\"", "\"UNKNOWN\"",
                                                "1.0", "null", "\"BUTTON_UP\"", "\"PAUSE\""}));
      break;
    }
    case 14: {  // trailing garbage / leading junk
      if (r.Chance(50)) {
        s += r.Pick(
            std::vector<std::string>{" ", "\n", "x", "{}", ",", "\v", "\x00", "\xc3", "// c"});
      } else {
        s.insert(0, r.Pick(std::vector<std::string>{" ", "\f", "\xef\xbb\xbf", "x", "["}));
      }
      break;
    }
    default: {  // two mutations
      s = Mutate(r, Mutate(r, doc));
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: gen_event_json_golden OUT_DIR\n";
    return 2;
  }
  google::protobuf::SetLogHandler(nullptr);  // silence "invalid UTF-8" serialize logs
  const std::string dir = argv[1];
  Rng r{20250611};

  // ---- print golden
  std::vector<std::pair<std::string, Event>> events = HandEvents();
  for (int i = 0; i < 3000; ++i) {
    events.emplace_back("random_" + std::to_string(i), RandomEvent(r, /*allow_bad=*/i % 10 == 9));
  }
  std::ofstream pout(dir + "/print_golden.jsonl", std::ios::binary);
  std::vector<std::string> printed;  // valid documents to mutate for parse cases
  size_t n_print = 0;
  for (const auto& [name, e] : events) {
    bool ok = false;
    std::string json = Print(e, &ok);
    if (!ok) {
      std::cerr << "MessageToJsonString failed for " << name << "\n";
      return 1;
    }
    Event back;
    bool reparsed = Parse(json, &back);
    const std::string bytes = e.SerializeAsString();
    Event decoded;
    const bool binary_parses = decoded.ParseFromString(bytes);
    pout << "{\"name\":" << Quote(name) << ",\"event_hex\":\"" << Hex(bytes)
         << "\",\"binary_parses\":" << (binary_parses ? "true" : "false") << ",";
    if (ValidUtf8(json)) {
      pout << "\"json\":" << Quote(json);
      if (json.size() < 400) printed.push_back(json);
    } else {
      pout << "\"json_hex\":\"" << Hex(json) << "\"";
    }
    pout << ",\"reparse_hex\":";
    if (reparsed) {
      pout << "\"" << Hex(back.SerializeAsString()) << "\"";
    } else {
      pout << "null";
    }
    pout << "}\n";
    ++n_print;
  }

  // ---- parse golden
  std::vector<std::pair<std::string, std::string>> inputs;
  {
    int i = 0;
    for (auto& in : HandParseInputs()) inputs.emplace_back("hand_" + std::to_string(i++), in);
  }
  std::vector<std::string> seeds = {
      "{\"t_us\":\"5\",\"key\":{\"down\":true,\"keycode\":38,\"keysym\":97,\"text\":\"a\","
      "\"modifiers\":5,\"repeat\":true}}",
      "{\"t_us\":\"6\",\"pointer\":{\"kind\":\"SCROLL\",\"x\":-1,\"y\":2,\"button\":3,"
      "\"scroll_dx\":-1,\"scroll_dy\":1,\"modifiers\":4}}",
      "{\"focus\":{\"window_id\":\"77\",\"app_class\":\"Xterm\",\"app_instance\":\"xterm\","
      "\"title\":\"~\",\"pid\":9,\"x\":1,\"y\":2,\"width\":3,\"height\":4,\"screen_width\":5,"
      "\"screen_height\":6,\"title_change\":true}}",
      "{\"redaction\":{\"kind\":\"iban\",\"length_bucket\":32,\"key_events\":22}}",
      "{\"t_us\":\"1\",\"control\":{\"kind\":\"GAP\",\"duration_us\":\"1000\",\"reason\":\"x\"}}",
      "{\"frame\":{\"frame_id\":\"AAECAwQFBgcICQoLDA0ODw==\",\"format\":\"png\",\"width\":1,"
      "\"height\":2,\"x\":3,\"y\":4,\"trigger\":\"click\"}}",
  };
  for (size_t i = 0; i < printed.size() && seeds.size() < 400; i += 7) seeds.push_back(printed[i]);
  for (int i = 0; i < 2500; ++i) {
    inputs.emplace_back("mut_" + std::to_string(i), Mutate(r, seeds[r.Below(seeds.size())]));
  }
  std::ofstream qout(dir + "/parse_golden.jsonl", std::ios::binary);
  size_t n_parse = 0, n_ok = 0;
  for (const auto& [name, in] : inputs) {
    Event e;
    bool ok = Parse(in, &e);
    qout << "{\"name\":" << Quote(name) << ",";
    if (ValidUtf8(in)) {
      qout << "\"input\":" << Quote(in);
    } else {
      qout << "\"input_hex\":\"" << Hex(in) << "\"";
    }
    qout << ",\"ok\":" << (ok ? "true" : "false");
    if (ok) qout << ",\"event_hex\":\"" << Hex(e.SerializeAsString()) << "\"";
    qout << "}\n";
    ++n_parse;
    n_ok += ok;
  }
  std::cerr << "print cases: " << n_print << ", parse cases: " << n_parse << " (" << n_ok
            << " accepted)\n";
  return 0;
}
