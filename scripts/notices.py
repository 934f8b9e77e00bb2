#!/usr/bin/env python3
"""Writes the licence notices that ship with lanmeet's executables.

    scripts/notices.py --target x86_64-pc-windows-gnu --out NOTICES.txt

Which code ends up in the programs comes from `cargo metadata` for that
target: the normal (not build, not dev) dependencies of lanmeet-server and
lanmeet-client, less proc-macro crates, which run in the compiler and ship
nothing. The texts come from each crate's own source in cargo's registry
(its LICENSE, COPYING, NOTICE files), from the C libraries fltk-sys builds
in (FLTK and its copies of libpng, libjpeg and zlib), and from the Rust
toolchain's own licence texts for a crate that ships none. Nothing is
fetched from the network beyond what cargo itself does.

A crate that may be used under a licence that asks for no notice
(Unlicense, CC0-1.0, 0BSD, MIT-0) is listed without a text. Identical texts
are printed once and referred to by number.
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOTS = ("lanmeet-server", "lanmeet-client")
NO_NOTICE = {"Unlicense", "CC0-1.0", "0BSD", "MIT-0"}
LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|COPYRIGHT|NOTICE|UNLICENSE)", re.I)
# C code compiled into a crate, with the files that carry its notices
# (paths inside the crate's source).
BUNDLED_C = {
    "fltk-sys": [
        ("cfltk (C bindings to FLTK), MIT", "cfltk/LICENSE"),
        ("FLTK 1.4, LGPL-2.0 with the FLTK static-linking exceptions", "cfltk/fltk/COPYING"),
        ("libpng (bundled with FLTK), PNG Reference Library License", "cfltk/fltk/png/LICENSE"),
        ("libjpeg (bundled with FLTK), IJG License: its README", "cfltk/fltk/jpeg/README"),
        ("zlib (bundled with FLTK), zlib License: its README", "cfltk/fltk/zlib/README"),
    ],
}


def metadata(target):
    cargo = os.environ.get("CARGO", "cargo")
    out = subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--locked", "--filter-platform", target],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def shipped_packages(meta):
    """The packages whose code is linked into the programs, by id."""
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    todo = [p["id"] for p in meta["packages"] if p["name"] in ROOTS and p["source"] is None]
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    shipped = []
    for pid in seen:
        p = packages[pid]
        if p["source"] is None:
            continue  # lanmeet's own crates
        if any("proc-macro" in t["kind"] for t in p["targets"]):
            continue
        shipped.append(p)
    return sorted(shipped, key=lambda p: (p["name"], p["version"]))


def alternatives(expression):
    """The SPDX expression's OR alternatives, each a set of licence ids."""
    flat = expression.replace("(", " ").replace(")", " ").replace("/", " OR ")
    return [
        {part.strip() for part in re.split(r"\s+AND\s+", alt) if part.strip()}
        for alt in re.split(r"\s+OR\s+", flat)
    ]


def needs_notice(p):
    licence = p.get("license") or ""
    if not licence:
        return True
    return not any(alt <= NO_NOTICE for alt in alternatives(licence))


def licence_files(p):
    root = os.path.dirname(p["manifest_path"])
    names = sorted(n for n in os.listdir(root) if LICENCE_FILE.match(n))
    if p.get("license_file"):
        named = os.path.normpath(os.path.join(root, p["license_file"]))
        rel = os.path.relpath(named, root)
        if rel not in names and os.path.isfile(named):
            names.append(rel)
    return [(n, os.path.join(root, n)) for n in names if os.path.isfile(os.path.join(root, n))]


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().replace("\r\n", "\n").strip("\n") + "\n"


def toolchain_texts():
    """SPDX texts the Rust toolchain ships (share/doc/rust/licenses)."""
    sysroot = subprocess.run(
        ["rustc", "--print", "sysroot"], check=True, capture_output=True, text=True
    ).stdout.strip()
    folder = os.path.join(sysroot, "share", "doc", "rust", "licenses")
    texts = {}
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.endswith(".txt"):
                texts[name[:-4]] = os.path.join(folder, name)
    return texts


class Notices:
    """The output: numbered texts, each printed once."""

    def __init__(self):
        self.texts = []
        self.index = {}

    def text(self, body):
        key = " ".join(body.split())
        if key not in self.index:
            self.texts.append(body)
            self.index[key] = len(self.texts)
        return self.index[key]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--extra", action="append", default=[], metavar="TITLE=PATH",
                    help="a further notice, e.g. a runtime linked in statically")
    args = ap.parse_args()

    meta = metadata(args.target)
    packages = shipped_packages(meta)
    spdx = toolchain_texts()
    notices = Notices()
    entries = []
    free = []
    for p in packages:
        licence = p.get("license") or "(none given)"
        if not needs_notice(p):
            free.append(f"{p['name']} {p['version']} ({licence})")
            continue
        refs = []
        files = licence_files(p)
        for name, path in files:
            refs.append(f"{name}: text {notices.text(read(path))}")
        if not files:
            ids = sorted({i for alt in alternatives(licence) for i in alt})
            for i in ids:
                if i in spdx:
                    refs.append(
                        f"the crate ships no licence file; {i}: text {notices.text(read(spdx[i]))}"
                    )
            if not refs:
                refs.append("the crate ships no licence file and names no licence text we have")
        for title, rel in BUNDLED_C.get(p["name"], []):
            path = os.path.join(os.path.dirname(p["manifest_path"]), rel)
            if os.path.isfile(path):
                refs.append(f"{title}: text {notices.text(read(path))}")
            else:
                print(f"notices: {p['name']}: {rel} is missing", file=sys.stderr)
                sys.exit(1)
        authors = ", ".join(p.get("authors") or []) or "its authors"
        entries.append((f"{p['name']} {p['version']}", licence, authors, p.get("repository"), refs))

    extras = []
    for item in args.extra:
        title, _, path = item.partition("=")
        if not os.path.isfile(path):
            print(f"notices: {path} is missing", file=sys.stderr)
            sys.exit(1)
        extras.append((title, notices.text(read(path))))

    lines = [
        "Licence notices for the lanmeet programs",
        "=" * 40,
        "",
        "lanmeet itself is under the MIT licence. The programs contain code",
        f"from the libraries below (built for {args.target}); their licences",
        "ask that these notices go with every copy. Each library names the",
        "texts that apply to it; the texts follow, numbered, each once.",
        "",
    ]
    if "MIT" in spdx:
        lines.append(
            "The Rust standard library (linked into every Rust program): MIT OR Apache-2.0, "
            f"Copyright The Rust Project Contributors: text {notices.text(read(spdx['MIT']))}"
        )
        lines.append("")
    for title, number in extras:
        lines.append(f"{title}: text {number}")
        lines.append("")
    for name, licence, authors, repo, refs in entries:
        lines.append(f"{name} -- {licence}")
        lines.append(f"  by {authors}" + (f" ({repo})" if repo else ""))
        lines.extend(f"  {r}" for r in refs)
        lines.append("")
    if free:
        lines.append("Also linked in, under licences that ask for no notice:")
        lines.extend(f"  {f}" for f in free)
        lines.append("")
    for number, body in enumerate(notices.texts, start=1):
        lines.append("-" * 72)
        lines.append(f"text {number}")
        lines.append("-" * 72)
        lines.append(body)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print(f"{args.out}: {len(entries)} libraries with notices, {len(free)} without, "
          f"{len(notices.texts)} texts")


if __name__ == "__main__":
    main()
