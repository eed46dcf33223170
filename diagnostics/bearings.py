"""Rolling-element bearing kinematics: defect frequencies from geometry and shaft speed, and a catalogue.

The formulas are the classical ones for a stationary outer ring and a rotating inner ring (no slip); real
bearings run 1-2 % below them because the rolling elements slip, which is why the diagnosis searches for
each line within a tolerance (``docs/diagnostics.md``).

Catalogue sources (each entry names its own):

* CWRU Bearing Data Center, "Bearing information" page (drive end SKF 6205-2RS JEM, fan end SKF 6203-2RS
  JEM): ball count, ball and pitch diameters in inches.
* IEEE PHM 2012 Prognostic Challenge, "Details" document, Appendix A.1 (FEMTO-ST PRONOSTIA bearing):
  Z = 13 rolling elements of d = 3.5 mm on a mean diameter Dm = 25.6 mm.
* MFPT Society fault data sets, README (NICE bearing): 8 rolling elements of 0.235 in on 1.245 in pitch.
* IMS / NASA prognostics repository bearing data README (Qiu et al. 2006, Rexnord ZA-2115): 16 rollers
  per row of 0.331 in on 2.815 in pitch, contact angle 15.17 degrees.

Bearings whose internal geometry the makers do not publish (for example SKF 6305, 6309: the datasheets
give bore, outside diameter and width, not the ball set) are not in the catalogue: give their geometry
with ``--geometry n,d,D,angle`` (for example from the maker's bearing-frequency calculator).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vibsentry.errors import ConfigError

__all__ = [
    "CATALOGUE",
    "BearingGeometry",
    "bearing_frequencies",
    "bearing_orders",
    "defect_frequencies",
    "get_bearing",
    "parse_geometry",
]

_MM_PER_INCH = 25.4


@dataclass(frozen=True)
class BearingGeometry:
    """Geometry of a rolling-element bearing, the input of the defect-frequency formulas.

    The default is the SKF 6205-2RS JEM deep-groove ball bearing at the drive end of the CWRU test rig
    (CWRU Bearing Data Center): 9 balls of 0.3126 in on a 1.537 in pitch diameter, 0 degree contact angle.

    Parameters
    ----------
    n_balls : int
        Number of rolling elements (>= 3).
    ball_diameter_mm : float
        Rolling-element diameter ``Bd`` in mm.
    pitch_diameter_mm : float
        Pitch (cage) diameter ``Pd`` in mm; must exceed ``ball_diameter_mm``.
    contact_angle_deg : float
        Contact angle in degrees (0 for a deep-groove bearing under radial load), in [0, 90).
    name : str
        Designation, for reports.
    """

    n_balls: int = 9
    ball_diameter_mm: float = 0.3126 * _MM_PER_INCH
    pitch_diameter_mm: float = 1.537 * _MM_PER_INCH
    contact_angle_deg: float = 0.0
    name: str = "SKF 6205-2RS JEM"

    def __post_init__(self) -> None:
        if isinstance(self.n_balls, bool) or not isinstance(self.n_balls, int) or self.n_balls < 3:
            raise ConfigError(f"bearing n_balls={self.n_balls!r}: must be an integer >= 3")
        for name in ("ball_diameter_mm", "pitch_diameter_mm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"bearing {name}={value!r}: must be a positive number of mm")
        if self.ball_diameter_mm >= self.pitch_diameter_mm:
            raise ConfigError(
                f"bearing ball_diameter_mm={self.ball_diameter_mm!r}: must be smaller than "
                f"pitch_diameter_mm={self.pitch_diameter_mm!r}"
            )
        if not (math.isfinite(self.contact_angle_deg) and 0.0 <= self.contact_angle_deg < 90.0):
            raise ConfigError(f"bearing contact_angle_deg={self.contact_angle_deg!r}: must be in [0, 90)")


def bearing_orders(geometry: BearingGeometry | None = None) -> dict[str, float]:
    """Bearing defect frequencies as multiples of the shaft frequency (orders), outer race stationary.

    With ``N`` balls, ball diameter ``Bd``, pitch diameter ``Pd``, contact angle ``phi`` and
    ``rho = Bd / Pd * cos(phi)``:

    * ``ftf  = (1 - rho) / 2``                  fundamental train (cage) frequency
    * ``bpfo = N / 2 * (1 - rho)``              ball pass frequency, outer race
    * ``bpfi = N / 2 * (1 + rho)``              ball pass frequency, inner race
    * ``bsf  = Pd / (2 Bd) * (1 - rho**2)``     ball spin frequency (a ball defect strikes at ``2 * bsf``)

    For the default 6205-2RS these give 0.3983, 3.5848, 5.4152 and 2.3567, the values CWRU publishes
    (CWRU lists the ball as 4.7135 = 2 x BSF).

    Parameters
    ----------
    geometry : BearingGeometry, optional
        Defaults to :class:`BearingGeometry` ().

    Returns
    -------
    dict of str to float
        Keys ``"ftf"``, ``"bpfo"``, ``"bpfi"``, ``"bsf"``; dimensionless orders.
    """
    g = geometry if geometry is not None else BearingGeometry()
    rho = g.ball_diameter_mm / g.pitch_diameter_mm * math.cos(math.radians(g.contact_angle_deg))
    return {
        "ftf": 0.5 * (1.0 - rho),
        "bpfo": 0.5 * g.n_balls * (1.0 - rho),
        "bpfi": 0.5 * g.n_balls * (1.0 + rho),
        "bsf": g.pitch_diameter_mm / (2.0 * g.ball_diameter_mm) * (1.0 - rho * rho),
    }


def bearing_frequencies(geometry: BearingGeometry | None = None, rpm: float = 1797.0) -> dict[str, float]:
    """Bearing defect frequencies in Hz at a shaft speed.

    Parameters
    ----------
    geometry : BearingGeometry, optional
        Defaults to the CWRU drive-end 6205-2RS.
    rpm : float
        Shaft speed in revolutions per minute (> 0).

    Returns
    -------
    dict of str to float
        ``"shaft"`` (rpm / 60) and ``"ftf"``, ``"bpfo"``, ``"bpfi"``, ``"bsf"`` in Hz: the orders of
        :func:`bearing_orders` times the shaft frequency. Example: 6205-2RS at 1797 rpm gives
        BPFO 107.36 Hz, BPFI 162.19 Hz.
    """
    if not (isinstance(rpm, (int, float)) and math.isfinite(rpm) and rpm > 0):
        raise ConfigError(f"rpm={rpm!r}: must be a positive number of revolutions per minute")
    shaft = float(rpm) / 60.0
    out = {"shaft": shaft}
    out.update({k: v * shaft for k, v in bearing_orders(geometry).items()})
    return out


def defect_frequencies(
    *, geometry: BearingGeometry | None = None, rpm: npt.ArrayLike
) -> dict[str, npt.NDArray[np.float64]]:
    """Batched :func:`bearing_frequencies`: defect frequencies for many shaft speeds at once.

    Parameters
    ----------
    geometry : BearingGeometry, optional
        Defaults to the CWRU drive-end 6205-2RS.
    rpm : array_like, shape (...)
        Shaft speeds in rev/min, all finite and > 0.

    Returns
    -------
    dict of str to ndarray of float64, shape (...)
        ``"shaft"``, ``"ftf"``, ``"bpfo"``, ``"bpfi"``, ``"bsf"`` in Hz.
    """
    r = np.asarray(rpm, dtype=np.float64)
    if r.size and not (np.all(np.isfinite(r)) and np.all(r > 0)):
        bad = r[~(np.isfinite(r) & (r > 0))].ravel()[0]
        raise ConfigError(f"rpm={float(bad)!r}: must be a positive number of revolutions per minute")
    shaft = r / 60.0
    out = {"shaft": shaft}
    out.update({k: v * shaft for k, v in bearing_orders(geometry).items()})
    return out


def _inch(n: int, ball_in: float, pitch_in: float, angle: float, name: str) -> BearingGeometry:
    return BearingGeometry(n, ball_in * _MM_PER_INCH, pitch_in * _MM_PER_INCH, angle, name)


#: Bearings with published internal geometry, keyed by a lower-case name (see the module notes for sources).
CATALOGUE: dict[str, tuple[BearingGeometry, str]] = {
    "6205-2rs": (
        BearingGeometry(),
        "CWRU Bearing Data Center, bearing information (drive end): 9 balls, 0.3126 in on 1.537 in",
    ),
    "6203-2rs": (
        _inch(8, 0.2656, 1.122, 0.0, "SKF 6203-2RS JEM"),
        "CWRU Bearing Data Center, bearing information (fan end): 8 balls, 0.2656 in on 1.122 in",
    ),
    "femto": (
        BearingGeometry(13, 3.5, 25.6, 0.0, "FEMTO-ST PRONOSTIA test bearing"),
        "IEEE PHM 2012 Prognostic Challenge details, Appendix A.1: Z=13, d=3.5 mm, Dm=25.6 mm",
    ),
    "mfpt": (
        _inch(8, 0.235, 1.245, 0.0, "MFPT NICE bearing"),
        "MFPT Society bearing fault data README: 8 elements, 0.235 in on 1.245 in, 0 deg",
    ),
    "za-2115": (
        _inch(16, 0.331, 2.815, 15.17, "Rexnord ZA-2115 (IMS, one row)"),
        "IMS/NASA bearing data README (Qiu et al. 2006): 16 rollers, 0.331 in on 2.815 in, 15.17 deg",
    ),
}

#: Other names accepted by :func:`get_bearing`.
_ALIASES: dict[str, str] = {
    "6205": "6205-2rs",
    "skf 6205-2rs jem": "6205-2rs",
    "cwru-de": "6205-2rs",
    "6203": "6203-2rs",
    "skf 6203-2rs jem": "6203-2rs",
    "cwru-fe": "6203-2rs",
    "pronostia": "femto",
    "ims": "za-2115",
}


def get_bearing(name: str) -> BearingGeometry:
    """Catalogue bearing by name (case-insensitive; aliases such as ``cwru-de``, ``6205``, ``pronostia``).

    Raises
    ------
    ConfigError
        Unknown name; the message lists the catalogue.
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in CATALOGUE:
        raise ConfigError(
            f"unknown bearing {name!r}; known: {', '.join(sorted(CATALOGUE))} "
            "(or give the geometry as n,ball_mm,pitch_mm,angle_deg)"
        )
    return CATALOGUE[key][0]


_GEOM_RE = re.compile(r"^\s*([^,]+),([^,]+),([^,]+)(?:,([^,]+))?\s*$")


def parse_geometry(text: str) -> BearingGeometry:
    """Parse ``"n,ball_mm,pitch_mm[,contact_angle_deg]"`` (for example ``"9,7.94,39.04,0"``).

    Raises
    ------
    ConfigError
        Not four comma-separated numbers, or a value out of range; the message quotes it.
    """
    m = _GEOM_RE.match(text)
    if not m:
        raise ConfigError(
            f"geometry {text!r}: expected n,ball_mm,pitch_mm[,angle_deg] such as 9,7.94,39.04,0"
        )
    try:
        n_f = float(m.group(1))
        d, pd = float(m.group(2)), float(m.group(3))
        angle = float(m.group(4)) if m.group(4) is not None else 0.0
    except ValueError:
        raise ConfigError(f"geometry {text!r}: every field must be a number") from None
    if not n_f.is_integer():
        raise ConfigError(f"geometry {text!r}: the number of rolling elements {n_f:g} is not an integer")
    try:
        return BearingGeometry(int(n_f), d, pd, angle, name=f"custom ({text.strip()})")
    except ConfigError as exc:
        raise ConfigError(f"geometry {text!r}: {exc}") from None
