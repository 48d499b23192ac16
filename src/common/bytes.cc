#include "common/bytes.h"

#include <cstring>

namespace sealtrace {

bool Id16::IsZero() const {
  for (uint8_t c : b)
    if (c != 0) return false;
  return true;
}

std::string Id16::Hex() const { return ToHex(Bytes()); }

std::optional<Id16> Id16::FromHex(std::string_view hex) {
  auto raw = sealtrace::FromHex(hex);
  if (!raw || raw->size() != 16) return std::nullopt;
  return FromBytes(*raw);
}

std::optional<Id16> Id16::FromBytes(std::string_view bytes) {
  if (bytes.size() != 16) return std::nullopt;
  Id16 id;
  std::memcpy(id.b.data(), bytes.data(), 16);
  return id;
}

std::string ToHex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

}  // namespace sealtrace
