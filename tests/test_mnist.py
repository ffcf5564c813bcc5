"""load_mnist: MNIST's idx files (plain or gzipped) and Keras' mnist.npz.

Every test writes small files of its own; none needs the real MNIST.
"""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest

from nnopt.mnist import load_mnist

NAMES = {
    "train images": "train-images-idx3-ubyte",
    "train labels": "train-labels-idx1-ubyte",
    "test images": "t10k-images-idx3-ubyte",
    "test labels": "t10k-labels-idx1-ubyte",
}
ROWS, COLS = 4, 3  # small and not square, so that a rows/cols mix-up would show


def idx_bytes(a, type_byte=0x08, ndim=None):
    """An idx file's bytes for the uint8 array a (header fields overridable)."""
    ndim = a.ndim if ndim is None else ndim
    header = bytes([0, 0, type_byte, ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return header + a.astype(np.uint8).tobytes()


def write(path, data, compress=False):
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def digits():
    """Seeded uint8 images and labels: 7 training and 5 test examples.

    The pixels include 0 and 255, so that the scaling's end points are seen.
    """
    rng = np.random.default_rng(20)
    x_train = rng.integers(0, 256, size=(7, ROWS, COLS), dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(5, ROWS, COLS), dtype=np.uint8)
    x_train[0, 0, 0], x_train[0, 0, 1] = 0, 255
    y_train = np.array([0, 9, 3, 3, 1, 7, 5], dtype=np.uint8)
    y_test = np.array([2, 4, 6, 8, 0], dtype=np.uint8)
    return {"train images": x_train, "train labels": y_train, "test images": x_test, "test labels": y_test}


def make_folder(folder, digits, compress=False, dotted=False, **replace):
    """The four idx files in folder; `replace` maps a key of NAMES to other bytes."""
    folder.mkdir(exist_ok=True)
    for what, name in NAMES.items():
        if dotted:
            name = name.replace("-idx", ".idx")
        if compress:
            name += ".gz"
        data = replace.get(what.replace(" ", "_"), idx_bytes(digits[what]))
        write(folder / name, data, compress)
    return folder


def assert_loaded(result, digits, dtype=np.float64):
    X_train, y_train, X_test, y_test = result
    for X, key in ((X_train, "train images"), (X_test, "test images")):
        raw = digits[key]
        assert X.shape == (raw.shape[0], ROWS * COLS) and X.dtype == dtype
        # row by row: X[i].reshape(rows, cols) is the image
        np.testing.assert_allclose(X.reshape(raw.shape), raw / 255.0, rtol=1e-7 if dtype == np.float32 else 1e-15)
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    for y, key in ((y_train, "train labels"), (y_test, "test labels")):
        assert y.dtype == np.intp
        assert np.array_equal(y, digits[key])


# --- reading ------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("dotted", [False, True], ids=["dashed", "dotted"])
def test_reads_idx_folder(tmp_path, digits, compress, dotted):
    folder = make_folder(tmp_path / "mnist", digits, compress=compress, dotted=dotted)
    assert_loaded(load_mnist(folder), digits)


def test_reads_str_path_and_28x28_images_as_784_columns(tmp_path):
    rng = np.random.default_rng(1)
    digits = {
        "train images": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        "train labels": np.array([1, 2, 3], dtype=np.uint8),
        "test images": rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8),
        "test labels": np.array([4, 5], dtype=np.uint8),
    }
    folder = make_folder(tmp_path / "m", digits, compress=True)
    X_train, _, X_test, _ = load_mnist(str(folder))
    assert X_train.shape == (3, 784) and X_test.shape == (2, 784)
    np.testing.assert_allclose(X_train[2].reshape(28, 28), digits["train images"][2] / 255.0, rtol=1e-15)


def test_float32_gives_float32_pixels_over_255(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits)
    result = load_mnist(folder, dtype=np.float32)
    assert_loaded(result, digits, dtype=np.float32)
    # identity is the point: each value is the correctly rounded float32 of p/255
    expected = (digits["train images"].astype(np.float64) / 255).astype(np.float32)
    assert np.array_equal(result[0], expected.reshape(7, -1))


def test_files_may_mix_plain_and_gzip_whatever_their_names_say(tmp_path, digits):
    folder = tmp_path / "m"
    make_folder(folder, digits)
    # a gzipped file without .gz, and a decompressed one that kept its .gz name
    write(folder / NAMES["train images"], idx_bytes(digits["train images"]), compress=True)
    (folder / NAMES["test labels"]).rename(folder / (NAMES["test labels"] + ".gz"))
    assert_loaded(load_mnist(folder), digits)


def test_plain_file_wins_over_gz_of_the_same_name(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits)
    other = digits["train labels"][::-1].copy()
    write(folder / (NAMES["train labels"] + ".gz"), idx_bytes(other), compress=True)
    _, y_train, _, _ = load_mnist(folder)
    assert np.array_equal(y_train, digits["train labels"])
    assert not np.array_equal(y_train, other)


def test_gzip_file_of_several_read_pieces(tmp_path, digits):
    # 3 MB of pixels, more than the 1 MiB read pieces: the array of a gzip
    # stream grows twice on the way (1 MiB, 2 MiB, then the header's size)
    big = np.random.default_rng(2).integers(0, 256, size=(7, 500, 900), dtype=np.uint8)
    folder = make_folder(tmp_path / "m", digits, compress=True, train_images=idx_bytes(big))
    write(folder / (NAMES["test images"] + ".gz"), idx_bytes(big[:5]), compress=True)
    X_train, _, X_test, _ = load_mnist(folder)
    assert np.array_equal(X_train, big.reshape(7, -1) / 255)  # the same bytes, scaled alike
    assert np.array_equal(X_test, big[:5].reshape(5, -1) / 255)


@pytest.mark.parametrize("flat", [False, True], ids=["keras_3d", "flat_2d"])
def test_reads_keras_npz(tmp_path, digits, flat):
    x_train, x_test = digits["train images"], digits["test images"]
    if flat:
        x_train, x_test = x_train.reshape(7, -1), x_test.reshape(5, -1)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, x_train=x_train, y_train=digits["train labels"],
                        x_test=x_test, y_test=digits["test labels"])
    assert_loaded(load_mnist(path), digits)


def test_npz_and_idx_give_the_same_arrays(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits, compress=True)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=digits["train images"], y_train=digits["train labels"].astype(np.int64),
             x_test=digits["test images"], y_test=digits["test labels"])
    for a, b in zip(load_mnist(folder, dtype="float32"), load_mnist(path, dtype="float32")):
        assert a.dtype == b.dtype and np.array_equal(a, b)


# --- arguments ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.complex128, "uint8"])
def test_dtype_other_than_float32_or_64_is_refused(tmp_path, digits, dtype):
    folder = make_folder(tmp_path / "m", digits)
    with pytest.raises(ValueError, match=r"dtype must be numpy.float64 or numpy.float32; got "):
        load_mnist(folder, dtype=dtype)


def test_dtype_that_is_no_dtype_is_a_type_error(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits)
    with pytest.raises(TypeError, match=r"dtype must be numpy.float64 or numpy.float32; got 'pixels'"):
        load_mnist(folder, dtype="pixels")


def test_path_of_the_wrong_type(tmp_path):
    with pytest.raises(TypeError, match=r"path must be a str or os.PathLike .*; got int"):
        load_mnist(3)


# --- missing files --------------------------------------------------------------------

def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'.*no_such_dir' does not exist"):
        load_mnist(tmp_path / "no_such_dir")


def test_missing_file_lists_the_names_looked_for(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits, compress=True)
    (folder / (NAMES["test labels"] + ".gz")).unlink()
    pattern = (r"lacks test labels \(looked for t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, "
               r"t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz\)$")
    with pytest.raises(FileNotFoundError, match=pattern):
        load_mnist(folder)


def test_empty_folder_names_all_four_and_points_at_an_npz(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    np.savez(folder / "mnist.npz", a=np.zeros(1))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(folder)
    message = str(info.value)
    for what in NAMES:
        assert f"lacks {what}" in message or f"; {what} (" in message
    assert "holds mnist.npz: pass that file's path" in message


# --- malformed idx files ----------------------------------------------------------------

def test_bad_magic_number(tmp_path, digits):
    data = bytearray(idx_bytes(digits["train images"]))
    data[0] = 0x42
    folder = make_folder(tmp_path / "m", digits, train_images=bytes(data))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: bad magic number 0x42000803"):
        load_mnist(folder)


def test_wrong_type_byte(tmp_path, digits):
    data = idx_bytes(digits["test labels"], type_byte=0x0D)
    folder = make_folder(tmp_path / "m", digits, compress=True, test_labels=data)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz: the idx type byte is 0x0d \(float32\)"):
        load_mnist(folder)


def test_wrong_dimension_count(tmp_path, digits):
    flat = digits["test images"].reshape(5, -1)  # a (count, rows*cols) file: 2 dimensions
    folder = make_folder(tmp_path / "m", digits, test_images=idx_bytes(flat))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: the idx header gives 2 dimension\(s\); "
                                         r"MNIST's images have 3"):
        load_mnist(folder)


def test_labels_with_images_dimension_count(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits, train_labels=idx_bytes(digits["train images"]))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte: .* gives 3 dimension\(s\); MNIST's labels have 1"):
        load_mnist(folder)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_truncated_data(tmp_path, digits, compress):
    data = idx_bytes(digits["train images"])[:-5]
    folder = make_folder(tmp_path / "m", digits, compress=compress, train_images=data)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte(.gz)?: truncated, the header says "
                                         r"7 x 4 x 3 = 84 bytes of data but the file holds only 79"):
        load_mnist(folder)


# A header may claim far more than the file holds: 7 x 65535 x 65535 images
# (30 GB) and 0xFFFFFFFF x 0xFFFFFFFF (a count whose product overflows int64)
# in a 1 KB file. Neither may be allocated before the bytes are seen.
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("rows, cols, claimed", [
    (65535, 65535, "7 x 65535 x 65535 = 30063853575"),
    (0xFFFFFFFF, 0xFFFFFFFF, "7 x 4294967295 x 4294967295 = 129127208455837319175"),
], ids=["30GB", "past_int64"])
def test_header_claiming_more_than_the_file_holds_allocates_nothing(tmp_path, digits, compress,
                                                                   rows, cols, claimed):
    data = bytes([0, 0, 8, 3]) + struct.pack(">3I", 7, rows, cols) + bytes(1000)
    folder = make_folder(tmp_path / "m", digits, compress=compress, train_images=data)
    pattern = (rf"train-images-idx3-ubyte(.gz)?: truncated, the header says {claimed} bytes of data "
               r"but the file holds only 1000$")
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=pattern):
            load_mnist(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the four tiny files and a gzip buffer, not the header's claim
    assert peak < 16 << 20


def test_labels_header_claiming_4_billion_labels_allocates_nothing(tmp_path, digits):
    data = bytes([0, 0, 8, 1]) + struct.pack(">I", 0xFFFFFFFF) + bytes(10)
    folder = make_folder(tmp_path / "m", digits, compress=True, test_labels=data)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz: truncated, the header says "
                                             r"4294967295 = 4294967295 bytes of data but the file holds only 10$"):
            load_mnist(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_truncated_header(tmp_path, digits):
    data = idx_bytes(digits["test images"])[:10]  # magic number and 1.5 of the 3 sizes
    folder = make_folder(tmp_path / "m", digits, test_images=data)
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: truncated, .* inside the idx header's 3 sizes"):
        load_mnist(folder)


def test_file_shorter_than_a_magic_number(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits, test_labels=b"\x00\x00")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte: truncated, .* inside the 4-byte idx magic"):
        load_mnist(folder)


def test_extra_bytes_after_the_data(tmp_path, digits):
    data = idx_bytes(digits["train labels"]) + b"\x01"
    folder = make_folder(tmp_path / "m", digits, train_labels=data)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte: more bytes than the header's 7"):
        load_mnist(folder)


def test_gzip_stream_cut_short(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits, compress=True)
    path = folder / (NAMES["train images"] + ".gz")
    path.write_bytes(path.read_bytes()[:-12])  # drops the gzip trailer and some data
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: the gzip stream is damaged or cut short"):
        load_mnist(folder)


def test_images_and_labels_of_different_counts(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits, train_labels=idx_bytes(digits["train labels"][:6]))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: the header gives 7 images but the "
                                         r"matching labels file has 6 labels"):
        load_mnist(folder)


def test_training_and_test_images_of_different_sizes(tmp_path, digits):
    wide = np.zeros((5, ROWS, COLS + 1), dtype=np.uint8)
    folder = make_folder(tmp_path / "m", digits, test_images=idx_bytes(wide))
    with pytest.raises(ValueError, match=r"the training images are 4 x 3 but the test images are 4 x 4"):
        load_mnist(folder)


def test_label_outside_0_to_9(tmp_path, digits):
    labels = digits["test labels"].copy()
    labels[3] = 10
    folder = make_folder(tmp_path / "m", digits, test_labels=idx_bytes(labels))
    pattern = r"t10k-labels-idx1-ubyte: label 10 at index 3; MNIST's labels are the digits 0..9"
    with pytest.raises(ValueError, match=pattern):
        load_mnist(folder)


# --- malformed .npz files -----------------------------------------------------------------

def npz_arrays(digits):
    return {"x_train": digits["train images"], "y_train": digits["train labels"],
            "x_test": digits["test images"], "y_test": digits["test labels"]}


def test_npz_missing_a_key(tmp_path, digits):
    arrays = npz_arrays(digits)
    del arrays["y_test"]
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(ValueError, match=r"mnist.npz: lacks y_test; a Keras-style mnist.npz holds "
                                         r"x_train, y_train, x_test, y_test"):
        load_mnist(tmp_path / "mnist.npz")


@pytest.mark.parametrize("key, value, pattern", [
    ("y_train", np.zeros((7, 1), dtype=np.uint8),
     r"y_train must be 1-D integer labels \(m,\); got dtype uint8, shape \(7, 1\)"),
    ("y_test", np.zeros(5), r"y_test must be 1-D integer labels \(m,\); got dtype float64"),
    ("x_train", np.zeros((7, 4, 3)), r"x_train must hold uint8 grey levels 0..255 .*; got dtype float64"),
    ("x_test", np.zeros(60, dtype=np.uint8), r"x_test must hold uint8 .*; got dtype uint8, shape \(60,\)"),
    ("x_test", np.zeros((4, 4, 3), dtype=np.uint8), r"x_test has 4 images but y_test has 5 labels"),
    ("x_test", np.zeros((5, 12), dtype=np.uint8), r"x_train has shape \(7, 4, 3\) but x_test \(5, 12\)"),
    ("x_test", np.zeros((5, 3, 4), dtype=np.uint8), r"training images are 4 x 3 but the test images are 3 x 4"),
    ("y_train", np.array([0, 1, 2, 3, 4, 5, -1]), r"y_train has label -1 at index 6; MNIST's labels are the digits"),
    ("y_test", np.array([0, 1, 12, 3, 4]), r"y_test: label 12 at index 2; MNIST's labels are the digits"),
])
def test_npz_with_wrong_shapes_types_or_labels(tmp_path, digits, key, value, pattern):
    arrays = npz_arrays(digits)
    arrays[key] = value
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(ValueError, match=r"mnist.npz: .*" + pattern):
        load_mnist(tmp_path / "mnist.npz")


def test_file_that_is_no_npz_points_at_the_folder(tmp_path, digits):
    folder = make_folder(tmp_path / "m", digits, compress=True)
    with pytest.raises(ValueError, match=r"not a readable .npz file .*idx files are read by passing the folder"):
        load_mnist(folder / (NAMES["train images"] + ".gz"))


def test_single_npy_array_is_not_an_npz(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"x.npy: holds a single .npy array, not an .npz archive"):
        load_mnist(tmp_path / "x.npy")



def test_npz_cut_short(tmp_path, digits):
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, **npz_arrays(digits))
    path.write_bytes(path.read_bytes()[:-30])  # loses the zip's central directory
    with pytest.raises(ValueError, match=r"mnist.npz: not a readable .npz file \(File is not a zip file\)"):
        load_mnist(path)


def test_npz_with_a_damaged_member(tmp_path, digits):
    arrays = npz_arrays(digits)
    arrays["x_train"] = np.random.default_rng(3).integers(0, 256, size=(7, 40, 30), dtype=np.uint8)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, **arrays)
    data = bytearray(path.read_bytes())
    start = data.index(b"x_train.npy") + len("x_train.npy") + 200  # inside its deflate stream
    data[start:start + 8] = bytes(8)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"mnist.npz: x_train could not be read, the archive is damaged"):
        load_mnist(path)


def test_npz_holding_objects_is_refused_without_unpickling(tmp_path, digits):
    arrays = npz_arrays(digits)
    arrays["y_test"] = np.array([0, 1, 2, 3, None], dtype=object)
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(ValueError, match=r"mnist.npz: y_test could not be read, .*holds objects"):
        load_mnist(tmp_path / "mnist.npz")
