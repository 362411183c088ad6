// QR code rendering (see qr_svg.hpp).
#include "api/qr_svg.hpp"

#include <qrencode.h>

#include <memory>

#include <fmt/format.h>

namespace liveroom::api {

std::optional<std::string> qrSvg(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeData(static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0,
                        QR_ECLEVEL_M),
      &QRcode_free);
  if (!code) return std::nullopt;
  constexpr int kQuiet = 4;
  const int width = code->width;
  const int size = width + 2 * kQuiet;
  std::string path;
  path.reserve(static_cast<size_t>(width) * static_cast<size_t>(width) * 4);
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width; ++x) {
      // Bit 0 of each byte: dark module.
      if ((code->data[y * width + x] & 1) == 0) continue;
      int run = 1;
      while (x + run < width && (code->data[y * width + x + run] & 1) != 0) ++run;
      fmt::format_to(std::back_inserter(path), "M{} {}h{}v1h-{}z", x + kQuiet, y + kQuiet, run, run);
      x += run - 1;
    }
  }
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {0}\" shape-rendering=\"crispEdges\">"
      "<rect width=\"{0}\" height=\"{0}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{1}\"/></svg>\n",
      size, path);
}

}  // namespace liveroom::api
