"""Importing the Sovereign Cloud Stack release notes, the k8s-cluster-api-provider upgrade
guide and the OSISM upgrade notes (API.md "Releases and upgrades", "Management commands").

Three sources, three commands:

- `import_release_notes`: `README.md` of SovereignCloudStack/release-notes is the index; only
  the top-level `ReleaseN.md` files it links are releases (`ReleaseX.md` is the template,
  `drafts/` an unreleased R8). Each file yields its release (slug, name, version tag, date,
  place in the upgrade chain) and its notes, one per subsection or list item of the
  template's sections (Upgrade/Migration notes, Deprecations, ...).
- `import_upgrade_guide`: each `R<a> to R<b>` hop of `doc/Upgrade-Guide.md` becomes an
  upgrade runbook made of the hop's management host part and its workload cluster part.
- `import_osism_notes`: the "Upgrade notes" and "Known issues" of an OSISM major release
  become notes of the SCS release that ships it (OSISM 7 is in R6, OSISM 8 in R7).

The real files bend every rule a parser would like to rely on: dates are written three
ways, R6's title line ends in a TAB, README.md and Release7.md disagree on R7's date (the
file wins), R2's tagging section also names R3's tag, R6's names its tag twice ("`7.0.0` or
`v7.0.0`"), and sections are missing, empty or say "Nothing ...".

The modules follow the layers: `notes` (what every source shares: titles, list items, the
section-to-kind rules, slugs), one parser per source (`scs`, `upgrade_guide`, `osism`), and
`writing`. The parsers are pure: text in, dataclasses out, so they are tested without a
database and are deterministic, which makes every import idempotent (same file, same note
slugs, same fields). The writing goes through the same services as the API
(`release_note_upsert`, `import_document`).
"""
