"""The Model: save and load without pickle, prediction checks."""

import os
import re
import stat
import zipfile

import numpy as np
import pytest

import nnopt
from nnopt.model import Model


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.random((60, 9))
    y = np.array(["cat", "dog", "emu"])[np.arange(60) % 3]
    X[y == "dog", :3] += 1.0
    X[y == "emu", 3:6] += 1.0
    return nnopt.train(X, y, lam=0.5, hidden_layer_sizes=(4,), method="L-BFGS-B", maxiter=30), X


def test_save_load_predict_gives_identical_predictions(trained, tmp_path):
    model, X = trained
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = nnopt.load(path)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.classes_.tolist() == ["cat", "dog", "emu"]
    assert loaded.layer_sizes == model.layer_sizes
    assert loaded.lam == model.lam and loaded.loss == model.loss and loaded.method == model.method
    assert np.array_equal(loaded.cost_history, model.cost_history)
    assert np.array_equal(loaded.time_history, model.time_history)
    assert (loaded.n_iter, loaded.n_evals, loaded.initial_cost) == (model.n_iter, model.n_evals, model.initial_cost)
    assert loaded.result is None


def test_save_keeps_the_given_name_and_leaves_no_temporary_files(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "weights.model"
    model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.model"]
    assert nnopt.load(path).n_iter == model.n_iter


def test_saved_file_gets_the_usual_permissions(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "model.npz"
    old = os.umask(0o022)
    try:
        model.save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_interrupted_save_keeps_the_previous_file(trained, tmp_path, monkeypatch):
    model, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    before = path.read_bytes()

    def crash(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_model_files_hold_no_pickled_objects(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)


def test_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, X=np.zeros((3, 2)), y=np.arange(3))
    with pytest.raises(ValueError, match="not an nnopt model file"):
        nnopt.load(path)


def test_npz_with_object_arrays_is_refused_without_unpickling(trained, tmp_path, monkeypatch):
    model, _ = trained
    path = tmp_path / "evil.npz"
    model.save(path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["classes"] = np.array([object(), 1, 2], dtype=object)
    np.savez(path, **arrays)

    import pickle
    def no_unpickling(*a, **k):
        raise AssertionError("load tried to unpickle")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    with pytest.raises(ValueError, match="object arrays.*pickle"):
        nnopt.load(path)


def test_not_an_npz_and_damaged_files_are_refused(tmp_path, trained):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable .npz model file"):
        nnopt.load(text)
    model, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["theta"] = arrays["theta"][:-1]
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="damaged nnopt model file"):
        nnopt.load(path)
    with pytest.raises(FileNotFoundError):
        nnopt.load(tmp_path / "missing.npz")


def test_truncated_file_is_refused(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable .npz|damaged"):
        nnopt.load(path)
    assert not zipfile.is_zipfile(path) or True


def test_object_labels_cannot_be_saved(tmp_path):
    model = Model([np.zeros((2, 3))], np.array([object(), object()], dtype=object), 0.0)
    with pytest.raises(TypeError, match="cannot be saved without pickle"):
        model.save(tmp_path / "m.npz")


@pytest.mark.parametrize("X, error, match", [
    (np.zeros((3, 8)), ValueError, "X has 8 columns.*9 units"),
    (np.full((3, 9), np.nan), ValueError, "X must be finite"),
    (np.full((3, 9), np.inf), ValueError, "X must be finite"),
    (np.zeros(9), ValueError, "X must be 2-D.*reshape"),
])
def test_predict_checks_its_input(trained, X, error, match):
    model, _ = trained
    for call in (model.predict, model.predict_proba):
        with pytest.raises(error, match=match):
            call(X)


def test_score_checks_y(trained):
    model, X = trained
    with pytest.raises(ValueError, match="one label per row"):
        model.score(X, np.zeros(3))


def _tiny_model(classes, seed=0):
    """A 3-4-K network with random weights and the given classes."""
    rng = np.random.default_rng(seed)
    K = len(classes)
    return Model([rng.uniform(-1, 1, (4, 4)), rng.uniform(-1, 1, (K, 5))], classes, 0.5)


def test_load_names_what_a_model_file_lacks(trained, tmp_path):
    only_format = tmp_path / "format_only.npz"
    np.savez(only_format, format=np.array("nnopt-model"))
    with pytest.raises(ValueError, match="damaged nnopt model file: it lacks format_version, layer_sizes, "
                                         "theta, classes, lam, loss, method, cost_history"):
        nnopt.load(only_format)
    model, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files if k != "theta"}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="damaged nnopt model file: it lacks theta$"):
        nnopt.load(path)


def test_a_newer_or_garbled_format_version_is_named(tmp_path):
    newer = tmp_path / "newer.npz"
    np.savez(newer, format=np.array("nnopt-model"), format_version=np.array(99), weights=np.zeros(3))
    with pytest.raises(ValueError, match=r"written by a newer nnopt \(format 99\); upgrade nnopt"):
        nnopt.load(newer)
    garbled = tmp_path / "garbled.npz"
    np.savez(garbled, format=np.array("nnopt-model"), format_version=np.array("one"))
    with pytest.raises(ValueError, match=r"damaged nnopt model file: format_version is array\('one'"):
        nnopt.load(garbled)


def test_a_model_file_holds_exactly_the_arrays_load_needs(trained, tmp_path):
    from nnopt.model import _HISTORY, _KEYS_2
    model, _ = trained
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        record = [_HISTORY + name for name in ("cost", "gradient_norm", "time")]
        assert sorted(f.files) == sorted(_KEYS_2 + ("best_iteration", *record))


def test_a_version_1_model_file_still_loads(trained, tmp_path):
    # the format before activation, output and target were stored: the course's network
    from nnopt.model import _KEYS
    model, X = trained
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in _KEYS}
    arrays["format_version"] = np.array(1)
    np.savez(tmp_path / "v1.npz", **arrays)
    old = nnopt.load(tmp_path / "v1.npz")
    assert (old.activation, old.output, old.target) == ("sigmoid", "sigmoid", "classes")
    np.testing.assert_array_equal(old.predict(X), model.predict(X))
    # and one it lacks a key of is named, as for version 2
    del arrays["lam"]
    np.savez(tmp_path / "v1_bad.npz", **arrays)
    with pytest.raises(ValueError, match="lacks lam"):
        nnopt.load(tmp_path / "v1_bad.npz")


@pytest.mark.parametrize("kind", ["relu-softmax", "regression", "multioutput", "multilabel"])
def test_every_kind_of_model_saves_and_loads(kind, tmp_path):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 3))
    kw = {"maxiter": 5, "hidden_layer_sizes": (4,)}
    if kind == "relu-softmax":
        y, kw = rng.integers(0, 3, 60), {**kw, "activation": "relu", "output": "softmax"}
    elif kind == "regression":
        y, kw = X[:, 0] - X[:, 1], {**kw, "activation": "tanh", "output": "identity"}
    elif kind == "multioutput":
        y, kw = X[:, :2] * 2, {**kw, "output": "identity"}
    else:
        y = (X > 0).astype(int)
    model = nnopt.train(X, y, **kw)
    model.save(tmp_path / "m.npz")
    back = nnopt.load(tmp_path / "m.npz")
    assert (back.activation, back.output, back.target, back.loss) == \
        (model.activation, model.output, model.target, model.loss)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.score(X, y) == model.score(X, y)


def test_a_model_trained_on_strings_in_an_object_array_saves_and_loads(tmp_path):
    # a pandas Series of strings gives np.asarray(series).dtype == object
    rng = np.random.default_rng(1)
    X = rng.random((30, 3))
    y = np.array(["ant", "bee", "cat"] * 10, dtype=object)
    X[y == "bee", 0] += 1.0
    model = nnopt.train(X, y, hidden_layer_sizes=(3,), method="L-BFGS-B", maxiter=5)
    model.save(tmp_path / "m.npz")
    loaded = nnopt.load(tmp_path / "m.npz")
    assert loaded.classes_.dtype.kind == "U"
    assert loaded.classes_.tolist() == ["ant", "bee", "cat"]
    assert loaded.predict(X).tolist() == model.predict(X).tolist()
    assert loaded.score(X, y) == model.score(X, y)


@pytest.mark.parametrize("classes, kind", [
    (["no", "yes"], "U"),
    ([b"no", b"yes"], "S"),
    ([1, 10], "i"),
    ([1, 2.5], "f"),
    ([False, True], "b"),
])
def test_object_arrays_of_strings_or_numbers_save_as_plain_arrays(classes, kind, tmp_path):
    model = _tiny_model(np.array(classes, dtype=object))
    assert model.classes_.dtype.kind == kind
    model.save(tmp_path / "m.npz")
    loaded = nnopt.load(tmp_path / "m.npz")
    assert loaded.classes_.dtype.kind == kind and loaded.classes_.tolist() == classes


@pytest.mark.parametrize("classes, types", [
    ([object(), object()], r"Python objects \(object\)"),
    (["a", 1], r"Python objects \(int, str\)"),
    ([(1, 2), (3, 4)], r"Python objects \(tuple\)"),
    (["a", "b\0"], r"Python objects \(str\)"),  # numpy's strings drop a trailing NUL
])
def test_labels_that_need_pickle_are_refused_with_their_types(classes, types, tmp_path):
    labels = np.empty(2, dtype=object)
    labels[:] = classes
    model = _tiny_model(labels)
    with pytest.raises(TypeError, match=f"classes_ holds {types} that no numeric or string array holds "
                                        "exactly.*, so they cannot be saved without pickle"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_saving_over_a_file_keeps_its_permission_bits(trained, tmp_path, mode):
    model, _ = trained
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    path.chmod(mode)
    model.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert nnopt.load(path).n_iter == model.n_iter


def test_saving_through_a_symlink_writes_the_file_it_points_to(trained, tmp_path):
    model, _ = trained
    (tmp_path / "store").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "store" / "model.npz"
    real.write_bytes(b"old")
    link = tmp_path / "links" / "current.npz"
    link.symlink_to(real)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert nnopt.load(real).n_iter == model.n_iter
    # the temporary file went to the real file's folder and is gone
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["model.npz"]
    assert [p.name for p in (tmp_path / "links").iterdir()] == ["current.npz"]


def test_saving_through_a_dangling_symlink_creates_its_target(trained, tmp_path):
    model, _ = trained
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "new.npz")
    model.save(link)
    assert link.is_symlink() and nnopt.load(tmp_path / "new.npz").n_iter == model.n_iter


def test_a_read_only_file_is_not_replaced(trained, tmp_path):
    # root may write any file, so os.access cannot tell here: the mode bits do
    model, _ = trained
    path = tmp_path / "model.npz"
    path.write_bytes(b"keep me")
    path.chmod(0o444)
    with pytest.raises(PermissionError, match=rf"cannot save a model to {re.escape(str(path))}: the file is not "
                                              r"writable \(mode -r--r--r--\)"):
        model.save(path)
    assert path.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_a_file_the_user_may_not_write_is_not_replaced(trained, tmp_path, monkeypatch):
    model, _ = trained
    path = tmp_path / "model.npz"
    path.write_bytes(b"keep me")
    real_access = os.access
    asked = []

    def access(p, mode, *args, **kwargs):
        # as os.access answers for another user's 0644 file
        if os.fspath(p) == str(path) and mode & os.W_OK:
            asked.append(p)
            return False
        return real_access(p, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    link = tmp_path / "link.npz"
    link.symlink_to(path)
    message = rf"cannot save a model to {re.escape(str(link))} \(-> {re.escape(str(path))}\): the file is not writable"
    with pytest.raises(PermissionError, match=message):
        model.save(link)
    assert asked and path.read_bytes() == b"keep me"


def test_saving_onto_a_folder_or_a_device_is_refused(trained, tmp_path):
    model, _ = trained
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        model.save(tmp_path)
    if os.path.exists(os.devnull):
        with pytest.raises(ValueError, match="not a regular file"):
            model.save(os.devnull)
        assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.parametrize("name", ["newdir/", "newdir/.", "newdir/.."])
@pytest.mark.parametrize("exists", [None, "folder", "file"])
def test_a_path_naming_a_folder_is_refused_and_nothing_is_written(trained, tmp_path, monkeypatch, name, exists):
    # open("newdir/", "wb") refuses such a path; save once wrote a file named newdir
    # (or replaced the file newdir) instead
    model, _ = trained
    monkeypatch.chdir(tmp_path)
    if exists == "folder":
        os.mkdir("newdir")
    elif exists == "file":
        open("newdir", "wb").close()
    message = rf"cannot save a model to {re.escape(repr(name))}: the path names a folder, not a file"
    with pytest.raises(IsADirectoryError, match=message):
        model.save(name)
    assert [p.name for p in tmp_path.rglob("*")] == ([] if exists is None else ["newdir"])
    if exists == "file":
        assert os.path.getsize("newdir") == 0


def test_saving_over_a_hard_link_replaces_this_name_only(trained, tmp_path):
    # the rename puts a new file under this name; the other name keeps the old one
    model, _ = trained
    path, other = tmp_path / "model.npz", tmp_path / "backup.npz"
    path.write_bytes(b"old model")
    os.link(path, other)
    model.save(path)
    assert nnopt.load(path).n_iter == model.n_iter
    assert other.read_bytes() == b"old model"
    assert path.stat().st_ino != other.stat().st_ino
    assert path.stat().st_nlink == other.stat().st_nlink == 1


def test_score_refuses_labels_of_another_kind_than_the_classes(trained):
    model, X = trained
    with pytest.raises(ValueError, match=r"y holds numbers, but the model's classes are strings: "
                                         r"\['cat', 'dog', 'emu'\]; no label in y can equal a class"):
        model.score(X, np.arange(len(X)) % 3)
    numeric = _tiny_model(np.array([1, 2, 3]))
    X3 = np.random.default_rng(0).random((6, 3))
    with pytest.raises(ValueError, match=r"y holds strings, but the model's classes are numbers: \[1, 2, 3\]"):
        numeric.score(X3, np.array(["1", "2", "3", "1", "2", "3"]))
    with pytest.raises(ValueError, match=r"y holds Python objects \(int, str\), but the model's classes are numbers"):
        numeric.score(X3, np.array([1, "2", 3, 1, 2, 3], dtype=object))


def test_score_takes_labels_of_the_same_kind_in_any_dtype(trained):
    model, X = trained
    y = np.array(["cat", "dog", "emu"])[np.arange(len(X)) % 3]
    assert model.score(X, y.astype(object)) == model.score(X, y) == model.score(X, list(y))
    numeric = _tiny_model(np.array([1, 2, 3]))
    X3 = np.random.default_rng(0).random((50, 3))
    y3 = numeric.predict(X3)
    y3[:10] = np.where(y3[:10] == 1, 2, 1)  # ten wrong labels
    expected = np.mean(numeric.predict(X3) == y3)
    assert expected == pytest.approx(0.8)
    for given in (y3, y3.astype(float), y3.astype(np.uint8), y3.astype(object)):
        assert numeric.score(X3, given) == pytest.approx(expected, abs=0)
