"""CPU package energy from Intel/AMD RAPL counters under ``/sys/class/powercap``.

Each CPU package exposes a zone ``intel-rapl:N`` (also on AMD, whose kernel
driver reuses the name) with ``name`` = ``package-N``, a cumulative
``energy_uj`` counter [µJ] and its wrap-around point ``max_energy_range_uj``.
Since Linux 5.10 ``energy_uj`` is readable by root only, so on most shared
machines the energy is *missing*: :class:`RaplReader` then reports NaN and says
why, never zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

#: Where the kernel exposes power-capping zones.
POWERCAP_ROOT = Path("/sys/class/powercap")


@dataclass(frozen=True)
class RaplZone:
    """One package-level RAPL zone."""

    name: str
    energy_path: Path
    max_energy_uj: int


def package_zones(root: Path = POWERCAP_ROOT) -> list[RaplZone]:
    """The package zones under ``root`` (sub-zones such as ``core``/``dram`` excluded)."""
    zones = []
    if not root.is_dir():
        return zones
    for zone_dir in sorted(root.glob("intel-rapl:*")):
        if zone_dir.name.count(":") != 1:  # intel-rapl:0:0 is a sub-zone of package 0
            continue
        try:
            name = (zone_dir / "name").read_text().strip()
            max_uj = int((zone_dir / "max_energy_range_uj").read_text())
        except (OSError, ValueError):
            continue
        if name.startswith("package"):
            zones.append(RaplZone(name, zone_dir / "energy_uj", max_uj))
    return zones


class RaplReader:
    """Reads the summed package energy counter of all CPU packages.

    Parameters
    ----------
    root : Path
        The powercap folder (default ``/sys/class/powercap``).

    Attributes
    ----------
    available : bool
        Whether every package counter could be read.
    reason : str
        Why not, when ``available`` is false (empty otherwise).
    """

    def __init__(self, root: Path = POWERCAP_ROOT):
        self.root = Path(root)
        self.zones = package_zones(self.root)
        self.reason = ""
        if not self.zones:
            self.reason = f"no RAPL package zone under {self.root} (not an Intel/AMD Linux host, or no powercap driver)"
        else:
            try:
                self.read_uj()
            except PermissionError:
                self.reason = (
                    f"RAPL counters under {self.root} are not readable by this user "
                    "(root-only since Linux 5.10; `sudo chmod o+r .../energy_uj` to allow)"
                )
            except (OSError, ValueError) as exc:
                self.reason = f"RAPL counter unreadable: {exc}"
        self.available = not self.reason

    def read_uj(self) -> list[int]:
        """Current counter of each package [µJ]."""
        return [int(z.energy_path.read_text()) for z in self.zones]

    def snapshot(self) -> list[int] | None:
        """Counters now, or ``None`` if RAPL is unavailable or a read failed."""
        if not self.available:
            return None
        try:
            return self.read_uj()
        except (OSError, ValueError):
            return None

    def energy_j(self, start: list[int] | None, end: list[int] | None) -> float:
        """CPU package energy between two snapshots [J]; NaN when either is missing.

        A counter that wrapped (end < start) is unwrapped with the zone's
        ``max_energy_range_uj``.
        """
        if start is None or end is None:
            return math.nan
        total_uj = 0
        for zone, a, b in zip(self.zones, start, end):
            delta = b - a
            if delta < 0:
                delta += zone.max_energy_uj + 1
            total_uj += delta
        return total_uj / 1e6
