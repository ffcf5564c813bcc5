"""The nnopt command line: train, predict, check-gradients, and its errors."""

import subprocess
import sys

import numpy as np
import pytest

import nnopt
from nnopt.cli import main


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """A small .npz data file of 14×14 digits, 400 examples."""
    X, y = nnopt.load_digits()
    X = X.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(X), -1)
    rows = np.random.default_rng(0).permutation(len(X))[:400]
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, X=X[rows], y=y[rows])
    return path


def test_train_prints_accuracy_time_iterations_and_saves(small_data, tmp_path, capsys):
    out_file = tmp_path / "m.npz"
    code = main(["train", "--data", str(small_data), "--maxiter", "5", "--hidden", "10", "--lam", "0.5",
                 "--method", "L-BFGS-B", "--out", str(out_file)])
    out = capsys.readouterr().out
    assert code == 0
    assert "196-10-10 network with L-BFGS-B on 320 examples: 5 iterations" in out
    assert "held-out accuracy" in out and "on 80 examples" in out
    assert " s\n" in out  # the time taken
    model = nnopt.load(out_file)
    assert model.layer_sizes == (196, 10, 10) and model.lam == 0.5 and model.n_iter == 5


def test_predict_prints_one_label_per_row(small_data, tmp_path, capsys):
    model_file = tmp_path / "m.npz"
    assert main(["train", "--data", str(small_data), "--maxiter", "3", "--out", str(model_file)]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model_file), "--data", str(small_data)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.split()
    with np.load(small_data) as f:
        expected = nnopt.load(model_file).predict(f["X"])
    assert lines == [str(p) for p in expected]
    assert "accuracy" in captured.err


def test_check_gradients_prints_the_table(capsys):
    assert main(["check-gradients", "--lam", "3"]) == 0
    out = capsys.readouterr().out
    assert "numerical" in out and "analytic" in out
    rel = float(out.rsplit("is ", 1)[1].rstrip(".\n"))
    assert rel < 1e-9


def test_python_dash_m_is_the_same_tool():
    result = subprocess.run([sys.executable, "-m", "nnopt", "check-gradients"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "relative difference" in result.stdout


@pytest.mark.parametrize("argv, message", [
    (["train", "--lam", "x"], "argument --lam: invalid float value: 'x'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--method", "Powell"], "uses no gradient"),
    (["train", "--hidden", "0"], "at least 1 unit"),
    (["train", "--maxiter", "0"], "maxiter must be >= 1"),
    (["train", "--data", "/no/such/file.npz"], "no such file"),
    (["predict", "--model", "/no/such/model.npz", "--data", "x.npz"], "no such file"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_options_give_one_line_and_exit_code_2(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_unreadable_files_give_one_line_and_exit_code_2(tmp_path, capsys):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    no_x = tmp_path / "nox.npz"
    np.savez(no_x, A=np.zeros(3))
    objects = tmp_path / "objects.npz"
    np.savez(objects, X=np.array([object()], dtype=object), y=np.zeros(1))
    model_junk = tmp_path / "model.npz"
    model_junk.write_text("hello")
    cases = [
        (["train", "--data", str(junk)], "cannot read"),
        (["train", "--data", str(no_x)], "has no array named X"),
        (["train", "--data", str(objects)], "without pickle"),
        (["predict", "--model", str(model_junk), "--data", str(no_x)], "not a readable .npz model file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_command_line_error_as_subprocess_has_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "nnopt", "train", "--data", str(tmp_path / "none.npz")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("nnopt train: error:") and "Traceback" not in result.stderr


def test_interrupted_training_still_saves_the_model_and_warns_in_one_line(small_data, tmp_path, capsys,
                                                                           monkeypatch):
    from nnopt import training
    real = training.Objective.__call__
    calls = {"n": 0}

    def interrupt_later(self, theta):
        calls["n"] += 1
        if calls["n"] == 30:
            raise KeyboardInterrupt
        return real(self, theta)

    monkeypatch.setattr(training.Objective, "__call__", interrupt_later)
    out_file = tmp_path / "m.npz"
    assert main(["train", "--data", str(small_data), "--method", "L-BFGS-B", "--out", str(out_file)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("nnopt: warning: training was interrupted after ")
    assert len(err.strip().splitlines()) == 1
    model = nnopt.load(out_file)
    assert 0 < model.n_iter < 30


def test_a_diverging_descent_says_which_option_to_change_and_saves_nothing(small_data, tmp_path,
                                                                          capsys):
    out_file = tmp_path / "m.npz"
    code = main(["train", "--data", str(small_data), "--method", "gd", "--learning-rate", "1e305",
                 "--maxiter", "5", "--out", str(out_file)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "became NaN or inf in iteration" in err
    assert "--learning-rate 1e+305 is too large" in err and "--learning-rate 1e+304" in err
    assert ".theta" not in err and "learning_rate=" not in err
    assert not out_file.exists()


def test_warnings_give_their_advice_in_the_options_names(small_data, tmp_path, capsys, monkeypatch):
    # gd whose cost rises: the advice names --learning-rate
    assert main(["train", "--data", str(small_data), "--method", "gd", "--learning-rate", "1e12",
                 "--maxiter", "3", "--out", str(tmp_path / "a.npz")]) == 0
    err = capsys.readouterr().err
    assert "--learning-rate 1e+12 is probably too large" in err and "--learning-rate 1e+11" in err
    assert "learning_rate=" not in err
    # an optimizer stopped by non-finite values: --lam, --method and --float32
    from nnopt import training
    real = training.Objective.__call__
    calls = {"n": 0}

    def nan_later(self, theta):
        calls["n"] += 1
        J, grad = real(self, theta)
        return (np.nan, grad) if calls["n"] == 5 else (J, grad)

    monkeypatch.setattr(training.Objective, "__call__", nan_later)
    assert main(["train", "--data", str(small_data), "--method", "L-BFGS-B",
                 "--out", str(tmp_path / "b.npz")]) == 0
    err = capsys.readouterr().err
    assert "a larger --lam, another --method ('L-BFGS-B' or 'TNC')" in err
    assert "leaving out --float32 if it was given" in err
    assert "dtype=" not in err and " lam," not in err
