"""J(θ) and its gradient over a Dask array X, each row block evaluated where it lives.

The cost is a sum over examples, so a cluster can share it out: every
worker holds some blocks of rows of X (and their targets), checked and cast
once, and for each θ it returns its blocks' share of J and of the Δ^(l);
the client adds the shares and λ's term. SciPy's optimizer stays on the
client; θ goes to the workers once per evaluation (one broadcast), and each
block sends back one number and one gradient-sized vector. Dask and
distributed do the moving and the scheduling: nnopt has no cluster of its
own (``pip install nnopt[dask]``; a `distributed.Client` must be running).
"""

from dataclasses import replace

import numpy as np

from ._problem import bind, is_dask
from .backprop import _add_regularization, evaluate, regularization
from .parameters import reshape

__all__ = ["DaskProblem"]


def _client():
    try:
        from distributed import default_client
    except ImportError:
        raise ImportError("a Dask array X needs Dask's distributed scheduler: "
                          "pip install 'nnopt[dask]'") from None
    try:
        return default_client()
    except ValueError:
        raise ValueError("X is a Dask array, but no distributed.Client is running: start one "
                         "(for example distributed.Client(distributed.LocalCluster())) "
                         "before evaluating or training on it") from None


def _bind_block(X, targets, w, scale, settings):
    """On a worker: one block's Problem, checked and cast, with the whole data's scale and λ = 0."""
    p = bind(np.asarray(X), targets, 0.0, settings["layer_sizes"], settings["loss"],
             settings["dtype"], settings["activation"], settings["output"], w,
             check_finite=True, working_memory=settings["working_memory"])
    return replace(p, scale=scale)


def _evaluate_block(theta, p, gradient):
    """On a worker: a block's share of J (and of the gradient), without λ's term."""
    return evaluate(theta, p, gradient=gradient, check=False)


class DaskProblem:
    """The blocks of rows of a Dask X, bound on the workers, and how to evaluate over them.

    Parameters
    ----------
    X : dask.array.Array, shape (m, n)
        Blocked by rows (any column chunks are joined: each block holds whole rows).
    y : array_like or dask.array.Array, shape (m,) or (m, K)
        The targets, as `nnopt.cost` takes them. They are small beside X
        and are read on the client, then sent with their blocks once.
    lam, layer_sizes, loss, dtype, activation, output, sample_weight, working_memory
        As for `nnopt.Objective`.
    """

    def __init__(self, X, y, lam, layer_sizes, loss=None, dtype=None, activation="sigmoid",
                 output="sigmoid", sample_weight=None, working_memory=None):
        client = _client()
        from distributed import wait  # there: _client found distributed
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D with shape (m, n); got {X.ndim}-D shape {X.shape}")
        X = X.rechunk({1: -1})  # whole rows in every block
        y = np.asarray(y.compute() if is_dask(y) else y)
        w = sample_weight.compute() if is_dask(sample_weight) else sample_weight
        # the checks of everything but X's values, on the client (X as an
        # out-of-core array: its shape and dtype): the messages of an in-memory X
        probe = bind(X, y, lam, layer_sizes, loss, dtype, activation, output, w,
                     working_memory=working_memory)
        self.problem = probe
        settings = dict(layer_sizes=probe.layer_sizes, loss=probe.loss, dtype=probe.dtype,
                        activation=probe.activation, output=probe.output,
                        working_memory=working_memory)
        targets = y if probe.idx is None else probe.idx
        bounds = np.cumsum((0,) + X.chunks[0])
        self._blocks = []
        for block, start, stop in zip(X.to_delayed().ravel(), bounds[:-1], bounds[1:]):
            if stop == start:
                continue
            rows = slice(int(start), int(stop))
            x = client.compute(block)  # the block's rows, kept on a worker
            self._blocks.append(client.submit(
                _bind_block, x, targets[rows], None if probe.w is None else probe.w[rows],
                probe.scale, settings, pure=False))
        # the blocks' checks (NaN in X, ...) raise here, once; waited for, not
        # gathered: each bound block holds its rows of X, which stay on its worker
        wait(self._blocks)
        for block in self._blocks:
            if block.status == "error":
                block.result()  # raises the worker's exception
        self._client = client

    def evaluate(self, theta, gradient=True):
        """J(θ) and ∂J/∂θ (or None), from every block's share.

        Parameters
        ----------
        theta : ndarray of float64, shape (n_params,)
        gradient : bool

        Returns
        -------
        J : float
        grad : ndarray of float64, shape (n_params,), or None
        """
        p = self.problem
        [theta_f] = self._client.scatter([theta], broadcast=True, hash=False)
        shares = self._client.gather([self._client.submit(_evaluate_block, theta_f, b, gradient, pure=False)
                                      for b in self._blocks])
        thetas = reshape(theta.astype(p.dtype, copy=False), p.layer_sizes)
        J = sum(s[0] for s in shares) + regularization(thetas, p.lam, p.scale)
        if not gradient:
            return J, None
        g = np.sum([s[1] for s in shares], axis=0)
        _add_regularization(g, thetas, p)
        return J, g
