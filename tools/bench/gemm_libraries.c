// GEMM library comparison on the products of one SpkDeblurNet forward pass at 500x800
// (28,672 tokens): OpenBLAS sgemm and oneDNN sgemm (both fp32), and the project's bf16
// kernel (Sources/CKernels/gemm_bf16.c, compiled in). Each library runs the way the CPU
// backend would call it: rows split over T POSIX threads with the library single-threaded
// ("split"), and, for comparison, one call with the library's own T threads ("own").
// Prints GFLOP/s, median of 5 repetitions per shape. Run through tools/bench/gemm-libraries.

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "CKernels.h"

void openblas_set_num_threads(int);

typedef struct {
    const char *name;
    int m, n, k, trans_b, count;  // count: how many such products one frame computes (0: variant)
} Shape;

static const Shape shapes[] = {
    {"D qkv linear 180->540", 28672, 540, 180, 1, 36},
    {"D proj linear 180->180", 28672, 180, 180, 1, 36},
    {"D fc1 linear 180->360", 28672, 360, 180, 1, 36},
    {"D fc2 linear 360->180", 28672, 180, 360, 1, 36},
    {"D fc2, weight as [in, out]", 28672, 180, 360, 0, 0},
    {"D conv3x3 (im2col) 1620->180", 28672, 180, 1620, 0, 6},
    {"S qkv linear 60->180", 28672, 180, 60, 1, 12},
};

enum { OPENBLAS, ONEDNN, BF16 };
static const char *lib_names[] = {"OpenBLAS sgemm", "oneDNN sgemm", "spkdeblur bf16"};

typedef struct {
    int lib, m, n, k, trans_b;
    const float *a, *b;
    const uint16_t *packed;
    float *c;
} Job;

static void run_gemm(const Job *j) {
    switch (j->lib) {
    case OPENBLAS:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans, j->m, j->n, j->k, 1.0f,
                    j->a, j->k, j->b, j->trans_b ? j->k : j->n, 0.0f, j->c, j->n);
        break;
    case ONEDNN:
        dnnl_sgemm('N', j->trans_b ? 'T' : 'N', j->m, j->n, j->k, 1.0f, j->a, j->k, j->b, j->trans_b ? j->k : j->n,
                   0.0f, j->c, j->n);
        break;
    case BF16:
        ck_gemm_bf16(j->m, j->n, j->k, j->a, j->k, j->packed, j->c, j->n, NULL, 0);
        break;
    }
}

static void *worker(void *p) {
    run_gemm((const Job *)p);
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

// Seconds for one product: median of `reps`. split: rows over `threads` pthreads with the
// library on one thread each; otherwise one call with the library's own threads.
static double time_gemm(int lib, int split, int threads, const Shape *s, const float *a, const float *b,
                        const uint16_t *packed, float *c) {
    enum { REPS = 5 };
    double t[REPS];
    for (int r = -1; r < REPS; r++) {  // r == -1: warm-up
        double t0 = now();
        if (split) {
            pthread_t tid[64];
            Job jobs[64];
            int rows = (s->m + threads - 1) / threads;
            for (int i = 0; i < threads; i++) {
                int lo = i * rows, hi = lo + rows < s->m ? lo + rows : s->m;
                jobs[i] = (Job){lib, hi - lo, s->n, s->k, s->trans_b, a + (size_t)lo * s->k, b, packed,
                                c + (size_t)lo * s->n};
                pthread_create(&tid[i], NULL, worker, &jobs[i]);
            }
            for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
        } else {
            Job j = {lib, s->m, s->n, s->k, s->trans_b, a, b, packed, c};
            run_gemm(&j);
        }
        if (r >= 0) t[r] = now() - t0;
    }
    qsort(t, REPS, sizeof t[0], cmp);
    return t[REPS / 2];
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (threads < 1 || threads > 64) threads = 2;
    int bf16 = ck_has_avx512bf16();
    printf("GEMMs of SpkDeblurNet at 500x800 (28672 tokens), %d threads, GFLOP/s (median of 5)\n", threads);
    printf("%-30s %-15s %8s %8s\n", "product", "library", "split", "own");
    double frame[3][2] = {{0}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const Shape *s = &shapes[i];
        float *a = malloc(sizeof(float) * (size_t)s->m * s->k), *b = malloc(sizeof(float) * (size_t)s->k * s->n);
        float *c = malloc(sizeof(float) * (size_t)s->m * s->n);
        srand(1);
        for (size_t x = 0; x < (size_t)s->m * s->k; x++) a[x] = (float)rand() / RAND_MAX - 0.5f;
        for (size_t x = 0; x < (size_t)s->k * s->n; x++) b[x] = (float)rand() / RAND_MAX - 0.5f;
        uint16_t *packed = malloc(sizeof(uint16_t) * ck_bf16_packed_count(s->k, s->n));
        ck_bf16_pack_b(b, s->k, s->n, s->trans_b, packed);
        double flop = 2.0 * s->m * s->n * s->k;
        for (int lib = 0; lib < 3; lib++) {
            if (lib == BF16 && !bf16) continue;
            double ts, to = 0;
            openblas_set_num_threads(1);
            omp_set_num_threads(1);
            ts = time_gemm(lib, 1, threads, s, a, b, packed, c);
            if (lib != BF16) {
                openblas_set_num_threads(threads);
                omp_set_num_threads(threads);
                to = time_gemm(lib, 0, threads, s, a, b, packed, c);
            }
            frame[lib][0] += ts * s->count;
            frame[lib][1] += to * s->count;
            if (lib == BF16)
                printf("%-30s %-15s %8.1f %8s\n", s->name, lib_names[lib], flop / ts / 1e9, "-");
            else
                printf("%-30s %-15s %8.1f %8.1f\n", s->name, lib_names[lib], flop / ts / 1e9, flop / to / 1e9);
        }
        free(a), free(b), free(c), free(packed);
    }
    printf("\nseconds per frame in these products (split / own threads):\n");
    for (int lib = 0; lib < 3; lib++) {
        if (lib == BF16 && !bf16) continue;
        if (lib == BF16)
            printf("  %-15s %6.3f / -\n", lib_names[lib], frame[lib][0]);
        else
            printf("  %-15s %6.3f / %6.3f\n", lib_names[lib], frame[lib][0], frame[lib][1]);
    }
    return 0;
}
