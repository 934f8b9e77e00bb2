//! The client's layering, checked on its source: dependencies run one way
//! (shell -> core, media, devices; devices -> media), nothing imports in a
//! circle, and the core and the media pipelines do no I/O of their own.
//!
//! The check reads the `crate::` and `super::` paths of every file under
//! `src/` (comments left out), at two levels: the top-level modules, and
//! the files of each folder (a file naming its folder's `mod.rs` is a child
//! naming its parent, not a sibling, and is left out).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without `//` comments (doc comments name other modules in
/// prose and links).
fn code(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers that follow each `prefix` in `src`.
fn names_after<'a>(src: &'a str, prefix: &str) -> Vec<&'a str> {
    src.match_indices(prefix)
        .filter(|(i, _)| {
            // A whole path segment: not `xcrate::` or `my_super::`.
            !src[..*i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(|(i, _)| {
            let rest = &src[i + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|n| !n.is_empty())
        .collect()
}

fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for d in graph.get(n).into_iter().flatten() {
            match state.get(d.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == d).unwrap();
                    let mut c = stack[at..].to_vec();
                    c.push(d.clone());
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(d, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if !state.contains_key(n.as_str()) {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

struct Source {
    /// Path parts under src/, the file name last.
    parts: Vec<String>,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .map(|p| Source {
            parts: p
                .strip_prefix(&root)
                .unwrap()
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect(),
            code: code(&p),
        })
        .collect()
}

/// The top-level module a file belongs to (`core`, `shell`, `lib`, ...).
fn top(s: &Source) -> String {
    match s.parts.as_slice() {
        [file] => file.trim_end_matches(".rs").to_string(),
        [dir, ..] => dir.clone(),
        [] => unreachable!("a file has a name"),
    }
}

fn layers(sources: &[Source]) -> Graph {
    let mut g = Graph::new();
    for s in sources {
        let t = top(s);
        for n in names_after(&s.code, "crate::") {
            if n != t {
                g.entry(t.clone()).or_default().insert(n.to_string());
            }
        }
    }
    g
}

#[test]
fn layers_point_one_way() {
    let sources = sources();
    let g = layers(&sources);
    assert_eq!(cycle(&g), None, "a cycle between modules: {g:#?}");
    let allowed: &[(&str, &[&str])] = &[("core", &[]), ("media", &[]), ("devices", &["media"])];
    for (module, may) in allowed {
        let uses: BTreeSet<&str> = g
            .get(*module)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let extra: Vec<&&str> = uses.iter().filter(|u| !may.contains(u)).collect();
        assert!(extra.is_empty(), "{module} names {extra:?}");
    }
}

#[test]
fn no_file_imports_a_sibling_that_imports_it_back() {
    let sources = sources();
    let mut folders: BTreeMap<String, Graph> = BTreeMap::new();
    for s in &sources {
        let [dirs @ .., file] = s.parts.as_slice() else {
            continue;
        };
        if dirs.is_empty() || file == "mod.rs" {
            continue;
        }
        let me = file.trim_end_matches(".rs");
        let folder = dirs.join("/");
        let siblings: BTreeSet<String> = sources
            .iter()
            .filter(|o| o.parts.len() > dirs.len() && o.parts[..dirs.len()] == *dirs)
            .map(|o| o.parts[dirs.len()].trim_end_matches(".rs").to_string())
            .filter(|n| n != "mod")
            .collect();
        let mut named = names_after(&s.code, "super::");
        let own = format!("crate::{}::", dirs.join("::"));
        named.extend(names_after(&s.code, &own));
        for n in named {
            if n != me && siblings.contains(n) {
                folders
                    .entry(folder.clone())
                    .or_default()
                    .entry(me.to_string())
                    .or_default()
                    .insert(n.to_string());
            }
        }
    }
    assert!(folders.contains_key("core") && folders.contains_key("shell"));
    for (folder, g) in &folders {
        assert_eq!(cycle(g), None, "a cycle in {folder}/: {g:#?}");
    }
}

#[test]
fn the_core_and_the_pipelines_do_no_io_and_read_no_clock() {
    let forbidden = [
        "std::net",
        "std::thread",
        "std::sync",
        "std::fs",
        "Instant::now",
        "SystemTime::now",
    ];
    for s in sources() {
        let t = top(&s);
        if t != "core" && t != "media" || s.parts.last().is_some_and(|f| f == "tests.rs") {
            continue;
        }
        // Tests may use what they like; the image and WAV files are read
        // and written by the synthetic sources' constructors, on request.
        let code = s.code.split("#[cfg(test)]").next().unwrap_or("");
        let file = s.parts.join("/");
        for f in forbidden {
            let allowed = f == "std::fs" && (file == "media/image.rs" || file == "media/wav.rs");
            assert!(allowed || !code.contains(f), "{file} uses {f}");
        }
    }
}
