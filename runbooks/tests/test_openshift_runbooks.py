"""The OpenShift alert runbooks (../shared/data, Apache-2.0), imported as issue 12's "Done
when" says: every alert runbook and helper page in, nothing that is not a document, every
alert name answering /r/, the repository's licence, components only from operator folders,
a second import a no-op, and export → import identical."""

import io

import pytest
from django.core.management import call_command

from opsknowledge.models import Component, Organisation
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory
from runbooks.models import Runbook
from runbooks.tests.test_runbooks_as_code import documents_by_slug

pytestmark = pytest.mark.django_db

ALERTS = shared_data.path("openshift-runbooks", "alerts")
# Pages that are no alert runbook: the helpers, the hierarchy overview, and one alert
# folder's page whose H1 is a sentence ("Naming schemas").
NOT_ALERTS = 12 + 1 + 1


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def import_alerts(path) -> str:
    return run(
        "import_runbooks", str(path), "--organisation", "openshift",
        "--create-components", "--visibility", "public",
    )  # fmt: skip


@pytest.fixture
def alerts(catalogue):
    OrganisationFactory(slug="openshift")
    return shared_data.require(ALERTS, "the OpenShift alert runbooks")


def test_the_openshift_alert_runbooks_import_faithfully(alerts, client, tmp_path):
    output = import_alerts(alerts)
    assert "272 files: 272 created, 0 updated, 0 unchanged, 0 skipped, 0 failed." in output
    assert "note: licence Apache-2.0 from ../LICENSE" in output
    for name in ("KubeAPIDown", "KubeAggregatedAPIErrors"):
        slug = name.lower()
        assert f"imported as 'cluster-monitoring-operator-{slug}'" in output
    runbooks = Runbook.objects.filter(organisation__slug="openshift")
    assert runbooks.count() == 272
    assert set(runbooks.values_list("license", flat=True)) == {"Apache-2.0"}
    assert not runbooks.filter(slug="owners").exists()
    assert not runbooks.filter(body__contains="approvers:").exists()

    with_alerts = [r for r in runbooks if r.get_related_content("alerts")]
    assert len(with_alerts) == 272 - NOT_ALERTS
    names = {name for r in with_alerts for name in r.get_related_content("alerts")}
    assert {"etcdNoLeader", "CDIDataVolumeUnusualRestartCount", "ACMRemoteWriteError"} <= names
    assert {"MachineConfigDaemonRebootError", "MCDRebootError"} <= names
    for name in sorted(names):
        assert client.get(f"/r/{name}").status_code == 302, name
    assert client.get("/r/diagnosis").status_code == 404

    components = set(Component.objects.filter(runbooks__in=runbooks).values_list("slug", flat=True))
    assert components == {p.name for p in alerts.iterdir() if p.is_dir()}
    for folder in ("alerts", "helpers", "hierarchy", "screenshots"):
        assert not Component.objects.filter(slug=folder).exists(), folder

    assert "0 created, 0 updated, 272 unchanged" in import_alerts(alerts)

    before = documents_by_slug("openshift")
    run("export_runbooks", str(tmp_path / "out"), "--organisation", "openshift")
    Runbook.objects.all().delete()
    Organisation.objects.filter(slug="openshift").delete()
    OrganisationFactory(slug="openshift")
    assert "272 created" in import_alerts(tmp_path / "out")
    after = documents_by_slug("openshift")
    assert after.keys() == before.keys()
    for slug in before:
        assert after[slug] == before[slug], slug
