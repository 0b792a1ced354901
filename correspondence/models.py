"""
The archive's domain: letters (and the other items found in the sources),
the people, organisations and places they involve, the documents they cite
and the published source documents that carry them.

Names as written in a source are kept on the record that quotes them
(``Participation.name_as_written``, ``Mention.name_as_written``,
``Letter.place_as_written``); authority records (``Agent``, ``Place``)
carry the preferred form and every variant, so that a search for one
spelling finds them all.
"""

import calendar
import datetime
import re
import unicodedata

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

WIKIDATA_VALIDATOR = RegexValidator(r"^Q[1-9][0-9]*$", _("A Wikidata identifier looks like Q42."))
VIAF_VALIDATOR = RegexValidator(r"^[1-9][0-9]{0,21}$", _("A VIAF identifier is a number, e.g. 102333412."))
GND_VALIDATOR = RegexValidator(
    r"^(1[0-3]?[0-9]{7}[0-9X]|[47][0-9]{6}-[0-9]|[1-9][0-9]{0,7}-[0-9X]|3[0-9]{7}[0-9X])$",
    _("A GND identifier looks like 118540238 or 4005728-8."),
)
GEONAMES_VALIDATOR = RegexValidator(r"^[1-9][0-9]{0,9}$", _("A GeoNames identifier is a number, e.g. 2988507."))


def validate_isni(value):
    """ISNI: 16 characters, the last a ISO 7064 MOD 11-2 check character."""
    compact = value.replace(" ", "")
    if not re.fullmatch(r"[0-9]{15}[0-9X]", compact):
        raise ValidationError(_("An ISNI has 16 characters, e.g. 0000 0001 2103 2683."), code="invalid")
    total = 0
    for digit in compact[:15]:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if compact[15] != expected:
        raise ValidationError(_("This ISNI's check character is wrong: check for a typing error."), code="checksum")


def fold(text):
    """Case- and accent-folded form of a name, for matching variants."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ə", "e").replace("Ə", "E").replace("ı", "i"))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


class PublicationStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    REVIEW = "review", _("in review")
    PUBLISHED = "published", _("published")


class SlugManager(models.Manager):
    """Authority records and letters are found in fixtures by their slug."""

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class AuthorityRecord(models.Model):
    """What people, organisations, places and cited documents share."""

    slug = models.SlugField(
        _("identifier"),
        max_length=120,
        unique=True,
        help_text=_("Permanent identifier used in public URLs, e.g. anders-knape. Never change it once published."),
    )
    note = models.TextField(_("note"), blank=True, help_text=_("Short neutral note for readers."))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=PublicationStatus,
        default=PublicationStatus.PUBLISHED,
        help_text=_("Only published records appear on the public site."),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Set by a merge: this record's links moved to that one, and its URL redirects there."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("last changed"), auto_now=True)

    objects = SlugManager()

    class Meta:
        abstract = True

    def natural_key(self):
        return (self.slug,)


class AgentQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PublicationStatus.PUBLISHED, merged_into__isnull=True)

    def people(self):
        return self.filter(kind=Agent.Kind.PERSON)

    def organisations(self):
        return self.exclude(kind=Agent.Kind.PERSON)


class AgentManager(SlugManager.from_queryset(AgentQuerySet)):
    pass


class Agent(AuthorityRecord):
    """A person, an organisation or a group of people acting together."""

    class Kind(models.TextChoices):
        PERSON = "person", _("person")
        ORGANISATION = "organisation", _("organisation")
        GROUP = "group", _("group of people")

    name = models.CharField(
        _("preferred name"),
        max_length=300,
        help_text=_("The name under which the record is filed, e.g. Anders Knape. Variants go below."),
    )
    sort_name = models.CharField(
        _("sort name"),
        max_length=300,
        blank=True,
        help_text=_("Optional form for alphabetical lists, e.g. Knape, Anders."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.PERSON)
    wikidata = models.CharField(
        _("Wikidata"), max_length=20, blank=True, validators=[WIKIDATA_VALIDATOR], help_text=_("e.g. Q42")
    )
    viaf = models.CharField(_("VIAF"), max_length=22, blank=True, validators=[VIAF_VALIDATOR])
    gnd = models.CharField(_("GND"), max_length=20, blank=True, validators=[GND_VALIDATOR])
    isni = models.CharField(_("ISNI"), max_length=19, blank=True, validators=[validate_isni])

    objects = AgentManager()

    class Meta:
        verbose_name = _("person or organisation")
        permissions = [
            ("publish_agent", _("Can publish and unpublish people and organisations")),
            ("merge_agent", _("Can merge people and organisations")),
        ]
        verbose_name_plural = _("people and organisations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["person", "organisation", "group"]), name="agent_kind_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="agent_name_not_empty"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        if self.kind == self.Kind.PERSON:
            return reverse("correspondence:person_detail", kwargs={"slug": self.slug})
        return reverse("correspondence:organisation_detail", kwargs={"slug": self.slug})

    @property
    def is_person(self):
        return self.kind == self.Kind.PERSON

    def authority_uris(self):
        uris = []
        if self.wikidata:
            uris.append(f"https://www.wikidata.org/entity/{self.wikidata}")
        if self.viaf:
            uris.append(f"https://viaf.org/viaf/{self.viaf}")
        if self.gnd:
            uris.append(f"https://d-nb.info/gnd/{self.gnd}")
        if self.isni:
            uris.append(f"https://isni.org/isni/{self.isni.replace(' ', '')}")
        return uris


class VariantManager(models.Manager):
    def get_by_natural_key(self, owner_slug, name):
        return self.get(**{f"{self.model.owner_field}__slug": owner_slug, "name": name})


class AgentName(models.Model):
    """A form of a person's or organisation's name found in a source."""

    owner_field = "agent"

    agent = models.ForeignKey(  # db_index: agentname_unique_per_agent (agent, name) serves
        Agent,
        verbose_name=_("person or organisation"),
        on_delete=models.CASCADE,
        related_name="variants",
        db_index=False,
    )
    name = models.CharField(_("name as written"), max_length=300, help_text=_("Spelled exactly as in the source."))
    note = models.CharField(
        _("where found"), max_length=300, blank=True, help_text=_("e.g. the source document that uses this form.")
    )

    objects = VariantManager()

    class Meta:
        verbose_name = _("name variant")
        verbose_name_plural = _("name variants")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["agent", "name"], name="agentname_unique_per_agent")]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.agent.slug, self.name)

    natural_key.dependencies = ["correspondence.agent"]


class PlaceQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PublicationStatus.PUBLISHED, merged_into__isnull=True)


class PlaceManager(SlugManager.from_queryset(PlaceQuerySet)):
    pass


class Place(AuthorityRecord):
    """A city, district, region, country or site, with its spellings."""

    class Kind(models.TextChoices):
        CITY = "city", _("city or town")
        DISTRICT = "district", _("district")
        REGION = "region", _("region")
        COUNTRY = "country", _("country")
        SITE = "site", _("site or building")

    name = models.CharField(_("preferred name"), max_length=200, help_text=_("e.g. Gandja. Variants go below."))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.CITY)
    country = models.ForeignKey(
        "self",
        verbose_name=_("country"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"kind": "country"},
        help_text=_("The country it lies in today; empty for a country or a disputed region."),
    )
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    geonames = models.CharField(_("GeoNames"), max_length=12, blank=True, validators=[GEONAMES_VALIDATOR])
    wikidata = models.CharField(_("Wikidata"), max_length=20, blank=True, validators=[WIKIDATA_VALIDATOR])

    objects = PlaceManager()

    class Meta:
        verbose_name = _("place")
        permissions = [("publish_place", _("Can publish and unpublish places")), ("merge_place", _("Can merge places"))]
        verbose_name_plural = _("places")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["city", "district", "region", "country", "site"]), name="place_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="place_coordinates_valid",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="place_name_not_empty"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("correspondence:place_detail", kwargs={"slug": self.slug})

    def authority_uris(self):
        uris = []
        if self.geonames:
            uris.append(f"https://sws.geonames.org/{self.geonames}/")
        if self.wikidata:
            uris.append(f"https://www.wikidata.org/entity/{self.wikidata}")
        return uris


class PlaceName(models.Model):
    """A spelling of a place found in a source (Bərdə, Barda...)."""

    owner_field = "place"

    place = models.ForeignKey(  # db_index: placename_unique_per_place (place, name) serves
        Place, verbose_name=_("place"), on_delete=models.CASCADE, related_name="variants", db_index=False
    )
    name = models.CharField(_("name as written"), max_length=200, help_text=_("Spelled exactly as in the source."))
    note = models.CharField(_("where found"), max_length=300, blank=True)

    objects = VariantManager()

    class Meta:
        verbose_name = _("place name variant")
        verbose_name_plural = _("place name variants")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["place", "name"], name="placename_unique_per_place")]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.place.slug, self.name)

    natural_key.dependencies = ["correspondence.place"]


class CitedDocumentQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PublicationStatus.PUBLISHED, merged_into__isnull=True)


class CitedDocumentManager(SlugManager.from_queryset(CitedDocumentQuerySet)):
    pass


class CitedDocument(AuthorityRecord):
    """A resolution, convention, declaration, report... that letters cite."""

    class Kind(models.TextChoices):
        RESOLUTION = "resolution", _("resolution")
        CONVENTION = "convention", _("convention or treaty")
        PROTOCOL = "protocol", _("protocol")
        DECLARATION = "declaration", _("declaration")
        CHARTER = "charter", _("charter")
        REPORT = "report", _("report")
        AGREEMENT = "agreement", _("agreement")
        DECISION = "decision", _("decision")
        PROGRAMME = "programme", _("programme")
        REGULATION = "regulation", _("rules and regulations")
        OTHER = "other", _("other")

    title = models.CharField(_("title"), max_length=500, help_text=_("The document's own title, in French."))
    kind = models.CharField(_("type"), max_length=20, choices=Kind, default=Kind.RESOLUTION)
    issuing_body = models.ForeignKey(
        Agent,
        verbose_name=_("issuing body"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issued_documents",
    )
    symbol = models.CharField(
        _("number or symbol"), max_length=100, blank=True, help_text=_("As issued, e.g. S/RES/822 (1993).")
    )
    date = models.DateField(_("date"), null=True, blank=True, help_text=_("Date of adoption or signature, if known."))
    year = models.PositiveSmallIntegerField(
        _("year"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1000), MaxValueValidator(2999)],
        help_text=_("Year of adoption, when the full date is not known."),
    )
    url = models.URLField(_("official text"), blank=True, help_text=_("Link to the official text, where one exists."))

    objects = CitedDocumentManager()

    class Meta:
        verbose_name = _("cited document")
        permissions = [("publish_citeddocument", _("Can publish and unpublish cited documents"))]
        verbose_name_plural = _("cited documents")
        ordering = ["year", "symbol", "title"]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="citeddocument_title_not_empty"),
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1000, year__lte=2999), name="citeddocument_year_valid"
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("correspondence:citeddocument_detail", kwargs={"slug": self.slug})


class SourceDocumentQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PublicationStatus.PUBLISHED, merged_into__isnull=True)


class SourceDocumentManager(SlugManager.from_queryset(SourceDocumentQuerySet)):
    pass


class SourceDocument(AuthorityRecord):
    """A published document that carries one or more items of the archive."""

    title = models.CharField(_("title"), max_length=500, help_text=_("Neutral descriptive title."))
    symbol = models.CharField(
        _("symbol"),
        max_length=100,
        blank=True,
        help_text=_("The document's symbol, where stated, e.g. CG-BUR(2020)35-INF56."),
    )
    issuing_body = models.ForeignKey(
        Agent,
        verbose_name=_("issuing body"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="source_documents",
    )
    date = models.DateField(_("date"), null=True, blank=True)
    year = models.PositiveSmallIntegerField(
        _("year"), null=True, blank=True, validators=[MinValueValidator(1000), MaxValueValidator(2999)]
    )
    date_as_written = models.CharField(_("date as written"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, default="fr", help_text=_("ISO 639-1 code, e.g. fr."))
    source_file = models.CharField(
        _("source text file"),
        max_length=200,
        blank=True,
        help_text=_("File name of the text this record was transcribed from, in fixtures/sources/."),
    )
    source_sha256 = models.CharField(
        _("SHA-256 of the source text"),
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^[0-9a-f]{64}$", _("64 lowercase hexadecimal characters."))],
    )
    editorial_note = models.TextField(
        _("editorial note"),
        blank=True,
        help_text=_("How the text was established: what was treated as page furniture, corrected extraction errors."),
    )

    objects = SourceDocumentManager()

    class Meta:
        verbose_name = _("source document")
        permissions = [("publish_sourcedocument", _("Can publish and unpublish source documents"))]
        verbose_name_plural = _("source documents")
        ordering = ["year", "title"]

    def __str__(self):
        return f"{self.symbol} — {self.title}" if self.symbol else self.title

    def get_absolute_url(self):
        return reverse("correspondence:sourcedocument_detail", kwargs={"slug": self.slug})

    def get_source_text_url(self):
        return reverse("correspondence:sourcedocument_text", kwargs={"slug": self.slug})


class LetterQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PublicationStatus.PUBLISHED)

    def unpublished(self):
        """Drafts and letters in review, by name (an index range each; "not published" reads every letter)."""
        return self.filter(status__in=[status for status in PublicationStatus if status != PublicationStatus.PUBLISHED])

    def is_every_published_letter(self):
        """
        Whether these are the published letters, with no other condition (the
        public list before any filter): what is counted over them can then be
        read from indexes alone, every row less those of unpublished letters.
        """
        return self.model is Letter and self.query.where == Letter.objects.published().query.where

    def with_people(self):
        """Everything a list row shows, in a fixed number of queries."""
        return self.select_related("place_written", "source").prefetch_related(
            models.Prefetch(
                "participations",
                queryset=Participation.objects.select_related("agent", "on_behalf_of").order_by("role", "position"),
            )
        )

    def with_everything(self):
        """Everything the letter page shows, in a fixed number of queries."""
        return (
            self.with_people()
            .select_related("in_reply_to", "annex_of")
            .prefetch_related(
                "paragraphs",
                "footnotes",
                models.Prefetch("citations", queryset=Citation.objects.select_related("cited_document")),
                models.Prefetch("mentions", queryset=Mention.objects.select_related("agent", "place")),
                models.Prefetch("replies", queryset=Letter.objects.published().order_by("date_from")),
                models.Prefetch("annexes", queryset=Letter.objects.published().order_by("source_position")),
            )
        )


class LetterManager(SlugManager.from_queryset(LetterQuerySet)):
    pass


class Letter(models.Model):
    """A letter, or another item found in a source: reply, annex, report, note verbale..."""

    class Kind(models.TextChoices):
        LETTER = "letter", _("letter")
        REPLY = "reply", _("reply")
        COVERING_LETTER = "covering_letter", _("covering letter")
        ANNEX = "annex", _("annex")
        REPORT = "report", _("report")
        NOTE_VERBALE = "note_verbale", _("note verbale")
        STATEMENT = "statement", _("statement")

    class DatePrecision(models.TextChoices):
        DAY = "day", _("day")
        MONTH = "month", _("month")
        YEAR = "year", _("year")
        RANGE = "range", _("range")
        UNKNOWN = "unknown", _("undated")

    class DateCertainty(models.TextChoices):
        EXACT = "exact", _("exact")
        APPROXIMATE = "approximate", _("approximate")
        INFERRED = "inferred", _("inferred")
        UNCERTAIN = "uncertain", _("uncertain")

    slug = models.SlugField(
        _("permanent identifier"),
        max_length=120,
        unique=True,
        help_text=_("Used in the permalink /letters/<identifier>/. Never change it once published."),
    )
    title = models.CharField(
        _("title"),
        max_length=500,
        help_text=_("Neutral descriptive title: kind, from whom, to whom, date. No judgement."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.LETTER)

    date_from = models.DateField(
        _("date (not before)"),
        null=True,
        blank=True,
        help_text=_("The earliest day the item can date from: the day itself for an exact date, the 1st for a month."),
    )
    date_to = models.DateField(
        _("date (not after)"),
        null=True,
        blank=True,
        help_text=_(
            "The latest day: equal to the first for an exact date, the last day of the month or year otherwise."
        ),
    )
    date_precision = models.CharField(
        _("date precision"), max_length=10, choices=DatePrecision, default=DatePrecision.DAY
    )
    date_certainty = models.CharField(
        _("date certainty"), max_length=12, choices=DateCertainty, default=DateCertainty.EXACT
    )
    date_as_written = models.CharField(
        _("date as written"), max_length=200, blank=True, help_text=_("Exactly as in the source, e.g. 20 octobre 2020.")
    )

    place_written = models.ForeignKey(
        Place,
        verbose_name=_("place of writing"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="letters_written",
    )
    place_as_written = models.CharField(
        _("place as written"), max_length=200, blank=True, help_text=_("e.g. Ville de Nakhitchevan.")
    )
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("Reference number as written, e.g. N° 05/1.")
    )
    language = models.CharField(_("language"), max_length=10, default="fr", help_text=_("ISO 639-1 code, e.g. fr."))
    translation_note = models.CharField(
        _("translation note"), max_length=200, blank=True, help_text=_("As written, e.g. Traduction non officielle.")
    )
    summary = models.TextField(_("summary"), blank=True, help_text=_("Short neutral summary in the archive's words."))
    enclosures = models.CharField(
        _("enclosures"), max_length=300, blank=True, help_text=_("As described, e.g. PJ : photos.")
    )
    letterhead = models.TextField(
        _("letterhead and address block"),
        blank=True,
        help_text=_("Letterhead, addresses and contact details as printed, one line each."),
    )
    editorial_note = models.TextField(_("editorial note"), blank=True)

    source = models.ForeignKey(
        SourceDocument,
        verbose_name=_("source document"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="items",
    )
    source_pages = models.CharField(
        _("pages"), max_length=40, blank=True, help_text=_("Page range in the source, e.g. 2-4.")
    )
    source_position = models.PositiveSmallIntegerField(
        _("position in source"), default=1, help_text=_("Order of the item within its source document, from 1.")
    )
    in_reply_to = models.ForeignKey(
        "self",
        verbose_name=_("in reply to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
    )
    annex_of = models.ForeignKey(
        "self",
        verbose_name=_("annexed to / transmitted with"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="annexes",
        help_text=_("The letter that transmits this item as its annex."),
    )

    status = models.CharField(_("status"), max_length=10, choices=PublicationStatus, default=PublicationStatus.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("last changed"), auto_now=True)

    objects = LetterManager()

    class Meta:
        verbose_name = _("letter")
        permissions = [("publish_letter", _("Can publish and unpublish letters"))]
        verbose_name_plural = _("letters")
        ordering = ["date_from", "source_position", "slug"]
        indexes = [
            # The list in date order; with date_to, the timeline of the whole archive from the index alone.
            models.Index(fields=["status", "date_from", "date_to"], name="letter_status_dates_idx"),
            models.Index(fields=["date_to"], name="letter_date_to_idx"),
            # A record's or a letter's published letters in date order, from the index alone:
            # without them SQLite prefers letter_status_dates_idx and reads the whole archive.
            models.Index(fields=["place_written", "status", "date_from"], name="letter_place_status_date_idx"),
            models.Index(fields=["in_reply_to", "status", "date_from"], name="letter_reply_status_date_idx"),
            models.Index(fields=["annex_of", "status", "source_position"], name="letter_annex_status_pos_idx"),
            # Facet counts of the whole archive, from the index alone (LetterFilterSet.facet).
            models.Index(fields=["status", "kind"], name="letter_status_kind_idx"),
            models.Index(fields=["status", "language"], name="letter_status_language_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(in_reply_to=models.F("pk")), name="letter_not_reply_to_itself"),
            models.CheckConstraint(condition=~Q(annex_of=models.F("pk")), name="letter_not_annex_of_itself"),
            models.CheckConstraint(
                condition=Q(date_from__isnull=True) | Q(date_to__isnull=True) | Q(date_from__lte=models.F("date_to")),
                name="letter_date_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(date_precision__in=["day", "month", "year", "range", "unknown"]),
                name="letter_date_precision_valid",
            ),
            models.CheckConstraint(
                condition=Q(date_certainty__in=["exact", "approximate", "inferred", "uncertain"]),
                name="letter_date_certainty_valid",
            ),
            models.CheckConstraint(
                condition=~Q(date_precision="day") | Q(date_from=models.F("date_to")),
                name="letter_day_precision_single_day",
            ),
            models.CheckConstraint(
                condition=Q(date_precision="unknown") | Q(date_from__isnull=False, date_to__isnull=False),
                name="letter_dated_has_bounds",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="letter_title_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "review", "published"]), name="letter_status_valid"
            ),
            models.UniqueConstraint(fields=["source", "source_position"], name="letter_unique_position_in_source"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("correspondence:letter_detail", kwargs={"slug": self.slug})

    def natural_key(self):
        return (self.slug,)

    @property
    def is_published(self):
        return self.status == PublicationStatus.PUBLISHED

    @property
    def date_display(self):
        """The normalised date as a reader reads it: 2020-10-20, 2020-10, 2020, or a range."""
        if self.date_from is None:
            return ""
        if self.date_precision == self.DatePrecision.DAY:
            return self.date_from.isoformat()
        if self.date_precision == self.DatePrecision.MONTH:
            return self.date_from.strftime("%Y-%m")
        if self.date_precision == self.DatePrecision.YEAR:
            return str(self.date_from.year)
        return f"{self.date_from.isoformat()}/{self.date_to.isoformat()}"

    def clean(self):
        errors = {}
        if self.date_from and self.date_to and self.date_from > self.date_to:
            errors["date_to"] = _("The latest date cannot come before the earliest date.")
        if self.date_precision != self.DatePrecision.UNKNOWN and self.date_from:
            expected = span_for_precision(self.date_from, self.date_precision)
            if expected and self.date_to is None:
                self.date_to = expected[1]
            elif expected and (self.date_from, self.date_to) != expected:
                errors["date_to"] = _(
                    "For a date precise to the %(precision)s, the dates must span exactly that %(precision)s "
                    "(%(start)s to %(end)s)."
                ) % {"precision": self.get_date_precision_display(), "start": expected[0], "end": expected[1]}
        if self.date_precision != self.DatePrecision.UNKNOWN and not self.date_from:
            errors["date_from"] = _("Give the earliest date, or set the precision to undated.")
        if self.status == PublicationStatus.PUBLISHED and self.date_precision == self.DatePrecision.UNKNOWN:
            errors["date_precision"] = _("A published letter needs a date, even an approximate one.")
        if self.pk and self.in_reply_to_id == self.pk:
            errors["in_reply_to"] = _("A letter cannot answer itself.")
        if self.pk and self.annex_of_id == self.pk:
            errors["annex_of"] = _("A letter cannot be its own annex.")
        if (
            self.in_reply_to
            and self.in_reply_to.date_from
            and self.date_to
            and self.date_to < self.in_reply_to.date_from
        ):
            errors["in_reply_to"] = _("A reply cannot predate the letter it answers.")
        if errors:
            raise ValidationError(errors)


def span_for_precision(day, precision):
    """First and last day covered by a date known to the given precision."""
    if precision == Letter.DatePrecision.DAY:
        return (day, day)
    if precision == Letter.DatePrecision.MONTH:
        last = calendar.monthrange(day.year, day.month)[1]
        return (day.replace(day=1), day.replace(day=last))
    if precision == Letter.DatePrecision.YEAR:
        return (datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31))
    return None


class LetterPartManager(models.Manager):
    def get_by_natural_key(self, letter_slug, *rest):
        return self.get(letter__slug=letter_slug, **dict(zip(self.model.natural_key_fields, rest, strict=True)))


class Participation(models.Model):
    """Who sent, signed, received or was copied a letter, under what title."""

    class Role(models.TextChoices):
        SENDER = "sender", _("sender")
        SIGNATORY = "signatory", _("signatory")
        RECIPIENT = "recipient", _("recipient")
        COPY = "copy", _("copy to")

    natural_key_fields = ("agent__slug", "role")

    # No index of their own: participation_unique_role (letter, ...) and participation_agent_letter_idx
    # (agent, letter) serve lookups by letter and by person (one index fewer to write per row).
    letter = models.ForeignKey(
        Letter, verbose_name=_("letter"), on_delete=models.CASCADE, related_name="participations", db_index=False
    )
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("person or organisation"),
        on_delete=models.PROTECT,
        related_name="participations",
        db_index=False,
    )
    role = models.CharField(_("role"), max_length=12, choices=Role)
    name_as_written = models.CharField(
        _("name as written"),
        max_length=300,
        blank=True,
        help_text=_("Exactly as in this letter, e.g. M. Anders Knape."),
    )
    title_as_written = models.CharField(
        _("title as written"),
        max_length=500,
        blank=True,
        help_text=_(
            "Title or function as written in this letter, e.g. Président du Congrès des pouvoirs locaux et régionaux."
        ),
    )
    on_behalf_of = models.ForeignKey(
        Agent,
        verbose_name=_("on behalf of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="participations_on_behalf",
        help_text=_("The organisation this person wrote or received for."),
    )
    inferred = models.BooleanField(
        _("identified by the archive"),
        default=False,
        help_text=_("Tick when the letter does not name this party and the archive identified it."),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1, help_text=_("Order within the role, from 1."))

    objects = LetterPartManager()

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        ordering = ["letter", "role", "position"]
        # Facet counts of the whole archive from the index alone: letters per sender or recipient,
        # distinct letters per person in any role (LetterFilterSet.facet).
        indexes = [
            models.Index(fields=["role", "agent", "letter"], name="participation_role_agent_idx"),
            models.Index(fields=["agent", "letter"], name="participation_agent_letter_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["letter", "agent", "role"], name="participation_unique_role"),
            models.CheckConstraint(
                condition=Q(role__in=["sender", "signatory", "recipient", "copy"]), name="participation_role_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_role_display()}: {self.agent}"

    def natural_key(self):
        return (self.letter.slug, self.agent.slug, self.role)

    natural_key.dependencies = ["correspondence.letter", "correspondence.agent"]

    @property
    def shown_name(self):
        return self.name_as_written or self.agent.name


class Paragraph(models.Model):
    """One paragraph of a transcription, in the order of the source."""

    class Kind(models.TextChoices):
        HEADING = "heading", _("heading")
        OPENING = "opening", _("salutation")
        BODY = "body", _("body")
        LIST_ITEM = "list_item", _("list item")
        CLOSING = "closing", _("closing")
        SIGNATURE = "signature", _("signature block")
        ADDRESS = "address", _("address or recipient block")
        DATELINE = "dateline", _("place, date and reference line")
        POSTSCRIPT = "postscript", _("enclosures and copies")

    natural_key_fields = ("position",)

    letter = models.ForeignKey(  # db_index: paragraph_unique_position (letter, position) serves
        Letter, verbose_name=_("letter"), on_delete=models.CASCADE, related_name="paragraphs", db_index=False
    )
    position = models.PositiveIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind, default=Kind.BODY)
    text = models.TextField(
        _("text"), help_text=_("The words of the source, in order. One paragraph; no line breaks from the PDF.")
    )
    page = models.CharField(_("page"), max_length=10, blank=True, help_text=_("Page of the source where it begins."))

    objects = LetterPartManager()

    class Meta:
        verbose_name = _("paragraph")
        verbose_name_plural = _("paragraphs")
        ordering = ["letter", "position"]
        constraints = [
            models.UniqueConstraint(fields=["letter", "position"], name="paragraph_unique_position"),
            models.CheckConstraint(condition=~Q(text=""), name="paragraph_text_not_empty"),
        ]

    def __str__(self):
        return f"§{self.position}: {self.text[:60]}"

    def natural_key(self):
        return (self.letter.slug, self.position)

    natural_key.dependencies = ["correspondence.letter"]


class Footnote(models.Model):
    """A note of the source, anchored after a word of a paragraph."""

    natural_key_fields = ("marker",)

    letter = models.ForeignKey(  # db_index: footnote_unique_marker (letter, marker) serves
        Letter, verbose_name=_("letter"), on_delete=models.CASCADE, related_name="footnotes", db_index=False
    )
    marker = models.CharField(_("marker"), max_length=10, help_text=_("The call sign as printed, e.g. 2."))
    paragraph = models.ForeignKey(
        Paragraph,
        verbose_name=_("paragraph"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="footnotes",
    )
    anchor = models.CharField(
        _("anchor word"), max_length=100, blank=True, help_text=_("The word the call sign follows, e.g. garantie.")
    )
    text = models.TextField(_("text"))

    objects = LetterPartManager()

    class Meta:
        verbose_name = _("footnote")
        verbose_name_plural = _("footnotes")
        ordering = ["letter", "marker"]
        constraints = [models.UniqueConstraint(fields=["letter", "marker"], name="footnote_unique_marker")]

    def __str__(self):
        return f"{self.marker}. {self.text[:60]}"

    def natural_key(self):
        return (self.letter.slug, self.marker)

    natural_key.dependencies = ["correspondence.letter"]


class Citation(models.Model):
    """A letter citing a document, with the exact words that cite it."""

    natural_key_fields = ("cited_document__slug", "position")

    # No index of their own: citation_unique (letter, ...) and citation_document_letter_idx (cited_document,
    # letter) serve lookups by letter and by document.
    letter = models.ForeignKey(
        Letter, verbose_name=_("letter"), on_delete=models.CASCADE, related_name="citations", db_index=False
    )
    cited_document = models.ForeignKey(
        CitedDocument,
        verbose_name=_("cited document"),
        on_delete=models.PROTECT,
        related_name="citations",
        db_index=False,
    )
    quote = models.TextField(
        _("words that cite it"), help_text=_("Exactly as written, e.g. les résolutions 822, 853, 874, 884 de 1993.")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)

    objects = LetterPartManager()

    class Meta:
        verbose_name = _("citation")
        verbose_name_plural = _("citations")
        ordering = ["letter", "position", "cited_document"]
        # Distinct letters per cited document, from the index alone (LetterFilterSet.facet).
        indexes = [models.Index(fields=["cited_document", "letter"], name="citation_document_letter_idx")]
        constraints = [
            models.UniqueConstraint(fields=["letter", "cited_document", "position"], name="citation_unique"),
        ]

    def __str__(self):
        return f"{self.letter} → {self.cited_document}"

    def natural_key(self):
        return (self.letter.slug, self.cited_document.slug, self.position)

    natural_key.dependencies = ["correspondence.letter", "correspondence.citeddocument"]


class Mention(models.Model):
    """A person, organisation or place named in a letter, as written there."""

    natural_key_fields = ("agent__slug", "place__slug")

    letter = models.ForeignKey(  # db_index: mention_unique_agent (letter, agent) serves
        Letter, verbose_name=_("letter"), on_delete=models.CASCADE, related_name="mentions", db_index=False
    )
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("person or organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mentions",
    )
    place = models.ForeignKey(
        Place, verbose_name=_("place"), null=True, blank=True, on_delete=models.PROTECT, related_name="mentions"
    )
    name_as_written = models.CharField(
        _("name as written"), max_length=300, blank=True, help_text=_("As in this letter, e.g. Gandja.")
    )

    objects = LetterPartManager()

    class Meta:
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        ordering = ["letter", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agent__isnull=False, place__isnull=True) | Q(agent__isnull=True, place__isnull=False),
                name="mention_names_one_agent_or_place",
            ),
            models.UniqueConstraint(fields=["letter", "agent"], name="mention_unique_agent"),
            models.UniqueConstraint(fields=["letter", "place"], name="mention_unique_place"),
        ]

    def __str__(self):
        return str(self.agent or self.place)

    def natural_key(self):
        return (
            self.letter.slug,
            self.agent.slug if self.agent_id else None,
            self.place.slug if self.place_id else None,
        )

    natural_key.dependencies = ["correspondence.letter", "correspondence.agent", "correspondence.place"]

    def clean(self):
        if bool(self.agent_id) == bool(self.place_id):
            raise ValidationError(_("A mention names either a person or organisation, or a place: exactly one."))


# ---------------------------------------------------------------------------
# Full-text search (written only by correspondence.search; see its docstring)
# ---------------------------------------------------------------------------


class LetterSearchText(models.Model):
    """
    The words of a letter and of the records linked to it, gathered in one row
    for full-text search.

    Written only by ``correspondence.search.index_letters`` (from signals and
    the ``rebuild_search_index`` command); never edit it by hand. Each database
    indexes it its own way (migration 0003): on PostgreSQL a trigger fills
    ``vector``, indexed with GIN; on SQLite triggers mirror the text columns
    into the FTS5 table ``correspondence_letter_fts``. A SQLite migration that
    remakes this table drops those triggers: recreate them in the same migration.
    """

    letter = models.OneToOneField(
        Letter,
        verbose_name=_("letter"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="search_text",
    )
    title = models.TextField(_("title"), blank=True, help_text=_("Title, reference and date as written."))
    names = models.TextField(
        _("names"),
        blank=True,
        help_text=_("People, organisations and places linked to the letter, as filed and as written."),
    )
    summary = models.TextField(_("summary"), blank=True, help_text=_("The archive's summary."))
    text = models.TextField(
        _("text"),
        blank=True,
        help_text=_("Summary, transcription, footnotes, notes and cited documents: what search results quote."),
    )
    vector = SearchVectorField(
        _("search vector"), null=True, editable=False, help_text=_("PostgreSQL only, filled by a trigger.")
    )

    class Meta:
        verbose_name = _("letter search text")
        verbose_name_plural = _("letter search texts")
        ordering = ["letter"]

    def __str__(self):
        return self.title


class SpellingKey(models.Model):
    """
    One spelling of a person's, organisation's or place's name, folded to a key
    (lower case, no accents, words separated by single spaces), so that a
    search word finds the record however it is written. Written only by
    ``correspondence.search.index_spellings``.
    """

    key = models.CharField(_("folded key"), max_length=400, db_index=True, help_text=_("e.g. haut karabagh"))
    spelling = models.CharField(_("spelling"), max_length=400, help_text=_("As recorded, e.g. Haut-Karabagh."))
    surname = models.BooleanField(
        _("surname only"), default=False, help_text=_("The last word of a person's name, e.g. Knape.")
    )
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("person or organisation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    place = models.ForeignKey(
        Place, verbose_name=_("place"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("spelling key")
        verbose_name_plural = _("spelling keys")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agent__isnull=False, place__isnull=True) | Q(agent__isnull=True, place__isnull=False),
                name="spellingkey_one_agent_or_place",
            ),
        ]

    def __str__(self):
        return self.spelling


class LetterFullTextRow(models.Model):
    """
    A row of the SQLite FTS5 table ``correspondence_letter_fts`` (created by
    migration 0003 on SQLite only; unmanaged). It exists so that the ORM can
    join the table: ``document`` is FTS5's hidden column named after the table,
    the one that ``MATCH``, ``bm25()`` and ``snippet()`` take; ``letter`` is an
    UNINDEXED copy of the rowid (see the migration for why the join uses it).
    """

    letter = models.OneToOneField(
        Letter,
        verbose_name=_("letter"),
        primary_key=True,
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="full_text_row",
    )
    document = models.TextField(_("document"), db_column="correspondence_letter_fts", editable=False)

    class Meta:
        managed = False
        db_table = "correspondence_letter_fts"
        verbose_name = _("full-text row")
        verbose_name_plural = _("full-text rows")

    def __str__(self):
        return str(self.pk)


from correspondence.facet_counts import FacetCount  # noqa: E402, F401  (registered with the app's models)
from correspondence.state import ArchiveState  # noqa: E402, F401  (registered with the app's models)
