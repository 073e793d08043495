"""What every evaluation protocol produces: cases, and which users train and which test."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from shieldrec.ranking.types import RankRequest

TEST_SHARE = 0.3  # of each data set's users, held out from training the ranker
HISTORY_BANDS = ((0, 10, "≤10"), (11, 50, "11–50"), (51, 10**9, ">50"))


@dataclass
class Case:
    """One evaluation list: the request the ranker sees and the item it should find."""

    user_id: str
    target: str
    request: RankRequest

    @property
    def history_length(self) -> int:
        return len(self.request.history)


# The people behind each data set's name: variants of one source (plots added, another shape of
# list) hold the same users, so they must split them alike or a test user trains in the variant.
SOURCE_OF = {
    "movielens-100k-plots": "movielens-100k",
    "ml-latest-small": "ml-latest-small-tags",  # the shapes' name for the tags protocol's users
}


def source_of(dataset: str) -> str:
    """The source whose users `dataset` holds ('movielens-100k-plots' -> 'movielens-100k')."""
    return SOURCE_OF.get(dataset, dataset)


def is_test_user(dataset: str, user_id: str) -> bool:
    """A fixed, seed-independent split by user of the data set's source: the same users are test
    users in every run and in every variant of the source, so a ranker trained on the training
    users never saw a test user's lists."""
    return zlib.crc32(f"{source_of(dataset)}\x00{user_id}".encode("utf-8")) % 1000 < TEST_SHARE * 1000


def band(history_length: int) -> str:
    """The history-length band a case falls in ("≤10", "11–50", ">50")."""
    return next(name for low, high, name in HISTORY_BANDS if low <= history_length <= high)


SPLITS = ("all", "train", "test")


def choose_users(dataset: str, users: list[str], split: str = "all", n: int | None = None, seed: int = 0) -> list[str]:
    """`users` (in their given order) in `split`, or a seeded sample of `n` of them."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if split != "all":
        want_test = split == "test"
        users = [u for u in users if is_test_user(dataset, u) == want_test]
    if n is not None and n < len(users):
        import numpy as np

        pick = np.random.default_rng(seed).choice(len(users), size=n, replace=False)
        users = [users[i] for i in sorted(pick)]
    return users
