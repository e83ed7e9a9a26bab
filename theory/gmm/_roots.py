"""Bracketing root finder shared by the gmm modules (works for float and mpmath.mpf)."""

from __future__ import annotations


def _brentq(f, xa, xb, fa, fb, xtol=1e-15, rtol=4.5e-16, maxiter=200):
    """Brent's method on a bracket with ``fa * fb <= 0`` (generic: float or mpmath.mpf)."""
    xpre, xcur, fpre, fcur = xa, xb, fa, fb
    xblk = fblk = spre = scur = 0.0
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    for _ in range(maxiter):
        # compare signs, not the product (which can underflow to 0 for tiny values)
        if fpre != 0 and fcur != 0 and (fpre < 0) != (fcur < 0):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        tol = 0.5 * (xtol + rtol * abs(xcur))
        sbis = 0.5 * (xblk - xcur)
        if fcur == 0 or abs(sbis) < tol:
            return xcur
        if abs(spre) > tol and abs(fcur) < abs(fpre):
            if xpre == xblk:
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - tol):
                spre, scur = scur, stry
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > tol else (tol if sbis > 0 else -tol)
        fcur = f(xcur)
    raise ArithmeticError("Brent's method did not converge")


def _expand_bracket(f, x0, step, direction, limit):
    """Walk from ``x0`` in ``direction`` with doubling steps until ``f`` changes sign."""
    a, fa = x0, f(x0)
    while True:
        c = a + direction * step
        fc = f(c)
        if (fc > 0) != (fa > 0) or fc == 0:
            return (c, a, fc, fa) if direction < 0 else (a, c, fa, fc)
        a, fa = c, fc
        step *= 2
        if abs(c) > limit:
            raise ArithmeticError(f"no sign change within |x| <= {limit}")
