"""The nnopt command line: train, predict, check-gradients, and its errors."""

import subprocess
import sys

import numpy as np
import pytest

import nnopt
from nnopt.cli import main
from nnopt.model import Model


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
    (["train", "--curvature", "hessian"], "--curvature is for the methods that take Hessian-vector"),
    (["train", "--curvature", "hessian", "--curvature-fraction", "0.5", "--method", "CG"],
     "--curvature and --curvature-fraction are for the methods"),
    (["train", "--method", "Newton-CG", "--curvature-fraction", "2"], "--curvature-fraction must be in (0, 1]; got 2"),
    (["train", "--method", "trust-krylov", "--curvature-fraction", "nan"], "--curvature-fraction must be in"),
    (["train", "--curvature", "newton"], "invalid choice: 'newton'"),
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


def test_train_with_test_size_0_uses_every_row_and_says_there_is_no_held_out_set(small_data, tmp_path, capsys):
    out_file = tmp_path / "m.npz"
    code = main(["train", "--data", str(small_data), "--test-size", "0", "--maxiter", "3", "--hidden", "5",
                 "--method", "L-BFGS-B", "--out", str(out_file)])
    out = capsys.readouterr().out
    assert code == 0
    assert "196-5-10 network with L-BFGS-B on 400 examples" in out
    assert "no held-out set (--test-size 0): every example was used for training" in out
    assert "held-out accuracy" not in out
    with np.load(small_data) as f:
        X, y = f["X"], f["y"]
    model = nnopt.load(out_file)
    assert f"training accuracy {model.score(X, y):.2%}" in out


def _write_course_files(folder, m=40, n=6, hidden=5, seed=0):
    """A weights file as the course's ex4weights.mat (Theta1, Theta2 with 10
    outputs, unit k for label k, 10 for the digit 0) and a data file as its
    ex4data1.mat (y in 1..10), and the labels the course's predict.m gives
    for the data (0 for its 10)."""
    import scipy.io
    rng = np.random.default_rng(seed)
    Theta1 = rng.uniform(-2, 2, (hidden, n + 1))
    Theta2 = rng.uniform(-2, 2, (10, hidden + 1))
    X = rng.standard_normal((m, n))
    a2 = 1 / (1 + np.exp(-(np.c_[np.ones(m), X] @ Theta1.T)))
    h = 1 / (1 + np.exp(-(np.c_[np.ones(m), a2] @ Theta2.T)))
    course = np.argmax(h, axis=1) + 1  # predict.m: labels 1..10
    y = course.copy()
    y[:m // 4] = y[:m // 4] % 10 + 1  # a quarter of the labels wrong
    weights, data = folder / "weights.mat", folder / "data.mat"
    scipy.io.savemat(weights, {"Theta1": Theta1, "Theta2": Theta2})
    scipy.io.savemat(data, {"X": X, "y": y.reshape(-1, 1).astype(np.uint8)})
    return weights, data, np.where(course == 10, 0, course)


def test_predict_reads_the_course_weights_mat_as_a_model(tmp_path, capsys):
    weights, data, expected = _write_course_files(tmp_path)
    assert set(expected) >= {0}, "the test's weights should predict the digit 0 somewhere"
    assert main(["predict", "--model", str(weights), "--data", str(data)]) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == [str(d) for d in expected]
    assert captured.err == f"accuracy 75.00% on {len(expected)} examples\n"


def test_predict_with_a_data_mat_as_the_model_says_it_holds_no_weights(tmp_path, capsys):
    _, data, _ = _write_course_files(tmp_path)
    assert main(["predict", "--model", str(data), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err == (f"nnopt predict: error: --model: {data} holds no weights Theta1, Theta2, ... "
                   "(it looks like a data file)\n")


def test_predict_refuses_labels_of_another_kind_before_printing(small_data, tmp_path, capsys):
    model_file = tmp_path / "m.npz"
    assert main(["train", "--data", str(small_data), "--maxiter", "2", "--out", str(model_file)]) == 0
    capsys.readouterr()
    with np.load(small_data) as f:
        X = f["X"]
    words = tmp_path / "words.npz"
    np.savez(words, X=X, y=np.array(["zero", "one"])[np.arange(len(X)) % 2])
    assert main(["predict", "--model", str(model_file), "--data", str(words)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"error: y in {words} holds strings, but the model's classes are numbers: [0, 1, 2" in captured.err


@pytest.mark.parametrize("rows, read_first", [(3, False), (100_000, False), (100_000, True)],
                         ids=["short-output-unread", "long-output-unread", "long-output-head-1"])
def test_a_reader_that_stops_early_ends_predict_quietly(tmp_path, rows, read_first):
    rng = np.random.default_rng(0)
    Model([rng.uniform(-1, 1, (3, 3)), rng.uniform(-1, 1, (2, 4))], np.array([7, 8]), 0.0).save(tmp_path / "m.npz")
    np.savez(tmp_path / "d.npz", X=rng.standard_normal((rows, 2)))
    command = [sys.executable, "-m", "nnopt", "predict", "--model", str(tmp_path / "m.npz"),
               "--data", str(tmp_path / "d.npz")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        # as `| head -1` does: read a line, or nothing, and close the pipe.
        # 100,000 lines (200 kB) overflow the pipe's buffer, so writes are
        # still to come; 3 lines wait in Python's buffer for the flush at exit
        if read_first:
            assert proc.stdout.readline() in (b"7\n", b"8\n")
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert err == ""
    assert code == 0


def test_train_a_regression_on_a_known_function(tmp_path, capsys):
    # y = sin(3x) + noise, through the command line: identity outputs, R² held out
    rng = np.random.default_rng(12)
    x = rng.uniform(-1, 1, size=(600, 1))
    np.savez(tmp_path / "sine.npz", X=x, y=np.sin(3 * x[:, 0]) + 0.05 * rng.standard_normal(600))
    code = main(["train", "--data", str(tmp_path / "sine.npz"), "--output", "identity",
                 "--activation", "tanh", "--hidden", "20", "--lam", "0.0001", "--method", "L-BFGS-B",
                 "--maxiter", "500", "--test-size", "0.25", "--out", str(tmp_path / "m.npz")])
    out = capsys.readouterr().out
    assert code == 0, out
    held_out = float(out.split("held-out R² ")[1].split()[0])
    assert held_out >= 0.95, out
    model = nnopt.load(tmp_path / "m.npz")
    assert (model.activation, model.output, model.target) == ("tanh", "identity", "regression")


def test_train_with_relu_and_softmax(small_data, tmp_path, capsys):
    code = main(["train", "--data", str(small_data), "--activation", "relu", "--output", "softmax",
                 "--maxiter", "5", "--out", str(tmp_path / "m.npz")])
    assert code == 0
    model = nnopt.load(tmp_path / "m.npz")
    assert (model.activation, model.output, model.loss) == ("relu", "softmax", "cross_entropy")


@pytest.mark.parametrize("method", ["LM", "SCG", "Rprop"])
def test_train_with_matlabs_trainers(small_data, tmp_path, capsys, method):
    code = main(["train", "--data", str(small_data), "--method", method, "--hidden", "5", "--maxiter", "3",
                 "--out", str(tmp_path / "m.npz")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"with {method}" in out and "3 iterations" in out
    model = nnopt.load(tmp_path / "m.npz")
    assert model.method == method and model.n_iter == 3 and model.history["cost"].shape == (4,)


def test_train_newton_cg_with_hessian_products_on_a_sample(small_data, tmp_path, capsys):
    code = main(["train", "--data", str(small_data), "--method", "Newton-CG", "--curvature", "hessian",
                 "--curvature-fraction", "0.5", "--maxiter", "5", "--out", str(tmp_path / "m.npz")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "with Newton-CG" in out and "5 iterations" in out
    assert nnopt.load(tmp_path / "m.npz").method == "Newton-CG"


def test_train_with_a_validation_set_reports_the_best_iteration_and_saves_the_pictures(small_data, tmp_path,
                                                                                       capsys):
    code = main(["train", "--data", str(small_data), "--hidden", "40", "--lam", "0", "--method", "L-BFGS-B",
                 "--maxiter", "300", "--validation", "0.2", "--max-fail", "4", "--plots",
                 str(tmp_path / "pictures"), "--out", str(tmp_path / "m.npz")])
    out = capsys.readouterr().out
    assert code == 0, out
    model = nnopt.load(tmp_path / "m.npz")
    assert f"validation: best iteration {model.best_iteration} of {model.n_iter}" in out
    assert "stopped: Validation stop" in out and model.n_iter == model.best_iteration + 4
    names = ["confusion.png", "performance.png", "roc.png", "training_state.png"]
    assert sorted(p.name for p in (tmp_path / "pictures").iterdir()) == names
    assert all((tmp_path / "pictures" / n).stat().st_size > 5000 for n in names)


def test_train_regression_saves_the_regression_pictures(tmp_path, capsys):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(200, 1))
    np.savez(tmp_path / "sine.npz", X=x, y=np.sin(3 * x[:, 0]))
    code = main(["train", "--data", str(tmp_path / "sine.npz"), "--output", "identity", "--activation",
                 "tanh", "--hidden", "5", "--method", "L-BFGS-B", "--maxiter", "20", "--plots",
                 str(tmp_path / "p"), "--out", str(tmp_path / "m.npz")])
    assert code == 0, capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "error_histogram.png", "performance.png", "regression.png", "training_state.png"]


@pytest.mark.parametrize("argv, message", [
    (["--validation", "1.5"], r"--validation must be a fraction in \(0, 1\); got 1.5"),
    (["--validation", "0.2", "--max-fail", "0"], r"--max-fail must be >= 1; got 0"),
])
def test_bad_validation_options_give_one_line(small_data, argv, message, capsys):
    import re
    assert main(["train", "--data", str(small_data), *argv]) == 2
    assert re.search(message, capsys.readouterr().err)
