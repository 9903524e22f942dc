"""Numbers other methods' authors report, shipped in report/peer_tables/ (where each comes from:
report/peer_tables/README.md): the only home of a peer's reported accuracy. Fig. 7 reads them; no number
here is measured by this suite."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from pipelines.common.files import DataError

PEER_TABLES = Path(__file__).resolve().parents[2] / "report" / "peer_tables"
REPORTED_DAVIS16 = "reported_davis16.csv"


@cache
def reported_davis16() -> dict[str, float]:
    """Peer name -> DAVIS-2016 val J&F as its authors report it."""
    path = PEER_TABLES / REPORTED_DAVIS16
    if not path.is_file():
        raise DataError(path, "a shipped table of the peers' reported numbers is missing from the checkout")
    table = pd.read_csv(path)
    if table["peer"].duplicated().any():
        raise DataError(path, "a peer appears twice")
    return dict(zip(table["peer"], table["JF_mean_davis16"].astype(float), strict=True))
