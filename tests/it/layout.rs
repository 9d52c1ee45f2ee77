//! The workspace's shape: within each crate, no two files import each other, directly or
//! round a circle. A file's imports are its `crate::…`, `super::…` and `self::…` paths
//! (`use` groups included), each taken to the file of the longest module prefix that
//! exists; a module naming its own ancestor or descendant is how Rust modules are built, and
//! does not count; unit-test modules (from a file's `#[cfg(test)]` on) are left out.

use crate::support::root;
use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A module's path from its crate root (`["cmd", "head"]`).
type Module = Vec<String>;

#[test]
fn no_crate_has_an_import_circle() {
    let mut circles = Vec::new();
    for src in crate_sources() {
        let modules = modules_of(&src);
        let names: Vec<&Module> = modules.keys().collect();
        let mut graph = DiGraphMap::<usize, (), std::hash::RandomState>::new();
        for (from, (module, file)) in modules.iter().enumerate() {
            graph.add_node(from);
            let text = std::fs::read_to_string(file).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (head, tail) in paths(text) {
                let Some(to) = resolve(&modules, module, &head, &tail) else { continue };
                let related = to.len() <= module.len() && module[..to.len()] == to[..]
                    || module.len() <= to.len() && to[..module.len()] == module[..];
                if !related {
                    graph.add_edge(from, names.iter().position(|n| **n == to).unwrap(), ());
                }
            }
        }
        for component in tarjan_scc(&graph).into_iter().filter(|c| c.len() > 1) {
            let mut files: Vec<String> = component
                .iter()
                .map(|&i| modules[names[i]].strip_prefix(root()).unwrap().display().to_string())
                .collect();
            files.sort();
            circles.push(files.join(" <-> "));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles (move what both use to a module of its own):\n{}",
        circles.join("\n")
    );
}

/// Every crate's `src/` in the workspace (the binary's, and each member's).
fn crate_sources() -> Vec<PathBuf> {
    let mut out = vec![root().join("src")];
    for entry in std::fs::read_dir(root()).unwrap().flatten() {
        let dir = entry.path();
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            out.push(dir.join("src"));
        }
    }
    out
}

/// Module path → file, for every `.rs` under `src`.
fn modules_of(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            match module.last().map(String::as_str) {
                Some("lib" | "main") if module.len() == 1 => module.clear(),
                Some("mod") => {
                    module.pop();
                }
                _ => {}
            }
            out.insert(module, path);
        }
    }
    out
}

/// Each `crate`/`super`/`self` path in `text`: its head and its segments (a `use` group's
/// items each as a path of their own).
fn paths(text: &str) -> Vec<(String, Vec<String>)> {
    // Bytes throughout: the words sought are ASCII, the text around them may not be.
    let text = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let word_at = |at: usize| -> String {
        text[at..].iter().take_while(|&&b| is_word(b)).map(|&b| char::from(b)).collect()
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let head = ["crate", "super", "self"].into_iter().find(|h| {
            text[i..].starts_with(h.as_bytes())
                && text[i + h.len()..].starts_with(b"::")
                && (i == 0 || !is_word(text[i - 1]))
        });
        let Some(head) = head else {
            i += 1;
            continue;
        };
        let mut at = i + head.len();
        let mut segments = Vec::new();
        while text[at..].starts_with(b"::") {
            let segment = word_at(at + 2);
            if segment.is_empty() {
                break;
            }
            at += 2 + segment.len();
            segments.push(segment);
        }
        if text[at..].starts_with(b"::{") {
            let group = &text[at + 3..];
            let group = &group[..group.iter().position(|&b| b == b'}').unwrap_or(group.len())];
            for item in group.split(|&b| b == b',') {
                let first: String = item
                    .iter()
                    .skip_while(|b| b.is_ascii_whitespace())
                    .take_while(|&&b| is_word(b))
                    .map(|&b| char::from(b))
                    .collect();
                if !first.is_empty() {
                    out.push((head.to_string(), [segments.clone(), vec![first]].concat()));
                }
            }
        }
        out.push((head.to_string(), segments));
        i = at.max(i + 1);
    }
    out
}

/// The module a path from `here` lands in: the longest prefix of it that is a file.
fn resolve(
    modules: &BTreeMap<Module, PathBuf>,
    here: &Module,
    head: &str,
    tail: &[String],
) -> Option<Module> {
    let (mut base, mut tail) = match head {
        "crate" => (Vec::new(), tail),
        "self" => (here.clone(), tail),
        _ => (here[..here.len().saturating_sub(1)].to_vec(), tail),
    };
    while head == "super" && tail.first().is_some_and(|s| s == "super") {
        base.pop();
        tail = &tail[1..];
    }
    let full: Module = base.into_iter().chain(tail.iter().cloned()).collect();
    (0..=full.len()).rev().map(|k| full[..k].to_vec()).find(|m| modules.contains_key(m)).filter(|m| m != here)
}
