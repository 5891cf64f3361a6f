"""Processor chains (issue 19, phase B): a plant's output offered to other plants.

Opt-in: only a plant whose ``output.to_processors`` is true offers its output to
plants, and only to those that list its output material in ``accepts``. Without the
flag nothing changes, so an instance whose plants happen to accept one another's
outputs solves as it always did. Chains are solved in instances with periods (one
period is ``{"start": ..., "count": 1}``); without periods the flag is refused.

The chain graph (plant k -> plant m when k offers its output to plants and m accepts
its material, distance and windows aside) must have no cycle: material going round
would make the yield rows compound forever. ``check_chains`` refuses one, naming it.
"""

from __future__ import annotations


def chain_successors(processors) -> dict[int, list[int]]:
    """Plant index -> the plants that may take its output (the chain graph)."""
    out: dict[int, list[int]] = {}
    for k, p in enumerate(processors):
        if p.output is None or not p.output.to_processors:
            continue
        out[k] = [m for m, q in enumerate(processors) if _accepts(q, p.output.material)]
    return out


def _accepts(processor, material: str) -> bool:
    return any(a.material == material for a in processor.accepts)


def check_chains(processors, with_periods: bool) -> None:
    """Refuse chains without periods, and any cycle of plants, naming them."""
    successors = chain_successors(processors)
    if not successors:
        return
    if not with_periods:
        k = min(successors)
        raise ValueError(
            f"processors[{k}].output.to_processors: chains are solved in an instance with "
            'periods (one period: "periods": {"start": "YYYY-MM", "count": 1})'
        )
    cycle = find_cycle(successors)
    if cycle:
        names = " -> ".join(processors[k].id for k in cycle)
        raise ValueError(f"processors: the chain {names} is a cycle; a chain must end")


def find_cycle(successors: dict[int, list[int]]) -> list[int] | None:
    """A cycle of the graph as its nodes, first repeated at the end, or None.
    Depth-first, iterative (a long chain must not hit the recursion limit)."""
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(successors):
        if state.get(root):
            continue
        path, stack = [root], [iter(successors.get(root, []))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(successors.get(nxt, [])))
    return None
