"""Token ids for the leaves of trees."""

import collections

from toolkit import validation as v


class Vocabulary:
    """Token ids for leaves: 0 is padding (and "no token"), 1 is the
    out-of-vocabulary token, known tokens follow by decreasing count.

    Args:
        tokens: iterable of str, the training tokens (with repeats).
        min_count: int, tokens seen fewer times map to the OOV id.
            Default: 1.
        max_size: int or None, keep at most this many ids in total.
        lowercase: bool, lowercase tokens before counting and lookup.
            Default: False.

    Example:

    ```python
    from toolkit.data import Vocabulary, sentiment_treebank_sample

    trees = sentiment_treebank_sample()
    vocab = Vocabulary.from_trees(trees, min_count=2)
    vocab.lookup("film"), vocab.lookup("unseen-word")  # (7, 1)
    ```
    """

    padding_token = "[PAD]"
    oov_token = "[UNK]"

    def __init__(self, tokens, min_count=1, max_size=None, lowercase=False):
        min_count = v.check_positive_int("min_count", min_count)
        if max_size is not None:
            max_size = v.check_positive_int("max_size", max_size)
            if max_size < 2:
                raise ValueError(
                    "Argument `max_size` must be at least 2 (padding and "
                    f"OOV). Received: max_size={max_size}"
                )
        self.lowercase = bool(lowercase)
        counts = collections.Counter(self._norm(t) for t in tokens)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_count),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            kept = kept[: max_size - 2]
        self.tokens = [self.padding_token, self.oov_token] + kept
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def from_trees(cls, trees, **kwargs):
        return cls([t for tree in trees for t in tree.leaves()], **kwargs)

    def _norm(self, token):
        return token.lower() if self.lowercase else token

    def __len__(self):
        return len(self.tokens)

    def lookup(self, token):
        """The id of `token`, 1 (OOV) if unknown."""
        return self._ids.get(self._norm(token), 1)

    def token(self, index):
        return self.tokens[index]
