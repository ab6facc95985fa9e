//! A checker of the text exposition, for tests of `/metrics`.

use std::collections::BTreeMap;

/// Checks a text exposition: every line a `# HELP`/`# TYPE` comment or a
/// sample `name{labels} value`, every name of the convention, every sample
/// of a declared metric, histograms cumulative with `_count` equal to the
/// `+Inf` bucket. The samples, by name with labels, for assertions.
pub fn parse_exposition(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let mut last_bucket: BTreeMap<String, f64> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), Some(_)) => check_name(name).map_err(|e| bad(&e))?,
                (Some("TYPE"), Some(name), Some(kind)) => {
                    check_name(name).map_err(|e| bad(&e))?;
                    if !["counter", "gauge", "histogram"].contains(&kind) {
                        return Err(bad("unknown type"));
                    }
                    let ok = match kind {
                        "counter" => name.ends_with("_total"),
                        "histogram" => name.ends_with("_seconds"),
                        _ => !name.ends_with("_total"),
                    };
                    if !ok {
                        return Err(bad("the name does not follow the convention for its type"));
                    }
                    types.insert(name.to_owned(), kind.to_owned());
                }
                _ => return Err(bad("a comment that is neither HELP nor TYPE")),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').ok_or_else(|| bad("no value"))?;
        let value: f64 = value
            .parse()
            .map_err(|_| bad("the value is not a number"))?;
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (
                name,
                rest.strip_suffix('}')
                    .ok_or_else(|| bad("labels not closed"))?,
            ),
            None => (series, ""),
        };
        check_name(name).map_err(|e| bad(&e))?;
        let pairs = split_labels(labels).map_err(|e| bad(&e))?;
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            return Err(bad("a sample of an undeclared metric"));
        }
        if family != name {
            let others: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "le").collect();
            let key = format!("{family}{others:?}");
            if name.ends_with("_bucket") {
                let prev = last_bucket.get(&key).copied().unwrap_or(0.0);
                if value < prev {
                    return Err(bad("a bucket below the one before it"));
                }
                last_bucket.insert(key, value);
            } else if name.ends_with("_count") && last_bucket.get(&key) != Some(&value) {
                return Err(bad("_count differs from the +Inf bucket"));
            }
        }
        samples.insert(series.to_owned(), value);
    }
    Ok(samples)
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with("junction_")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("{name} is not junction_ and lowercase snake case"))
    }
}

/// `a="x",b="y\"z"` as pairs; label names lowercase snake case.
fn split_labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("a label without =\" in {s}"))?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!(
                "the label name {name:?} is not lowercase snake case"
            ));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("a label value ends in a backslash".into()),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("a label value not closed".into()),
            }
        };
        out.push((name.to_owned(), value));
        rest = &after[end + 1..];
        rest = match rest.strip_prefix(',') {
            Some(r) => r,
            None if rest.is_empty() => rest,
            None => return Err(format!("labels not separated by commas in {s}")),
        };
    }
    Ok(out)
}
