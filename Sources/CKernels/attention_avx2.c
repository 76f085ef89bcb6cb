// Window attention for AVX2 and FMA (avx2_wide.h): the small-head score loop takes one key
// at a time (4 pairs of accumulators), the larger heads' score loop one query and their P V
// loop two rows, so each tile fits the 16 ymm registers.

#include "avx2_wide.h"

#define CK_ATTENTION_KEYS 1
#define CK_ATTENTION_QUERIES 1
#define CK_ATTENTION_PV_ROWS 2
#define ck_window_attention_f32 ck_window_attention_f32_avx2
#define ck_window_attention_block_f32 ck_window_attention_block_f32_avx2

#include "attention.c"
