"""Properties over many generated inputs (Hypothesis), for the defects a list
of hand-written cases misses.

- The cost and gradient depend on the values of X and y only: not on how
  they are laid out in memory (C or Fortran order, strided, reversed,
  broadcast, read-only, unaligned), their byte order, or their dtype. Each
  result is compared with the one on a plain float64 C-contiguous copy of
  the same values, tightly when the arithmetic is float64 and within
  float32's rounding when it is float32.
- Every refusal is a ValueError or TypeError whose message names the
  argument at fault.
- Labels of every kind survive `encode_labels` and a model's save and load.

The profile (tests/conftest.py) is deterministic and bounded; for a longer
random search, run ``pytest tests/test_properties.py --hypothesis-profile=thorough``.
"""

import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from scipy import sparse

import nnopt
from nnopt.model import Model
from nnopt.parameters import n_params
from nnopt.training import encode_labels

FUNCTIONS = {
    "cost": nnopt.cost,
    "regularized_gradient": nnopt.regularized_gradient,
    "cost_and_gradient": nnopt.cost_and_gradient,
    "forward_cost": nnopt.forward_cost,
}

# The dtypes X may come in, with the byte orders that differ from the machine's.
X_DTYPES = ["<f8", ">f8", "<f4", ">f4", "<i8", ">i4", "<i2", "u1", "?"]
X_LAYOUTS = ["C", "F", "strided", "reversed", "broadcast", "readonly", "unaligned"]
Y_FORMS = ["int64", "int32", ">i8", "uint8", "float64", "column", "strided", "reversed", "readonly",
           "list", "onehot", "onehot_f4", "onehot_bool", "onehot_F", "onehot_>f8"]


# ---------------------------------------------------------------------------
# Building the inputs. The values come from a seeded numpy generator (fast for
# a few thousand entries); Hypothesis draws the seed and every structural
# choice, and shrinks those.


def _values(rng, kind, scale, shape):
    if kind == "normal":
        return scale * rng.standard_normal(shape)
    if kind == "uniform01":
        return scale * rng.random(shape)
    if kind == "integers":
        return rng.integers(-3, 4, shape).astype(np.float64) * max(1.0, round(scale))
    if kind == "zeros":
        return np.zeros(shape)
    # mostly zeros, as in images: a fifth of the entries set
    return np.where(rng.random(shape) < 0.2, scale * rng.random(shape), 0.0)


def _typed(values, dtype):
    """`values` in `dtype`: rounded (and clipped) to what the dtype holds."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return (values > 0).astype(dt)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return np.clip(np.round(values), info.min, info.max).astype(dt)
    return values.astype(dt)


def _laid_out(A, layout):
    """An array holding A's values (2-D) in another memory layout."""
    if layout == "C":
        return np.ascontiguousarray(A)
    if layout == "F":
        return np.asfortranarray(A)
    if layout == "strided":
        # every other row and every third column of a larger array
        big = np.zeros((2 * A.shape[0] + 1, 3 * A.shape[1] + 2), dtype=A.dtype)
        view = big[1::2, 2::3]
        view[...] = A
        return view
    if layout == "reversed":
        return np.ascontiguousarray(A[::-1, ::-1])[::-1, ::-1]   # negative strides
    if layout == "broadcast":
        return np.broadcast_to(A[0], A.shape)                 # row stride 0, read-only
    if layout == "readonly":
        B = A.copy()
        B.flags.writeable = False
        return B
    # unaligned: the data one byte past an aligned buffer's start
    buffer = np.zeros(A.nbytes + 1, dtype=np.uint8)
    B = np.ndarray(A.shape, dtype=A.dtype, buffer=buffer, offset=1)
    B[...] = A
    return B


def _y_form(idx, K, form):
    """The class indices `idx` given as y in another form (all meaning the same classes)."""
    if form == "int64":
        return idx.astype(np.int64)
    if form == "int32":
        return idx.astype(np.int32)
    if form == ">i8":
        return idx.astype(">i8")
    if form == "uint8":
        return idx.astype(np.uint8)
    if form == "float64":
        return idx.astype(np.float64)
    if form == "column":
        # with one output unit an (m, 1) y is the target matrix (index 0 is target 1)
        return idx.reshape(-1, 1) if K > 1 else np.ones((idx.size, 1))
    if form == "strided":
        big = np.zeros(2 * idx.size, dtype=np.int64)
        big[::2] = idx
        return big[::2]
    if form == "reversed":
        return np.ascontiguousarray(idx[::-1])[::-1]
    if form == "readonly":
        y = idx.copy()
        y.flags.writeable = False
        return y
    if form == "list":
        return idx.tolist()
    onehot = np.eye(K)[idx]
    return {"onehot": onehot, "onehot_f4": onehot.astype(np.float32), "onehot_bool": onehot.astype(bool),
            "onehot_F": np.asfortranarray(onehot), "onehot_>f8": onehot.astype(">f8")}[form]


@st.composite
def problems(draw, max_m=300):
    """A network, θ and data: a dict of the cost functions' arguments, with X
    in float64, C-contiguous (the reference form), and y as int64 indices."""
    m = draw(st.integers(1, max_m))
    n = draw(st.integers(1, 12))
    hidden = draw(st.lists(st.integers(1, 9), min_size=0, max_size=2))
    K = draw(st.integers(1, 5))
    sizes = (n, *hidden, K)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["normal", "uniform01", "integers", "zeros", "images"]))
    scale = draw(st.sampled_from([1e-3, 1.0, 4.0, 255.0]))
    theta_scale = draw(st.sampled_from([0.0, 0.01, 0.12, 1.0, 4.0]))
    return {
        "theta": theta_scale * rng.uniform(-1, 1, n_params(sizes)),
        "values": _values(rng, kind, scale, (m, n)),
        "idx": rng.integers(0, K, m),
        "lam": draw(st.sampled_from([0.0, 0.5, 3.0])),
        "layer_sizes": sizes,
        "loss": draw(st.sampled_from(["cross_entropy", "squared_error"])),
    }


def _bound(p, X):
    """A bound on the size of the terms summed into J and the gradient, for
    the tolerances: |x| times each layer's growth of δ (|Θ| · units · max g' = 1/4)."""
    sizes = p["layer_sizes"]
    theta_max = float(np.abs(p["theta"]).max(initial=0.0))
    bound = max(1.0, float(np.abs(X).max()))
    for s in sizes[1:-1]:
        bound *= max(1.0, theta_max * s / 4)
    return bound * max(1.0, p["lam"] * theta_max)


# ---------------------------------------------------------------------------
# The cost and gradient do not depend on layout, byte order or dtype


@given(p=problems(), dtype=st.sampled_from(X_DTYPES), layout=st.sampled_from(X_LAYOUTS),
       y_form=st.sampled_from(Y_FORMS), compute=st.sampled_from([None, np.float64, np.float32]))
def test_cost_and_gradient_depend_on_the_values_only(p, dtype, layout, y_form, compute):
    typed = _typed(p["values"], dtype)
    if layout == "broadcast":
        typed = np.broadcast_to(typed[0], typed.shape)
    X = _laid_out(typed, layout)
    X_ref = np.ascontiguousarray(typed, dtype=np.float64)   # the same values, plainly
    assert X.dtype == np.dtype(dtype) and np.array_equal(X.astype(np.float64), X_ref)
    K = p["layer_sizes"][-1]
    y = _y_form(p["idx"], K, y_form)
    common = dict(lam=p["lam"], layer_sizes=p["layer_sizes"], loss=p["loss"])

    J_ref, g_ref = nnopt.cost_and_gradient(p["theta"], X_ref, p["idx"], **common)
    J, g = nnopt.cost_and_gradient(p["theta"], X, y, dtype=compute, **common)
    J_cost = nnopt.cost(p["theta"], X, y, dtype=compute, **common)
    J_forward = nnopt.forward_cost(p["theta"], X, y, dtype=compute, **common)
    g_alone = nnopt.regularized_gradient(p["theta"], X, y, dtype=compute, **common)

    in_float32 = compute is np.float32 or (compute is None and np.dtype(dtype).type is np.float32)
    eps = np.finfo(np.float32 if in_float32 else np.float64).eps
    bound = _bound(p, X_ref)
    # J sums m·K nonnegative terms (÷ m), each within a few ulps of |z| + 1,
    # z a sum of n + 1 products; the gradient sums m terms of size up to
    # `bound` (÷ m). Float32 rounds X's products, float64 only orders them
    # differently. In three runs of 3,000 random examples each the largest
    # errors were 20% of these tolerances in float64 and 10% in float32.
    J_tol = 8 * eps * (J_ref + K * (p["layer_sizes"][0] + 1) * bound * max(1.0, np.abs(p["theta"]).max()))
    g_tol = 8 * eps * bound * math.sqrt(X.shape[0]) * max(p["layer_sizes"])
    note(f"in_float32={in_float32} J_ref={J_ref!r} J={J!r} |Δg|max={np.abs(g - g_ref).max()!r} "
         f"J_tol={J_tol!r} g_tol={g_tol!r}")
    assert g.dtype == np.float64 and g.shape == g_ref.shape
    assert math.isfinite(J)
    assert abs(J - J_ref) <= J_tol
    assert np.abs(g - g_ref).max() <= g_tol
    # the functions agree with each other on the same input
    assert abs(J_cost - J) <= J_tol and abs(J_forward - J) <= J_tol
    assert np.abs(g_alone - g).max() <= g_tol


# ---------------------------------------------------------------------------
# Every refusal names its argument


def _breakers():
    """(argument, how it is broken): each a function (arguments, draw) -> bad value."""
    def X_columns(a, draw):
        n = a["X"].shape[1]
        return np.zeros((a["X"].shape[0], draw(st.integers(1, 20).filter(lambda c: c != n))))

    def X_nonfinite(a, draw):
        X = a["X"].astype(draw(st.sampled_from([np.float64, np.float32])))
        i, j = draw(st.integers(0, X.shape[0] - 1)), draw(st.integers(0, X.shape[1] - 1))
        X[i, j] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return X

    def y_count(a, draw):
        m = a["X"].shape[0]
        return np.zeros(draw(st.integers(0, 400).filter(lambda c: c != m)), dtype=int)

    def y_index(a, draw):
        y = a["y"].copy()
        y[draw(st.integers(0, y.size - 1))] = draw(st.sampled_from([-1, a["K"], a["K"] + 7, 2**40]))
        return y

    def y_fraction(a, draw):
        y = a["y"].astype(float)
        y[draw(st.integers(0, y.size - 1))] = draw(st.sampled_from([0.5, np.nan, np.inf, 1e300]))
        return y

    def y_targets(a, draw):
        Y = np.eye(a["K"])[a["y"]]
        Y[0, 0] = draw(st.sampled_from([-0.5, 1.5, np.nan]))
        return Y

    def sizes_first(a, draw):
        n = a["X"].shape[1]
        return (draw(st.integers(1, 20).filter(lambda c: c != n)), *a["layer_sizes"][1:])

    def sizes_entry(a, draw):
        sizes = list(a["layer_sizes"])
        sizes[draw(st.integers(1, len(sizes) - 1))] = draw(st.sampled_from([0, -3, 2.0, "4", None]))
        return tuple(sizes)

    def theta_length(a, draw):
        n = a["theta"].size
        return np.zeros(draw(st.integers(0, n + 20).filter(lambda c: c != n)))

    def theta_nonfinite(a, draw):
        theta = a["theta"].copy()
        theta[draw(st.integers(0, theta.size - 1))] = draw(st.sampled_from([np.nan, np.inf]))
        return theta

    return [
        ("X", X_columns),
        ("X", X_nonfinite),
        ("X", lambda a, draw: a["X"][0]),                                  # 1-D
        ("X", lambda a, draw: a["X"][..., None]),                          # 3-D
        ("X", lambda a, draw: a["X"][:0]),                                 # no rows
        ("X", lambda a, draw: a["X"].astype(str)),
        ("X", lambda a, draw: a["X"].astype(complex)),
        ("X", lambda a, draw: None),
        ("X", lambda a, draw: draw(st.sampled_from([sparse.csr_matrix, sparse.csc_matrix,
                                                     sparse.coo_matrix]))(a["X"])),
        ("y", y_count),
        ("y", y_index),
        ("y", y_fraction),
        ("y", y_targets),
        ("y", lambda a, draw: a["y"].astype(str)),
        ("y", lambda a, draw: np.eye(a["K"] + 1)[a["y"]]),                # K + 1 columns
        ("y", lambda a, draw: a["y"][:, None, None]),
        ("y", lambda a, draw: None),
        ("y", lambda a, draw: sparse.csr_matrix(np.eye(a["K"])[a["y"]])),
        ("lam", lambda a, draw: draw(st.sampled_from([-1.0, -1e-300, np.nan, np.inf, "1", True, None, 1j]))),
        ("layer_sizes", sizes_first),
        ("layer_sizes", sizes_entry),
        ("layer_sizes", lambda a, draw: a["layer_sizes"][:1]),
        ("layer_sizes", lambda a, draw: draw(st.sampled_from([(), 5, "3,2", None]))),
        ("theta", theta_length),
        ("theta", theta_nonfinite),
        ("theta", lambda a, draw: a["theta"].reshape(1, -1)),
        ("loss", lambda a, draw: draw(st.sampled_from(["hinge", "", "Cross_Entropy", 3]))),
        ("dtype", lambda a, draw: draw(st.sampled_from([np.int32, np.float16, "banana", complex]))),
    ]


BREAKERS = _breakers()


@given(p=problems(max_m=40), which=st.integers(0, len(BREAKERS) - 1),
       function=st.sampled_from(sorted(FUNCTIONS)), data=st.data())
def test_every_refusal_is_a_clear_error_naming_its_argument(p, which, function, data):
    name, breaker = BREAKERS[which]
    args = {"theta": p["theta"], "X": p["values"], "y": p["idx"], "lam": p["lam"],
            "layer_sizes": p["layer_sizes"], "loss": p["loss"], "dtype": None}
    args[name] = breaker(dict(args, K=p["layer_sizes"][-1]), data.draw)
    note(f"{name} = {args[name]!r}")
    with pytest.raises((ValueError, TypeError)) as info:
        FUNCTIONS[function](**args)
    message = str(info.value)
    # the argument's name as a word (X and y alone, not inside other words)
    assert re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message), message
    if name == "X" and sparse.issparse(args["X"]):
        assert "sparse matrices are not supported; use X.toarray()" in message


# ---------------------------------------------------------------------------
# Labels of every kind

LABEL_KINDS = {
    "ints": st.integers(-2**62, 2**62),
    "course": st.integers(1, 10),
    # whole numbers as floats: train takes them as classes
    "floats": st.one_of(st.integers(-2**53, 2**53).map(float), st.sampled_from([1e300, -2.0**60])),
    "strings": st.text(max_size=6),
    "bools": st.booleans(),
}
# any real number can be a model's class (training refuses fractions as classes)
MODEL_LABEL_KINDS = {**LABEL_KINDS, "fractions": st.floats(allow_nan=False, allow_infinity=False)}


@st.composite
def labels(draw, kinds=LABEL_KINDS):
    """(kind, a list of labels of one kind with at least 2 distinct values, as_object)."""
    kind = draw(st.sampled_from(sorted(kinds)))
    distinct = draw(st.lists(kinds[kind], min_size=2, max_size=12, unique=True))
    m = draw(st.integers(len(distinct), 60))
    picks = draw(st.lists(st.integers(0, len(distinct) - 1), min_size=m, max_size=m))
    # every class at least once
    values = distinct + [distinct[i] for i in picks[len(distinct):]]
    order = draw(st.permutations(range(len(values))))
    return kind, [values[i] for i in order], draw(st.booleans())


@given(labels())
def test_encode_labels_gives_sorted_classes_that_index_back_to_y(case):
    kind, values, as_object = case
    y = np.array(values, dtype=object) if as_object else np.array(values)
    given = y.tolist()  # a numpy string drops trailing NULs: '\0' becomes ''
    if len(set(given)) < 2:
        with pytest.raises(ValueError, match=r"y needs at least 2 classes"):
            encode_labels(y, len(given))
        return
    classes, idx = encode_labels(y, len(given))
    assert idx.shape == (len(given),) and idx.dtype.kind == "i"
    assert [classes[i] for i in idx] == given
    assert len(classes) == len(set(given))
    assert all(a < b for a, b in zip(classes.tolist(), classes.tolist()[1:]))


def _given(values, as_object):
    """The labels as an array, as a user would give them (an object array is what pandas gives)."""
    return np.array(values, dtype=object) if as_object else np.array(values)


def _model(classes, seed):
    """A 2-3-K network with random weights and these classes."""
    rng = np.random.default_rng(seed)
    return Model([rng.uniform(-2, 2, (3, 3)), rng.uniform(-2, 2, (len(classes), 4))], classes, 0.5)


@given(case=labels(MODEL_LABEL_KINDS), seed=st.integers(0, 2**32 - 1))
def test_a_model_saves_and_loads_labels_of_every_kind(case, seed):
    kind, values, as_object = case
    y = _given(values, as_object)
    classes = sorted(set(y.tolist()))
    model = _model(_given(classes, as_object), seed)
    X = np.random.default_rng(seed).standard_normal((len(values), 2))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        if any(isinstance(c, str) and c.endswith("\0") for c in classes):
            # only an object array still holds them: numpy's strings drop trailing NULs
            with pytest.raises(TypeError, match=r"classes_ holds Python objects \(str\) that no numeric or "
                                                r"string array holds exactly"):
                model.save(path)
            assert not path.exists()
            return
        model.save(path)
        loaded = nnopt.load(path)
    assert loaded.classes_.dtype != object
    assert loaded.classes_.tolist() == classes
    assert [type(c) for c in loaded.classes_.tolist()] == [type(c) for c in model.classes_.tolist()]
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.predict(X).tolist() == model.predict(X).tolist()
    assert loaded.score(X, y) == model.score(X, y)


@given(case=labels(MODEL_LABEL_KINDS), other=st.sampled_from(["strings", "numbers"]))
def test_score_refuses_labels_of_another_kind_and_takes_any_dtype_of_the_same(case, other):
    kind, values, as_object = case
    y = _given(values, as_object)
    model = _model(_given(sorted(set(y.tolist())), as_object), len(values))
    X = np.random.default_rng(len(values)).standard_normal((len(values), 2))
    given_kind = "strings" if kind == "strings" else "numbers"
    if other == given_kind:
        expected = np.mean([p == v for p, v in zip(model.predict(X).tolist(), y.tolist())])
        assert model.score(X, y) == pytest.approx(expected, abs=0)
        if given_kind == "numbers" and all(float(v) == v for v in values):
            # whole numbers given as floats still match their classes
            assert model.score(X, np.array(values, dtype=np.float64)) == pytest.approx(expected, abs=0)
    else:
        y = np.arange(len(values)) if other == "numbers" else np.array([f"c{i}" for i in range(len(values))])
        with pytest.raises(ValueError, match=rf"y holds {other}, but the model's classes are {given_kind}"):
            model.score(X, y)
