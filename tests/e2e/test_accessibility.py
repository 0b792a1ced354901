"""
Accessibility and validity of the public pages, zero tolerance: no axe-core violation, no error
from the Nu HTML checker, every control reachable with the keyboard and visibly focused, and a
skip link first. The pages are those of tests/e2e/pages.py (scripts/quality audits the same).
"""

import pytest
from playwright.sync_api import expect

from correspondence.models import Letter
from tests.e2e.audits import check_html, describe_axe, run_axe
from tests.e2e.pages import AUDITED_PAGES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = pytest.mark.parametrize("path", AUDITED_PAGES.values(), ids=AUDITED_PAGES.keys())
#: The interface's languages, as a browser asks for them.
LOCALES = {"en": "en-GB", "fr": "fr-FR"}

#: What the keyboard can reach, as the browser decides it.
FOCUSABLE = """
    a[href], area[href], button, input:not([type=hidden]), select, textarea, summary, iframe,
    [tabindex], [contenteditable=""], [contenteditable=true]
"""

LIST_FOCUSABLE_JS = """
(selector) => {
    // Rendered, visible, not inert, and not in a closed <details> (reachable once it is opened).
    const shown = (el) => el.checkVisibility({visibilityProperty: true}) && !el.closest('[inert]');
    const found = [...document.querySelectorAll(selector)].filter(
        (el) => !el.disabled && el.tabIndex >= 0 && shown(el)
    );
    found.forEach((el, index) => el.setAttribute('data-e2e-focus', String(index)));
    return found.map((el) => describe(el));
    function describe(el) {
        const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim();
        return text ? `<${el.tagName.toLowerCase()}${el.id ? ' id=' + el.id : ''}> ${text.slice(0, 60)}`
            : el.outerHTML.slice(0, 160);
    }
}
"""

FOCUSED_JS = """
() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow && style.boxShadow !== 'none';
    const centreX = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
    const centreY = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
    const onTop = document.elementFromPoint(centreX, centreY);
    return {
        index: el.getAttribute('data-e2e-focus'),
        id: el.id,
        tag: el.tagName.toLowerCase(),
        text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 60),
        focusVisible: el.matches(':focus-visible'),
        indicator: outline || shadow,
        outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
        boxShadow: style.boxShadow,
        inViewport: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
            && box.top < innerHeight && box.left < innerWidth,
        uncovered: onTop !== null && (onTop === el || el.contains(onTop) || onTop.contains(el)),
        inMain: el.closest('main') !== null,
    };
}
"""


def console_errors(page):
    """
    Messages the browser logs as errors (CSP violations, failed scripts or styles) while the test
    runs. The icon is left to test_pages_have_an_icon: its request comes after the page has loaded.
    """
    errors = []

    def logged(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url', '')})")

    page.on("console", logged)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@PAGES
def test_page_has_no_axe_violations(site, open_page, screenshot, path):
    problems = []
    for language, locale in LOCALES.items():
        page = open_page(locale=locale, bypass_csp=True)
        errors = console_errors(page)
        response = page.goto(site.url(path))
        assert response.status == 200
        expect(page.locator("html")).to_have_attribute("lang", language)
        if language == "en":
            screenshot(page, path.strip("/") or "home")
        violations = run_axe(page)
        if violations:
            problems.append(f"axe-core, {path} ({language}):\n{describe_axe(violations)}")
        if errors:
            problems.append(f"{path} ({language}): the browser logged errors: {errors}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_pages_are_valid_html(site, open_page):
    """The HTML as served, in both languages, and a letter's page once the letter has been changed."""
    page = open_page()
    documents = {}
    for name, path in AUDITED_PAGES.items():
        for language, locale in LOCALES.items():
            response = page.context.request.get(site.url(path), headers={"Accept-Language": locale})
            assert response.status == 200, f"{path}: status {response.status}"
            documents[f"{name} ({language}) {path}"] = response.text()
    # Saved since it was loaded, as every letter a curator edits: dates of changes get microseconds.
    letter_path = AUDITED_PAGES["letter"]
    Letter.objects.get(slug=letter_path.strip("/").split("/")[-1]).save()
    response = page.context.request.get(site.url(letter_path))
    documents[f"letter, after a change {letter_path}"] = response.text()
    errors = {name: messages for name, messages in check_html(documents).items() if messages}
    report = "\n".join(
        f"{name}:\n" + "\n".join(f"  - {message}" for message in messages) for name, messages in errors.items()
    )
    assert not errors, f"The Nu HTML checker found errors:\n{report}"


def test_pages_have_an_icon(site, open_page):
    """Without one, every first visit logs a 404 for /favicon.ico (Lighthouse's best practices count it)."""
    page = open_page()
    for path in ("/", AUDITED_PAGES["letter"]):
        page.goto(site.url(path))
        icon = page.locator("link[rel~='icon']")
        href = icon.first.get_attribute("href") if icon.count() else "/favicon.ico"
        response = page.context.request.get(site.url(href) if href.startswith("/") else href)
        assert response.status == 200, f"{path}: the icon {href} answers {response.status}"
        assert response.headers["content-type"].startswith("image/"), response.headers["content-type"]


@PAGES
def test_keyboard_reaches_a_skip_link_first_then_every_control_visibly_focused(site, open_page, path):
    page = open_page()
    page.goto(site.url(path))

    # The first Tab lands on a visible skip link; Enter moves the focus to main, the next Tab stays in it.
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED_JS)
    assert first is not None, "Tab focuses nothing"
    expect(page.locator(":focus")).to_have_attribute("href", "#main")
    assert first["inViewport"] and first["uncovered"], f"the skip link is not visible when focused: {first}"
    assert first["indicator"], f"the skip link has no visible focus indicator: {first}"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    after = page.evaluate(FOCUSED_JS)
    assert after is not None and after["inMain"], f"after the skip link, Tab goes outside main: {after}"

    # From the top again, Tab through the whole page.
    page.goto(site.url(path))
    expected = page.evaluate(LIST_FOCUSABLE_JS, FOCUSABLE)
    reached, problems = [], []
    for _press in range(len(expected) + 5):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused is None or (reached and focused["index"] == reached[0]):
            break  # out of the page (to the browser's own controls), or round again
        reached.append(focused["index"])
        where = f"<{focused['tag']}{' id=' + focused['id'] if focused['id'] else ''}> {focused['text']!r}"
        if not focused["focusVisible"]:
            problems.append(f"{where}: focused by Tab but not :focus-visible")
        if not focused["indicator"]:
            problems.append(
                f"{where}: no focus indicator (outline {focused['outline']}, box-shadow {focused['boxShadow']})"
            )
        if not (focused["inViewport"] and focused["uncovered"]):
            problems.append(f"{where}: focused but hidden or covered")
    missing = [label for index, label in enumerate(expected) if str(index) not in reached]
    assert not missing, f"{path}: not reachable with Tab: {missing}"
    assert not problems, f"{path}: focus problems:\n" + "\n".join(problems)
