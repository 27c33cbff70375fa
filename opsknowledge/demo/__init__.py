"""Demo content written for this project: a few organisations, the SCS component catalogue
and the real SCS release chain. `load_demo` loads it idempotently."""

from datetime import date
from pathlib import Path

ORGANISATIONS = [
    {
        "slug": "scs",
        "name": "Sovereign Cloud Stack community",
        "website": "https://scs.community/",
        "description": "The community that builds the Sovereign Cloud Stack and publishes "
        "its release notes and reference runbooks.",
    },
    {
        "slug": "alpenwolke",
        "name": "Alpenwolke (demo provider)",
        "website": "",
        "description": "A fictional public-cloud provider running SCS in two regions.",
    },
    {
        "slug": "northbridge",
        "name": "Northbridge Cloud (demo provider)",
        "website": "",
        "description": "A fictional provider of sovereign private clouds for public bodies.",
    },
]

# (slug, name, parent slug, aliases, description)
COMPONENTS = [
    ("openstack", "OpenStack", None, [], "The IaaS layer of SCS."),
    ("nova", "OpenStack Nova", "openstack", ["nova-compute", "compute"], "Compute service."),
    ("neutron", "OpenStack Neutron", "openstack", ["networking", "ovn"], "Networking service."),
    ("keystone", "OpenStack Keystone", "openstack", ["identity"], "Identity service."),
    ("octavia", "OpenStack Octavia", "openstack", ["lbaas", "loadbalancer"], "Load balancers."),
    ("cinder", "OpenStack Cinder", "openstack", ["block-storage"], "Block storage service."),
    ("glance", "OpenStack Glance", "openstack", ["images"], "Image service."),
    ("ceph", "Ceph", None, ["rados", "rbd"], "Distributed storage under volumes and images."),
    ("kubernetes", "Kubernetes", None, ["k8s"], "Container orchestration (the KaaS layer)."),
    (
        "cluster-api",
        "Kubernetes Cluster API",
        "kubernetes",
        ["capi", "k8s-cluster-api-provider", "kubernetes-cluster-api"],
        "Lifecycle management of Kubernetes clusters on OpenStack.",
    ),
    ("osism", "OSISM", None, ["osism-testbed"], "Deployment and lifecycle tooling of SCS."),
    ("keycloak", "Keycloak", None, ["iam", "sso"], "Identity federation and single sign-on."),
    ("rabbitmq", "RabbitMQ", "openstack", ["amqp"], "Message queue of the control plane."),
    ("mariadb", "MariaDB Galera", "openstack", ["galera", "mysql"], "Control-plane database."),
    ("monitoring", "Monitoring", None, ["observability"], "Metrics and alerting."),
    ("prometheus", "Prometheus", "monitoring", ["alertmanager"], "Metrics and alert rules."),
    ("logging", "Logging", None, ["opensearch", "fluentd"], "Central log collection."),
]

# The real SCS release chain: (slug, name, version tag, release date)
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

CONTENT_DIR = Path(__file__).resolve().parent / "content"

# (file under content/, kind, publishing organisation)
DOCUMENTS = [
    ("runbooks/ceph-osd-nearfull.md", "runbook", "scs"),
    ("runbooks/rabbitmq-partition.md", "runbook", "scs"),
    ("runbooks/keystone-token-expiry.md", "runbook", "scs"),
    ("runbooks/upgrade-r3-to-r4.md", "runbook", "scs"),
    ("runbooks/upgrade-r2-to-r3.md", "runbook", "scs"),
    ("runbooks/galera-cluster-size.md", "runbook", "scs"),
    ("runbooks/prometheus-target-down.md", "runbook", "scs"),
    ("runbooks/nova-compute-down.md", "runbook", "alpenwolke"),
    ("runbooks/cluster-api-machine-stuck.md", "runbook", "alpenwolke"),
    ("runbooks/ovn-controller-down.md", "runbook", "alpenwolke"),
    ("practices/ceph-capacity-planning.md", "practice", "scs"),
    ("practices/runbook-urls-in-alert-rules.md", "practice", "scs"),
    ("practices/maintenance-windows.md", "practice", "northbridge"),
    ("practices/blameless-reviews.md", "practice", "alpenwolke"),
    ("incidents/ceph-full-during-r4-upgrade.md", "incident", "alpenwolke"),
    ("incidents/keystone-certificate-expiry.md", "incident", "northbridge"),
    ("incidents/rabbitmq-partition-after-r3-upgrade.md", "incident", "northbridge"),
    ("incidents/federation-login-outage-r3.md", "incident", "scs"),
    ("incidents/octavia-amphora-failover-storm.md", "incident", "alpenwolke"),
]

# Release notes of the demo releases (a YAML list; see the file's header).
RELEASE_NOTES = CONTENT_DIR / "release-notes.yaml"

# (kind, original organisation, slug, adopting organisation): reuse across providers.
ADOPTIONS = [("runbook", "scs", "ceph-osd-nearfull", "alpenwolke")]
