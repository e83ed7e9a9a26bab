"""Unit tests for theory.moe (sigmoid_moe.md §2, §4, §5, §6; claims C1-C4, C11)."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import theory.moe as moe
from theory.moe import (
    attention_rows,
    attention_rows_lambdified,
    attention_rows_moe,
    check_over_specification,
    check_sigmoid_truth,
    check_symmetric_gate,
    family_matrix,
    family_names,
    identity,
    identity_info,
    identity_names,
    implied_rate,
    implied_rates_table,
    r1_two_atom_reduction,
    r1_two_atoms,
    r1_two_atoms_solvable,
    r1_witness,
    r_system_residuals,
    r_value,
    rank_family,
    sigma_derivative,
    solves_r_system,
    theorem,
    theorem_table,
    verify_attention_moe,
    verify_identity,
)

SEED = 20_260_224_071


def rank_ratio(M):
    """Reference rank statistic of §6.4: sigma_min / sigma_max after column normalisation."""
    M = M / np.linalg.norm(M, axis=0)
    s = np.linalg.svd(M, compute_uv=False)
    return s[-1] / s[0]


def rank_verdict(M):
    r = rank_ratio(M)
    if r > 1e-6:
        return "independent"
    if r < 1e-12:
        return "dependent"
    return "inconclusive"


def test_all_is_sorted_and_public():
    assert moe.__all__ == sorted(moe.__all__)
    public = {n for n in vars(moe) if not n.startswith("_") and not n == "annotations"}
    public = {n for n in public if not (hasattr(getattr(moe, n), "__path__")
                                        or type(getattr(moe, n)).__name__ == "module")}
    assert public == set(moe.__all__)


# --------------------------------------------------------------------------------------------
# §6.1-§6.3 identities (C2)


def _identity_cases():
    for name in identity_names():
        info = identity_info(name)
        for d in (1, 2):
            for sym in ((False, True) if info.uses_symmetric else (False,)):
                yield name, d, sym


@pytest.mark.parametrize(("name", "d", "symmetric"), list(_identity_cases()))
def test_identity_simplifies_to_zero(name, d, symmetric):
    assert verify_identity(name, d, symmetric=symmetric)


def _mutation_cases():
    for name in identity_names():
        for mut in identity_info(name).mutations:
            sym = mut == "drop_factor"
            yield name, 2, sym, mut


@pytest.mark.parametrize(("name", "d", "symmetric", "mutation"), list(_mutation_cases()))
def test_mutated_identity_fails(name, d, symmetric, mutation):
    assert not verify_identity(name, d, symmetric=symmetric, mutation=mutation)


def _random_numeric_difference(name, d, symmetric, mutation, rng):
    """Independent route: evaluate lhs - rhs at random parameter values with 30 digits."""
    lhs, rhs = identity(name, d, symmetric=symmetric, mutation=mutation)
    diff = lhs - rhs
    # the generic activation of "inner_bias" is an undefined function: instantiate it as tanh
    diff = diff.replace(lambda e: isinstance(e, sp.core.function.AppliedUndef),
                        lambda e: sp.tanh(e.args[0])).doit()
    free = sorted(diff.free_symbols, key=str)
    out = 0.0
    for _ in range(3):
        vals = {}
        for s in free:
            v = rng.uniform(0.3, 1.5)  # positive: also valid for symbols declared positive
            vals[s] = sp.Rational(repr(round(v, 6)))
        for e in diff:
            out = max(out, abs(float(e.subs(vals).evalf(30))))
    return out


@pytest.mark.parametrize(("name", "d", "symmetric"),
                         [c for c in _identity_cases() if c[1] == 2 and c[0] != "S3"])
def test_identity_holds_at_random_points(name, d, symmetric):
    rng = np.random.default_rng(SEED)
    assert _random_numeric_difference(name, d, symmetric, None, rng) < 1e-20


@pytest.mark.parametrize(("name", "d", "symmetric", "mutation"),
                         [c for c in _mutation_cases() if c[0] != "S3"])
def test_mutated_identity_differs_at_random_points(name, d, symmetric, mutation):
    rng = np.random.default_rng(SEED + 1)
    assert _random_numeric_difference(name, d, symmetric, mutation, rng) > 1e-6


def test_sigma_derivatives_match_numerical_derivatives():
    z = sp.Symbol("z", real=True)
    rng = np.random.default_rng(SEED)
    with mpmath.workdps(40):
        f = lambda t: 1 / (1 + mpmath.exp(-t))  # noqa: E731
        for order in (1, 2, 3):
            expr = sigma_derivative(z, order)
            for t in rng.uniform(-4, 4, size=4):
                exact = sp.N(expr.subs(z, sp.Float(t, 40)), 40)
                numeric = mpmath.diff(f, mpmath.mpf(t), order)
                assert abs(float(exact - sp.Float(str(numeric), 40))) < 1e-25


def test_s3_constant_gate_split_numeric_and_nonconstant_gate_limit():
    # constant gate: c1 = c2 = logit(sigma(c)/2) reproduces sigma(c) to float precision (C4)
    for c in np.linspace(-3, 3, 13):
        s = 1 / (1 + math.exp(-c))
        c1 = math.log((s / 2) / (1 - s / 2))
        assert abs(2 / (1 + math.exp(-c1)) - s) < 1e-12
    # non-constant gate: at large t the two split sigmoids sum to ~2, the target tends to 1
    t = 40.0
    c1, c2, c = -1.3, 0.7, 0.2
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    val = sig(t + c1) + sig(t + c2) - sig(t + c)
    assert abs(val - 1) < 1e-12


def test_identity_input_validation():
    with pytest.raises(ValueError, match="name must be one of"):
        identity("P9")
    with pytest.raises(ValueError, match="d must be an integer in"):
        identity("P1", 4)
    with pytest.raises(ValueError, match="needs symmetric=True"):
        identity("P2", 2, mutation="drop_factor")
    with pytest.raises(ValueError, match="no-op for d = 1"):
        identity("P2", 1, symmetric=True, mutation="drop_factor")
    with pytest.raises(ValueError, match="mutation for S1"):
        identity("S1", mutation="drop_factor")
    with pytest.raises(ValueError, match="order must be"):
        sigma_derivative(sp.Symbol("z"), -1)


# --------------------------------------------------------------------------------------------
# §2 attention row = MoE (C1)


@pytest.mark.parametrize("gate", ["softmax", "sigmoid"])
@pytest.mark.parametrize("symmetrize", [False, True])
def test_attention_moe_symbolic(gate, symmetrize):
    assert verify_attention_moe(2, 2, 1, 1, gate=gate, symmetrize=symmetrize)
    assert verify_attention_moe(2, 1, 2, 2, gate=gate, symmetrize=symmetrize)


@pytest.mark.parametrize("gate", ["softmax", "sigmoid"])
def test_attention_moe_symbolic_mutation_fails(gate):
    assert not verify_attention_moe(2, 2, 1, 1, gate=gate, mutation="swap_qk")


def _loop_attention(X, WQ, WK, WV, gate, beta):
    """Plain-Python reference with math.exp: row by row, entry by entry."""
    N, d = X.shape
    dk = WQ.shape[1]
    q, k, v = X @ WQ, X @ WK, X @ WV
    out = np.zeros((N, WV.shape[1]))
    for i in range(N):
        sc = [sum(q[i, t] * k[j, t] for t in range(dk)) / math.sqrt(dk) for j in range(N)]
        if gate == "softmax":
            mx = max(sc)
            e = [math.exp(s - mx) for s in sc]
            w = [ej / sum(e) for ej in e]
        else:
            w = [1 / (1 + math.exp(-(s + beta))) for s in sc]
        for j in range(N):
            out[i] += w[j] * v[j]
    return out


@pytest.mark.parametrize("gate", ["softmax", "sigmoid"])
def test_attention_moe_numeric_c1(gate):
    rng = np.random.default_rng(SEED)
    N, d, dk, dv = 4, 3, 2, 3
    lam = attention_rows_lambdified(N, d, dk, dv, gate=gate, form="moe")
    for _ in range(5):
        X, WQ, WK, WV = (rng.normal(size=s) for s in ((N, d), (d, dk), (d, dk), (d, dv)))
        direct = attention_rows(X, WQ, WK, WV, gate=gate)
        ref = _loop_attention(X, WQ, WK, WV, gate, -math.log(N))
        for other in (
            attention_rows_moe(X, WQ, WK, WV, gate=gate),
            attention_rows_moe(X, WQ, WK, WV, gate=gate, symmetrize=True),
            lam(X, WQ, WK, WV),
            ref,
        ):
            assert np.max(np.abs(direct - other)) <= 1e-12
        # a wrong MoE (query and key swapped) is detected
        wrong = attention_rows_moe(X, WK, WQ, WV, gate=gate)
        assert np.max(np.abs(direct - wrong)) > 1e-6


def test_attention_sym_matrices_give_same_scores():
    rng = np.random.default_rng(SEED)
    N, d, dk = 3, 2, 2
    WQ, WK = rng.normal(size=(d, dk)), rng.normal(size=(d, dk))
    M = moe.attention_moe_matrices(WQ, WK, N)
    Ms = moe.attention_moe_matrices(WQ, WK, N, symmetrize=True)
    assert np.max(np.abs(M - np.swapaxes(M, -1, -2))) > 1e-3  # M_ij generally asymmetric
    xb = rng.normal(size=N * d)
    s1 = np.einsum("a,ijab,b->ij", xb, M, xb)
    s2 = np.einsum("a,ijab,b->ij", xb, Ms, xb)
    assert np.max(np.abs(s1 - s2)) <= 1e-12


def test_attention_sigmoid_beta_default_and_validation():
    rng = np.random.default_rng(SEED)
    X, WQ, WK, WV = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), \
        rng.normal(size=(3, 3))
    a = attention_rows(X, WQ, WK, WV, gate="sigmoid")
    b = attention_rows(X, WQ, WK, WV, gate="sigmoid", beta=-math.log(4))
    c = attention_rows(X, WQ, WK, WV, gate="sigmoid", beta=0.0)
    assert np.array_equal(a, b) and np.max(np.abs(a - c)) > 1e-3
    with pytest.raises(ValueError, match="beta applies to the sigmoid"):
        attention_rows(X, WQ, WK, WV, gate="softmax", beta=1.0)
    with pytest.raises(ValueError, match="gate must be one of"):
        attention_rows(X, WQ, WK, WV, gate="relu")
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X must contain only finite values, got nan at index \(0, 0\)"):
        attention_rows_moe(Xn, WQ, WK, WV)
    with pytest.raises(ValueError, match="must have 3 rows"):
        attention_rows(X, WQ[:2], WK[:2], WV)
    with pytest.raises(ValueError, match="N must be an integer"):
        moe.attention_symbolic(0, 1, 1, 1)


def test_attention_softmax_is_stable_for_large_scores():
    X = np.array([[30.0, 0.0], [0.0, 30.0]])
    W = np.eye(2)
    out = attention_rows(X, W, W, W)
    assert np.all(np.isfinite(out))
    assert np.max(np.abs(out - attention_rows_moe(X, W, W, W))) <= 1e-12 * np.max(np.abs(out))


# --------------------------------------------------------------------------------------------
# §6.4 families (C2, C3)

FAMILY_CASES = [(n, {}) for n in family_names()] + [
    ("negative_control", {"d": 2}),
    ("negative_control", {"d": 3}),
    ("inner_bias", {"act": "tanh"}),
    ("bias_free", {"act": "gelu"}),
    ("bias_free", {"act": "tanh", "atoms": [(1.2, 0.5)]}),
    ("bias_free", {"act": "gelu", "atoms": [(1.2, 0.5)]}),
    ("bias_free", {"act": "gelu", "atoms": [(-0.8, 2.0)]}),
]


@pytest.mark.parametrize(("name", "params"), FAMILY_CASES)
def test_family_rank_verdict(name, params):
    fam = rank_family(name, **params)
    d = len(fam.variables)
    m = 500
    assert m >= 20 * fam.size
    rng = np.random.default_rng(SEED)
    M = family_matrix(fam, rng.uniform(-2, 2, size=(m, d)))
    assert M.shape == (m, fam.size)
    assert np.all(np.isfinite(M))
    assert rank_verdict(M) == fam.expected, (name, params, rank_ratio(M))
    assert fam.label == "MATH"


def test_reflected_dense_family_has_rank_deficiency_two():
    rng = np.random.default_rng(SEED)
    M = family_matrix(rank_family("dense_S2_reflected"), rng.uniform(-2, 2, 500))
    M = M / np.linalg.norm(M, axis=0)
    s = np.linalg.svd(M, compute_uv=False)
    assert int(np.sum(s < 1e-12 * s[0])) == 2


@pytest.mark.parametrize(("score", "deficiency"), [("full", 2), ("linear", 1), ("partial", 0)])
def test_reflected_dense_family_by_score_class(score, deficiency):
    # §2 item 3: s2 = -s1 costs rank 2 (fully quadratic), 1 (linear gate), 0 (partial score)
    rng = np.random.default_rng(SEED)
    fam = rank_family("dense_S2_reflected", score=score)
    M = family_matrix(fam, rng.uniform(-2, 2, 500))
    Mn = M / np.linalg.norm(M, axis=0)
    s = np.linalg.svd(Mn, compute_uv=False)
    assert int(np.sum(s < 1e-12 * s[0])) == deficiency
    assert rank_verdict(M) == fam.expected
    gen = rank_family("dense_S2", score=score)
    assert rank_verdict(family_matrix(gen, rng.uniform(-2, 2, 500))) == "independent"


def test_reflected_partial_score_with_proportional_experts_is_dependent():
    atoms = ((0.8, 0.0, -0.3, 1.5, 0.7), (0.0, 0.0, 0.0, 3.0, 1.4))  # h2 = 2 h1
    fam = rank_family("dense_S2_reflected", score="partial", atoms=atoms)
    assert fam.expected == "dependent"
    rng = np.random.default_rng(SEED)
    assert rank_verdict(family_matrix(fam, rng.uniform(-2, 2, 500))) == "dependent"


def test_p1_augmented_dependency_is_p1():
    # the null vector of the augmented set is (0, 0, 1, 0, -1): du/da = d2u/db da0
    rng = np.random.default_rng(SEED)
    M = family_matrix(rank_family("P1_augmented"), rng.uniform(-2, 2, 200))
    assert np.max(np.abs(M[:, 2] - M[:, 4])) <= 1e-12 * np.max(np.abs(M[:, 2]))
    assert rank_verdict(M[:, :4]) == "independent"


def test_family_validation():
    with pytest.raises(ValueError, match="name must be one of"):
        rank_family("nope")
    with pytest.raises(ValueError, match="u must be > 0"):
        rank_family("bias_free", atoms=[(1.0, -0.5)])
    with pytest.raises(ValueError, match="w must be non-zero"):
        rank_family("bias_free", atoms=[(0.0, 0.5)])
    with pytest.raises(ValueError, match="distinct u"):
        rank_family("bias_free", atoms=[(1.0, 0.5), (2.0, 0.5)])
    with pytest.raises(ValueError, match="non-reflected"):
        rank_family("dense_S2", atoms=[(1, 1, 1, 1, 1), (-1, -1, -1, 2, 1)])
    with pytest.raises(ValueError, match="unknown"):
        rank_family("P1", q=3)
    with pytest.raises(ValueError, match="act must be 'gelu'"):
        rank_family("gelu_extended", act="tanh")
    with pytest.raises(ValueError, match="points must contain only finite values, got inf at index 1"):
        family_matrix(rank_family("P1"), [0.0, np.inf])
    with pytest.raises(ValueError, match="points must have shape"):
        family_matrix(rank_family("negative_control", d=2), np.zeros((5, 3)))


# --------------------------------------------------------------------------------------------
# §4 r(m) (C11)


def test_r1_witness_m2_solves_l1_to_3_only():
    w = r1_witness(2)
    assert w["s1"] == (1, -1) and w["s2"] == (sp.Rational(-1, 2),) * 2 and w["s3"] == (1, 1)
    for r in (1, 2, 3):
        assert solves_r_system(w["s1"], w["s2"], w["s3"], r)
    assert not solves_r_system(w["s1"], w["s2"], w["s3"], 4)
    # independent route: the equations written out by hand for m = 2
    s1, s2, s3 = (1, -1), (-0.5, -0.5), (1, 1)
    eq = [
        sum(s3[i] ** 2 * s1[i] for i in range(2)),
        sum(s3[i] ** 2 * (s1[i] ** 2 / 2 + s2[i]) for i in range(2)),
        sum(s3[i] ** 2 * (s1[i] ** 3 / 6 + s1[i] * s2[i]) for i in range(2)),
    ]
    assert eq == [0, 0, 0]


def test_r1_witness_m3_solves_l1_to_5_only():
    w = r1_witness(3)
    assert solves_r_system(w["s1"], w["s2"], w["s3"], 5)
    assert not solves_r_system(w["s1"], w["s2"], w["s3"], 6)
    # numeric cross-check at 50 digits
    res = r_system_residuals(w["s1"], w["s2"], w["s3"], 5)
    assert all(abs(complex(sp.N(e, 50))) < 1e-45 for e in res)


def test_trivial_points_are_not_solutions():
    assert not solves_r_system((0, 0), (0, 0), (1, 1), 4)  # every s1 zero
    assert not solves_r_system((1, -1), (-0.5, -0.5), (0, 1), 1)  # an s3 zero


def test_r1_of_two_is_four():
    assert r1_two_atoms() == 4
    assert [r1_two_atoms_solvable(r) for r in range(1, 7)] == [True] * 3 + [False] * 3
    (rest,), q = r1_two_atom_reduction(4)
    # independent check of the Sturm count: the reduced l = 4 equation is negative for q > 0
    f = sp.lambdify(q, rest)
    qs = np.geomspace(1e-3, 1e3, 2001)
    assert np.all(f(qs) < 0)
    assert sp.simplify(rest + (q + 1) * (q**2 + q + 1) / (36 * q**3)) == 0


def test_r1_reduction_reproduces_solutions():
    # the reduction's s2 (for a chosen q) must solve l = 1..3 of the original system exactly
    q = sp.Rational(7, 3)
    qs = sp.Symbol("q", positive=True)
    b1, b2 = (-qs - 2) / (6 * qs), (-2 * qs - 1) / (6 * qs**2)
    s3 = (sp.Integer(1), sp.sqrt(q))
    assert solves_r_system((1, -1 / q), (b1.subs(qs, q), b2.subs(qs, q)), s3, 3)
    assert not solves_r_system((1, -1 / q), (b1.subs(qs, q), b2.subs(qs, q)), s3, 4)


def test_r_values_and_validation():
    assert r_value("r1", 2).value == 4 and r_value("r2", 3).value == 6
    big = r_value("r2", 5)
    assert big.value == 7 and not big.exact
    with pytest.raises(ValueError, match="kind must be"):
        r_value("r3", 2)
    with pytest.raises(ValueError, match="m must be an integer"):
        r1_witness(4)
    with pytest.raises(ValueError, match="same length"):
        solves_r_system((1, 2), (1,), (1, 1), 2)


# --------------------------------------------------------------------------------------------
# §4 implied rates, §5 theorem tables


def test_implied_rates():
    d2 = implied_rate("D2", "over", parameter="expert", cell_size=3)
    assert d2.slope == sp.Rational(-1, 12) and d2.sample_complexity == 12
    eta1 = implied_rate("D2", "over", parameter="eta1", cell_size=2)
    assert eta1.rate_exponent == sp.Rational(1, 4)
    assert implied_rate("D1", "over").sample_complexity == 4
    assert implied_rate("D3", "exact").slope == sp.Rational(-1, 2)
    assert implied_rate("D4", "over").sample_complexity == 2
    assert implied_rate("D2", "over", parameter="loss").rate_exponent == sp.Rational(1, 2)
    for row in implied_rates_table():
        assert row.rate_exponent * row.sample_complexity == 1
        assert row.label.startswith("RELATED:2505.10860")


def test_implied_rate_from_loss_exponent():
    # a term with exponent e in a loss that decays like n^{-1/2} gives n^{-1/(2e)}
    for m in (2, 3):
        r = r_value("r2", m).value
        for par, e in (("eta1", sp.Rational(r, 2)), ("nu", sp.Rational(r, 2)),
                       ("beta1", sp.Integer(r)), ("eta0", sp.Integer(r))):
            got = implied_rate("D2", "over", parameter=par, cell_size=m).rate_exponent
            assert got == 1 / (2 * e)
    assert implied_rate("D1", "over").rate_exponent == sp.Rational(1, 2 * 2)


def test_implied_rate_validation():
    with pytest.raises(ValueError, match="cell_size must be 2 or 3"):
        implied_rate("D2", "over", parameter="beta1", cell_size=4)
    with pytest.raises(ValueError, match="cell_size must be an integer >= 2"):
        implied_rate("D2", "over", parameter="beta1")
    with pytest.raises(ValueError, match="loss must be one of"):
        implied_rate("D5", "exact")
    with pytest.raises(ValueError, match="parameter must be one of"):
        implied_rate("D1", "over", parameter="beta1")


def test_theorem_tables():
    ids = [t.id for t in theorem_table()]
    assert ids == [f"A{i}" for i in range(1, 8)] + [f"T{i}" for i in range(5)]
    assert all(t.label.startswith("RELATED") for t in theorem_table() if t.id[0] == "A")
    assert all(t.label == "INFERRED" for t in theorem_table() if t.id[0] == "T")
    assert theorem("T3").regime == "dense"
    with pytest.raises(ValueError, match="id must be one of"):
        theorem("B1")


# --------------------------------------------------------------------------------------------
# validation traps (§2, §3.1)


def test_over_specification():
    assert check_over_specification(2, 2) == "exact"
    assert check_over_specification(3, 2) == "over"
    with pytest.raises(ValueError, match="k must be >= k_star = 3, got k = 2"):
        check_over_specification(2, 3)


def test_symmetric_gate():
    A = np.array([[1.0, 0.5], [0.5, 2.0]])
    assert np.array_equal(check_symmetric_gate(A), A)
    with pytest.raises(ValueError, match="skew part is unidentifiable"):
        check_symmetric_gate(np.array([[1.0, 0.5], [0.0, 2.0]]))


def test_sigmoid_truth_traps():
    A = np.array([[[1.0]], [[-2.0]]])
    check_sigmoid_truth(A, [[1.0], [0.5]], [-1.0, 1.5])
    with pytest.raises(ValueError, match="must not be reflected"):
        check_sigmoid_truth(np.array([[[1.0]], [[-1.0]]]), [[1.0], [-1.0]], [-1.0, 1.0])
    with pytest.raises(ValueError, match="must not be reflected"):
        check_sigmoid_truth(np.array([[[1.0]], [[-1.0]]]), None, [-1.0, 1.0])
    with pytest.raises(ValueError, match="must be distinct"):
        check_sigmoid_truth(np.array([[[1.0]], [[1.0]]]), None, [0.5, 0.5])
    with pytest.raises(ValueError, match="A must be symmetric"):
        check_sigmoid_truth(np.array([[[1.0, 1.0], [0.0, 1.0]]]), None, [0.0])
    with pytest.raises(ValueError, match="c must have shape"):
        check_sigmoid_truth(A, None, [0.0])


@pytest.mark.parametrize(("name", "d", "symmetric", "mutation"), [
    ("S1", 1, False, "drop_one_minus_sigma"),
    ("P2", 2, True, "drop_factor"),
    ("P3", 2, True, "drop_factor"),
])
def test_key_mutations_do_not_simplify_to_zero(name, d, symmetric, mutation):
    # the literal C2 criterion, without the point-evaluation short-cut of verify_identity
    lhs, rhs = identity(name, d, symmetric=symmetric, mutation=mutation)
    assert any(sp.simplify(le - re) != 0 for le, re in zip(lhs, rhs, strict=True))
