// PNG encoding for screen frames (libpng, in memory, fast compression).
#include <png.h>

#include <csetjmp>
#include <string>

#include "capture/x11/x11_source.h"

namespace sealtrace {
namespace {

void WriteToString(png_structp png, png_bytep data, png_size_t len) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), len);
}
void NoFlush(png_structp) {}
void OnPngError(png_structp png, png_const_charp) { png_longjmp(png, 1); }
void OnPngWarning(png_structp, png_const_charp) {}

// Returns false on a libpng error. No C++ object with a destructor lives
// between setjmp and a possible longjmp here.
bool EncodeInto(std::string* out, const uint8_t* rgb, uint32_t width, uint32_t height) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, OnPngError, OnPngWarning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, WriteToString, NoFlush);
  png_set_compression_level(png, 1);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (uint32_t y = 0; y < height; ++y) {
    png_write_row(png, const_cast<png_bytep>(rgb + static_cast<size_t>(y) * width * 3));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

absl::StatusOr<std::string> EncodePngRgb(const uint8_t* rgb, uint32_t width, uint32_t height) {
  if (width == 0 || height == 0 || width > 16384 || height > 16384) {
    return absl::InvalidArgumentError("PNG frame size out of range");
  }
  std::string out;
  if (!EncodeInto(&out, rgb, width, height)) return absl::InternalError("PNG encoding failed");
  return out;
}

}  // namespace sealtrace
