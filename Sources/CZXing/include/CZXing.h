#ifndef STOREHUB_CZXING_H
#define STOREHUB_CZXING_H
// A plain C view of zxing-cpp (Debian's libzxing, 1.4.0), so Swift calls C functions and the C++ stays in
// zxing_shim.cpp. Every name is prefixed storehub_zxing_.
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// zxing-cpp's BarcodeFormat bits (ZXing/BarcodeFormat.h), copied because C cannot see the C++ enum.
static const uint32_t storehub_zxing_aztec = 1u << 0;
static const uint32_t storehub_zxing_codabar = 1u << 1;
static const uint32_t storehub_zxing_code39 = 1u << 2;
static const uint32_t storehub_zxing_code93 = 1u << 3;
static const uint32_t storehub_zxing_code128 = 1u << 4;
static const uint32_t storehub_zxing_databar = 1u << 5;
static const uint32_t storehub_zxing_databar_expanded = 1u << 6;
static const uint32_t storehub_zxing_datamatrix = 1u << 7;
static const uint32_t storehub_zxing_ean8 = 1u << 8;
static const uint32_t storehub_zxing_ean13 = 1u << 9;
static const uint32_t storehub_zxing_itf = 1u << 10;
static const uint32_t storehub_zxing_pdf417 = 1u << 12;
static const uint32_t storehub_zxing_qrcode = 1u << 13;
static const uint32_t storehub_zxing_upca = 1u << 14;
static const uint32_t storehub_zxing_upce = 1u << 15;
static const uint32_t storehub_zxing_microqrcode = 1u << 16;

/// A reader: the formats it looks for and the results of its last read. Not thread-safe; one per pipeline.
typedef struct storehub_zxing_reader storehub_zxing_reader;

/// One symbol of the last read. Pointers stay valid until the next read or destroy on the same reader.
typedef struct storehub_zxing_symbol {
    /// One storehub_zxing_* format bit.
    uint32_t format;
    /// The content as encoded, ECI designators removed, no character set conversion.
    const uint8_t *bytes;
    int32_t byte_count;
    /// The content as UTF-8, converted by the symbol's ECI designators (meaningful when has_eci is 1).
    const char *text;
    int32_t text_length;
    /// 1 when the symbol carries an ECI designator.
    int32_t has_eci;
    /// The AIM symbology identifier, "]cm" and a NUL (empty when zxing-cpp gives none).
    char symbology_identifier[8];
    /// Corners clockwise from the symbol's top left: x0, y0, x1, y1, ...
    int32_t corners[8];
} storehub_zxing_symbol;

/// A reader for the formats (storehub_zxing_* bits), or NULL when out of memory. `try_harder` (0/1) lets
/// zxing-cpp also try rotated and downscaled views, as its defaults do.
storehub_zxing_reader *storehub_zxing_reader_create(uint32_t formats, int32_t try_harder);

void storehub_zxing_reader_destroy(storehub_zxing_reader *reader);

/// Reads every symbol in an 8-bit grey image that the reader borrows for the call. Returns the number of valid
/// symbols found, or -1 when zxing-cpp failed (storehub_zxing_reader_error says why).
int32_t storehub_zxing_read(storehub_zxing_reader *reader, const uint8_t *luma, int32_t width, int32_t height,
                            int32_t bytes_per_row);

/// Symbol `index` (0 ..< the last read's count) of the last read.
storehub_zxing_symbol storehub_zxing_result(const storehub_zxing_reader *reader, int32_t index);

/// What went wrong in the last failed read, as a NUL-terminated string ("" when nothing did).
const char *storehub_zxing_reader_error(const storehub_zxing_reader *reader);

#ifdef __cplusplus
}
#endif
#endif
