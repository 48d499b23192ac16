// JSON codec for sealtrace::v1::Event that needs no protobuf reflection, so it
// works with optimize_for = LITE_RUNTIME (libprotobuf-lite).
//
// It reproduces exactly what protobuf 3.21's util/json_util did for this
// schema with the options sealtrace used (checked byte for byte against golden
// fixtures recorded from the real json_util: tests/data/event_json/, see
// tools/gen_event_json_golden.cc and src/segment/event_json_test.cc):
//
// EventToJson(e) == MessageToJsonString(e, &out, {preserve_proto_field_names})
//   - no whitespace; fields in field-number order; proto field names
//     ("t_us", "scroll_dx"); fields equal to their default are omitted; a set
//     oneof member is printed even when it is an empty message ("key":{}).
//   - uint64 as a quoted decimal string, uint32/int32 as numbers, bool as
//     true/false, enums by name (a number with no name is printed as the
//     number), bytes as standard base64 with padding.
//   - strings: '"' and '\\' escaped; \b \t \n \f \r; other code points below
//     U+0020, DEL and U+0080..U+009F as \u00XX; '<' and '>' as \u003c \u003e;
//     U+00AD, U+0600-0603, U+06DD, U+070F, U+17B4-17B5, U+200B-200F,
//     U+2028-202E, U+2060-2064, U+206A-206F, U+FEFF, U+FFF9-FFFB as \uXXXX;
//     U+E0001, U+E0020-E007F, U+1D173-1D17A as a \uXXXX\uXXXX surrogate pair;
//     everything else (including '/', '&', '=', '\'', other non-ASCII) is
//     copied. Lower-case hex.
//   - a string field that is not valid UTF-8 (possible only for a message
//     built in memory; the binary parser refuses it) is printed the way
//     json_util printed it: the malformed sequence is dropped (a bad byte
//     after a lead byte is dropped with it); overlong forms are decoded, so
//     e.g. C0 BC is printed as \u003c while E0 80 AF is copied as is (and
//     then the output is not UTF-8 either). Never fails.
//   - unknown fields are not printed.
//
// EventFromJson(text) accepts exactly the texts JsonStringToMessage(text, &e,
// {ignore_unknown_fields = false}) accepted and yields the same message:
//   - json_util's lenient JSON dialect: strings in "..." or '...', bare
//     object keys ({t_us:1}), a trailing comma in an object, any character
//     after a backslash stands for itself (\v is VT), raw control characters
//     inside strings, and whitespace ' ' \t \n \v \f \r. The whole text must be
//     valid UTF-8 (no overlong forms, surrogates or code points > U+10FFFF);
//     \uXXXX escapes must not leave a lone surrogate. One top-level object;
//     anything but whitespace after it is rejected.
//   - keys: the proto name or the lowerCamelCase JSON name (t_us / tUs);
//     anything else (including other casings) is an unknown field: rejected.
//   - a key given twice: the last value wins; null means "leave as is" (for
//     any field, including a oneof member, which then does not count as set).
//   - two non-null members of the body oneof (or the same one twice):
//     rejected.
//   - integers: a JSON number, or a string holding [+-]digits (no spaces,
//     leading zeros allowed; '-' not for unsigned fields, not even "-0").
//     A number token may be a float (1e3, 3.0, 1., hex-float forms strtod
//     knows, such as 0xe) if its value is an integer in range; -0 is 0.
//     Out of range for int32/uint32/uint64: rejected. A number without '.',
//     'e' or 'E' must not have a leading zero (007).
//   - enums: the exact value name, a string holding the number of a defined
//     value ("3"), or a JSON number (any int32, kept even if undefined).
//   - bool: true/false, or a string "true"/"t"/"yes"/"y"/"1" or
//     "false"/"f"/"no"/"n"/"0" (any letter case).
//   - bytes: canonical base64, standard or URL-safe alphabet (not mixed),
//     with the exact padding or none, zero trailing bits.
//   - a message field takes an object or null; a scalar field takes no object
//     or array.
//   The caller decides whether an event without a body is acceptable.
//
// Failure: EventFromJson returns INVALID_ARGUMENT. The message names the
// field (proto path like "key.keycode") or the byte offset of a syntax error,
// and never contains a value from the input (values can be typed text). An
// unknown key is named only if it looks like an identifier.
//
// Thread safety: both functions are pure; they may be called concurrently.
//
// Schema changes: the codec knows the fields by hand (no reflection). A field
// added to events.proto must be added to event_json.cc too (else it is not
// printed and is rejected as unknown when parsed); regenerate the fixtures
// while the full runtime is still linked, or extend them by hand.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "sealtrace/v1/events.pb.h"

namespace sealtrace {

std::string EventToJson(const v1::Event& e);

absl::StatusOr<v1::Event> EventFromJson(std::string_view json_text);

}  // namespace sealtrace
