"""Make digits_weights.npz: the trained weights nnopt ships where the course ships ex4weights.mat.

Usage::

    python data/make_weights.py

Trains a 784-25-10 network once on the bundled digits (the 4,000 training
examples of ``train_test_split(X, y, test_size=0.2, seed=0)``, so the 1,000
held out stay unseen), with λ = 1, TNC for 50 iterations (the course trains
for 50) from the initial weights of seed 0, and writes its Θ^(1) (25, 785) and
Θ^(2) (10, 26) as float64 arrays ``Theta1`` and ``Theta2`` with
`numpy.savez_compressed` (about 150 KB; no pickle). `nnopt.load_digit_weights`
reads them.

It then prints the numbers the digits notebook checks, as the course's ex4.m
checks its own: J at these weights on the training examples for λ = 0, 1 and 3.
Paste them into notebooks/digits.ipynb after a rebuild. On another machine or
BLAS the weights can differ in their last digits (the optimizer amplifies
rounding), so a rebuild is a new file, not a bit-exact copy.

This folder is installed as the package ``nnopt._data``, so this script ends up
installed as a module too; every import is inside a function so that importing
it does nothing.
"""

LAYER_SIZES = (784, 25, 10)
LAM = 1.0
MAXITER = 50
SEED = 0


def main():
    from pathlib import Path

    import numpy as np

    import nnopt
    from nnopt.datasets import load_digit_weights

    X, y = nnopt.load_digits()
    X_train, X_test, y_train, y_test = nnopt.train_test_split(X, y, test_size=0.2, seed=SEED)
    model = nnopt.train(X_train, y_train, lam=LAM, hidden_layer_sizes=LAYER_SIZES[1:-1], method="TNC",
                        maxiter=MAXITER, seed=SEED)
    out = Path(__file__).resolve().parent / "digits_weights.npz"
    theta1, theta2 = model.thetas
    np.savez_compressed(out, Theta1=theta1, Theta2=theta2)
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {model.n_iter} TNC iterations, "
          f"training accuracy {model.score(X_train, y_train):.2%}, "
          f"held-out accuracy {model.score(X_test, y_test):.2%}")
    theta = nnopt.unroll(load_digit_weights())  # as the notebook reads them back
    for lam in (0.0, 1.0, 3.0):
        J = nnopt.cost(theta, X_train, y_train, lam, LAYER_SIZES)
        print(f"J at these weights on the 4,000 training digits, λ = {lam:g}: {J:.6f}")


if __name__ == "__main__":
    main()
