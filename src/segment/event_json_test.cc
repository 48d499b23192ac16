// EventToJson / EventFromJson against fixtures recorded from protobuf 3.21's
// json_util (tests/data/event_json, written by tools/gen_event_json_golden.cc):
// every printed event byte for byte, every parse input accept/reject and the
// resulting message. Uses neither json_util nor reflection, so it keeps
// building once events.proto is LITE_RUNTIME.
#include "segment/event_json.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sealtrace {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path DataDir() {
  if (const char* src = std::getenv("SEALTRACE_SOURCE_DIR"); src && *src) {
    return fs::path(src) / "tests/data/event_json";
  }
  // src/segment/event_json_test.cc -> repo root.
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "tests/data/event_json";
}

std::vector<json> ReadJsonl(const std::string& name) {
  std::ifstream in(DataDir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing " << (DataDir() / name);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << name << ": bad line " << out.size() + 1;
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

std::string Unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string Hex(std::string_view s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Walks the wire format of one message: f(field, wire_type, varint_or_fixed,
// length_delimited). The generated parser refuses a proto3 string that is not
// UTF-8; some print fixtures have such strings (built in memory), so they are
// decoded here instead. Unknown fields are skipped (EventToJson ignores them).
template <typename F>
bool ForEachField(std::string_view b, F f) {
  size_t pos = 0;
  auto varint = [&](uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= b.size()) return false;
      const uint8_t byte = static_cast<uint8_t>(b[pos++]);
      *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return true;
    }
    return false;
  };
  while (pos < b.size()) {
    uint64_t tag, v = 0;
    std::string_view s;
    if (!varint(&tag)) return false;
    const uint32_t wire_type = static_cast<uint32_t>(tag & 7);
    switch (wire_type) {
      case 0:
        if (!varint(&v)) return false;
        break;
      case 1:
      case 5: {
        const size_t n = wire_type == 1 ? 8 : 4;
        if (b.size() - pos < n) return false;
        for (size_t i = 0; i < n; ++i)
          v |= static_cast<uint64_t>(static_cast<uint8_t>(b[pos + i])) << (8 * i);
        pos += n;
        break;
      }
      case 2: {
        uint64_t len;
        if (!varint(&len) || b.size() - pos < len) return false;
        s = b.substr(pos, len);
        pos += len;
        break;
      }
      default:
        return false;
    }
    if (!f(static_cast<uint32_t>(tag >> 3), wire_type, v, s)) return false;
  }
  return true;
}

bool DecodeLenient(std::string_view b, v1::Event* e) {
  using std::string_view;
  auto i32 = [](uint64_t v) { return static_cast<int32_t>(v); };
  auto u32 = [](uint64_t v) { return static_cast<uint32_t>(v); };
  return ForEachField(b, [&](uint32_t f, uint32_t wt, uint64_t v, string_view s) {
    if (f == 1 && wt == 0) {
      e->set_t_us(v);
      return true;
    }
    if (wt != 2 || f < 2 || f > 7) return true;
    switch (f) {
      case 2:
        return ForEachField(s, [m = e->mutable_key(), &i32, &u32](uint32_t f, uint32_t wt,
                                                                  uint64_t v, string_view s) {
          (void)i32;
          if (wt == 0 && f == 1) m->set_down(v != 0);
          if (wt == 0 && f == 2) m->set_keycode(u32(v));
          if (wt == 0 && f == 3) m->set_keysym(u32(v));
          if (wt == 2 && f == 4) m->set_text(std::string(s));
          if (wt == 0 && f == 5) m->set_modifiers(u32(v));
          if (wt == 0 && f == 6) m->set_repeat(v != 0);
          return true;
        });
      case 3:
        return ForEachField(s, [m = e->mutable_pointer(), &i32, &u32](uint32_t f, uint32_t wt,
                                                                      uint64_t v, string_view) {
          if (wt != 0) return true;
          if (f == 1) m->set_kind(static_cast<v1::PointerEvent::Kind>(i32(v)));
          if (f == 2) m->set_x(i32(v));
          if (f == 3) m->set_y(i32(v));
          if (f == 4) m->set_button(u32(v));
          if (f == 5) m->set_scroll_dx(i32(v));
          if (f == 6) m->set_scroll_dy(i32(v));
          if (f == 7) m->set_modifiers(u32(v));
          return true;
        });
      case 4:
        return ForEachField(s, [m = e->mutable_focus(), &i32, &u32](uint32_t f, uint32_t wt,
                                                                    uint64_t v, string_view s) {
          if (wt == 0 && f == 1) m->set_window_id(v);
          if (wt == 2 && f == 2) m->set_app_class(std::string(s));
          if (wt == 2 && f == 3) m->set_app_instance(std::string(s));
          if (wt == 2 && f == 4) m->set_title(std::string(s));
          if (wt == 0 && f == 5) m->set_pid(u32(v));
          if (wt == 0 && f == 6) m->set_x(i32(v));
          if (wt == 0 && f == 7) m->set_y(i32(v));
          if (wt == 0 && f == 8) m->set_width(u32(v));
          if (wt == 0 && f == 9) m->set_height(u32(v));
          if (wt == 0 && f == 10) m->set_screen_width(u32(v));
          if (wt == 0 && f == 11) m->set_screen_height(u32(v));
          if (wt == 0 && f == 12) m->set_title_change(v != 0);
          return true;
        });
      case 5:
        return ForEachField(s, [m = e->mutable_redaction(), &u32](uint32_t f, uint32_t wt,
                                                                  uint64_t v, string_view s) {
          if (wt == 2 && f == 1) m->set_kind(std::string(s));
          if (wt == 0 && f == 2) m->set_length_bucket(u32(v));
          if (wt == 0 && f == 3) m->set_key_events(u32(v));
          return true;
        });
      case 6:
        return ForEachField(s, [m = e->mutable_control(), &i32](uint32_t f, uint32_t wt, uint64_t v,
                                                                string_view s) {
          if (wt == 0 && f == 1) m->set_kind(static_cast<v1::ControlEvent::Kind>(i32(v)));
          if (wt == 0 && f == 2) m->set_duration_us(v);
          if (wt == 2 && f == 3) m->set_reason(std::string(s));
          return true;
        });
      default:
        return ForEachField(s, [m = e->mutable_frame(), &i32, &u32](uint32_t f, uint32_t wt,
                                                                    uint64_t v, string_view s) {
          if (wt == 2 && f == 1) m->set_frame_id(std::string(s));
          if (wt == 2 && f == 2) m->set_format(std::string(s));
          if (wt == 0 && f == 3) m->set_width(u32(v));
          if (wt == 0 && f == 4) m->set_height(u32(v));
          if (wt == 0 && f == 5) m->set_x(i32(v));
          if (wt == 0 && f == 6) m->set_y(i32(v));
          if (wt == 2 && f == 7) m->set_trigger(std::string(s));
          return true;
        });
    }
  });
}

struct PrintCase {
  std::string name;
  v1::Event event;
  bool binary_parse_ok = false;  // false: strings that are not UTF-8
  std::string json;              // json_util's output
  bool reparse_ok = false;       // json_util accepted its own output
  std::string reparse_bytes;
};

const std::vector<PrintCase>& PrintCases() {
  static const std::vector<PrintCase> cases = [] {
    std::vector<PrintCase> v;
    for (const json& j : ReadJsonl("print_golden.jsonl")) {
      PrintCase c;
      c.name = j.at("name").get<std::string>();
      const std::string bytes = Unhex(j.at("event_hex").get<std::string>());
      c.binary_parse_ok = j.at("binary_parses").get<bool>();
      if (c.binary_parse_ok) {
        EXPECT_TRUE(c.event.ParseFromString(bytes)) << c.name;
      } else {
        EXPECT_TRUE(DecodeLenient(bytes, &c.event)) << c.name;
      }
      c.json = j.contains("json") ? j.at("json").get<std::string>()
                                  : Unhex(j.at("json_hex").get<std::string>());
      c.reparse_ok = !j.at("reparse_hex").is_null();
      if (c.reparse_ok) c.reparse_bytes = Unhex(j.at("reparse_hex").get<std::string>());
      v.push_back(std::move(c));
    }
    return v;
  }();
  return cases;
}

TEST(EventJsonGolden, PrintIsByteIdenticalToJsonUtil) {
  const auto& cases = PrintCases();
  ASSERT_GE(cases.size(), 3000u);
  size_t not_utf8 = 0, failures = 0;
  for (const PrintCase& c : cases) {
    not_utf8 += !c.binary_parse_ok;
    const std::string got = EventToJson(c.event);
    if (got != c.json) {
      ++failures;
      ADD_FAILURE() << c.name << "\n  want " << c.json << "\n  got  " << got;
      if (failures > 20) break;
    }
  }
  EXPECT_GT(not_utf8, 100u) << "the fixtures should cover strings that are not UTF-8";
}

// json_util's output parsed back (by json_util when recorded, by us now).
TEST(EventJsonGolden, ParsingPrintedOutputMatchesJsonUtil) {
  size_t failures = 0;
  for (const PrintCase& c : PrintCases()) {
    absl::StatusOr<v1::Event> back = EventFromJson(c.json);
    const bool ok = back.ok();
    if (ok != c.reparse_ok || (ok && back->SerializeAsString() != c.reparse_bytes)) {
      ++failures;
      ADD_FAILURE() << c.name << ": json_util " << (c.reparse_ok ? "accepted" : "rejected") << " "
                    << c.json << "\n  status " << back.status()
                    << (ok ? "\n  got " + Hex(back->SerializeAsString()) + "\n  want " +
                                 Hex(c.reparse_bytes)
                           : "");
      if (failures > 20) break;
    }
  }
}

// EventFromJson(EventToJson(e)) == e for every event with UTF-8 strings and
// no unknown fields (those are what the binary format can carry and JSON
// cannot).
TEST(EventJsonGolden, RoundTrip) {
  size_t exact = 0;
  for (const PrintCase& c : PrintCases()) {
    if (!c.binary_parse_ok) continue;
    const std::string original = c.event.SerializeAsString();
    absl::StatusOr<v1::Event> back = EventFromJson(EventToJson(c.event));
    ASSERT_TRUE(back.ok()) << c.name << ": " << back.status();
    // json_util's own round trip drops unknown fields and nothing else.
    EXPECT_EQ(Hex(back->SerializeAsString()), Hex(c.reparse_bytes)) << c.name;
    if (original == c.reparse_bytes) {
      EXPECT_EQ(Hex(back->SerializeAsString()), Hex(original)) << c.name;
      ++exact;
    }
  }
  EXPECT_GT(exact, 2500u);
}

TEST(EventJsonGolden, ParseAcceptsAndRejectsLikeJsonUtil) {
  const std::vector<json> cases = ReadJsonl("parse_golden.jsonl");
  ASSERT_GE(cases.size(), 2500u);
  size_t failures = 0, accepted = 0;
  for (const json& j : cases) {
    const std::string name = j.at("name").get<std::string>();
    const std::string input = j.contains("input") ? j.at("input").get<std::string>()
                                                  : Unhex(j.at("input_hex").get<std::string>());
    const bool want_ok = j.at("ok").get<bool>();
    absl::StatusOr<v1::Event> got = EventFromJson(input);
    bool same = got.ok() == want_ok;
    if (same && want_ok) {
      same = Hex(got->SerializeAsString()) == j.at("event_hex").get<std::string>();
    }
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << name;
    }
    accepted += want_ok;
    if (!same) {
      ++failures;
      ADD_FAILURE() << name << ": json_util " << (want_ok ? "accepted" : "rejected") << " "
                    << (input.size() > 300 ? input.substr(0, 300) + "..." : input) << "\n  status "
                    << got.status()
                    << (got.ok() && want_ok ? "\n  got  " + Hex(got->SerializeAsString()) +
                                                  "\n  want " + j.at("event_hex").get<std::string>()
                                            : "");
      if (failures > 30) break;
    }
  }
  EXPECT_GT(accepted, 500u);
  EXPECT_GT(cases.size() - accepted, 500u);
}

// Readable spot checks of what the fixtures pin down.
TEST(EventJson, Examples) {
  v1::Event e;
  e.set_t_us(5);
  auto* k = e.mutable_key();
  k->set_down(true);
  k->set_keycode(38);
  k->set_text("<a & \"b\"/>\u2028\x7f");
  EXPECT_EQ(EventToJson(e), R"({"t_us":"5","key":{"down":true,"keycode":38,)"
                            R"("text":"\u003ca & \"b\"/\u003e\u2028\u007f"}})");

  v1::Event empty_body;
  empty_body.mutable_frame();
  EXPECT_EQ(EventToJson(empty_body), R"({"frame":{}})");
  EXPECT_EQ(EventToJson(v1::Event()), "{}");

  v1::Event unknown_enum;
  unknown_enum.mutable_pointer()->set_kind(static_cast<v1::PointerEvent::Kind>(9));
  EXPECT_EQ(EventToJson(unknown_enum), R"({"pointer":{"kind":9}})");

  absl::StatusOr<v1::Event> p =
      EventFromJson(R"({"tUs":"7","pointer":{"kind":"3","x":-2.0,"scrollDx":"+4","button":1e1}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->t_us(), 7u);
  EXPECT_EQ(p->pointer().kind(), v1::PointerEvent::SCROLL);
  EXPECT_EQ(p->pointer().x(), -2);
  EXPECT_EQ(p->pointer().scroll_dx(), 4);
  EXPECT_EQ(p->pointer().button(), 10u);

  EXPECT_FALSE(EventFromJson(R"({"key":{},"pointer":{}})").ok());
  EXPECT_TRUE(EventFromJson(R"({"key":null,"pointer":{}})").ok());
  EXPECT_FALSE(EventFromJson(R"({"t_us":1} x)").ok());
  EXPECT_FALSE(EventFromJson(R"({"frame":{"frame_id":"QR=="}})").ok());
  // No body is fine for the codec; the replay reader refuses it itself.
  ASSERT_TRUE(EventFromJson("{}").ok());
  EXPECT_EQ(EventFromJson("{}")->body_case(), v1::Event::BODY_NOT_SET);
}

TEST(EventJson, ErrorsNameTheFieldButNotTheValue) {
  struct Case {
    std::string input;
    std::string must_mention;
  };
  const std::vector<Case> cases = {
      {R"({"t_us":"SECRET1"})", "t_us"},
      {R"({"t_us":{"SECRET":1}})", "t_us"},
      {R"({"key":{"down":"SECRET"}})", "key.down"},
      {R"({"key":{"keycode":"SECRET42"}})", "key.keycode"},
      {R"({"key":{"text":"SECRET","text":SECRET}})", "syntax error"},
      {R"({"key":{"text":"SECRET)", "syntax error"},
      {R"({"key":{"text":"SECRET\u12"}})", "syntax error"},
      {R"({"key":{"text":"SECRET\ud800"}})", "syntax error"},
      {R"({"key":{"text":["SECRET"]}})", "key.text"},
      {R"({"pointer":{"kind":"SECRET"}})", "pointer.kind"},
      {R"({"pointer":{"x":"SECRET"}})", "pointer.x"},
      {R"({"frame":{"frame_id":"SECRET"}})", "frame.frame_id"},
      {R"({"focus":{"title":"SECRET"},"key":{"text":"SECRET"}})", "key"},
      {R"({"focus":{"title":1, "x":"SECRET"}})", "focus.title"},
      {R"({"control":"SECRET"})", "control"},
      {R"({"my SECRET":"SECRET"})", "unknown field"},
      {R"({"key":{"SECRET words":"SECRET"}})", "unknown field"},
      {R"({"t_us":1} SECRET)", "syntax error"},
      {"\"SECRET\"", "not a JSON object"},
      {"{\"key\":{\"text\":\"SECRET\xff\"}}", "UTF-8"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Event> r = EventFromJson(c.input);
    ASSERT_FALSE(r.ok()) << c.input;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.input;
    const std::string msg(r.status().message());
    EXPECT_EQ(msg.find("SECRET"), std::string::npos) << c.input << " -> " << msg;
    EXPECT_NE(msg.find(c.must_mention), std::string::npos) << c.input << " -> " << msg;
  }
  // An unknown key that looks like a field name is named.
  absl::StatusOr<v1::Event> r = EventFromJson(R"({"key":{"keyCode":1}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"keyCode\" in key"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace sealtrace
