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
/// by `vdpbf16ps`. Single-threaded; callers split the rows. Needs `ck_has_avx512bf16()`.
void ck_gemm_bf16(int m, int n, int k, const float *a, int lda, const uint16_t *packed, float *c, int ldc,
                  const float *bias, int accumulate);

/// Rounds fp32 to bf16 (nearest even) and back: what `ck_gemm_bf16` sees of its inputs.
float ck_bf16_round(float x);

#ifdef __cplusplus
}
#endif

#endif
