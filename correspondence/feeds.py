"""
Atom feeds of newly published letters: the whole archive, one person or
organisation, one cited document. Only published letters, newest first.
"""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from .models import Agent, CitedDocument, Letter
from .xmltext import ExactXMLGenerator

FEED_LENGTH = 50


class ArchiveAtomFeed(Atom1Feed):
    """Atom that keeps the archive's text exactly (see :mod:`correspondence.xmltext`)."""

    def write(self, outfile, encoding):
        handler = ExactXMLGenerator(outfile, encoding, short_empty_elements=True)
        handler.startDocument()
        handler.startElement("feed", self.root_attributes())
        self.add_root_elements(handler)
        self.write_items(handler)
        handler.endElement("feed")


class LatestLettersFeed(Feed):
    feed_type = ArchiveAtomFeed
    title = _("Diplomatic correspondence archive: newly published letters")
    subtitle = _("Letters as they are published in the archive, newest first.")

    def link(self):
        return reverse("correspondence:letter_list")

    def letters(self, obj):
        return Letter.objects.published()

    def items(self, obj=None):
        return self.letters(obj).select_related("source").order_by("-published_at", "-pk")[:FEED_LENGTH]

    def item_title(self, letter):
        return letter.title

    def item_description(self, letter):
        # Atom readers read the summary as HTML: escape the archive's text so that it stays text.
        return escape(letter.summary or letter.title)

    def item_link(self, letter):
        return letter.get_absolute_url()

    def item_pubdate(self, letter):
        return letter.published_at or letter.created

    def item_updateddate(self, letter):
        return letter.modified


class AgentLettersFeed(LatestLettersFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Agent.objects.published(), slug=slug)

    def title(self, agent):
        return _("Letters of %(name)s") % {"name": agent.name}

    def link(self, agent):
        return agent.get_absolute_url()

    def letters(self, agent):
        return Letter.objects.published().filter(participations__agent=agent).distinct()


class CitedDocumentLettersFeed(LatestLettersFeed):
    def get_object(self, request, slug):
        return get_object_or_404(CitedDocument.objects.published(), slug=slug)

    def title(self, document):
        return _("Letters citing %(title)s") % {"title": document.title}

    def link(self, document):
        return document.get_absolute_url()

    def letters(self, document):
        return Letter.objects.published().filter(citations__cited_document=document).distinct()
