"""Ids of requests, attempts and webhooks: prefix, time order, randomness."""

from __future__ import annotations

import re
import string

from hookwire.sender.rows import new_id

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def test_an_id_is_its_prefix_then_24_base62_digits() -> None:
    assert re.fullmatch(r"msg_[0-9A-Za-z]{24}", new_id("msg"))


def test_the_first_eight_digits_are_the_time_in_milliseconds() -> None:
    assert new_id("att", now=0.0).startswith("att_00000000")
    assert new_id("att", now=0.062).startswith("att_00000010")  # 62 ms is "10" in base 62
    assert new_id("att", now=3844.0 * 62 / 1000).startswith("att_00001000")


def test_ids_sort_by_creation_time() -> None:
    times = [1_700_000_000.0 + step / 1000 for step in (0, 1, 2, 61, 62, 3843, 3844, 10**6)]
    ids = [new_id("x", now=t) for t in times]
    assert sorted(ids) == ids


def test_ids_of_one_millisecond_are_distinct_and_share_the_time_part() -> None:
    ids = [new_id("x", now=1_700_000_000.5) for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert len({i[:10] for i in ids}) == 1


def test_the_random_digits_use_the_whole_alphabet_about_evenly() -> None:
    digits = "".join(new_id("x", now=1.0)[10:] for _ in range(4000))  # 64,000 digits
    counts = [digits.count(d) for d in BASE62]
    assert set(digits) == set(BASE62)
    # Each digit is 1/62 of the draws (1.0 +- 25%); bytes 248-255 favour 0-7 by 5:4.
    expected = len(digits) / 62
    assert all(0.75 * expected < c < 1.35 * expected for c in counts)
