import json

import pytest

import theory.gmm as tg
from proofs_check._cli import main


def _json(capsys, *argv):
    assert main(["gmm", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["points"]


def test_square_point_matches_the_closed_form(capsys):
    (pt,) = _json(capsys, "--loss", "square", "--alpha", "2", "--lam", "0.1", "--delta", "0.5")
    closed = tg.square_closed_form(2.0, 0.5, 0.1)
    assert pt["eps_g"] == pytest.approx(float(closed.eps_g), abs=1e-10)
    assert pt["converged"] and pt["residual"] < 1e-10


def test_learning_curve_decreases_and_is_warm_started(capsys):
    pts = _json(capsys, "--loss", "logistic", "--alpha", "0.5,1,2,4,8", "--lam", "0.1", "--delta", "1")
    errs = [p["eps_g"] for p in pts]
    assert all(a > b for a, b in zip(errs, errs[1:], strict=False))
    assert [p["alpha"] for p in pts] == [0.5, 1, 2, 4, 8]


def test_hinge_with_imbalance_fits_a_bias(capsys):
    (a,) = _json(capsys, "--loss", "hinge", "--alpha", "2", "--lam", "0.1", "--delta", "1", "--p", "0.3")
    (b,) = _json(capsys, "--loss", "hinge", "--alpha", "2", "--lam", "0.1", "--delta", "1", "--p", "0.7")
    assert a["b"] == pytest.approx(-b["b"], abs=1e-8) and abs(a["b"]) > 0.01
    assert a["eps_g"] == pytest.approx(b["eps_g"], abs=1e-10)


def test_max_margin_points(capsys):
    pts = _json(capsys, "--loss", "max-margin", "--alpha", "1,2", "--delta", "0.5")
    assert pts[0]["eps_g"] > pts[1]["eps_g"] and pts[0]["alpha_star"] > 2


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--loss", "square", "--alpha", "2", "--lam", "0.1", "--delta", "-1"], "--delta"),
        (["--loss", "square", "--alpha", "0", "--lam", "0.1", "--delta", "1"], "--alpha"),
        (["--loss", "square", "--alpha", "2", "--lam", "-1", "--delta", "1"], "--lam"),
        (["--loss", "square", "--alpha", "2", "--lam", "0.1", "--delta", "1", "--p", "1.2"], "--p"),
        (["--loss", "logistic", "--alpha", "2", "--lam", "0", "--delta", "1"], "lam"),
        (["--loss", "max-margin", "--alpha", "9", "--delta", "1"], "alpha"),
        (["--loss", "max-margin", "--alpha", "1", "--delta", "1", "--lam", "1"], "--lam"),
        (["--loss", "cubic", "--alpha", "1", "--delta", "1"], "--loss"),
        (["--loss", "square", "--alpha", "x", "--lam", "1", "--delta", "1"], "--alpha"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    assert main(["gmm", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
