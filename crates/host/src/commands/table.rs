//! Aligned text tables, as `kubectl get` prints them: upper-case headers,
//! columns three spaces apart, the last column not padded, colour (when
//! asked for) added after the padding so that it never shifts a column.

/// A colour for a cell, on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Green,
    Red,
    Yellow,
    Dim,
}

impl Colour {
    const fn code(self) -> &'static str {
        match self {
            Colour::Green => "32",
            Colour::Red => "31",
            Colour::Yellow => "33",
            Colour::Dim => "2",
        }
    }

    /// `text` in this colour, when `on`.
    pub fn paint(self, text: &str, on: bool) -> String {
        if on {
            format!("\x1b[{}m{text}\x1b[0m", self.code())
        } else {
            text.to_owned()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub colour: Option<Colour>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, colour: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::from(text.to_owned())
    }
}

impl Cell {
    pub fn coloured(text: impl Into<String>, colour: Option<Colour>) -> Self {
        Cell {
            text: text.into(),
            colour,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

const GAP: &str = "   ";

/// Width as a terminal shows it, near enough: one column per character.
fn width(s: &str) -> usize {
    s.chars().count()
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The lines of the table (the header first), each without a newline.
    pub fn lines(&self, colour: bool) -> Vec<String> {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(width(&c.text));
            }
        }
        let mut out = Vec::with_capacity(self.rows.len() + 1);
        let header: Vec<Cell> = self.headers.iter().map(|h| Cell::from(*h)).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i);
                let text = cell.map_or("", |c| c.text.as_str());
                if i > 0 {
                    line.push_str(GAP);
                }
                let pad = if i + 1 == columns {
                    0
                } else {
                    w.saturating_sub(width(text))
                };
                match cell.and_then(|c| c.colour) {
                    Some(c) => line.push_str(&c.paint(text, colour)),
                    None => line.push_str(text),
                }
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push(line.trim_end().to_owned());
        }
        out
    }
}

/// Names joined by ", ", cut at a name when longer than `max` characters,
/// with how many were left out: `a, b +3 more`.
pub fn join_truncated(names: &[String], max: usize) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        let sep = if out.is_empty() { "" } else { ", " };
        let rest = names.len() - i;
        let more = if rest > 1 {
            format!(" +{} more", rest - 1)
        } else {
            String::new()
        };
        if width(&out) + width(sep) + width(name) + width(&more) <= max || out.is_empty() {
            out.push_str(sep);
            if out.is_empty() && width(name) > max {
                // One name alone too long: its start.
                let cut: String = name.chars().take(max.saturating_sub(3).max(1)).collect();
                out.push_str(&cut);
                out.push_str("...");
            } else {
                out.push_str(name);
            }
        } else {
            out.push_str(&format!(" +{rest} more"));
            break;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_colour_does_not_shift_them() {
        let mut t = Table::new(&["ID", "STATUS", "NOTE"]);
        t.row(vec![
            "1".into(),
            Cell::coloured("enabled", Some(Colour::Green)),
            "x".into(),
        ]);
        t.row(vec![
            "10".into(),
            Cell::coloured("createError", Some(Colour::Red)),
            "".into(),
        ]);
        assert_eq!(
            t.lines(false),
            vec![
                "ID   STATUS        NOTE",
                "1    enabled       x",
                "10   createError",
            ]
        );
        let coloured = t.lines(true);
        assert_eq!(coloured[1], "1    \x1b[32menabled\x1b[0m       x");
        assert!(!t.lines(false).concat().contains('\x1b'));
    }

    #[test]
    fn long_lists_of_names_are_cut_at_a_name() {
        let names: Vec<String> = ["alpha", "beta", "gamma", "delta"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(join_truncated(&names, 100), "alpha, beta, gamma, delta");
        assert_eq!(join_truncated(&names, 20), "alpha, beta +2 more");
        assert_eq!(join_truncated(&names[..1], 4), "a...");
        assert_eq!(join_truncated(&[], 10), "");
        for max in 1..40 {
            let s = join_truncated(&names, max);
            assert!(s.starts_with('a'), "{max}: {s}");
        }
    }
}
