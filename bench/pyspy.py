"""Summaries of a py-spy profile in collapsed-stack form (`py-spy record --format raw --threads`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
GATEWAY_PACKAGES = {"resolvers", "schema", "sources", "subscriptions", "sync", "server.py", "settings.py"}


def parse_collapsed(text: str) -> Iterable[tuple[str, list[str], int]]:
    """(thread name, frames outermost first, samples) per line."""
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread = ""
        if stack.startswith("thread ("):
            head, _, stack = stack.partition(";")
            thread = head.split(": ", 1)[-1]
        yield thread, stack.split(";") if stack else [], int(count)


def function_of(frame: str) -> str:
    """'function (file.py)' without the line number."""
    match = _FRAME.match(frame)
    return f"{match['function']} ({match['file']})" if match else frame


def component_of(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    top = file.split("/", 1)[0] if "/" in file else file
    if top in GATEWAY_PACKAGES:
        return "gateway code"
    return top.removesuffix(".py")


def summarize_collapsed(text: str, top: int = 25, samples: str = "samples") -> str:
    by_thread: Counter[str] = Counter()
    self_by_component: Counter[str] = Counter()
    self_by_function: Counter[str] = Counter()
    inclusive_by_function: Counter[str] = Counter()
    inclusive_by_component: Counter[str] = Counter()
    total = 0
    for thread, frames, count in parse_collapsed(text):
        total += count
        by_thread["MainThread" if thread == "MainThread" else "other threads (aiosqlite workers)"] += count
        if not frames:
            continue
        self_by_component[component_of(frames[-1])] += count
        self_by_function[function_of(frames[-1])] += count
        for name in {function_of(frame) for frame in frames}:
            inclusive_by_function[name] += count
        for name in {component_of(frame) for frame in frames}:
            inclusive_by_component[name] += count
    if not total:
        return "  (no samples)"

    def block(title: str, counter: Counter[str], limit: int) -> list[str]:
        lines = [f"  {title}"]
        lines += [f"    {100 * n / total:5.1f} %  {name}" for name, n in counter.most_common(limit)]
        return lines

    out = [f"  {total} {samples}; percentages are of those"]
    out += block("by thread", by_thread, 5)
    out += block("self time by package (the frame on top of the stack)", self_by_component, 15)
    out += block("inclusive time by package (anywhere on the stack)", inclusive_by_component, 15)
    out += block("self time by function", self_by_function, top)
    out += block("inclusive time by function", inclusive_by_function, top)
    return "\n".join(out)


def main() -> None:
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description="Summarise a py-spy profile (--format raw --threads).")
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarize_collapsed(args.file.read_text(), top=args.top))


if __name__ == "__main__":
    main()
