//! `fairmark init`: proposes a `fairmark.toml` for the data files of a directory. Each file is
//! read through the engine's readers (its first rows only), its columns are reduced to
//! statistics ([`profile`]), the statistics and the column names to a role and a mapping
//! ([`infer`]), and the mapping to a commented config ([`render`]) that `Config::parse`
//! accepts. No value from the data reaches the config or the summary: column names only where
//! [`crate::error::printable_name`] allows, and consent-action words only as the config's
//! own vocabulary.

mod infer;
mod profile;
mod render;
mod vocabulary;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::{Config, Format};
use crate::engine::read_head;
use crate::error::{Error, Result};
use crate::pricing::known_attributes;
use crate::pricing::rules::RulesFile;
use infer::{Context, Role};
use profile::{SAMPLE_ROWS, TableProfile};
use render::{Header, Section};
use vocabulary::name_words;

/// The proposed config and what the command says about it.
pub struct Proposal {
    /// The commented `fairmark.toml`, which [`Config::parse`] accepts.
    pub text: String,
    pub summary: Summary,
}

pub struct Summary {
    pub datasets: Vec<DatasetSummary>,
    /// `pricing_rules` as written, if a rules file was found.
    pub pricing_rules: Option<String>,
    /// Where the key is read from, as the config says it.
    pub key: String,
    /// Files not used, each with why.
    pub not_used: Vec<String>,
}

pub struct DatasetSummary {
    pub role: &'static str,
    /// `path` as written.
    pub path: String,
    pub files: usize,
    pub mapped: usize,
    /// Columns left unmapped, by name where a name may be shown, else by position.
    pub unmapped: Vec<String>,
}

/// One data file and what its first rows hold.
struct Sampled {
    name: String,
    format: Format,
    table: TableProfile,
    /// The role it reads as, with its standalone proposal's score.
    role: Option<(Role, usize)>,
}

/// Proposes a config for the data files directly in `dir`, to be written to `out` (paths in it
/// are relative to `out`'s directory).
pub async fn propose(dir: &Path, out: &Path) -> Result<Proposal> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!("{}: not a directory", dir.display())));
    }
    let config_dir = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let prefix = relative_dir(config_dir, dir)?;
    let listing = list_dir(dir, out)?;
    if listing.data.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no data file (.parquet, .csv, .tsv, .ndjson, .jsonl, .json) in it",
            dir.display()
        )));
    }
    let mut sampled = Vec::new();
    let mut not_used = Vec::new();
    for (path, format) in listing.data {
        let name = file_name(&path);
        let (schema, batches) = read_head(&path, format, SAMPLE_ROWS).await?;
        let table = profile::profile(&schema, &batches);
        if table.rows == 0 {
            not_used.push(format!("{name}: no rows"));
            continue;
        }
        let role = detect(&table, &name);
        if role.is_none() {
            not_used.push(format!("{name}: no role fits its columns"));
        }
        sampled.push(Sampled {
            name,
            format,
            table,
            role,
        });
    }
    let groups = group_by_role(&sampled, &mut not_used);
    let sections = map_roles(&sampled, &groups, &prefix, &mut not_used);
    if sections.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no data file reads as customers, orders or mail sends",
            dir.display()
        )));
    }
    let (key, key_note) = key_choice(&listing.keys, &prefix);
    not_used.extend(key_note);
    let out_name = out.display().to_string();
    let mut header = Header {
        key: key.clone(),
        pricing_rules: None,
        notes: Vec::new(),
    };
    // The rules are read against the attributes the mapping makes known, so the config is
    // parsed first without them.
    header.notes = notes(&not_used);
    let config = Config::parse(&render::render(&header, &sections), &out_name)?;
    let (rules, rules_notes) = find_rules(&listing.tomls, &config, &prefix);
    header.pricing_rules = rules;
    not_used.extend(rules_notes);
    header.notes = notes(&not_used);
    let text = render::render(&header, &sections);
    Config::parse(&text, &out_name)?;
    let summary = Summary {
        datasets: sections
            .iter()
            .map(|s| DatasetSummary {
                role: s.proposal.role.name(),
                path: s.path.clone(),
                files: groups
                    .iter()
                    .find(|g| g.role == s.proposal.role)
                    .map_or(1, |g| g.files.len()),
                mapped: s.proposal.mapped,
                unmapped: s
                    .proposal
                    .unmapped
                    .iter()
                    .map(|u| u.label.clone())
                    .collect(),
            })
            .collect(),
        pricing_rules: header.pricing_rules.map(|(path, _)| path),
        key: key.0,
        not_used,
    };
    Ok(Proposal { text, summary })
}

fn notes(not_used: &[String]) -> Vec<String> {
    not_used.iter().map(|n| format!("Not used: {n}")).collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The files directly in a directory, by what `init` does with them.
struct Listing {
    data: Vec<(PathBuf, Format)>,
    tomls: Vec<PathBuf>,
    keys: Vec<PathBuf>,
}

fn list_dir(dir: &Path, out: &Path) -> Result<Listing> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        // Hidden as a dataset's directory listing hides them.
        .filter(|p| !file_name(p).starts_with(['.', '_']))
        .collect();
    paths.sort();
    let out = out.canonicalize().ok();
    let mut listing = Listing {
        data: Vec::new(),
        tomls: Vec::new(),
        keys: Vec::new(),
    };
    for path in paths {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if let Some(format) = Format::from_extension(&path) {
            listing.data.push((path, format));
        } else if extension.as_deref() == Some("toml") {
            if path.canonicalize().ok() != out {
                listing.tomls.push(path);
            }
        } else if extension.as_deref() == Some("key") {
            listing.keys.push(path);
        }
    }
    Ok(listing)
}

/// `dir` as the config at `config_dir` reaches it: empty when they are one directory, a
/// relative path below it, else absolute.
fn relative_dir(config_dir: &Path, dir: &Path) -> Result<PathBuf> {
    let config_dir = config_dir
        .canonicalize()
        .map_err(|e| Error::io(config_dir, e))?;
    let dir = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    Ok(match dir.strip_prefix(&config_dir) {
        Ok(below) => below.to_path_buf(),
        Err(_) => dir,
    })
}

/// Tried in this order, so that where two roles fit equally the more specific one wins: a
/// consent log also has what a message log has, orders what customers have.
const DETECTION_ORDER: [Role; 5] = [
    Role::Consents,
    Role::MailSends,
    Role::Orders,
    Role::Customers,
    Role::Quotes,
];

/// The role a file reads as on its own: the one whose mapping finds every key it needs and
/// names the most columns, a role its file name says first.
fn detect(table: &TableProfile, file: &str) -> Option<(Role, usize)> {
    let stem = file.split('.').next().unwrap_or(file);
    let words = name_words(stem);
    let mut best: Option<(Role, usize)> = None;
    for role in DETECTION_ORDER {
        let Some(proposal) = infer::map(role, table, &Context::default()) else {
            continue;
        };
        let named = words
            .iter()
            .any(|w| role.file_words().contains(&w.as_str()));
        // Quotes hold what orders hold; only the file's name tells them apart.
        if role == Role::Quotes && !named {
            continue;
        }
        // A table with a unique key but no identifiers is a customers table only by name.
        let personal = !proposal.table("identifiers").is_empty()
            || !proposal.table("quasi_identifiers").is_empty();
        if role == Role::Customers && !named && !personal {
            continue;
        }
        let score = proposal.mapped + if named { 1000 } else { 0 };
        if best.is_none_or(|(_, top)| score > top) {
            best = Some((role, score));
        }
    }
    best
}

/// The files of one role: several only when they share a schema and one glob names them all
/// and nothing else.
struct Group {
    role: Role,
    /// Indexes into the sampled files; the first is the one mapped.
    files: Vec<usize>,
    path: String,
}

fn group_by_role(sampled: &[Sampled], not_used: &mut Vec<String>) -> Vec<Group> {
    let mut by_role: BTreeMap<Role, Vec<usize>> = BTreeMap::new();
    for (index, file) in sampled.iter().enumerate() {
        if let Some((role, _)) = file.role {
            by_role.entry(role).or_default().push(index);
        }
    }
    let names: Vec<&str> = sampled.iter().map(|s| s.name.as_str()).collect();
    by_role
        .into_iter()
        .map(|(role, files)| {
            if files.len() > 1
                && let Some(pattern) = shared_pattern(sampled, &files, &names)
            {
                return Group {
                    role,
                    files,
                    path: pattern,
                };
            }
            let best = *files
                .iter()
                .max_by_key(|i| (sampled[**i].role.map(|(_, s)| s), std::cmp::Reverse(**i)))
                .expect("a role has a file");
            for other in files.iter().filter(|i| **i != best) {
                not_used.push(format!(
                    "{}: also reads as {}, with columns unlike {}; a dataset is files of one schema",
                    sampled[*other].name,
                    role.name(),
                    sampled[best].name
                ));
            }
            Group {
                role,
                files: vec![best],
                path: sampled[best].name.clone(),
            }
        })
        .collect()
}

/// A glob naming exactly `files` among `names`: their common beginning and extension.
fn shared_pattern(sampled: &[Sampled], files: &[usize], names: &[&str]) -> Option<String> {
    let first = &sampled[files[0]];
    let schema = |s: &Sampled| -> Vec<(String, String)> {
        s.table
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.data_type.to_string()))
            .collect()
    };
    if files
        .iter()
        .any(|i| sampled[*i].format != first.format || schema(&sampled[*i]) != schema(first))
    {
        return None;
    }
    let common = files.iter().fold(first.name.clone(), |common, i| {
        common
            .chars()
            .zip(sampled[*i].name.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    // Cut back to a separator, so that `orders_2025` and `orders_2026` give `orders_*`, which
    // also names next year's file.
    let common = match common.rfind(|c: char| !c.is_alphanumeric()) {
        Some(at) => common[..=at].to_string(),
        None => common,
    };
    let extension = first.name.rsplit_once('.').map(|(_, e)| e)?;
    let glob_safe = !common.contains(['*', '?', '[', ']']);
    let pattern = format!("{common}*.{extension}");
    let matcher = glob::Pattern::new(&pattern).ok()?;
    let matched: Vec<usize> = (0..names.len())
        .filter(|i| matcher.matches(names[*i]))
        .collect();
    (glob_safe && matched == files).then_some(pattern)
}

/// Maps each role's file with what the others tell: the customers' id for the orders' and
/// quotes' reference to it, the orders' conditions for the quotes'.
fn map_roles(
    sampled: &[Sampled],
    groups: &[Group],
    prefix: &Path,
    not_used: &mut Vec<String>,
) -> Vec<Section> {
    let table = |role: Role| {
        groups
            .iter()
            .find(|g| g.role == role)
            .map(|g| (g, &sampled[g.files[0]]))
    };
    let standalone =
        |role: Role| table(role).and_then(|(_, s)| infer::map(role, &s.table, &Context::default()));
    let orders_have_device =
        standalone(Role::Orders).is_some_and(|o| o.column("device_os").is_some());
    let mut context = Context {
        orders_have_device,
        ..Context::default()
    };
    let mut sections = Vec::new();
    let mut mapped = BTreeSet::new();
    for role in Role::ALL {
        let Some((group, first)) = table(role) else {
            continue;
        };
        let needs = match role {
            Role::Quotes => Some(Role::Orders),
            Role::Consents => Some(Role::MailSends),
            _ => None,
        };
        if let Some(needed) = needs
            && !mapped.contains(&needed)
        {
            not_used.push(format!(
                "{}: reads as {}, which the config takes only beside {}",
                first.name,
                role.name(),
                needed.name()
            ));
            continue;
        }
        let Some(proposal) = infer::map(role, &first.table, &context) else {
            not_used.push(format!(
                "{}: reads as {} alone, but not beside the others (its columns do not match theirs)",
                first.name,
                role.name()
            ));
            continue;
        };
        match role {
            Role::Customers => {
                context.customer_ids = proposal
                    .column("id")
                    .and_then(|id| first.table.columns.iter().find(|c| c.name == id));
            }
            Role::Orders => context.order_conditions = Some(proposal.columns("conditions")),
            _ => {}
        }
        let rows = first.table.rows;
        let path_why = match group.files.len() {
            1 => format!("read as {}; {rows} rows sampled", role.name()),
            n => format!(
                "{n} files of one schema, read as {}; {rows} rows of the first sampled",
                role.name()
            ),
        };
        sections.push(Section {
            path: prefix.join(&group.path).to_string_lossy().into_owned(),
            path_why,
            proposal,
        });
        mapped.insert(role);
    }
    sections
}

/// The key: the `*.key` file beside the data, or the environment.
fn key_choice(keys: &[PathBuf], prefix: &Path) -> ((String, String), Option<String>) {
    let Some(first) = keys.first() else {
        return (
            (
                "{ env = \"FAIRMARK_KEY\" }".to_string(),
                "no *.key file beside the data; export a random key, e.g. `export FAIRMARK_KEY=$(openssl rand -hex 32)`".to_string(),
            ),
            None,
        );
    };
    let path = prefix.join(file_name(first)).to_string_lossy().into_owned();
    let note = (keys.len() > 1).then(|| {
        format!(
            "{}: another *.key file; the first by name is used",
            keys[1..]
                .iter()
                .map(|k| file_name(k))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    (
        (
            format!("{{ file = {} }}", render::string(&path)),
            "the *.key file beside the data".to_string(),
        ),
        note,
    )
}

/// The first `*.toml` that is a pricing rules file (`[[rule]]` tables and nothing else) and
/// loads with the proposed mapping; notes on rules files that do not.
fn find_rules(
    tomls: &[PathBuf],
    config: &Config,
    prefix: &Path,
) -> (Option<(String, String)>, Vec<String>) {
    let known = known_attributes(config);
    let mut notes = Vec::new();
    for path in tomls {
        let name = file_name(path);
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let is_rules = toml::from_str::<toml::Table>(&text)
            .is_ok_and(|t| t.len() == 1 && t.get("rule").is_some_and(toml::Value::is_array));
        if !is_rules {
            continue;
        }
        match RulesFile::parse(&text, &name, &known) {
            Ok(rules) => {
                let path = prefix.join(&name).to_string_lossy().into_owned();
                let why = format!(
                    "loads as a pricing rules file ({} rules) with this mapping",
                    rules.rules.len()
                );
                return (Some((path, why)), notes);
            }
            Err(error) => notes.push(format!(
                "{name}: a pricing rules file that does not load with this mapping ({error}); map what it names, then set pricing_rules"
            )),
        }
    }
    (None, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: &str = "13800138000";

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn customers_csv() -> String {
        let mut csv = String::from("uid,mobile,vip,registered_at\n");
        for i in 0..30 {
            csv.push_str(&format!(
                "U{i:03},1380013{:04},{},2024-05-{:02}T10:00:00\n",
                8000 + i,
                i % 3 == 0,
                1 + i % 28
            ));
        }
        csv
    }

    fn orders_csv(year: u32) -> String {
        let mut csv = String::from("order_no,uid,sku,ordered_at,paid_price\n");
        for i in 0..60 {
            csv.push_str(&format!(
                "T{year}{i:03},U{:03},SKU{},{year}-03-{:02}T12:00:00,{}.5\n",
                i % 30,
                i % 7,
                1 + i % 28,
                10 + i
            ));
        }
        csv
    }

    #[tokio::test]
    async fn files_of_one_schema_share_a_glob_and_the_config_loads() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        write(data, "customers.csv", &customers_csv());
        write(data, "orders_2025.csv", &orders_csv(2025));
        write(data, "orders_2026.csv", &orders_csv(2026));
        write(data, "README.md", "not data");
        write(data, "shop.key", "");
        let rule = |attribute: &str| {
            format!("[[rule]]\nid = \"r\"\nwhen = \"{attribute}\"\nadjust = \"-3%\"\n")
        };
        // Sorted before the rules that load, and naming what no column is.
        write(data, "draft_rules.toml", &rule("loyalty_score > 3"));
        write(data, "rules.toml", &rule("vip"));
        let out = data.join("fairmark.toml");
        let proposal = propose(data, &out).await.unwrap();
        std::fs::write(&out, &proposal.text).unwrap();
        let config = Config::load(&out).unwrap();
        let orders = config.datasets.orders.as_ref().unwrap();
        assert_eq!(orders.path, "orders_*.csv");
        assert_eq!(orders.id.as_deref(), Some("order_no"));
        assert_eq!(orders.customer, "uid");
        let customers = config.datasets.customers.as_ref().unwrap();
        assert_eq!(
            customers.identifiers.get("mobile"),
            Some(&crate::pseudonym::IdentifierClass::Phone)
        );
        assert_eq!(config.pricing_rules.as_deref(), Some("rules.toml"));
        assert_eq!(config.key.file.as_deref(), Some("shop.key"));
        assert!(
            proposal
                .text
                .contains("# Not used: draft_rules.toml: a pricing rules file that does not load")
        );
        assert_eq!(proposal.summary.datasets[1].files, 2);
        assert!(!proposal.text.contains(PHONE) && !proposal.text.contains("U001"));

        // Written elsewhere, the config still reaches the data.
        let elsewhere = tempfile::tempdir().unwrap();
        let out = elsewhere.path().join("fairmark.toml");
        let proposal = propose(data, &out).await.unwrap();
        std::fs::write(&out, &proposal.text).unwrap();
        let config = Config::load(&out).unwrap();
        let customers = config.datasets.customers.as_ref().unwrap();
        let stores = datafusion::execution::object_store::DefaultObjectStoreRegistry::new();
        assert!(
            crate::engine::storage::resolve(&stores, &config, customers)
                .await
                .is_ok(),
            "{}",
            customers.path
        );
    }

    #[tokio::test]
    async fn an_unreadable_file_is_named_and_none_of_its_values() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let out = data.join("fairmark.toml");
        let message = propose(data, &out).await.err().unwrap().to_string();
        assert!(message.contains("no data file (.parquet"), "{message}");
        let headerless: String = customers_csv()
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n");
        write(data, "customers.csv", &headerless);
        let message = propose(data, &out).await.err().unwrap().to_string();
        assert!(
            message.contains("customers.csv: the first row looks like data"),
            "{message}"
        );
        assert!(
            !message.contains(PHONE) && !message.contains("U000"),
            "{message}"
        );
        let mut bad = customers_csv().into_bytes();
        bad.extend(b"U999,13800139999,\xff,2024-05-01T10:00:00\n");
        std::fs::write(data.join("customers.csv"), bad).unwrap();
        let message = propose(data, &out).await.err().unwrap().to_string();
        assert!(message.contains("customers.csv: "), "{message}");
        assert!(message.contains("row 31"), "{message}");
        assert!(!message.contains("13800139999"), "{message}");
    }
}
