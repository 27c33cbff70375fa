"""Unpacking uploaded tar.gz and zip archives of Markdown files, safely: no paths outside
the target, no links or devices, bounded size and file count (an archive bomb is a 413).

The limits are checked while reading, before the next member is decompressed: a few
megabytes of gzip can hold millions of tar headers or gigabytes of data, so counting after
reading the whole archive already costs what the limits are there to prevent."""

import gzip
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings

# Per entry beyond its data: a header block, padding to the next block, and room for a
# long-name or pax header before it.
ENTRY_OVERHEAD = 4 * 512
# Deflate is what every zip tool writes; bzip2 and LZMA members are not needed, and give
# a bomb better ratios.
ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


class ArchiveError(Exception):
    """`too_large` says whether this is a size problem (413) or a bad archive (400)."""

    def __init__(self, message: str, *, too_large: bool = False):
        self.too_large = too_large
        super().__init__(message)


def readable_name(name: str) -> str:
    """A member name as text: bytes that are not UTF-8 (which tarfile keeps as surrogates,
    and JSON cannot carry) become replacement characters, in the file written and in the
    report alike."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArchiveError(f"archive entry '{name}' points outside the archive")
    return path


class _Totals:
    """Files and bytes seen so far; the first step past a limit is an error."""

    def __init__(self):
        self.files = 0
        self.entries = 0
        self.size = 0

    def add(self, *, is_file: bool, size: int):
        self.entries += 1
        if is_file:
            self.files += 1
            self.size += size
        # Directories count too, or a bomb of empty directory entries would be free.
        if self.files > settings.IMPORT_MAX_FILES or self.entries > 2 * settings.IMPORT_MAX_FILES:
            raise ArchiveError(
                f"the archive holds more than {settings.IMPORT_MAX_FILES} files", too_large=True
            )
        if self.size > settings.IMPORT_MAX_UNPACKED_BYTES:
            raise ArchiveError(
                f"the archive unpacks to more than {settings.IMPORT_MAX_UNPACKED_BYTES} bytes",
                too_large=True,
            )


class _CappedReader:
    """A decompressed stream that refuses to yield more than `limit` bytes: tarfile reads
    the data of members it skips (unknown types) and of pax headers, whatever they declare."""

    def __init__(self, stream: BinaryIO, limit: int):
        self.stream = stream
        self.limit = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.limit + 1 - self.count
        chunk = self.stream.read(max(0, min(size, self.limit + 1 - self.count)))
        self.count += len(chunk)
        if self.count > self.limit:
            raise ArchiveError(
                f"the archive unpacks to more than {settings.IMPORT_MAX_UNPACKED_BYTES} bytes",
                too_large=True,
            )
        return chunk


LINK_REASON = "a symbolic link; links are not followed"


def unpack(source: BinaryIO, target: Path) -> list[tuple[str, str]]:
    """Unpack a tar.gz, plain tar or zip read from `source` (a seekable binary file).
    Returns the (name, reason) of the entries not unpacked (links, devices), which the
    import reports as skipped files, as the command reports links in a directory."""
    head = source.read(512)
    source.seek(0)
    if head[:2] == b"\x1f\x8b":
        return _unpack_tar(gzip.GzipFile(fileobj=source, mode="rb"), target)
    elif head[257:262] == b"ustar":
        return _unpack_tar(source, target)
    elif head[:4] == b"PK\x03\x04":
        return _unpack_zip(source, target)
    else:
        # Also bzip2 and xz tars: neither is documented, and xz can declare 4 GiB.
        raise ArchiveError("the upload is neither a tar.gz nor a zip archive")


def _unpack_tar(stream: BinaryIO, target: Path):
    limit = settings.IMPORT_MAX_UNPACKED_BYTES + 2 * settings.IMPORT_MAX_FILES * ENTRY_OVERHEAD
    totals = _Totals()
    refused = []
    try:
        # Stream mode ("r|"): one pass, each member read only when the loop reaches it.
        with tarfile.open(
            fileobj=_CappedReader(stream, limit), mode="r|", errors="surrogateescape"
        ) as archive:
            for member in archive:
                totals.add(is_file=member.isfile(), size=member.size)
                if not (member.isfile() or member.isdir()):
                    # Links, devices: not safe to write, and said so rather than dropped.
                    name = readable_name(member.name).removeprefix("./")
                    is_link = member.issym() or member.islnk()
                    refused.append((name, LINK_REASON if is_link else "not a regular file"))
                    continue
                member.name = readable_name(member.name)
                if member.isdir() and not PurePosixPath(member.name).parts:
                    continue  # "./": the archive's own root, as `tar -C dir .` writes it
                _safe_name(member.name)
                # The "data" filter refuses links, devices and absolute paths once more.
                archive.extract(member, target, filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ArchiveError(f"the tar archive cannot be read: {exc}") from None
    return refused


def _unpack_zip(source: BinaryIO, target: Path):
    try:
        with zipfile.ZipFile(source) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            # A zip member whose Unix mode says "link" holds the link's target as its data.
            links = [i for i in infos if stat.S_ISLNK(i.external_attr >> 16)]
            refused = [(readable_name(i.filename), LINK_REASON) for i in links]
            infos = [i for i in infos if i not in links]
            totals = _Totals()
            # The central directory declares every size: refuse before decompressing any.
            for info in infos:
                totals.add(is_file=True, size=info.file_size)
                _safe_name(info.filename)
                if info.compress_type not in ZIP_METHODS:
                    raise ArchiveError(
                        f"'{info.filename}' is compressed with a method other than deflate"
                    )
            for info in infos:
                destination = target / _safe_name(readable_name(info.filename))
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as member:
                    # Read one byte past the declared size: a lying header is caught too.
                    content = member.read(info.file_size + 1)
                if len(content) > info.file_size:
                    raise ArchiveError(f"'{info.filename}' is larger than its header says")
                destination.write_bytes(content)
            return refused
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
