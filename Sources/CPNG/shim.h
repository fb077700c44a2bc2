#ifndef STOREHUB_CPNG_SHIM_H
#define STOREHUB_CPNG_SHIM_H
#include <png.h>
#include <string.h>

/// Starts reading a PNG held in memory with libpng's simplified API and asks for 8-bit grey output.
/// Returns 1 on success; on failure 0, with the reason in image->message.
static inline int storehub_png_begin_grey(png_image *image, const void *data, size_t size) {
    memset(image, 0, sizeof *image);
    image->version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(image, data, size)) return 0;
    image->format = PNG_FORMAT_GRAY;
    return 1;
}

/// Like storehub_png_begin_grey, with 8-bit RGB output (alpha is composed over black, grey is expanded).
static inline int storehub_png_begin_rgb(png_image *image, const void *data, size_t size) {
    memset(image, 0, sizeof *image);
    image->version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(image, data, size)) return 0;
    image->format = PNG_FORMAT_RGB;
    return 1;
}

/// Decodes the pixels into `buffer` (rows of `stride` bytes). Returns 1 on success, 0 with image->message set.
static inline int storehub_png_finish(png_image *image, void *buffer, int stride) {
    return png_image_finish_read(image, NULL, buffer, stride, NULL);
}
#endif
