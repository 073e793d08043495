"""Run only by tests/data/test_discovery.py (its name keeps it out of normal collection)."""

from shieldrec.eval import mllatest


def test_needs_ml_latest_small() -> None:
    assert (mllatest.folder() / "ratings.csv").is_file()
