import time
import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from correspondence.charts import map_data, network_data, timeline_data
from correspondence.models import Letter, Agent

pytestmark = pytest.mark.django_db

def test_render():
    call_command("loaddata", "seeds", verbosity=0)
    letters = Letter.objects.published().with_people()
    with CaptureQueriesContext(connection) as q:
        t = timeline_data(letters); n = network_data(letters); m = map_data(letters)
        knape = Agent.objects.get(slug="anders-knape")
        nk = network_data(letters.filter(participations__agent=knape).distinct(), focus_agent=knape, chart_id="chart-network-knape")
    print(len(q.captured_queries))
    print(t["months"], t["years"])
    print([ (e["source"]["name"], e["target"]["name"], e["weight"]) for e in n["edges"]][:5])
    print([(p["name"], p["written"], p["mentioned"]) for p in m["places"]][:8])
    with translation.override("fr"):
        html = "".join(render_to_string(f"correspondence/snippets/chart_{k}.html", {"chart": c}) for k, c in (("timeline", t), ("network", n), ("network", nk), ("map", m)))
    page = f'''<!doctype html><html lang="fr"><head><meta charset="utf-8"><link rel="stylesheet" href="file:///work/main/static/css/archive.css"><link rel="stylesheet" href="file:///work/main/static/css/charts.css"></head><body><main class="site-main">{html}</main></body></html>'''
    open("/tmp/chartsx/seeds.html", "w").write(page)
    open("/tmp/chartsx/seeds-dark.html", "w").write(page.replace('<html lang="fr">', '<html lang="fr" class="dark">'))
