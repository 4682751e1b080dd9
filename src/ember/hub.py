"""ember.hub: ``torch.hub``: the model cache folder, checkpoint downloads, and hubconf.py
entrypoints from a local folder or a GitHub repository.

This is ember's one implementation of fetching checkpoints: ``ember.vision`` loads its
weights through :func:`load_state_dict_from_url` and checks sha256 prefixes with the same
helper. Folders and file names are PyTorch's (``$TORCH_HOME/hub``, ``hub/checkpoints``,
``owner_repo_ref`` for repositories), so a cache filled by PyTorch is used by ember, and
the reverse.

A ``hubconf.py`` that does ``import torch`` gets ember when the script runs under
``ember run`` (which maps ``torch`` to ``ember`` for the process).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
import warnings
import zipfile
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = [
    "download_url_to_file", "get_dir", "help", "list", "load", "load_state_dict_from_url",
    "set_dir",
]

# resnet18-f37072fd.pth -> f37072fd: the leading digits of the file's sha256.
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
READ_DATA_CHUNK = 128 * 1024
MODULE_HUBCONF = "hubconf.py"
VAR_DEPENDENCY = "dependencies"
ENV_GITHUB_TOKEN = "GITHUB_TOKEN"
# Repositories loaded without asking, as PyTorch's list.
_TRUSTED_REPO_OWNERS = ("facebookresearch", "facebookincubator", "pytorch", "fairinternal")
# Where repositories come from; tests point these at a local server.
_GITHUB = "https://github.com"
_GITHUB_API = "https://api.github.com"

_hub_dir: str | None = None


# -- folders -------------------------------------------------------------------------------

def _get_torch_home() -> str:
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return os.path.expanduser(os.getenv("TORCH_HOME", default))


def get_dir() -> str:
    """The hub cache folder: the one given to :func:`set_dir`, else ``$TORCH_HOME/hub``
    (``$TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, that to ``~/.cache``): the
    folder PyTorch uses, so checkpoints it fetched are found offline."""
    if os.getenv("TORCH_HUB"):
        warnings.warn("TORCH_HUB is deprecated, please use env TORCH_HOME instead",
                      stacklevel=2)
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_get_torch_home(), "hub")


def set_dir(d) -> None:
    """Use folder ``d`` (``~`` expanded) for repositories and checkpoints from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


# -- downloads -----------------------------------------------------------------------------

class _StderrProgress:
    """A minimal bar on stderr, for when tqdm is not installed."""

    def __init__(self, total=None, disable=False, **kwargs):
        self.total, self.disable, self.n = total, disable, 0

    def update(self, n):
        if self.disable:
            return
        self.n += n
        text = f"{self.n:.1f} bytes" if not self.total else f"{100 * self.n / self.total:.1f}%"
        sys.stderr.write("\r" + text)
        sys.stderr.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not self.disable:
            sys.stderr.write("\n")


def _progress_bar(total, progress: bool):
    try:
        from tqdm import tqdm
    except ImportError:
        return _StderrProgress(total=total, disable=not progress)
    return tqdm(total=total, disable=not progress, unit="B", unit_scale=True,
                unit_divisor=1024)


def _sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(READ_DATA_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_hash_prefix(digest: str, hash_prefix: str | None) -> None:
    """Raise PyTorch's RuntimeError when sha256 ``digest`` does not start with
    ``hash_prefix`` (None or '' accepts anything). Shared with vision's dataset downloads
    so one message and one rule cover every file ember fetches."""
    if hash_prefix and digest[:len(hash_prefix)] != hash_prefix:
        raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None,
                         progress: bool = True) -> None:
    """Save the object at ``url`` (http(s):// or file://) to the path ``dst``.

    The bytes go to a ``<dst>.<uuid>.partial`` file first and are moved into place only
    when complete and, with ``hash_prefix``, when their sha256 starts with it, so an
    interrupted or corrupt download never replaces a working checkpoint.

    Raises:
        urllib.error.URLError: the server cannot be reached (HTTPError for 404 and kin).
        RuntimeError: the sha256 does not start with ``hash_prefix``.
    """
    dst = os.path.expanduser(dst)
    for _ in range(tempfile.TMP_MAX):
        partial = f"{dst}.{uuid.uuid4().hex}.partial"
        try:
            out = open(partial, "xb")  # noqa: SIM115 - closed in finally
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(errno.EEXIST, "No usable temporary file name found")
    try:
        with urlopen(Request(url, headers={"User-Agent": "torch.hub"})) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            sha256 = hashlib.sha256() if hash_prefix is not None else None
            with _progress_bar(total, progress) as bar:
                for chunk in iter(lambda: response.read(READ_DATA_CHUNK), b""):
                    out.write(chunk)
                    if sha256 is not None:
                        sha256.update(chunk)
                    bar.update(len(chunk))
        out.close()
        if sha256 is not None:
            check_hash_prefix(sha256.hexdigest(), hash_prefix)
        shutil.move(partial, dst)
    finally:
        out.close()
        if os.path.exists(partial):
            os.remove(partial)


def _is_legacy_zip_format(filename: str) -> bool:
    """A zip holding one file: how pre-1.6 checkpoints were sometimes published."""
    if not zipfile.is_zipfile(filename):
        return False
    with zipfile.ZipFile(filename) as archive:
        members = archive.infolist()
    return len(members) == 1 and not members[0].is_dir()


def _legacy_zip_load(filename, model_dir, map_location, weights_only):
    import ember

    warnings.warn("Falling back to the old format < 1.6. This support will be deprecated in "
                  "favor of default zipfile format introduced in 1.6. Please redo "
                  "torch.save() to save it in the new zipfile format.", FutureWarning,
                  stacklevel=3)
    with zipfile.ZipFile(filename) as archive:
        _safe_extract_zip(archive, model_dir)
        extracted = os.path.join(model_dir, archive.infolist()[0].filename)
    return ember.load(extracted, map_location=map_location, weights_only=weights_only)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = False):
    """Load the checkpoint at ``url``, downloading it into ``model_dir`` (default
    ``<get_dir()>/checkpoints``) only when no file of that name is there yet.

    Args:
        url: http(s):// or file:// address of a file written by ``torch.save``/``ember.save``.
        model_dir: the cache folder.
        map_location, weights_only: passed to :func:`ember.load`.
        progress: show a progress bar on stderr while downloading.
        check_hash: the file name must be ``name-<sha256 prefix>.ext``; the download is
            rejected (RuntimeError) when its sha256 does not start with that prefix.
        file_name: the name to cache under, instead of the URL's last path part.

    Example:
        >>> sd = ember.hub.load_state_dict_from_url("file:///tmp/resnet18-f37072fd.pth")
    """
    import ember

    if os.getenv("TORCH_MODEL_ZOO"):
        warnings.warn("TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead",
                      stacklevel=2)
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            match = HASH_REGEX.search(filename)
            hash_prefix = match.group(1) if match else None
        download_url_to_file(url, cached_file, hash_prefix, progress=progress)
    if _is_legacy_zip_format(cached_file):
        return _legacy_zip_load(cached_file, model_dir, map_location, weights_only)
    return ember.load(cached_file, map_location=map_location, weights_only=weights_only)


# -- repositories --------------------------------------------------------------------------

def _safe_extract_zip(archive: zipfile.ZipFile, target: str) -> None:
    """Extract ``archive`` into ``target``, refusing members that would land outside it."""
    root = Path(target).resolve()
    for member in archive.infolist():
        name = os.path.normpath(member.filename)
        if name.startswith(("/", "\\")) or (len(name) >= 2 and name[1] == ":"):
            raise ValueError(f"Archive entry has absolute path: {member.filename}")
        if ".." in re.split(r"[/\\]", name):
            raise ValueError(f"Archive entry contains directory traversal: {member.filename}")
        if not (root / name).resolve().is_relative_to(root):
            raise ValueError(f"Archive entry escapes target directory: {member.filename}")
        archive.extract(member, root)


def _remove_if_exists(path: str) -> None:
    if os.path.isfile(path):
        os.remove(path)
    elif os.path.exists(path):
        shutil.rmtree(path)


def _parse_repo_info(github: str):
    """``owner/name[:ref]`` -> (owner, name, ref); a missing ref is ``main`` when the
    repository has that branch, else ``master``. Offline, a cached copy of either ref
    is used; with none, RuntimeError says so."""
    repo_info, _, ref = github.partition(":")
    owner, name = repo_info.split("/")
    if ref:
        return owner, name, ref
    try:
        with urlopen(f"{_GITHUB}/{owner}/{name}/tree/main/"):
            return owner, name, "main"
    except HTTPError as err:
        if err.code == 404:
            return owner, name, "master"
        raise
    except URLError as err:
        for candidate in ("main", "master"):
            if os.path.exists(f"{get_dir()}/{owner}_{name}_{candidate}"):
                return owner, name, candidate
        raise RuntimeError("It looks like there is no internet connection and the repo could "
                           f"not be found in the cache ({get_dir()})") from err


def _read_json(url: str, headers: dict):
    with urlopen(Request(url, headers=headers)) as response:
        return json.loads(response.read().decode(response.headers.get_content_charset("utf-8")))


def _validate_not_a_forked_repo(owner: str, name: str, ref: str) -> None:
    """``ref`` must be a branch, tag or commit of ``owner/name`` itself (GitHub serves
    commits of forks under the parent's name too)."""
    headers = {"Accept": "application/vnd.github.v3+json"}
    token = os.environ.get(ENV_GITHUB_TOKEN)
    if token is not None:
        headers["Authorization"] = f"token {token}"
    for kind in ("branches", "tags"):
        page = 1
        while True:
            url = f"{_GITHUB_API}/repos/{owner}/{name}/{kind}?per_page=100&page={page}"
            try:
                entries = _read_json(url, headers)
            except HTTPError:
                headers.pop("Authorization", None)  # a token without rights: try without
                entries = _read_json(url, headers)
            if not entries:
                break
            if any(e["name"] == ref or e["commit"]["sha"].startswith(ref) for e in entries):
                return
            page += 1
    raise ValueError(f"Cannot find {ref} in https://github.com/{owner}/{name}. If it's a "
                     "commit from a forked repo, please call hub.load() with forked repo "
                     "directly.")


def _check_repo_is_trusted(owner: str, name: str, owner_name_ref: str, trust_repo) -> None:
    """PyTorch's trust rule: known owners, repositories in ``<hub>/trusted_list`` and
    ones already downloaded load silently; others ask on stdin (``trust_repo=False`` or
    ``"check"``), and ``trust_repo=True`` adds them to the list."""
    hub_dir = get_dir()
    listing = os.path.join(hub_dir, "trusted_list")
    Path(listing).touch()
    with open(listing) as f:
        trusted = tuple(line.strip() for line in f)
    downloaded = next(os.walk(hub_dir))[1]
    owner_name = f"{owner}_{name}"
    is_trusted = (owner_name in trusted or owner_name_ref in downloaded
                  or owner in _TRUSTED_REPO_OWNERS)
    if trust_repo is False or (trust_repo == "check" and not is_trusted):
        answer = input(f"The repository {owner_name} does not belong to the list of trusted "
                       "repositories and as such cannot be downloaded. Do you trust this "
                       "repository and wish to add it to the trusted list of repositories "
                       "(y/N)?")
        if answer.lower() in ("y", "yes"):
            if is_trusted:
                print("The repository is already trusted.")
        elif answer.lower() in ("n", "no", ""):
            raise Exception("Untrusted repository.")  # noqa: TRY002 - PyTorch's type
        else:
            raise ValueError(f"Unrecognized response {answer}.")
    if not is_trusted:
        with open(listing, "a") as f:
            f.write(owner_name + "\n")


def _get_cache_or_reload(github: str, force_reload: bool, trust_repo, verbose: bool = True,
                         skip_validation: bool = False) -> str:
    """The folder holding repository ``github``: the cached copy, or a fresh download of
    its zip archive (always with ``force_reload``)."""
    hub_dir = get_dir()
    os.makedirs(hub_dir, exist_ok=True)
    owner, name, ref = _parse_repo_info(github)
    normalized_ref = ref.replace("/", "_")  # branch names may hold '/'
    owner_name_ref = f"{owner}_{name}_{normalized_ref}"
    repo_dir = os.path.join(hub_dir, owner_name_ref)
    _check_repo_is_trusted(owner, name, owner_name_ref, trust_repo)
    if not force_reload and os.path.exists(repo_dir):
        if verbose:
            sys.stderr.write(f"Using cache found in {repo_dir}\n")
        return repo_dir
    try:
        if not skip_validation:
            _validate_not_a_forked_repo(owner, name, ref)
        cached_zip = os.path.join(hub_dir, normalized_ref + ".zip")
        _remove_if_exists(cached_zip)
        url = f"{_GITHUB}/{owner}/{name}/zipball/{ref}"
        sys.stdout.write(f'Downloading: "{url}" to {cached_zip}\n')
        download_url_to_file(url, cached_zip, progress=False)
    except HTTPError:
        raise
    except URLError as err:  # offline: say which repository and which cache were tried
        raise URLError(f"cannot download {owner}/{name} at {ref} ({err.reason}) and it is not "
                       f"in the hub cache ({repo_dir})") from err
    with zipfile.ZipFile(cached_zip) as archive:
        top = archive.infolist()[0].filename  # GitHub's 'owner-name-sha/' folder
        extracted = os.path.join(hub_dir, top)
        _remove_if_exists(extracted)
        _safe_extract_zip(archive, hub_dir)
    _remove_if_exists(cached_zip)
    _remove_if_exists(repo_dir)
    shutil.move(extracted, repo_dir)
    return repo_dir


@contextlib.contextmanager
def _on_sys_path(path: str):
    """hubconf.py imports its own repository's modules: put the folder first while
    it runs."""
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path.remove(path)


def _import_hubconf(repo_dir: str):
    path = os.path.join(repo_dir, MODULE_HUBCONF)
    spec = importlib.util.spec_from_file_location(MODULE_HUBCONF, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_dependencies(module) -> None:
    deps = getattr(module, VAR_DEPENDENCY, None)
    if deps is not None:
        missing = [pkg for pkg in deps if importlib.util.find_spec(pkg) is None]
        if missing:
            raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")


def _load_entry_from_hubconf(module, model):
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")  # noqa: TRY004
    _check_dependencies(module)
    entry = getattr(module, model) if model in dir(module) else None
    if entry is None or not callable(entry):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return entry


def list(github, force_reload=False, skip_validation=False, trust_repo="check",
         verbose=True):
    """Names of the public callables (entrypoints) in ``github``'s hubconf.py, sorted.

    ``github`` is ``owner/name[:ref]``; the repository is downloaded into :func:`get_dir`
    once and reused (``force_reload`` downloads it again).
    """
    repo_dir = _get_cache_or_reload(github, force_reload, trust_repo, verbose=verbose,
                                    skip_validation=skip_validation)
    with _on_sys_path(repo_dir):
        module = _import_hubconf(repo_dir)
    return [n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")]


def help(github, model, force_reload=False, skip_validation=False,
         trust_repo="check"):
    """The docstring of entrypoint ``model`` in ``github``'s hubconf.py."""
    repo_dir = _get_cache_or_reload(github, force_reload, trust_repo, verbose=True,
                                    skip_validation=skip_validation)
    with _on_sys_path(repo_dir):
        module = _import_hubconf(repo_dir)
    return _load_entry_from_hubconf(module, model).__doc__


def load(repo_or_dir, model, *args, source="github", trust_repo="check", force_reload=False,
         verbose=True, skip_validation=False, **kwargs):
    """Call entrypoint ``model`` of a hubconf.py with ``*args, **kwargs`` and return what
    it returns (usually an ``nn.Module``).

    Args:
        repo_or_dir: ``owner/name[:ref]`` for ``source="github"``, a folder for "local".
        model: the entrypoint's name.
        source: ``"github"`` or ``"local"``.

    Example:
        >>> net = ember.hub.load("path/to/repo", "resnet18", source="local")
    """
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "github":
        repo_or_dir = _get_cache_or_reload(repo_or_dir, force_reload, trust_repo,
                                           verbose=verbose, skip_validation=skip_validation)
    return _load_local(repo_or_dir, model, *args, **kwargs)


def _load_local(hubconf_dir, model, *args, **kwargs):
    with _on_sys_path(hubconf_dir):
        module = _import_hubconf(hubconf_dir)
        entry = _load_entry_from_hubconf(module, model)
        return entry(*args, **kwargs)

