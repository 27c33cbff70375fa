"""Uploaded archives: bombs are refused while reading, before they are decompressed in full;
only the documented formats are read; member names that are not UTF-8 are reported as text."""

import bz2
import io
import lzma
import os
import tarfile
import zipfile
import zlib

import pytest
from django.test import override_settings

from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.archives import ArchiveError, unpack
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(catalogue, token_client):
    alpen = OrganisationFactory(slug="alpen")
    return token_client(member(alpen, "editor", username="erika"), alpen)


def upload(client, data: bytes, content_type="application/gzip"):
    return client.post("/api/v1/import/", data, content_type=content_type)


def empty_headers(count: int) -> bytes:
    """A tar.gz of `count` empty files, each name random so that the stream does not
    compress to nothing: the shape of a header bomb, at a size a test can build."""
    stream = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    parts = []
    for _ in range(count):
        info = tarfile.TarInfo(f"{os.urandom(8).hex()}.md")
        parts.append(stream.compress(info.tobuf(format=tarfile.USTAR_FORMAT)))
    parts.append(stream.compress(b"\0" * 1024) + stream.flush())
    return b"".join(parts)


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes]], compression="gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for info, data in members:
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@override_settings(IMPORT_MAX_FILES=100)
def test_a_header_bomb_stops_at_the_file_limit_after_reading_little_of_it(tmp_path):
    bomb = empty_headers(20_000)
    source = io.BytesIO(bomb)
    with pytest.raises(ArchiveError, match="more than 100 files") as caught:
        unpack(source, tmp_path)
    assert caught.value.too_large
    # Reading stopped near the 101st header: a few kilobytes of a ~400 KB stream.
    assert source.tell() < len(bomb) / 20, (source.tell(), len(bomb))
    assert len(list(tmp_path.iterdir())) == 100


@override_settings(IMPORT_MAX_FILES=100)
def test_a_header_bomb_is_a_413_over_the_api(editor):
    response = upload(editor, empty_headers(2_000))
    assert response.status_code == 413, response.content
    assert "more than 100 files" in response.json()["error"]["detail"]
    assert not Runbook.objects.exists()


@override_settings(IMPORT_MAX_UNPACKED_BYTES=10_000, IMPORT_MAX_FILES=10)
def test_data_the_import_would_skip_still_counts_against_the_unpacked_limit(tmp_path):
    # A member of a type tarfile does not know: it reads (and skips) its data, which the
    # file limits do not see.
    odd = tarfile.TarInfo("blob")
    odd.type = b"Z"
    archive = tar_gz([(odd, b"\0" * 5_000_000)])
    with pytest.raises(ArchiveError, match="unpacks to more than 10000 bytes"):
        unpack(io.BytesIO(archive), tmp_path)


@override_settings(IMPORT_MAX_UNPACKED_BYTES=1_000_000)
def test_a_zip_bomb_is_refused_by_its_declared_size(editor):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ceph/Bomb.md", b"\0" * 50_000_000)
    response = upload(editor, buffer.getvalue(), "application/zip")
    assert response.status_code == 413, response.content
    assert not Runbook.objects.exists()


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress], ids=["bzip2", "xz"])
def test_tar_formats_that_are_not_documented_are_refused(editor, compress):
    plain = tar_gz([(tarfile.TarInfo("ceph/A.md"), b"# A\n")], compression="")
    response = upload(editor, compress(plain), "application/octet-stream")
    assert response.status_code == 400, response.content
    assert "neither a tar.gz nor a zip" in response.json()["error"]["fields"]["file"][0]


def test_zip_members_compressed_with_other_methods_are_refused(editor):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_LZMA) as archive:
        archive.writestr("ceph/A.md", "# A\n")
    response = upload(editor, buffer.getvalue(), "application/zip")
    assert response.status_code == 400, response.content
    assert "method other than deflate" in response.json()["error"]["fields"]["file"][0]


def test_a_plain_tar_is_still_read(editor):
    plain = tar_gz([(tarfile.TarInfo("ceph/A.md"), b"# A\n")], compression="")
    response = upload(editor, plain, "application/x-tar")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1


def test_member_names_that_are_not_utf8_are_reported_with_replacement_characters(editor):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        for name in (b"ceph/Caf\xe9.md", b"ceph/Plain.md"):
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            data = b"# Runbook\n\n## Meaning\nx\n"
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    response = upload(editor, buffer.getvalue())
    assert response.status_code == 200, response.content
    body = response.json()
    files = {f["file"]: f["outcome"] for f in body["files"]}
    assert files == {"ceph/Caf\ufffd.md": "created", "ceph/Plain.md": "created"}
    # What the answer says was written is what was written.
    assert body["created"] == Runbook.objects.count() == 2


def test_an_archive_made_with_tar_c_dir_dot_imports(editor, tmp_path):
    """`tar czf x.tar.gz -C runbooks .` starts with the entry "./", the archive's root."""
    source = tmp_path / "runbooks"
    (source / "ceph").mkdir(parents=True)
    (source / "ceph" / "osd-full.md").write_text("---\ntitle: OSD full\n---\n# OSD full\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(source, arcname=".")
        assert archive.getnames()[0] == "."
    response = upload(editor, buffer.getvalue())
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 1
    assert Runbook.objects.filter(slug="osd-full").exists()
