// ck_gemm_f32 for AVX2 and FMA (avx2_wide.h): tiles of 2 rows x 48 or 32 columns, or 6 x 16,
// 12 of the 16 ymm registers.

#include "avx2_wide.h"

#define CK_F32_MR 2
#define CK_F32_MR_16 6
#define CK_F32_MC 48  // whole tiles of 2 and 6 rows
#define ck_gemm_f32 ck_gemm_f32_avx2

#include "gemm_f32.c"
