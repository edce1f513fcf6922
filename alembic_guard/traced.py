"""Strings that remember where each character came from in the source."""

from __future__ import annotations

from bisect import bisect_right


def _start(run: tuple[int, int | None]) -> int:
    return run[0]


class Traced:
    """A string plus a map from its indexes back to source offsets.

    ``runs`` holds ``(start, source)`` pairs sorted by ``start``: the
    characters from ``start`` up to the next run's start were copied
    verbatim from ``source`` onwards, or come from nowhere in the file
    when ``source`` is None (a joining newline, the ``here`` default).
    ``opaque`` lists ``(start, end)`` spans that stand for unresolved
    interpolation references: they are placeholders, not text.
    """

    __slots__ = ("text", "runs", "opaque")

    def __init__(
        self,
        text: str = "",
        runs: list[tuple[int, int | None]] | None = None,
        opaque: list[tuple[int, int]] | None = None,
    ) -> None:
        self.text = text
        self.runs = runs if runs is not None else []
        self.opaque = opaque if opaque is not None else []

    @classmethod
    def at(cls, text: str, source: int | None) -> Traced:
        return cls(text, [(0, source)] if text else [])

    def slice(self, start: int, end: int) -> Traced:
        """The characters ``start:end``, keeping their origins."""
        part = Traced(self.text[start:end])
        first = max(bisect_right(self.runs, start, key=_start) - 1, 0)
        for i in range(first, len(self.runs)):
            rstart, src = self.runs[i]
            if rstart >= end:
                break
            rend = self.runs[i + 1][0] if i + 1 < len(self.runs) else end
            lo, hi = max(rstart, start), min(rend, end)
            if lo < hi:
                shifted = None if src is None else src + lo - rstart
                part.runs.append((lo - start, shifted))
        part.opaque = [
            (max(s, start) - start, min(e, end) - start)
            for s, e in self.opaque
            if s < end and e > start
        ]
        return part

    def source_of(self, index: int) -> int | None:
        """The source offset of character ``index``, if it has one."""
        if not self.runs:
            return None
        pos = bisect_right(self.runs, index, key=_start) - 1
        start, src = self.runs[max(pos, 0)]
        if src is None:
            # A joining newline: point at the start of the next run.
            for later in range(pos + 1, len(self.runs)):
                if self.runs[later][1] is not None:
                    return self.runs[later][1]
            return None
        return src + (index - start)

    def literal_part(self, start: int, end: int) -> str:
        """``text[start:end]`` with every opaque span cut out."""
        kept = []
        pos = start
        # Opaque spans are in order and do not overlap: start from the
        # last one that begins before ``start``.
        first = max(bisect_right(self.opaque, (start, start)) - 1, 0)
        for index in range(first, len(self.opaque)):
            ostart, oend = self.opaque[index]
            if ostart >= end:
                break
            if oend <= pos:
                continue
            kept.append(self.text[pos : max(ostart, pos)])
            pos = max(pos, oend)
        kept.append(self.text[pos:end])
        return "".join(kept)

    def rstrip(self) -> Traced:
        text = self.text.rstrip()
        runs = [r for r in self.runs if r[0] < len(text)]
        opaque = [
            (s, min(e, len(text))) for s, e in self.opaque if s < len(text)
        ]
        return Traced(text, runs, opaque)


class Builder:
    """Concatenates Traced pieces in linear time."""

    __slots__ = ("parts", "runs", "opaque", "length")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.runs: list[tuple[int, int | None]] = []
        self.opaque: list[tuple[int, int]] = []
        self.length = 0

    def add(self, piece: Traced) -> None:
        base = self.length
        self.parts.append(piece.text)
        self.runs.extend((start + base, src) for start, src in piece.runs)
        self.opaque.extend((s + base, e + base) for s, e in piece.opaque)
        self.length += len(piece.text)

    def add_opaque(self, piece: Traced) -> None:
        start = self.length
        self.add(piece)
        self.opaque.append((start, self.length))

    def build(self) -> Traced:
        return Traced("".join(self.parts), self.runs, self.opaque)
