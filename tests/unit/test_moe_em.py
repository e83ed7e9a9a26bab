"""Template-B Gaussian MoE: sampler, EM fitter and Voronoi losses (sigmoid_moe.md §4, §7.3)."""

import numpy as np
import pytest
from scipy import stats

from numerics.core import get_thread_count, set_thread_count
from numerics.moe import (
    TemplateB,
    fit_em,
    fit_em_many,
    sample_template_b,
    template_b_cells,
    template_b_loss,
    template_b_loss_parts,
    template_b_start,
    template_b_truth,
)
from proofs_check import get_claim

KINDS = {1: "d1", 2: "d2", 3: "d3", 4: "d4"}


def _relu(z):
    return np.maximum(z, 0.0)


def _reference_mean(m: TemplateB, x):
    """E[Y | X = x] written out from the §7.3 formulas (numpy, no kernel)."""
    x = np.asarray(x, dtype=np.float64)[:, None]
    k = m.kappa
    if m.shared_expert == "relu":
        h1 = k[:, 2] * _relu(k[:, 1] * x + k[:, 0])
    else:
        h1 = k[:, 1] * x + k[:, 0]
    e = m.eta
    h2 = e[:, 1] * _relu(e[:, 0] * x) if m.routed_expert == "relu" else e[:, 1] * x + e[:, 0]
    s = m.beta[:, 0] + m.beta[:, 1] * x
    if m.gate == "softmax":
        g = np.exp(s - s.max(axis=1, keepdims=True))
    else:
        g = 1.0 / (1.0 + np.exp(-s))
    g /= g.sum(axis=1, keepdims=True)
    return 0.5 * (h1 @ m.omega) + 0.5 * np.sum(g * h2, axis=1)


def _permuted(m: TemplateB, p1, p2) -> TemplateB:
    return m.replace(omega=m.omega[p1], kappa=m.kappa[p1], tau=m.tau[p1], beta=m.beta[p2],
                     eta=m.eta[p2], nu=m.nu[p2])


# -- model and sampler ---------------------------------------------------------------------------


@pytest.mark.parametrize("theorem", [1, 2, 3, 4])
def test_regression_function_matches_the_closed_form(theorem):
    m = template_b_start(template_b_truth(theorem), rng=2024_11_24 + theorem)
    x = np.linspace(-3.0, 3.0, 41)
    np.testing.assert_allclose(m.regression_function(x), _reference_mean(m, x), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(m.routing_weights(x).sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("theorem", [1, 2, 3, 4])
def test_sampler_conditional_mean_t_interval(theorem):
    """Residuals Y - E[Y|X] have mean 0 and are orthogonal to x and to 1{x > 0}."""
    truth = template_b_truth(theorem)
    n = 100_000
    x, y = sample_template_b(truth, n, rng=9_183_746 + theorem)
    assert np.all((x >= -3.0) & (x <= 3.0))
    resid = y - truth.regression_function(x)
    crit = stats.t.ppf(1 - 1e-4 / 2, n - 1)  # two-sided 99.99% t-interval per moment
    for weight in (np.ones(n), x, (x > 0).astype(float)):
        z = resid * weight
        half = crit * z.std(ddof=1) / np.sqrt(n)
        assert abs(z.mean()) <= half, (theorem, z.mean(), half)


def test_log_density_integrates_to_one_around_the_regression_function():
    """Quadrature in y of p(y | x): mass 1 and mean E[Y | X = x]."""
    truth = template_b_truth(1)
    xs = np.array([-1.0, 0.3, 2.0])
    grid = np.linspace(-150.0, 150.0, 150_001)
    for x0 in xs:
        dens = np.exp(truth.log_density(np.full(grid.size, x0), grid))
        mass = np.trapezoid(dens, grid)
        mean = np.trapezoid(grid * dens, grid)
        assert abs(mass - 1.0) < 1e-8
        assert abs(mean - truth.regression_function([x0])[0]) < 1e-6


def test_sample_is_reproducible_and_depends_on_the_stream_only():
    truth = template_b_truth(4)
    a = sample_template_b(truth, 1000, rng=5)
    b = sample_template_b(truth, 1000, rng=np.random.default_rng(5))
    c = sample_template_b(truth, 1000, rng=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_start_has_the_true_density_before_perturbation():
    for theorem in (1, 2, 3):
        truth = template_b_truth(theorem)
        s = template_b_start(truth, rng=1, sd=0.0)
        x, y = sample_template_b(truth, 200, rng=3)
        np.testing.assert_allclose(s.log_density(x, y), truth.log_density(x, y), rtol=1e-12)
    # dense regime: the surplus atom starts dead (routing weight below 1e-4)
    s = template_b_start(template_b_truth(4), rng=1, sd=0.0)
    assert s.routing_weights(np.linspace(-3, 3, 101))[:, 2].max() < 1e-4


# -- EM --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("theorem", [1, 2, 3, 4])
def test_em_log_likelihood_is_monotone(theorem):
    truth = template_b_truth(theorem)
    x, y = sample_template_b(truth, 400, rng=77 + theorem)
    fit = fit_em(x, y, template_b_start(truth, rng=78 + theorem), max_iter=300)
    trace = fit.trace
    assert trace.shape == (fit.n_iter + 1,)
    assert np.all(np.diff(trace) >= -1e-10 * np.abs(trace[:-1])), np.diff(trace).min()
    assert fit.backtracks == 0 and fit.status in (0, 1)
    assert fit.loglik == pytest.approx(fit.params.log_density(x, y).sum(), rel=1e-12)
    if fit.converged:
        assert abs(trace[-1] - trace[-2]) < 1e-6 * abs(trace[-2])


@pytest.mark.parametrize("theorem", [1, 2])
def test_em_recovers_the_truth_when_exactly_specified(theorem):
    truth = template_b_truth(theorem)
    n = 20_000
    x, y = sample_template_b(truth, n, rng=31_415 + theorem)
    start = template_b_start(truth, k_shared=1, k_routed=2, rng=27_182 + theorem)
    fit = fit_em(x, y, start, tol=1e-10, max_iter=2000)
    # the MLE beats the truth on its own data, by O(number of parameters)
    gap = fit.loglik - truth.log_density(x, y).sum()
    assert 0.0 <= gap < 50.0
    # parameters: a few standard errors of order 1/sqrt(n) in the identified coordinates
    p = fit.params
    shift = p.beta - truth.beta  # softmax: a common translation is not identified
    np.testing.assert_allclose(shift - shift.mean(axis=0), 0.0, atol=0.1)
    kind = KINDS[theorem]
    assert template_b_loss(p, truth, kind) < 0.3
    assert template_b_loss(start, truth, kind) > template_b_loss(p, truth, kind)


@pytest.mark.parametrize("theorem", [1, 4])
def test_gate_newton_derivatives_match_central_differences(theorem):
    """Gradient and Hessian of the gate block of Q (softmax pinned; normalised sigmoid)."""
    from numerics.moe import _em

    rng = np.random.default_rng(4242 + theorem)
    m = template_b_start(template_b_truth(theorem), rng=rng)
    if m.gate == "softmax":
        m = m.replace(beta=m.beta - m.beta[-1])
    th = m.flat()
    gate, c1, c2, p1, p2 = m.codes
    k1, k2 = m.k_shared, m.k_routed
    ob = _em._offsets(k1, k2, p1, p2)[2]
    x = rng.uniform(-3, 3, 60)
    resp = rng.dirichlet(np.ones(k1 + k2), size=60)
    lg, sg = np.empty((60, k2)), np.zeros((60, k2))

    def objective(theta):
        return _em._gate_objective(gate, theta, ob, k1, k2, x, resp, lg, sg)

    def derivatives(theta):
        objective(theta)  # fills lg, sg at theta
        free = 2 * (k2 - 1 if gate == 0 else k2)
        grad, neg_hess = np.empty(free), np.empty((free, free))
        _em._gate_derivatives(gate, x, resp, k1, k2, lg, sg, grad, neg_hess)
        return grad, neg_hess

    grad, neg_hess = derivatives(th)
    h = 1e-5
    for a in range(grad.size):
        up, down = th.copy(), th.copy()
        up[ob + a] += h
        down[ob + a] -= h
        fd = (objective(up) - objective(down)) / (2 * h)
        assert fd == pytest.approx(grad[a], rel=1e-6, abs=1e-7)
        fd_row = (derivatives(up)[0] - derivatives(down)[0]) / (2 * h)
        np.testing.assert_allclose(-fd_row, neg_hess[a], rtol=1e-5, atol=1e-6)


def test_fits_are_bit_identical_for_one_and_two_threads():
    truth = template_b_truth(4)
    data = [sample_template_b(truth, 300, rng=s) for s in range(4)]
    starts = [template_b_start(truth, rng=100 + s) for s in range(4)]
    before = get_thread_count()
    try:
        set_thread_count(1)
        one = fit_em_many([d[0] for d in data], [d[1] for d in data], starts, max_iter=200)
        two = fit_em_many([d[0] for d in data], [d[1] for d in data], starts, threads=2,
                          max_iter=200)
    finally:
        set_thread_count(before)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a.params.flat(), b.params.flat())
        assert np.array_equal(a.trace, b.trace) and a.n_iter == b.n_iter


def test_softmax_fit_is_pinned_and_relu_scales_are_kept():
    truth = template_b_truth(1)
    x, y = sample_template_b(truth, 300, rng=4)
    start = template_b_start(truth, rng=5)
    fit = fit_em(x, y, start, max_iter=50)
    assert np.array_equal(fit.params.beta[-1], [0.0, 0.0])
    np.testing.assert_array_equal(np.abs(fit.params.kappa[:, 1]), np.abs(start.kappa[:, 1]))
    np.testing.assert_array_equal(np.abs(fit.params.eta[:, 0]), np.abs(start.eta[:, 0]))


# -- losses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("theorem", [1, 2, 3, 4])
def test_losses_vanish_at_the_truth_and_ignore_atom_order(theorem):
    truth = template_b_truth(theorem)
    kind = KINDS[theorem]
    assert template_b_loss(truth, truth, kind) == 0.0
    fit = template_b_start(truth, rng=606 + theorem)
    value = template_b_loss(fit, truth, kind)
    assert value > 0.0
    for p1, p2 in (([1, 0], [2, 0, 1]), ([0, 1], [1, 2, 0]), ([1, 0], [0, 2, 1])):
        assert template_b_loss(_permuted(fit, p1, p2), truth, kind) == pytest.approx(value,
                                                                                     rel=1e-12)
    parts = template_b_loss_parts(fit, truth, kind)
    assert parts["total"] == pytest.approx(parts["shared"] + parts["routed"], rel=1e-14)
    assert parts["routed"] == pytest.approx(parts["routed_gate"] + parts["routed_expert"],
                                            rel=1e-14)


def test_losses_respect_the_exact_invariances():
    # ReLU positive homogeneity: (kappa_0, kappa_1, kappa_2) -> (t kappa_0, t kappa_1, kappa_2 / t)
    truth = template_b_truth(1)
    fit = template_b_start(truth, rng=8)
    t = np.array([[2.5], [0.4]])
    kappa = fit.kappa * np.hstack([t, t, 1.0 / t])
    eta = fit.eta * np.array([[3.0, 1 / 3.0], [0.5, 2.0], [1.5, 1 / 1.5]])
    moved = fit.replace(kappa=kappa, eta=eta, beta=fit.beta + [0.7, -1.3])  # + softmax shift
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(moved.log_density(x, x), fit.log_density(x, x), rtol=1e-12)
    assert template_b_loss(moved, truth, "d1") == pytest.approx(
        template_b_loss(fit, truth, "d1"), rel=1e-10)
    # constant normalised-sigmoid gates: only sigma(beta_0) ratios are identified
    truth3 = template_b_truth(3)
    sig = np.array([0.2, 0.3, 0.25])
    scaled = 0.5 * sig
    fit3 = template_b_start(truth3, rng=9).replace(
        beta=np.column_stack([np.log(sig / (1 - sig)), np.zeros(3)]))
    fit3b = fit3.replace(beta=np.column_stack([np.log(scaled / (1 - scaled)), np.zeros(3)]))
    np.testing.assert_allclose(fit3b.log_density(x, x), fit3.log_density(x, x), rtol=1e-12)
    assert template_b_loss(fit3b, truth3, "d3") == pytest.approx(
        template_b_loss(fit3, truth3, "d3"), rel=1e-10)


def test_sparse_sigmoid_reflected_pair_has_the_true_density():
    """Setting 3, k2 = 3: sigma(s) + sigma(-s) = 1 gives an exact non-identified branch.

    Two atoms with the expert of true atom 2 and reflected gates (a + b x, -a - b x) act as one
    constant gate of mass 1; atom 1 then needs sigma(c) = sigma(-1/2) / sigma(1/2).  D3 is
    positive along the branch and grows like b^2.
    """
    truth = template_b_truth(3)
    c = np.log(np.exp(-0.5) / (1 - np.exp(-0.5)))  # logit(e^{-1/2})
    x = np.linspace(-3, 3, 13)
    y = np.linspace(-20, 20, 13)
    losses = []
    for a, b in ((0.3, 1.0), (-1.0, 10.0), (2.0, -25.0)):
        fit = truth.replace(beta=[[c, 0.0], [a, b], [-a, -b]],
                            eta=truth.eta[[0, 1, 1]], nu=truth.nu[[0, 1, 1]])
        np.testing.assert_allclose(fit.log_density(x, y), truth.log_density(x, y), rtol=1e-12)
        losses.append(template_b_loss(fit, truth, "d3"))
    assert 0.0 < losses[0] < losses[1] < losses[2]


def test_cells_and_over_specified_exponents():
    truth = template_b_truth(2)
    fit = template_b_start(truth, rng=12)
    shared, routed = template_b_cells(fit, truth)
    assert list(shared) == [0, 0]
    assert sorted(np.bincount(routed, minlength=2)) == [1, 2]
    # splitting the exactly specified shared atom's error by delta scales the D2 shared part
    # in an over-specified cell like delta^r (r = r_2(2) = 4 for kappa, r / 2 for tau)
    base = truth.replace(omega=[0.5, 0.5], kappa=np.tile(truth.kappa, (2, 1)),
                         tau=np.tile(truth.tau, 2))
    values = []
    for delta in (1e-1, 1e-2):
        moved = base.replace(kappa=base.kappa + [[delta, 0.0], [-delta, 0.0]])
        values.append(template_b_loss_parts(moved, truth, "d2")["shared"])
    assert values[0] / values[1] == pytest.approx(1e4, rel=1e-9)


# -- input validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: template_b_truth(5), "theorem"),
        (lambda: template_b_truth(1).replace(gate="relu"), "gate"),
        (lambda: template_b_truth(1).replace(tau=[-0.1]), "tau"),
        (lambda: template_b_truth(1).replace(omega=[0.5]), "omega"),
        (lambda: template_b_truth(1).replace(eta=[[0.0, 4.0], [12.0, 4.0]]), "eta"),
        (lambda: template_b_truth(1).replace(kappa=[[0.0, 6.0]]), "kappa"),
        (lambda: sample_template_b(template_b_truth(1), 0, rng=1), "n"),
        (lambda: sample_template_b(template_b_truth(1), 5, rng=1, low=1.0, high=0.0), "high"),
        (lambda: template_b_start(template_b_truth(1), k_routed=1, rng=1), "k_routed"),
        (lambda: template_b_start(template_b_truth(1), sd=-1.0, rng=1), "sd"),
        (lambda: fit_em([0.0, 1.0], [0.0], template_b_truth(1)), "y"),
        (lambda: fit_em([0.0, 1.0], [0.0, 1.0], template_b_truth(1), tol=-1.0), "tol"),
        (lambda: fit_em([0.0, 1.0], [0.0, 1.0], template_b_truth(1), max_iter=0), "max_iter"),
        (lambda: fit_em([0.0, 1.0], [0.0, 1.0], template_b_truth(1), var_floor=0.0), "var_floor"),
        (lambda: fit_em([0.0, np.nan], [0.0, 1.0], template_b_truth(1)), "x"),
        (lambda: fit_em_many([[0.0, 1.0]], [[0.0, 1.0]], [template_b_truth(1)], nope=1), "nope"),
        (lambda: template_b_loss(template_b_truth(1), template_b_truth(1), "d5"), "kind"),
        (lambda: template_b_loss(template_b_truth(1), template_b_truth(1), "d2"), "d2"),
        (lambda: template_b_loss(template_b_truth(1), template_b_truth(2), "d1"), "shared_expert"),
        (lambda: template_b_loss(template_b_truth(1), template_b_truth(1), "d1", gauge="x"),
         "gauge"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- the claim -------------------------------------------------------------------------------------


def test_claim_is_registered_xslow_with_its_reconstructions_visible():
    c = get_claim("moe.c12-template-b-reproduction")
    assert c.tier == "xslow" and c.mutations
    assert any(label.startswith("RELATED") for label in c.evidence)
    text = " ".join(str(v) for v in c.options.values())
    for piece in ("moe.c12_init", "moe.c12_loss_normalisation", "moe.c12_d4"):
        assert piece in c.options and "[INFERRED]" in str(c.options[piece])
    assert "INFERRED" in text
    wrong = c.mutations["exponents-plus-half"][1]()
    right = c.formulas["published_exponents"]()
    assert np.allclose(np.subtract(wrong, right), 0.5)
