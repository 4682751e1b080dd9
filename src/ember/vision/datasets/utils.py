"""Download and archive helpers under torchvision's module name (datasets.utils)."""

from ._download import (  # noqa: F401
    DownloadError,
    calculate_md5,
    check_integrity,
    check_md5,
    download_and_extract_archive,
    download_url,
    extract_archive,
    verify_str_arg,
)

__all__ = ["DownloadError", "calculate_md5", "check_integrity", "check_md5",
           "download_and_extract_archive", "download_url", "extract_archive",
           "verify_str_arg"]
