"""Blinded mode: the arms masked as "Group A", "Group B", ... right after the trial is loaded.

When ``REPORT_BLINDED=1``, :func:`load` (used by ``python -m analysis results`` and
:func:`analysis.report.load_report`) replaces every true arm label in the trial's tables by a
neutral group label. Which true arm becomes "Group A" is decided by an HMAC-SHA256 of each arm
label under a secret key (``$BLIND_KEY``, or the file named by ``$BLIND_KEY_FILE``), so it cannot
be guessed from the outputs; the mapping itself is never returned to callers that write outputs.
The masked trial has ``arms == ("Group A", "Group B", ...)`` and its control arm is the last
group whichever true arm that is: contrasts read "Group A vs Group B" and do not say which
group got the control. Its specification is masked too (:func:`mask_spec`: arm labels, short
labels and names, and the arms in the free text of the specification), so nothing downstream
can read a true label from ``trial.spec``. Without a secret, blinded mode refuses to run
(:class:`BlindingError`).

Examples
--------
>>> masked_labels(2)
('Group A', 'Group B')
>>> m = mapping(("Active", "Control"), b"k1")
>>> sorted(m.values())
['Group A', 'Group B']
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
from pathlib import Path

import pandas as pd

ENV_FLAG = "REPORT_BLINDED"
ENV_KEY = "BLIND_KEY"
ENV_KEY_FILE = "BLIND_KEY_FILE"
# Domain separation of the HMAC: the historical tag (the first trial's name, hex-encoded so
# that no trial name is spelt in this generic module), kept byte for byte so that a given key
# maps the arms to the same groups as in earlier versions of the report.
_DOMAIN = bytes.fromhex("72657370696e652d626c696e64696e672d763100")


class BlindingError(RuntimeError):
    """Blinded mode was requested but cannot be applied (no secret, bad key file)."""


def is_blinded(env: dict | None = None) -> bool:
    """True when ``$REPORT_BLINDED`` is ``"1"`` (also ``true``/``yes``)."""
    env = os.environ if env is None else env
    return str(env.get(ENV_FLAG, "0")).strip().lower() in ("1", "true", "yes")


def secret(env: dict | None = None) -> bytes:
    """The blinding key: ``$BLIND_KEY`` (UTF-8), else the content of ``$BLIND_KEY_FILE``.

    Raises :class:`BlindingError` with a clear message when neither gives a non-empty key.
    """
    env = os.environ if env is None else env
    key = env.get(ENV_KEY, "")
    if key.strip():
        return key.strip().encode("utf-8")
    path = env.get(ENV_KEY_FILE, "")
    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise BlindingError(f"Blinded mode: {ENV_KEY_FILE}={path} is not a readable file.")
        data = p.read_bytes().strip()
        if data:
            return data
        raise BlindingError(f"Blinded mode: the key file named by {ENV_KEY_FILE} is empty.")
    raise BlindingError(
        "Blinded mode (REPORT_BLINDED=1) needs a secret to mask the arms: set BLIND_KEY to a "
        "secret string, or BLIND_KEY_FILE to a file holding it, kept outside the outputs "
        "(e.g. `BLIND_KEY_FILE=~/trial.key make report BLINDED=1`). Refusing to run.")


def masked_labels(n: int) -> tuple[str, ...]:
    """``("Group A", "Group B", ...)`` for ``n`` arms."""
    return tuple(f"Group {chr(ord('A') + i)}" for i in range(n))


def _tag(key: bytes, label: str) -> str:
    return hmac.new(key, _DOMAIN + label.encode("utf-8"), hashlib.sha256).hexdigest()


def mapping(arms: tuple[str, ...] | list[str], key: bytes) -> dict[str, str]:
    """True arm label -> masked label: arms ordered by their HMAC-SHA256 tag under ``key``."""
    if not key:
        raise BlindingError("empty blinding key")
    order = sorted(arms, key=lambda a: _tag(key, a))
    return dict(zip(order, masked_labels(len(order)), strict=True))


def _pattern(arms) -> re.Pattern:
    alts = sorted((re.escape(a) for a in arms), key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9])(" + "|".join(alts) + r")(?![A-Za-z0-9])", re.IGNORECASE)


def mask_frame(df: pd.DataFrame, table: dict[str, str]) -> pd.DataFrame:
    """A copy of ``df`` with every true arm label in its text cells replaced (whole cells, and
    mentions inside free text, case-insensitive)."""
    out = df.copy()
    lower = {k.lower(): v for k, v in table.items()}
    pat = _pattern(table)
    for col in out.columns:
        s = out[col]
        if s.dtype != object:
            continue
        text = s.map(lambda v: v if isinstance(v, str) else None)
        hit = text.map(lambda v: v is not None and pat.search(v) is not None)
        if not hit.any():
            continue
        out.loc[hit, col] = text[hit].map(
            lambda v: pat.sub(lambda m: lower[m.group(0).lower()], v))
    return out


def _mask_value(v, table: dict[str, str], pat: re.Pattern):
    """``v`` with every true arm label in its strings replaced (nested lists and dicts)."""
    lower = {k.lower(): x for k, x in table.items()}
    if isinstance(v, str):
        return pat.sub(lambda m: lower[m.group(0).lower()], v)
    if isinstance(v, dict):
        return {_mask_value(k, table, pat): _mask_value(x, table, pat) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_mask_value(x, table, pat) for x in v)
    return v


def mask_spec(spec, table: dict[str, str], control: str):
    """The specification with masked arms: each arm's label, short label and name become its
    group label (the control flag moves to the group ``control``, which is shown last), and
    true labels in the raw document's text are replaced."""
    if spec is None:
        return None
    labels = masked_labels(len(table))
    arms = []
    for arm in spec.arms:
        g = table[arm.label]
        arms.append(dataclasses.replace(arm, label=g, short_label=g, name=g,
                                        control=g == control, order=labels.index(g)))
    arms.sort(key=lambda a: a.order)
    pat = _pattern(table)
    raw = _mask_value(dict(spec.raw), table, pat)
    raw["arms"] = [{"label": a.label, "short_label": a.short_label, "name": a.name,
                    "control": a.control, "order": a.order} for a in arms]
    return dataclasses.replace(spec, arms=tuple(arms), raw=raw)


def blind_trial(trial, key: bytes):
    """The trial with its arms masked under ``key`` (a new :class:`analysis.data.Trial`): its
    tables, its arm labels and its specification."""
    table = mapping(tuple(trial.arms), key)
    labels = masked_labels(len(table))
    tables = {name: mask_frame(df, table) for name, df in trial.tables.items()}
    return trial.replace(tables=tables, arms=labels, control_arm=labels[-1],
                         spec=mask_spec(trial.spec, table, labels[-1]))


def apply(trial, env: dict | None = None):
    """``trial`` masked when blinded mode is on (``$REPORT_BLINDED``), else unchanged."""
    if not is_blinded(env):
        return trial
    return blind_trial(trial, secret(env))


def check(env: dict | None = None) -> None:
    """Raise :class:`BlindingError` now if blinded mode is on without a usable secret."""
    if is_blinded(env):
        secret(env)


def load(path: str | Path | None = None, env: dict | None = None, spec=None):
    """:func:`analysis.data.load_trial` (``spec``: default the one in use), then masked when
    blinded mode is on."""
    from analysis.data import load_trial

    check(env)
    return apply(load_trial(path, spec=spec), env)
