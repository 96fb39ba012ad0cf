#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle (make lint).

The rule, for every module M of every crate in the workspace: M's child modules, each taken
whole (a folder with everything under it), must not import each other in a circle. M's own
file is the ground its children share, not one of them: it declares, re-exports and calls its
children, and they use its items (a checker's `Violation`, a fault's `Conditions`). An import
is any path in the code (`use` lines and paths written inline, `crate::`, `super::`,
`self::`, a child's name, or a name a `use` brought in), followed through `pub use`
re-exports to the file that defines the item, so a name re-exported by a parent counts as
an import of the sibling that defines it. Cargo already refuses circles between crates.

    python3 scripts/import-circles.py            # every crate of the workspace
    python3 scripts/import-circles.py DIR...     # the crates whose src/ is under DIR
    python3 scripts/import-circles.py --self-test  # the rule on small crates written here

Prints each circle as a chain of files with the line that closes each link, and exits 1 if
there is one.
"""

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def strip(code):
    """The code without comments, string and character literals (kept line for line)."""
    out, i, n = [], 0, len(code)
    while i < n:
        c = code[i]
        if code.startswith("//", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
        elif code.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if code.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif code.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * code.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', code[i:i + 10]) and (i == 0 or not code[i - 1].isalnum()):
            hashes = re.match(r"r(#*)\"", code[i:]).group(1)
            end = code.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append('""' + "\n" * code.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            out.append('""' + "\n" * code.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x..'", code[i:i + 12]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x..'", code[i:i + 12])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def use_trees(text):
    """Every `use` declaration: (is_pub, line, [(segments, alias)]), globs as alias '*'."""
    found = []
    for m in re.finditer(r"(^|[;{}\]\s])(pub(\([^)]*\))?\s+)?use\s+([^;]+);", text):
        is_pub = bool(m.group(2))
        line = text.count("\n", 0, m.start(4)) + 1
        found.append((is_pub, line, list(flatten(re.sub(r"\s+", " ", m.group(4))))))
    return found


def flatten(tree, prefix=()):
    """`a::{b, c::d as e}` into ((a, b), b) and ((a, c, d), e); a glob's alias is `*`."""
    tree = tree.strip()
    if "{" not in tree:
        path, _, alias = tree.partition(" as ")
        parts = tuple(p.strip() for p in path.split("::") if p.strip())
        if parts:
            yield prefix + parts, (alias.strip() or parts[-1])
        return
    head, _, rest = tree.partition("{")
    head = tuple(p.strip() for p in head.split("::") if p.strip())
    body = rest[: rest.rfind("}")]
    depth, part, parts = 0, "", []
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(part)
            part = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        part += ch
    parts.append(part)
    for p in parts:
        if p.strip():
            yield from flatten(p, prefix + head)


class Crate:
    """One crate's modules: module path -> file, and what each file declares and imports."""

    def __init__(self, src):
        self.src = src
        self.files = {}  # module path tuple -> file
        self.roots = [f for f in ("lib.rs", "main.rs") if os.path.exists(os.path.join(src, f))]
        for root in self.roots:
            self.walk(os.path.join(src, root), ())

    def walk(self, path, module):
        if module in self.files:
            return
        self.files[module] = path
        code = strip(open(path, encoding="utf-8").read())
        folder = os.path.dirname(path)
        if os.path.basename(path) not in ("lib.rs", "main.rs", "mod.rs"):
            folder = path[:-3]
        for m in re.finditer(r"^\s*(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code, re.M):
            name = m.group(3)
            for cand in (os.path.join(folder, name + ".rs"), os.path.join(folder, name, "mod.rs")):
                if os.path.exists(cand):
                    self.walk(cand, module + (name,))
                    break


def analyse(crate):
    """Edges between module files: (from, to) -> first line in `from` that makes it."""
    text = {m: strip(open(f, encoding="utf-8").read()) for m, f in crate.files.items()}
    children = defaultdict(set)
    for m in crate.files:
        if m:
            children[m[:-1]].add(m[-1])
    # Per file: names brought in by `use` (alias -> absolute path) and pub re-exports.
    imports, reexports, globs = {}, {}, {}

    def absolute(module, segs):
        if not segs:
            return None
        head = segs[0]
        if head == "crate":
            return tuple(segs[1:])
        if head == "self":
            return module + tuple(segs[1:])
        if head == "super":
            up, rest = module, list(segs)
            while rest and rest[0] == "super":
                up, rest = up[:-1], rest[1:]
            if rest and rest[0] == "self":
                rest = rest[1:]
            return up + tuple(rest)
        if head in children[module]:
            return module + tuple(segs)
        if head in imports.get(module, {}):
            return imports[module][head] + tuple(segs[1:])
        return None  # another crate, std, a local item

    for m in crate.files:
        imports[m], reexports[m], globs[m] = {}, {}, []
    for m in crate.files:
        for is_pub, _line, paths in use_trees(text[m]):
            for segs, alias in paths:
                segs = list(segs)
                name = alias
                target = absolute(m, segs) if segs[-1] != "*" else absolute(m, segs[:-1])
                if target is None:
                    continue
                if segs[-1] == "*":
                    if is_pub:
                        globs[m].append(target)
                    continue
                if segs[-1] == "self":
                    target, name = target[:-1], segs[-2] if len(segs) > 1 else name
                imports[m][name] = target
                if is_pub:
                    reexports[m][name] = target

    def locate(path, depth=0):
        """The module file that defines the item at `path`, following re-exports."""
        module = ()
        for i, seg in enumerate(path):
            if seg in children[module]:
                module = module + (seg,)
                continue
            if depth < 16:
                if seg in reexports.get(module, {}):
                    return locate(reexports[module][seg] + tuple(path[i + 1:]), depth + 1)
                for g in globs.get(module, []):
                    hit = locate(g + tuple(path[i:]), depth + 1)
                    if hit is not None and hit != g:
                        return hit
            return module if module in crate.files else None
        return module if module in crate.files else None

    edges = {}
    path_re = re.compile(r"(?<![\w:])((?:\w+::)+\w+|\w+::\*)")
    for m in crate.files:
        lines = text[m].split("\n")
        declared = []
        for _is_pub, line, paths in use_trees(text[m]):
            for segs, _alias in paths:
                declared.append((list(segs), line))
        for no, line in enumerate(lines, 1):
            if re.match(r"\s*(pub(\([^)]*\))?\s+)?use\s", line):
                continue
            for p in path_re.findall(line):
                declared.append((p.split("::"), no))
        for segs, line in declared:
            segs = [s for s in segs if s != "*"] or segs
            if segs and segs[-1] == "self":
                segs = segs[:-1]
            target = absolute(m, segs)
            if target is None:
                continue
            where = locate(target)
            if where is None or where == m:
                continue
            edges.setdefault((m, where), line)
    return edges


def circles(crate, edges):
    """Circles among the children of each module, each child taken whole."""
    found = []
    modules = sorted(crate.files)
    for parent in modules:
        kids = sorted({m[len(parent)] for m in modules if len(m) > len(parent) and m[: len(parent)] == parent})
        if not kids:
            continue

        def member(m):
            if len(m) > len(parent) and m[: len(parent)] == parent:
                return m[len(parent)]
            return None

        graph = defaultdict(dict)
        for (a, b), line in edges.items():
            ma, mb = member(a), member(b)
            if ma is None or mb is None or ma == mb:
                continue
            graph[ma].setdefault(mb, (a, b, line))
        found.extend((parent, c) for c in find_cycles(graph))
    return found


def find_cycles(graph):
    """One cycle per strongly connected component with more than one member (Tarjan)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            connect(v)
    cycles = []
    for comp in comps:
        members = set(comp)
        start = min(comp)
        # Shortest way back to start, breadth first.
        prev, frontier = {start: None}, [start]
        done = None
        while frontier and done is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph.get(v, {})):
                    if w not in members:
                        continue
                    if w == start:
                        done = v
                        break
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if done is not None:
                    break
            frontier = nxt
        chain, v = [start], done
        while v is not None and v != start:
            chain.append(v)
            v = prev[v]
        chain.append(start)
        chain = [start] + list(reversed(chain[1:-1])) + [start] if len(chain) > 2 else chain
        cycles.append([(a, graph[a][b]) for a, b in zip(chain, chain[1:])])
    return cycles


def crates(dirs):
    for base in dirs:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d not in ("target", ".git", "fixtures")]
            if os.path.basename(dirpath) == "src" and ("lib.rs" in filenames or "main.rs" in filenames):
                if os.path.exists(os.path.join(os.path.dirname(dirpath), "Cargo.toml")):
                    yield dirpath


def found(src):
    """Every circle of the crate at `src`: (parent module, [(member, (from, to, line))])."""
    crate = Crate(src)
    return crate, circles(crate, analyse(crate))


# Small crates and whether each has a circle: the rule proved on cases written for it.
CASES = {
    "siblings through use lines": (True, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "use crate::b::B;\npub struct A;\n",
        "b.rs": "use crate::a::A;\npub struct B;\n",
    }),
    "siblings through a path written inline, and a parent's re-export": (True, {
        "lib.rs": "mod a;\nmod b;\npub use b::B;\n",
        "a.rs": "pub fn f() -> crate::B { crate::B }\n",
        "b.rs": "pub struct B;\nfn g() { super::a::f(); }\n",
    }),
    "a circle three folders long": (True, {
        "lib.rs": "mod x;\nmod y;\nmod z;\n",
        "x/mod.rs": "mod inner;\n",
        "x/inner.rs": "use crate::y::Y;\n",
        "y.rs": "pub struct Y;\nuse crate::z;\nfn f() { z::g(); }\n",
        "z.rs": "pub fn g() {}\nfn h() { let _ = crate::x::inner::K; }\n",
    }),
    "children sharing their parent's types, the parent calling them": (False, {
        "lib.rs": "mod check;\n",
        "check/mod.rs": "mod a;\nmod b;\npub struct V;\npub fn all() { a::f(); b::f(); }\n",
        "check/a.rs": "use super::V;\npub fn f() -> Option<V> { None }\n",
        "check/b.rs": "use super::V;\nuse super::a;\npub fn f() { a::f(); }\n",
    }),
    "names in comments and strings": (False, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "use crate::b::B;\n",
        "b.rs": "pub struct B;\n// crate::a::x\nconst S: &str = \"crate::a::y\";\n",
    }),
}


def self_test():
    import tempfile
    wrong = 0
    for name, (circle, files) in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            open(os.path.join(tmp, "Cargo.toml"), "w").close()
            for path, text in files.items():
                full = os.path.join(tmp, "src", path)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "w") as f:
                    f.write(text)
            _, circles_found = found(os.path.join(tmp, "src"))
            if bool(circles_found) != circle:
                wrong += 1
                print(f"self-test: {name}: expected {'a' if circle else 'no'} circle, found {circles_found}")
    print(f"self-test: {len(CASES) - wrong} of {len(CASES)} cases right")
    return 1 if wrong else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    dirs = sys.argv[1:] or [ROOT]
    bad, count = 0, 0
    for src in sorted(crates(dirs)):
        count += 1
        crate, cycles = found(src)
        for parent, cycle in cycles:
            bad += 1
            rel = os.path.relpath(src, ROOT)
            where = "::".join(parent) or "the crate root"
            print(f"import circle in {rel}, among the modules of {where}:")
            for _member, (a, b, line) in cycle:
                fa = os.path.relpath(crate.files[a], ROOT)
                fb = os.path.relpath(crate.files[b], ROOT)
                print(f"  {fa}:{line} uses {fb}")
    if bad:
        print(f"{bad} import circle(s); see scripts/import-circles.py for the rule")
        return 1
    print(f"no import circles in {count} crates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
