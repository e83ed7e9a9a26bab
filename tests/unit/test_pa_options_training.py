"""Full-batch training with the reconstructed model switches (prompt_attention.md §4, §10.2).

PA with ``prompt_self_attention=True`` and SA with ``pooling="sa_then_pa"``: one compiled
gradient step equals the step computed from the public gradients, training lowers the risk,
and the default switches leave the results bit for bit as they were.
"""

from __future__ import annotations

import numpy as np
import pytest

import numerics.pa as npa


def _data(seed, n=40, T=4, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, T, d))
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    return X, y


def _loss_slope(loss, y, f):
    if loss == "correlation":
        return -y
    if loss == "squared":
        return -(y - f)
    return -y / (1.0 + np.exp(y * f))


def _loss(loss, y, f):
    if loss == "correlation":
        return -y * f
    if loss == "squared":
        return 0.5 * (y - f) ** 2
    return np.logaddexp(0.0, -y * f)


@pytest.mark.parametrize("loss", ["correlation", "squared", "logistic"])
@pytest.mark.parametrize("normalized", [True, False])
def test_one_step_sa_then_pa_equals_manual_step(loss, normalized):
    X, y = _data(20260102)
    d = X.shape[2]
    lr, tau = 0.1, 0.8
    res = npa.train_attention("sa", X, y, pooling="sa_then_pa", steps=1, restarts=2, lr=lr,
                              loss=loss, normalized=normalized, temperature=tau, rng=11)
    init = 0.01 * np.random.default_rng(11).standard_normal((2, d * d + 2 * d))
    for k in range(2):
        W, q, w = init[k, : d * d].reshape(d, d), init[k, d * d : d * d + d], init[k, d * d + d :]
        f, gW, gq, gw = npa.sa_pa_grads(X, W, q, w, temperature=tau)
        a = _loss_slope(loss, y, f) / len(y)
        G = [np.tensordot(a, gW, axes=1), a @ gq, a @ gw]
        step = lr / np.sqrt(sum(float((g * g).sum()) for g in G)) if normalized else lr
        W1, q1, w1 = W - step * G[0], q - step * G[1], w - step * G[2]
        f1 = npa.sa_pa_forward(X, W1, q1, w1, temperature=tau)
        assert res.risks[k] == pytest.approx(np.mean(_loss(loss, y, f1)), rel=1e-12, abs=1e-15)
        assert res.accuracies[k] == np.mean(np.sign(f1) == y)
    best = res.params
    assert [p.shape for p in best] == [(d, d), (d,), (d,)]


@pytest.mark.parametrize("loss", ["correlation", "logistic"])
def test_one_step_pa_self_attention_equals_manual_step(loss):
    X, y = _data(77)
    d = X.shape[2]
    lr = 0.05
    res = npa.train_attention("pa", X, y, prompt_self_attention=True, steps=1, restarts=3,
                              lr=lr, loss=loss, rng=5)
    init = 0.01 * np.random.default_rng(5).standard_normal((3, 2 * d))
    for k in range(3):
        q, w = init[k, :d], init[k, d:]
        f, gq, gw = npa.pa_grads(X, q, w, prompt_self_attention=True)
        a = _loss_slope(loss, y, f) / len(y)
        Gq, Gw = a @ gq, a @ gw
        step = lr / np.sqrt(Gq @ Gq + Gw @ Gw)
        f1 = npa.pa_forward(X, q - step * Gq, w - step * Gw, prompt_self_attention=True)
        assert res.risks[k] == pytest.approx(np.mean(_loss(loss, y, f1)), rel=1e-12, abs=1e-15)


def test_training_with_options_lowers_risk_and_reports_it():
    X, y = _data(31337, n=60)
    for kw in ({"model": "pa", "prompt_self_attention": True},
               {"model": "sa", "pooling": "sa_then_pa"}):
        trained = npa.train_attention(X=X, y=y, steps=60, restarts=2, rng=3, **kw)
        start = npa.train_attention(X=X, y=y, steps=0, restarts=2, rng=3, **kw)
        assert np.all(trained.risks < start.risks)
        if kw["model"] == "pa":
            f = npa.pa_forward(X, *trained.params, prompt_self_attention=True)
        else:
            f = npa.sa_pa_forward(X, *trained.params)
        assert trained.risk == pytest.approx(np.mean(np.logaddexp(0.0, -y * f)), rel=1e-12)
        assert trained.accuracy == np.mean(np.sign(f) == y)


def test_default_switches_leave_training_unchanged():
    X, y = _data(4242)
    for model, extra in (("pa", {"prompt_self_attention": False}), ("sa", {"pooling": "mean"}),
                         ("lin", {})):
        a = npa.train_attention(model, X, y, steps=20, restarts=2, rng=9)
        b = npa.train_attention(model, X, y, steps=20, restarts=2, rng=9, **extra)
        for u, v in zip(a.params, b.params, strict=True):
            assert u.tobytes() == v.tobytes()
        assert a.risks.tobytes() == b.risks.tobytes()
    # the default PA step is still the step of the plain model's gradients
    res = npa.train_attention("pa", X, y, steps=1, restarts=1, lr=0.1, loss="correlation", rng=2)
    q, w = np.split(0.01 * np.random.default_rng(2).standard_normal((1, 2 * X.shape[2]))[0], 2)
    f, gq, gw = npa.pa_grads(X, q, w)
    Gq, Gw = -(y @ gq) / len(y), -(y @ gw) / len(y)
    step = 0.1 / np.sqrt(Gq @ Gq + Gw @ Gw)
    np.testing.assert_allclose(res.params[0], q - step * Gq, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.params[1], w - step * Gw, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"model": "lin", "prompt_self_attention": True}, "prompt_self_attention"),
    ({"model": "sa", "prompt_self_attention": True}, "prompt_self_attention"),
    ({"model": "pa", "prompt_self_attention": 1}, "prompt_self_attention"),
    ({"model": "sa", "pooling": "max"}, "pooling"),
])
def test_training_option_validation(kwargs, match):
    X, y = _data(1, n=6)
    with pytest.raises(ValueError, match=match):
        npa.train_attention(X=X, y=y, steps=1, restarts=1, **kwargs)
