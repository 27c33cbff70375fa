"""Unpacking uploaded tar.gz and zip archives of Markdown files, safely: no paths outside
the target, no links or devices, bounded size and file count (an archive bomb is a 413)."""

import io
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from django.conf import settings


class ArchiveError(Exception):
    """`too_large` says whether this is a size problem (413) or a bad archive (400)."""

    def __init__(self, message: str, *, too_large: bool = False):
        self.too_large = too_large
        super().__init__(message)


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArchiveError(f"archive entry '{name}' points outside the archive")
    return path


def _check_totals(count: int, size: int):
    if count > settings.IMPORT_MAX_FILES:
        raise ArchiveError(
            f"the archive holds more than {settings.IMPORT_MAX_FILES} files", too_large=True
        )
    if size > settings.IMPORT_MAX_UNPACKED_BYTES:
        raise ArchiveError(
            f"the archive unpacks to more than {settings.IMPORT_MAX_UNPACKED_BYTES} bytes",
            too_large=True,
        )


def unpack(data: bytes, target: Path) -> None:
    if data[:2] == b"\x1f\x8b" or tarfile.is_tarfile(io.BytesIO(data)):
        _unpack_tar(data, target)
    elif data[:4] == b"PK\x03\x04":
        _unpack_zip(data, target)
    else:
        raise ArchiveError("the upload is neither a tar.gz nor a zip archive")


def _unpack_tar(data: bytes, target: Path):
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            members = [m for m in archive.getmembers() if m.isfile() or m.isdir()]
            files = [m for m in members if m.isfile()]
            for member in members:
                _safe_name(member.name)
            _check_totals(len(files), sum(m.size for m in files))
            # The "data" filter refuses links, devices and absolute paths once more.
            archive.extractall(target, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"the tar archive cannot be read: {exc}") from None


def _unpack_zip(data: bytes, target: Path):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            for info in infos:
                _safe_name(info.filename)
            _check_totals(len(infos), sum(i.file_size for i in infos))
            for info in infos:
                destination = target / _safe_name(info.filename)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source:
                    # Read one byte past the declared size: a lying header is caught too.
                    content = source.read(info.file_size + 1)
                if len(content) > info.file_size:
                    raise ArchiveError(f"'{info.filename}' is larger than its header says")
                destination.write_bytes(content)
    except (
        zipfile.BadZipFile,
        OSError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as exc:
        # Corrupt data, unsupported compression methods and encrypted members.
        raise ArchiveError(f"the zip archive cannot be read: {exc}") from None
