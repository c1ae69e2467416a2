"""What a message's words alone say of its theme: naive Bayes over words.

The sentence encoder reads meaning, but a rare name weighs little in a sentence's vector:
"les parents peuvent-ils créer un compte Parcoursup ?" is closer in meaning to questions about
accounts and parents than to the Parcoursup entries. Counted over the FAQ's wordings and the
messages families wrote (the examples), "parcoursup" is found in the Parcoursup theme and
nearly nowhere else: its words point to the theme where the vector does not. The words are
those the lexical signal reads (normalised, places left out); a word never seen says nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from bot.understanding.reading_memo import WordPool

SMOOTHING = 0.5  # added to every word's count in every class (Lidstone): unseen pairs are unlikely, not impossible


class WordEvidence:
    """P(class | the message's words) for a fixed list of classes, from labelled word sets.

    Each labelled text counts once per class for each distinct word it holds (a FAQ entry's
    wordings count each time, as separate texts). Classes weigh by how many texts they hold.
    """

    def __init__(
        self,
        classes: Sequence[str],
        texts: Iterable[tuple[Iterable[str], str]] = (),
        counted: Iterable[tuple[dict[str, int], int, str]] = (),
    ) -> None:
        """`texts`: (words, class) for each text; `counted`: texts already counted, as
        (number of texts holding each word, number of texts, class)."""
        self.classes = tuple(classes)
        number = {name: i for i, name in enumerate(self.classes)}
        texts_per_class = np.zeros(len(self.classes))
        # One (word, class, count) triple per text and distinct word; counted in one pass of numpy.
        words: list[str] = []
        classes_of: list[int] = []
        amounts: list[int] = []
        for text_words, label in texts:
            k = number.get(label)
            if k is not None:
                texts_per_class[k] += 1
                distinct = set(text_words)
                words.extend(distinct)
                classes_of.extend([k] * len(distinct))
        amounts.extend([1] * len(words))
        for word_counts, texts_counted, label in counted:
            k = number.get(label)
            if k is not None:
                texts_per_class[k] += texts_counted
                words.extend(word_counts)
                classes_of.extend([k] * len(word_counts))
                amounts.extend(word_counts.values())
        own = WordPool()  # not the memo's objects: they would keep its memory
        self._column = {own(word): i for i, word in enumerate(dict.fromkeys(words))}
        columns = np.fromiter((self._column[w] for w in words), dtype=np.int64, count=len(words))
        # log P(word | class), smoothed: log((count + s) / (total + s V)). Most words are seen in
        # a few classes only, so it is kept as each class's value for an unseen word,
        # log(s / (total + s V)), plus, for the pairs seen, log((count + s) / s): the same sums,
        # without a table of every class by every word (200 MB for a base 50 times larger).
        classes_array = np.array(classes_of, dtype=np.int64)
        weights = np.array(amounts, dtype=np.float64)
        pairs = columns * len(self.classes) + classes_array  # word-major: a word's classes together
        unique, where = np.unique(pairs, return_inverse=True)
        counts = np.bincount(where, weights=weights, minlength=len(unique))
        totals = np.bincount(classes_array, weights=weights, minlength=len(self.classes))
        self._log_unseen = np.log(SMOOTHING / (totals + SMOOTHING * max(len(self._column), 1)))
        self._pair_class = (unique % max(len(self.classes), 1)).astype(np.int64)
        self._pair_gain = np.log1p(counts / SMOOTHING)
        # Where each word's pairs start (one more than the words: where the last one ends).
        self._starts = np.searchsorted(unique // max(len(self.classes), 1), np.arange(len(self._column) + 1))
        # A class no text speaks for is never the answer (rather than the likeliest, as it was
        # when its prior stood in for one text); with no text at all, every class is as likely.
        total = texts_per_class.sum()
        with np.errstate(divide="ignore"):
            self._log_prior = np.log(texts_per_class / total) if total else np.zeros(len(self.classes))

    def posterior(self, words: Iterable[str]) -> np.ndarray:
        """Each class's probability given the known words; the prior when none is known."""
        columns = [self._column[w] for w in set(words) if w in self._column]
        log_p = self._log_prior + len(columns) * self._log_unseen
        if columns:
            seen = np.concatenate([np.arange(self._starts[c], self._starts[c + 1]) for c in columns])
            log_p = log_p + np.bincount(self._pair_class[seen], weights=self._pair_gain[seen],
                                        minlength=len(self.classes))
        p = np.exp(log_p - log_p.max())
        return p / p.sum()

    def knows(self, words: Iterable[str]) -> bool:
        return any(w in self._column for w in words)
