/* The register-blocked product of nnopt/_kernels.c, for one element type.
 *
 * Included twice by _kernels.c, with T (double or float), V (a 64-byte
 * vector of T), VI (the integer vector of its comparisons), VL (lanes in V)
 * and SFX (f64 or f32) defined, and sigmoid_SFX; every name below carries
 * the suffix.
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
#define ADD_INTO CAT(add_into, SFX)

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
    for (ptrdiff_t p = 0; p < K; p++) {
        V b[MAX_NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            b[v] = *(const V *)(B + p * ldb + v * VL);
        const T *a = A + p * sp;
#pragma GCC unroll 12
        for (int r = 0; r < R; r++) {
            const T s = a[r * sa];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[r][v] += s * b[v];
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
    T *z = Z + i0 * s2, *end = Z + i1 * s2;
    for (; z + VL <= end; z += VL)
        *(V *)z = SIGMOID(*(V *)z, &bad);
    if (z < end) {
        T tmp[VL] = {0};
        for (int j = 0; j < end - z; j++)
            tmp[j] = z[j];
        *(V *)tmp = SIGMOID(*(V *)tmp, &bad);
        for (int j = 0; j < end - z; j++)
            z[j] = tmp[j];
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
 * sequential streams. G is overwritten. */
CLONES static void
BACKWARD_RANGE(const T *X, ptrdiff_t ldx, ptrdiff_t n, const T *D, ptrdiff_t s2,
               T *G, ptrdiff_t ldg, ptrdiff_t i0, ptrdiff_t i1)
{
    for (ptrdiff_t ib = i0; ib < i1; ib += ROW_BLOCK) {
        ptrdiff_t K = i1 - ib < ROW_BLOCK ? i1 - ib : ROW_BLOCK;
        int add = ib > i0;
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
 * bias column), G[:, 1:] = δ^(2) X. G is s2×(n+1), row stride ldg. */
static void
BACKWARD_GROUP(const T *X, ptrdiff_t n, const T *D, ptrdiff_t s2, T *G, ptrdiff_t ldg,
               ptrdiff_t i0, ptrdiff_t i1)
{
    T sums[MAX_HIDDEN] = {0};
    BACKWARD_RANGE(X, n, n, D, s2, G + 1, ldg, i0, i1);
    for (ptrdiff_t i = i0; i < i1; i++)
        for (ptrdiff_t h = 0; h < s2; h++)
            sums[h] += D[i * s2 + h];
    for (ptrdiff_t h = 0; h < s2; h++)
        G[h * ldg] = sums[h];
}

/* G += P, both s2×n1; G with row stride ldg, P contiguous */
static void
ADD_INTO(T *G, ptrdiff_t ldg, const T *P, ptrdiff_t s2, ptrdiff_t n1)
{
    for (ptrdiff_t h = 0; h < s2; h++)
        for (ptrdiff_t k = 0; k < n1; k++)
            G[h * ldg + k] += P[h * n1 + k];
}

#undef TILE
#undef TILE_ANY
#undef FORWARD_RANGE
#undef BACKWARD_RANGE
#undef SIGMOID
#undef BACKWARD_GROUP
#undef ADD_INTO
