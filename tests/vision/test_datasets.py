"""ember.vision.datasets: file formats, downloads from a loopback HTTP server, folders.

The test builds every file itself (IDX, CIFAR pickles, .mat, image folders) and serves
them from http.server on 127.0.0.1, so downloading (md5, Range resume, mirrors, archive
extraction, offline errors) is exercised for real without the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import pickle
import socket
import tarfile
import threading
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

import ember
from ember.utils.data import DataLoader
from ember.vision import datasets as D
from ember.vision.datasets._download import DownloadError, download_url

RNG = np.random.default_rng(6)


# -- file builders -------------------------------------------------------------------------

_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D,
              np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, _IDX_CODES[array.dtype], array.ndim])
    dims = np.asarray(array.shape, dtype=">i4").tobytes()
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def mnist_arrays(n: int):
    return (RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            RNG.integers(0, 10, n).astype(np.uint8))


def mnist_files(n_train=7, n_test=5) -> dict[str, tuple[bytes, np.ndarray]]:
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images, labels = mnist_arrays(n)
        files[f"{prefix}-images-idx3-ubyte"] = (idx_bytes(images), images)
        files[f"{prefix}-labels-idx1-ubyte"] = (idx_bytes(labels), labels)
    return files


# -- the loopback server ---------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files``; honours Range unless ``server.ignore_range``; can cut the
    first response short (``server.truncate_once``) to exercise resuming."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and not server.ignore_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if server.truncate_once is not None and self.path in server.truncate_once:
            server.truncate_once.discard(self.path)
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests = {}, []
    httpd.ignore_range, httpd.truncate_once = False, None
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dead_url():
    """A loopback port with nothing listening: connections are refused (offline)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/"


# -- IDX --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype,shape", [
    (np.uint8, (4, 5, 6)), (np.int8, (3,)), (np.int16, (2, 3)), (np.int32, (5, 8)),
    (np.float32, (2, 2, 2)), (np.float64, (3, 1)),
])
@pytest.mark.parametrize("compressed", [False, True])
def test_read_idx(tmp_path, dtype, shape, compressed):
    array = (RNG.standard_normal(shape) * 100).astype(dtype)
    data = idx_bytes(array)
    path = tmp_path / ("a.idx.gz" if compressed else "a.idx")
    path.write_bytes(gzip.compress(data) if compressed else data)
    out = D.read_idx(str(path))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_read_idx_rejects_bad_magic(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(RuntimeError, match="bad magic"):
        D.read_idx(str(tmp_path / "bad"))


# -- MNIST family ------------------------------------------------------------------------------

MNIST_CLASSES = [D.MNIST, D.FashionMNIST, D.KMNIST]


def _write_raw(folder, files, compress):
    os.makedirs(folder, exist_ok=True)
    for name, (data, _) in files.items():
        if compress:
            with open(os.path.join(folder, name + ".gz"), "wb") as f:
                f.write(gzip.compress(data))
        else:
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)


@pytest.mark.parametrize("cls", MNIST_CLASSES)
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("train", [True, False])
def test_mnist_reads_raw_and_gz(tmp_path, cls, compress, train):
    files = mnist_files()
    _write_raw(tmp_path / cls.__name__ / "raw", files, compress)
    ds = cls(str(tmp_path), train=train)
    prefix = "train" if train else "t10k"
    images = files[f"{prefix}-images-idx3-ubyte"][1]
    labels = files[f"{prefix}-labels-idx1-ubyte"][1]
    assert len(ds) == len(images)
    assert ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == images.shape
    assert ds.targets.dtype == ember.int64
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    img, target = ds[2]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), images[2])
    assert type(target) is int and target == labels[2]
    assert ds.class_to_idx[ds.classes[3]] == 3 and len(ds.classes) == 10
    assert f"Split: {'Train' if train else 'Test'}" in repr(ds)
    assert f"Dataset {cls.__name__}" in repr(ds)


def test_mnist_transforms_applied(tmp_path):
    files = mnist_files()
    _write_raw(tmp_path / "MNIST" / "raw", files, False)
    ds = D.MNIST(str(tmp_path), transform=lambda im: np.asarray(im).sum(),
                 target_transform=lambda t: t + 100)
    img_sum, target = ds[0]
    images, labels = files["train-images-idx3-ubyte"][1], files["train-labels-idx1-ubyte"][1]
    assert img_sum == images[0].sum() and target == labels[0] + 100
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform"):
        D.vision.VisionDataset(str(tmp_path), transforms=lambda a, b: (a, b),
                               transform=lambda a: a)


@pytest.mark.parametrize("cls", MNIST_CLASSES + [D.CIFAR10, D.CIFAR100])
def test_missing_dataset_error(tmp_path, cls):
    msg = ("Dataset not found. You can use download=True to download it" if
           issubclass(cls, D.MNIST) else
           "Dataset not found or corrupted. You can use download=True to download it")
    with pytest.raises(RuntimeError) as info:
        cls(str(tmp_path))
    assert str(info.value) == msg


def _serve_mnist(server, cls, monkeypatch, files, path="/mnist/"):
    resources = []
    for name, (data, _) in files.items():
        gz = gzip.compress(data)
        server.files[f"{path}{name}.gz"] = gz
        resources.append((name + ".gz", md5(gz)))
    monkeypatch.setattr(cls, "resources", resources)


@pytest.mark.parametrize("cls", MNIST_CLASSES)
def test_mnist_download_falls_back_to_next_mirror(tmp_path, server, dead_url, monkeypatch,
                                                  cls, capsys):
    files = mnist_files()
    _serve_mnist(server, cls, monkeypatch, files)
    monkeypatch.setattr(cls, "mirrors", [dead_url, server.url + "/mnist/"])
    ds = cls(str(tmp_path), train=False, download=True)
    np.testing.assert_array_equal(ds.data.numpy(), files["t10k-images-idx3-ubyte"][1])
    assert "Failed to download (trying next)" in capsys.readouterr().err
    # A second construction with download=True finds the files and fetches nothing.
    count = len(server.requests)
    cls(str(tmp_path), train=True, download=True)
    assert len(server.requests) == count


def test_mnist_download_offline_error_names_url(tmp_path, dead_url, monkeypatch):
    monkeypatch.setattr(D.MNIST, "mirrors", [dead_url])
    with pytest.raises(RuntimeError) as info:
        D.MNIST(str(tmp_path), download=True)
    text = str(info.value)
    assert "Error downloading train-images-idx3-ubyte.gz" in text
    assert dead_url + "train-images-idx3-ubyte.gz" in text
    assert "refused" in text.lower()


def test_download_md5_mismatch_removes_file(tmp_path, server):
    server.files["/f.bin"] = b"hello"
    with pytest.raises(RuntimeError, match="has md5 .* expected 0+"):
        download_url(server.url + "/f.bin", str(tmp_path), md5="0" * 32, progress=False)
    assert not (tmp_path / "f.bin").exists()
    path = download_url(server.url + "/f.bin", str(tmp_path), md5=md5(b"hello"),
                        progress=False)
    assert open(path, "rb").read() == b"hello"


def test_download_404_is_a_clear_error(tmp_path, server):
    with pytest.raises(DownloadError, match=r"Error downloading http://127\.0\.0\.1:\d+/x"):
        download_url(server.url + "/x", str(tmp_path), progress=False)


@pytest.mark.parametrize("ignore_range", [False, True])
def test_download_resumes_with_range(tmp_path, server, ignore_range):
    body = RNG.integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    server.files["/big.bin"] = body
    server.truncate_once = {"/big.bin"}
    server.ignore_range = ignore_range
    url = server.url + "/big.bin"
    with pytest.raises(DownloadError, match="connection closed after"):
        download_url(url, str(tmp_path), md5=md5(body), progress=False)
    part = tmp_path / "big.bin.part"
    assert part.exists() and 0 < part.stat().st_size < len(body)
    path = download_url(url, str(tmp_path), md5=md5(body), progress=True)
    assert open(path, "rb").read() == body and not part.exists()
    assert server.requests[-1][1] == f"bytes={len(body) // 2}-"


def test_download_part_already_complete(tmp_path, server):
    server.files["/done.bin"] = b"abc"
    (tmp_path / "done.bin.part").write_bytes(b"abc")
    path = download_url(server.url + "/done.bin", str(tmp_path), md5=md5(b"abc"),
                        progress=False)
    assert open(path, "rb").read() == b"abc"


# -- EMNIST / QMNIST ---------------------------------------------------------------------------

def test_emnist_download_zip(tmp_path, server, monkeypatch):
    images, labels = mnist_arrays(6)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            for part in ("train", "test"):
                archive.writestr(f"gzip/emnist-letters-{part}-{kind}-ubyte.gz",
                                 gzip.compress(idx_bytes(arr)))
    server.files["/emnist/gzip.zip"] = buf.getvalue()
    monkeypatch.setattr(D.EMNIST, "url", server.url + "/emnist/gzip.zip")
    monkeypatch.setattr(D.EMNIST, "md5", md5(buf.getvalue()))
    ds = D.EMNIST(str(tmp_path), split="letters", download=True)
    assert ds.classes[0] == "N/A" and len(ds.classes) == 27
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert ds[1][1] == labels[1]
    assert not (tmp_path / "EMNIST" / "raw" / "gzip").exists()


@pytest.mark.parametrize("split,n", [("byclass", 62), ("bymerge", 47), ("balanced", 47),
                                     ("letters", 27), ("digits", 10), ("mnist", 10)])
def test_emnist_split_classes(split, n):
    assert len(D.EMNIST.classes_split_dict[split]) == n


def test_emnist_bad_split(tmp_path):
    with pytest.raises(ValueError) as info:
        D.EMNIST(str(tmp_path), split="nope")
    assert str(info.value) == ("Unknown value 'nope' for argument split. Valid values are "
                               "{'byclass', 'bymerge', 'balanced', 'letters', 'digits', "
                               "'mnist'}.")


@pytest.mark.parametrize("what,rows", [("train", slice(None)), ("test", slice(None)),
                                       ("test10k", slice(0, 10000)),
                                       ("test50k", slice(10000, None))])
@pytest.mark.parametrize("compat", [True, False])
def test_qmnist(tmp_path, what, rows, compat):
    n = 10003 if what.startswith("test") else 12
    images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = RNG.integers(0, 1000, (n, 8)).astype(np.int32)
    raw = tmp_path / "QMNIST" / "raw"
    raw.mkdir(parents=True)
    subset = "train" if what == "train" else "test"
    (raw / f"qmnist-{subset}-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(images), compresslevel=1))
    (raw / f"qmnist-{subset}-labels-idx2-int").write_bytes(idx_bytes(labels))
    ds = D.QMNIST(str(tmp_path), what=what, compat=compat)
    assert len(ds) == len(images[rows])
    np.testing.assert_array_equal(ds.targets.numpy(), labels[rows])
    assert ds.targets.dtype == ember.int64
    img, target = ds[1]
    np.testing.assert_array_equal(np.asarray(img), images[rows][1])
    if compat:
        assert type(target) is int and target == labels[rows][1, 0]
    else:
        assert isinstance(target, ember.Tensor) and target.tolist() == labels[rows][1].tolist()


def test_qmnist_train_flag_picks_subset(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found"):
        D.QMNIST(str(tmp_path), train=False)
    with pytest.raises(ValueError, match="Unknown value 'x' for argument what"):
        D.QMNIST(str(tmp_path), what="x")


# -- CIFAR -------------------------------------------------------------------------------------

def _cifar_tar(cls, n_per_batch):
    """A tar.gz laid out like the real one, plus the matching list/md5 attributes."""
    members, expected = {}, {}
    label_key = "labels" if cls is D.CIFAR10 else "fine_labels"
    num_classes = 10 if cls is D.CIFAR10 else 100
    for group in ("train_list", "test_list"):
        entries = []
        for name, _ in getattr(cls, group):
            data = RNG.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
            targets = RNG.integers(0, num_classes, n_per_batch).tolist()
            blob = pickle.dumps({"data": data, label_key: targets, "batch_label": name},
                                protocol=2)
            members[name] = blob
            entries.append([name, md5(blob)])
            expected.setdefault(group, []).append((data, targets))
        expected[group + "_attr"] = entries
    names = [f"class{i}" for i in range(num_classes)]
    meta_blob = pickle.dumps({cls.meta["key"]: names}, protocol=2)
    members[cls.meta["filename"]] = meta_blob
    meta = dict(cls.meta, md5=md5(meta_blob))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"{cls.base_folder}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buf.getvalue(), expected, meta, names


@pytest.mark.parametrize("cls", [D.CIFAR10, D.CIFAR100])
def test_cifar_download_and_layout(tmp_path, server, monkeypatch, cls):
    archive, expected, meta, names = _cifar_tar(cls, 4)
    server.files["/" + cls.filename] = archive
    monkeypatch.setattr(cls, "url", server.url + "/" + cls.filename)
    monkeypatch.setattr(cls, "tgz_md5", md5(archive))
    monkeypatch.setattr(cls, "train_list", expected["train_list_attr"])
    monkeypatch.setattr(cls, "test_list", expected["test_list_attr"])
    monkeypatch.setattr(cls, "meta", meta)
    for train, group in ((True, "train_list"), (False, "test_list")):
        ds = cls(str(tmp_path), train=train, download=True)
        data = np.vstack([d for d, _ in expected[group]])
        targets = sum((t for _, t in expected[group]), [])
        assert ds.data.shape == (len(data), 32, 32, 3) and ds.data.dtype == np.uint8
        np.testing.assert_array_equal(ds.data, data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        assert ds.targets == targets and len(ds) == len(targets)
        img, target = ds[3]
        assert img.mode == "RGB" and img.size == (32, 32) and target == targets[3]
        np.testing.assert_array_equal(np.asarray(img)[..., 1],
                                      data[3, 1024:2048].reshape(32, 32))
        assert ds.classes == names and ds.class_to_idx[names[5]] == 5
    assert sum(1 for path, _ in server.requests if path.endswith(".tar.gz")) == 1


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_unpickler_refuses_code(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({"data": _Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="forbidden"):
        D.cifar.safe_pickle_load(str(path))
    arr = RNG.integers(0, 256, (2, 5), dtype=np.uint8)
    for protocol in (2, 4, 5):
        path.write_bytes(pickle.dumps({"data": arr, "labels": [1, 2]}, protocol=protocol))
        loaded = D.cifar.safe_pickle_load(str(path))
        np.testing.assert_array_equal(loaded["data"], arr)
    # The published batches were pickled by NumPy 1.x: module numpy.core.multiarray.
    blob = pickle.dumps({"data": arr}, protocol=2)
    path.write_bytes(blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    np.testing.assert_array_equal(D.cifar.safe_pickle_load(str(path))["data"], arr)


# -- SVHN --------------------------------------------------------------------------------------

def test_svhn(tmp_path, monkeypatch):
    import scipy.io

    x = RNG.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [2], [10], [9]], dtype=np.uint8)
    scipy.io.savemat(tmp_path / "test_32x32.mat", {"X": x, "y": y})
    digest = md5((tmp_path / "test_32x32.mat").read_bytes())
    split_list = dict(D.SVHN.split_list, test=["unused", "test_32x32.mat", digest])
    monkeypatch.setattr(D.SVHN, "split_list", split_list)
    ds = D.SVHN(str(tmp_path), split="test")
    assert ds.data.shape == (5, 3, 32, 32)
    np.testing.assert_array_equal(ds.labels, [0, 1, 2, 0, 9])
    img, target = ds[4]
    np.testing.assert_array_equal(np.asarray(img), x[..., 4])
    assert target == 9 and "Split: test" in repr(ds)
    with pytest.raises(ValueError, match="Unknown value 'dev' for argument split"):
        D.SVHN(str(tmp_path), split="dev")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        D.SVHN(str(tmp_path), split="train")


def test_svhn_without_scipy_says_so(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("no scipy")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="install scipy"):
        D.svhn._loadmat("x.mat")


# -- folders -----------------------------------------------------------------------------------

def _image_tree(root, layout):
    for cls, names in layout.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for name in names:
            path = root / cls / name
            if name.endswith((".png", ".jpg", ".bmp")):
                Image.fromarray(RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)).save(path)
            else:
                path.write_text("not an image")


def test_image_folder(tmp_path):
    _image_tree(tmp_path, {"dog": ["b.png", "a.jpg", "notes.txt"], "cat": ["z.PNG".lower()],
                           "bird": ["x.bmp"]})
    (tmp_path / "dog" / "sub").mkdir()
    Image.new("L", (3, 3)).save(tmp_path / "dog" / "sub" / "c.png")
    ds = D.ImageFolder(str(tmp_path))
    assert ds.classes == ["bird", "cat", "dog"]
    assert ds.class_to_idx == {"bird": 0, "cat": 1, "dog": 2}
    rel = [(os.path.relpath(p, tmp_path), t) for p, t in ds.samples]
    assert rel == [("bird/x.bmp", 0), ("cat/z.png", 1), ("dog/a.jpg", 2), ("dog/b.png", 2),
                   ("dog/sub/c.png", 2)]
    assert ds.targets == [0, 1, 2, 2, 2] and ds.imgs is ds.samples and len(ds) == 5
    img, target = ds[4]
    assert img.mode == "RGB" and img.size == (3, 3) and target == 2


def test_dataset_folder_is_valid_file_and_loader(tmp_path):
    _image_tree(tmp_path, {"a": ["1.txt", "2.dat"], "b": ["3.txt"]})
    ds = D.DatasetFolder(str(tmp_path), loader=lambda p: open(p).read(),
                         is_valid_file=lambda p: p.endswith(".txt"))
    assert [os.path.basename(p) for p, _ in ds.samples] == ["1.txt", "3.txt"]
    assert ds[0] == ("not an image", 0)
    ds = D.DatasetFolder(str(tmp_path), loader=len, extensions=(".dat",), allow_empty=True)
    assert ds.targets == [0]


def test_folder_errors(tmp_path):
    _image_tree(tmp_path, {"a": ["1.png"], "empty": []})
    with pytest.raises(FileNotFoundError) as info:
        D.ImageFolder(str(tmp_path))
    assert str(info.value).startswith("Found no valid file for the classes empty. "
                                      "Supported extensions are: .jpg, .jpeg, .png")
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None"):
        D.make_dataset(str(tmp_path), {"a": 0})
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None"):
        D.make_dataset(str(tmp_path), {"a": 0}, extensions=".png", is_valid_file=bool)
    (tmp_path / "flat").mkdir()
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder in"):
        D.find_classes(str(tmp_path / "flat"))


# -- archives ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz", "gz", "xz"])
def test_extract_archive(tmp_path, kind):
    payload = b"payload-" + kind.encode()
    src = tmp_path / f"file.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(src, "w") as archive:
            archive.writestr("inner/data.bin", payload)
    elif kind.startswith("tar"):
        with tarfile.open(src, "w:gz" if kind == "tar.gz" else "w") as tar:
            info = tarfile.TarInfo("inner/data.bin")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    elif kind == "gz":
        src.write_bytes(gzip.compress(payload))
    else:
        import lzma
        src.write_bytes(lzma.compress(payload))
    out = tmp_path / "out"
    out.mkdir()
    result = D.extract_archive(str(src), str(out))
    target = out / "inner" / "data.bin" if kind in ("zip", "tar", "tar.gz") else out / "file"
    assert target.read_bytes() == payload
    assert result == str(out if kind in ("zip", "tar", "tar.gz") else target)


# -- synthetic ---------------------------------------------------------------------------------

def test_fake_data():
    ds = D.FakeData(size=4, image_size=(3, 10, 7), num_classes=5,
                    target_transform=lambda t: t * 2)
    assert len(ds) == 4
    img, target = ds[2]
    assert img.mode == "RGB" and img.size == (7, 10) and target in range(0, 10, 2)
    again, target2 = ds[2]
    np.testing.assert_array_equal(np.asarray(img), np.asarray(again))
    assert target == target2
    assert not np.array_equal(np.asarray(ds[1][0]), np.asarray(img))
    state = ember.get_rng_state()
    ds[0]
    assert ember.equal(state, ember.get_rng_state())
    gray, _ = D.FakeData(size=1, image_size=(1, 4, 4))[0]
    assert gray.mode == "L"
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[4]


def test_digits_match_sklearn_and_batch():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train, test = D.Digits(train=True), D.Digits(train=False)
    assert len(train) == 1437 and len(test) == 360
    np.testing.assert_array_equal(test.targets.numpy(), bunch.target[1437:])
    np.testing.assert_array_equal(train.data.numpy(),
                                  np.rint(bunch.images[:1437] * 255 / 16).astype(np.uint8))
    img, target = train[5]
    assert img.mode == "L" and img.size == (8, 8) and target == bunch.target[5]
    to_tensor = lambda im: ember.from_numpy(np.asarray(im, dtype=np.float32)[None] / 255)
    loader = DataLoader(D.Digits(transform=to_tensor), batch_size=64, shuffle=False)
    x, y = next(iter(loader))
    assert tuple(x.shape) == (64, 1, 8, 8) and x.dtype == ember.float32
    assert y.dtype == ember.int64 and y.tolist() == bunch.target[:64].tolist()
    assert D.SklearnDigits is D.Digits


def test_mnist_batches_like_torch(tmp_path):
    """Collated MNIST batches have torch's types: float images, int64 targets."""
    files = mnist_files(n_train=10)
    _write_raw(tmp_path / "MNIST" / "raw", files, True)
    to_tensor = lambda im: ember.from_numpy(np.asarray(im, dtype=np.float32)[None] / 255)
    loader = DataLoader(D.MNIST(str(tmp_path), transform=to_tensor), batch_size=4)
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(4, 1, 28, 28)] * 2 + [(2, 1, 28, 28)]
    labels = torch.utils.data.default_collate(
        [int(v) for v in files["train-labels-idx1-ubyte"][1][:4]])
    assert batches[0][1].tolist() == labels.tolist()
    assert str(batches[0][1].dtype).split(".")[-1] == str(labels.dtype).split(".")[-1]


def test_repr_matches_torchvision_layout(tmp_path):
    _write_raw(tmp_path / "MNIST" / "raw", mnist_files(), False)
    ds = D.MNIST(str(tmp_path), transform=_Named("Compose(\n    ToTensor()\n)"),
                 target_transform=_Named("Tgt()"))
    assert repr(ds) == (f"Dataset MNIST\n    Number of datapoints: 7\n    Root location: "
                        f"{tmp_path}\n    Split: Train\n    StandardTransform\n"
                        "Transform: Compose(\n               ToTensor()\n           )\n"
                        "Target transform: Tgt()")


class _Named:
    def __init__(self, text):
        self.text = text

    def __call__(self, x):
        return x

    def __repr__(self):
        return self.text


def _to_tensor(img):
    return ember.from_numpy(np.asarray(img, dtype=np.float32)[None] / 255)


def test_mnist_with_worker_processes(tmp_path):
    """Datasets cross into DataLoader worker processes; batches equal the in-process ones."""
    _write_raw(tmp_path / "MNIST" / "raw", mnist_files(n_train=10), True)
    ds = D.MNIST(str(tmp_path), transform=_to_tensor)
    single = [(x.numpy(), y.numpy()) for x, y in DataLoader(ds, batch_size=3)]
    multi = [(x.numpy(), y.numpy()) for x, y in DataLoader(ds, batch_size=3, num_workers=2)]
    assert len(single) == len(multi) == 4
    for (xs, ys), (xm, ym) in zip(single, multi):
        np.testing.assert_array_equal(xs, xm)
        np.testing.assert_array_equal(ys, ym)
