/* The register-blocked product of nnopt/_kernels.c, for one element type.
 *
 * Included twice by _kernels.c, with T (double or float), V (a 64-byte
 * vector of T), VI (the integer vector of its comparisons), VL (lanes in V),
 * VD (VL doubles), V8 (8 T),
 * ABS_MASK (all bits but the sign) and SFX (f64 or f32) defined, and
 * exp_neg_SFX; every name below carries the suffix.
 *
 * One tile is C[r, v] (r < R rows, NV vectors of VL columns) of
 *
 *     C = A B,  A[r, p] = A[r*sa + p*sp],  B[p, :] = B[p*ldb : p*ldb + NV*VL],
 *
 * summed over p < K with the R×NV accumulators held in registers: per p,
 * NV vector loads of B, R scalar broadcasts of A and R·NV fused multiply-adds.
 * The forward product reads X as A (a row of X per r, p running along it),
 * the backward product reads X as B (a row of X per p): neither copies X.
 */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define TILE CAT(tile, SFX)
#define TILE_ANY CAT(tile_any, SFX)
#define FORWARD_RANGE CAT(forward_range, SFX)
#define BACKWARD_RANGE CAT(backward_range, SFX)
#define SIGMOID CAT(sigmoid, SFX)
#define BACKWARD_GROUP CAT(backward_group, SFX)
#define REDUCE CAT(reduce, SFX)
#define EXP_NEG CAT(exp_neg, SFX)
#define OUTPUT_DELTA CAT(output_delta, SFX)
#define OUTPUT_RANGE CAT(output_range, SFX)

/* LOAD(p, n): the n ≤ VL elements (of type E) at p as one vector (of type
 * W), zeros after them; STORE(p, v, n): the first n lanes of v back. Made
 * for T in V (load_part, store_part) and for double in VD (load_double,
 * store_double: REDUCE's sums in double). */
#define PART_ACCESS(LOAD, STORE, E, W)                                      \
    static inline __attribute__((always_inline)) W                          \
    LOAD(const E *p, ptrdiff_t n)                                           \
    {                                                                       \
        if (n == VL)                                                        \
            return *(const W *)p;                                           \
        W v = {0};                                                          \
        for (ptrdiff_t j = 0; j < n; j++)                                   \
            v[j] = p[j];                                                    \
        return v;                                                           \
    }                                                                       \
    static inline __attribute__((always_inline)) void                       \
    STORE(E *p, W v, ptrdiff_t n)                                           \
    {                                                                       \
        if (n == VL) {                                                      \
            *(W *)p = v;                                                    \
            return;                                                         \
        }                                                                   \
        for (ptrdiff_t j = 0; j < n; j++)                                   \
            p[j] = v[j];                                                    \
    }
PART_ACCESS(CAT(load_part, SFX), CAT(store_part, SFX), T, V)
PART_ACCESS(CAT(load_double, SFX), CAT(store_double, SFX), double, VD)
#undef PART_ACCESS

/* g(z) = 1/(1 + e^(−|z|)) for z ≥ 0 and e^(−|z|)/(1 + e^(−|z|)) for z < 0
 * (see exp_neg in _kernels.c); NaN and ±inf z are flagged in *bad */
static inline __attribute__((always_inline)) V
SIGMOID(V z, VI *bad)
{
    V e = EXP_NEG((V)((VI)z & ABS_MASK), bad);
    V s = 1 / (e + 1);
    VI neg = z < 0;
    return (V)(((VI)s & ~neg) | ((VI)(e * s) & neg));
}

/* STORE writes C = AB (+ bias); ADD accumulates C += AB */
enum { CAT(STORE, SFX), CAT(ADD, SFX) };

static inline __attribute__((always_inline)) void
TILE(const int R, const int NV, ptrdiff_t K, const T *A, ptrdiff_t sa, ptrdiff_t sp,
     const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc, const T *bias, int add, int lanes)
{
    V acc[MAX_R][MAX_NV];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[r][v] = (V){0};
    /* p in blocks of one cache line of A. Reading A along its rows (the
     * forward product's X) makes R streams, which the hardware alone does
     * not keep up with: each block fetches the line PREFETCH lines ahead
     * in every row (5-15% faster here: benchmarks/README.md). Blocks rather
     * than a test of p at every step: 4% faster in float32. */
    const ptrdiff_t PB = 64 / sizeof(T);
    for (ptrdiff_t p0 = 0; p0 < K; p0 += PB) {
        const T *a = A + p0 * sp;
        if (sp == 1) {
            /* near the end of the rows, the start of the next tile's rows */
            ptrdiff_t ahead = p0 + PREFETCH * PB;
            const T *pf = ahead < K ? A + ahead : A + R * sa + (ahead - K);
#pragma GCC unroll 12
            for (int r = 0; r < R; r++)
                __builtin_prefetch(pf + r * sa, 0, 3);
        }
        ptrdiff_t pe = K - p0 < PB ? K - p0 : PB;
        const T *bp = B + p0 * ldb;
#pragma GCC unroll 2
        for (ptrdiff_t p = 0; p < pe; p++) {
            V b[MAX_NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                b[v] = *(const V *)(bp + p * ldb + v * VL);
#pragma GCC unroll 12
            for (int r = 0; r < R; r++) {
                const T s = a[r * sa + p * sp];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[r][v] += s * b[v];
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            V c = acc[r][v];
            if (bias)
                c += *(const V *)(bias + v * VL);
            T *out = C + r * ldc + v * VL;
            /* `lanes` < VL only in the last vector of a row: a full store
             * there would run into the next row (or past the array) */
            int n = (v == NV - 1) ? lanes : VL;
            if (n == VL) {
                if (add)
                    c += *(V *)out;
                *(V *)out = c;
            } else {
                T tmp[VL];
                *(V *)tmp = c;
                for (int j = 0; j < n; j++)
                    out[j] = add ? out[j] + tmp[j] : tmp[j];
            }
        }
    }
}

/* R and NV as compile-time constants, so that the accumulators are
 * registers: full tiles of R_NV(NV) rows, and single rows for the remainder */
static inline __attribute__((always_inline)) void
TILE_ANY(int R, int NV, ptrdiff_t K, const T *A, ptrdiff_t sa, ptrdiff_t sp,
         const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc, const T *bias, int add, int lanes)
{
#define ARGS K, A, sa, sp, B, ldb, C, ldc, bias, add, lanes
    if (R == R_NV(NV)) {
        switch (NV) {
        case 1: TILE(R_NV(1), 1, ARGS); return;
        case 2: TILE(R_NV(2), 2, ARGS); return;
        case 3: TILE(R_NV(3), 3, ARGS); return;
        default: TILE(R_NV(4), 4, ARGS); return;
        }
    }
#undef ARGS
    for (int r = 0; r < R; r++) {
#define ARGS K, A + r * sa, sa, sp, B, ldb, C + r * ldc, ldc, bias, add, lanes
        switch (NV) {
        case 1: TILE(1, 1, ARGS); break;
        case 2: TILE(1, 2, ARGS); break;
        case 3: TILE(1, 3, ARGS); break;
        default: TILE(1, 4, ARGS); break;
        }
#undef ARGS
    }
}

/* z = X Wᵀ + b, or a = g(z) with `activate`, for the rows [i0, i1) of X
 * (m×n, row stride ldx). Wt is (n + 1)×S: row 0 the biases, row 1 + k the
 * weights of input k, its S ≥ s2 columns zero-padded to whole vectors. Z is
 * m×s2 (row stride s2). Returns 1 if some z was not finite (NaN or ±inf;
 * checked only with `activate`, since g hides them), else 0. */
CLONES static int
FORWARD_RANGE(const T *X, ptrdiff_t ldx, ptrdiff_t n, const T *Wt, ptrdiff_t S,
              T *Z, ptrdiff_t s2, ptrdiff_t i0, ptrdiff_t i1, int activate)
{
    VI bad = {0};
    const ptrdiff_t nvec = S / VL;
    for (ptrdiff_t v0 = 0; v0 < nvec; v0 += MAX_NV) {
        int NV = (int)(nvec - v0 < MAX_NV ? nvec - v0 : MAX_NV);
        int R = R_NV(NV);
        ptrdiff_t cols = s2 - v0 * VL;  /* columns of Z this column tile covers */
        int lanes = (int)(cols - (NV - 1) * VL);
        if (lanes > VL) lanes = VL;
        for (ptrdiff_t i = i0; i < i1; i += R) {
            int r = (int)(i1 - i < R ? i1 - i : R);
            TILE_ANY(r, NV, n, X + i * ldx, ldx, 1, Wt + S + v0 * VL, S,
                     Z + i * s2 + v0 * VL, s2, Wt + v0 * VL, CAT(STORE, SFX), lanes);
        }
    }
    if (!activate)
        return 0;
    /* g over the rows just written, while they are still in cache */
    for (ptrdiff_t j = i0 * s2; j < i1 * s2; j += VL) {
        ptrdiff_t n = i1 * s2 - j < VL ? i1 * s2 - j : VL;
        CAT(store_part, SFX)(Z + j, SIGMOID(CAT(load_part, SFX)(Z + j, n), &bad), n);
    }
    for (int j = 0; j < VL; j++)
        if (bad[j])
            return 1;
    return 0;
}

/* G[h, k] = Σ_i D[i, h] X[i, k] over the rows i in [i0, i1) of X (m×n,
 * row stride ldx); G is s2×n (row stride ldg), D is m×s2 (row stride s2).
 * Rows are taken ROW_BLOCK at a time, and each block sweeps along its rows
 * in strips of MAX_NV vectors: the strip stays in L1 while every row tile
 * of G passes over it, and the hardware prefetcher sees ROW_BLOCK
 * sequential streams. G is overwritten, or added to with `accumulate`. */
CLONES static void
BACKWARD_RANGE(const T *X, ptrdiff_t ldx, ptrdiff_t n, const T *D, ptrdiff_t s2,
               T *G, ptrdiff_t ldg, ptrdiff_t i0, ptrdiff_t i1, int accumulate)
{
    for (ptrdiff_t ib = i0; ib < i1; ib += ROW_BLOCK) {
        ptrdiff_t K = i1 - ib < ROW_BLOCK ? i1 - ib : ROW_BLOCK;
        int add = accumulate || ib > i0;
        for (ptrdiff_t k = 0; k < n; k += MAX_NV * VL) {
            ptrdiff_t width = n - k < MAX_NV * VL ? n - k : MAX_NV * VL;
            int NV = (int)(width / VL);
            /* the last n % VL columns: a whole vector there would read past
             * the end of X's last row, so they are summed one at a time */
            for (ptrdiff_t kk = k + NV * VL; kk < k + width; kk++)
                for (ptrdiff_t h = 0; h < s2; h++) {
                    T s = 0;
                    for (ptrdiff_t i = ib; i < ib + K; i++)
                        s += D[i * s2 + h] * X[i * ldx + kk];
                    G[h * ldg + kk] = add ? G[h * ldg + kk] + s : s;
                }
            if (NV == 0)
                continue;
            /* the next strip of each row, while this one is summed */
            for (ptrdiff_t i = ib; i < ib + K; i++)
                for (ptrdiff_t l = 0; l < MAX_NV * VL; l += 64 / (ptrdiff_t)sizeof(T))
                    __builtin_prefetch(X + i * ldx + k + MAX_NV * VL + l, 0, 3);
            int R = R_NV(NV);
            for (ptrdiff_t h = 0; h < s2; h += R) {
                int r = (int)(s2 - h < R ? s2 - h : R);
                TILE_ANY(r, NV, K, D + ib * s2 + h, 1, s2, X + ib * ldx + k, ldx,
                         G + h * ldg + k, ldg, NULL, add, VL);
            }
        }
    }
}

/* Δ = δ^(2) [1, X] over the rows [i0, i1): G[:, 0] the sums of δ^(2) (the
 * bias column), G[:, 1:] = δ^(2) X. G is s2×(n+1), row stride ldg; it is
 * overwritten, or added to with `accumulate`. */
static void
BACKWARD_GROUP(const T *X, ptrdiff_t n, const T *D, ptrdiff_t s2, T *G, ptrdiff_t ldg,
               ptrdiff_t i0, ptrdiff_t i1, int accumulate)
{
    T sums[MAX_HIDDEN] = {0};
    BACKWARD_RANGE(X, n, n, D, s2, G + 1, ldg, i0, i1, accumulate);
    for (ptrdiff_t i = i0; i < i1; i++)
        for (ptrdiff_t h = 0; h < s2; h++)
            sums[h] += D[i * s2 + h];
    for (ptrdiff_t h = 0; h < s2; h++)
        G[h * ldg] = accumulate ? G[h * ldg] + sums[h] : sums[h];
}

/* G + P_1 + ... + P_others, added in that order, all rows×n1: G with row
 * stride ldg, P_p at P + (p − 1)·pstride with row stride n1. Without `out`
 * the sum goes back into G. With `out` (rows×n1 doubles, row stride ldo;
 * it may be G itself in double) the sum is taken to double, lam·Θ is added
 * off column 0 when Th is given (rows×n1 doubles, contiguous), and it is
 * stored there; the return value is then Σ Θ² off column 0, in double.
 *
 * This is what the threads' partial sums come to, for a block of rows:
 * as whole vectors, one pass over each row of every part. */
CLONES static double
REDUCE(T *G, ptrdiff_t ldg, const T *P, ptrdiff_t others, ptrdiff_t pstride, ptrdiff_t rows,
       ptrdiff_t n1, const double *Th, double lam, double *out, ptrdiff_t ldo)
{
    double squares = 0;
    for (ptrdiff_t h = 0; h < rows; h++) {
        VD sq = {0};
        for (ptrdiff_t k = 0; k < n1; k += VL) {
            ptrdiff_t n = n1 - k < VL ? n1 - k : VL;
            V v = CAT(load_part, SFX)(G + h * ldg + k, n);
            for (ptrdiff_t p = 0; p < others; p++)
                v += CAT(load_part, SFX)(P + p * pstride + h * n1 + k, n);
            if (!out) {
                CAT(store_part, SFX)(G + h * ldg + k, v, n);
                continue;
            }
            VD d = __builtin_convertvector(v, VD);
            if (Th) {
                VD t = CAT(load_double, SFX)(Th + h * n1 + k, n);
                if (k == 0)
                    t[0] = 0;   /* the bias: no λ term (d + 0 is d exactly) */
                d += lam * t;
                sq += t * t;
            }
            CAT(store_double, SFX)(out + h * ldo + k, d, n);
        }
        double row = 0;
        for (int j = 0; j < VL; j++)
            row += sq[j];
        squares += row;
    }
    return squares;
}

/* Whether all n doubles at A are finite once rounded to T: t − t is 0 for
 * a finite t and NaN for ±inf and NaN, summed in independent lanes (one
 * running sum, a chain of dependent additions, took ~25 µs for Θ^(1) of the
 * digits' network). A double beyond float's range rounds to ±inf: in float32
 * it is not finite. */
CLONES static int
CAT(all_finite, SFX)(const double *A, ptrdiff_t n)
{
    V8 acc[4] = {{0}};
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int a = 0; a < 4; a++) {
            V8 t = __builtin_convertvector(*(const vf64 *)(A + i + 8 * a), V8);
            acc[a] += t - t;
        }
    T zero = 0;
    for (; i < n; i++) {
        T t = (T)A[i];
        zero += t - t;
    }
    for (int a = 0; a < 4; a++)
        for (int j = 0; j < 8; j++)
            zero += acc[a][j];
    return zero == 0;
}

/* Out (cols×width, in T) = Aᵀ for A (rows×cols doubles, C-ordered), each
 * row of Out zero-padded from rows to width */
static void
CAT(transposed, SFX)(const double *A, ptrdiff_t rows, ptrdiff_t cols, T *Out, ptrdiff_t width)
{
    for (ptrdiff_t k = 0; k < cols; k++) {
        for (ptrdiff_t h = 0; h < rows; h++)
            Out[k * width + h] = (T)A[h * cols + k];
        for (ptrdiff_t h = rows; h < width; h++)
            Out[k * width + h] = 0;
    }
}

/* The weights as the network's products read them, in T, from Θ^(1)
 * (s2×(n+1)) and Θ^(2) (K×(s2+1)), both C-ordered doubles:
 *
 *     Wt  = Θ^(1)ᵀ, (n+1)×S, biases in row 0          (forward_range's Wt)
 *     W2t = Θ^(2)ᵀ, (s2+1)×S3, biases in row 0        (output_range's W2t)
 *     W2d = a zero row 0, then Θ^(2)[k, 1:] in row 1 + k, (K+1)×S
 *
 * each row zero-padded to its width (S ≥ s2, S3 ≥ K, whole vectors), so
 * that the padding adds nothing to any product. Returns whether every
 * weight is finite once rounded to T (all_finite_SFX), so the caller need
 * not make a pass of its own over θ. */
static int
CAT(weights, SFX)(const double *T1, const double *T2, T *Wt, T *W2t, T *W2d, ptrdiff_t n,
                  ptrdiff_t s2, ptrdiff_t S, ptrdiff_t K, ptrdiff_t S3)
{
    CAT(transposed, SFX)(T1, s2, n + 1, Wt, S);
    CAT(transposed, SFX)(T2, K, s2 + 1, W2t, S3);
    for (ptrdiff_t j = 0; j < S; j++)
        W2d[j] = 0;
    for (ptrdiff_t k = 0; k < K; k++) {
        for (ptrdiff_t h = 0; h < s2; h++)
            W2d[(k + 1) * S + h] = (T)T2[k * (s2 + 1) + 1 + h];
        for (ptrdiff_t h = s2; h < S; h++)
            W2d[(k + 1) * S + h] = 0;
    }
    return CAT(all_finite, SFX)(T1, s2 * (n + 1)) && CAT(all_finite, SFX)(T2, K * (s2 + 1));
}

/* log(1 + u) for 0 ≤ u ≤ 1, as 2·atanh(t) with t = u/(2 + u) ≤ 1/3:
 * t·Σ_k t^(2k)/(2k + 1) converges by 1/9 a term, is exact in relative
 * terms for small u (where log(1 + u) computed as a log of 1 + u would
 * lose u's digits), and needs no table. 17 terms reach the rounding of
 * double, 8 that of float. */
static inline __attribute__((always_inline)) V
CAT(log1p_unit, SFX)(V u)
{
    V t = u / (u + 2), w = t * t;
    V p = (V){0} + (T)(1.0 / (2 * LOG1P_TERMS - 1));
#pragma GCC unroll 16
    for (int k = LOG1P_TERMS - 2; k >= 0; k--)
        p = p * w + (T)(1.0 / (2 * k + 1));
    return 2 * t * p;
}

/* The output units of `rows` examples: z (rows×S3, the last S3 − K
 * columns unused) and the targets Y (rows×K) give δ^(L) into d (rows×S3,
 * its unused columns set to 0) and the summed cost, returned.
 *
 *   δ = scale·((1 − y) g(z) − y g(−z)), times g(z) g(−z) for squared error:
 *     that is scale·(h − y) (·g′(z)), written so that it keeps its relative
 *     accuracy where h rounds to 1 (y = 1 gives −g(−z)) or to 0;
 *   cost = log(1 + e^(−|z|)) + y·max(−z, 0) + (1 − y)·max(z, 0) (cross-
 *     entropy, as in nnopt/losses.py: terms ≥ 0, no log of 0), or ½(h − y)².
 *
 * g(±z) and the log come from one e^(−|z|). The cost is summed in double,
 * lane by lane, and the lanes are added at the end: a scalar sum made one
 * dependent addition per output and example, as many in float32 as in
 * float64. */
static inline __attribute__((always_inline)) double
OUTPUT_DELTA(const T *z, const T *Y, const T *Yend, T *d, ptrdiff_t rows, ptrdiff_t K,
             ptrdiff_t S3, int squared, T scale)
{
    VD costs = {0};
    VI lane;
    for (int j = 0; j < VL; j++)
        lane[j] = j;
    for (ptrdiff_t i = 0; i < rows; i++)
        for (ptrdiff_t v = 0; v * VL < K; v++) {
            ptrdiff_t n = K - v * VL < VL ? K - v * VL : VL;
            VI keep = lane < (int)n;   /* the lanes of outputs; the others are set to 0 below */
            V zv = *(const V *)(z + i * S3 + v * VL);
            /* a whole vector, which may run into the next row (lanes not
             * kept), except at the end of Y: a lane at a time there */
            const T *yp = Y + i * K + v * VL;
            V yv = Yend - yp >= VL ? *(const V *)yp : CAT(load_part, SFX)(yp, n);
            VI bad = {0}, neg = zv < 0;
            V a = (V)((VI)zv & ABS_MASK);
            V e = EXP_NEG(a, &bad);
            V s = 1 / (e + 1);             /* g(|z|) */
            V t = e * s;                   /* g(−|z|) */
            V gz = (V)(((VI)s & ~neg) | ((VI)t & neg));
            V gm = (V)(((VI)t & ~neg) | ((VI)s & neg));
            V r = (1 - yv) * gz - yv * gm;
            V c;
            if (squared) {
                c = (T)0.5 * r * r;
                r *= gz * gm;
            } else {
                /* max(−z, 0) and max(z, 0): the one that is not 0 is |z| */
                V pos = (V)((VI)a & ~neg), negpart = (V)((VI)a & neg);
                c = CAT(log1p_unit, SFX)(e) + yv * negpart + (1 - yv) * pos;
            }
            /* unused columns: no part in Δ, δ^(L−1) or the cost */
            r = (V)((VI)(r * scale) & keep);
            c = (V)((VI)c & keep);
            costs += __builtin_convertvector(c, VD);
            *(V *)(d + i * S3 + v * VL) = r;
        }
    double cost = 0;
    for (int j = 0; j < VL; j++)
        cost += costs[j];
    return cost;
}

/* The output layer of a network with one hidden layer, and backpropagation
 * through it, for `rows` consecutive examples (a chunk); returns their
 * summed cost:
 *
 *     z^(3) = Θ^(2) [1, a^(2)]          -> z3 (rows×S3, scratch)
 *     δ^(3) = scale·(h − y) (·g′)       -> d3 (rows×S3, scratch)
 *     Δ^(2)ᵀ = [1, a^(2)]ᵀ δ^(3)        -> Gt ((s2+1)×S3), overwritten
 *     δ^(2) = Θ^(2)[:, 1:]ᵀ δ^(3) ⊙ a^(2)(1 − a^(2))   -> over A2 (rows×s2)
 *
 * W2t is Θ^(2)ᵀ ((s2+1)×S3, biases in row 0, columns zero-padded to S3);
 * W2d is (K+1)×S with a zero row 0 and Θ^(2)[k, 1:] in row 1 + k, padded to
 * S. d2 (rows×s2) is scratch. Δ^(2) is kept transposed so that its rows
 * are whole vectors (S3 columns, none left over for scalar code). Each
 * step finds the previous one's output in cache, where numpy would make a
 * pass over memory for each. */
CLONES static double
OUTPUT_RANGE(T *A2, ptrdiff_t s2, ptrdiff_t S, const T *W2t, ptrdiff_t K, ptrdiff_t S3,
             const T *W2d, const T *Y, const T *Yend, T *Gt, T *z3, T *d3, T *d2,
             ptrdiff_t rows, int squared, T scale)
{
    FORWARD_RANGE(A2, s2, s2, W2t, S3, z3, S3, 0, rows, 0);
    double cost = OUTPUT_DELTA(z3, Y, Yend, d3, rows, K, S3, squared, scale);
    BACKWARD_RANGE(d3, S3, S3, A2, s2, Gt + S3, S3, 0, rows, 0);
    for (ptrdiff_t v = 0; v < S3; v += VL) {
        V sum = {0};
        for (ptrdiff_t i = 0; i < rows; i++)
            sum += *(const V *)(d3 + i * S3 + v);
        *(V *)(Gt + v) = sum;
    }
    /* the zero row 0 of W2d makes this the product with no bias */
    FORWARD_RANGE(d3, S3, K, W2d, S, d2, s2, 0, rows, 0);
    for (ptrdiff_t j = 0; j < rows * s2; j += VL) {
        ptrdiff_t n = rows * s2 - j < VL ? rows * s2 - j : VL;
        V a = CAT(load_part, SFX)(A2 + j, n), d = CAT(load_part, SFX)(d2 + j, n);
        CAT(store_part, SFX)(A2 + j, d * a * (1 - a), n);
    }
    return cost;
}

#undef EXP_NEG
#undef OUTPUT_DELTA
#undef OUTPUT_RANGE
#undef TILE
#undef TILE_ANY
#undef FORWARD_RANGE
#undef BACKWARD_RANGE
#undef SIGMOID
#undef BACKWARD_GROUP
#undef REDUCE
