"""A package's version bounds sorted once, when the advisory index is built, so matching compares ranks.

Every version any advisory names for one package (range events, listed versions) is parsed and
sorted with the ecosystem's ordering into classes of equal versions. Matching then places the
component's version among those classes by bisection (a handful of comparisons per component
instead of several per advisory) and walks each range on ranks with the same algorithm, and the
same answers, as on parsed versions (`ranges.affected_by`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from vexxy.matching.ranges import RangeHit, opens_at_zero, walk_events
from vexxy.matching.versions import UnorderableVersion, parse_version
from vexxy.osv.records import AffectedPackage

ECOSYSTEM, SEMVER = "ECOSYSTEM", "SEMVER"
_parse_uncached = parse_version.__wrapped__  # building orders parses every bound once: no cache to fill


def scale(range_type: str) -> str:
    """The ordering a range's bounds are compared with (a SEMVER range is semver whatever the ecosystem)."""
    return SEMVER if range_type == SEMVER else ECOSYSTEM


def bounds(affected: AffectedPackage) -> Iterator[tuple[str, str]]:
    """(scale, version) for every version of the entry that matching compares a component's version with."""
    for affected_range in affected.ranges:
        if affected_range.type == "GIT":
            continue
        for event in affected_range.events:
            if not opens_at_zero(event):
                yield scale(affected_range.type), event.version
    for listed in affected.versions:
        yield ECOSYSTEM, listed


def order_classes(ecosystem: str, scale_name: str, texts: Iterable[str]) -> list[list[str]]:
    """`texts` (distinct, in a fixed order) sorted into classes of versions neither before nor after each
    other, lowest first (semver's 1.0.0+build is neither, yet not equal: ranges compare with >= and >);
    versions the ordering cannot parse are left out (their ranges are skipped, as when parsing)."""
    parsed = []
    for text in texts:
        try:
            parsed.append((_parse_uncached(ecosystem, text, scale_name), text))
        except UnorderableVersion:
            continue
    parsed.sort(key=lambda pair: pair[0])
    classes: list[tuple[object, list[str]]] = []
    for version, text in parsed:
        if classes and not classes[-1][0] < version:
            classes[-1][1].append(text)
        else:
            classes.append((version, [text]))
    return [members for _version, members in classes]


class RankedVersion:
    """A component's version placed among its package's ordered bounds: called with an `affected[]`
    entry of that package, it answers exactly what `affected_by` answers."""

    def __init__(self, ecosystem: str, version_text: str, orders: dict[str, list[list[str]]]):
        self.ecosystem, self.text, self._orders = ecosystem, version_text, orders
        self._ranks = {
            name: {text: 2 * i for i, members in enumerate(classes) for text in members} for name, classes in orders.items()
        }
        self._keys: dict[str, int | UnorderableVersion] = {}

    def key(self, scale_name: str) -> int:
        """2·i when the version is neither before nor after class i, 2·i − 1 when it lies between classes i − 1 and i."""
        if scale_name not in self._keys:
            try:
                self._keys[scale_name] = self._place(scale_name)
            except UnorderableVersion as exc:
                self._keys[scale_name] = exc
        key = self._keys[scale_name]
        if isinstance(key, UnorderableVersion):
            raise key
        return key

    def _place(self, scale_name: str) -> int:
        version = parse_version(self.ecosystem, self.text, scale_name)
        classes = self._orders.get(scale_name, [])
        low, high = 0, len(classes)
        while low < high:
            middle = (low + high) // 2
            if parse_version(self.ecosystem, classes[middle][0], scale_name) < version:
                low = middle + 1
            else:
                high = middle
        if low < len(classes) and not version < parse_version(self.ecosystem, classes[low][0], scale_name):
            return 2 * low
        return 2 * low - 1

    def _rank(self, scale_name: str, text: str) -> int:
        rank = self._ranks.get(scale_name, {}).get(text)
        if rank is None:
            raise UnorderableVersion(f"{text!r} is not a valid {self.ecosystem} version")
        return rank

    def __call__(self, affected: AffectedPackage) -> RangeHit | None:
        version = self.key(ECOSYSTEM)
        for affected_range in affected.ranges:
            if affected_range.type == "GIT":
                continue
            range_scale = scale(affected_range.type)
            try:
                ordered = self.key(range_scale)
                keyed = [
                    (None if opens_at_zero(event) else self._rank(range_scale, event.version), event)
                    for event in affected_range.events
                ]
            except UnorderableVersion:
                continue
            hit = walk_events(ordered, keyed, affected_range.type)
            if hit:
                return hit
        listed_ranks = self._ranks.get(ECOSYSTEM, {})
        for listed in affected.versions:
            rank = listed_ranks.get(listed)
            if (rank == version and self._equal(listed)) if rank is not None else (listed == self.text):
                return RangeHit(kind="versions", fixed=self._first_fixed(affected))
        return None

    def _equal(self, listed: str) -> bool:
        """A listed version is the component's when equal, not only in the same class (1.0.0+a is not 1.0.0+b)."""
        return parse_version(self.ecosystem, listed) == parse_version(self.ecosystem, self.text)

    def _first_fixed(self, affected: AffectedPackage) -> str | None:
        fixes = []
        for affected_range in affected.ranges:
            if affected_range.type == "GIT":
                continue
            range_scale = scale(affected_range.type)
            try:
                version = self.key(range_scale)
            except UnorderableVersion:
                continue
            for event in affected_range.events:
                rank = self._ranks.get(range_scale, {}).get(event.version)
                if event.kind == "fixed" and rank is not None and rank > version:
                    fixes.append((rank, event.version))
        return min(fixes, key=lambda fix: fix[0])[1] if fixes else None
