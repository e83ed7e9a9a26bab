import numpy as np

from proofs_check import Claim, CompositeEvidence, RateEvidence, run_claims
from proofs_check._report import write_report


def _rate_claim():
    def run(ctx):
        rng = ctx.rng()
        n = 1000.0 * 2.0 ** np.arange(6)
        parts = {
            gate: RateEvidence(n, n**slope * np.exp(0.1 * rng.normal(size=(12, n.size))), -0.5,
                               rng=rng, trim=True)
            for gate, slope in (("sigmoid", -0.5), ("softmax", -0.2))
        }
        return CompositeEvidence(parts)

    return Claim(id="demo.rates", title="two gates", evidence=("INFERRED",), run=run,
                 sizes={"quick": {"reps": 12}, "full": {"reps": 12}})


def test_report_has_table_plot_and_slopes(tmp_path):
    (result,) = run_claims([_rate_claim()], jobs=1, seed=99)
    assert result.verdict == "disagrees"  # the softmax curve has slope -0.2, not -0.5
    path = write_report([result], str(tmp_path))
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    assert "| `demo.rates` | disagrees |" in text and "(reconstruction)" in text
    assert "softmax: slope" in text and "theorem -0.5" in text
    png = tmp_path / "demo-rates.png"
    assert png.exists() and png.stat().st_size > 10_000
    assert "![demo.rates](demo-rates.png)" in text
