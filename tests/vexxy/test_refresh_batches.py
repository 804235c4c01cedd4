"""Fleet refresh batches: bounded runs of consecutive analyzed partitions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vexxy.refresh_batches import contiguous_batches


def test_batches_are_bounded_and_broken_by_images_never_analyzed():
    keys = [f"k{i}" for i in range(10)]
    analyzed = set(keys) - {"k3", "k4"}
    assert contiguous_batches(keys, analyzed, 4) == [["k0", "k1", "k2"], ["k5", "k6", "k7", "k8"], ["k9"]]
    assert contiguous_batches(keys, set(), 4) == []
    assert contiguous_batches(keys, set(keys), 100) == [keys]
    with pytest.raises(ValueError):
        contiguous_batches(keys, set(keys), 0)


@given(st.lists(st.booleans(), max_size=300), st.integers(min_value=1, max_value=50))
def test_every_analyzed_key_once_in_order_and_each_batch_a_contiguous_range(flags, size):
    keys = [f"k{i}" for i in range(len(flags))]
    analyzed = {k for k, flag in zip(keys, flags, strict=True) if flag}
    batches = contiguous_batches(keys, analyzed, size)
    assert [k for batch in batches for k in batch] == [k for k in keys if k in analyzed]
    for batch in batches:
        assert 1 <= len(batch) <= size
        first, last = keys.index(batch[0]), keys.index(batch[-1])
        assert keys[first : last + 1] == batch  # the run's partition range holds nothing else
    gaps = sum(1 for i in range(1, len(keys)) if keys[i] in analyzed and keys[i - 1] not in analyzed)
    assert len(batches) <= -(-len(analyzed) // size) + gaps + 1
