"""Public URLs of the archive. They are permanent: change none once published."""

from django.contrib.sitemaps.views import sitemap
from django.urls import path

from correspondence import feeds, views
from correspondence.sitemaps import sitemaps

app_name = "correspondence"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("letters/", views.LetterListView.as_view(), name="letter_list"),
    path("letters/<slug:slug>/", views.LetterDetailView.as_view(), name="letter_detail"),
    path("letters/<slug:slug>/tei.xml", views.letter_tei, name="letter_tei"),
    path("cmif.xml", views.cmif_file, name="cmif"),
    path("feeds/letters.atom", feeds.LatestLettersFeed(), name="feed_letters"),
    path("feeds/people/<slug:slug>.atom", feeds.AgentLettersFeed(), name="feed_agent"),
    path("feeds/cited/<slug:slug>.atom", feeds.CitedDocumentLettersFeed(), name="feed_cited"),
    path("sitemap.xml", sitemap, {"sitemaps": sitemaps()}, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("people/", views.AgentListView.as_view(people=True), name="person_list"),
    path("people/<slug:slug>/", views.AgentDetailView.as_view(people=True), name="person_detail"),
    path("organisations/", views.AgentListView.as_view(people=False), name="organisation_list"),
    path("organisations/<slug:slug>/", views.AgentDetailView.as_view(people=False), name="organisation_detail"),
    path("places/", views.PlaceListView.as_view(), name="place_list"),
    path("places/<slug:slug>/", views.PlaceDetailView.as_view(), name="place_detail"),
    path("cited/", views.CitedDocumentListView.as_view(), name="citeddocument_list"),
    path("cited/<slug:slug>/", views.CitedDocumentDetailView.as_view(), name="citeddocument_detail"),
    path("sources/", views.SourceDocumentListView.as_view(), name="sourcedocument_list"),
    path("sources/<slug:slug>/", views.SourceDocumentDetailView.as_view(), name="sourcedocument_detail"),
    path("sources/<slug:slug>/text/", views.source_text, name="sourcedocument_text"),
]
