// Small byte helpers: little-endian fixed-width coding, hex, 16-byte ids.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sealtrace {

// A 16-byte random identifier (contributor, device, segment). Shown as 32 hex chars.
struct Id16 {
  std::array<uint8_t, 16> b{};
  bool operator==(const Id16&) const = default;
  auto operator<=>(const Id16&) const = default;
  bool IsZero() const;
  std::string Hex() const;
  std::string_view Bytes() const { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
  static std::optional<Id16> FromHex(std::string_view hex);
  static std::optional<Id16> FromBytes(std::string_view bytes);
};

std::string ToHex(std::string_view bytes);
// Returns nullopt on odd length or a non-hex character.
std::optional<std::string> FromHex(std::string_view hex);

inline void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}
inline void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline uint16_t GetU16(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}
inline uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint32_t>(u[0]) | (static_cast<uint32_t>(u[1]) << 8) |
         (static_cast<uint32_t>(u[2]) << 16) | (static_cast<uint32_t>(u[3]) << 24);
}
inline uint64_t GetU64(const char* p) {
  return static_cast<uint64_t>(GetU32(p)) | (static_cast<uint64_t>(GetU32(p + 4)) << 32);
}

}  // namespace sealtrace
