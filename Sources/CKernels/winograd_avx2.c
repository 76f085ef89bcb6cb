// Winograd F(2x2, 3x3) convolutions for AVX2 and FMA (avx2_wide.h), on the AVX2 GEMM.

#include "avx2_wide.h"

#define CK_F32_MR 2
#define ck_gemm_f32 ck_gemm_f32_avx2
#define ck_winograd_f32 ck_winograd_f32_avx2

#include "winograd.c"
