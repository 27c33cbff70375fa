"""The release importers (import_release_notes, import_upgrade_guide, import_osism_notes)
against the real SCS release notes, k8s-cluster-api-provider upgrade guide and OSISM release
notes in ../shared/data/scs-release-notes (see its README for every quirk), and the pure
parsers behind them (releases.importers)."""

import io
from datetime import date
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from opsknowledge.models import Release, Revision
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory, ReleaseFactory
from releases.importers.notes import (
    ParsedNote,
    component_for_heading,
    note_slugs,
    split_blocks,
    title_from_text,
)
from releases.importers.osism import parse_osism_notes, parse_release_map
from releases.importers.scs import (
    parse_index,
    parse_release_date,
    parse_release_notes,
    parse_release_tag,
    parse_written_date,
)
from releases.importers.upgrade_guide import parse_upgrade_guide
from releases.models import ReleaseNote
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

DATA = shared_data.path("scs-release-notes")
GUIDES = DATA / "upgrade-guides"
GUIDE = GUIDES / "SovereignCloudStack__k8s-cluster-api-provider" / "doc" / "Upgrade-Guide.md"
OSISM = GUIDES / "osism__osism.github.io"

# The table in ../shared/data/README.md; the importer reads all of it from the files.
RELEASES = [
    ("r0", "Release 0", "v1.0.0", date(2021, 7, 15)),
    ("r1", "Release 1", "v2.0.0", date(2021, 9, 29)),
    ("r2", "Release 2", "v3.0.0", date(2022, 3, 23)),
    ("r3", "Release 3", "v4.0.0", date(2022, 9, 21)),
    ("r4", "Release 4", "v5.0.0", date(2023, 3, 22)),
    ("r5", "Release 5", "v6.0.0", date(2023, 9, 20)),
    ("r6", "Release 6", "7.0.0", date(2024, 3, 20)),
    ("r7", "Release 7", "8.0.0", date(2024, 9, 11)),
]
HOPS = [("r2", "r3"), ("r3", "r4"), ("r4", "r5"), ("r5", "r6")]


@pytest.fixture
def data_dir():
    for target in (DATA / "README.md", GUIDE, OSISM):
        shared_data.require(target, "the SCS release notes")
    return DATA


@pytest.fixture
def organisation():
    return OrganisationFactory(slug="scs")


def run(command, *args):
    """Run a management command; (stdout, stderr). CommandError propagates."""
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def import_notes(*args):
    return run("import_release_notes", str(DATA), "--organisation", "scs", *args)


def import_guide(*args):
    return run("import_upgrade_guide", str(GUIDE), "--organisation", "scs", *args)


def import_osism(*args, directory=OSISM):
    return run(
        "import_osism_notes", str(directory), "--organisation", "scs",
        "--release-map", "7=r6,8=r7", *args,
    )  # fmt: skip


def chain():
    return [(r.slug, r.name, r.version, r.released_on) for r in Release.objects.in_upgrade_order()]


def kinds_of(slug) -> set[str]:
    return set(ReleaseNote.objects.filter(release__slug=slug).values_list("kind", flat=True))


# -- import_release_notes ---------------------------------------------------------------


def test_creates_the_releases_on_an_empty_database(data_dir, organisation):
    out, _ = import_notes()
    assert chain() == RELEASES
    predecessors = [r.previous and r.previous.slug for r in Release.objects.in_upgrade_order()]
    assert predecessors == [None, "r0", "r1", "r2", "r3", "r4", "r5", "r6"]
    assert not Release.objects.filter(slug__in=["r8", "rx"]).exists()
    assert "README.md says 2024-09-04, Release7.md says 2024-09-11" in out
    assert "skipped: ReleaseX.md: not linked from README.md" in out
    assert "r6 7.0.0 (also written v7.0.0)" in out
    assert "8 releases created" in out
    assert ReleaseNote.objects.filter(organisation__slug="scs").count() > 100
    assert not ReleaseNote.objects.filter(title__icontains="Release 8").exists()


def test_after_the_demo_catalogue_nothing_is_duplicated(data_dir, catalogue, organisation):
    before = chain()
    out, _ = import_notes()
    assert chain() == before == RELEASES
    assert Release.objects.count() == len(RELEASES)
    assert "0 releases created, 0 releases updated, 8 releases unchanged" in out


def test_sections_map_to_note_kinds(data_dir, organisation):
    import_notes()
    r3_upgrades = ReleaseNote.objects.filter(release__slug="r3", kind="upgrade")
    assert sorted(r3_upgrades.values_list("title", flat=True)) == ["Cluster Management", "OSISM"]
    assert {"deprecation", "removal", "security", "known-issue", "fix"} <= kinds_of("r3")
    assert {"highlight", "feature", "upgrade"} <= kinds_of("r6")
    assert "feature" not in kinds_of("r5")  # R5 has no New Features section
    assert "fix" not in kinds_of("r7")  # R7 has no Resolved Issues section
    assert "known-issue" not in kinds_of("r5")  # "Nothing that we are aware of"
    assert kinds_of("r0") == {"highlight", "upgrade"}  # Features, Technical Previews, Updates
    r1_known = ReleaseNote.objects.filter(release__slug="r1", kind="known-issue")
    assert r1_known.filter(title="Known Issue with OIDC Logout").exists()


def test_notes_are_readable_units_with_sources(data_dir, organisation):
    import_notes("--visibility", "public")
    note = ReleaseNote.objects.get(release__slug="r2", slug__startswith="deprecation-002-")
    assert note.title == "Cockpit is deprecated in favor of Boundary by HashiCorp or Teleport"
    assert note.visibility == "public" and note.status == "published"
    assert note.source_url == (
        "https://github.com/SovereignCloudStack/release-notes/blob/main/Release2.md#deprecations"
    )
    osism = ReleaseNote.objects.get(release__slug="r3", kind="upgrade", title="OSISM")
    assert "neutron_ssh_key:" in osism.body and "<li>" in osism.body_html
    for note in ReleaseNote.objects.all():
        assert note.title.strip() and note.body.strip(), note.slug


def test_headings_naming_a_component_give_the_note_that_component(data_dir, catalogue):
    import_notes()
    components = dict(
        ReleaseNote.objects.exclude(component=None).values_list("title", "component__slug")
    )
    assert components["Preview: Keycloak Home-IdP-discovery"] == "keycloak"
    assert components["IaaS: Loadbalancer service (octavia)"] == "octavia"
    assert components["OSISM"] == "osism"


def test_a_second_run_changes_nothing(data_dir, organisation):
    import_notes()
    rows = {note.slug: note.updated for note in ReleaseNote.objects.all()}
    out, _ = import_notes()
    assert "0 created, 0 updated, 8 unchanged, 1 skipped, 0 failed" in out
    assert "0 notes created, 0 notes updated" in out
    assert {note.slug: note.updated for note in ReleaseNote.objects.all()} == rows


def test_dry_run_writes_nothing(data_dir, organisation):
    out, _ = import_notes("--dry-run")
    assert out.splitlines()[-1].startswith("Dry run, nothing written: 9 files: 8 created")
    assert Release.objects.count() == 0
    assert ReleaseNote.objects.count() == 0


def test_unknown_organisation_is_refused(data_dir):
    with pytest.raises(CommandError, match="No organisation 'scs'"):
        import_notes()


def test_a_broken_file_fails_alone_and_the_exit_is_non_zero(data_dir, tmp_path, organisation):
    (tmp_path / "README.md").write_text(
        "## Release 0 (2021-07-15)\n[notes](Release0.md)\n"
        "## Release 1 (2021-09-29)\n[notes](Release1.md)\n"
    )
    (tmp_path / "Release0.md").write_text((DATA / "Release0.md").read_text())
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command(
            "import_release_notes", str(tmp_path), "--organisation", "scs", stdout=out, stderr=err
        )
    assert "Release1.md is linked from README.md but does not exist" in err.getvalue()
    assert list(Release.objects.values_list("slug", flat=True)) == ["r0"]


# -- import_upgrade_guide -----------------------------------------------------------------


def test_the_upgrade_guide_becomes_one_runbook_per_hop(data_dir, catalogue, organisation):
    out, _ = import_guide("--visibility", "public")
    assert "4 files: 4 created" in out
    runbooks = Runbook.objects.filter(organisation__slug="scs", slug__startswith="capi-upgrade-")
    assert [(r.upgrade_from.slug, r.upgrade_to.slug) for r in runbooks.order_by("slug")] == HOPS
    r2_r3 = runbooks.get(slug="capi-upgrade-r2-to-r3")
    assert r2_r3.title == "Upgrade Kubernetes Cluster API provider from R2 to R3"
    assert [c.slug for c in r2_r3.components.all()] == ["cluster-api"]
    assert [r.slug for r in r2_r3.releases.all()] == ["r3"]
    assert sorted(r2_r3.tags.names()) == ["cluster-api", "upgrade"]
    assert (r2_r3.license, r2_r3.status, r2_r3.visibility) == ("Apache-2.0", "published", "public")
    for runbook in runbooks:
        start, end = runbook.upgrade_from.name[-1], runbook.upgrade_to.name[-1]
        assert "## Updating the management host" in runbook.body
        assert f"##### R{start} to R{end}" in runbook.body
        assert "## Updating workload clusters" in runbook.body
        workload = [line for line in runbook.body.splitlines() if line.startswith("#### On R")]
        assert any(f"R{end}" in line for line in workload), runbook.slug
    assert "#### On R2 clusters" in r2_r3.body  # how to leave R2
    assert "update-R5-to-R6.sh" in runbooks.get(slug="capi-upgrade-r5-to-r6").body


def test_the_upgrade_guide_import_is_idempotent(data_dir, catalogue, organisation):
    import_guide()
    revisions = Revision.objects.count()
    out, _ = import_guide()
    assert "4 files: 0 created, 0 updated, 4 unchanged" in out
    assert Revision.objects.count() == revisions
    out, _ = import_guide("--dry-run")
    assert "Dry run" in out and Runbook.objects.filter(slug__startswith="capi-").count() == 4


def test_a_hop_to_a_missing_release_fails_with_its_reason(data_dir, organisation):
    previous = None
    for number in (2, 3, 4, 5):  # no r6
        previous = ReleaseFactory(slug=f"r{number}", previous=previous)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command(
            "import_upgrade_guide", str(GUIDE), "--organisation", "scs", stdout=out, stderr=err
        )
    assert "R5 to R6: release r6 does not exist; run import_release_notes" in err.getvalue()
    assert "no component 'cluster-api'" in out.getvalue()
    assert Runbook.objects.filter(slug__startswith="capi-upgrade-").count() == 3


# -- import_osism_notes ------------------------------------------------------------------


def test_osism_upgrade_notes_land_on_the_releases_shipping_them(data_dir, organisation):
    import_notes()
    out, _ = import_osism()
    assert "skipped: osism-9.md: OSISM 9 is not in --release-map (7=r6, 8=r7)" in out
    assert "skipped: osism-10.md: OSISM 10 is not in --release-map" in out
    r6 = ReleaseNote.objects.filter(release__slug="r6", slug__startswith="osism-7-")
    r7 = ReleaseNote.objects.filter(release__slug="r7", slug__startswith="osism-8-")
    assert r6.filter(kind="upgrade").count() >= 10 and r6.filter(kind="known-issue").exists()
    assert r7.filter(kind="upgrade").count() == 3
    assert all(
        n.source_url.startswith("https://osism.tech/docs/release-notes/osism-7#") for n in r6
    )
    assert r7.first().source_url == "https://osism.tech/docs/release-notes/osism-8#upgrade-notes"
    assert r6.get(title__contains="hosts_interface").title.startswith("OSISM 7.0.0: ")
    assert not ReleaseNote.objects.filter(slug__startswith="osism-9").exists()

    out, _ = import_osism(directory=OSISM / "docs" / "release-notes")  # the folder itself
    assert "0 notes created, 0 notes updated" in out


def test_osism_notes_need_their_release(data_dir, organisation):
    with pytest.raises(CommandError, match="2 file"):
        import_osism()
    assert ReleaseNote.objects.count() == 0


def test_release_map_is_validated(data_dir, organisation):
    with pytest.raises(CommandError, match="--release-map: 'seven' is not MAJOR=RELEASE"):
        run("import_osism_notes", str(OSISM), "--organisation", "scs", "--release-map", "seven")


# -- everything together ---------------------------------------------------------------


def test_an_upgrade_finds_the_notes_and_runbooks_of_every_source(data_dir, api, organisation):
    import_notes("--visibility", "public")
    import_guide("--visibility", "public")
    import_osism("--visibility", "public")
    r3_upgrade = ReleaseNote.objects.filter(release__slug="r3", kind="upgrade")
    assert r3_upgrade.count() == 2
    assert Runbook.objects.filter(upgrade_to__slug="r3", slug="capi-upgrade-r2-to-r3").exists()
    assert ReleaseNote.objects.filter(release__slug="r6", kind="upgrade").count() > 10

    response = api.get("/api/v1/upgrade-path/?from=r5&to=r6")
    assert response.status_code == 200
    step = response.json()["steps"][0]
    titles = [note["title"] for note in step["notes"]]
    assert any(title.startswith("OSISM 7.0.0: ") for title in titles)
    assert [runbook["slug"] for runbook in step["runbooks"]] == ["capi-upgrade-r5-to-r6"]


# -- parsers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("# Release Notes for SCS Release 0\n(Release Date: 2021-07-15)\n", date(2021, 7, 15)),
        ("# Release Notes for SCS Release 6\t\n\nSCS Release 6 has been published on 2024-03-20.",
         date(2024, 3, 20)),
        ("Release 7 has been published on September 11, 2024.", date(2024, 9, 11)),
        ("released on 11. September 2024", date(2024, 9, 11)),
        ("published on Smarch 3, 2024", None),
        ("(Release Date: 2024-02-30)", None),
        ("no date here", None),
    ],
)  # fmt: skip
def test_release_dates(text, expected):
    assert parse_release_date(text) == expected


def test_written_dates():
    assert parse_written_date("Sept 1st, 2024") == date(2024, 9, 1)
    assert parse_written_date("2024-13-01") is None


@pytest.mark.parametrize(
    "text, number, expected",
    [
        ("We have added the tag `v3.0.0` to the relevant repositories to designate the "
         "`SCS_RELEASE_R2`.\n\nNote that we will release R3 (v4.0.0) in September 2022", 2,
         ("v3.0.0", [])),
        ("Note that we will release R3 (v4.0.0) in September. We tagged `v3.0.0`.", 2,
         ("v3.0.0", [])),
        ("use the `7.0.0` or `v7.0.0` tag\nto denote SCS Release 6.", 6, ("7.0.0", ["v7.0.0"])),
        ("OSISM uses the tag 8.0.0 for SCS R7", 7, ("8.0.0", [])),
        ("will receive the `v5.0.0` tag; some repositories use `maintained/v5.0.x`", 4,
         ("v5.0.0", [])),
        ("The containers have version number v1.0.0 for R0.", 0, ("v1.0.0", [])),
        ("See the Release Numbering scheme.", 1, (None, [])),
    ],
)  # fmt: skip
def test_release_tags(text, number, expected):
    assert parse_release_tag(text, number) == expected


@pytest.mark.parametrize("slug, name, version, released_on", RELEASES)
def test_each_release_file_gives_its_tag_and_date(data_dir, slug, name, version, released_on):
    parsed = parse_release_notes((data_dir / f"Release{slug[1:]}.md").read_text())
    assert (f"r{parsed.number}", parsed.version, parsed.released_on) == (
        slug,
        version,
        released_on,
    )


def test_the_index_lists_top_level_files_with_readme_dates(data_dir):
    entries = parse_index((data_dir / "README.md").read_text())
    assert [(e.number, e.file_name) for e in entries] == [(n, f"Release{n}.md") for n in range(8)]
    assert entries[7].readme_date == date(2024, 9, 4)  # the file says 2024-09-11
    index = parse_index("## Release 9 (2025-03-01)\nSee [R9](drafts/Release9.md).\n")
    assert index[0].file_name is None and "not a top-level file" in index[0].note


def test_list_items_keep_lazy_continuations_and_nested_lists():
    text = (
        "Deprecations happen according to policy.\n\n"
        "* The docker-compose CLI will be removed.\n"
        "docker-compose is then no longer available\n"
        "* The following roles have been removed:\n"
        "  * `osism.services.bird`\n\n"
        "  ```\n  # not a heading\n  ```\n"
        "Closing words.\n"
    )
    blocks = split_blocks(text)
    assert [b.kind for b in blocks] == ["prose", "item", "item", "prose"]
    assert blocks[1].text.endswith("docker-compose is then no longer available")
    assert blocks[2].text.splitlines()[1:3] == ["* `osism.services.bird`", ""]
    assert "# not a heading" in blocks[2].text


def test_titles_from_list_items():
    assert title_from_text("[OIDC Logout doesn't work properly](#Known-Issue).") == (
        "OIDC Logout doesn't work properly"
    )
    assert title_from_text("Added dashboards for the operators:\n  - Homer") == (
        "Added dashboards for the operators"
    )
    assert title_from_text("Use flavors (e.g. SSD ones). Then more.") == (
        "Use flavors (e.g. SSD ones)"
    )
    assert len(title_from_text("word " * 100)) <= 120


def test_component_headings_prefer_slugs_to_aliases():
    catalogue = {"openstack": "openstack", "images": "glance", "iam": "keycloak"}

    def lookup(word):
        slug = catalogue.get(word)
        return SimpleNamespace(slug=slug) if slug else None

    assert component_for_heading("Build node images for use in openstack", lookup).slug == (
        "openstack"
    )
    assert component_for_heading("IAM", lookup).slug == "keycloak"
    assert component_for_heading("Project Infrastructure", lookup) is None


def test_note_slugs_are_deterministic_and_counted_per_kind():
    notes = [
        ParsedNote("upgrade", "Cluster Management", "x", "a"),
        ParsedNote("removal", "Cockpit removed", "x", "b"),
        ParsedNote("upgrade", "OSISM", "x", "c"),
        ParsedNote("upgrade", "…", "x", "d"),
    ]
    assert note_slugs(notes) == [
        "upgrade-001-cluster-management",
        "removal-001-cockpit-removed",
        "upgrade-002-osism",
        "upgrade-003",
    ]
    assert note_slugs(notes) == note_slugs(list(notes))


def test_upgrade_guide_hops_and_their_workload_parts(data_dir):
    guide = parse_upgrade_guide(GUIDE.read_text())
    assert str(guide.front_matter["version"]) == "2023-09-07"
    parts = {hop.name: [s.title for s in hop.workload] for hop in guide.hops}
    assert parts == {
        "R2 to R3": ["On R2 clusters", "On R3 and R4 clusters"],
        "R3 to R4": ["On R3 and R4 clusters"],
        "R4 to R5": ["On R5 clusters"],
        "R5 to R6": ["On R6 clusters"],
    }


def test_osism_pages_give_upgrade_and_known_issue_notes(data_dir):
    notes = parse_osism_notes((OSISM / "docs/release-notes/osism-7.md").read_text(), 7)
    assert {note.kind for note in notes} == {"upgrade", "known-issue"}
    assert {note.group for note in notes} == {"7.0.0"}
    assert note_slugs(notes, lambda note: "osism-7-0-0-")[1].startswith(
        "osism-7-0-0-upgrade-002-the-hosts_interface-parameter"
    )


def test_release_maps():
    assert parse_release_map("7=r6, 8=r7") == {7: "r6", 8: "r7"}
    for bad in ("", "7:r6", "7=R6"):
        with pytest.raises(ValueError):
            parse_release_map(bad)


# -- the briefing on the real data (issue "Done when") --------------------------------------


def test_r2_to_r4_briefing_on_the_real_data(data_dir, api, organisation):
    """Public SCS notes and guide, plus a provider's organisation-only OSISM notes."""
    from opsknowledge.tests.factories import OrganisationFactory, member

    import_notes("--visibility", "public")
    import_guide("--visibility", "public")
    provider = OrganisationFactory(slug="alpen")
    run(
        "import_osism_notes", str(OSISM), "--organisation", "alpen", "--release-map", "7=r6,8=r7"
    )  # default visibility: organisation

    r3 = [n.title for n in ReleaseNote.objects.filter(release__slug="r3", kind="upgrade")]
    assert any("cluster management" in t.lower() for t in r3), r3
    assert any("OSISM" in t for t in r3), r3

    response = api.get("/api/v1/upgrade-path/?from=r2&to=r4")
    assert response.status_code == 200
    body = response.json()
    assert [s["release"]["slug"] for s in body["steps"]] == ["r3", "r4"]
    assert [[r["slug"] for r in s["runbooks"]] for s in body["steps"]] == [
        ["capi-upgrade-r2-to-r3"],
        ["capi-upgrade-r3-to-r4"],
    ]
    assert (
        api.get(
            "/api/v1/upgrade-path/?from=r2&to=r4", HTTP_IF_NONE_MATCH=response["ETag"]
        ).status_code
        == 304
    )

    markdown = api.get("/api/v1/upgrade-path/?from=r2&to=r4&format=md").content.decode()
    assert markdown.startswith("# Upgrade briefing: r2 → r4")
    assert "## Step 1: r2 → r3" in markdown and "Upgrade Kubernetes Cluster API" in markdown

    # The provider's OSISM notes (organisation-only) reach its members, nobody else.
    outsiders = api.get("/api/v1/upgrade-path/?from=r5&to=r6").json()["steps"][0]["notes"]
    assert not [n for n in outsiders if n["organisation"] == "alpen"]
    api.force_authenticate(member(provider, "viewer"))
    members = api.get("/api/v1/upgrade-path/?from=r5&to=r6").json()["steps"][0]["notes"]
    assert [n for n in members if n["organisation"] == "alpen"]
    feed = api.get("/feeds/releases.atom").content.decode()
    assert ": OSISM 7.0.0: " not in feed  # public feed: no organisation-only note titles
