"""Reading ratings, free text, skip words and venue codes as customers type them."""

from __future__ import annotations

import pytest

from dialogs.answers import (
    SHORT_CODE_ALPHABET,
    SHORT_CODE_LENGTH,
    clean_text,
    is_skip,
    normalise_venue_code,
    parse_rating,
)

READABLE_RATINGS = [
    ("4", 4),
    (" 4 ", 4),
    ("1", 1),
    ("5", 5),
    ("4/5", 4),
    ("4 / 5", 4),
    ("5/5", 5),
    ("4 sur 5", 4),
    ("4 out of 5", 4),
    ("four out of five", 4),
    ("⭐⭐⭐⭐", 4),
    ("⭐️⭐️⭐️", 3),  # with variation selectors, as phones send them
    ("⭐ ⭐", 2),
    ("★★★★★", 5),
    ("★★★☆☆", 3),
    ("4 étoiles", 4),
    ("4 Étoiles", 4),
    ("1 étoile", 1),
    ("4 stars", 4),
    ("1 star", 1),
    ("4 ⭐", 4),
    ("quatre", 4),
    ("Quatre", 4),
    ("QUATRE.", 4),
    ("four", 4),
    ("Four", 4),
    ("un", 1),
    ("une", 1),
    ("one", 1),
    ("deux", 2),
    ("trois", 3),
    ("cinq", 5),
    ("five", 5),
    ("4.", 4),
    ("4!", 4),
    ("\uff14", 4),  # full-width digit
    ("\u200b4\u200b", 4),
]

UNREADABLE_RATINGS = [
    "0",
    "6",
    "10",
    "45",
    "4/10",
    "3.5",
    "3,5",
    "abc",
    "",
    "   ",
    "😀",
    "👍",
    "🙂🙂🙂",
    "⭐⭐⭐⭐⭐⭐",
    "☆☆☆",
    "-1",
    "six",
    "zéro",
    "4 5",
    "4/5 and 3/5",
    "j'ai mis 4",
]


@pytest.mark.parametrize(("text", "rating"), READABLE_RATINGS)
def test_parse_rating_reads(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize("text", UNREADABLE_RATINGS)
def test_parse_rating_refuses(text: str) -> None:
    assert parse_rating(text) is None


def test_clean_text_keeps_plain_text() -> None:
    assert clean_text("  Très bon accueil, merci !  ", 100) == ("Très bon accueil, merci !", False)


def test_clean_text_removes_control_characters_but_keeps_lines_and_tabs() -> None:
    text = "a\x00b\x07c\x1bd\x7fe\x85f\x9fg\nh\ti\r\nj"
    assert clean_text(text, 100) == ("abcdefg\nh\ti\nj", False)


def test_clean_text_removes_invisible_characters() -> None:
    text = "\ufeffbon\u200bjour \u202eevil\u202c \u2066x\u2069"
    assert clean_text(text, 100) == ("bonjour evil x", False)


def test_clean_text_keeps_emoji_sequences() -> None:
    family = "👨\u200d👩\u200d👧"
    assert clean_text(f"  {family}👍🏽  ", 100) == (f"{family}👍🏽", False)


def test_clean_text_emoji_only_is_text() -> None:
    assert clean_text("😀😀😀", 100) == ("😀😀😀", False)


def test_clean_text_normalises_to_nfc() -> None:
    decomposed = "cafe\u0301"
    assert clean_text(decomposed, 100) == ("café", False)


def test_clean_text_collapses_blank_lines() -> None:
    assert clean_text("a\n\n\n\n\nb  \n", 100) == ("a\n\nb", False)


def test_clean_text_empty_and_junk_only() -> None:
    assert clean_text("", 100) == ("", False)
    assert clean_text(" \u200b\x00\n\t ", 100) == ("", False)


def test_clean_text_truncates_10000_characters_at_a_word_boundary() -> None:
    text = "mot " * 2500
    cleaned, truncated = clean_text(text, 2000)
    assert truncated
    assert len(cleaned) <= 2000
    assert cleaned.endswith("mot…")
    assert len(cleaned) > 1900


def test_clean_text_cuts_one_endless_word_hard() -> None:
    cleaned, truncated = clean_text("a" * 10_000, 2000)
    assert truncated
    assert cleaned == "a" * 1999 + "…"


def test_clean_text_exact_limit_is_not_truncated() -> None:
    assert clean_text("abcde", 5) == ("abcde", False)


def test_clean_text_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="limit"):
        clean_text("a", 0)


@pytest.mark.parametrize("text", ["skip", "Skip", "passer", "PASSER", "non", "Non.", "no", "rien", "-", " rien ! "])
def test_is_skip(text: str) -> None:
    assert is_skip(text)


@pytest.mark.parametrize("text", ["", "non, il faudrait plus de caisses", "skipper", "--", "rien à signaler ici"])
def test_is_not_skip(text: str) -> None:
    assert not is_skip(text)


def test_short_code_alphabet_avoids_confusable_characters() -> None:
    assert SHORT_CODE_LENGTH == 6
    assert not set("0O1IL") & set(SHORT_CODE_ALPHABET)
    assert len(set(SHORT_CODE_ALPHABET)) == len(SHORT_CODE_ALPHABET) == 31


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("K7P2QX", "K7P2QX"),
        ("k7p2qx", "K7P2QX"),
        (" k7p 2qx ", "K7P2QX"),
        ("K7P-2QX", "K7P2QX"),
        ("K7P.2QX", "K7P2QX"),
        ("k7p\u20132qx", "K7P2QX"),  # en dash
        ("\uff2b\uff17\uff30\uff12\uff31\uff38", "K7P2QX"),  # full-width
    ],
)
def test_normalise_venue_code_reads(text: str, code: str) -> None:
    assert normalise_venue_code(text) == code


@pytest.mark.parametrize("text", ["", "K7P2Q", "K7P2QXY", "K0P2QX", "KOP2QX", "K1P2QX", "KIP2QX", "KLP2QX", "K7P2Q!"])
def test_normalise_venue_code_refuses(text: str) -> None:
    assert normalise_venue_code(text) is None
