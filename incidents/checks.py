"""Deterministic checks of a failure report's text before it goes out: blameless language
(English and German) and redaction (addresses, internal host names, secrets).

Findings are dicts: {"check", "field", "position", "phrase", "suggestion"}; `position` is
the character offset of the phrase in that field's text.
"""

import re

from django.conf import settings

# (pattern, suggestion). Patterns are case-insensitive and match whole words.
BLAME_PATTERNS = [
    (r"human[\s-]+errors?", "Describe what in the system allowed the mistake, not the person."),
    (r"operator[\s-]+errors?", "Describe the conditions that made the action seem right."),
    (r"should\s+have\b", "Say what the system or process lacked, e.g. 'there was no check for …'."),
    (r"shouldn't\s+have\b|should\s+not\s+have\b", "Say which safeguard was missing."),
    (r"careless(?:ly|ness)?", "Describe the circumstances (time pressure, missing tooling)."),
    (r"fault\s+of\b", "Name the contributing factors instead of whose fault it was."),
    (r"(?:his|her|their)\s+fault\b", "Name the contributing factors instead of a person."),
    (r"negligen(?:ce|t|tly)", "Describe the missing safeguard instead."),
    (r"incompeten(?:t|ce)", "Describe the gap in training, documentation or tooling."),
    (r"blame[ds]?\b", "Blameless reports look for causes in systems, not people."),
    (r"(?:stupid|sloppy|lazy)\b", "Describe the circumstances, not the person."),
    (r"menschliche[sn]?\s+versagen", "Beschreiben Sie, was im System den Fehler ermöglichte."),
    (r"menschliche[rn]?\s+fehler", "Beschreiben Sie, was im System den Fehler ermöglichte."),
    (r"hätte[n]?\b[^.!?\n]{0,80}?\bsollen\b", "Beschreiben Sie die fehlende Schutzmaßnahme."),
    (r"(?:ist|war|sind|waren)\s+schuld\b|\bschuld\s+(?:ist|war|hat|haben)\b|\bschuldig",
     "Nennen Sie beitragende Faktoren statt Schuldige."),
    (r"fehler\s+(?:von|des|der)\s+\w+", "Nennen Sie beitragende Faktoren statt Personen."),
    (r"fahrlässig(?:keit)?", "Beschreiben Sie die fehlende Schutzmaßnahme."),
    (r"unachtsam(?:keit)?", "Beschreiben Sie die Umstände, nicht die Person."),
]  # fmt: skip
_BLAME = [(re.compile(rf"\b(?:{p})", re.IGNORECASE), s) for p, s in BLAME_PATTERNS]

IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?:/\d{1,2})?(?!\w|\.\d)"
)
# Full and compressed IPv6 forms with at least two groups around a "::" or eight groups.
IPV6 = re.compile(
    r"(?<![\w:.])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:|"
    r"(?:[0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,5}(?::[0-9a-f]{1,4}){1,2}|"
    r"(?:[0-9a-f]{1,4}:){1,4}(?::[0-9a-f]{1,4}){1,3}|(?:[0-9a-f]{1,4}:){1,3}(?::[0-9a-f]{1,4}){1,4}|"
    r"(?:[0-9a-f]{1,4}:){1,2}(?::[0-9a-f]{1,4}){1,5}|[0-9a-f]{1,4}:(?::[0-9a-f]{1,4}){1,6})"
    r"(?:/\d{1,3})?(?![\w:])",
    re.IGNORECASE,
)
# Every pattern below runs on user text of up to megabytes, twice per write: each must take
# linear time. A pattern that may start anywhere in a long run of its characters and scans
# the run to its end each time is quadratic ("a." * 30000 took 14 s against the e-mail
# pattern). Two remedies, both giving the same matches as the plain patterns would:
# a bound that real values keep (RFC 5321: a local part has at most 64 octets), or a start
# only at the beginning of such a run, an atomic group committing to the first place the
# plain pattern could start there (if that fails, every later start in the run fails too),
# possessive quantifiers where the next character cannot be taken back, and the finding in
# the group "phrase".
EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+\b")
SECRETS = [
    (re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"), "a private key"),
    (
        re.compile(
            r"(?<![a-z0-9+.-])(?>[a-z0-9+.-]*?(?=\b[a-z]))"
            r"(?P<phrase>[a-z][a-z0-9+.-]*+://[^\s/:@]++:[^\s/@]++@)",
            re.I,
        ),
        "a password in a URL",
    ),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (
        re.compile(
            r"(?<![A-Za-z0-9_-])(?>[A-Za-z0-9_-]*?(?=\beyJ))"
            r"(?P<phrase>eyJ[A-Za-z0-9_-]{10,}+\.[A-Za-z0-9_-]{10,}+\.[A-Za-z0-9_-]{10,}+)"
        ),
        "a JWT",
    ),
    (re.compile(r"\bokb_[A-Za-z0-9_-]{20,}"), "an opsknowledge API token"),
    (
        re.compile(
            r"\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)\s*+[:=]\s*+"
            r"(?!<|\*{3}|x{3}|redacted|\[redacted\])[^\s,;]{6,}",
            re.IGNORECASE,
        ),
        "a credential",
    ),
]  # fmt: skip


ATTENDEE_HEADINGS = re.compile(r"^(attendees|atendees|participants|teilnehmer(innen)?)\b", re.I)


def without_sections(markdown: str, title: re.Pattern) -> str:
    """`markdown` with the sections whose heading matches `title` blanked out (replaced by
    spaces, so positions of findings in the rest stay true)."""
    from opsknowledge.markdown import structure

    document = structure(markdown)  # the parse the write has just rendered, if it has
    lines = document.text.split("\n")
    for section in document.sections().walk():
        if title.match(section.title):
            for line_number in range(section.line, section.end_line + 1):
                lines[line_number - 1] = " " * len(lines[line_number - 1])
    return "\n".join(lines)


def _finding(check, field, match, suggestion):
    group = "phrase" if "phrase" in match.re.groupindex else 0
    return {
        "check": check,
        "field": field,
        "position": match.start(group),
        "phrase": match.group(group),
        "suggestion": suggestion,
    }


def blameless_findings(text: dict[str, str], people: list[str]) -> list[dict]:
    findings = []
    # Names are matched as written (case-sensitive): initials such as "AN" or "JS" must not
    # match the words "an" or "js".
    names = [
        (re.compile(rf"(?<!\w){re.escape(name.strip())}(?!\w)"), name.strip())
        for name in people
        if len(name.strip()) >= 2
    ]
    for field, value in text.items():
        if not value:
            continue
        for pattern, suggestion in _BLAME:
            for match in pattern.finditer(value):
                findings.append(_finding("blameless", field, match, suggestion))
        for pattern, name in names:
            for match in pattern.finditer(value):
                findings.append(
                    _finding(
                        "blameless",
                        field,
                        match,
                        f"'{name}' is named in the report; refer to roles ('the on-call "
                        "engineer'), not people.",
                    )
                )
    return sorted(findings, key=lambda f: (f["field"], f["position"]))


def redaction_findings(text: dict[str, str], internal_domains=None) -> list[dict]:
    domains = settings.INTERNAL_DOMAINS if internal_domains is None else internal_domains
    # A host name starts where a chain of labels starts: not after a label character, nor
    # after a dot that follows one (see the note on linear time above).
    hosts = (
        re.compile(
            r"(?<![a-z0-9-])(?<![a-z0-9-]\.)(?>(?:[a-z0-9-]|\.(?=[a-z0-9-]))*?(?=\b[a-z0-9-]))"
            r"(?P<phrase>(?:[a-z0-9-]+\.)+(?:"
            + "|".join(re.escape(d.strip(".")) for d in domains)
            + r")\b)",
            re.IGNORECASE,
        )
        if domains
        else None
    )
    findings = []
    for field, value in text.items():
        if not value:
            continue
        for match in IPV4.finditer(value):
            findings.append(_finding("redaction", field, match, "Remove or mask the IP address."))
        for match in IPV6.finditer(value):
            if match.group(0).count(":") >= 2 and not re.fullmatch(r"[\d:]+", match.group(0)):
                findings.append(
                    _finding("redaction", field, match, "Remove or mask the IPv6 address.")
                )
        for match in EMAIL.finditer(value):
            findings.append(_finding("redaction", field, match, "Remove the e-mail address."))
        if hosts is not None:
            for match in hosts.finditer(value):
                findings.append(
                    _finding("redaction", field, match, "Internal host name: generalise it.")
                )
        for pattern, what in SECRETS:
            for match in pattern.finditer(value):
                findings.append(
                    _finding("redaction", field, match, f"This looks like {what}: remove it.")
                )
    return sorted(findings, key=lambda f: (f["field"], f["position"]))
