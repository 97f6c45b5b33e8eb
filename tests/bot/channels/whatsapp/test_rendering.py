"""What the channel sends, checked by the emulator's own strict rules: formatting, limits, buttons or list,
and the payload reader's refusals."""

from __future__ import annotations

import pytest

from bot.channels.whatsapp.customer import render
from bot.channels.whatsapp.formatting import one_line, to_whatsapp
from bot.channels.whatsapp.keywords import command_for
from bot.channels.whatsapp.limits import template_problem
from bot.channels.whatsapp.links import code_in, whatsapp_link
from bot.channels.whatsapp.updates import read_payload
from bot.refusals import say
from bot.seam.outgoing import OutgoingMessage
from whatsapp_emulator.checks import CloudApiError, check_interactive, check_template, check_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<b>Quick</b> &amp; <i>Massy</i>", "*Quick* & _Massy_"),
        ("<b> espace </b>!", " *espace* !"),
        ("<b><i>les deux</i></b>", "*_les deux_*"),
        ("&lt;b&gt; n'est pas une balise &quot;ici&quot; &#233;", '<b> n\'est pas une balise "ici" é'),
        ("<b></b>vide", "vide"),
        ("<b>pas fermé", "pas fermé"),
    ],
)
def test_html_becomes_whatsapp_formatting(html: str, text: str) -> None:
    assert to_whatsapp(html) == text


def test_the_rating_is_a_list_of_five_rows_and_skip_a_reply_button() -> None:
    stars = tuple((("⭐" * n, f"rate:{n}"),) for n in range(1, 6))
    (rating,) = render("33612345678", OutgoingMessage("<b>Quelle note ?</b>", stars))
    assert rating["interactive"]["type"] == "list"
    body, choices = check_interactive(rating["interactive"])
    assert body == "*Quelle note ?*" and list(choices) == [f"rate:{n}" for n in range(1, 6)]
    (skip,) = render("33612345678", OutgoingMessage("Une idée ?", ((("Passer", "skip"),),)))
    assert skip["interactive"]["type"] == "button"
    assert check_interactive(skip["interactive"])[1] == {"skip": "Passer"}


def test_long_texts_and_labels_stay_within_the_limits() -> None:
    long_label = "Recevoir les nouvelles de Quick Massy Gare RER"
    messages = render(
        "33612345678", OutgoingMessage("x " * 3000 + "\nDernière ligne ?", (((long_label, "news:in:1"),),))
    )
    for payload in messages[:-1]:
        check_text(payload["text"])
    body, choices = check_interactive(messages[-1]["interactive"])
    assert body == "Dernière ligne ?" and messages[-1]["interactive"]["type"] == "list"
    assert len(next(iter(choices.values()))) <= 24
    many = tuple(((f"Lieu {n}", f"venue:{n}"),) for n in range(14))
    check_interactive(render("33612345678", OutgoingMessage("Où ?", many))[0]["interactive"])
    (text,) = render("33612345678", OutgoingMessage("y" * 4096))
    assert check_text(text["text"]) == "y" * 4096
    assert len(render("33612345678", OutgoingMessage("y" * 4097))) == 2


def test_the_nps_scores_are_written_to_be_typed_as_no_list_holds_eleven() -> None:
    scores = (tuple((str(n), f"nps:{n}") for n in range(6)), tuple((str(n), f"nps:{n}") for n in range(6, 11)))
    keyboard = (*scores, (("Passer", "skip"),))
    (message,) = render("33612345678", OutgoingMessage("<b>De 0 à 10</b>, nous recommanderiez-vous ?", keyboard))
    text = check_text(message["text"])
    assert text == "*De 0 à 10*, nous recommanderiez-vous ?\n\n0 · 1 · 2 · 3 · 4 · 5 · 6 · 7 · 8 · 9 · 10 · Passer"
    assert template_problem("De 0 à 10 ?", keyboard, label=False) is None
    # Other choices too many for a list are still refused when a template is saved (they could not be typed).
    venues = tuple(((f"Lieu {n}", f"venue:{n}"),) for n in range(11))
    refused = template_problem("Où ?", venues, label=False)
    assert refused is not None and say(refused) == "sur WhatsApp, un message propose au plus 10 choix, pas 11"


@pytest.mark.parametrize(
    "interactive",
    [
        {"type": "button", "body": {"text": "?"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": str(n), "title": str(n)}} for n in range(4)]}},
        {"type": "button", "body": {"text": "?"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]}},
        {"type": "button", "body": {"text": "x" * 1025}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "a", "title": "ok"}}]}},
        {"type": "list", "body": {"text": "?"}, "action": {"button": "☰", "sections": [{"rows": [
            {"id": str(n), "title": str(n)} for n in range(11)]}]}},
        {"type": "list", "body": {"text": "?"}, "action": {"button": "☰", "sections": [{"rows": [
            {"id": "a", "title": "x" * 25}]}]}},
        {"type": "list", "body": {"text": "?"}, "action": {"button": "☰", "sections": [{"rows": [
            {"id": "a" * 201, "title": "x"}]}]}},
        {"type": "list", "body": {"text": "?"}, "action": {"button": "☰", "sections": [{"rows": [
            {"id": "a", "title": "x", "colour": "red"}]}]}},
    ],
)  # fmt: skip
def test_the_emulator_refuses_what_meta_refuses(interactive: dict[str, object]) -> None:
    with pytest.raises(CloudApiError) as error:
        check_interactive(interactive)
    assert error.value.status == 400


def test_template_parameters_have_no_line_breaks() -> None:
    known = {"parole_reply": {"fr": 1}}
    template = {"name": "parole_reply", "language": {"code": "fr"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": one_line("a\nb     c", 1024)}]}]}  # fmt: skip
    assert check_template(template, known) == ("parole_reply", ["a · b c"])
    template["components"][0]["parameters"][0]["text"] = "a\nb"  # type: ignore[index]
    with pytest.raises(CloudApiError):
        check_template(template, known)
    with pytest.raises(CloudApiError):
        check_template({"name": "unknown", "language": {"code": "fr"}}, known)


def test_keywords_links_and_codes() -> None:
    assert command_for("Oubliez-moi !") == "/forget" and command_for("STOP") == "/stopnews"
    assert command_for("le service était nul, stop") is None
    link = whatsapp_link("33180000000", "K7M2QX")
    assert link.startswith("https://wa.me/33180000000?text=") and "%23K7M2QX" in link
    assert code_in("Bonjour ! Je donne mon avis (code #k7m 2qx)") == "K7M2QX"
    assert code_in("Bonjour #OOOOOO") is None and code_in("J'ai payé 12 €") is None


def test_the_reader_skips_what_meta_never_sends() -> None:
    ok = {"from": "33612345678", "id": "wamid.A", "timestamp": "1700000000", "type": "text", "text": {"body": "hi"}}
    bad = [
        {**ok, "from": "+33 6"}, {**ok, "id": ""}, {**ok, "timestamp": "soon"}, {**ok, "text": {"body": 3}},
        {**ok, "type": "interactive", "interactive": {"type": "nfm_reply"}},
        {**ok, "type": "location", "location": {"latitude": True, "longitude": 2}}, "text",
    ]  # fmt: skip
    value = {"metadata": {"phone_number_id": "1"}, "messages": [ok, *bad], "statuses": [{"id": "x"}]}
    batch = read_payload({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "messages", "value": value}]}]}, "1")  # fmt: skip
    assert [m.inbound.text for m in batch.messages] == ["hi"] and batch.unreadable == len(bad) + 1
    assert batch.messages[0].inbound.language_code == "fr"


def test_the_reader_keeps_the_media_ids_of_images_and_documents() -> None:
    """An image or a document keeps its media id (fetched for the staff after the journey), captioned or not; an id
    that could change the Graph API URL's path is not kept (the picture is then said not to pass); other kinds
    keep none."""
    base = {"from": "33612345678", "timestamp": "1700000000"}
    messages = [
        {**base, "id": "wamid.1", "type": "image", "image": {"id": "1037543291543636", "mime_type": "image/jpeg"}},
        {**base, "id": "wamid.2", "type": "image", "image": {"id": "77", "caption": "La porte"}},
        {**base, "id": "wamid.3", "type": "document", "document": {"id": "78", "mime_type": "application/pdf"}},
        {**base, "id": "wamid.4", "type": "image", "image": {"id": "../../106540352242922/messages"}},
        {**base, "id": "wamid.5", "type": "image", "image": {"id": "79\n"}},
        {**base, "id": "wamid.6", "type": "image", "image": {"id": 80}},
        {**base, "id": "wamid.7", "type": "sticker", "sticker": {"id": "81", "mime_type": "image/webp"}},
    ]
    value = {"metadata": {"phone_number_id": "1"}, "messages": messages}
    batch = read_payload({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "messages", "value": value}]}]}, "1")  # fmt: skip
    read = [(m.inbound.kind, m.inbound.text, m.inbound.media) for m in batch.messages]
    assert read == [
        ("photo", None, "1037543291543636"), (None, "La porte", "77"), ("document", None, "78"),
        ("photo", None, None), ("photo", None, None), ("photo", None, None), ("sticker", None, None),
    ]  # fmt: skip
