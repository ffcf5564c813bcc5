"""The full MNIST database, read from the files the user supplies.

MNIST (Yann LeCun, Corinna Cortes and Christopher J.C. Burges,
yann.lecun.com/exdb/mnist, redistributed under CC BY-SA 3.0) comes in two
common forms, both read here: the original four idx files, and the single
``mnist.npz`` that Keras saves. nnopt never downloads them.

The idx format: a 4-byte magic number (two zero bytes, a type byte, then the
number of dimensions), one big-endian 32-bit size per dimension, then the
values in row-major order. MNIST's images are ``0x00000803`` (unsigned bytes,
3 dimensions: count, rows, columns) and its labels ``0x00000801`` (unsigned
bytes, 1 dimension: count).
"""

import gzip
import math
import os
import struct
import zipfile
import zlib
from pathlib import Path
from types import MappingProxyType

import numpy as np

__all__ = ["load_mnist"]

_GZIP_MAGIC = b"\x1f\x8b"
_UNSIGNED_BYTE = 0x08
# The other idx element types, only to name them in an error message.
_IDX_TYPES = MappingProxyType({0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16",
                               0x0C: "int32", 0x0D: "float32", 0x0E: "float64"})
# Decompressed bytes are read into the result in pieces of this size, so that
# no temporary copy of a whole file is ever made (GzipFile.readinto would
# otherwise read the full length into a bytes object first).
_CHUNK = 1 << 20

# What each file holds: its name as published, then as some mirrors spell it.
# Each name is tried plain, then with .gz.
_IDX_FILES = MappingProxyType({
    "train images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
})
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_N_CLASSES = 10


def load_mnist(path, dtype=np.float64):
    """Read MNIST from its four idx files or from a Keras-style ``mnist.npz``.

    The user supplies the files; nothing is downloaded. The images come back
    flattened to rows of floats in [0, 1] and the labels as class indices,
    ready for `nnopt.train`.

    Parameters
    ----------
    path : str or os.PathLike
        Either a folder holding the four idx files, ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte`` (also spelled ``train-images.idx3-ubyte``
        and so on), each plain or gzipped with a ``.gz`` suffix; or the path
        of a ``.npz`` file holding ``x_train`` (m, rows, cols) or (m, n),
        ``y_train`` (m,), ``x_test`` and ``y_test``, as Keras saves it.
    dtype : {numpy.float64, numpy.float32}
        The floating type of the returned images.

    Returns
    -------
    X_train : ndarray of `dtype`, shape (m_train, rows * cols)
        One image per row, pixels row by row (``X_train[i].reshape(rows, cols)``
        displays it), grey levels scaled from 0..255 to [0, 1]. For MNIST,
        m_train = 60000 and rows = cols = 28, so n = 784.
    y_train : ndarray of intp, shape (m_train,)
        The digit shown, 0-9; it is also the class index for nnopt. intp is
        int64 on 64-bit platforms, as `nnopt.load_digits` gives.
    X_test : ndarray of `dtype`, shape (m_test, rows * cols)
        The test images in the same layout; m_test = 10000 for MNIST.
    y_test : ndarray of intp, shape (m_test,)
        Their digits.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist, or the folder lacks one of the idx files
        (the message lists every name looked for).
    ValueError
        If a file is malformed: a bad magic number, an element type other than
        unsigned byte, the wrong number of dimensions, fewer or more bytes than
        its header says, a damaged gzip stream; if images and labels differ in
        count, the training and test images differ in size, or a label lies
        outside 0..9; if an .npz lacks one of the four arrays or holds them
        with the wrong shapes or types; if `dtype` is not float32 or float64.
    TypeError
        If `path` is not a str or os.PathLike, or `dtype` is not a dtype.

    See Also
    --------
    nnopt.load_digits : The 5,000 MNIST digits bundled with nnopt, no files needed.

    Notes
    -----
    **Source.** MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C.
    Burges (yann.lecun.com/exdb/mnist) and is widely redistributed under
    CC BY-SA 3.0; keep that attribution wherever you ship it. nnopt does not
    download it: get the files yourself (from a mirror of the original site,
    or the ``mnist.npz`` of ``keras.datasets.mnist``) and pass their location.

    **Image size.** Any rows x cols is accepted, provided the training and
    test images agree, since the idx header states the size and files in the
    same format with other sizes exist (downsampled or cropped MNIST); the
    network's input layer checks n = rows * cols when training. Labels must
    be digits 0..9.

    **Which file.** Gzip is recognised by the file's first bytes, not by its
    name, so a decompressed file that kept its ``.gz`` name (or the reverse)
    reads correctly. When several spellings of one file are present, the
    first of ``train-images-idx3-ubyte``, ``train-images-idx3-ubyte.gz``,
    ``train-images.idx3-ubyte``, ``train-images.idx3-ubyte.gz`` is read.

    **Memory.** Each file's bytes are read once into a uint8 array (in 1 MiB
    pieces), converted to `dtype` in one copy and scaled in place,
    and dropped before the next file is read. So beyond the results (419 MiB
    for the full MNIST in float64, 209 MiB in float32) loading holds at most
    one uint8 copy of one file, 45 MiB for the training images. Nothing is
    allocated on the header's word alone: a plain file's length is checked
    against its header first, and a gzipped file's array grows (doubling) as
    its stream is read, since the decompressed length shows only at its end.
    So a damaged header that claims more than the file holds gives the
    ValueError above, not an allocation of what it claims.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            "path must be a str or os.PathLike naming a folder of idx files or an .npz file; "
            f"got {type(path).__name__}"
        )
    dtype = _float_dtype(dtype)
    path = Path(path)
    if path.is_dir():
        return _load_idx_folder(path, dtype)
    if path.is_file():
        return _load_npz(path, dtype)
    raise FileNotFoundError(
        f"load_mnist: {str(path)!r} does not exist; give a folder holding the four MNIST idx files "
        "or the path of an mnist.npz"
    )


def _float_dtype(dtype):
    """np.dtype(dtype), which must be float32 or float64."""
    try:
        result = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype must be numpy.float64 or numpy.float32; got {dtype!r} ({err})") from None
    if result.type not in (np.float64, np.float32):
        raise ValueError(f"dtype must be numpy.float64 or numpy.float32; got {result}")
    return result


def _scaled(pixels, dtype):
    """uint8 grey levels (m, ...) as `dtype` (m, n) in [0, 1], with one copy."""
    X = pixels.reshape(pixels.shape[0], -1).astype(dtype)
    X /= 255  # divided, not multiplied by 1/255: 255 becomes exactly 1.0
    return X


# --- idx files -------------------------------------------------------------------

def _find_idx_files(folder):
    """{what: path} of the four idx files, or a FileNotFoundError listing the missing."""
    found, missing = {}, []
    for what, stems in _IDX_FILES.items():
        names = [name for stem in stems for name in (stem, stem + ".gz")]
        hit = next((folder / name for name in names if (folder / name).is_file()), None)
        if hit is None:
            missing.append(f"{what} (looked for {', '.join(names)})")
        found[what] = hit
    if missing:
        hint = ""
        npz = sorted(p.name for p in folder.glob("*.npz"))
        if npz:
            hint = f"; the folder holds {', '.join(npz)}: pass that file's path to read it instead"
        raise FileNotFoundError(
            f"load_mnist: the folder {str(folder)!r} lacks {'; '.join(missing)}{hint}"
        )
    return found


def _open_idx(path):
    """The file opened for reading its decompressed bytes (gzip or plain)."""
    with open(path, "rb") as f:
        compressed = f.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _read_header(f, path, ndim):
    """The sizes from an idx header, after checking its magic number."""
    magic = f.read(4)
    if len(magic) < 4:
        raise ValueError(f"{path}: truncated, the file ends inside the 4-byte idx magic number")
    if magic[:2] != b"\x00\x00":
        raise ValueError(
            f"{path}: bad magic number 0x{magic.hex()}; an idx file starts with two zero bytes "
            f"(MNIST's are 0x0000080{ndim}), so this is not an idx file"
        )
    if magic[2] != _UNSIGNED_BYTE:
        kind = _IDX_TYPES.get(magic[2], "an unknown type")
        raise ValueError(
            f"{path}: the idx type byte is 0x{magic[2]:02x} ({kind}); MNIST's files hold unsigned "
            "bytes, type 0x08"
        )
    if magic[3] != ndim:
        raise ValueError(
            f"{path}: the idx header gives {magic[3]} dimension(s); MNIST's "
            f"{'images have 3 (count, rows, cols)' if ndim == 3 else 'labels have 1 (count)'}"
        )
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"{path}: truncated, the file ends inside the idx header's {ndim} sizes")
    return struct.unpack(f">{ndim}I", sizes)


def _read_body(f, path, shape, available=None):
    """The uint8 values following the header, exactly prod(shape) of them.

    `available` is the number of bytes left in the file when it is known (a
    plain file), None for a gzip stream, whose length shows only once read.
    """
    n = math.prod(shape)  # Python's ints: three 32-bit sizes can multiply past int64
    said = f"the header says {' x '.join(map(str, shape))} = {n} bytes of data"
    # A damaged header may claim gigabytes in a 1 KB file; what the file
    # cannot hold must be refused, not allocated. A plain file's length is
    # known before reading. A gzip stream's array starts small and doubles
    # as bytes arrive, so a false claim costs at most twice what the stream
    # really holds.
    if available is not None and available < n:
        raise ValueError(f"{path}: truncated, {said} but the file holds only {available}")
    out = np.empty(n if available is not None else min(n, _CHUNK), dtype=np.uint8)
    got = 0
    while got < n:
        if got == out.size:
            # no view of out is alive (the memoryview below is released), and
            # refcheck would fail spuriously under a debugger holding the frame
            out.resize(min(2 * out.size, n), refcheck=False)
        with memoryview(out) as view:
            k = f.readinto(view[got:got + _CHUNK])
        if not k:
            break
        got += k
    if got < n:
        raise ValueError(f"{path}: truncated, {said} but the file holds only {got}")
    if f.read(1):
        raise ValueError(
            f"{path}: more bytes than the header's {' x '.join(map(str, shape))} = {n}; "
            "the file is not a single idx array"
        )
    return out.reshape(shape)


def _read_idx(path, ndim, count=None):
    """An idx file's uint8 array, with `count` entries along the first axis if given."""
    try:
        with _open_idx(path) as f:
            shape = _read_header(f, path, ndim)
            if count is not None and shape[0] != count:
                raise ValueError(
                    f"{path}: the header gives {shape[0]} images but the matching labels file "
                    f"has {count} labels; they must pair up one to one"
                )
            available = None if isinstance(f, gzip.GzipFile) else os.fstat(f.fileno()).st_size - f.tell()
            return _read_body(f, path, shape, available)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: the gzip stream is damaged or cut short ({err})") from err


def _checked_labels(raw, where):
    """uint8 labels as intp, after checking they are digits."""
    if raw.size and raw.max() >= _N_CLASSES:
        i = int(np.argmax(raw >= _N_CLASSES))
        raise ValueError(f"{where}: label {raw[i]} at index {i}; MNIST's labels are the digits 0..9")
    return raw.astype(np.intp)


def _same_image_size(train_shape, test_shape, where):
    if tuple(train_shape[1:]) != tuple(test_shape[1:]):
        raise ValueError(
            f"{where}: the training images are {' x '.join(map(str, train_shape[1:]))} but the test "
            f"images are {' x '.join(map(str, test_shape[1:]))}; both sets need the same size"
        )


def _load_idx_folder(folder, dtype):
    files = _find_idx_files(folder)
    y_train = _checked_labels(_read_idx(files["train labels"], 1), files["train labels"])
    y_test = _checked_labels(_read_idx(files["test labels"], 1), files["test labels"])
    # Each raw uint8 array is dropped as soon as it is converted, so at most
    # one is alive beside the results.
    raw = _read_idx(files["train images"], 3, count=y_train.size)
    train_shape = raw.shape
    X_train = _scaled(raw, dtype)
    raw = _read_idx(files["test images"], 3, count=y_test.size)
    _same_image_size(train_shape, raw.shape, f"{files['train images']} and {files['test images']}")
    X_test = _scaled(raw, dtype)
    return X_train, y_train, X_test, y_test


# --- Keras-style .npz ---------------------------------------------------------------

def _load_npz(path, dtype):
    # The file is opened here rather than by np.load, which leaves it open
    # when the zip directory cannot be read.
    with open(path, "rb") as f:
        try:
            npz = np.load(f, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(
                f"{path}: not a readable .npz file ({err}); a file path must be a Keras-style mnist.npz, "
                "and idx files are read by passing the folder that holds them"
            ) from err
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError(
                f"{path}: holds a single .npy array, not an .npz archive with {', '.join(_NPZ_KEYS)}"
            )
        with npz:
            return _npz_arrays(npz, path, dtype)


def _npz_arrays(npz, path, dtype):
    missing = [key for key in _NPZ_KEYS if key not in npz.files]
    if missing:
        raise ValueError(
            f"{path}: lacks {', '.join(missing)}; a Keras-style mnist.npz holds "
            f"{', '.join(_NPZ_KEYS)} and this one holds {', '.join(npz.files) or 'nothing'}"
        )
    y_train = _npz_labels(_npz_member(npz, path, "y_train"), path, "y_train")
    y_test = _npz_labels(_npz_member(npz, path, "y_test"), path, "y_test")
    # As for idx files: one raw array at a time beside the results.
    raw = _npz_images(_npz_member(npz, path, "x_train"), path, "x_train", y_train.size)
    train_shape = raw.shape
    X_train = _scaled(raw, dtype)
    raw = _npz_images(_npz_member(npz, path, "x_test"), path, "x_test", y_test.size)
    if raw.ndim != len(train_shape):
        raise ValueError(
            f"{path}: x_train has shape {train_shape} but x_test {raw.shape}; store both "
            "as (m, rows, cols) or both as (m, n)"
        )
    _same_image_size(train_shape, raw.shape, path)
    X_test = _scaled(raw, dtype)
    return X_train, y_train, X_test, y_test


def _npz_member(npz, path, key):
    """One array of the archive, or a ValueError naming it if it cannot be read."""
    try:
        return npz[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(f"{path}: {key} could not be read, the archive is damaged or holds objects ({err})") from err


def _npz_labels(y, path, key):
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"{path}: {key} must be 1-D integer labels (m,); got dtype {y.dtype}, shape {y.shape}")
    if y.size and y.min() < 0:
        i = int(np.argmax(y < 0))
        raise ValueError(f"{path}: {key} has label {y[i]} at index {i}; MNIST's labels are the digits 0..9")
    return _checked_labels(y, f"{path}: {key}")


def _npz_images(x, path, key, count):
    if x.dtype != np.uint8 or x.ndim not in (2, 3):
        raise ValueError(
            f"{path}: {key} must hold uint8 grey levels 0..255 of shape (m, rows, cols) or (m, n); "
            f"got dtype {x.dtype}, shape {x.shape}"
        )
    if x.shape[0] != count:
        label_key = "y" + key[1:]
        raise ValueError(
            f"{path}: {key} has {x.shape[0]} images but {label_key} has {count} labels; "
            "they must pair up one to one"
        )
    return x
