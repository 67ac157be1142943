"""Step order: parents before children, self-references and cycles left to a second pass, with the reasons."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ref:
    """A reference field of one step that points at other steps' objects."""

    field: str
    parents: tuple[str, ...]
    nillable: bool = True


@dataclass
class Order:
    objects: list[str]
    deferred: dict[str, list[str]] = field(default_factory=dict)  # object -> fields set in the second pass
    reasons: list[str] = field(default_factory=list)


def order_steps(objects: list[str], refs: dict[str, list[Ref]]) -> Order:
    """Kahn's algorithm, stable by the plan's order; a cycle is broken at a nillable reference."""
    deferred: dict[str, list[str]] = {}
    notes: dict[str, str] = {}
    edges: dict[str, dict[str, list[str]]] = {o: {} for o in objects}  # child -> parent -> fields
    for child in objects:
        for ref in refs.get(child, []):
            for parent in ref.parents:
                if parent == child:
                    deferred.setdefault(child, []).append(ref.field)
                    notes[f"{child}.{ref.field}"] = (f"{child}.{ref.field} points at {child} itself: inserted "
                                                     f"without it, then set in a second pass")
                elif parent in edges:
                    edges[child].setdefault(parent, []).append(ref.field)
    order: list[str] = []
    reasons: list[str] = []
    while len(order) < len(objects):
        ready = [o for o in objects if o not in order and all(p in order for p in edges[o])]
        if not ready:
            _break_cycle(objects, order, edges, refs, deferred, notes)
            continue
        obj = ready[0]
        after = "; ".join(f"after {p} ({', '.join(fs)})" for p, fs in edges[obj].items())
        reasons.append(f"{len(order) + 1}. {obj}: " + (after or "references no other step"))
        order.append(obj)
    reasons += sorted(notes.values())
    return Order(order, deferred, reasons)


def _break_cycle(objects: list[str], done: list[str], edges: dict[str, dict[str, list[str]]],
                 refs: dict[str, list[Ref]], deferred: dict[str, list[str]], notes: dict[str, str]) -> None:
    """Drop the first nillable reference among the waiting steps (plan order) into the second pass."""
    nillable = {(o, r.field): r.nillable for o in objects for r in refs.get(o, [])}
    waiting = [o for o in objects if o not in done]
    for strict in (True, False):
        for child in waiting:
            for parent, fields in list(edges[child].items()):
                if parent in done:
                    continue
                keep = [f for f in fields if strict and not nillable.get((child, f), True)]
                if strict and keep:
                    continue
                for f in fields:
                    deferred.setdefault(child, []).append(f)
                    notes[f"{child}.{f}"] = (f"{child}.{f} -> {parent} closes a cycle: {child} is inserted "
                                             f"without it, then it is set in a second pass")
                del edges[child][parent]
                return
    raise AssertionError("no cycle to break")  # unreachable: a stuck Kahn loop always has a waiting edge
