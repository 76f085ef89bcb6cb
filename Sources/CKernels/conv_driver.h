// The implicit-im2col convolution driver, shared by the fp32 and bf16 kernels: for each
// output row and each run of MR output pixels it gathers, per kernel row (or per kernel tap at
// the image's edges), pointers to the input runs those pixels read, then calls the micro
// kernels panel by panel. The micro kernels differ by precision; this loop does not.
//
// Included once per precision, after the micro kernels conv_micro_1/2/3, with these defined:
//   CONV_DRIVER      the function's name (its last argument: output row oy is written at
//                    row oy - out_row_first of `out`)   CONV_ATTR    its target attribute
//   CONV_ELEM        input and packed element     CONV_OPERAND what an operand pointer points to
//   CONV_UNIT        input elements per operand (1 for fp32, 2 for bf16 pairs)
//   CONV_PANEL_WIDTH packed panel width           CONV_SEGMENTS most kernel taps (kernel^2)
//   CONV_PANEL_ROWS(patch) rows of a packed panel for a patch of that many values
// MR (rows per tile) comes from the including file.

CONV_ATTR int CONV_DRIVER(const CONV_ELEM *x, int height, int width, int cin, int kernel, int stride, int padding,
                          const CONV_ELEM *packed, int cout, float *out, int out_width, const float *bias,
                          int accumulate, int row_first, int row_count, int out_row_first) {
    if (kernel < 1 || kernel * kernel > CONV_SEGMENTS || cin < CONV_UNIT || cin % CONV_UNIT || cout < 1 ||
        stride < 1)
        return 0;
    CONV_OPERAND *zeros = (CONV_OPERAND *)calloc((size_t)cin / CONV_UNIT, sizeof(CONV_OPERAND));
    if (!zeros) return 0;
    const int patch = kernel * kernel * cin;
    const CONV_OPERAND *a[CONV_SEGMENTS * MR];
    int boff[CONV_SEGMENTS];  // in operands
    for (int oy = row_first; oy < row_first + row_count; oy++) {
        for (int ox0 = 0; ox0 < out_width; ox0 += MR) {
            const int rows = out_width - ox0 < MR ? out_width - ox0 : MR;
            const int first_x = ox0 * stride - padding;
            const int last_x = (ox0 + rows - 1) * stride - padding + kernel;  // one past
            const int interior = first_x >= 0 && last_x <= width;
            int segments = 0, len = (interior ? kernel * cin : cin) / CONV_UNIT;
            for (int ky = 0; ky < kernel; ky++) {
                const int iy = oy * stride - padding + ky;
                if (iy < 0 || iy >= height) continue;
                const CONV_ELEM *row = x + (size_t)iy * width * cin;
                if (interior) {
                    // One run per kernel row: the row's taps are contiguous in the input.
                    for (int r = 0; r < MR; r++) {
                        int ix = (ox0 + (r < rows ? r : rows - 1)) * stride - padding;
                        a[segments * MR + r] = (const CONV_OPERAND *)(row + (size_t)ix * cin);
                    }
                    boff[segments++] = ky * kernel * cin / CONV_UNIT;
                } else {
                    // At the edges, one run per tap, the zero run for taps outside the image.
                    for (int kx = 0; kx < kernel; kx++) {
                        for (int r = 0; r < MR; r++) {
                            int ix = (ox0 + (r < rows ? r : rows - 1)) * stride - padding + kx;
                            a[segments * MR + r] =
                                ix >= 0 && ix < width ? (const CONV_OPERAND *)(row + (size_t)ix * cin) : zeros;
                        }
                        boff[segments++] = (ky * kernel + kx) * cin / CONV_UNIT;
                    }
                }
            }
            float *dst = out + ((size_t)(oy - out_row_first) * out_width + ox0) * cout;
            const CONV_ELEM *panel = packed;
            for (int j0 = 0; j0 < cout; j0 += CONV_PANEL_WIDTH) {
                const int w = cout - j0 >= CONV_PANEL_WIDTH ? CONV_PANEL_WIDTH : (cout - j0 + 15) / 16 * 16;
                const int cols = cout - j0 < w ? cout - j0 : w;
                const float *bj = bias ? bias + j0 : NULL;
                if (segments == 0) {
                    ck_gemm_empty(rows, cols, dst + j0, cout, bj, accumulate);
                } else {
                    switch (w / 16) {
                    case 3: conv_micro_3(segments, a, len, boff, panel, dst + j0, cout, rows, cols, bj, accumulate); break;
                    case 2: conv_micro_2(segments, a, len, boff, panel, dst + j0, cout, rows, cols, bj, accumulate); break;
                    default: conv_micro_1(segments, a, len, boff, panel, dst + j0, cout, rows, cols, bj, accumulate); break;
                    }
                }
                panel += (size_t)CONV_PANEL_ROWS(patch) * w;
            }
        }
    }
    free(zeros);
    return 1;
}

#undef CONV_DRIVER
#undef CONV_ATTR
#undef CONV_ELEM
#undef CONV_OPERAND
#undef CONV_UNIT
#undef CONV_PANEL_WIDTH
#undef CONV_PANEL_ROWS
#undef CONV_SEGMENTS
