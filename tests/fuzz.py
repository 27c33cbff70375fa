"""Schema-driven fuzzing of a real instance: `make fuzz` (or `python -m tests.fuzz`).

gunicorn on a fresh database of the kind DATABASE_URL names, with the demo content; then
schemathesis against /api/schema/, once anonymous and once with an editor's token, with the
checks the contract promises, a fixed seed and a bounded number of examples per operation,
so two runs on the same code send the same requests. Exits non-zero on any finding.

Not `use_after_free`: DELETE archives, and an archived document stays readable by contract.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .processes import ROOT, gunicorn, manage, project_env, scratch_database

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,negative_data_rejection"
)
SEED = os.environ.get("FUZZ_SEED", "20240214")
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "10")
ORGANISATION = "alpenwolke"  # a demo organisation with documents of every kind


def prepare(env: dict) -> str:
    """Migrate and load the demo; returns an editor's token key."""
    for command in (
        ["migrate", "-v0"],
        ["load_demo"],
        ["add_member", "fuzzer", ORGANISATION, "--role", "editor"],
    ):
        result = manage(*command, env=env, timeout=300)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    token = manage("create_token", "fuzzer", "--organisation", ORGANISATION, env=env)
    if token.returncode != 0:
        sys.exit(f"create_token failed:\n{token.stderr}")
    return token.stdout.strip()


def schemathesis(base: str, *headers: str, label: str, report_dir: Path) -> int:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{base}/api/schema/?format=json",
        "--url",
        base,
        "--checks",
        CHECKS,
        "--seed",
        SEED,
        "--max-examples",
        MAX_EXAMPLES,
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report_dir / f"{label}.ndjson"),
    ]
    for header in headers:
        command += ["--header", header]
    print(f"== schemathesis, {label}", flush=True)
    return subprocess.run(command, cwd=ROOT).returncode


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        scratch = Path(scratch)
        with scratch_database(scratch) as url:
            env = project_env(DEBUG="0", SECRET_KEY="fuzz-" + "x" * 50, DATABASE_URL=url)
            key = prepare(env)
            report_dir = Path(os.environ.get("FUZZ_REPORT_DIR", scratch))
            report_dir.mkdir(parents=True, exist_ok=True)
            with (
                (report_dir / "gunicorn.log").open("w") as log,
                gunicorn(env, workers=2, threads=2, log=log) as base,
            ):
                anonymous = schemathesis(base, label="anonymous", report_dir=report_dir)
                editor = schemathesis(
                    base, f"Authorization: Token {key}", label="editor", report_dir=report_dir
                )
    return 1 if anonymous or editor else 0


if __name__ == "__main__":
    sys.exit(main())
