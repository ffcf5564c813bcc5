"""A Dask array X: each chunk of rows checked and evaluated on the worker that holds it.

The cost is a sum over examples, so a cluster can share it out: every
worker binds its chunks of X (with their targets) once, as a `Problem`, and
for each θ returns each chunk's sum of the blocks' shares, computed by the
very function that evaluates an array in memory (`Problem.sums`). The
client adds the chunks' sums in order (`add_in_order`) and λ's term once.
SciPy's optimizer stays on the client; θ goes to the workers once per
evaluation (one broadcast). Dask and distributed do the moving and the
scheduling: nnopt has no cluster of its own (``pip install nnopt[dask]``;
a `distributed.Client` must be running).
"""

import math

import numpy as np

from . import _validation as v
from ._problem import (Problem, add_in_order, block_rows, check_features, check_sample_weight,
                       check_targets, in_dtype, is_dask)

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


def _bind_chunk(X, t, w, fields, start):
    """On a worker: one chunk's Problem, X read, cast and checked (NaN and inf named by their row in X)."""
    X = in_dtype(np.asarray(X), fields["dtype"])
    v.check_finite_array(X, "X", start)
    return Problem(X=X, t=t, w=w, start=start, **fields)


def _chunk_sums(p, share, *args):
    """On a worker: the chunk's blocks' shares, added in order."""
    return p.sums(share, *args)


class DaskProblem:
    """The chunks of rows of a Dask X, bound on the workers; evaluated as a `Problem` is.

    Parameters
    ----------
    X : dask.array.Array, shape (m, n)
        Chunked by rows (column chunks are joined: each chunk holds whole
        rows), with known chunk sizes.
    y : array_like or dask.array.Array, shape (m,) or (m, K)
        The targets. They are small beside X: read on the client, then
        sent with their chunks once.
    lam : float
    net : Network
    dtype, sample_weight, working_memory
        As for `nnopt.Objective`.

    Attributes
    ----------
    net, X, t, w, scale, lam, dtype, block_rows
        As those of a `Problem`; X is the Dask array.
    """

    def __init__(self, X, y, lam, net, dtype=None, sample_weight=None, working_memory=None):
        client = _client()
        from distributed import wait  # there: _client found distributed
        if X.ndim == 2 and any(math.isnan(c) for c in X.chunks[0]):
            raise ValueError(
                "X is a Dask array whose chunk sizes are unknown (as boolean indexing such as "
                "X[mask] makes them), so its rows cannot be counted or matched with y; call "
                "X.compute_chunk_sizes() (or X = X.persist(); X.compute_chunk_sizes()) first")
        check_features(X, net.n_features)
        X = X.rechunk({1: -1})  # whole rows in every chunk
        self.net, self.X = net, X
        self.lam = v.check_lam(lam)
        self.dtype = v.check_dtype(dtype, X)
        self.t = check_targets(y.compute() if is_dask(y) else y, X.shape[0], net.K, net.output)
        if self.t.ndim == 2:
            self.t = v.cast_checked(self.t, self.dtype, "y")
        self.w = check_sample_weight(sample_weight.compute() if is_dask(sample_weight) else sample_weight,
                                     X.shape[0])
        self.scale = 1.0 / (X.shape[0] if self.w is None else float(self.w.sum()))
        self.block_rows = block_rows(net, self.dtype, working_memory)
        # each chunk holds its share of the data: λ's term is added once, on the client
        fields = dict(net=net, scale=self.scale, lam=0.0, dtype=self.dtype, block_rows=self.block_rows)
        bounds = np.cumsum((0,) + X.chunks[0])
        self._chunks = []
        for chunk, start, stop in zip(X.to_delayed().ravel(), bounds[:-1], bounds[1:]):
            if stop == start:
                continue
            rows = slice(int(start), int(stop))
            self._chunks.append(client.submit(
                _bind_chunk, client.compute(chunk), self.t[rows], None if self.w is None else self.w[rows],
                fields, int(start), pure=False))
        # the chunks' checks (NaN in X, ...) raise here, once; waited for, not
        # gathered: each bound chunk holds its rows of X, which stay on its worker
        wait(self._chunks)
        for chunk in self._chunks:
            if chunk.status == "error":
                chunk.result()  # raises the worker's exception
        self._client = client

    @property
    def m(self):
        return self.X.shape[0]

    def sums(self, share, theta, *args, scratch=None):
        """Σ over the chunks (each the sum over its blocks) of ``share(block, theta, *args)``, in order.

        `scratch` is not sent: each chunk's sum uses one of its own, on its worker.
        """
        [theta_f] = self._client.scatter([theta], broadcast=True, hash=False)
        futures = [self._client.submit(_chunk_sums, c, share, theta_f, *args, pure=False)
                   for c in self._chunks]
        return add_in_order(self._client.gather(futures))
