"""Downloading and unpacking dataset files: HTTP with md5 checks, resume, progress bar.

A partial download lives next to its target as ``<file>.part``; the next attempt asks the
server for the remaining bytes with a Range header and appends, so an interrupted
multi-hundred-megabyte fetch is not restarted from zero. Servers that ignore Range get a
fresh full download.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile

from ...hub import _sha256_of, check_hash_prefix

__all__ = [
    "DownloadError", "calculate_md5", "check_md5", "check_integrity", "download_url",
    "extract_archive", "download_and_extract_archive", "verify_str_arg",
]

USER_AGENT = "ember/vision"
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """The file could not be fetched: names the URL and the network error."""


def calculate_md5(fpath: str, chunk_size: int = _CHUNK) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str, md5: str, **kwargs) -> bool:
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: str, md5: str | None = None) -> bool:
    """True when the file exists and, if an md5 is given, matches it."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


def _progress_bar(total: int | None, initial: int, enabled: bool, desc: str):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety; downloading works without it
        return None
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=desc, leave=False)


def _fetch(url: str, part_path: str, progress: bool, timeout: float) -> None:
    """Append the bytes of ``url`` not yet in ``part_path`` (Range resume)."""
    have = os.path.getsize(part_path) if os.path.exists(part_path) else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # nothing left to send: the part file is complete
            return
        raise
    with response:
        if have and response.status != 206:
            have = 0  # the server ignored Range: start over
        length = response.headers.get("Content-Length")
        total = int(length) + have if length is not None else None
        bar = _progress_bar(total, have, progress, os.path.basename(part_path[:-5]))
        try:
            with open(part_path, "ab" if have else "wb") as out:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        if total is not None and os.path.getsize(part_path) < total:
            raise DownloadError(f"Error downloading {url}: connection closed after "
                                f"{os.path.getsize(part_path)} of {total} bytes")


def download_url(url: str, root: str, filename: str | None = None, md5: str | None = None,
                 max_redirect_hops: int = 3, progress: bool = True,
                 sha256_prefix: str | None = None, timeout: float = 60.0) -> str:
    """Download ``url`` into ``root/filename`` unless a verified copy is there already.

    Returns the file's path. Raises DownloadError (a RuntimeError) naming the URL and the
    network error when the server cannot be reached, and RuntimeError when the finished
    file fails its md5 (or sha256-prefix) check; the bad file is removed.
    """
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url.split("?")[0])
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return fpath
    part_path = fpath + ".part"
    try:
        _fetch(url, part_path, progress, timeout)
    except DownloadError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(f"Error downloading {url}: {reason}") from err
    os.replace(part_path, fpath)
    if md5 is not None and not check_md5(fpath, md5):
        actual = calculate_md5(fpath)
        os.remove(fpath)
        raise RuntimeError(f"File not found or corrupted: {filename} downloaded from {url} "
                           f"has md5 {actual}, expected {md5}.")
    if sha256_prefix:
        try:
            check_hash_prefix(_sha256_of(fpath), sha256_prefix)
        except RuntimeError as err:
            os.remove(fpath)
            raise RuntimeError(f"{err} for {filename} from {url}") from None
    return fpath


_COMPRESSORS = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz")


def extract_archive(from_path: str, to_path: str | None = None,
                    remove_finished: bool = False) -> str:
    """Unpack a .tar(.gz/.bz2/.xz), .zip, or a single .gz/.xz/.bz2 file into ``to_path``.

    Returns the folder (archives) or the decompressed file's path (single files).
    """
    to_path = to_path or os.path.dirname(from_path)
    lower = from_path.lower()
    if lower.endswith(_TAR_SUFFIXES):
        with tarfile.open(from_path) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(to_path, filter="data")  # refuses paths escaping to_path
            else:
                tar.extractall(to_path)
        result = to_path
    elif lower.endswith(".zip"):
        with zipfile.ZipFile(from_path) as archive:
            archive.extractall(to_path)
        result = to_path
    else:
        suffix = os.path.splitext(lower)[1]
        if suffix not in _COMPRESSORS:
            raise RuntimeError(f"File '{from_path}' is not a recognized archive or "
                               "compression format (.tar, .tar.gz, .tgz, .zip, .gz, .xz, "
                               ".bz2).")
        result = os.path.join(to_path, os.path.basename(from_path)[: -len(suffix)])
        with _COMPRESSORS[suffix](from_path, "rb") as src, open(result, "wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
    if remove_finished:
        os.remove(from_path)
    return result


def download_and_extract_archive(url: str, download_root: str,
                                 extract_root: str | None = None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False,
                                 progress: bool = True) -> str:
    download_root = os.path.expanduser(download_root)
    extract_root = extract_root or download_root
    filename = filename or os.path.basename(url.split("?")[0])
    download_url(url, download_root, filename, md5, progress=progress)
    return extract_archive(os.path.join(download_root, filename), extract_root,
                           remove_finished)


def verify_str_arg(value, arg: str | None = None, valid_values=None,
                   custom_msg: str | None = None) -> str:
    """torchvision's argument check, with its messages."""
    if not isinstance(value, str):
        msg = "Expected type str" if arg is None else f"Expected type str for argument {arg}"
        raise ValueError(f"{msg}, but got type {type(value)}.")
    if valid_values is None or value in valid_values:
        return value
    if custom_msg is not None:
        raise ValueError(custom_msg)
    valid = "'" + "', '".join(str(v) for v in valid_values) + "'"
    raise ValueError(f"Unknown value '{value}' for argument {arg}. "
                     f"Valid values are {{{valid}}}.")
