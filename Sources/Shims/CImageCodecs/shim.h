#ifndef SPKDEBLUR_CIMAGECODECS_SHIM_H
#define SPKDEBLUR_CIMAGECODECS_SHIM_H
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

// PNG reading with libpng's low-level API lives here because libpng reports errors by
// longjmp, which Swift cannot call setjmp for and which must not cross Swift frames. (The
// simplified png_image API needs no setjmp, but it applies gAMA/sRGB chunks and composites
// alpha onto a background, so its values differ from what PIL and OpenCV read.)

// What cimagecodecs_png_decode returns.
typedef struct {
    uint32_t width;
    uint32_t height;
    // 1 (grey) or 3 (RGB).
    int channels;
    // 8 or 16; 16-bit samples are big-endian, as stored.
    int bit_depth;
    // height * width * channels samples; the caller frees it with free().
    unsigned char *pixels;
    // Why decoding failed, NUL-terminated.
    char message[200];
} cimagecodecs_png_decoded;

// The in-memory stream libpng reads from.
typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
} cimagecodecs_png_source;

// libpng read callback over a byte buffer; running out of bytes is an error.
static inline void cimagecodecs_png_read(png_structp png, png_bytep dst, size_t count) {
    cimagecodecs_png_source *source = (cimagecodecs_png_source *)png_get_io_ptr(png);
    if (count > source->size - source->offset) png_error(png, "file ends early (truncated)");
    memcpy(dst, source->data + source->offset, count);
    source->offset += count;
}

// libpng error callback: keeps the message, then unwinds to the setjmp in the decoder.
static inline void cimagecodecs_png_error(png_structp png, png_const_charp message) {
    cimagecodecs_png_decoded *out = (cimagecodecs_png_decoded *)png_get_error_ptr(png);
    snprintf(out->message, sizeof out->message, "%s", message);
    png_longjmp(png, 1);
}

// libpng warning callback: benign problems (an odd ICC profile, say) are not printed.
static inline void cimagecodecs_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

// Decodes a PNG to its stored samples with no colour management: palettes expanded to RGB
// (tRNS ignored), 1/2/4-bit grey expanded to 8 bits, alpha dropped (not composited), gAMA,
// sRGB, cHRM and iCCP ignored, 16 bits kept. What follows the image data is not read.
// Returns 1 on success; on failure 0, with out->message set and nothing to free.
static inline int cimagecodecs_png_decode(const unsigned char *data, size_t size, cimagecodecs_png_decoded *out) {
    memset(out, 0, sizeof *out);
    cimagecodecs_png_source source = {data, size, 0};
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, out, cimagecodecs_png_error, cimagecodecs_png_warning);
    if (png == NULL) {
        snprintf(out->message, sizeof out->message, "cannot create a PNG reader");
        return 0;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(out->message, sizeof out->message, "cannot create a PNG reader");
        return 0;
    }
    // volatile: assigned after setjmp and read after the longjmp back to it.
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return 0;
    }
    png_set_read_fn(png, &source, cimagecodecs_png_read);
    png_read_info(png, info);
    int type = png_get_color_type(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    // Also drops the alpha that png_set_palette_to_rgb makes from a tRNS chunk.
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info), depth = png_get_bit_depth(png, info);
    if ((channels != 1 && channels != 3) || (depth != 8 && depth != 16))
        png_error(png, "unexpected layout after expansion");
    uint32_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    pixels = (unsigned char *)malloc(row_bytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (pixels == NULL || rows == NULL) png_error(png, "out of memory");
    for (uint32_t y = 0; y < height; y++) rows[y] = pixels + y * row_bytes;
    png_read_image(png, rows);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bit_depth = depth;
    out->pixels = pixels;
    return 1;
}

#endif
