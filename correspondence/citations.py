"""
How to cite a letter of the archive: a formatted line, BibTeX, RIS and
CSL-JSON, and the schema.org description that search engines read.

Each function takes a letter loaded with ``with_people()`` (participants
prefetched) and the absolute permalink; none queries the database.
"""

import json

from django.utils.html import escape
from django.utils.safestring import mark_safe

from .models import Participation

ARCHIVE_NAME = "Archive de correspondance diplomatique"


def _names(letter, role):
    return [
        participation.name_as_written or participation.agent.name
        for participation in sorted(letter.participations.all(), key=lambda p: p.position)
        if participation.role == role
    ]


def authors(letter):
    return _names(letter, Participation.Role.SENDER) or _names(letter, Participation.Role.SIGNATORY)


def recipients(letter):
    return _names(letter, Participation.Role.RECIPIENT)


def _date_parts(letter):
    if letter.date_from is None:
        return []
    day = letter.date_from
    if letter.date_precision == letter.DatePrecision.YEAR:
        return [day.year]
    if letter.date_precision == letter.DatePrecision.MONTH:
        return [day.year, day.month]
    return [day.year, day.month, day.day]


def citation_text(letter, permalink):
    """A plain citation line: authors, « title », date, source and pages, archive, permalink."""
    parts = []
    if authors(letter):
        parts.append(", ".join(authors(letter)))
    parts.append(f"« {letter.title} »")
    if letter.date_display:
        parts.append(letter.date_display)
    if letter.source_id:
        source = letter.source.symbol or letter.source.title
        parts.append(f"dans {source}" + (f", p. {letter.source_pages}" if letter.source_pages else ""))
    parts.append(ARCHIVE_NAME)
    parts.append(permalink)
    return ", ".join(parts) + "."


def _bibtex_escape(value):
    replacements = {
        "\\": r"\textbackslash{}",
        "{": r"\{",
        "}": r"\}",
        "%": r"\%",
        "&": r"\&",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
    }
    return "".join(replacements.get(char, char) for char in value)


def bibtex(letter, permalink):
    fields = {
        "title": letter.title,
        "author": " and ".join("{" + name + "}" for name in authors(letter)),
        "date": letter.date_display.replace("/", "/") if letter.date_display else "",
        "howpublished": letter.source.title if letter.source_id else "",
        "pages": letter.source_pages,
        "note": letter.translation_note,
        "language": letter.language,
        "url": permalink,
        "publisher": ARCHIVE_NAME,
    }
    key = letter.slug.replace("-", "_")
    lines = [f"@letter{{{key},"]
    for name, value in fields.items():
        if value:
            text = value if name == "author" else _bibtex_escape(value)
            lines.append(f"  {name} = {{{text}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def ris(letter, permalink):
    lines = ["TY  - PCOMM", f"TI  - {letter.title}"]
    lines += [f"AU  - {name}" for name in authors(letter)]
    lines += [f"A2  - {name}" for name in recipients(letter)]
    parts = _date_parts(letter)
    if parts:
        lines.append("DA  - " + "/".join(f"{part:02d}" if index else str(part) for index, part in enumerate(parts)))
        lines.append(f"PY  - {parts[0]}")
    if letter.source_id:
        lines.append(f"T2  - {letter.source.title}")
        if letter.source_pages:
            lines.append(f"SP  - {letter.source_pages}")
    if letter.place_written_id:
        lines.append(f"CY  - {letter.place_written.name}")
    lines += [f"LA  - {letter.language}", f"UR  - {permalink}", f"DB  - {ARCHIVE_NAME}", "ER  - "]
    return "\r\n".join(line.replace("\r", " ").replace("\n", " ") for line in lines) + "\r\n"


def csl_json(letter, permalink):
    item = {
        "id": letter.slug,
        "type": "personal_communication",
        "genre": letter.get_kind_display(),
        "title": letter.title,
        "author": [{"literal": name} for name in authors(letter)],
        "recipient": [{"literal": name} for name in recipients(letter)],
        "language": letter.language,
        "URL": permalink,
        "archive": ARCHIVE_NAME,
    }
    if _date_parts(letter):
        item["issued"] = {"date-parts": [_date_parts(letter)]}
    if letter.source_id:
        item["container-title"] = letter.source.title
        if letter.source_pages:
            item["page"] = letter.source_pages
    if letter.place_written_id:
        item["publisher-place"] = letter.place_written.name
    return [item]


def schema_org(letter, permalink):
    """schema.org/Message description of a letter, for JSON-LD."""
    data = {
        "@context": "https://schema.org",
        "@type": "Message",
        "@id": permalink,
        "url": permalink,
        "name": letter.title,
        "inLanguage": letter.language,
        "sender": [_party(p) for p in letter.participations.all() if p.role == Participation.Role.SENDER],
        "recipient": [_party(p) for p in letter.participations.all() if p.role == Participation.Role.RECIPIENT],
    }
    if letter.date_from and letter.date_precision == letter.DatePrecision.DAY:
        data["dateCreated"] = letter.date_from.isoformat()
    elif letter.date_display:
        data["temporalCoverage"] = letter.date_display
    if letter.summary:
        data["abstract"] = letter.summary
    if letter.place_written_id:
        data["locationCreated"] = {"@type": "Place", "name": letter.place_written.name}
    if letter.source_id:
        data["isPartOf"] = {"@type": "CreativeWork", "name": letter.source.title}
    return data


def _party(participation):
    agent = participation.agent
    data = {"@type": "Person" if agent.is_person else "Organization", "name": agent.name}
    uris = agent.authority_uris()
    if uris:
        data["sameAs"] = uris
    return data


def record_schema_org(record, permalink):
    """schema.org description of a person, organisation or place page."""
    if hasattr(record, "latitude"):
        data = {"@context": "https://schema.org", "@type": "Place", "@id": permalink, "name": record.name}
        if record.latitude is not None and record.longitude is not None:
            data["geo"] = {
                "@type": "GeoCoordinates",
                "latitude": float(record.latitude),
                "longitude": float(record.longitude),
            }
    else:
        data = {
            "@context": "https://schema.org",
            "@type": "Person" if record.is_person else "Organization",
            "@id": permalink,
            "name": record.name,
        }
    variants = [variant.name for variant in record.variants.all()]
    if variants:
        data["alternateName"] = variants
    if record.authority_uris():
        data["sameAs"] = record.authority_uris()
    data["url"] = permalink
    return data


def json_ld(data):
    """JSON for a <script type="application/ld+json"> block, safe against </script> in the data."""
    text = json.dumps(data, ensure_ascii=False)
    return mark_safe(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S308


def open_graph(title, description, permalink, kind="article"):
    """The Open Graph tags of a page, escaped."""
    tags = {
        "og:type": kind,
        "og:title": title,
        "og:description": description,
        "og:url": permalink,
        "og:site_name": ARCHIVE_NAME,
    }
    return mark_safe(  # noqa: S308 - every value escaped
        "\n".join(f'<meta property="{escape(key)}" content="{escape(value)}">' for key, value in tags.items() if value)
    )
