from __future__ import annotations

import pytest

import aisle
from aisle import Money


def test_parse_and_format() -> None:
    assert Money.parse("12.34", "EUR").minor == 1234
    assert Money.parse("-0.5", "EUR") == Money(-50, "EUR")
    assert Money.parse("1.234", "KWD").minor == 1234
    assert str(Money(-1205, "EUR")) == "-12.05 EUR"
    assert Money(5, "EUR").to_decimal_string() == "0.05"
    assert repr(Money(5, "EUR")) == 'Money(5, "EUR")'


def test_arithmetic() -> None:
    assert Money(100, "EUR") + Money(23, "EUR") == Money(123, "EUR")
    assert Money(100, "EUR") - Money(23, "EUR") == Money(77, "EUR")
    assert Money(119, "EUR") * 3 == Money(357, "EUR")
    assert 3 * Money(119, "EUR") == Money(357, "EUR")
    assert -Money(1, "EUR") == Money(-1, "EUR")
    assert not Money(0, "EUR")
    assert len({Money(1, "EUR"), Money(1, "EUR"), Money(1, "USD")}) == 2


def test_allocate_sums_to_the_whole() -> None:
    assert Money(4, "EUR").allocate([1, 1, 1]) == [Money(1, "EUR"), Money(1, "EUR"), Money(2, "EUR")]
    parts = Money(1001, "EUR").allocate([3, 3, 3, 1])
    assert sum(p.minor for p in parts) == 1001


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("half_even", 12), ("half_up", 13), ("half_down", 12), ("up", 13), ("down", 12)],
)
def test_rounding_modes(mode: str, expected: int) -> None:
    assert Money(25, "EUR").mul_div(1, 2, mode).minor == expected
    assert Money(-25, "EUR").mul_div(1, 2, mode).minor == -expected
    assert mode in aisle.ROUNDING_MODES


def test_cash_rounding() -> None:
    assert Money(1233, "CHF").round_to_increment(5, "half_up") == Money(1235, "CHF")
