"""`parole stats` as French tables: the words of the staff card (`templates/labels.yaml`), numbers, dates and
plurals by Babel (`bot.formats`), dates in the venues' time zone (Europe/Paris). `--json` keeps the codes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from bot.formats import Formats
from bot.insights.figures import NAMES, SMALL_BASE, FieldFigures, Figure, StaffFigures
from bot.insights.stats import FIELD_REFERENCE, KINDS, VenueStats, channel_counts
from bot.labels import Labels, labels_for

__all__ = ["change_text", "figure_text", "format_details", "format_table", "staff_name"]

FRENCH: Final = Formats()
LABELS: Final = labels_for("fr")
DURATIONS: Final = frozenset({"first_response_median", "first_response_p90"})
ALL_VENUES: Final = "(tous les lieux)"
WARNING: Final = f"⚠ moins de {SMALL_BASE}"


def figure_text(name: str, value: float | None, formats: Formats = FRENCH) -> str:
    """A figure as people read it: a share in per cent, a duration in minutes or hours, the NPS in points."""
    if value is None:
        return "—"
    if name in DURATIONS:
        return formats.duration(value)
    if name == "nps":
        return f"{formats.decimal(value, 1)} pts"
    return formats.percent(value)


def change_text(name: str, change: float | None, formats: Formats = FRENCH) -> str:
    """The change from the previous period, signed: "+4,2 pts" (shares and NPS, in points), "-12 min"."""
    if change is None:
        return "—"
    sign = "+" if change > 0 else "-" if change < 0 else "±"
    if name in DURATIONS:
        return sign + formats.duration(abs(change))
    points = abs(change) if name == "nps" else abs(change) * 100
    return f"{sign}{formats.decimal(points, 1)} pts"


def staff_name(by: str) -> str:
    """Who answered, as the tables show them: the web admin's user, or the staff room when no name is kept."""
    return by or "salle du personnel (sans nom)"


def _table(header: tuple[str, ...], lines: Iterable[tuple[str, ...]]) -> str:
    rows = [header, *lines]
    widths = [max(len(line[i]) for line in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in rows)  # fmt: skip


def _venue(row: VenueStats) -> str:
    return row.venue_name if row.venue is not None else ALL_VENUES


def format_table(rows: list[VenueStats], brand_names: Mapping[str, str], formats: Formats = FRENCH) -> str:
    """Every row's volume and response figures as a plain-text table (brands by their names)."""
    header = (
        "Marque", "Lieu", "Retours", "Note moyenne", "CSAT", "Tickets", "Répondus", "Taux de réponse",
        "1re réponse (médiane, heures d'ouverture)", "À traiter", "Sans réponse",
    )  # fmt: skip
    return _table(
        header,
        (
            (
                brand_names.get(row.brand, row.brand),
                _venue(row),
                formats.number(row.feedbacks),
                formats.decimal(row.average_rating),
                figure_text("csat", row.field["csat"].value if row.field else None, formats),
                formats.number(row.tickets),
                formats.number(row.answered),
                formats.percent(row.response_rate),
                figure_text(
                    "first_response_median", row.field["first_response_median"].value if row.field else None, formats
                ),
                formats.number(row.open),
                formats.number(row.unanswered),
            )
            for row in rows
        ),
    )


def _period(row: VenueStats, formats: Formats) -> str:
    if row.since is None and row.until is None:
        return "depuis le début"
    if row.until is None:
        return f"depuis le {formats.day(row.since or 0)}"
    if row.since is None:
        return f"jusqu'au {formats.day(row.until)} (exclu)"
    return f"du {formats.day(row.since)} au {formats.day(row.until)} (exclu)"


def _figures_table(current: FieldFigures, previous: FieldFigures | None, labels: Labels, formats: Formats) -> str:
    lines = []
    for name in NAMES:
        figure: Figure = current[name]
        before = previous[name] if previous is not None else None
        change = current.change(name, previous)
        lines.append((
            labels.name("figures", name), figure_text(name, figure.value, formats), formats.number(figure.base),
            figure_text(name, before.value if before else None, formats), change_text(name, change, formats),
            WARNING if figure.low_base else "",
        ))  # fmt: skip
    return _table(("Indicateur", "Valeur", "Base", "Période précédente", "Écart", ""), lines)


def _staff_table(staff: tuple[StaffFigures, ...], formats: Formats) -> str:
    names = ("first_response_median", "first_response_p90", "within_deadline", "csat", "resolution_rate")
    header = ("Membre de l'équipe", "Tickets répondus", *(LABELS.name("figures", n) for n in names))
    lines = (
        (
            staff_name(s.by),
            formats.number(s.figures["first_response_median"].base),
            *(figure_text(n, s.figures[n].value, formats) for n in names),
        )
        for s in staff
    )
    return _table(header, lines)


def format_details(row: VenueStats, brand_names: Mapping[str, str], formats: Formats = FRENCH) -> str:
    """One row's field figures (beside the previous period), per staff member, distribution, channels, kinds
    beside the field reference, top lists and weekly trend, as tables."""
    labels = LABELS
    blocks = [f"{brand_names.get(row.brand, row.brand)} · {_venue(row)} · {_period(row, formats)}"]
    if row.field is not None:
        blocks.append(_figures_table(row.field, row.field_previous, labels, formats))
        if row.previous_since is not None and row.previous_until is not None:
            blocks.append(
                f"Période précédente : du {formats.day(row.previous_since)} au {formats.day(row.previous_until)} "
                "(exclu), de même durée."
            )
        else:
            blocks.append("Période précédente : choisissez un début (--since) pour comparer.")
        rules = "\n".join(f"- {labels.name('figures', n)} : {labels.name('figure_rules', n)}" for n in NAMES)
        blocks.append(f"Règles :\n{rules}\n{WARNING} : l'indicateur repose sur moins de {SMALL_BASE} réponses.")
    if row.staff:
        blocks.append(_staff_table(row.staff, formats))
    total = max(1, row.feedbacks)
    blocks += [
        _table(
            ("Note", "Retours", "Part"),
            (
                (
                    f"{r} ★",
                    formats.number(row.distribution.get(r, 0)),
                    formats.percent(row.distribution.get(r, 0) / total),
                )
                for r in range(5, 0, -1)
            ),
        ),
        _table(
            ("Canal", "Retours", "Part"),
            (
                (labels.name("channels", c), formats.number(n), formats.percent(n / total))
                for c, n in channel_counts(row.channels).items()
            ),
        ),
        _table(
            ("Type", "Retours", "Part", "Terrain"),
            (
                (
                    labels.name("kinds", k),
                    formats.number(row.kinds.get(k, 0)),
                    formats.percent(row.kind_shares[k]),
                    formats.percent(FIELD_REFERENCE[k], 0),
                )
                for k in KINDS
            ),
        ),
    ]
    for heading, ranked, group in (
        ("Personnel le plus remercié", row.staff_thanked, None),
        ("Produits les plus critiqués", row.products_criticised, None),
        ("Entités les plus citées", row.top_entities, None),
        ("Aspects les plus cités", row.top_aspects, "aspects"),
    ):
        names = [(labels.name("aspects", r.text) if group else r.text, formats.number(r.count)) for r in ranked]
        blocks.append(_table((heading, "Retours"), names or [("(aucun)", "")]))
    blocks.append(
        _table(
            ("Semaine du", "Retours", "Note moyenne"),
            (
                (formats.day_of(w.week), formats.number(w.feedbacks), formats.decimal(w.average_rating))
                for w in row.weekly
            ),
        )
    )
    blocks.append(f"Terrain : les 25 000 premiers retours d'une plateforme française (2011). "
                  f"{formats.count(row.analysed, 'retour analysé', 'retours analysés')} "
                  f"sur {formats.number(row.feedbacks)}.")  # fmt: skip
    return "\n\n".join(blocks)
