"""
The public pages audited for accessibility, HTML validity and Lighthouse scores.

One list for the browser tests (``test_accessibility.py``) and ``scripts/quality``,
so that both look at the same pages of the seed collection (``fixtures/seeds.json``).
Plain data: no Django import, so a shell script can read it.
"""

#: name -> path on the site, with the seed collection loaded.
AUDITED_PAGES = {
    "home": "/",
    "letter list (search and filters active)": "/letters/?q=mines&sender=jeyhun-bayramov&date_from=2021&date_to=2021-12",
    "letter": "/letters/onu-2021-02-22-bayramov-secretaire-general/",
    "person": "/people/jeyhun-bayramov/",
    "place": "/places/bakou/",
    "cited document": "/cited/csnu-resolution-822/",
    "source document": "/sources/onu-lettre-2021-02-23-azerbaidjan/",
}
