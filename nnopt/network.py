"""`Network`: what a network is, described once.

Every function that evaluates a network needs the same four things: the
units per layer, the hidden units' activation, the output units and the
loss. A `Network` holds them, checked when it is made; the core receives
one and trusts it, instead of taking and re-checking four arguments at
every call.
"""

from dataclasses import dataclass

from .activations import ACTIVATIONS
from .losses import DEFAULT_LOSS, LOSSES, PAIRS
from .parameters import _check_layer_sizes, _offsets_of, layer_shapes, n_params, reshape

__all__ = ["Network"]


def check_choice(value, table, name):
    """Return value if it names an entry of `table`, else a ValueError listing them."""
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"{name} must be one of {sorted(table)}; got {value!r}")
    return value


@dataclass(frozen=True)
class Network:
    """The shape and the units of a network: layer sizes, activation, output and loss.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first, for example (784, 25, 10).
    activation : {"sigmoid", "tanh", "relu"}
        The hidden units (`nnopt.activations.ACTIVATIONS`).
    output : {"sigmoid", "softmax", "identity"}
        The output units.
    loss : {None, "cross_entropy", "squared_error"}
        The cost of one example; None takes the output's own
        (`nnopt.losses.DEFAULT_LOSS`). A pair not in `nnopt.losses.PAIRS`
        is refused.

    Attributes
    ----------
    layer_sizes : tuple of int
    activation, output, loss : str
        As checked; `loss` is never None.
    unit : nnopt.activations.Unit
        The hidden units' row of the activations table.
    pair : nnopt.losses.Pair
        The (output, loss) row of the losses table.
    """

    layer_sizes: tuple
    activation: str = "sigmoid"
    output: str = "sigmoid"
    loss: str = None

    def __post_init__(self):
        # a frozen dataclass: the checked values are written once, here
        set_ = object.__setattr__
        set_(self, "layer_sizes", _check_layer_sizes(self.layer_sizes))
        # where each Θ^(l) sits in θ, for `thetas` (called for every block of every evaluation)
        set_(self, "_offsets", _offsets_of(self.layer_sizes))
        check_choice(self.activation, ACTIVATIONS, "activation")
        check_choice(self.output, DEFAULT_LOSS, "output")
        if self.loss is None:
            set_(self, "loss", DEFAULT_LOSS[self.output])
        check_choice(self.loss, LOSSES, "loss")
        if (self.output, self.loss) not in PAIRS:
            pairs = ", ".join(f"({o!r}, {l!r})" for o, l in PAIRS)
            raise ValueError(f"output={self.output!r} does not go with loss={self.loss!r}; "
                             f"the pairs are {pairs}")

    @property
    def unit(self):
        return ACTIVATIONS[self.activation]

    @property
    def pair(self):
        return PAIRS[self.output, self.loss]

    @property
    def n_features(self):
        """s_1, the input layer's units: the columns of X."""
        return self.layer_sizes[0]

    @property
    def K(self):
        """s_L, the output units."""
        return self.layer_sizes[-1]

    @property
    def n_params(self):
        """Length of the unrolled θ."""
        return n_params(self.layer_sizes)

    @property
    def shapes(self):
        """Shape of each Θ^(l): [(s_2, s_1 + 1), ..., (s_L, s_{L-1} + 1)]."""
        return layer_shapes(self.layer_sizes)

    def thetas(self, theta):
        """Θ^(1), ..., Θ^(L-1) as views of the unrolled `theta`."""
        shapes, starts, total = self._offsets
        if getattr(theta, "shape", None) != (total,):
            return reshape(theta, self.layer_sizes)  # which says what is wrong, or takes an array-like
        return [theta[start:start + rows * cols].reshape(rows, cols)
                for (rows, cols), start in zip(shapes, starts)]
