"""The site's shell as a reader meets it over HTTP: signing in and out on the site's own
pages (with CSRF enforced, as a browser sends it), the header's account menu, and the
branded error pages."""

import re

import pytest
from django.conf import settings
from django.test import Client, override_settings

from opsknowledge import services
from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the factories' password
HIDDEN = "/runbooks/north/members-only/"
MISSING = "/runbooks/north/no-such-runbook/"


@pytest.fixture
def north():
    organisation = OrganisationFactory(slug="north", name="North Cloud")
    services.document_create(
        model=Runbook,
        organisation=organisation,
        slug="members-only",
        data={
            "title": "Members-only runbook",
            "body": "1. look\n",
            "visibility": "organisation",
            "status": "published",
        },
        actor=services.Actor.operator(),
    )
    return organisation


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def csrf_token(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "the page has no CSRF token in its form"
    return match.group(1)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def sign_in(browser, username, password=PASSWORD, next_url=""):
    page = browser.get("/accounts/login/", {"next": next_url} if next_url else {})
    assert page.status_code == 200
    return browser.post(
        "/accounts/login/",
        {
            "username": username,
            "password": password,
            "next": next_url,
            "csrfmiddlewaretoken": csrf_token(page),
        },
    )


def test_a_viewer_signs_in_reads_the_members_only_runbook_and_signs_out(north, browser):
    member(north, "viewer", username="vera")
    assert browser.get(HIDDEN).status_code == 404

    response = sign_in(browser, "vera", next_url=HIDDEN)
    assert (response.status_code, response["Location"]) == (302, HIDDEN)
    page = browser.get(HIDDEN)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Members-only runbook" in html
    assert "Signed in as vera in organisation North Cloud (viewer)." in text_of(html)

    signed_out = browser.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf_token(page)})
    assert (signed_out.status_code, signed_out["Location"]) == (302, "/")
    assert "You are signed out." in browser.get("/").content.decode()
    assert browser.get(HIDDEN).status_code == 404


def test_the_login_page_is_the_sites_and_admits_members_who_are_not_staff(north, browser):
    member(north, "viewer", username="vera")
    page = browser.get("/accounts/login/")
    html = page.content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert "/admin/" not in html
    assert sign_in(browser, "vera")["Location"] == "/"  # no next: the home page


def test_the_header_links_to_the_site_login_coming_back_to_the_page(north):
    html = Client().get("/search/?q=disk").content.decode()
    assert 'href="/accounts/login/?next=/search/%3Fq%3Ddisk"' in html
    assert "admin/login" not in html


def test_a_wrong_password_is_refused_on_the_page(north, browser):
    member(north, "viewer", username="vera")
    response = sign_in(browser, "vera", password="wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert browser.get(HIDDEN).status_code == 404


def test_next_never_leaves_the_site(north, browser):
    member(north, "viewer", username="vera")
    response = sign_in(browser, "vera", next_url="https://evil.example/")
    assert (response.status_code, response["Location"]) == (302, "/")


def test_signing_in_and_out_need_the_csrf_token(north, browser):
    member(north, "viewer", username="vera")
    refused = browser.post("/accounts/login/", {"username": "vera", "password": PASSWORD})
    assert refused.status_code == 403
    assert "This form has expired" in refused.content.decode()
    browser.force_login(UserFactory(username="walter"))
    assert browser.post("/accounts/logout/").status_code == 403
    assert browser.get("/accounts/logout/").status_code == 405  # a link cannot sign you out


def test_a_member_of_no_organisation_is_told_so(browser):
    browser.force_login(UserFactory(username="walter"))
    text = text_of(browser.get("/").content.decode())
    assert "Signed in as walter, member of no organisation." in text


@pytest.mark.parametrize("debug", [False, True])
def test_the_404_hints_at_signing_in_without_telling_whether_anything_is_there(north, debug):
    with override_settings(DEBUG=debug):
        hidden, missing = Client().get(HIDDEN), Client().get(MISSING)
    assert hidden.status_code == missing.status_code == 404
    html = hidden.content.decode()
    assert "<title>Page not found · opsknowledge</title>" in html  # branded, even with DEBUG
    assert "signing in</a> may show more" in html
    assert 'href="/accounts/login/?next=/runbooks/north/members-only/"' in html
    assert html == missing.content.decode().replace("no-such-runbook", "members-only")


def test_a_signed_in_reader_gets_no_sign_in_hint(north):
    client = Client()
    client.force_login(UserFactory(username="walter"))
    response = client.get(HIDDEN)
    assert response.status_code == 404
    assert "may show more" not in response.content.decode()


# -- the layout every page shares -----------------------------------------------------------

TEMPLATES = sorted((settings.BASE_DIR / "templates").rglob("*.html"))


def test_every_page_has_the_skip_link_header_search_navigation_and_breadcrumbs(north):
    html = Client().get("/search/").content.decode()
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html
    form = re.search(r'<form class="site-search"[^>]*>', html).group(0)
    assert 'action="/search/"' in form and 'method="get"' in form and 'role="search"' in form
    assert '<label class="visually-hidden" for="site-search-q">' in html
    assert re.search(r'<input type="search" id="site-search-q" name="q"', html)
    for path in ("/runbooks/", "/practices/", "/incidents/", "/upgrade/"):
        assert f'<a href="{path}">' in html
    assert '<nav aria-label="Breadcrumb">' in html
    assert '<li><a href="/">Home</a></li>' in html
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    assert '<link rel="stylesheet" href="/static/css/pages.css">' in html
    assert '<script src="/static/js/site.js" defer></script>' in html


def test_the_search_box_is_focused_on_the_home_page_only(north):
    def search_input(path):
        return re.search(
            r'<input type="search" id="site-search-q"[^>]*>', Client().get(path).content.decode()
        ).group(0)

    assert " autofocus" in search_input("/")
    assert " autofocus" not in search_input("/accounts/login/")
    home = Client().get("/").content.decode()
    assert '<li aria-current="page">Home</li>' in home


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_have_no_inline_script_style_or_handlers(template):
    """The Content-Security-Policy forbids inline script (and the site keeps style inline-free
    too): data reaches site.js through data- attributes or json_script."""
    source = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), "inline <script>"
    assert "<style" not in source, "inline <style>"
    assert not re.search(r"\sstyle=", source), "style= attribute"
    assert not re.search(r"\son[a-z]+=", source), "on*= handler attribute"
    assert "javascript:" not in source.lower(), "javascript: URL"


# -- error pages ----------------------------------------------------------------------------


@pytest.mark.urls("tests.error_urls")
@override_settings(DEBUG=False)
def test_403_and_500_are_the_sites_own_pages_without_debug():
    client = Client(raise_request_exception=False)
    forbidden = client.get("/test-errors/forbidden/")
    assert forbidden.status_code == 403
    assert "<title>Not allowed · opsknowledge</title>" in forbidden.content.decode()
    broken = client.get("/test-errors/broken/")
    assert broken.status_code == 500
    html = broken.content.decode()
    assert "<title>Server error · opsknowledge</title>" in html
    assert "a bug" not in html and "Traceback" not in html


@pytest.mark.urls("tests.error_urls")
@override_settings(DEBUG=True)
def test_with_debug_a_500_is_djangos_technical_page():
    broken = Client(raise_request_exception=False).get("/test-errors/broken/")
    assert broken.status_code == 500
    assert "RuntimeError" in broken.content.decode()
    assert "Server error · opsknowledge" not in broken.content.decode()


# -- security headers, forms, static files ---------------------------------------------------


def policy(response) -> dict:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_pages_forbid_inline_script_and_framing(north):
    for path in ("/", "/search/?q=x", "/accounts/login/", MISSING):
        directives = policy(Client().get(path))
        assert directives["script-src"] == ["'self'"], path
        assert directives["style-src"] == ["'self'"], path
        assert directives["img-src"] == ["'self'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert "'unsafe-eval'" not in Client().get(path)["Content-Security-Policy"]


def test_only_the_api_docs_allow_inline_styles_and_data_images_and_never_inline_script():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert set(directives["style-src"]) == {"'self'", "'unsafe-inline'"}
    assert set(directives["img-src"]) == {"'self'", "data:"}
    assert directives["frame-ancestors"] == ["'none'"]
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    assert scripts and all("src=" in attributes for attributes in scripts)
    init = Client().get("/api/docs/", {"script": ""})  # the init script the page loads
    assert init.status_code == 200 and b"SwaggerUIBundle" in init.content


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_every_post_form_carries_the_csrf_token(template):
    source = template.read_text(encoding="utf-8")
    for form in re.findall(r"<form\b[^>]*>.*?</form>", source, flags=re.S | re.I):
        if re.search(r'method="post"', form, flags=re.I):
            assert "{% csrf_token %}" in form, form[:80]


STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]\s*%}""")


def test_collectstatic_hashes_and_compresses_every_file_the_templates_name(tmp_path):
    """Production storage: collected into a temporary folder, every `{% static %}` of
    templates/ resolves to a hashed file that exists, with its compressed copy."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.management import call_command

    names = {name for path in TEMPLATES for name in STATIC_TAG.findall(path.read_text())}
    assert {"css/site.css", "css/pages.css", "js/site.js"} <= names
    manifest = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STORAGES=manifest, STATIC_ROOT=tmp_path, DEBUG=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        for name in sorted(names):
            hashed = staticfiles_storage.stored_name(name)  # ValueError when not collected
            assert hashed != name and (tmp_path / hashed).is_file(), name
            assert staticfiles_storage.url(name) == f"/static/{hashed}"
            if name.endswith((".css", ".js", ".svg")):
                assert (tmp_path / f"{hashed}.gz").is_file(), name


def test_pages_without_an_icon_of_their_own_get_the_sites():
    response = Client().get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/img/logo.svg")
