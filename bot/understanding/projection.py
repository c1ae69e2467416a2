"""Smaller vectors: the encoder's 512 numbers projected on the 256 axes that carry most of them.

Every message is compared with every stored vector: the FAQ's wordings and the 26,000 messages
the bot learnt from. Held in 512 numbers each, they were a fifth of the bot's memory and a
quarter of a long message's time. On the axes along which those vectors spread most (uncentred
principal axes: a cosine is a dot product, and these keep dot products best), 256 numbers keep
95 % of them; `fit`'s held-out figures did not move beyond their spread from one random start
to the next (README, "Vitesse et mémoire"). Projected vectors are scaled back to length one.

The axes are learnt by `fit` from the FAQ's wordings and the training messages when
`knowledge/projection.npz` is missing, and kept otherwise: a new fit does not change them, so
the vectors cached on disk stay valid. The cache and the fitted policy name the axes (their
digest is part of the encoder's version): new axes mean a new cache and a new fit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.knowledge.fields import Problem
from bot.understanding.semantic import Encoder, shared_encoder

logger = logging.getLogger(__name__)

PROJECTION_FILE = "projection.npz"
AXES = 256
# What a damaged file raises: cut short, not a zip, an array missing or of text, its data corrupt.
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile, zlib.error)


class Projection:
    """Orthonormal axes (one column each) that vectors are projected on."""

    def __init__(self, axes: np.ndarray) -> None:
        self.axes = np.ascontiguousarray(axes, dtype=np.float32)
        self.digest = hashlib.blake2b(self.axes.tobytes(), digest_size=4).hexdigest()

    @property
    def suffix(self) -> str:
        """What the projected encoder adds to the encoder's version."""
        return f"+axes{self.axes.shape[1]}-{self.digest}"

    @classmethod
    def learn(cls, vectors: np.ndarray, count: int = AXES) -> Projection:
        """The `count` axes that keep most of the vectors' dot products (rows: unit vectors)."""
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or count > x.shape[1] or len(x) < count:
            raise ValueError(f"{len(x)} vecteurs de {x.shape[1:]} nombres : trop peu pour {count} axes")
        values, axes = np.linalg.eigh(x.T @ x)
        axes = axes[:, np.argsort(values)[::-1][:count]]
        # An axis's sign is arbitrary: the largest number of each positive, so that the same
        # vectors always give the same file.
        axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(count)])
        return cls(axes)

    @classmethod
    def read(cls, path: Path) -> Projection:
        with np.load(path, allow_pickle=False) as data:
            axes = data["axes"]
        if axes.ndim != 2 or axes.shape[1] > axes.shape[0] or not np.isfinite(axes).all():
            raise ValueError(f"axes de forme {axes.shape}")
        # Orthonormal columns, or dot products would no longer be what they were.
        if not np.allclose(axes.T.astype(np.float64) @ axes, np.eye(axes.shape[1]), atol=1e-4):
            raise ValueError("les axes ne sont pas orthonormés")
        return cls(axes)

    def save(self, path: Path) -> None:
        """Written whole or not at all (a name of its own, then renamed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.npz", dir=path.parent)
        os.close(handle)
        partial = Path(name)
        try:
            with partial.open("wb") as out:
                np.savez(out, axes=self.axes)  # compressed, it saved 7 %
            partial.chmod(0o644)  # a file of the knowledge folder, read by whoever runs the bot
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)


class ProjectedEncoder:
    """An encoder whose vectors are projected on the axes and scaled back to length one."""

    def __init__(self, inner: Encoder, projection: Projection) -> None:
        if projection.axes.shape[0] != inner.dimensions:
            raise ValueError(f"axes pour {projection.axes.shape[0]} nombres, vecteurs de {inner.dimensions}")
        self.inner = inner
        self.projection = projection
        self.version = inner.version + projection.suffix
        self.dimensions = projection.axes.shape[1]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        projected = self.inner.encode(texts) @ self.projection.axes
        norms = np.linalg.norm(projected, axis=1, keepdims=True)
        return projected / np.maximum(norms, 1e-12)


def load_projection(root: Path) -> tuple[Projection | None, list[Problem]]:
    """knowledge/projection.npz, or None (the full vectors) with what went wrong."""
    path = root / PROJECTION_FILE
    if not path.exists():
        return None, [Problem(PROJECTION_FILE, 1, "fichier manquant : les vecteurs restent entiers (plus de "
                                                  "mémoire) ; « python run_bot.py fit » le refait", is_error=False)]
    try:
        return Projection.read(path), []
    except _UNREADABLE as exc:
        return None, [Problem(PROJECTION_FILE, 1, f"illisible ({exc}) : supprimez-le et relancez "
                                                  "« python run_bot.py fit »")]


def vector_encoder(root: Path, cache_dir: Path | None = None) -> tuple[Encoder, list[Problem]]:
    """The encoder the engine compares with: the shared model, projected on the knowledge
    folder's axes when it has readable ones."""
    encoder = shared_encoder(cache_dir)
    projection, problems = load_projection(root)
    if projection is None:
        return encoder, problems
    try:
        return ProjectedEncoder(encoder, projection), problems
    except ValueError as exc:
        return encoder, [Problem(PROJECTION_FILE, 1, f"{exc} : supprimez-le et relancez « python run_bot.py fit »")]
