//! `cargo xtask new-plugin NAME [--dynamic]`: a new platform crate that builds,
//! registers and passes the conformance suite as generated.
//!
//! Static (the default): `plugins/NAME`, wired into the host (its feature and
//! one line in the host's `platforms!` list) and the workspace. Dynamic: a
//! shared-library crate under `dynamic-plugins/NAME`, exported through
//! `junction-plugin-abi` and loaded with `junction serve --plugin-dir`.

use anyhow::{Context, Result, bail};
use std::path::Path;

mod templates;

/// Where the generator inserts lines; each file keeps its marker.
const HOST_PLATFORMS_MARKER: &str = "// new-plugin: platforms above";
const HOST_FEATURE_MARKER: &str = "# new-plugin: platform features above";
const HOST_DEP_MARKER: &str = "# new-plugin: platform crates above";
const ROOT_DEP_MARKER: &str = "# new-plugin: platform crates above";
const README_MARKER: &str = "<!-- new-plugin: platforms above -->";

pub struct Names {
    /// `acme_cloud`: folder, feature and module names.
    pub snake: String,
    /// `acme-cloud`: the package suffix.
    pub kebab: String,
    /// `AcmeCloud`: Rust type names.
    pub camel: String,
    /// `Acme Cloud`: the payload's `type`.
    pub title: String,
}

impl Names {
    fn new(raw: &str) -> Result<Names> {
        let ok = !raw.is_empty()
            && raw.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !ok {
            bail!(
                "plugin names are lower-case ASCII letters, digits, `-` and `_`, starting with a letter: `{raw}`"
            );
        }
        let words: Vec<&str> = raw.split(['-', '_']).filter(|w| !w.is_empty()).collect();
        let cap = |w: &str| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        };
        Ok(Names {
            snake: words.join("_"),
            kebab: words.join("-"),
            camel: words.iter().map(|w| cap(w)).collect(),
            title: words.iter().map(|w| cap(w)).collect::<Vec<_>>().join(" "),
        })
    }

    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{{snake}}", &self.snake)
            .replace("{{kebab}}", &self.kebab)
            .replace("{{Camel}}", &self.camel)
            .replace("{{Title}}", &self.title)
    }
}

pub fn new_plugin(root: &Path, args: &[String]) -> Result<()> {
    let dynamic = args.iter().any(|a| a == "--dynamic");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [raw] = positional.as_slice() else {
        bail!("usage: cargo xtask new-plugin NAME [--dynamic]");
    };
    let names = Names::new(raw)?;
    if dynamic {
        new_dynamic(root, &names)
    } else {
        new_static(root, &names)
    }
}

fn write_files(dir: &Path, names: &Names, files: &[(&str, &str)]) -> Result<()> {
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    for (path, template) in files {
        let path = dir.join(names.fill(path));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, names.fill(template))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Inserts `line` right before the line holding `marker`, once.
fn insert_before(path: &Path, marker: &str, line: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.contains(line) {
        return Ok(());
    }
    let Some(at) = text.find(marker) else {
        bail!("{} has lost its marker `{marker}`", path.display());
    };
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..at]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    let mut out = String::with_capacity(text.len() + line.len() + 1);
    out.push_str(&text[..line_start]);
    for l in line.lines() {
        out.push_str(&indent);
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&text[line_start..]);
    std::fs::write(path, out)?;
    Ok(())
}

/// Adds `feature` to the host's `default = [...]` list.
fn add_to_default(path: &Path, feature: &str) -> Result<()> {
    let text = std::fs::read_to_string(path)?;
    let Some(start) = text.find("default = [") else {
        bail!("{} has no `default = [` feature list", path.display());
    };
    let open = start + "default = [".len();
    let Some(close) = text[open..].find(']').map(|i| open + i) else {
        bail!("unclosed default feature list in {}", path.display());
    };
    let mut items: Vec<String> = text[open..close]
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let quoted = format!("\"{feature}\"");
    if !items.contains(&quoted) {
        items.push(quoted);
    }
    let out = format!("{}{}{}", &text[..open], items.join(", "), &text[close..]);
    std::fs::write(path, out)?;
    Ok(())
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut all = std::fs::read_to_string(path)?;
    all.push_str(text);
    std::fs::write(path, all)?;
    Ok(())
}

/// Adds a path to the workspace's `members` list.
fn add_member(root: &Path, member: &str) -> Result<()> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)?;
    let Some(start) = text.find("members = [") else {
        bail!("the root Cargo.toml has no `members = [` list");
    };
    let Some(close) = text[start..].find(']').map(|i| start + i) else {
        bail!("unclosed members list in the root Cargo.toml");
    };
    let quoted = format!("\"{member}\"");
    if text[start..close].contains(&quoted) {
        return Ok(());
    }
    let out = format!(
        "{}, {quoted}{}",
        text[..close].trim_end_matches([' ', ',']),
        &text[close..]
    );
    std::fs::write(&path, out)?;
    Ok(())
}

fn new_static(root: &Path, n: &Names) -> Result<()> {
    let dir = root.join("plugins").join(&n.snake);
    write_files(&dir, n, templates::STATIC)?;
    append(&dir.join("src/lib.rs"), &n.fill(templates::STATIC_REGISTER))?;
    let host_manifest = root.join("crates/host/Cargo.toml");
    insert_before(
        &root.join("Cargo.toml"),
        ROOT_DEP_MARKER,
        &n.fill("junction-{{kebab}} = { path = \"plugins/{{snake}}\" }"),
    )?;
    insert_before(
        &host_manifest,
        HOST_FEATURE_MARKER,
        &n.fill("{{snake}} = [\"dep:junction-{{kebab}}\"]"),
    )?;
    insert_before(
        &host_manifest,
        HOST_DEP_MARKER,
        &n.fill("junction-{{kebab}} = { workspace = true, optional = true }"),
    )?;
    add_to_default(&host_manifest, &n.snake)?;
    insert_before(
        &root.join("crates/host/src/lib.rs"),
        HOST_PLATFORMS_MARKER,
        &n.fill("\"{{snake}}\" => junction_{{snake}},"),
    )?;
    insert_before(
        &root.join("README.md"),
        README_MARKER,
        &n.fill("| {{Title}} | `plugins/{{snake}}` | scaffolded | (write its stand-in) |"),
    )?;
    println!("created {}", dir.display());
    println!(
        "wired into the host as feature `{}` (in `default`), and into the README's platform table",
        n.snake
    );
    println!("next: `cargo xtask test`, then fill in checks.rs, client.rs and bootstrap.rs");
    Ok(())
}

fn new_dynamic(root: &Path, n: &Names) -> Result<()> {
    let dir = root.join("dynamic-plugins").join(&n.snake);
    write_files(&dir, n, templates::DYNAMIC)?;
    add_member(root, &format!("dynamic-plugins/{}", n.snake))?;
    append(&dir.join("src/lib.rs"), &n.fill(templates::DYNAMIC_EXPORT))?;
    println!(
        "created {} (a workspace member, never linked into the host)",
        dir.display()
    );
    println!(
        "build it: cargo build -p junction-{}-plugin; load it: junction serve --plugin-dir target/debug",
        n.kebab
    );
    Ok(())
}
