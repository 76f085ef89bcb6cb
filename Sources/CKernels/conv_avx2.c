// Depthwise and dense direct convolutions for AVX2 and FMA (avx2_wide.h): tiles of 2 output
// pixels x 48 channels.

#include "avx2_wide.h"

#define CK_F32_MR 2
#define ck_depthwise_conv_f32 ck_depthwise_conv_f32_avx2
#define ck_conv_f32 ck_conv_f32_avx2
#define ck_conv_f32_into ck_conv_f32_into_avx2

#include "conv.c"
