"""sitemap.xml: every published letter and authority record."""

from django.contrib.sitemaps import Sitemap

from .models import Agent, CitedDocument, Letter, Place, SourceDocument


class LetterSitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.8
    limit = 10000

    def items(self):
        return Letter.objects.published().only("slug", "modified").order_by("pk")

    def lastmod(self, letter):
        return letter.modified


class RecordSitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.5
    limit = 10000
    model = None

    def items(self):
        return self.model.objects.published().order_by("pk")

    def lastmod(self, record):
        return record.modified


def sitemaps():
    return {
        "letters": LetterSitemap,
        **{
            model._meta.model_name: type(f"{model.__name__}Sitemap", (RecordSitemap,), {"model": model})
            for model in (Agent, Place, CitedDocument, SourceDocument)
        },
    }
