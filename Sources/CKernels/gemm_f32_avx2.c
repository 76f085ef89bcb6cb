// ck_gemm_f32 for AVX2 and FMA (avx2_wide.h): tiles of 2 rows x 48 columns, 12 of the 16 ymm
// registers.

#include "avx2_wide.h"

#define CK_F32_MR 2
#define ck_gemm_f32 ck_gemm_f32_avx2

#include "gemm_f32.c"
