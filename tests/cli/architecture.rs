//! The crate's module graph: no cycle between files, and no import running up the layers.
//!
//! A node is a file (a module: `src/checks/mail/no_consent.rs` is `checks::mail::no_consent`).
//! An edge is a path in its code that names another module's item: `crate::a::b::…` resolved
//! to the file that defines the deepest module it names (`crate::engine::ident` is
//! `src/engine/mod.rs`), `super::…` and `self::…` resolved from the file's own module, a path
//! that starts with a child module (`pub use context::Context;`, `pricing::probe::INFO`) or
//! with a module a `use` brought in, and, from the binary, `fairmark::…`. `mod x;` declares a
//! child and is no edge. Comments, strings and `#[cfg(test)]` items are left out: unit tests
//! may use what is above them.
//!
//! A cycle means two files cannot be understood, tested or moved apart, so it fails the build
//! here, with the edges that close it. Re-exports count: a `mod.rs` that re-exports its
//! children while a child imports the parent's own items is a cycle; the shared items belong
//! in a file of their own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules from the bottom up. A module may import its own layer and those
/// below it, never one above (the binary's `main` and `cli` sit on top and may use anything).
/// The order is the one the imports allow, read as data flowing one way:
/// - text and numbers with no domain (`escape`, `stats`, …) and the UDFs of local time and
///   business days (`mail_time`) know nothing of fairmark;
/// - `pii` recognizes identifiers in a value, which the error type uses to keep them out of
///   messages; `error`, `output` and `config_errors` sit on it;
/// - `pseudonym` holds keys and tokens (config names the identifier classes it defines);
/// - `config` reads fairmark.toml, and `findings` is what every check, baseline and renderer
///   shares (packs cite its legal bases);
/// - `policy` merges the packs, `engine` registers the datasets under their canonical views;
/// - `pricing` (the rules file, the customer features), then `segment` and `functions` (the
///   UDFs an engine is opened with), over the engine;
/// - `derived` builds the tables the checks share; `checks` read them, `baseline` compares
///   findings;
/// - `probe` asks a pricing service and keeps its answers for the checks and the report;
/// - `report` renders findings and derived tables;
/// - `audit`, `demo`, `init` and `pseudonymize` are the library halves of commands.
const LAYERS: &[&[&str]] = &[
    &["udf_args", "quasi_kind", "escape", "stats", "mail_time"],
    &["pii"],
    &["error", "output", "config_errors"],
    &["pseudonym"],
    &["config", "findings", "comparison"],
    &["policy", "engine"],
    &["pricing"],
    &["segment", "functions"],
    &["derived"],
    &["checks", "baseline"],
    &["probe"],
    &["report"],
    &["audit", "gate", "demo", "init", "pseudonymize"],
    &["lib"],
];

/// One file of a crate, as its module.
struct Module {
    file: PathBuf,
    /// `["checks", "mail", "no_consent"]`; empty for the crate root.
    path: Vec<String>,
    /// Whether it belongs to the binary (`main.rs` and the modules it declares).
    binary: bool,
}

/// The code of a file as tokens: identifiers, `::` and single punctuation; comments, string
/// and character literals dropped.
fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && raw_string_at(&chars, i) {
            i = skip_raw_string(&chars, i);
        } else if c == 'b' && next == Some('r') && raw_string_at(&chars, i + 1) {
            i = skip_raw_string(&chars, i + 1);
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a): a lifetime has
            // no closing quote right after its name.
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && next == Some(':') {
            out.push("::".to_string());
            i += 2;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

fn raw_string_at(chars: &[char], r: usize) -> bool {
    let mut j = r + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
        && (r == 0 || !(chars[r - 1].is_alphanumeric() || chars[r - 1] == '_'))
}

fn skip_raw_string(chars: &[char], r: usize) -> usize {
    let mut j = r + 1;
    let mut hashes = 0;
    while chars[j] == '#' {
        hashes += 1;
        j += 1;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
            return j + 1 + hashes;
        }
        j += 1;
    }
    j
}

/// The tokens with every `#[cfg(test)]` item (a unit-test module, a test-only `mod x;` or
/// function) cut out.
fn without_test_items(tokens: Vec<String>) -> Vec<String> {
    let attribute = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i..].starts_with(&attribute.map(String::from)) {
            i += attribute.len();
            let mut depth = 0i32;
            while i < tokens.len() {
                let t = tokens[i].as_str();
                i += 1;
                match t {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" => depth -= 1,
                    "}" => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ";" if depth == 0 => break,
                    _ => {}
                }
            }
        } else {
            out.push(tokens[i].clone());
            i += 1;
        }
    }
    out
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The paths of a `use` tree starting at `tokens[i]`, expanded (`a::{b, c::d}` is `a::b`
/// and `a::c::d`; `self` in a group names the group's own path); returns them and the
/// position after the closing `;`.
fn use_paths(tokens: &[String], mut i: usize) -> (Vec<Vec<String>>, usize) {
    fn tree(tokens: &[String], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut path = prefix;
        loop {
            let Some(t) = tokens.get(*i) else { return };
            match t.as_str() {
                "::" => *i += 1,
                "{" => {
                    *i += 1;
                    loop {
                        match tokens.get(*i).map(String::as_str) {
                            Some("}") => {
                                *i += 1;
                                return;
                            }
                            Some(",") => *i += 1,
                            Some(_) => tree(tokens, i, path.clone(), out),
                            None => return,
                        }
                    }
                }
                "*" => {
                    *i += 1;
                    out.push(path);
                    return;
                }
                "as" => {
                    *i += 2;
                    out.push(path);
                    return;
                }
                "self" if !path.is_empty() => {
                    *i += 1;
                    out.push(path);
                    return;
                }
                t if is_ident(t) => {
                    path.push(t.to_string());
                    *i += 1;
                    if tokens.get(*i).map(String::as_str) != Some("::") {
                        out.push(path);
                        return;
                    }
                }
                _ => {
                    out.push(path);
                    return;
                }
            }
        }
    }
    let mut out = Vec::new();
    tree(tokens, &mut i, Vec::new(), &mut out);
    while i < tokens.len() && tokens[i] != ";" {
        i += 1;
    }
    (out, i + 1)
}

/// Every path of two or more segments in the code (`use` trees expanded), in order, each
/// with whether it came from a `use`.
fn paths(tokens: &[String]) -> Vec<(Vec<String>, bool)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        if t == "use" {
            let (found, next) = use_paths(tokens, i + 1);
            out.extend(found.into_iter().map(|p| (p, true)));
            i = next;
        } else if is_ident(t)
            && tokens.get(i + 1).map(String::as_str) == Some("::")
            && (i == 0 || tokens[i - 1] != "::")
        {
            let mut path = vec![t.to_string()];
            i += 1;
            while tokens.get(i).map(String::as_str) == Some("::")
                && tokens.get(i + 1).is_some_and(|n| is_ident(n))
            {
                path.push(tokens[i + 1].clone());
                i += 2;
            }
            out.push((path, false));
        } else {
            i += 1;
        }
    }
    out
}

/// The `mod NAME;` declarations of a file (test-only ones already cut out).
fn declared_children(tokens: &[String]) -> Vec<String> {
    tokens
        .windows(3)
        .filter(|w| w[0] == "mod" && is_ident(&w[1]) && w[2] == ";")
        .map(|w| w[1].clone())
        .collect()
}

/// The file that holds module `name`, declared in `parent` (a `mod.rs`, `lib.rs`, `main.rs`
/// or `x.rs` with its children in `x/`).
fn child_file(parent: &Path, name: &str) -> Option<PathBuf> {
    let stem = parent.file_stem()?.to_str()?;
    let dir = match stem {
        "mod" | "lib" | "main" => parent.parent()?.to_path_buf(),
        _ => parent.parent()?.join(stem),
    };
    [
        dir.join(format!("{name}.rs")),
        dir.join(name).join("mod.rs"),
    ]
    .into_iter()
    .find(|f| f.is_file())
}

/// Every module of the library (from `lib.rs`) and of the binary (from `main.rs`).
fn modules(src: &Path) -> Vec<Module> {
    let mut found = Vec::new();
    for (root, binary) in [("lib.rs", false), ("main.rs", true)] {
        let mut queue = vec![(src.join(root), Vec::<String>::new())];
        while let Some((file, path)) = queue.pop() {
            let code = without_test_items(tokens(&std::fs::read_to_string(&file).unwrap()));
            for child in declared_children(&code) {
                let child_file = child_file(&file, &child)
                    .unwrap_or_else(|| panic!("{} declares `mod {child};`", file.display()));
                let mut child_path = path.clone();
                child_path.push(child);
                queue.push((child_file, child_path));
            }
            found.push(Module { file, path, binary });
        }
    }
    found
}

type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// File → the files it names, each with one path that names it.
fn file_graph() -> Graph {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = manifest.join("src");
    let modules = modules(&src);
    let index: BTreeMap<(bool, Vec<String>), &Module> = modules
        .iter()
        .map(|m| ((m.binary, m.path.clone()), m))
        .collect();
    let name = |m: &Module| {
        m.file
            .strip_prefix(manifest)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let mut graph = Graph::new();
    for module in &modules {
        let code = without_test_items(tokens(&std::fs::read_to_string(&module.file).unwrap()));
        let children: BTreeSet<String> = declared_children(&code).into_iter().collect();
        // Names a `use` made stand for a module (`use crate::checks::pricing;`).
        let mut aliases: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
        let edges = graph.entry(name(module)).or_default();
        for (path, from_use) in paths(&code) {
            let (crate_is_binary, mut base, rest) = match path[0].as_str() {
                "crate" => (module.binary, Vec::new(), &path[1..]),
                "fairmark" if module.binary => (false, Vec::new(), &path[1..]),
                "self" => (module.binary, module.path.clone(), &path[1..]),
                "super" => {
                    let ups = path.iter().take_while(|s| *s == "super").count();
                    let keep = module.path.len().saturating_sub(ups);
                    (module.binary, module.path[..keep].to_vec(), &path[ups..])
                }
                first if children.contains(first) => {
                    let mut base = module.path.clone();
                    base.push(first.to_string());
                    (module.binary, base, &path[1..])
                }
                first if aliases.contains_key(first) => {
                    let (binary, base) = aliases[first].clone();
                    (binary, base, &path[1..])
                }
                _ => continue,
            };
            let mut named = 0;
            for segment in rest {
                base.push(segment.clone());
                if !index.contains_key(&(crate_is_binary, base.clone())) {
                    base.pop();
                    break;
                }
                named += 1;
            }
            if from_use && named == rest.len() && !rest.is_empty() {
                aliases.insert(
                    rest.last().unwrap().clone(),
                    (crate_is_binary, base.clone()),
                );
            }
            let target = index[&(crate_is_binary, base)];
            if target.file != module.file {
                edges.entry(name(target)).or_insert_with(|| path.join("::"));
            }
        }
    }
    graph
}

/// Strongly connected components with more than one node (Tarjan).
fn cycles<T>(graph: &BTreeMap<String, BTreeMap<String, T>>) -> Vec<Vec<String>> {
    struct State<'a, T> {
        graph: &'a BTreeMap<String, BTreeMap<String, T>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a, T>(state: &mut State<'a, T>, node: &'a str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        state.on_stack.insert(node);
        for target in state.graph.get(node).into_iter().flat_map(|t| t.keys()) {
            let target = target.as_str();
            if !state.index.contains_key(target) {
                visit(state, target);
                let low = state.low[target].min(state.low[node]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(target) {
                let low = state.index[target].min(state.low[node]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_string());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

/// Each cycle with the edges inside it, each edge with the path that makes it.
fn explain_cycles(graph: &Graph) -> Vec<String> {
    cycles(graph)
        .iter()
        .map(|component| {
            let edges: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|(to, _)| component.contains(to))
                        .map(move |(to, path)| format!("  {from} -> {to} ({path})"))
                })
                .collect();
            format!("{}:\n{}", component.join(", "), edges.join("\n"))
        })
        .collect()
}

/// The top-level module of a file: `src/checks/mail/no_consent.rs` is `checks`.
fn top_level(file: &str) -> String {
    let relative = file.strip_prefix("src/").unwrap();
    let first = relative.split('/').next().unwrap();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn no_file_imports_another_that_imports_it_back() {
    let graph = file_graph();
    assert!(graph.len() > 100, "the scan found the files: {graph:?}");
    let found = explain_cycles(&graph);
    assert!(
        found.is_empty(),
        "import cycles between files:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_module_imports_a_higher_layer() {
    let graph = file_graph();
    let layer_of: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(layer, names)| names.iter().map(move |n| (*n, layer)))
        .collect();
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        let from_top = top_level(from);
        if matches!(from_top.as_str(), "main" | "cli") {
            continue;
        }
        let from_layer = *layer_of
            .get(from_top.as_str())
            .unwrap_or_else(|| panic!("`{from_top}` is in no layer: add it to LAYERS"));
        for (to, path) in targets {
            let to_top = top_level(to);
            let to_layer = *layer_of
                .get(to_top.as_str())
                .unwrap_or_else(|| panic!("`{to_top}` is in no layer: add it to LAYERS"));
            // The report reads the registry (`checks/mod.rs`, `checks/check.rs`) for titles
            // and statuses, and derived tables for its charts; never a check family.
            let check_family = to.starts_with("src/checks/") && to.matches('/').count() > 2;
            if to_layer > from_layer || (from_top == "report" && check_family) {
                wrong.push(format!("{from} -> {to} ({path})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports running up the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_scan_resolves_paths_and_finds_a_planted_cycle() {
    let mut graph: BTreeMap<String, BTreeMap<String, ()>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into(), ());
    graph.entry("b".into()).or_default().insert("c".into(), ());
    graph.entry("c".into()).or_default().insert("a".into(), ());
    graph.entry("d".into()).or_default().insert("a".into(), ());
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
    let code = tokens(
        "//! [`crate::x`]\nuse crate::{config::Config, engine::{self, Engine}};\n\
         let s = \"crate::y\"; let c = '\"'; fn f<'a>(x: &'a str) { super::pii::mask(1) }\n\
         #[cfg(test)]\nmod tests { use crate::z; }",
    );
    let found: Vec<String> = paths(&without_test_items(code))
        .into_iter()
        .map(|(p, _)| p.join("::"))
        .collect();
    assert_eq!(
        found,
        [
            "crate::config::Config",
            "crate::engine",
            "crate::engine::Engine",
            "super::pii::mask"
        ]
    );
}
