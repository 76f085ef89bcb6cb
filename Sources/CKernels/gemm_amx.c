// bf16 products on AMX tiles (Intel Sapphire Rapids and later): the same operands, packing
// and results as gemm_bf16.c, with the sums done by `tdpbf16ps` (16 rows x 16 columns x 32
// inner values per instruction) instead of `vdpbf16ps` (16 columns x 2 inner values).
//
// The packed right operand of ck_bf16_pack_b is already the tile layout: within a panel of
// width w, the pair of rows (k, k+1) of column j sits in one 32-bit word, and pair rows follow
// each other every 4w bytes, so 16 pair rows x 16 columns load as one tile with stride 4w.
// Panels are zero padded to a multiple of 32 inner values, so every tile is whole.
// The left operand is converted (GEMM) or gathered (convolution) into bf16 rows of that
// padded length, 16 rows per tile.
//
// Tiles: all eight 16 rows x 64 bytes (see amx_rows); the configuration is loaded once per
// thread.

#include "CKernels.h"
#include "gemm_tile.h"

#include "simd_common.h"
#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CK_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

enum { PANEL = 48, ROWS = 16, BLOCK_ROWS = 64 };


// 0: not probed yet, 1: usable, 2: not usable.
static _Atomic int amx_state = 0;
static _Thread_local int thread_configured = 0;

static int probe_amx(void) {
    if (!ck_has_avx512bf16()) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!((d >> 22) & 1) || !((d >> 24) & 1)) return 0;  // AMX-BF16, AMX-TILE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0;  // XTILECFG and XTILEDATA state enabled
    // Linux hands out the 8 KiB tile state only to processes that ask for it.
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

int ck_has_amx_bf16(void) {
    int s = atomic_load_explicit(&amx_state, memory_order_acquire);
    if (s == 0) {
        s = probe_amx() ? 1 : 2;
        atomic_store_explicit(&amx_state, s, memory_order_release);
    }
    return s == 1;
}

int ck_amx_active(void) {
    static _Atomic int active = 0;  // 0: not decided, 1: yes, 2: no
    int s = atomic_load_explicit(&active, memory_order_acquire);
    if (s == 0) {
        const char *env = getenv("SPKDEBLUR_AMX");
        s = ck_has_amx_bf16() && !(env && env[0] == '0') ? 1 : 2;
        atomic_store_explicit(&active, s, memory_order_release);
    }
    return s == 1;
}

typedef struct {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

CK_AMX void ck_amx_configure_thread(void) {
    if (thread_configured) return;
    if (!ck_has_amx_bf16()) abort();  // a caller skipped the check: no tile state to use
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = ROWS;
    }
    _tile_loadconfig(&cfg);
    thread_configured = 1;
}

// Without accumulation the sums start from the bias (a tile load with row stride 0). With
// it, the bias enters the sums as one more product: a left tile whose rows start 1, 1, 1 (the
// rest zero) times a right tile whose first pair rows hold each bias value split into three
// bf16 parts, hi + mid + lo == the fp32 value (8 significant bits each).
static const uint16_t ones_tile[16 * 32] __attribute__((aligned(64))) = {
#define ONES_ROW 0x3F80, 0x3F80, 0x3F80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW,
    ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW, ONES_ROW,
#undef ONES_ROW
};

static inline uint16_t bf16_truncate(float x, float *rest) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t hi = u & 0xFFFF0000u;
    float h;
    memcpy(&h, &hi, 4);
    *rest = x - h;  // exact: the low 16 bits of x
    return (uint16_t)(hi >> 16);
}

// The right tile of the bias of `cols` columns (up to 16): [pair row][column][2].
static void bias_tile(const float *bias, int cols, uint16_t *tile) {
    memset(tile, 0, 16 * 32 * sizeof(uint16_t));
    for (int j = 0; j < cols; j++) {
        float r1, r2, r3;
        tile[2 * j] = bf16_truncate(bias[j], &r1);       // pair row 0: k = 0, 1
        tile[2 * j + 1] = bf16_truncate(r1, &r2);
        tile[32 + 2 * j] = bf16_truncate(r2, &r3);       // pair row 1: k = 2
    }
}

// A 16 x 16 block of C that is not whole (rows or columns past the end): through `scratch`.
CK_AMX static void copy_in(float *scratch, const float *c, int ldc, int rows, int cols) {
    __mmask16 m = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    for (int r = 0; r < 16; r++)
        _mm512_store_ps(scratch + r * 16, r < rows ? _mm512_maskz_loadu_ps(m, c + (size_t)r * ldc) : _mm512_setzero_ps());
}

CK_AMX static void copy_out(const float *scratch, float *c, int ldc, int rows, int cols) {
    __mmask16 m = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc, m, _mm512_load_ps(scratch + r * 16));
}

// Sums tile CI holds row block R (0, 1) x column tile T (0, 1) of the current 32 x 32 block.
#define VALID_ROWS(R) (m - i0 - 16 * (R) < 16 ? m - i0 - 16 * (R) : 16)
#define VALID_COLS(T) (n - 16 * (t0 + (T)) < 16 ? n - 16 * (t0 + (T)) : 16)
#define SUMS_BEGIN(CI, R, T)                                                                               \
    if (R < nr && T < nt) {                                                                                \
        float *ct = c + (size_t)(i0 + 16 * (R)) * ldc + 16 * (t0 + (T));                                   \
        const int rows = VALID_ROWS(R), cols = VALID_COLS(T);                                              \
        if (!accumulate) {                                                                                 \
            if (bias) _tile_loadd(CI, bias_rows[T], 0); /* every row the bias */                           \
            else _tile_zero(CI);                                                                           \
        } else if (rows == 16 && cols == 16) {                                                             \
            _tile_loadd(CI, ct, (size_t)ldc * 4);                                                          \
        } else {                                                                                           \
            copy_in(scratch[CI], ct, ldc, rows, cols);                                                     \
            _tile_loadd(CI, scratch[CI], 64);                                                              \
        }                                                                                                  \
    }
#define SUMS_END(CI, R, T)                                                                                 \
    if (R < nr && T < nt) {                                                                                \
        float *ct = c + (size_t)(i0 + 16 * (R)) * ldc + 16 * (t0 + (T));                                   \
        const int rows = VALID_ROWS(R), cols = VALID_COLS(T);                                              \
        if (rows == 16 && cols == 16) {                                                                    \
            _tile_stored(CI, ct, (size_t)ldc * 4);                                                         \
        } else {                                                                                           \
            _tile_stored(CI, scratch[CI], 64);                                                             \
            copy_out(scratch[CI], ct, ldc, rows, cols);                                                    \
        }                                                                                                  \
    }

// C[m, n] (+)= A[m, kp] B (+ bias): `a` holds bf16 rows of kp (a multiple of 32) values at
// stride lda elements, readable for m rounded up to 16 rows (rows past m only feed sums that
// are not stored). Blocks of 32 rows x 32 columns: tiles 0-3 the sums, 4-5 two row blocks of
// A, 6-7 two column tiles of B (16 columns each, wherever they sit in the 48-wide panels).
CK_AMX static void amx_rows(int m, int n, int kp, const uint16_t *a, int lda, const uint16_t *packed, float *c,
                             int ldc, const float *bias, int accumulate) {
    ck_amx_configure_thread();
    float scratch[4][16 * 16] __attribute__((aligned(64)));
    uint16_t btiles[2][16 * 32] __attribute__((aligned(64)));
    float tails[2][16] __attribute__((aligned(64)));
    const float *bias_rows[2] = {NULL, NULL};
    const int chunks = kp / 32, col_tiles = (n + 15) / 16;
    for (int t0 = 0; t0 < col_tiles; t0 += 2) {
        const int nt = col_tiles - t0 < 2 ? col_tiles - t0 : 2;
        const uint16_t *b[2] = {NULL, NULL};
        size_t bstride[2] = {0, 0};
        for (int t = 0; t < nt; t++) {
            const int tile = t0 + t, p = tile / 3, j0 = 48 * p;
            const int w = n - j0 >= PANEL ? PANEL : (n - j0 + 15) / 16 * 16;
            b[t] = packed + (size_t)p * kp * PANEL + (tile % 3) * 32;
            bstride[t] = (size_t)w * 4;
            const int cols = n - 16 * tile < 16 ? n - 16 * tile : 16;
            if (bias && accumulate) bias_tile(bias + 16 * tile, cols, btiles[t]);
            if (bias && !accumulate) {
                if (cols == 16) {
                    bias_rows[t] = bias + 16 * tile;
                } else {
                    memset(tails[t], 0, sizeof tails[t]);
                    memcpy(tails[t], bias + 16 * tile, (size_t)cols * sizeof(float));
                    bias_rows[t] = tails[t];
                }
            }
        }
        for (int i0 = 0; i0 < m; i0 += 32) {
            const int nr = m - i0 > 16 ? 2 : 1;
            const uint16_t *a0 = a + (size_t)i0 * lda, *a1 = a0 + (size_t)16 * lda;
            SUMS_BEGIN(0, 0, 0)
            SUMS_BEGIN(1, 0, 1)
            SUMS_BEGIN(2, 1, 0)
            SUMS_BEGIN(3, 1, 1)
            if (bias && accumulate) {
                _tile_loadd(4, ones_tile, 64);
                _tile_loadd(6, btiles[0], 64);
                _tile_dpbf16ps(0, 4, 6);
                if (nr > 1) _tile_dpbf16ps(2, 4, 6);
                if (nt > 1) {
                    _tile_loadd(7, btiles[1], 64);
                    _tile_dpbf16ps(1, 4, 7);
                    if (nr > 1) _tile_dpbf16ps(3, 4, 7);
                }
            }
            for (int q = 0; q < chunks; q++) {
                _tile_loadd(4, a0 + q * 32, (size_t)lda * 2);
                _tile_loadd(6, b[0] + (size_t)q * 16 * (bstride[0] / 2), bstride[0]);
                _tile_dpbf16ps(0, 4, 6);
                if (nt > 1) {
                    _tile_loadd(7, b[1] + (size_t)q * 16 * (bstride[1] / 2), bstride[1]);
                    _tile_dpbf16ps(1, 4, 7);
                }
                if (nr > 1) {
                    _tile_loadd(5, a1 + q * 32, (size_t)lda * 2);
                    _tile_dpbf16ps(2, 5, 6);
                    if (nt > 1) _tile_dpbf16ps(3, 5, 7);
                }
            }
            SUMS_END(0, 0, 0)
            SUMS_END(1, 0, 1)
            SUMS_END(2, 1, 0)
            SUMS_END(3, 1, 1)
        }
    }
}

// Rows of k floats (stride lda) to bf16 rows of kp values, zero padded.
CK_AMX static void convert_rows_padded(const float *a, int lda, int rows, int k, int kp, uint16_t *dst) {
    for (int r = 0; r < rows; r++) {
        const float *src = a + (size_t)r * lda;
        uint16_t *d = dst + (size_t)r * kp;
        for (int i = 0; i < kp; i += 32) {
            int left = k - i;
            __mmask16 mlo = (__mmask16)(left >= 16 ? 0xFFFF : left <= 0 ? 0 : ((1u << left) - 1));
            __mmask16 mhi = (__mmask16)(left >= 32 ? 0xFFFF : left <= 16 ? 0 : ((1u << (left - 16)) - 1));
            __m512 lo = _mm512_maskz_loadu_ps(mlo, src + i), hi = _mm512_maskz_loadu_ps(mhi, src + i + 16);
            _mm512_storeu_si512((void *)(d + i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

CK_AMX void ck_gemm_bf16_amx(int m, int n, int k, const float *a, int lda, const uint16_t *packed, float *c,
                             int ldc, const float *bias, int accumulate) {
    const int kp = ck_pad32(k);
    uint16_t stack_buf[BLOCK_ROWS * 256] __attribute__((aligned(64)));
    uint16_t *buf = kp <= 256 ? stack_buf : (uint16_t *)aligned_alloc(64, (size_t)BLOCK_ROWS * kp * 2);
    if (!buf) abort();  // out of memory: as a failed allocation anywhere else
    for (int i0 = 0; i0 < m; i0 += BLOCK_ROWS) {
        int mc = m - i0 < BLOCK_ROWS ? m - i0 : BLOCK_ROWS;
        convert_rows_padded(a + (size_t)i0 * lda, lda, mc, k, kp, buf);
        amx_rows(mc, n, kp, buf, kp, packed, c + (size_t)i0 * ldc, ldc, bias, accumulate);
    }
    if (buf != stack_buf) free(buf);
}

// Copies `count` bf16 values (count <= 32 per step) with whole and masked vectors.
CK_AMX static inline void copy_bf16(uint16_t *dst, const uint16_t *src, int count) {
    int i = 0;
    for (; i + 32 <= count; i += 32) _mm512_storeu_si512((void *)(dst + i), _mm512_loadu_si512((const void *)(src + i)));
    if (i < count) {
        __mmask32 mk = (__mmask32)((1ull << (count - i)) - 1);
        _mm512_mask_storeu_epi16((void *)(dst + i), mk, _mm512_maskz_loadu_epi16(mk, (const void *)(src + i)));
    }
}

CK_AMX static inline void zero_bf16(uint16_t *dst, int count) {
    int i = 0;
    for (; i + 32 <= count; i += 32) _mm512_storeu_si512((void *)(dst + i), _mm512_setzero_si512());
    if (i < count) _mm512_mask_storeu_epi16((void *)(dst + i), (__mmask32)((1ull << (count - i)) - 1), _mm512_setzero_si512());
}

CK_AMX int ck_conv_bf16_amx(const uint16_t *x, int height, int width, int cin, int kernel, int stride, int padding,
                            const uint16_t *packed, int cout, float *out, int out_width, const float *bias,
                            int accumulate, int row_first, int row_count, int out_row_first) {
    if (kernel < 1 || kernel > 8 || cin < 2 || cin % 2 || cout < 1 || stride < 1) return 0;
    const int patch = kernel * kernel * cin, kp = ck_pad32(patch);
    uint16_t *buf = (uint16_t *)aligned_alloc(64, (size_t)BLOCK_ROWS * kp * 2);
    if (!buf) return 0;
    for (int oy = row_first; oy < row_first + row_count; oy++) {
        for (int ox0 = 0; ox0 < out_width; ox0 += BLOCK_ROWS) {
            const int rows = out_width - ox0 < BLOCK_ROWS ? out_width - ox0 : BLOCK_ROWS;
            // The patches of `rows` output pixels, one bf16 row each: [ky][kx][cin], then zeros.
            for (int r = 0; r < rows; r++) {
                uint16_t *d = buf + (size_t)r * kp;
                const int ix0 = (ox0 + r) * stride - padding;
                const int interior = ix0 >= 0 && ix0 + kernel <= width;
                for (int ky = 0; ky < kernel; ky++) {
                    uint16_t *dk = d + ky * kernel * cin;
                    const int iy = oy * stride - padding + ky;
                    if (iy < 0 || iy >= height) {
                        zero_bf16(dk, kernel * cin);
                        continue;
                    }
                    const uint16_t *row = x + (size_t)iy * width * cin;
                    if (interior) {
                        copy_bf16(dk, row + (size_t)ix0 * cin, kernel * cin);
                    } else {
                        for (int kx = 0; kx < kernel; kx++) {
                            const int ix = ix0 + kx;
                            if (ix >= 0 && ix < width) copy_bf16(dk + kx * cin, row + (size_t)ix * cin, cin);
                            else zero_bf16(dk + kx * cin, cin);
                        }
                    }
                }
                zero_bf16(d + patch, kp - patch);
            }
            float *dst = out + ((size_t)(oy - out_row_first) * out_width + ox0) * cout;
            amx_rows(rows, cout, kp, buf, kp, packed, dst, cout, bias, accumulate);
        }
    }
    free(buf);
    return 1;
}
