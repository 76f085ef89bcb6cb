#ifndef SPKDEBLUR_CKERNELS_H
#define SPKDEBLUR_CKERNELS_H

// SIMD kernels the Swift compiler cannot emit (AVX-512 BF16 dot products). Every kernel is
// compiled for its instruction set with per-function target attributes, so the library
// loads on any x86-64 CPU; call a kernel only after its `ck_has_*` check returned 1.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU and OS support AVX-512F/BW/VL and AVX512_BF16 (`vdpbf16ps`), else 0.
int ck_has_avx512bf16(void);

/// Number of uint16 values `ck_bf16_pack_b` writes for a `k x n` right-hand matrix.
size_t ck_bf16_packed_count(int k, int n);

/// Packs the right-hand GEMM operand into bf16 column panels (round to nearest even).
/// `b` is `[k, n]` row-major, or `[n, k]` row-major when `transposed` is non-zero (a linear
/// layer's `[out, in]` weight). Portable C: needs no special instructions.
void ck_bf16_pack_b(const float *b, int k, int n, int transposed, uint16_t *packed);

/// `C[m, n] = A[m, k] * B (+ bias[n] when bias is non-null) (+ C when accumulate)` with A
/// converted to bf16 on the fly, `B` packed by `ck_bf16_pack_b`, products summed in fp32
/// by `vdpbf16ps`, or on AMX tiles for 16 rows or more when `ck_amx_active()`.
/// Single-threaded; callers split the rows. Needs `ck_has_avx512bf16()`.
void ck_gemm_bf16(int m, int n, int k, const float *a, int lda, const uint16_t *packed, float *c, int ldc,
                  const float *bias, int accumulate);

/// 1 when the CPU and OS support AMX-TILE and AMX-BF16 and Linux granted this process the
/// tile state (asked once, on the first call), else 0.
int ck_has_amx_bf16(void);

/// 1 when `ck_gemm_bf16` and `ck_conv_bf16` use AMX tiles: `ck_has_amx_bf16()`, and
/// `SPKDEBLUR_AMX=0` was not in the environment when first asked (then `vdpbf16ps` only:
/// the same operands, summed in another order).
int ck_amx_active(void);

/// `ck_gemm_bf16` on `vdpbf16ps` only, whatever the CPU's AMX. Needs `ck_has_avx512bf16()`.
void ck_gemm_bf16_avx512(int m, int n, int k, const float *a, int lda, const uint16_t *packed, float *c, int ldc,
                         const float *bias, int accumulate);

/// `ck_conv_bf16_into` on `vdpbf16ps` only. Needs `ck_has_avx512bf16()`.
int ck_conv_bf16_avx512_into(const uint16_t *x, int height, int width, int cin, int kernel, int stride, int padding,
                             const uint16_t *packed, int cout, float *out, int out_width, const float *bias,
                             int accumulate, int row_first, int row_count, int out_row_first);

/// `ck_gemm_bf16` on AMX tiles, whatever the row count. Needs `ck_has_amx_bf16()`.
void ck_gemm_bf16_amx(int m, int n, int k, const float *a, int lda, const uint16_t *packed, float *c, int ldc,
                      const float *bias, int accumulate);

/// `ck_conv_bf16_into` on AMX tiles (patches gathered into bf16 rows, 64 pixels at a time).
/// Needs `ck_has_amx_bf16()`; returns 0 without writing for unsupported shapes or out of memory.
int ck_conv_bf16_amx(const uint16_t *x, int height, int width, int cin, int kernel, int stride, int padding,
                     const uint16_t *packed, int cout, float *out, int out_width, const float *bias, int accumulate,
                     int row_first, int row_count, int out_row_first);

/// Converts `count` floats to bf16 (round to nearest even, as `ck_gemm_bf16` converts its
/// left operand). Needs `ck_has_avx512bf16()`.
void ck_f32_to_bf16(const float *x, uint16_t *y, size_t count);

/// `ck_conv_f32` in bf16: `x` is the `[height, width, cin]` image converted by
/// `ck_f32_to_bf16`, `packed` the `[kernel, kernel, cin, cout]` weight packed by
/// `ck_bf16_pack_b`; products of bf16 values summed in fp32. Needs `ck_has_avx512bf16()`.
/// Returns 0 without writing for an odd `cin`, kernels above 8x8 (or when out of memory).
int ck_conv_bf16(const uint16_t *x, int height, int width, int cin, int kernel, int stride, int padding,
                 const uint16_t *packed, int cout, float *out, int out_width, const float *bias, int accumulate,
                 int row_first, int row_count);
/// `ck_conv_bf16` writing output row `oy` at row `oy - out_row_first` of `out` (a buffer for
/// a band of rows).
int ck_conv_bf16_into(const uint16_t *x, int height, int width, int cin, int kernel, int stride, int padding,
                      const uint16_t *packed, int cout, float *out, int out_width, const float *bias, int accumulate,
                      int row_first, int row_count, int out_row_first);

/// Number of floats `ck_f32_pack_b` writes for a `k x n` right-hand matrix.
size_t ck_f32_packed_count(int k, int n);

/// Packs the right-hand GEMM operand into fp32 column panels of 48. `b` is `[k, n]`
/// row-major, or `[n, k]` when `transposed` is non-zero. Portable C.
void ck_f32_pack_b(const float *b, int k, int n, int transposed, float *packed);

/// `C[m, n] = A[m, k] * B (+ bias[n] when bias is non-null) (+ C when accumulate)` in fp32,
/// `A` read in place (row stride lda), `B` packed by `ck_f32_pack_b`. Single-threaded;
/// callers split the rows. Needs `ck_has_avx512f()`.
void ck_gemm_f32(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc,
                 const float *bias, int accumulate);

/// `dst[i] = src[i] / 255` in float32 (8-bit samples to [0, 1]). Any CPU.
void ck_u8_to_unit_f32(const uint8_t *src, float *dst, size_t n);

/// `src[i]` clamped to [0, 1] (NaN to 0), times 255 in float32, rounded half away from zero,
/// as 8-bit samples. Any CPU.
void ck_unit_f32_to_u8_half_away(const float *src, uint8_t *dst, size_t n);

/// The same rounded half to even. Any CPU.
void ck_unit_f32_to_u8_half_even(const float *src, uint8_t *dst, size_t n);

/// 1 when the CPU and OS support AVX-512F/DQ/BW/VL, else 0.
int ck_has_avx512f(void);

/// Swin window attention over 8x8 windows `first ..< first + count` (row-major window order)
/// of a `height x width` token grid rolled by `-shift`: `qkv` `[tokens, 3c]` (q, k, v), `out`
/// `[tokens, c]` gets softmax(scale q k^T + bias_mask) v per head at the original token rows.
/// `bias_mask` is `[4 kinds][heads][64][64]` (interior, last row, last column, corner
/// windows; only kind 0 is read when shift is 0). Needs `ck_has_avx512f()`.
/// Returns 0 without writing when the shape is unsupported (head size above 32).
int ck_window_attention_f32(const float *qkv, float *out, int height, int width, int c, int heads, int shift,
                            const float *bias_mask, float scale, int first, int count);

/// The attention of one 8x8 window whose 64 qkv rows were gathered into `rows`
/// (`[64, 3c]`, contiguous, followed by 16 readable floats): `out` `[64, c]` (with room for
/// 16 more floats, which may be overwritten) gets softmax(scale q k^T + bias_mask) v per
/// head, `bias_mask` `[heads][64][64]` (query rows, key columns) for this window's kind.
/// With `bias_mask_t`, the same transposed (key rows), heads of up to 16 channels take the
/// transposed small-head kernel. Needs `ck_has_avx512f()`. Returns 0 without writing when
/// the shape is unsupported (head size above 32).
int ck_window_attention_block_f32(const float *rows, float *out, int c, int heads, const float *bias_mask,
                                  const float *bias_mask_t, float scale);

/// `ck_window_attention_block_f32` for heads of up to 16 channels (32 on AMX tiles) with the transposed
/// mask `bias_mask_t` (`[heads][64 keys][64 queries]`), the products of q k^T and P v taken
/// on bf16-rounded operands (`vdpbf16ps`), summed in fp32; the softmax in fp32. Needs
/// `ck_has_avx512bf16()`. Returns 0 without writing when the shape is unsupported (head size
/// above 16, or above 32 where the products run on AMX tiles; or no `bias_mask_t`).
int ck_window_attention_block_bf16(const float *rows, float *out, int c, int heads, const float *bias_mask_t,
                                   float scale);

/// Exact-form GELU in place, `0.5 x (1 + erf(x / sqrt 2))` (erf to 1.5e-7). Needs
/// `ck_has_avx512f()`.
void ck_gelu_f32(float *x, size_t count);

/// Depthwise convolution (one `kernel x kernel` filter per channel, zero padding) of a
/// channels-last `[height, width, c]` map into `[out_height, out_width, c]`, output rows
/// `row_first ..< row_first + row_count` only. `weight` is `[kernel, kernel, c]` (taps
/// outermost), `bias` `[c]` or null. Single-threaded; callers split the rows. Needs
/// `ck_has_avx512f()`.
void ck_depthwise_conv_f32(const float *x, float *out, int height, int width, int c, int kernel, int stride,
                           int padding, const float *weight, const float *bias, int out_width, int row_first,
                           int row_count);

/// Dense 2-D convolution (zero padding) of a channels-last `[height, width, cin]` map into
/// `[*, out_width, cout]`, output rows `row_first ..< row_first + row_count` only:
/// `out = conv(x) (+ bias) (+ out when accumulate)`. `packed` is the
/// `[kernel, kernel, cin, cout]` weight packed by `ck_f32_pack_b` (k = kernel^2 cin,
/// n = cout). Single-threaded; callers split the rows. Needs `ck_has_avx512f()`. Returns 0
/// without writing for kernels above 8x8 (or when out of memory).
int ck_conv_f32(const float *x, int height, int width, int cin, int kernel, int stride, int padding,
                const float *packed, int cout, float *out, int out_width, const float *bias, int accumulate,
                int row_first, int row_count);
/// `ck_conv_f32` writing output row `oy` at row `oy - out_row_first` of `out` (a buffer for
/// a band of rows).
int ck_conv_f32_into(const float *x, int height, int width, int cin, int kernel, int stride, int padding,
                     const float *packed, int cout, float *out, int out_width, const float *bias, int accumulate,
                     int row_first, int row_count, int out_row_first);

/// A 3x3 convolution with stride 1 and padding 1 of a channels-last `[height, width, cin]`
/// map into `[height, width, cout]` by Winograd's F(2x2, 3x3), tile rows (pairs of output rows)
/// `tile_row_first ..< tile_row_first + tile_row_count` only: `out = conv(x) (+ bias) (+ out
/// when accumulate)`. `packed` holds the 16 transformed weights `U_xi = (G g G^T)[xi]`
/// (`[cin, cout]` each), each packed by `ck_f32_pack_b` (`ck_f32_packed_count(cin, cout)`
/// floats apart). The same sums as the direct convolution to fp32 rounding. Single-threaded;
/// callers split the tile rows. Needs `ck_has_avx512f()`. Returns 0 without writing when out
/// of memory or for empty shapes.
int ck_winograd_f32(const float *x, int height, int width, int cin, const float *packed, int cout, float *out,
                    const float *bias, int accumulate, int tile_row_first, int tile_row_count);

/// LayerNorm over the `c` channels of `rows` rows (biased variance): row `r` of `y`
/// (contiguous, `[rows, c]`) normalises row `index[r]` of `x` (`[*, c]`), or row `r` when
/// `index` is null. Needs `ck_has_avx512f()`. Returns 0 without writing for `c` above 128.
int ck_layer_norm_f32(const float *x, const int32_t *index, int rows, int c, const float *weight, const float *bias,
                      float epsilon, float *y);

/// Logistic sigmoid in place, `1 / (1 + exp(-x))`. Needs `ck_has_avx512f()`.
void ck_sigmoid_f32(float *x, size_t count);

/// The GEMM with one output column: `c[r * ldc] = dot(a[r * lda ..< + k], w) (+ bias[0])
/// (+ c[r * ldc] when accumulate)` for `rows` rows. Needs `ck_has_avx512f()`.
void ck_dot_rows_f32(int rows, int k, const float *a, int lda, const float *w, const float *bias, float *c, int ldc,
                     int accumulate);

/// Adds the per-channel sums of `pixels` rows of `c` floats to `sums` (fp32 partial sums of
/// 256 rows, accumulated in double). Portable C.
void ck_channel_sums(const float *x, size_t pixels, int c, double *sums);

/// `dst[j * ld_dst + i] = src[i * ld_src + j]` for `i < rows`, `j < cols`, in 16x16 blocks
/// transposed in registers. Needs `ck_has_avx512f()`.
void ck_transpose_f32(const float *src, size_t ld_src, float *dst, size_t ld_dst, size_t rows, size_t cols);

/// 1 when the CPU and OS support AVX2 and FMA (and the YMM state), else 0.
int ck_has_avx2_fma(void);

// The fp32 kernels above compiled for AVX2 and FMA (each 16-lane vector in two ymm
// registers, smaller tiles): the same arguments, results and return values as the function
// without the suffix. Need `ck_has_avx2_fma()`.
void ck_gemm_f32_avx2(int m, int n, int k, const float *a, int lda, const float *packed, float *c, int ldc,
                      const float *bias, int accumulate);
int ck_window_attention_f32_avx2(const float *qkv, float *out, int height, int width, int c, int heads, int shift,
                                 const float *bias_mask, float scale, int first, int count);
int ck_window_attention_block_f32_avx2(const float *rows, float *out, int c, int heads, const float *bias_mask,
                                       const float *bias_mask_t, float scale);
void ck_gelu_f32_avx2(float *x, size_t count);
void ck_sigmoid_f32_avx2(float *x, size_t count);
int ck_layer_norm_f32_avx2(const float *x, const int32_t *index, int rows, int c, const float *weight,
                           const float *bias, float epsilon, float *y);
void ck_dot_rows_f32_avx2(int rows, int k, const float *a, int lda, const float *w, const float *bias, float *c,
                          int ldc, int accumulate);
void ck_transpose_f32_avx2(const float *src, size_t ld_src, float *dst, size_t ld_dst, size_t rows, size_t cols);
void ck_depthwise_conv_f32_avx2(const float *x, float *out, int height, int width, int c, int kernel, int stride,
                                int padding, const float *weight, const float *bias, int out_width, int row_first,
                                int row_count);
int ck_conv_f32_avx2(const float *x, int height, int width, int cin, int kernel, int stride, int padding,
                     const float *packed, int cout, float *out, int out_width, const float *bias, int accumulate,
                     int row_first, int row_count);
int ck_conv_f32_into_avx2(const float *x, int height, int width, int cin, int kernel, int stride, int padding,
                          const float *packed, int cout, float *out, int out_width, const float *bias,
                          int accumulate, int row_first, int row_count, int out_row_first);
int ck_winograd_f32_avx2(const float *x, int height, int width, int cin, const float *packed, int cout, float *out,
                         const float *bias, int accumulate, int tile_row_first, int tile_row_count);

/// Rounds fp32 to bf16 (nearest even) and back: what `ck_gemm_bf16` sees of its inputs.
float ck_bf16_round(float x);

#ifdef __cplusplus
}
#endif

#endif
