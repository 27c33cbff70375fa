#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main():
    from opsknowledge import localenv

    # The local development settings beside this file, written by `make run`; only here,
    # and only when DEBUG is not set (opsknowledge/localenv.py says why).
    localenv.load(Path(__file__).absolute().parent / "var" / ".env")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsknowledge.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
