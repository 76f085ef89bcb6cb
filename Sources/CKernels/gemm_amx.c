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
// Tiles: 0-2 the sums of a 16 x 48 block, 3 the left operand, 4-6 the right operand. The
// configuration is loaded once per thread.

#include "CKernels.h"

#include "simd_common.h"
#include <immintrin.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CK_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

enum { PANEL = 48, ROWS = 16, BLOCK_ROWS = 64 };

static inline int pad32(int k) { return (k + 31) & ~31; }

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

CK_AMX static void configure_thread(void) {
    if (thread_configured) return;
    if (!ck_has_amx_bf16()) abort();  // a caller skipped the check: no tile state to use
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 7; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = ROWS;
    }
    _tile_loadconfig(&cfg);
    thread_configured = 1;
}

// The bias enters the sums as one more product: a left tile whose rows start 1, 1, 1 (the
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

// The right tiles of the bias of `cols` columns (up to 48): [tile][pair row][column][2].
static void bias_tiles(const float *bias, int cols, uint16_t *tiles) {
    memset(tiles, 0, 3 * 16 * 32 * sizeof(uint16_t));
    for (int j = 0; j < cols; j++) {
        float r1, r2, r3;
        uint16_t hi = bf16_truncate(bias[j], &r1);
        uint16_t mid = bf16_truncate(r1, &r2);
        uint16_t lo = bf16_truncate(r2, &r3);
        uint16_t *t = tiles + (j / 16) * 16 * 32 + (j % 16) * 2;
        t[0] = hi;       // pair row 0: k = 0, 1
        t[1] = mid;
        t[32] = lo;      // pair row 1: k = 2
    }
}

// A 16 x 16 block of C that is not whole (rows or columns past the end): through `scratch`.
CK_AMX static void copy_in(float *scratch, const float *c, int ldc, int rows, int cols, int accumulate) {
    __mmask16 m = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    for (int r = 0; r < 16; r++)
        _mm512_store_ps(scratch + r * 16,
                        accumulate && r < rows ? _mm512_maskz_loadu_ps(m, c + (size_t)r * ldc) : _mm512_setzero_ps());
}

CK_AMX static void copy_out(const float *scratch, float *c, int ldc, int rows, int cols) {
    __mmask16 m = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc, m, _mm512_load_ps(scratch + r * 16));
}

#define TILE_BEGIN(T)                                                                                      \
    if (tiles > T) {                                                                                       \
        float *ct = ci + 16 * T;                                                                           \
        int valid = cols - 16 * T;                                                                         \
        if (rows == 16 && valid >= 16) {                                                                   \
            if (accumulate) _tile_loadd(T, ct, (size_t)ldc * 4);                                           \
            else _tile_zero(T);                                                                            \
        } else {                                                                                           \
            copy_in(scratch[T], ct, ldc, rows, valid, accumulate);                                         \
            _tile_loadd(T, scratch[T], 64);                                                                \
        }                                                                                                  \
    }

#define TILE_END(T)                                                                                        \
    if (tiles > T) {                                                                                       \
        float *ct = ci + 16 * T;                                                                           \
        int valid = cols - 16 * T;                                                                         \
        if (rows == 16 && valid >= 16) {                                                                   \
            _tile_stored(T, ct, (size_t)ldc * 4);                                                          \
        } else {                                                                                           \
            _tile_stored(T, scratch[T], 64);                                                               \
            copy_out(scratch[T], ct, ldc, rows, valid);                                                    \
        }                                                                                                  \
    }

// C[m, n] (+)= A[m, kp] B (+ bias): `a` holds bf16 rows of kp (a multiple of 32) values at
// stride lda elements, readable for m rounded up to 16 rows (rows past m only feed sums that
// are not stored).
CK_AMX static void amx_rows(int m, int n, int kp, const uint16_t *a, int lda, const uint16_t *packed, float *c,
                             int ldc, const float *bias, int accumulate) {
    configure_thread();
    float scratch[3][16 * 16] __attribute__((aligned(64)));
    uint16_t btiles[3 * 16 * 32] __attribute__((aligned(64)));
    const uint16_t *panel = packed;
    const int chunks = kp / 32;
    for (int j0 = 0; j0 < n; j0 += PANEL) {
        const int w = n - j0 >= PANEL ? PANEL : (n - j0 + 15) / 16 * 16;
        const int cols = n - j0 < w ? n - j0 : w;
        const int tiles = w / 16;
        const size_t bstride = (size_t)w * 4;
        if (bias) bias_tiles(bias + j0, cols, btiles);
        for (int i0 = 0; i0 < m; i0 += ROWS) {
            const uint16_t *ai = a + (size_t)i0 * lda;
            const int rows = m - i0 < ROWS ? m - i0 : ROWS;
            float *ci = c + (size_t)i0 * ldc + j0;
            TILE_BEGIN(0)
            TILE_BEGIN(1)
            TILE_BEGIN(2)
            if (bias) {
                _tile_loadd(3, ones_tile, 64);
                _tile_loadd(4, btiles, 64);
                _tile_dpbf16ps(0, 3, 4);
                if (tiles > 1) {
                    _tile_loadd(5, btiles + 512, 64);
                    _tile_dpbf16ps(1, 3, 5);
                }
                if (tiles > 2) {
                    _tile_loadd(6, btiles + 1024, 64);
                    _tile_dpbf16ps(2, 3, 6);
                }
            }
            for (int q = 0; q < chunks; q++) {
                const uint16_t *bq = panel + (size_t)q * 16 * 2 * w;
                _tile_loadd(3, ai + q * 32, (size_t)lda * 2);
                _tile_loadd(4, bq, bstride);
                _tile_dpbf16ps(0, 3, 4);
                if (tiles > 1) {
                    _tile_loadd(5, bq + 32, bstride);
                    _tile_dpbf16ps(1, 3, 5);
                }
                if (tiles > 2) {
                    _tile_loadd(6, bq + 64, bstride);
                    _tile_dpbf16ps(2, 3, 6);
                }
            }
            TILE_END(0)
            TILE_END(1)
            TILE_END(2)
        }
        panel += (size_t)kp * w;
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
    const int kp = pad32(k);
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
    const int patch = kernel * kernel * cin, kp = pad32(patch);
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
