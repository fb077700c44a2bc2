// The only C++ in StoreHub: zxing-cpp's ReadBarcodes behind the C functions of CZXing.h.
// Built with ZX_USE_UTF8 (Package.swift): Result::text() is then UTF-8, not UTF-16.
#include "CZXing.h"

#include <ZXing/ReadBarcode.h>

#include <exception>
#include <new>
#include <string>
#include <vector>

static_assert(storehub_zxing_datamatrix == static_cast<uint32_t>(ZXing::BarcodeFormat::DataMatrix), "format bits");
static_assert(storehub_zxing_microqrcode == static_cast<uint32_t>(ZXing::BarcodeFormat::MicroQRCode), "format bits");
static_assert(storehub_zxing_aztec == static_cast<uint32_t>(ZXing::BarcodeFormat::Aztec), "format bits");
static_assert(storehub_zxing_pdf417 == static_cast<uint32_t>(ZXing::BarcodeFormat::PDF417), "format bits");

struct storehub_zxing_reader {
    ZXing::DecodeHints hints;
    ZXing::Results results;
    // Per result, kept here so the pointers handed out stay valid until the next read.
    std::vector<std::string> texts;
    std::vector<std::string> identifiers;
    std::string error;
};

storehub_zxing_reader *storehub_zxing_reader_create(uint32_t formats, int32_t try_harder) {
    auto *reader = new (std::nothrow) storehub_zxing_reader();
    if (reader == nullptr) return nullptr;
    reader->hints.setFormats(ZXing::BarcodeFormats(static_cast<ZXing::BarcodeFormat>(formats)));
    reader->hints.setTryHarder(try_harder != 0);
    reader->hints.setTryRotate(try_harder != 0);
    reader->hints.setTryDownscale(try_harder != 0);
    // Symbols whose error correction or check digit failed are dropped inside zxing-cpp (returnErrors off).
    reader->hints.setReturnErrors(false);
    return reader;
}

void storehub_zxing_reader_destroy(storehub_zxing_reader *reader) { delete reader; }

int32_t storehub_zxing_read(storehub_zxing_reader *reader, const uint8_t *luma, int32_t width, int32_t height,
                            int32_t bytes_per_row) {
    reader->results.clear();
    reader->texts.clear();
    reader->identifiers.clear();
    reader->error.clear();
    try {
        ZXing::ImageView image(luma, width, height, ZXing::ImageFormat::Lum, bytes_per_row);
        ZXing::Results found = ZXing::ReadBarcodes(image, reader->hints);
        for (auto &result : found) {
            if (!result.isValid()) continue;
            reader->texts.push_back(result.hasECI() ? result.text() : std::string());
            reader->identifiers.push_back(result.symbologyIdentifier());
            reader->results.push_back(std::move(result));
        }
    } catch (const std::exception &exception) {
        reader->results.clear();
        reader->error = exception.what();
        return -1;
    } catch (...) {
        reader->results.clear();
        reader->error = "unknown C++ exception";
        return -1;
    }
    return static_cast<int32_t>(reader->results.size());
}

storehub_zxing_symbol storehub_zxing_result(const storehub_zxing_reader *reader, int32_t index) {
    storehub_zxing_symbol symbol = {};
    if (index < 0 || static_cast<size_t>(index) >= reader->results.size()) return symbol;
    const ZXing::Result &result = reader->results[index];
    symbol.format = static_cast<uint32_t>(result.format());
    const ZXing::ByteArray &bytes = result.bytes();
    symbol.bytes = bytes.data();
    symbol.byte_count = static_cast<int32_t>(bytes.size());
    const std::string &text = reader->texts[index];
    symbol.text = text.data();
    symbol.text_length = static_cast<int32_t>(text.size());
    symbol.has_eci = result.hasECI() ? 1 : 0;
    const std::string &identifier = reader->identifiers[index];
    for (size_t i = 0; i < identifier.size() && i < sizeof(symbol.symbology_identifier) - 1; i++)
        symbol.symbology_identifier[i] = identifier[i];
    const ZXing::Position &position = result.position();
    for (int corner = 0; corner < 4; corner++) {
        symbol.corners[2 * corner] = position[corner].x;
        symbol.corners[2 * corner + 1] = position[corner].y;
    }
    return symbol;
}

const char *storehub_zxing_reader_error(const storehub_zxing_reader *reader) { return reader->error.c_str(); }
