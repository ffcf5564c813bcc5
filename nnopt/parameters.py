"""The parameter vector: unrolling Θ^(1), ..., Θ^(L-1) into one vector and back.

SciPy's optimizers work on a single 1-D vector, so the weight matrices are
stored end to end in one float64 array. Θ^(l) has shape (s_{l+1}, s_l + 1):
one row per unit of layer l+1, and its first column multiplies the bias unit.
Each matrix is laid out row-major (C order). Octave's ``Theta(:)`` is
column-major, so an Octave-unrolled vector is not an nnopt one: pass the
matrices between the two (as `nnopt.load_mat` does), not the vector.
"""

import functools
import numbers

import numpy as np

__all__ = ["layer_shapes", "n_params", "unroll", "reshape", "random_init"]


def _check_layer_sizes(layer_sizes):
    """Return `layer_sizes` as a tuple of ints, or raise a clear error."""
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
        raise TypeError(
            "layer_sizes must be a sequence of layer widths such as (784, 25, 10); "
            f"got {layer_sizes!r}"
        )
    if len(layer_sizes) < 2:
        raise ValueError(
            "layer_sizes needs at least 2 entries (input and output layer); "
            f"got {tuple(layer_sizes)!r}"
        )
    sizes = []
    for s in layer_sizes:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
            raise TypeError(
                f"layer_sizes must hold whole numbers; got {tuple(layer_sizes)!r}"
            )
        if s < 1:
            raise ValueError(
                f"every entry of layer_sizes must be at least 1; got {tuple(layer_sizes)!r}"
            )
        sizes.append(int(s))
    return tuple(sizes)


def layer_shapes(layer_sizes):
    """Shapes of the weight matrices of a network.

    Parameters
    ----------
    layer_sizes : sequence of int, length L
        Units in each layer, input first and output last, without bias units.

    Returns
    -------
    list of tuple
        ``[(s_2, s_1 + 1), ..., (s_L, s_{L-1} + 1)]``, one shape per Θ^(l).
    """
    s = _check_layer_sizes(layer_sizes)
    return [(s[l + 1], s[l] + 1) for l in range(len(s) - 1)]


def _offsets(layer_sizes):
    """Shape and start of each Θ^(l) in the unrolled vector, and the total length."""
    return _offsets_of(_check_layer_sizes(layer_sizes))


@functools.lru_cache(maxsize=64)
def _offsets_of(sizes):
    # computed once per architecture: reshape runs twice in every evaluation
    shapes = tuple((sizes[l + 1], sizes[l] + 1) for l in range(len(sizes) - 1))
    starts, total = [], 0
    for rows, cols in shapes:
        starts.append(total)
        total += rows * cols
    return shapes, tuple(starts), total


def n_params(layer_sizes):
    """Length of the unrolled parameter vector: Σ s_{l+1}·(s_l + 1)."""
    return _offsets(layer_sizes)[2]


def unroll(thetas):
    """Unroll the weight matrices into one parameter vector.

    Parameters
    ----------
    thetas : sequence of array_like
        Θ^(l) of shape (s_{l+1}, s_l + 1) for l = 1..L-1, in layer order.

    Returns
    -------
    theta : ndarray of float64, shape (Σ s_{l+1}·(s_l + 1),)
        Each Θ^(l) flattened in row-major order, one after the other.
    """
    if isinstance(thetas, np.ndarray) or not hasattr(thetas, "__len__") or len(thetas) == 0:
        raise TypeError(
            "thetas must be a non-empty list of 2-D weight matrices; "
            f"got {type(thetas).__name__}"
        )
    mats = [np.asarray(t, dtype=np.float64) for t in thetas]
    for l, t in enumerate(mats, start=1):
        if t.ndim != 2:
            raise ValueError(f"thetas[{l - 1}] (Θ^({l})) must be 2-D; got shape {t.shape}")
    for l in range(1, len(mats)):
        if mats[l].shape[1] != mats[l - 1].shape[0] + 1:
            raise ValueError(
                f"Θ^({l + 1}) has shape {mats[l].shape} but Θ^({l}) has "
                f"{mats[l - 1].shape[0]} rows, so Θ^({l + 1}) needs "
                f"{mats[l - 1].shape[0] + 1} columns (one for the bias unit)"
            )
    return np.concatenate([t.ravel() for t in mats])


def reshape(theta, layer_sizes):
    """Views of the weight matrices inside an unrolled parameter vector.

    Parameters
    ----------
    theta : ndarray, shape (n_params,)
        The unrolled parameters, as made by `unroll`.
    layer_sizes : sequence of int, length L
        Units in each layer, for example ``(784, 25, 10)``.

    Returns
    -------
    thetas : list of ndarray
        Θ^(l) of shape (s_{l+1}, s_l + 1), each a view sharing memory with
        `theta` (writing into one writes into the other) when `theta` is a
        contiguous 1-D ndarray.
    """
    shapes, starts, total = _offsets(layer_sizes)
    theta = np.asarray(theta)
    if theta.ndim != 1:
        raise ValueError(f"theta must be a 1-D parameter vector; got shape {theta.shape}")
    if theta.size != total:
        raise ValueError(
            f"theta has length {theta.size}, but layer_sizes "
            f"{tuple(layer_sizes)!r} needs {total} parameters"
        )
    return [
        theta[start:start + rows * cols].reshape(rows, cols)
        for (rows, cols), start in zip(shapes, starts)
    ]


def _as_generator(seed):
    """A numpy Generator from an int seed, a Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative int; got {seed}")
        return np.random.default_rng(seed)
    raise TypeError(
        f"seed must be None, an int or a numpy.random.Generator; got {type(seed).__name__}"
    )


def random_init(layer_sizes, epsilon=None, seed=None):
    """Symmetry-breaking random initialization of every Θ^(l).

    Parameters
    ----------
    layer_sizes : sequence of int, length L
        Units in each layer, input first.
    epsilon : float or None
        Half-width of the uniform interval [−ε, ε]. None chooses, per layer,
        ε = √6 / √(s_l + s_{l+1}), the course's rule (0.12 for 400-25-10).
    seed : int, numpy.random.Generator or None
        Source of randomness; the global numpy state is never used.

    Returns
    -------
    theta : ndarray of float64, shape (n_params,)
        The unrolled initial parameters.

    Notes
    -----
    Equal weights would give every hidden unit the same gradient and keep
    them equal forever; drawing them at random breaks that symmetry.
    """
    sizes = _check_layer_sizes(layer_sizes)
    if epsilon is not None:
        if not isinstance(epsilon, numbers.Real) or not np.isfinite(epsilon) or epsilon <= 0:
            raise ValueError(f"epsilon must be a positive finite number or None; got {epsilon!r}")
    rng = _as_generator(seed)
    theta = np.empty(n_params(sizes))
    for l, t in enumerate(reshape(theta, sizes)):
        eps = epsilon if epsilon is not None else np.sqrt(6.0) / np.sqrt(sizes[l] + sizes[l + 1])
        t[...] = rng.uniform(-eps, eps, size=t.shape)
    return theta
