"""The Model: save and load without pickle, prediction checks."""

import os
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
