"""The smaller vectors (bot.understanding.projection), with the real encoder and the real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli

from bot.knowledge.loader import load_knowledge
from bot.maintainers.fit import fit_encoder
from bot.understanding.engine import Engine
from bot.understanding.policy import POLICY_FILE, Policy, axes_of
from bot.understanding.projection import (
    AXES,
    PROJECTION_FILE,
    ProjectedEncoder,
    Projection,
    load_projection,
    vector_encoder,
)
from bot.understanding.semantic import DIMENSIONS, EmbeddingCache, shared_encoder, wordings
from bot.understanding.signals import ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"

PAIRS = (  # (a message, a paraphrase in other words or another language, an unrelated message)
    ("c'est quoi un CIO", "O que é um CIO?", "mon fils cherche un stage de 3e"),
    ("jtrouve pa de stage", "je ne trouve pas d'entreprise pour le stage d'observation", "la bourse de lycée"),
    ("g envi d mourir", "je ne veux plus vivre", "où est le CIO de Créteil"),
    ("Affelnet c'est quand", "quand faut-il faire les voeux pour le lycée", "je suis mort de rire"),
)


def test_the_shipped_axes_are_read_and_the_shipped_policy_was_fitted_on_them() -> None:
    projection, problems = load_projection(KNOWLEDGE)
    assert problems == [] and projection is not None
    assert projection.axes.shape == (DIMENSIONS, AXES)
    assert np.allclose(projection.axes.T @ projection.axes, np.eye(AXES), atol=1e-4)
    policy = Policy.load(KNOWLEDGE / POLICY_FILE, ENTRY_FEATURES, SAFETY_FEATURES, TOPIC_FEATURES)
    assert axes_of(policy.model_version) == projection.suffix, "relancez python run_bot.py fit"


def test_projected_vectors_keep_what_the_full_ones_say() -> None:
    full = shared_encoder()
    projection, _ = load_projection(KNOWLEDGE)
    assert projection is not None
    small = ProjectedEncoder(full, projection)
    assert small.dimensions == AXES and small.version == full.version + projection.suffix
    for message, paraphrase, unrelated in PAIRS:
        big, little = full.encode([message, paraphrase, unrelated]), small.encode([message, paraphrase, unrelated])
        assert little.shape == (3, AXES) and np.allclose(np.linalg.norm(little, axis=1), 1.0, atol=1e-5)
        # The same order, and cosines within a few hundredths of the full vectors'.
        assert little[0] @ little[1] > little[0] @ little[2], message
        assert abs(big[0] @ big[1] - little[0] @ little[1]) < 0.05, message
        assert abs(big[0] @ big[2] - little[0] @ little[2]) < 0.05, message


class Counting:
    """An encoder that counts the texts it encodes (what a cache saves)."""

    def __init__(self, inner: ProjectedEncoder) -> None:
        self.inner, self.version, self.dimensions = inner, inner.version, inner.dimensions
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode(texts)


def test_a_cache_is_read_back_only_by_the_same_axes(tmp_path: Path) -> None:
    """Other axes of the same size (one turned round) make other vectors: the cache written with
    the first is not read as the second's; the full vectors' cache is not read either."""
    projection, _ = load_projection(KNOWLEDGE)
    assert projection is not None
    turned = projection.axes.copy()
    turned[:, 0] *= -1
    EmbeddingCache(Counting(ProjectedEncoder(shared_encoder(), projection)), tmp_path).vectors(["bonjour"])
    same = Counting(ProjectedEncoder(shared_encoder(), projection))
    assert EmbeddingCache(same, tmp_path).vectors(["bonjour"]).shape == (1, AXES) and same.encoded == 0
    other = Counting(ProjectedEncoder(shared_encoder(), Projection(turned)))
    EmbeddingCache(other, tmp_path).vectors(["bonjour"])
    assert other.encoded == 1
    assert EmbeddingCache(shared_encoder(), tmp_path).vectors(["bonjour"]).shape == (1, DIMENSIONS)


def test_learnt_axes_are_orthonormal_and_do_not_depend_on_the_order_of_the_texts() -> None:
    kb, _ = load_knowledge(KNOWLEDGE, check_eval=False)
    texts = [w for entry in kb.entries.values() for w in wordings(entry)][:400]
    vectors = shared_encoder().encode(texts)
    learnt = Projection.learn(vectors, 32)
    assert learnt.axes.shape == (DIMENSIONS, 32)
    assert np.allclose(learnt.axes.T @ learnt.axes, np.eye(32), atol=1e-5)
    shuffled = Projection.learn(vectors[np.random.default_rng(0).permutation(len(vectors))], 32)
    assert np.allclose(np.abs(np.sum(learnt.axes[:, :8] * shuffled.axes[:, :8], axis=0)), 1.0, atol=1e-4)
    assert np.allclose(learnt.axes[:, :8], shuffled.axes[:, :8], atol=1e-3)  # signs fixed too
    with pytest.raises(ValueError):
        Projection.learn(vectors[:10], 32)


def test_saved_axes_are_read_back_the_same(tmp_path: Path) -> None:
    projection, _ = load_projection(KNOWLEDGE)
    assert projection is not None
    projection.save(tmp_path / PROJECTION_FILE)
    again, problems = load_projection(tmp_path)
    assert problems == [] and again is not None and again.digest == projection.digest


def _damaged(shipped: bytes, how: str) -> bytes:
    """The shipped file, damaged as a disk or a bad copy damages one."""
    middle = len(shipped) // 2
    return {"not a zip": b"not a zip", "empty": b"", "cut short": shipped[:middle],
            "bytes changed": shipped[:middle] + bytes(b ^ 0x5A for b in shipped[middle:middle + 64])
            + shipped[middle + 64:]}[how]


@pytest.mark.parametrize("how", ["not a zip", "empty", "cut short", "bytes changed"])
def test_unreadable_axes_are_an_error_of_check_and_the_bot_keeps_full_vectors(tmp_path: Path, how: str) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    path = knowledge / PROJECTION_FILE
    path.write_bytes(_damaged(path.read_bytes(), how))
    check = run_cli("check", "--knowledge", str(knowledge))
    assert check.returncode == 1 and f"{PROJECTION_FILE}:1:" in check.stdout and "fit" in check.stdout, check.stdout
    encoder, problems = vector_encoder(knowledge)
    assert encoder.dimensions == DIMENSIONS and [p.is_error for p in problems] == [True]


def test_axes_that_are_not_orthonormal_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / PROJECTION_FILE, axes=np.ones((DIMENSIONS, 4), dtype=np.float32))
    projection, problems = load_projection(tmp_path)
    assert projection is None and "orthonorm" in problems[0].message


def test_without_axes_check_warns_and_the_bot_answers_with_full_vectors(tmp_path: Path) -> None:
    """The bot never stops for want of the file: it answers with the full vectors (its own cache
    folder here, encoded cold: the shared one holds the projected vectors)."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    (knowledge / PROJECTION_FILE).unlink()
    check = run_cli("check", "--knowledge", str(knowledge))
    assert check.returncode == 0, check.stdout
    assert f"{PROJECTION_FILE}:1: avertissement" in check.stdout and "autres axes des vecteurs" in check.stdout
    asked = run_cli("ask", "--json", "--knowledge", str(knowledge), "c koi un cio",
                    env={"BOT_CACHE_DIR": str(tmp_path / "cache")}, timeout=600)
    assert asked.returncode == 0 and '"id": "cio-quest-ce"' in asked.stdout, asked.stderr


def test_fit_learns_no_axes_from_a_base_with_errors(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    (knowledge / PROJECTION_FILE).unlink()
    (knowledge / "faq" / "cio.yaml").write_text("topic: cio\nentries: [\n", encoding="utf-8")
    assert fit_encoder(knowledge, None, progress=lambda _: None).dimensions == DIMENSIONS
    assert not (knowledge / PROJECTION_FILE).exists()


def test_fit_learns_the_axes_when_the_folder_has_none(tmp_path: Path) -> None:
    """As `fit` starts on a folder without axes: learnt from the FAQ and the training messages,
    written, and the same as the shipped ones for the same texts."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    (knowledge / PROJECTION_FILE).unlink()
    said: list[str] = []
    encoder = fit_encoder(knowledge, None, progress=said.append)
    learnt, problems = load_projection(knowledge)
    shipped, _ = load_projection(KNOWLEDGE)
    assert problems == [] and learnt is not None and shipped is not None
    assert encoder.version.endswith(learnt.suffix) and encoder.dimensions == AXES
    assert any(PROJECTION_FILE in line for line in said)
    # The same space: each shipped axis lies in the learnt ones' span.
    overlap = np.linalg.norm(learnt.axes.T @ shipped.axes) ** 2 / AXES
    assert overlap > 0.99
    # ...and kept by the next fit.
    assert fit_encoder(knowledge, None, progress=said.append).version == encoder.version
    assert (knowledge / PROJECTION_FILE).stat().st_mode & 0o044 == 0o044  # others may read it


def test_the_engine_compares_projected_vectors(engine: Engine) -> None:
    assert engine.signals.semantic.matrix.shape[1] == AXES
    assert engine.signals.semantic.cache.encoder.dimensions == AXES
