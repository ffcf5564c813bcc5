"""Levenberg-Marquardt and Bayesian regularization (nnopt.levenberg), against formulas written here.

The independent references: z^(L) by a forward pass written in this file,
its Jacobian by fourth-order central differences, each (output, loss)
pair's residual and output Hessian H_L from their textbook formulas.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.special import expit, softmax

import nnopt
from nnopt import levenberg
from nnopt.curvature import Curvature
from nnopt.jacobian import gauss_newton_matrix, output_jacobian, weight_mask
from stand_ins import Recorder, Stop

ACTIVATIONS = {"sigmoid": expit, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
PAIRS = [("sigmoid", "cross_entropy"), ("sigmoid", "squared_error"), ("softmax", "cross_entropy"),
         ("identity", "squared_error")]


def run(method, objective, theta0, maxiter=None, recorder=None, **options):
    fn, args, _ = levenberg.prepare(method, maxiter, options, objective.n_params)
    recorder = recorder or Recorder()
    theta, result = fn(objective, theta0, recorder, *args)
    return theta, result, recorder.entries


# ---------------------------------------------------------------- the references


def z_out(theta, X, sizes, activation):
    """z^(L) of each row, by a forward pass of its own (Θ^(l) row-major, bias column first)."""
    a, start = X, 0
    for l in range(len(sizes) - 1):
        rows, cols = sizes[l + 1], sizes[l] + 1
        Th = theta[start:start + rows * cols].reshape(rows, cols)
        start += rows * cols
        z = a @ Th[:, 1:].T + Th[:, 0]
        a = ACTIVATIONS[activation](z)
    return z


def hidden_z(theta, X, sizes, activation):
    """The hidden layers' pre-activations, to keep ReLU's kinks away from the differences."""
    out, a, start = [], X, 0
    for l in range(len(sizes) - 2):
        rows, cols = sizes[l + 1], sizes[l] + 1
        Th = theta[start:start + rows * cols].reshape(rows, cols)
        start += rows * cols
        out.append(a @ Th[:, 1:].T + Th[:, 0])
        a = ACTIVATIONS[activation](out[-1])
    return np.concatenate(out, axis=1)


def jacobian(theta, X, sizes, activation, h=1e-3):
    """∂z^(L)/∂θ, shape (m, K, N), by fourth-order central differences (error ~1e-13)."""
    f = lambda t: z_out(t, X, sizes, activation)  # noqa: E731
    cols = []
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        cols.append((f(theta - 2 * e) - 8 * f(theta - e) + 8 * f(theta + e) - f(theta + 2 * e)) / (12 * h))
    return np.stack(cols, axis=-1)


def pair_terms(z, Y, output, loss):
    """Each example's cost, ∂cost/∂z (m, K) and Gauss-Newton H_L (m, K, K), from the textbook formulas."""
    m, K = z.shape
    if output == "identity":
        r = z - Y
        return 0.5 * (r ** 2).sum(1), r, np.broadcast_to(np.eye(K), (m, K, K))
    if output == "softmax":
        p = softmax(z, axis=1)
        H = np.einsum("ik,kl->ikl", p, np.eye(K)) - np.einsum("ik,il->ikl", p, p)
        return -(Y * np.log(p)).sum(1), p - Y, H
    h = expit(z)
    s = h * (1 - h)
    if loss == "cross_entropy":
        cost = -(Y * np.log(h) + (1 - Y) * np.log(1 - h)).sum(1)
        return cost, h - Y, np.einsum("ik,kl->ikl", s, np.eye(K))
    return 0.5 * ((h - Y) ** 2).sum(1), (h - Y) * s, np.einsum("ik,kl->ikl", s ** 2, np.eye(K))


def reference(theta, X, Y, sizes, activation, output, loss, w):
    """D = Σ w_i cost_i, ∇D and G_D = Σ w_i J_iᵀ H_i J_i from the differenced Jacobian."""
    Jz = jacobian(theta, X, sizes, activation)
    cost, r, H = pair_terms(z_out(theta, X, sizes, activation), Y, output, loss)
    D = float(w @ cost)
    gD = np.einsum("i,ik,ikn->n", w, r, Jz)
    G = np.einsum("i,ikn,ikl,ilp->np", w, Jz, H, Jz)
    return D, gD, G


def problem(output, sizes, m, seed, lam=0.0, weighted=True, activation="sigmoid", loss=None):
    """Data, targets (indices for classes, reals for identity), their matrix Y, weights and the Objective."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, sizes[0]))
    K = sizes[-1]
    if output == "identity":
        y = Y = rng.normal(size=(m, K))
    else:
        y = rng.integers(0, K, m)
        Y = np.eye(K)[y]
    w = rng.uniform(0.5, 2.0, m) if weighted else np.ones(m)
    obj = nnopt.Objective(X, y, lam, sizes, loss, activation=activation, output=output,
                          sample_weight=w if weighted else None)
    return X, Y, w, obj


# ---------------------------------------------------------------- one step


@pytest.mark.parametrize("solver", ["dense", "cg"])
@pytest.mark.parametrize("output, loss", PAIRS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("sizes", [(3, 4, 2), (3, 4, 3, 2)], ids=["one_hidden", "two_hidden"])
def test_one_step_is_the_step_of_an_independent_jacobian(sizes, activation, output, loss, solver):
    lam, mu = 0.3, 0.1
    X, Y, w, obj = problem(output, sizes, 9, seed=5, lam=lam, activation=activation, loss=loss)
    theta0 = nnopt.random_init(sizes, seed=3)
    if activation == "relu":  # no kink within the differences' reach, 2h·(1 + |x|)
        assert np.abs(hidden_z(theta0, X, sizes, activation)).min() > 0.01
    cg = {"cg_rtol": 1e-14, "cg_maxiter": 20 * theta0.size} if solver == "cg" else {}
    theta, result, entries = run("LM", obj, theta0, maxiter=1, mu=mu, solver=solver, **cg)

    D, gD, G = reference(theta0, X, Y, sizes, activation, output, loss, w)
    mask = weight_mask(obj.net)
    gF = gD + lam * theta0 * mask
    np.testing.assert_allclose(obj(theta0)[1] / obj.problem.scale, gF, rtol=1e-9, atol=1e-11)
    mu_used = entries[0]["mu"] / 0.1  # μ of the accepted trial, after any rejected ones
    assert mu_used in (pytest.approx(mu), pytest.approx(mu * 10), pytest.approx(mu * 100))
    delta = -np.linalg.solve(G + np.diag(lam * mask) + mu_used * np.eye(G.shape[0]), gF)
    assert np.linalg.norm(theta - theta0 - delta) <= 1e-9 * np.linalg.norm(delta)
    assert result.nit == 1 and result.status == 1 and np.array_equal(entries[0]["theta"], theta)
    assert entries[0]["J"] == result.fun == pytest.approx(obj.forward_cost(theta), rel=1e-15)
    assert entries[0]["gradient_norm"] == pytest.approx(np.linalg.norm(obj(theta)[1]), rel=1e-12)


@pytest.mark.parametrize("output, loss", PAIRS)
def test_the_dense_matrix_is_the_matrix_of_the_curvature_products(output, loss):
    X, Y, w, obj = problem(output, (4, 6, 5, 3), 300, seed=2, lam=0.7, activation="tanh", loss=loss)
    p, theta = obj.problem, nnopt.random_init((4, 6, 5, 3), seed=3)
    G = gauss_newton_matrix(theta, p)
    V = np.random.default_rng(4).normal(size=(theta.size, 5))
    products = Curvature(theta, p)
    for v in V.T:
        expected = products.gauss_newton(v) / p.scale - p.lam * v * weight_mask(p.net)
        np.testing.assert_allclose(G @ v, expected, rtol=1e-11, atol=1e-11 * np.abs(expected).max())


def test_the_output_jacobian_is_torchs():
    torch = pytest.importorskip("torch")
    sizes = (3, 5, 4, 2)
    X = np.random.default_rng(0).normal(size=(7, 3))
    theta = nnopt.random_init(sizes, seed=0)
    net = nnopt.network.Network(sizes, "tanh", "identity")
    a, _ = nnopt.backprop.forward(net.thetas(theta), net, X)

    def z(t):
        out, start = torch.from_numpy(X), 0
        for l in range(len(sizes) - 1):
            rows, cols = sizes[l + 1], sizes[l] + 1
            Th = t[start:start + rows * cols].reshape(rows, cols)
            start += rows * cols
            out = out @ Th[:, 1:].T + Th[:, 0]
            out = torch.tanh(out) if l < len(sizes) - 2 else out
        return out

    expected = torch.func.jacrev(z)(torch.from_numpy(theta)).numpy()
    np.testing.assert_allclose(output_jacobian(net.thetas(theta), net, a), expected, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- μ's schedule


def test_a_rejected_step_leaves_theta_and_multiplies_mu_by_mu_inc():
    X, Y, w, obj = problem("sigmoid", (3, 4, 2), 9, seed=1, weighted=False)
    theta0 = nnopt.random_init((3, 4, 2), seed=0)
    # with μ this small the Gauss-Newton step overshoots: trials at 1e-8, 1e-7, 1e-6 raise the cost
    theta, result, entries = run("LM", obj, theta0, maxiter=5, mu=1e-8, mu_inc=10.0, mu_max=1e-6)
    assert entries == [] and result.nit == 0 and result.status == 2 and "mu_max" in result.message
    assert np.array_equal(theta, theta0)
    assert result.mu == pytest.approx(1e-5, rel=1e-12) and result.nfev == 4  # θ0, then 3 trials

    # with room to grow, μ rises by mu_inc until a trial is accepted, from θ0 itself
    theta, result, entries = run("LM", obj, theta0, maxiter=1, mu=1e-8, mu_inc=10.0)
    rejected = result.nfev - 2
    assert rejected >= 3
    mu_used = 1e-8 * 10.0 ** rejected
    assert entries[0]["mu"] == pytest.approx(mu_used * 0.1, rel=1e-12)
    D, gD, G = reference(theta0, X, Y, (3, 4, 2), "sigmoid", "sigmoid", "cross_entropy", w)
    delta = -np.linalg.solve(G + mu_used * np.eye(G.shape[0]), gD)
    assert np.linalg.norm(theta - theta0 - delta) <= 1e-9 * np.linalg.norm(delta)
    assert obj.forward_cost(theta) < obj.forward_cost(theta0)


def test_each_reason_to_stop_is_reported():
    X, Y, w, obj = problem("identity", (2, 3, 1), 20, seed=0)
    theta0 = nnopt.random_init((2, 3, 1), seed=0)
    theta, result, entries = run("LM", obj, theta0, maxiter=3)
    assert (result.status, result.success, result.nit, len(entries)) == (1, False, 3, 3)
    assert "maxiter" in result.message
    theta, result, entries = run("LM", obj, theta0, maxiter=3, gtol=1e6)
    assert (result.status, result.success, result.nit) == (0, True, 0) and "gtol" in result.message
    assert np.array_equal(theta, theta0)
    x, t = sine()
    obj = nnopt.Objective(x, t, 0.0, (1, 5, 1), activation="tanh", output="identity")
    theta, result, entries = run("LM", obj, nnopt.random_init((1, 5, 1), seed=0), gtol=1e-4)
    assert result.status == 0 and result.success and result.nit == len(entries) < 1000
    assert np.linalg.norm(obj(theta)[1]) / obj.problem.scale <= 1e-4  # ‖∇F‖, F = J·m
    costs = [e["J"] for e in entries]
    assert all(b < a for a, b in zip(costs, costs[1:]))  # only steps that lower J are kept


def test_the_recorders_exception_is_not_caught():
    X, Y, w, obj = problem("softmax", (3, 4, 3), 30, seed=0)
    with pytest.raises(Stop):
        run("LM", obj, nnopt.random_init((3, 4, 3), seed=0), maxiter=50, recorder=Recorder(limit=2))
    with pytest.raises(Stop):
        run("BR", obj, nnopt.random_init((3, 4, 3), seed=0), maxiter=50, recorder=Recorder(limit=2))


# ---------------------------------------------------------------- Bayesian regularization


def curve_data(output, seed=3, m=40):
    """Two inputs, two outputs with structure and noise: a regression, or two classes."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (m, 2))
    if output == "identity":
        y = Y = np.column_stack([np.sin(2 * X[:, 0]), np.cos(2 * X[:, 1])]) + rng.normal(0, 0.1, (m, 2))
    else:
        y = (np.sin(3 * X[:, 0]) + X[:, 1] + rng.normal(0, 0.3, m) > 0).astype(int)
        Y = np.eye(2)[y]
    return X, y, Y


@pytest.mark.parametrize("output, loss", [("identity", "squared_error"), ("sigmoid", "cross_entropy")])
def test_br_alpha_beta_and_gamma_follow_the_formulas(output, loss):
    sizes = (2, 5, 2)
    X, y, Y = curve_data(output)
    w = np.ones(40)
    obj = nnopt.Objective(X, y, 0.0, sizes, loss, activation="tanh", output=output)
    theta0 = nnopt.random_init(sizes, seed=2)
    theta, result, entries = run("BR", obj, theta0, maxiter=4)
    mask = weight_mask(obj.net)
    N, N_b, n, scale = theta0.size, int((~mask).sum()), 40 * 2, 1 / 40
    noise = loss == "squared_error"

    def alpha_beta(gamma, theta, D):
        E_W, E_D = theta[mask] @ theta[mask], 2 * D  # E_D: the sum of squared errors, or twice the cost
        return (gamma - N_b) / (2 * E_W), (n - gamma) / (2 * E_D) if noise else 0.5

    previous = theta0
    D, gD, G = reference(theta0, X, Y, sizes, "tanh", output, loss, w)
    alpha, beta = alpha_beta(N, theta0, D)  # trainbr's start, γ = N
    for entry in entries:
        # the step from the previous point, on F/2 = β·D + (α/2)·E_W, with the μ it was taken at
        A = beta * G + np.diag(alpha * mask) + entry["mu"] / 0.1 * np.eye(N)
        delta = -np.linalg.solve(A, beta * gD + alpha * previous * mask)
        assert np.linalg.norm(entry["theta"] - previous - delta) <= 1e-9 * np.linalg.norm(delta)
        D, gD, G = reference(entry["theta"], X, Y, sizes, "tanh", output, loss, w)
        inverse = np.linalg.inv(2 * beta * G + 2 * alpha * np.diag(mask))
        gamma = N - 2 * alpha * np.trace(inverse[mask][:, mask])
        alpha, beta = alpha_beta(gamma, entry["theta"], D)
        assert entry["gamma"] == pytest.approx(gamma, rel=1e-8)
        assert entry["alpha"] == pytest.approx(alpha, rel=1e-8)
        assert entry["beta"] == pytest.approx(beta, rel=1e-8)
        lam = alpha / beta
        theta_w = entry["theta"][mask]
        assert entry["J"] == pytest.approx(scale * (D + lam / 2 * theta_w @ theta_w), rel=1e-10)
        previous = entry["theta"]
    assert len(entries) == 4 and result.lam_equivalent == pytest.approx(alpha / beta, rel=1e-8)
    assert (result.alpha, result.beta, result.gamma) == (entries[-1]["alpha"], entries[-1]["beta"],
                                                          entries[-1]["gamma"])


def test_br_does_not_use_lam():
    X, y, Y = curve_data("identity")
    obj0, obj5 = (nnopt.Objective(X, y, lam, (2, 4, 2), activation="tanh", output="identity")
                  for lam in (0, 5))
    # (a start from which γ stays well conditioned: where γ nears N_b, α nears 0 and
    # γ's next value turns on the rounding)
    theta0 = nnopt.random_init((2, 4, 2), seed=2)
    a = run("BR", obj0, theta0, maxiter=3)
    b = run("BR", obj5, theta0, maxiter=3)  # λ's terms are taken out again: equal to rounding
    np.testing.assert_allclose(b[0], a[0], rtol=1e-8, atol=1e-10)
    assert b[1].gamma == pytest.approx(a[1].gamma, rel=1e-8)
    assert obj5.lam == 5.0 and b[1].fun == pytest.approx(a[1].fun, rel=1e-8)


def test_br_counts_an_integer_weight_as_copies_of_the_row():
    X, y, Y = curve_data("identity")
    w = np.arange(40) % 3 + 1
    weighted = nnopt.Objective(X, y, 0.0, (2, 4, 2), activation="tanh", output="identity", sample_weight=w)
    copies = nnopt.Objective(np.repeat(X, w, axis=0), np.repeat(y, w, axis=0), 0.0, (2, 4, 2),
                             activation="tanh", output="identity")
    theta0 = nnopt.random_init((2, 4, 2), seed=2)
    a, b = run("BR", weighted, theta0, maxiter=3), run("BR", copies, theta0, maxiter=3)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-8, atol=1e-10)
    for name in ("gamma", "alpha", "beta", "fun"):  # n = K·Σw error terms
        assert a[1][name] == pytest.approx(b[1][name], rel=1e-8)


# ---------------------------------------------------------------- fits


def sine():
    """MATLAB's sine data: x = -1:0.05:1 (trainbr's example inputs), t = sin(2πx)."""
    x = np.linspace(-1, 1, 41)[:, None]
    return x, np.sin(2 * np.pi * x)


def test_lm_fits_the_sine_with_a_1_5_1_network():
    x, t = sine()
    obj = nnopt.Objective(x, t, 0.0, (1, 5, 1), activation="tanh", output="identity")
    theta, result, entries = run("LM", obj, nnopt.random_init((1, 5, 1), seed=0))
    mse = np.mean((z_out(theta, x, (1, 5, 1), "tanh") - t) ** 2)
    assert mse <= 1e-5 and result.fun == pytest.approx(mse / 2, rel=1e-9)


def noisy_curve(seed=0, m=60):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-1, 1, m))[:, None]
    return x, np.sin(2 * np.pi * x) + rng.normal(0, 0.2, x.shape)


def test_br_uses_fewer_parameters_than_it_has_on_a_noisy_curve():
    x, t = noisy_curve()
    sizes = (1, 20, 1)
    obj = nnopt.Objective(x, t, 0.0, sizes, activation="tanh", output="identity")
    theta0 = nnopt.random_init(sizes, seed=0)
    theta, result, entries = run("BR", obj, theta0)
    assert result.success and 5 < result.gamma < 0.6 * theta0.size  # 61 parameters
    grid = np.linspace(-1, 1, 401)[:, None]
    error = lambda th: np.mean((z_out(th, grid, sizes, "tanh") - np.sin(2 * np.pi * grid)) ** 2)  # noqa: E731
    unregularized, _, _ = run("LM", obj, theta0, maxiter=300)
    assert error(theta) < 0.02 < error(unregularized)


# ---------------------------------------------------------------- options and memory


def test_prepare_checks_the_options_before_any_work():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['epochs'\] for method 'LM'; it takes \["):
        levenberg.prepare("LM", None, {"epochs": 5}, 10)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['cg_rtol'\] for method 'BR'"):
        levenberg.prepare("BR", None, {"cg_rtol": 0.1}, 10)
    with pytest.raises(ValueError, match="mu must be a finite number > 0; got -1"):
        levenberg.prepare("LM", None, {"mu": -1}, 10)
    with pytest.raises(ValueError, match=r"mu_dec must be a finite number in \(0, 1\); got 1"):
        levenberg.prepare("LM", None, {"mu_dec": 1}, 10)
    with pytest.raises(ValueError, match="mu_inc must be a finite number > 1; got 0.5"):
        levenberg.prepare("LM", None, {"mu_inc": 0.5}, 10)
    with pytest.raises(ValueError, match="mu_max must be a finite number > mu = 0.001; got 0.0001"):
        levenberg.prepare("LM", None, {"mu_max": 1e-4}, 10)
    with pytest.raises(TypeError, match="gtol must be a real number"):
        levenberg.prepare("LM", None, {"gtol": "small"}, 10)
    with pytest.raises(ValueError, match="solver must be None"):
        levenberg.prepare("LM", None, {"solver": "qr"}, 10)
    with pytest.raises(ValueError, match="solver='cg' is for 'LM'"):
        levenberg.prepare("BR", None, {"solver": "cg"}, 10)
    with pytest.raises(ValueError, match=r"'BR' holds the N×N .* above the limit of 256 MiB \(N ≤ 5792\)"):
        levenberg.prepare("BR", None, {}, 19885)
    with pytest.raises(ValueError, match=r"solver='dense' .* above the limit of 256 MiB"):
        levenberg.prepare("LM", None, {"solver": "dense"}, 19885)
    with pytest.raises(ValueError, match="maxiter must be >= 1"):
        levenberg.prepare("LM", 0, {}, 10)
    with pytest.raises(ValueError, match="method must be 'LM' or 'BR'"):
        levenberg.prepare("trainlm", None, {}, 10)
    assert levenberg.prepare("lm", None, {}, 5792)[1][0].solver == "dense"
    assert levenberg.prepare("LM", None, {}, 5793)[1][0].solver == "cg"
    assert levenberg.prepare("BR", None, {}, 61)[2] == levenberg.DEFAULT_MAXITER


_MEASURE = textwrap.dedent("""
    import numpy as np
    import nnopt
    from nnopt import levenberg

    def rss_peak():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

    class Recorder:
        def record(self, theta, J, **quantities):
            pass

    X, y = nnopt.load_digits()
    sizes = (784, 25, 10)
    obj = nnopt.Objective(X, y, 1.0, sizes)
    theta0 = nnopt.random_init(sizes, seed=0)
    run, args, _ = levenberg.prepare("LM", 1, {}, obj.n_params)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak starts again from the memory in use now: X and the rest
    base = rss_peak()
    theta, result = run(obj, theta0, Recorder(), *args)
    print(args[0].solver, result.nit, (rss_peak() - base) / 2**20)
""")


def test_one_matrix_free_iteration_on_the_digits_holds_at_most_500_MiB_above_X():
    # ru_maxrss cannot be reset, so a peak while loading would hide the iteration's: the
    # high-water mark is reset instead (Linux), as tests/test_scale.py does
    out = subprocess.run([sys.executable, "-c", _MEASURE], capture_output=True, text=True, check=True)
    solver, nit, extra = out.stdout.split()
    assert (solver, nit) == ("cg", "1")
    assert float(extra) <= 500, f"{float(extra):.1f} MiB above X"


# ---------------------------------------------------------------- through train, the CLI and the estimators


def test_train_runs_lm_and_br_and_records_their_quantities():
    x = np.linspace(-1, 1, 41)[:, None]
    t = np.sin(2 * np.pi * x[:, 0])
    lm = nnopt.train(x, t, lam=0.0, hidden_layer_sizes=(5,), activation="tanh", output="identity",
                     method="LM", maxiter=60, progress=False)
    assert lm.method == "LM" and lm.n_iter == 60
    assert np.all(np.isfinite(lm.history["mu"][1:])) and np.all(np.diff(lm.history["cost"]) <= 0)
    br = nnopt.train(x, t, hidden_layer_sizes=(5,), activation="tanh", output="identity", method="BR",
                     maxiter=30, progress=False)
    assert {"alpha", "beta", "gamma", "mu"} <= set(br.history)
    assert 0 < br.history["gamma"][-1] <= br.theta.size
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['mu_up'\] for method 'LM'"):
        nnopt.train(x, t, output="identity", method="LM", options={"mu_up": 2})


def test_the_estimators_and_the_command_line_take_lm(tmp_path, capsys):
    from nnopt.cli import main
    sklearn = pytest.importorskip("sklearn", reason="scikit-learn comes with the test extra")
    from nnopt.estimators import NNRegressor
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 1))
    y = np.sin(3 * x[:, 0])
    reg = NNRegressor(hidden_layer_sizes=(8,), activation="tanh", lam=0.0, method="LM", maxiter=50).fit(x, y)
    assert reg.score(x, y) > 0.99 and reg.model_.method == "LM"
    np.savez(tmp_path / "sine.npz", X=x, y=y)
    code = main(["train", "--data", str(tmp_path / "sine.npz"), "--output", "identity", "--activation",
                 "tanh", "--hidden", "8", "--method", "BR", "--maxiter", "20", "--out", str(tmp_path / "m.npz")])
    assert code == 0, capsys.readouterr()
    assert nnopt.load(tmp_path / "m.npz").method == "BR"


def test_one_lanczos_basis_serves_every_shift_as_conjugate_gradients_would():
    from nnopt.krylov import ShiftedLanczos

    sizes = (3, 5, 2)
    X, Y, w, obj = problem("sigmoid", sizes, 40, seed=6, lam=0.4, activation="tanh", loss="cross_entropy")
    p, theta = obj.problem, nnopt.random_init(sizes, seed=2)
    mask = weight_mask(obj.net)
    G = gauss_newton_matrix(theta, p) + np.diag(p.lam * mask)
    gradient = obj(theta)[1] / p.scale
    N = theta.size
    # the whole space: the exact solve for each μ, from products made for the first μ only
    solve = ShiftedLanczos(theta, p, rtol=1e-15, maxiter=N)
    for mu in (1e-3, 1e-1, 10.0):
        delta = solve(gradient, mu)
        expected = -np.linalg.solve(G + mu * np.eye(N), gradient)
        np.testing.assert_allclose(delta, expected, rtol=1e-8, atol=1e-10 * np.abs(expected).max())
    made = solve.products
    assert made <= N
    solve(gradient, 100.0)
    assert solve.products == made  # a larger μ is better conditioned: the basis already serves it
    # truncated at k products: CG's k-th iterate, the minimizer of the quadratic over the Krylov space
    k, mu = 3, 0.05
    truncated = ShiftedLanczos(theta, p, rtol=1e-15, maxiter=k)(gradient, mu)
    K = np.column_stack([np.linalg.matrix_power(G, j) @ gradient for j in range(k)])
    Q, _ = np.linalg.qr(K)
    A = G + mu * np.eye(N)
    galerkin = -Q @ np.linalg.solve(Q.T @ A @ Q, Q.T @ gradient)
    np.testing.assert_allclose(truncated, galerkin, rtol=1e-7, atol=1e-9 * np.abs(galerkin).max())
