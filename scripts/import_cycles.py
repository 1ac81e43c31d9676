"""Print every import cycle between the project's modules; exit 1 if there is one.

    python scripts/import_cycles.py

Every import counts, at the top of a module or inside a function (an import moved into a
function hides a cycle from Python, not from the reader). Tests and migrations are left
out: nothing imports them. The graph is grimp's, the library import-linter is built on.
"""

import pathlib
import sys

# The tree this script is in, not whichever copy of the packages is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import grimp

PACKAGES = ("peerlearning", "submissions", "conferences", "reporting", "anonymizer")


def _skipped(module: str) -> bool:
    parts = module.split(".")
    return "tests" in parts or "migrations" in parts


def cycles() -> list[list[str]]:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if not _skipped(m))
    edges = {
        m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in modules)
        for m in modules
    }
    # Tarjan's strongly connected components, iteratively (no recursion limit to meet).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(found)


def main() -> int:
    found = cycles()
    for component in found:
        print("cycle:", " <-> ".join(component))
    print(f"{len(found)} import cycle(s) between modules of {', '.join(PACKAGES)}.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
