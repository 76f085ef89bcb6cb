// GELU, LayerNorm, sigmoid, one-column GEMM and transpose for AVX2 and FMA (avx2_wide.h).

#include "avx2_wide.h"

#define ck_gelu_f32 ck_gelu_f32_avx2
#define ck_layer_norm_f32 ck_layer_norm_f32_avx2
#define ck_sigmoid_f32 ck_sigmoid_f32_avx2
#define ck_dot_rows_f32 ck_dot_rows_f32_avx2
#define ck_transpose_f32 ck_transpose_f32_avx2

#include "elementwise.c"
