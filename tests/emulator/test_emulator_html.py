"""Telegram's HTML parse mode: entities in UTF-16 units, its character references, its errors."""

from __future__ import annotations

import pytest

from dialogs.telegram_html import HtmlParseError, parse_html, utf16_len


def test_tags_become_entities_at_utf16_offsets() -> None:
    parsed = parse_html("😀 <b>Merci</b> <i>à</i> <u>u</u><s>s</s>")
    assert parsed.text == "😀 Merci à us"
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 5},
        {"type": "italic", "offset": 9, "length": 1},
        {"type": "underline", "offset": 11, "length": 1},
        {"type": "strikethrough", "offset": 12, "length": 1},
    ]
    assert utf16_len(parsed.text) == 13


def test_synonyms_nesting_and_tag_case() -> None:
    parsed = parse_html("<STRONG>a<em>b</em></STRONG><ins>c</ins><del>d</del><strike>e</strike>")
    assert parsed.text == "abcde"
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == [
        ("bold", 0, 2),
        ("italic", 1, 1),
        ("underline", 2, 1),
        ("strikethrough", 3, 1),
        ("strikethrough", 4, 1),
    ]


def test_references_and_literal_ampersands() -> None:
    parsed = parse_html("&lt;b&gt; &amp; &quot;x&quot; &#39;&#x27; Tom & Jerry &nbsp; &lt")
    assert parsed.text == "<b> & \"x\" '' Tom & Jerry &nbsp; <"
    assert parsed.entities == []


def test_links_mentions_code_and_pre() -> None:
    parsed = parse_html(
        '<a href="https://example.org/?a=1&amp;b=2">site</a> <a href="tg://user?id=7">Ann</a> '
        '<code>x</code> <pre><code class="language-python">print(1)</code></pre>',
        lambda user_id: {"id": user_id, "is_bot": False, "first_name": "Ann"},
    )
    assert parsed.text == "site Ann x print(1)"
    assert parsed.entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://example.org/?a=1&b=2"},
        {
            "type": "text_mention",
            "offset": 5,
            "length": 3,
            "user": {"id": 7, "is_bot": False, "first_name": "Ann"},
        },
        {"type": "code", "offset": 9, "length": 1},
        {"type": "pre", "offset": 11, "length": 8, "language": "python"},
    ]


def test_nothing_is_formatted_inside_code() -> None:
    parsed = parse_html("<code>a<b>b</b></code> <pre>x</pre>")
    assert parsed.entities == [
        {"type": "code", "offset": 0, "length": 2},
        {"type": "pre", "offset": 3, "length": 1},
    ]


def test_spoilers_quotes_custom_emoji_and_time() -> None:
    parsed = parse_html(
        '<tg-spoiler>a</tg-spoiler><span class="tg-spoiler">b</span><blockquote>c</blockquote>'
        '<blockquote expandable>d</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        '<tg-time unix="1700000000" format="wDT">e</tg-time>'
    )
    assert [e["type"] for e in parsed.entities] == [
        "spoiler",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "custom_emoji",
        "date_time",
    ]
    assert parsed.entities[4]["custom_emoji_id"] == "5368324170671202286"
    assert parsed.entities[5]["unix_time"] == 1700000000


def test_whitespace_at_both_ends_is_trimmed_and_entities_follow() -> None:
    parsed = parse_html("\n  <b> Merci </b>\n\n")
    assert parsed.text == "Merci"
    assert parsed.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert parse_html("<b></b>").text == ""


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("é <p>x</p>", 'Unsupported start tag "p" at byte offset 3'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("a <", "Unclosed start tag at byte offset 2"),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ('<span class="bold">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "<a href>x</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ('<a href="x', "Unclosed start tag at byte offset 0"),
        ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"),
    ],
)
def test_invalid_html_is_refused_as_telegram_does(html: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as refused:
        parse_html(html)
    assert str(refused.value) == error
