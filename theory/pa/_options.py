"""Options of the contextual-mixture data model and of the three attention models.

prompt_attention.md §3-§4 and §9.  Every [INFERRED] choice sits behind a named switch; the
table :data:`INFERRED_OPTIONS` documents each switch, its default and its alternatives, and
:func:`format_inferred_options` renders it for the toolkit's output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from theory.core._validate import check_choice, check_int, check_real

__all__ = [
    "INFERRED_OPTIONS",
    "InferredOption",
    "PAOptions",
    "format_inferred_options",
]

_VARIANTS = ("A", "B", "C", "D")
_RELEVANT_COUNTS = ("fixed", "binomial")
_TEMPERATURES = ("1", "1/sqrt(d)")
_LIN_SCALES = ("1/T", "1")
_SA_POOLINGS = ("mean", "first", "sa_then_pa")
_LOSSES = ("correlation", "squared", "logistic")
_DEBIAS = ("project", "intercept", "none")


class InferredOption(NamedTuple):
    """One reconstructed ([INFERRED] or [UNKNOWN]) switch of the model.

    Attributes
    ----------
    name : str
        Switch name as in the spec (``pa.<name>``) and field of :class:`PAOptions`.
    default : str
        Default value.
    alternatives : tuple of str
        Allowed values.
    label : str
        Evidence label of the switch.
    section : str
        Spec section that defines it.
    note : str
        One-line rationale.
    """

    name: str
    default: str
    alternatives: tuple[str, ...]
    label: str
    section: str
    note: str


INFERRED_OPTIONS: tuple[InferredOption, ...] = (
    InferredOption("variant", "A", _VARIANTS, "[INFERRED]", "§3.1-3.2",
                   "A isotropic; B no noise along u; C noiseless; D mu_irr != 0"),
    InferredOption("relevant_count", "fixed", _RELEVANT_COUNTS, "[INFERRED]", "§3.2",
                   "K = zeta T exactly, or each position relevant w.p. zeta"),
    InferredOption("orthogonal_context", "True", ("True", "False"), "[INFERRED]", "§3.1",
                   "<q*, w*> = 0 (field qw_cos = 0)"),
    InferredOption("label_prior", "0.5", ("p in (0, 1)",), "[INFERRED]", "§3.2",
                   "P(y = +1)"),
    InferredOption("irrelevant_mean", "0", ("vector",), "[INFERRED]", "§3.2",
                   "mu_irr (field mu_irr, coordinates in the frame u, w*-hat, ...)"),
    InferredOption("prompt_self_attention", "False", ("False", "True"), "[UNKNOWN]", "§4.1",
                   "whether the prompt attends to itself; True [INFERRED reading]: extra "
                   "token x_0 = q (identity key/query/value maps), score tau |q|^2, "
                   "value <q, w>"),
    InferredOption("temperature", "1", _TEMPERATURES, "[INFERRED]", "§4.2",
                   "scores S(tau X q); no 1/sqrt(d) scaling by default"),
    InferredOption("lin_scale", "1/T", _LIN_SCALES, "[INFERRED]", "§4.3",
                   "factor of linear prompt-attention; does not change signs"),
    InferredOption("sa_pooling", "mean", _SA_POOLINGS, "[INFERRED]", "§4.4",
                   "pooling of self-attention outputs: mean 1/T; first e_1; sa_then_pa "
                   "[INFERRED reading] f = w^T O^T S(tau O q), O = S_row(X W X^T) X"),
    InferredOption("loss", "correlation", _LOSSES, "[INFERRED]", "§4.6",
                   "eq. (8) of the paper is unknown; all agree at f = 0 up to scale"),
    InferredOption("debias", "project", _DEBIAS, "[INFERRED]", "§9",
                   "final step of the three-step algorithm (paper's §4.3 unknown)"),
)


def format_inferred_options() -> str:
    """Render :data:`INFERRED_OPTIONS` as a plain-text table.

    Returns
    -------
    str
        One line per switch: name, default, alternatives, label, section and note.

    Notes
    -----
    prompt_attention.md README "rule for reconstructions": every result computed under a
    non-[MATH] assumption is labelled together with the switches in force.

    Examples
    --------
    >>> text = format_inferred_options()
    >>> "pa.loss = correlation" in text, len(text.splitlines()) == 1 + len(INFERRED_OPTIONS)
    (True, True)
    """
    lines = ["Reconstructed switches (prompt_attention.md):"]
    for opt in INFERRED_OPTIONS:
        alts = "|".join(opt.alternatives)
        lines.append(
            f"pa.{opt.name} = {opt.default}  (alternatives: {alts})  "
            f"{opt.label} {opt.section}: {opt.note}"
        )
    return "\n".join(lines)


def _options_iv(o: PAOptions) -> None:
    check_int("d", o.d, low=1)
    check_int("T", o.T, low=1)
    zeta = check_real("zeta", o.zeta, low=0.0, high=1.0, low_open=True)
    check_real("sigma", o.sigma, low=0.0, low_open=True)
    check_real("q_norm", o.q_norm, low=0.0)
    check_real("w_norm", o.w_norm, low=0.0)
    check_real("qw_cos", o.qw_cos, low=-1.0, high=1.0)
    if not isinstance(o.mu_irr, tuple):
        raise ValueError(f"mu_irr must be a tuple of floats, got {type(o.mu_irr).__name__}")
    if len(o.mu_irr) > o.d:
        raise ValueError(f"mu_irr must have at most d = {o.d} coordinates, got {len(o.mu_irr)}")
    for i, m in enumerate(o.mu_irr):
        check_real(f"mu_irr[{i}]", m)
    check_choice("variant", o.variant, _VARIANTS)
    check_choice("relevant_count", o.relevant_count, _RELEVANT_COUNTS)
    check_choice("temperature", o.temperature, _TEMPERATURES)
    check_choice("lin_scale", o.lin_scale, _LIN_SCALES)
    check_choice("sa_pooling", o.sa_pooling, _SA_POOLINGS)
    check_choice("loss", o.loss, _LOSSES)
    check_choice("debias", o.debias, _DEBIAS)
    if not isinstance(o.prompt_self_attention, bool):
        raise ValueError(
            f"prompt_self_attention must be a bool, got {o.prompt_self_attention!r}"
        )
    check_real("label_prior", o.label_prior, low=0.0, high=1.0, low_open=True, high_open=True)
    if o.relevant_count == "fixed":
        K = zeta * o.T
        if abs(K - round(K)) > 1e-9 * max(1.0, K) or round(K) < 1:
            raise ValueError(
                f"zeta * T must be a positive integer when relevant_count='fixed', "
                f"got zeta={o.zeta}, T={o.T} (zeta*T={K})"
            )


@dataclass(frozen=True)
class PAOptions:
    """Parameters of the contextual mixture and switches of the models (validated).

    Parameters
    ----------
    d : int, default 100
        Token dimension, ``d >= 1``.
    T : int, default 20
        Tokens per sequence, ``T >= 1``.
    zeta : float, default 0.2
        Sparsity ``zeta = K / T`` in ``(0, 1]``; ``zeta T`` must be an integer when
        ``relevant_count = "fixed"``.
    sigma : float, default 1.0
        Token noise level, ``> 0``.
    q_norm, w_norm : float, defaults 3.0 and 1.0
        ``||q*||`` and ``||w*||``, ``>= 0``.
    qw_cos : float, default 0.0
        Cosine between ``q*`` and ``w*``; ``0`` is the orthogonal default (⊥).
    mu_irr : tuple of float, default ()
        Coordinates of the irrelevant mean in the orthonormal frame ``(u, e_2, e_3, ...)``
        of :meth:`frame` (missing coordinates are 0).  A non-zero mean is the essence of
        Variant D, but it is allowed with every variant (e.g. ``mu_irr`` along ``u``).
    variant : {"A", "B", "C", "D"}, default "A"
    relevant_count : {"fixed", "binomial"}, default "fixed"
    label_prior : float, default 0.5
        ``P(y = +1)`` in ``(0, 1)``.
    temperature : {"1", "1/sqrt(d)"}, default "1"
    lin_scale : {"1/T", "1"}, default "1/T"
    sa_pooling : {"mean", "first", "sa_then_pa"}, default "mean"
        Pooling of the self-attention outputs: mean, first token, or prompt-attention
        pooling ``f = w^T O^T S(tau O q)`` with ``O = S_row(X W X^T) X`` and a trainable
        prompt ``q`` (reading [INFERRED]; ``theory.pa.sa_model``).
    prompt_self_attention : bool, default False
        Whether the prompt attends to itself ([UNKNOWN]); ``True`` adds the token
        ``x_0 = q`` with score ``tau ||q||^2`` and value ``<q, w>`` (reading [INFERRED];
        ``theory.pa.pa_model``).
    loss : {"correlation", "squared", "logistic"}, default "correlation"
    debias : {"project", "intercept", "none"}, default "project"

    Raises
    ------
    ValueError
        Naming the offending parameter, its value and the allowed range.

    Notes
    -----
    prompt_attention.md §3 (data model, [INFERRED] Variant A default), §4 (models,
    switches [INFERRED]/[UNKNOWN]) and §9 (debiasing [INFERRED]).  The reconstructed
    switches are listed in :data:`INFERRED_OPTIONS`.

    Examples
    --------
    >>> o = PAOptions(d=50, T=20, zeta=0.2)
    >>> o.K, o.orthogonal_context, round(o.temperature_value, 3)
    (4, True, 1.0)
    """

    d: int = 100
    T: int = 20
    zeta: float = 0.2
    sigma: float = 1.0
    q_norm: float = 3.0
    w_norm: float = 1.0
    qw_cos: float = 0.0
    mu_irr: tuple[float, ...] = ()
    variant: str = "A"
    relevant_count: str = "fixed"
    label_prior: float = 0.5
    temperature: str = "1"
    lin_scale: str = "1/T"
    sa_pooling: str = "mean"
    prompt_self_attention: bool = False
    loss: str = "correlation"
    debias: str = "project"

    def __post_init__(self) -> None:
        _options_iv(self)

    @property
    def K(self) -> int | None:
        """Number of relevant tokens ``zeta T`` (``None`` when it is binomial)."""
        if self.relevant_count != "fixed":
            return None
        return round(self.zeta * self.T)

    @property
    def orthogonal_context(self) -> bool:
        """Whether ``<q*, w*> = 0`` (the ⊥ assumption of the spec)."""
        return self.qw_cos == 0.0

    @property
    def temperature_value(self) -> float:
        """Numeric factor multiplying the attention scores."""
        return 1.0 if self.temperature == "1" else 1.0 / math.sqrt(self.d)

    @property
    def lin_scale_value(self) -> float:
        """Numeric factor of linear prompt-attention (``1/T`` or ``1``)."""
        return 1.0 / self.T if self.lin_scale == "1/T" else 1.0

    def frame(self) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
        """Canonical vectors ``(q*, w*, mu_irr)`` as tuples of length ``d``.

        Returns
        -------
        tuple of three tuples of float
            ``q* = ||q*|| e_1``, ``w* = ||w*|| (qw_cos e_1 + sqrt(1 - qw_cos^2) e_2)``
            (``e_2`` needs ``d >= 2`` unless ``qw_cos = +-1`` or ``w_norm = 0``),
            ``mu_irr`` padded with zeros.

        Notes
        -----
        Every formula of prompt_attention.md depends on the vectors only through their
        inner products, so this frame loses no generality.
        """
        d = self.d
        q = [0.0] * d
        w = [0.0] * d
        q[0] = float(self.q_norm)
        s = math.sqrt(max(0.0, 1.0 - self.qw_cos**2))
        w[0] = float(self.w_norm) * self.qw_cos
        if s * self.w_norm != 0.0:
            if d < 2:
                raise ValueError(f"d must be >= 2 for a non-parallel w*, got d={d}")
            w[1] = float(self.w_norm) * s
        mu = [float(m) for m in self.mu_irr] + [0.0] * (d - len(self.mu_irr))
        return tuple(q), tuple(w), tuple(mu)

    def reconstruction_switches(self) -> dict[str, object]:
        """Return the value in force of every switch of :data:`INFERRED_OPTIONS`."""
        out: dict[str, object] = {}
        for opt in INFERRED_OPTIONS:
            if opt.name == "irrelevant_mean":
                out[opt.name] = self.mu_irr
            else:
                out[opt.name] = getattr(self, opt.name)
        return out
