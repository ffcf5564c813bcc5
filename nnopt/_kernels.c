/* The two products with X that dominate an evaluation, as register-blocked
 * kernels on all cores.
 *
 *     forward:   a^(2) = g(X Θ^(1)[:, 1:]ᵀ + Θ^(1)[:, 0])   (m×s2), or z^(2)
 *     backward:  Δ^(1) = δ^(2) [1, X]                        (s2×(n+1))
 *
 * OpenBLAS packs X into its own layout before every product, and with a
 * hidden layer of a few dozen units that copy costs about as much as the
 * arithmetic (each element of X is used only s2 times). These kernels read
 * X in place: the forward one as broadcast scalars along each row, the
 * backward one as whole vectors of each row, with the s2 (or 6-by-vector)
 * accumulators in registers. See benchmarks/README.md for the figures.
 *
 *     network:   for one hidden layer, the whole evaluation: per chunk of
 *                rows, forward's a^(2), then the output layer, the cost,
 *                δ^(3), Δ^(2) and δ^(2) (output_range, _kernels_tile.h), then
 *                the chunk's part of Δ^(1), while the chunk is in cache
 *
 * In numpy each step of the output layer is a pass over the m×(s2 + K)
 * activations or a small product that BLAS does badly; together they cost
 * about as much as one of the products with X. In one pass X is also read
 * from memory once rather than twice.
 *
 * No numpy C API: the arrays arrive as buffers with their sizes, checked
 * against those sizes here; nnopt/_accel.py is the only caller. Each call
 * splits its work between `threads` POSIX threads with the GIL released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A busy-wait's step: tells the core (and a hypervisor) that this thread spins */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#define MAX_R 12         /* rows of a tile */
#define MAX_NV 4         /* vectors of a tile */
/* rows of a full tile of NV vectors: at most 24 accumulators, of the 32
 * vector registers of AVX-512 */
#define R_NV(NV) ((NV) == 4 ? 6 : (NV) == 3 ? 8 : 12)
#define PREFETCH 4      /* cache lines ahead, in the forward product (_kernels_tile.h) */
#define ROW_BLOCK 32     /* rows of X per backward block (see _kernels_tile.h) */
#define MAX_HIDDEN 1024  /* s2 at most: the bias sums live on the stack */

/* On x86-64 GCC and Clang build each kernel for AVX-512, AVX2 and the
 * baseline, and pick one when the module loads; the 64-byte vectors below
 * become one zmm, two ymm or four xmm registers. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(NNOPT_NO_CLONES)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

typedef double vf64 __attribute__((vector_size(64), aligned(8)));
typedef long long vi64 __attribute__((vector_size(64)));
typedef float vf32 __attribute__((vector_size(64), aligned(4)));
typedef int vi32 __attribute__((vector_size(64)));
typedef double vd16 __attribute__((vector_size(128), aligned(8)));   /* a vf32 in double */

/* ---- e^(−|z|), for the sigmoid (_kernels_tile.h) and the output layer's cost ----
 *
 * g(z) = 1/(1 + e^(−|z|)) for z ≥ 0 and e^(−|z|)/(1 + e^(−|z|)) for z < 0,
 * so that e^x is only needed for x ≤ 0, where it cannot overflow. e^x is
 * 2^k·e^r with k = round(x/ln 2) and r = x − k·ln 2 (ln 2 in two parts, so
 * that k·ln2_hi is exact), |r| ≤ ln2/2, and e^r a Taylor polynomial whose
 * truncation error is below the precision's rounding (degree 13 in double:
 * 0.347^14/14! ≈ 4e-18; degree 7 in float: 5e-9). 2^k is built in the
 * exponent bits; below e^-708 (e^-87 in float) the result is taken as 0, an
 * absolute error under 1e-307. NaN stays NaN. Lanes whose z is NaN or ±inf
 * are flagged in *bad (g would hide an overflow of X Θᵀ). */

/* e^(−a) for a = |z| (no sign bit), flagging NaN and ±inf in *bad */
static inline __attribute__((always_inline)) vf64
exp_neg_f64(vf64 a, vi64 *bad)
{
    const vf64 zero = {0};
    *bad |= ~(a <= 1.7976931348623157e308);
    vf64 x = -a;
    vi64 tiny = x < -708.0;
    x = (vf64)(((vi64)x & ~tiny) | ((vi64)(zero - 708.0) & tiny));
    /* round(x/ln 2) by the 1.5·2^52 shift: its low mantissa bits are k */
    vf64 kd = x * 1.4426950408889634 + 0x1.8p52;
    vi64 k = (vi64)kd - (vi64)(zero + 0x1.8p52);
    kd -= 0x1.8p52;
    vf64 r = (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
    vf64 p = zero + 1.0 / 6227020800.0;   /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    vf64 e = p * (vf64)((k + 1023) << 52);
    return (vf64)((vi64)e & ~tiny);
}

static inline __attribute__((always_inline)) vf32
exp_neg_f32(vf32 a, vi32 *bad)
{
    const vf32 zero = {0};
    *bad |= ~(a <= 3.40282347e38f);
    vf32 x = -a;
    vi32 tiny = x < -87.0f;
    x = (vf32)(((vi32)x & ~tiny) | ((vi32)(zero - 87.0f) & tiny));
    vf32 kd = x * 1.44269504f + 0x1.8p23f;
    vi32 k = (vi32)kd - (vi32)(zero + 0x1.8p23f);
    kd -= 0x1.8p23f;
    vf32 r = (x - kd * 0.693145751953125f) - kd * 1.428606765330187045e-06f;
    vf32 p = zero + 1.0f / 5040.0f;       /* 1/7! */
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    vf32 e = p * (vf32)((k + 127) << 23);
    return (vf32)((vi32)e & ~tiny);
}

/* 8 floats: all_finite_f32 (_kernels_tile.h) rounds 8 doubles to these */
typedef float vf32x8 __attribute__((vector_size(32)));

#define T double
#define V vf64
#define VI vi64
#define VL 8
#define VD vf64
#define V8 vf64
#define LOG1P_TERMS 17
#define ABS_MASK 0x7fffffffffffffffLL
#define SFX f64
#include "_kernels_tile.h"
#undef T
#undef V
#undef VI
#undef VL
#undef VD
#undef V8
#undef LOG1P_TERMS
#undef ABS_MASK
#undef SFX

#define T float
#define V vf32
#define VI vi32
#define VL 16
#define VD vd16
#define V8 vf32x8
#define LOG1P_TERMS 8
#define ABS_MASK 0x7fffffff
#define SFX f32
#include "_kernels_tile.h"
#undef T
#undef V
#undef VI
#undef VL
#undef VD
#undef V8
#undef LOG1P_TERMS
#undef ABS_MASK
#undef SFX

/* ---- the work of the threads ------------------------------------------- */

/* Threads take work from a shared counter rather than a fixed half each, so
 * that a core shared with another busy thread (another process, or an
 * OpenBLAS thread spinning after its last product) slows the call by the
 * work it loses, not by double.
 *
 * Forward: chunks of CHUNK rows of Z, each written by whoever takes it.
 * Backward: the rows of X in GROUPS fixed groups; each group is summed by
 * one thread into a Δ of its own, and the groups' Δ are added in group
 * order at the end. The sums are thus the same, bit for bit, whichever
 * thread took which group and however many threads there were: a training
 * run repeats exactly. The groups shrink from first to last (group_start),
 * so that the threads finish close together. */
#define CHUNK 192        /* a multiple of every tile height */
#define GROUPS 8
#define BLOCKS 4         /* blocks of rows of Δ^(1) in the last sum (reduce_blocks) */
#define SAMPLE 64        /* values of X in the fingerprint (_sample in nnopt/backprop.py) */

enum { FORWARD, BACKWARD, NETWORK };

typedef struct {
    int kind, f32;
    const void *X, *W;   /* W: Wt for forward and network, D for backward */
    void *out;           /* Z, or G (group 0's Δ: for network G1 in float64, else a float buffer) */
    /* backward: the Δ of groups 1.., s2×(n+1) each; network: see
     * network_costs below */
    void *partial;
    void *group_deltas;  /* where in `partial` the Δ of groups 1.. start */
    Py_ssize_t m, n, s2, S, ldg, groups;
    int activate;        /* forward: write g(z) */
    /* network: the output layer, as output_range (_kernels_tile.h) takes it */
    const void *W2t, *W2d, *Y;
    const double *T1, *T2;   /* Θ^(1) (s2×(n+1)) and Θ^(2) (K×(s2+1)), as given */
    double *G1, *G2;     /* network, out: the gradients, s2×(n+1) and K×(s2+1) */
    Py_ssize_t K, S3;
    int squared;
    double scale;
    double lam_m;        /* network: λ/m */
    double cost, reg;    /* network, out: the summed cost, Σ Θ² off the bias columns */
    atomic_int bad;      /* some z^(2) was not finite (forward with activate, network) */
    int weights_finite;  /* network, out: every weight in Θ^(1), Θ^(2) is finite */
    atomic_int ready;    /* network: the weights are laid out (the other threads wait for it) */
    double *keep;        /* network, out: θ, then SAMPLE values of X (network_keep) */
    atomic_int kept;     /* network_keep was taken by a thread */
    atomic_int slot;     /* network: the scratch the next thread takes */
    atomic_int done[GROUPS];  /* backward, network: group g's Δ is complete */
    atomic_int reducer;  /* taken by the first thread left without a group */
    Py_ssize_t reduced;  /* groups 1..reduced−1 already added into group 0's Δ */
    atomic_int reduced_set;   /* `reduced` is final */
    atomic_int block;    /* the next block of rows of the last sum */
    double squares[BLOCKS];   /* network: Σ Θ^(1)² of each block's rows */
    atomic_ptrdiff_t *next;   /* the first row not taken; backward: the first group */
} Work;

/* The first of `units` (rows, or chunks of rows) in group g, 0 ≤ g ≤ groups.
 * Each group has one unit, and the units beyond those are shared out in
 * shares that fall linearly from the first group to the last: threads take
 * the groups in order, so the last ones taken are small, and a thread
 * finishes at most a small group after the other (with equal groups of 3
 * or 4 chunks, 3 chunks of 27 apart, an eighth of the call, was typical). */
static Py_ssize_t
group_start(Py_ssize_t units, Py_ssize_t groups, Py_ssize_t g)
{
    Py_ssize_t rest = units - groups, left = groups - g;
    return g + rest - rest * left * (left + 1) / (groups * (groups + 1));
}

/* Where group g's Δ goes: G itself for group 0, else its own s2×(n+1)
 * buffer; *ld gets the row stride */
static void *
group_delta(const Work *w, Py_ssize_t g, Py_ssize_t *ld)
{
    *ld = g == 0 ? w->ldg : w->n + 1;
    if (g == 0)
        return w->out;
    return (char *)w->group_deltas + (size_t)((g - 1) * w->s2 * (w->n + 1)) * (w->f32 ? 4 : 8);
}

/* Called by a thread that found no group left to take: the first such
 * thread adds the complete groups' Δ, in group order from group 1, into
 * group 0's (w->out), while the others finish theirs: the same additions
 * in the same order as one sum after the last group, and the same bits.
 * It stops at the first group still in progress; reduce_blocks adds the
 * rest. */
static void
reduce_early(Work *w)
{
    if (atomic_exchange(&w->reducer, 1))
        return;
    Py_ssize_t g = 1;
    if (atomic_load_explicit(&w->done[0], memory_order_acquire))
        for (; g < w->groups && atomic_load_explicit(&w->done[g], memory_order_acquire); g++) {
            Py_ssize_t ld;
            const void *P = group_delta(w, g, &ld);
            if (w->f32)
                reduce_f32(w->out, w->ldg, P, 1, 0, w->s2, w->n + 1, NULL, 0, NULL, 0);
            else
                reduce_f64(w->out, w->ldg, P, 1, 0, w->s2, w->n + 1, NULL, 0, NULL, 0);
        }
    w->reduced = g;
    atomic_store_explicit(&w->reduced_set, 1, memory_order_release);
}

/* The rest of the sum, once every group is done: the groups reduce_early
 * left, in group order, and for the network the sum in double into G1,
 * with λ/m·Θ^(1) and its Σ Θ². Every thread takes blocks of rows of Δ^(1)
 * until none is left: on one thread this took 0.1-0.2 ms after the join.
 * The blocks are fixed, BLOCKS of them, and their Σ Θ² are added in block
 * order (run_split): the same bits on any number of threads. */
static void
reduce_blocks(Work *w)
{
    for (Py_ssize_t g = 0; g < w->groups; g++)
        while (!atomic_load_explicit(&w->done[g], memory_order_acquire))
            cpu_relax();
    while (!atomic_load_explicit(&w->reduced_set, memory_order_acquire))
        cpu_relax();
    int net = w->kind == NETWORK;
    Py_ssize_t g = w->reduced, n1 = w->n + 1, per = (w->s2 + BLOCKS - 1) / BLOCKS, ld;
    const char *P = group_delta(w, g < w->groups ? g : 1, &ld);
    size_t size = w->f32 ? 4 : 8;
    for (;;) {
        int b = atomic_fetch_add_explicit(&w->block, 1, memory_order_relaxed);
        if (b >= BLOCKS)
            break;
        Py_ssize_t h0 = b * per, h1 = h0 + per < w->s2 ? h0 + per : w->s2;
        if (h0 >= h1 || (!net && g >= w->groups))
            continue;
        void *G = (char *)w->out + (size_t)(h0 * w->ldg) * size;
        const void *Pb = P + (size_t)(h0 * n1) * size;
        const double *Th = net ? w->T1 + h0 * n1 : NULL;
        double *out = net ? w->G1 + h0 * n1 : NULL;
        w->squares[b] = w->f32
            ? reduce_f32(G, w->ldg, Pb, w->groups - g, w->s2 * n1, h1 - h0, n1, Th, w->lam_m,
                         out, n1)
            : reduce_f64(G, w->ldg, Pb, w->groups - g, w->s2 * n1, h1 - h0, n1, Th, w->lam_m,
                         out, n1);
    }
}

static void
group_done(Work *w, Py_ssize_t g)
{
    atomic_store_explicit(&w->done[g], 1, memory_order_release);
}

/* Group g's Δ = δ^(2) [1, X] over its rows */
static void
backward_group(const Work *w, Py_ssize_t g)
{
    Py_ssize_t lo = group_start(w->m, w->groups, g), hi = group_start(w->m, w->groups, g + 1), ld;
    void *G = group_delta(w, g, &ld);
    if (w->f32)
        backward_group_f32(w->X, w->n, w->W, w->s2, G, ld, lo, hi, 0);
    else
        backward_group_f64(w->X, w->n, w->W, w->s2, G, ld, lo, hi, 0);
}

static Py_ssize_t
chunks_of(Py_ssize_t m)
{
    return (m + CHUNK - 1) / CHUNK;
}

/* The network's buffers (in w->partial): each chunk's cost (a double),
 * the Δ^(1) of groups 1.. (s2×(n+1) each, as for backward), each chunk's
 * Δ^(2)ᵀ ((s2+1)×S3), then for each thread its scratch: a^(2) (then
 * δ^(2)) and CHUNK×s2 more, z^(3) and δ^(3) (CHUNK×S3 each); last, on a
 * 64-byte boundary, the weights as the products read them (weights_SFX in
 * _kernels_tile.h), Wt, W2t and W2d. */
static double *
network_costs(const Work *w)
{
    return w->partial;
}

static char *
network_deltas(const Work *w)
{
    return (char *)w->group_deltas + (size_t)((w->groups - 1) * w->s2 * (w->n + 1)) * (w->f32 ? 4 : 8);
}

static size_t
network_scratch(const Work *w)
{
    return (size_t)(CHUNK * 2 * (w->S3 + w->s2));
}

/* Elements of Wt, W2t and W2d together, and in float32 of group 0's Δ^(1)
 * (in float64 that is G1 itself) */
static size_t
network_weights(const Work *w)
{
    return (size_t)((w->n + 1) * w->S + (w->s2 + 1) * w->S3 + (w->K + 1) * w->S
                    + (w->f32 ? w->s2 * (w->n + 1) : 0));
}

/* For the caller's cache of the last evaluation (nnopt/backprop.py), into
 * w->keep: a copy of θ, then the values of X that backprop._fingerprint
 * samples (in row i·max(1, m/SAMPLE) mod m the column (n/2 + 97 i) mod n,
 * for i < SAMPLE), in double. In Python, cold right after the last call, these
 * took 50-100 µs; a pooled worker does them while it waits for the
 * weights, or the caller at the end. */
static void
network_keep(Work *w)
{
    if (atomic_exchange(&w->kept, 1))
        return;
    Py_ssize_t params = w->s2 * (w->n + 1) + w->K * (w->s2 + 1);
    memcpy(w->keep, w->T1, (size_t)params * sizeof(double));   /* T2 follows T1 in θ */
    double *fp = w->keep + params;
    Py_ssize_t step = w->m / SAMPLE > 1 ? w->m / SAMPLE : 1;
    for (Py_ssize_t i = 0; i < SAMPLE; i++) {
        Py_ssize_t r = i * step % w->m, c = (w->n / 2 + 97 * i) % w->n;
        fp[i] = w->f32 ? ((const float *)w->X)[r * w->n + c]
                       : ((const double *)w->X)[r * w->n + c];
    }
}

/* Network: group by group, each chunk of rows goes through the hidden
 * layer, the output layer (output_range) and Δ^(1) while it is in cache:
 * X is read from memory once. Groups are fixed runs of chunks, as the
 * backward product's are, and each chunk's Δ^(2) and cost have their own
 * slots: the sums (in run_split) do not depend on the threads. */
static void
network_groups(Work *w)
{
    size_t size = w->f32 ? 4 : 8;
    Py_ssize_t m = w->m, n = w->n, s2 = w->s2, K = w->K, S3 = w->S3, per = (s2 + 1) * S3;
    Py_ssize_t chunks = chunks_of(m);
    char *a2 = network_deltas(w) + (size_t)(chunks * per) * size
               + atomic_fetch_add(&w->slot, 1) * network_scratch(w) * size;
    char *d2 = a2 + (size_t)(CHUNK * s2) * size, *z3 = d2 + (size_t)(CHUNK * s2) * size;
    char *d3 = z3 + (size_t)(CHUNK * S3) * size;
    if (!atomic_load_explicit(&w->ready, memory_order_acquire))
        network_keep(w);   /* while the weights are laid out */
    while (!atomic_load_explicit(&w->ready, memory_order_acquire))
        cpu_relax();
    for (;;) {
        ptrdiff_t g = atomic_fetch_add_explicit(w->next, 1, memory_order_relaxed);
        if (g >= w->groups) {
            reduce_early(w);
            reduce_blocks(w);
            break;
        }
        Py_ssize_t ld;
        void *G1 = group_delta(w, g, &ld);
        Py_ssize_t first = group_start(chunks, w->groups, g);
        for (Py_ssize_t c = first; c < group_start(chunks, w->groups, g + 1); c++) {
            ptrdiff_t i = c * CHUNK, rows = (i + CHUNK < m ? i + CHUNK : m) - i;
            void *Gt = network_deltas(w) + (size_t)(c * per) * size;
            int bad, more = c > first;
            if (w->f32) {
                const float *Xc = (const float *)w->X + i * n;
                bad = forward_range_f32(Xc, n, n, w->W, w->S, (float *)a2, s2, 0, rows, 1);
                network_costs(w)[c] = output_range_f32(
                    (float *)a2, s2, w->S, w->W2t, K, S3, w->W2d, (const float *)w->Y + i * K,
                    (const float *)w->Y + m * K, Gt, (float *)z3, (float *)d3, (float *)d2, rows,
                    w->squared, (float)w->scale);
                backward_group_f32(Xc, n, (float *)a2, s2, G1, ld, 0, rows, more);
            } else {
                const double *Xc = (const double *)w->X + i * n;
                bad = forward_range_f64(Xc, n, n, w->W, w->S, (double *)a2, s2, 0, rows, 1);
                network_costs(w)[c] = output_range_f64(
                    (double *)a2, s2, w->S, w->W2t, K, S3, w->W2d, (const double *)w->Y + i * K,
                    (const double *)w->Y + m * K, Gt, (double *)z3, (double *)d3, (double *)d2,
                    rows, w->squared, w->scale);
                backward_group_f64(Xc, n, (double *)a2, s2, G1, ld, 0, rows, more);
            }
            if (bad)
                atomic_store_explicit(&w->bad, 1, memory_order_relaxed);
        }
        group_done(w, g);
    }
}

/* Network, after the threads: the cost and Δ^(2) summed in chunk order,
 * Δ^(2) transposed into G2 (K×(s2+1)) with λ/m·Θ^(2) added off its bias
 * column, and Σ Θ^(2)² over the same weights added to w->reg. (Θ^(1)'s
 * terms are added with the groups' Δ^(1), in reduce_blocks.) */
static void
network_sums(Work *w)
{
    Py_ssize_t chunks = chunks_of(w->m), per = (w->s2 + 1) * w->S3;
    void *Gt = network_deltas(w);
    w->cost = 0;
    for (Py_ssize_t c = 0; c < chunks; c++)
        w->cost += network_costs(w)[c];
    if (w->f32)
        reduce_f32(Gt, w->S3, (float *)Gt + per, chunks - 1, per, w->s2 + 1, w->S3, NULL, 0,
                   NULL, 0);
    else
        reduce_f64(Gt, w->S3, (double *)Gt + per, chunks - 1, per, w->s2 + 1, w->S3, NULL, 0,
                   NULL, 0);
    for (Py_ssize_t k = 0; k < w->K; k++)
        for (Py_ssize_t h = 0; h <= w->s2; h++) {
            /* Δ^(2)[k, h] is Gt[h, k] */
            Py_ssize_t i = h * w->S3 + k;
            double sum = w->f32 ? ((const float *)Gt)[i] : ((const double *)Gt)[i];
            if (h > 0) {
                double t = w->T2[k * (w->s2 + 1) + h];
                w->reg += t * t;
                sum += w->lam_m * t;
            }
            w->G2[k * (w->s2 + 1) + h] = sum;
        }
}

static void *
run(void *arg)
{
    Work *w = arg;
    if (w->kind == NETWORK) {
        network_groups(w);
        return NULL;
    }
    int forward = w->kind == FORWARD;
    for (;;) {
        ptrdiff_t k = atomic_fetch_add_explicit(w->next, forward ? CHUNK : 1,
                                                memory_order_relaxed);
        if (!forward) {
            if (k >= w->groups) {
                reduce_early(w);
                reduce_blocks(w);
                break;
            }
            backward_group(w, k);
            group_done(w, k);
            continue;
        }
        if (k >= w->m)
            break;
        ptrdiff_t hi = k + CHUNK < w->m ? k + CHUNK : w->m;
        int bad = w->f32
            ? forward_range_f32(w->X, w->n, w->n, w->W, w->S, w->out, w->s2, k, hi, w->activate)
            : forward_range_f64(w->X, w->n, w->n, w->W, w->S, w->out, w->s2, k, hi, w->activate);
        if (bad)
            atomic_store_explicit(&w->bad, 1, memory_order_relaxed);
    }
    return NULL;
}

#define MAX_THREADS 64

/* ---- worker threads kept between calls ------------------------------------
 *
 * Starting a thread for each call took 50-80 µs here, and waiting for its
 * exit in pthread_join up to 90 µs more: the joining thread sleeps, and a
 * sleeping virtual CPU is slow to wake. So the workers are started once
 * and wait between calls; a call hands them its Work, does its own share,
 * then waits for them without sleeping (its work is done, and they are at
 * most a group away from done). A call made while another call holds the
 * pool (from another Python thread) starts threads of its own as before.
 * After fork the child has none of the parent's threads: it starts anew. */
static pthread_mutex_t pool_busy = PTHREAD_MUTEX_INITIALIZER;  /* held by the call using the pool */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  /* guards the pool_ fields below */
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static int pool_usable;                    /* the after-fork reset is registered */
static int pool_size;                      /* workers started */
static unsigned long pool_round;           /* calls handed to the workers so far */
static unsigned long pool_first[MAX_THREADS];   /* pool_round when worker i started */
static Work *pool_work;
static int pool_wanted;                    /* workers taking part in this round */
static atomic_int pool_pending;            /* of those, the ones not yet finished */

static void *
pool_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    pthread_mutex_lock(&pool_lock);
    unsigned long seen = pool_first[id];
    for (;;) {
        while (pool_round == seen)
            pthread_cond_wait(&pool_wake, &pool_lock);
        seen = pool_round;
        if (id >= pool_wanted)
            continue;
        Work *w = pool_work;
        pthread_mutex_unlock(&pool_lock);
        run(w);
        /* the last use of w: the caller may return as soon as it sees this */
        atomic_fetch_sub_explicit(&pool_pending, 1, memory_order_release);
        pthread_mutex_lock(&pool_lock);
    }
    return NULL;
}

static void
pool_after_fork(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    pool_busy = fresh;
    pool_lock = fresh;
    pool_wake = fresh_cond;
    pool_size = 0;
}

/* Hands w to `helpers` pooled workers (started if need be); returns how
 * many took it, to be waited for with pool_wait. Called with pool_busy held. */
static int
pool_start(Work *w, int helpers)
{
    pthread_mutex_lock(&pool_lock);
    while (pool_size < helpers) {
        pthread_t id;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pool_first[pool_size] = pool_round;
        int failed = pthread_create(&id, &attr, pool_worker, (void *)(intptr_t)pool_size);
        pthread_attr_destroy(&attr);
        if (failed)
            break;
        pool_size++;
    }
    if (helpers > pool_size)
        helpers = pool_size;
    pool_work = w;
    pool_wanted = helpers;
    atomic_store_explicit(&pool_pending, helpers, memory_order_relaxed);
    pool_round++;
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_lock);
    return helpers;
}

static void
pool_wait(void)
{
    while (atomic_load_explicit(&pool_pending, memory_order_acquire) > 0)
        cpu_relax();
}

/* Run one call on `threads` threads, one of them this one. Its buffers come
 * from PyMem_RawMalloc (callable without the GIL), so that tracemalloc
 * counts them with the rest of an evaluation's memory. A thread that
 * could not be started is simply not there: the others take its work.
 * Without memory for the groups' Δ, the backward product is one group;
 * the network call needs its buffers and returns -1 without them. */
static int
run_split(Work *w, int threads)
{
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    atomic_ptrdiff_t next = 0;
    size_t size = w->f32 ? 4 : 8;
    Py_ssize_t units = chunks_of(w->m);
    w->next = &next;
    w->partial = NULL;
    w->reduced = 1;
    if (w->kind != FORWARD) {
        /* a fixed count (for m ≥ GROUPS·CHUNK), so that the sums do not
         * depend on the threads */
        w->groups = units < GROUPS ? units : GROUPS;
        units = w->groups;
    }
    if (threads > units)
        threads = (int)units;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (w->kind == BACKWARD && w->groups > 1) {
        w->partial = PyMem_RawMalloc((size_t)((w->groups - 1) * w->s2 * (w->n + 1)) * size);
        w->group_deltas = w->partial;
        if (!w->partial)
            w->groups = 1;
    } else if (w->kind == NETWORK) {
        size_t before = (size_t)((w->groups - 1) * w->s2 * (w->n + 1)
                                 + chunks_of(w->m) * (w->s2 + 1) * w->S3
                                 + threads * network_scratch(w)) * size
                        + chunks_of(w->m) * sizeof(double);
        w->partial = PyMem_RawMalloc(before + 64 + network_weights(w) * size);
        if (!w->partial)
            return -1;
        w->group_deltas = network_costs(w) + chunks_of(w->m);
        char *weights = (char *)(((uintptr_t)w->partial + before + 63) & ~(uintptr_t)63);
        w->W = weights;
        w->W2t = weights + (size_t)((w->n + 1) * w->S) * size;
        w->W2d = (char *)w->W2t + (size_t)((w->s2 + 1) * w->S3) * size;
        if (w->f32)
            w->out = (char *)w->W2d + (size_t)((w->K + 1) * w->S) * size;
    }
    int pooled = threads > 1 && pool_usable && pthread_mutex_trylock(&pool_busy) == 0;
    if (pooled) {
        pool_start(w, threads - 1);
    } else {
        for (int t = 1; t < threads; t++)
            started[t] = pthread_create(&ids[t], NULL, run, w) == 0;
    }
    if (w->kind == NETWORK) {
        /* after the other threads are woken, not before: a sleeping virtual
         * CPU takes 35-90 µs to wake, about as long as this takes */
        w->weights_finite = w->f32
            ? weights_f32(w->T1, w->T2, (void *)w->W, (void *)w->W2t, (void *)w->W2d, w->n,
                          w->s2, w->S, w->K, w->S3)
            : weights_f64(w->T1, w->T2, (void *)w->W, (void *)w->W2t, (void *)w->W2d, w->n,
                          w->s2, w->S, w->K, w->S3);
        atomic_store_explicit(&w->ready, 1, memory_order_release);
    }
    run(w);
    if (w->kind == NETWORK)
        network_keep(w);   /* if no other thread did */
    if (pooled) {
        pool_wait();
        pthread_mutex_unlock(&pool_busy);
    }
    for (int t = 1; t < threads; t++)
        if (started[t])
            pthread_join(ids[t], NULL);
    if (w->kind == NETWORK) {
        for (int b = 0; b < BLOCKS; b++)
            w->reg += w->squares[b];
        network_sums(w);
    }
    PyMem_RawFree(w->partial);
    return 0;
}

/* ---- Python entry points --------------------------------------------------- */

static int
check_len(Py_buffer *b, Py_ssize_t count, Py_ssize_t itemsize, const char *name)
{
    if (count < 0 || b->len < count * itemsize) {
        PyErr_Format(PyExc_ValueError, "_kernels: buffer %s holds %zd bytes, needs %zd",
                     name, b->len, count * itemsize);
        return -1;
    }
    return 0;
}

static PyObject *
call(PyObject *args, int forward)
{
    Py_buffer X, W, out;
    Py_ssize_t m, n, s2, S, ldg;
    int f32, threads, activate = 0;
    /* forward:  (X, Wt, Z, m, n, s2, S, f32, threads, activate) -> all z finite?
     * backward: (X, D,  G, m, n, s2, ldg, f32, threads) -> None */
    if (forward ? !PyArg_ParseTuple(args, "y*y*w*nnnnpip", &X, &W, &out, &m, &n, &s2, &S,
                                    &f32, &threads, &activate)
                : !PyArg_ParseTuple(args, "y*y*w*nnnnpi", &X, &W, &out, &m, &n, &s2, &ldg,
                                    &f32, &threads))
        return NULL;
    Py_ssize_t size = f32 ? 4 : 8, vl = f32 ? 16 : 8;
    int bad = m < 1 || n < 1 || s2 < 1 || s2 > MAX_HIDDEN || threads < 1;
    if (forward)
        bad = bad || S < s2 || S % vl;
    else
        bad = bad || ldg < n + 1;
    int nonfinite = 0;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "_kernels: inconsistent sizes");
    } else if (check_len(&X, m * n, size, "X") == 0
               && (forward ? check_len(&W, (n + 1) * S, size, "Wt") == 0
                             && check_len(&out, m * s2, size, "Z") == 0
                           : check_len(&W, m * s2, size, "D") == 0
                             && check_len(&out, (s2 - 1) * ldg + n + 1, size, "G") == 0)) {
        Work w = {.kind = forward ? FORWARD : BACKWARD, .f32 = f32, .X = X.buf, .W = W.buf,
                  .out = out.buf, .m = m, .n = n, .s2 = s2, .S = forward ? S : 0,
                  .ldg = forward ? 0 : ldg, .groups = 1, .activate = activate};
        Py_BEGIN_ALLOW_THREADS
        run_split(&w, threads);
        Py_END_ALLOW_THREADS
        nonfinite = atomic_load(&w.bad);
    }
    PyBuffer_Release(&X);
    PyBuffer_Release(&W);
    PyBuffer_Release(&out);
    if (PyErr_Occurred())
        return NULL;
    if (forward)
        return PyBool_FromLong(!nonfinite);
    Py_RETURN_NONE;
}

static PyObject *
forward(PyObject *self, PyObject *args)
{
    return call(args, 1);
}

static PyObject *
backward(PyObject *self, PyObject *args)
{
    return call(args, 0);
}

static PyObject *
network(PyObject *self, PyObject *args)
{
    Py_buffer b[5];   /* X, θ, Y, the gradient, keep */
    Py_ssize_t m, n, s2, K;
    int f32, threads, squared;
    double scale, lam_m, cost = 0, reg = 0;
    int weights_finite = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*nnnnpipdd", &b[0], &b[1], &b[2], &b[3], &b[4],
                          &m, &n, &s2, &K, &f32, &threads, &squared, &scale, &lam_m))
        return NULL;
    Py_ssize_t size = f32 ? 4 : 8, vl = f32 ? 16 : 8, first = s2 * (n + 1);
    int nonfinite = 0;
    if (m < 1 || n < 1 || s2 < 1 || s2 > MAX_HIDDEN || K < 1 || threads < 1) {
        PyErr_SetString(PyExc_ValueError, "_kernels: inconsistent sizes");
    } else if (check_len(&b[0], m * n, size, "X") == 0
               && check_len(&b[1], first + K * (s2 + 1), 8, "theta") == 0
               && check_len(&b[2], m * K, size, "Y") == 0
               && check_len(&b[3], first + K * (s2 + 1), 8, "G") == 0
               && check_len(&b[4], first + K * (s2 + 1) + SAMPLE, 8, "keep") == 0) {
        /* Θ^(1) then Θ^(2) in θ, and their gradients in G, as nnopt.unroll
         * lays them out; the hidden and output units padded to whole vectors */
        double *T = b[1].buf, *G = b[3].buf;
        Work w = {.kind = NETWORK, .f32 = f32, .X = b[0].buf, .T1 = T, .T2 = T + first,
                  .Y = b[2].buf, .out = G, .G1 = G, .G2 = G + first, .keep = b[4].buf, .m = m,
                  .n = n, .s2 = s2,
                  .S = (s2 + vl - 1) / vl * vl, .K = K, .S3 = (K + vl - 1) / vl * vl,
                  .ldg = n + 1, .groups = 1, .squared = squared, .scale = scale,
                  .lam_m = lam_m};
        int ok;
        Py_BEGIN_ALLOW_THREADS
        ok = run_split(&w, threads);
        Py_END_ALLOW_THREADS
        if (ok < 0)
            PyErr_NoMemory();
        nonfinite = atomic_load(&w.bad);
        cost = w.cost;
        reg = w.reg;
        weights_finite = w.weights_finite;
    }
    for (int i = 0; i < 5; i++)
        PyBuffer_Release(&b[i]);
    if (PyErr_Occurred())
        return NULL;
    return Py_BuildValue("(NddN)", PyBool_FromLong(!nonfinite), cost, reg,
                         PyBool_FromLong(weights_finite));
}

static PyMethodDef methods[] = {
    {"forward", forward, METH_VARARGS,
     "forward(X, Wt, Z, m, n, s2, S, f32, threads, activate): Z = X Wt[1:] + Wt[0], "
     "or g of that; returns whether every z was finite (always True without activate)"},
    {"backward", backward, METH_VARARGS,
     "backward(X, D, G, m, n, s2, ldg, f32, threads): G[:, :n+1] = Dᵀ [1, X], D m×s2"},
    {"network", network, METH_VARARGS,
     "network(X, theta, Y, G, keep, m, n, s2, K, f32, threads, squared, scale, lam_m): a "
     "network with one hidden layer, forward and back, with Δ^(l) + λ/m·Θ^(l) unrolled into G "
     "and a copy of theta then 64 sampled values of X in keep (X and Y float32 with f32, else "
     "float64; theta = Θ^(1), Θ^(2) unrolled, G and keep always float64); returns (every "
     "z^(2) finite?, the summed cost, Σ Θ² off the bias columns, every weight finite?)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "The products with X, in C (see nnopt/_accel.py).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__kernels(void)
{
    if (!pool_usable && pthread_atfork(NULL, NULL, pool_after_fork) == 0)
        pool_usable = 1;
    PyObject *m = PyModule_Create(&module);
    /* the version of the calls' arguments, which nnopt/_accel.py checks:
     * a build left from an older nnopt (the extension is optional, so a
     * failed compile keeps it) is then not called with the wrong ones */
    if (m && PyModule_AddIntConstant(m, "API", 3) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
