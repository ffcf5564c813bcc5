/* The two products with X that dominate an evaluation, as register-blocked
 * kernels on all cores.
 *
 *     forward:   z^(2) = X Θ^(1)[:, 1:]ᵀ + Θ^(1)[:, 0]      (m×s2)
 *     backward:  Δ^(1)[:, 1:] = δ^(2) X                      (s2×n)
 *
 * OpenBLAS packs X into its own layout before every product, and with a
 * hidden layer of a few dozen units that copy costs about as much as the
 * arithmetic (each element of X is used only s2 times). These kernels read
 * X in place: the forward one as broadcast scalars along each row, the
 * backward one as whole vectors of each row, with the s2 (or 6-by-vector)
 * accumulators in registers. See benchmarks/README.md for the figures.
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
#include <stdlib.h>

#define MAX_R 12         /* rows of a tile */
#define MAX_NV 4         /* vectors of a tile */
/* rows of a full tile of NV vectors: at most 24 accumulators, of the 32
 * vector registers of AVX-512 */
#define R_NV(NV) ((NV) == 4 ? 6 : (NV) == 3 ? 8 : 12)
#define ROW_BLOCK 32     /* rows of X per backward block (see _kernels_tile.h) */

/* On x86-64 GCC and Clang build each kernel for AVX-512, AVX2 and the
 * baseline, and pick one when the module loads; the 64-byte vectors below
 * become one zmm, two ymm or four xmm registers. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(NNOPT_NO_CLONES)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

#define T double
#define V vf64
#define VL 8
#define SFX f64
typedef double vf64 __attribute__((vector_size(64), aligned(8)));
#include "_kernels_tile.h"
#undef T
#undef V
#undef VL
#undef SFX

#define T float
#define V vf32
#define VL 16
#define SFX f32
typedef float vf32 __attribute__((vector_size(64), aligned(4)));
#include "_kernels_tile.h"
#undef T
#undef V
#undef VL
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
 * run repeats exactly. */
#define CHUNK 192        /* a multiple of every tile height */
#define GROUPS 8

typedef struct {
    int forward, f32;
    const void *X, *W;   /* W: Wt for forward, D for backward */
    void *out;           /* Z, or G (group 0's Δ) */
    void *partial;       /* backward: groups 1.. Δ, s2×n each */
    Py_ssize_t m, n, s2, S, ldg, groups;
    atomic_ptrdiff_t *next;   /* forward: the first row not taken; backward: the first group */
} Work;

static void
backward_group(const Work *w, Py_ssize_t g)
{
    Py_ssize_t lo = w->m * g / w->groups, hi = w->m * (g + 1) / w->groups;
    size_t size = w->f32 ? 4 : 8;
    void *G = g == 0 ? w->out : (char *)w->partial + (size_t)((g - 1) * w->s2 * w->n) * size;
    Py_ssize_t ldg = g == 0 ? w->ldg : w->n;
    if (w->f32)
        backward_range_f32(w->X, w->n, w->n, w->W, w->s2, G, ldg, lo, hi, 0);
    else
        backward_range_f64(w->X, w->n, w->n, w->W, w->s2, G, ldg, lo, hi, 0);
}

static void *
run(void *arg)
{
    Work *w = arg;
    for (;;) {
        ptrdiff_t k = atomic_fetch_add_explicit(w->next, w->forward ? CHUNK : 1,
                                                memory_order_relaxed);
        if (!w->forward) {
            if (k >= w->groups)
                break;
            backward_group(w, k);
            continue;
        }
        if (k >= w->m)
            break;
        ptrdiff_t hi = k + CHUNK < w->m ? k + CHUNK : w->m;
        if (w->f32)
            forward_range_f32(w->X, w->n, w->n, w->W, w->S, w->out, w->s2, k, hi);
        else
            forward_range_f64(w->X, w->n, w->n, w->W, w->S, w->out, w->s2, k, hi);
    }
    return NULL;
}

#define MAX_THREADS 64

/* G (s2×n, row stride ldg) += group g's Δ (s2×n, row stride n) */
static void
add_group(const Work *w, Py_ssize_t g)
{
    size_t size = w->f32 ? 4 : 8;
    const char *P = (const char *)w->partial + (size_t)((g - 1) * w->s2 * w->n) * size;
    for (Py_ssize_t h = 0; h < w->s2; h++)
        for (Py_ssize_t k = 0; k < w->n; k++) {
            if (w->f32)
                ((float *)w->out)[h * w->ldg + k] += ((const float *)P)[h * w->n + k];
            else
                ((double *)w->out)[h * w->ldg + k] += ((const double *)P)[h * w->n + k];
        }
}

/* Run one product on `threads` threads, one of them this one. A thread
 * that could not be started is simply not there: the others take its work.
 * Without memory for the groups' Δ, the backward product is one group. */
static void
run_split(Work w, int threads)
{
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    atomic_ptrdiff_t next = 0;
    size_t size = w.f32 ? 4 : 8;
    Py_ssize_t units = (w.m + CHUNK - 1) / CHUNK;
    w.next = &next;
    w.partial = NULL;
    if (!w.forward) {
        /* a fixed count (for m ≥ GROUPS·CHUNK), so that the sums do not
         * depend on the threads */
        w.groups = units < GROUPS ? units : GROUPS;
        if (w.groups > 1) {
            w.partial = malloc((size_t)((w.groups - 1) * w.s2 * w.n) * size);
            if (!w.partial)
                w.groups = 1;
        }
        units = w.groups;
    }
    if (threads > units)
        threads = (int)units;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&ids[t], NULL, run, &w) == 0;
    run(&w);
    for (int t = 1; t < threads; t++)
        if (started[t])
            pthread_join(ids[t], NULL);
    if (!w.forward) {
        for (Py_ssize_t g = 1; g < w.groups; g++)
            add_group(&w, g);
        free(w.partial);
    }
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
    int f32, threads;
    /* forward:  (X, Wt, Z, m, n, s2, S, f32, threads), ldg unused
     * backward: (X, D,  G, m, n, s2, ldg, f32, threads) */
    if (!PyArg_ParseTuple(args, "y*y*w*nnnnpi", &X, &W, &out, &m, &n, &s2,
                          forward ? &S : &ldg, &f32, &threads))
        return NULL;
    Py_ssize_t size = f32 ? 4 : 8, vl = f32 ? 16 : 8;
    int bad = m < 1 || n < 1 || s2 < 1 || threads < 1;
    if (forward)
        bad = bad || S < s2 || S % vl;
    else
        bad = bad || ldg < n;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "_kernels: inconsistent sizes");
    } else if (check_len(&X, m * n, size, "X") == 0
               && (forward ? check_len(&W, (n + 1) * S, size, "Wt") == 0
                             && check_len(&out, m * s2, size, "Z") == 0
                           : check_len(&W, m * s2, size, "D") == 0
                             && check_len(&out, (s2 - 1) * ldg + n, size, "G") == 0)) {
        Work w = {forward, f32, X.buf, W.buf, out.buf, NULL, m, n, s2, forward ? S : 0,
                  forward ? 0 : ldg, 1, NULL};
        Py_BEGIN_ALLOW_THREADS
        run_split(w, threads);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&X);
    PyBuffer_Release(&W);
    PyBuffer_Release(&out);
    if (PyErr_Occurred())
        return NULL;
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

static PyMethodDef methods[] = {
    {"forward", forward, METH_VARARGS,
     "forward(X, Wt, Z, m, n, s2, S, f32, threads): Z = X Wt[1:] + Wt[0], Z m×s2"},
    {"backward", backward, METH_VARARGS,
     "backward(X, D, G, m, n, s2, ldg, f32, threads): G[:, :n] = Dᵀ X, D m×s2"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "The products with X, in C (see nnopt/_accel.py).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__kernels(void)
{
    return PyModule_Create(&module);
}
