"""Venue posters: the QR code on the PNG and in the SVG decodes back to the venue's deep link; the name,
the short code and the invitation in the venue's language are printed; the invitation is a template; bad
requests change nothing."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from redis.asyncio import Redis

from bot.cli.main import main
from bot.cli.posters import poster_content, poster_svg
from bot.storage.store import Store
from dialogs.render import MessageRenderer, TemplateCatalog, default_templates_dir

SVG = "{http://www.w3.org/2000/svg}"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def decode(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def svg_qr(svg: str) -> Image.Image:
    """The QR code drawn in a poster's SVG, read back module by module into an image (10 px a module)."""
    group = re.search(r'<g class="qr"[^>]*><rect width="(\d+)"[^>]*/><path d="([^"]+)"', svg)
    assert group is not None, "no QR code in the SVG"
    size = int(group.group(1))
    image = Image.new("L", (size * 10, size * 10), 255)
    for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", group.group(2)):
        image.paste(0, (int(x) * 10, int(y) * 10, int(x) * 10 + 10, int(y) * 10 + 10))
    return image


async def _venues(redis_url: str) -> None:
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        store = Store(redis)
        await store.add_brand("quick", "Quick & Co")
        await store.add_venue("quick", "Quick Massy — Gare <RER B>, côté Atlantis")
        await store.add_venue("quick", "Quick Orly", language="en")
        await store.add_brand("flunch", "Flunch")
        await store.add_venue("flunch", "Quick Orly")  # the same venue code in another brand


def test_posters_decode_to_the_deep_link(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_venues(redis_url))
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    monkeypatch.setenv("PAROLE_BOT_USERNAME", "parole_bot")
    monkeypatch.setenv("PAROLE_DATA_DIR", str(tmp_path))
    code, out, err = _run(capsys, "venue", "list", "--brand", "quick")
    venues = {v["code"]: v for v in map(json.loads, out.splitlines())}
    code, out, err = _run(capsys, "venue", "posters", "--brand", "quick", "--out", str(tmp_path / "kit"))
    assert code == 0, err
    assert "2/2 poster" in err
    written = [json.loads(line) for line in out.splitlines()]
    assert [w["venue"] for w in written] == list(venues)
    for poster in written:
        venue = venues[poster["venue"]]
        assert poster["deep_link"] == venue["deep_link"] == f"https://t.me/parole_bot?start={venue['token']}"
        png = Image.open(poster["png"])
        assert png.size == (1240, 1754) and decode(png) == [venue["deep_link"]]
        svg = Path(poster["svg"]).read_text(encoding="utf-8")
        assert decode(svg_qr(svg)) == [venue["deep_link"]]
        code_text = venue["short_code"][:3] + " " + venue["short_code"][3:]
        assert f">{code_text}</text>" in svg and 'viewBox="0 0 210 297"' in svg and 'width="210mm"' in svg
    massy, orly = (Path(w["svg"]).read_text(encoding="utf-8") for w in written)
    assert "Quick Massy — Gare &lt;RER B&gt;, côté Atlantis" in massy and "<RER B>" not in massy
    assert "l&#x27;équipe de Quick Massy" in massy and "Quick &amp; Co" in massy and 'lang="fr"' in massy
    assert "the team at Quick Orly reads and answers you" in orly and 'lang="en"' in orly
    # One poster, by its code alone when one brand has it, into DATA_DIR/posters by default.
    massy_code = written[0]["venue"]
    code, out, err = _run(capsys, "venue", "poster", massy_code)
    assert code == 0 and json.loads(out)["png"] == str(tmp_path / "posters" / f"quick-{massy_code}-poster.png")
    assert decode(Image.open(json.loads(out)["png"])) == [venues[massy_code]["deep_link"]]
    code, out, err = _run(capsys, "venue", "poster", "quick-orly", "--brand", "flunch", "--out", str(tmp_path / "f"))
    assert code == 0 and json.loads(out)["brand"] == "flunch"
    refused = str(tmp_path / "refused")
    for args, message in [
        (
            ("venue", "poster", "quick-orly", "--out", refused),
            "plusieurs marques ont un lieu « quick-orly » : précisez --brand",
        ),
        (("venue", "poster", "nowhere", "--out", refused), "le lieu « nowhere » n'existe pas"),
        (
            ("venue", "poster", "quick-orly", "--brand", "nobody", "--out", refused),
            "le lieu « nobody/quick-orly » n'existe pas",
        ),
        (("venue", "posters", "--brand", "nobody", "--out", refused), "la marque « nobody » n'existe pas"),
        (
            ("venue", "add", "--brand", "quick", "--name", "Quick Evry", "--language", "Français"),
            "la langue « Français » n'est pas possible",
        ),
    ]:
        code, out, err = _run(capsys, *args)
        assert code == 1 and message in err and out == "" and not Path(refused).exists(), (args, err)
    code, out, _ = _run(capsys, "venue", "list", "--brand", "quick")
    assert len(out.splitlines()) == 2  # the refused venue was not added


def test_the_invitation_is_an_editable_template(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), templates)
    (templates / "bot" / "fr" / "poster_invitation.j2").write_text(
        "Votre avis sur {{ venue_name }} ({{ brand_name }}) nous fait avancer.", encoding="utf-8"
    )
    renderer = MessageRenderer(TemplateCatalog(templates))
    link = "https://t.me/parole_bot?start=abc"
    content = poster_content(
        renderer, brand_name="Quick", venue_name="Quick Massy", short_code="K7P2QX", deep_link=link,
        bot_username="parole_bot", language="fr",
    )  # fmt: skip
    assert content.invitation == "Votre avis sur Quick Massy (Quick) nous fait avancer."
    assert content.code_hint == "Pas de QR ? Dans Telegram, ouvrez @parole_bot et tapez ce code."
    svg = poster_svg(content)
    assert ">Votre avis sur Quick Massy (Quick) nous fait avancer.</text>" in svg and ">K7P 2QX</text>" in svg
    assert decode(svg_qr(svg)) == [link]
    german = poster_content(
        renderer, brand_name="Quick", venue_name="Quick Köln", short_code="K7P2QX", deep_link=link,
        bot_username="parole_bot", language="de",
    )  # fmt: skip
    assert german.invitation.startswith("Votre avis sur Quick Köln")  # no German template: French, the fallback


def test_the_posters_fonts_are_carried_in_the_package_with_their_licence() -> None:
    """No system font: DejaVu comes with parole (bot/cli/fonts), and its accents print."""
    from PIL import ImageDraw

    from bot.cli import posters

    assert posters.FONT_DIR.is_relative_to(Path(posters.__file__).parent)
    assert "Bitstream Vera" in (posters.FONT_DIR / "LICENSE-DejaVu.txt").read_text()
    for bold in (False, True):
        for monospace in (False, True):
            font = posters._font(40, bold=bold, monospace=monospace)
            assert Path(str(font.path)).parent == posters.FONT_DIR
            assert font.getname()[0] == ("DejaVu Sans Mono" if monospace else "DejaVu Sans")

    def drawn(text: str) -> bytes:
        image = Image.new("L", (80, 80), 255)
        ImageDraw.Draw(image).text((10, 10), text, font=posters._font(40), fill=0)
        return image.tobytes()

    assert drawn("é") != drawn("e")  # the accent is drawn (Pillow's own default font has none)
