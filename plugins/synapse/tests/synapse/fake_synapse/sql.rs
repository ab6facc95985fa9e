//! The T-SQL the fake understands: a tokenizer and a parser into statements.
//! It covers what the plugin, its manual scripts and the tests send — the
//! DDL of logins, users, roles, schemas, grants and a version table, and
//! SELECTs over the catalog views and permission functions — and answers
//! anything else with SQL Server's syntax error (102).

use super::wire::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word (keywords too), as written.
    Word(String),
    /// A `[bracketed]` or `"quoted"` identifier.
    Quoted(String),
    Str(String),
    Num(i64),
    /// `@name` or `@@name`.
    Var(String),
    Sym(char),
    /// `::`
    Scope,
    /// `<>` or `!=`
    NotEq,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Word(w) | Tok::Quoted(w) | Tok::Var(w) => w.clone(),
            Tok::Str(s) => s.clone(),
            Tok::Num(n) => n.to_string(),
            Tok::Sym(c) => c.to_string(),
            Tok::Scope => "::".into(),
            Tok::NotEq => "<>".into(),
        }
    }
}

/// A syntax error: the text near which parsing stopped (SQL Server's 102).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

fn tokenize(sql: &str) -> Result<Vec<Tok>, SyntaxError> {
    let c: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '-' && c.get(i + 1) == Some(&'-') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < c.len() && !(c[i] == '*' && c[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if ch == '[' {
            let mut s = String::new();
            i += 1;
            loop {
                match c.get(i) {
                    None => return Err(SyntaxError(s)),
                    Some(']') if c.get(i + 1) == Some(&']') => {
                        s.push(']');
                        i += 2;
                    }
                    Some(']') => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Quoted(s));
        } else if ch == '\'' || ((ch == 'N' || ch == 'n') && c.get(i + 1) == Some(&'\'')) {
            i += if ch == '\'' { 1 } else { 2 };
            let mut s = String::new();
            loop {
                match c.get(i) {
                    None => return Err(SyntaxError(s)),
                    Some('\'') if c.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if ch == '"' {
            let end = c[i + 1..]
                .iter()
                .position(|x| *x == '"')
                .ok_or_else(|| SyntaxError("\"".into()))?;
            out.push(Tok::Quoted(c[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if ch.is_ascii_digit() {
            let start = i;
            while i < c.len() && c[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = c[start..i].iter().collect();
            out.push(Tok::Num(text.parse().map_err(|_| SyntaxError(text))?));
        } else if ch == '@' {
            let start = i;
            i += 1;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '@') {
                i += 1;
            }
            out.push(Tok::Var(c[start..i].iter().collect()));
        } else if ch.is_alphabetic() || ch == '_' || ch == '#' {
            let start = i;
            while i < c.len()
                && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$' || c[i] == '#')
            {
                i += 1;
            }
            out.push(Tok::Word(c[start..i].iter().collect()));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::Scope);
            i += 2;
        } else if (ch == '<' && c.get(i + 1) == Some(&'>'))
            || (ch == '!' && c.get(i + 1) == Some(&'='))
        {
            out.push(Tok::NotEq);
            i += 2;
        } else if "(),.=*;".contains(ch) {
            out.push(Tok::Sym(ch));
            i += 1;
        } else {
            return Err(SyntaxError(ch.to_string()));
        }
    }
    Ok(out)
}

/// What a GRANT, REVOKE or DENY is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Securable {
    Database,
    Schema(String),
    Role(String),
    /// `schema.table`; the schema is `dbo` when not written.
    Object(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermVerb {
    Grant,
    Revoke,
    Deny,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Value),
    Col(String),
    /// A function call, its name upper-cased: `HAS_PERMS_BY_NAME`, `MAX`, …
    Func(String, Vec<Expr>),
    /// `COUNT(*)`
    CountStar,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A catalog view, lower-cased: `sys.schemas`.
    View(String),
    /// `fn_my_permissions(securable, class)`
    MyPermissions(Expr, Expr),
    Table(String, String),
}

/// `a = b` or `a <> b`, all joined by AND.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub left: Expr,
    pub equal: bool,
    pub right: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub items: Vec<(Expr, Option<String>)>,
    pub from: Option<Source>,
    pub conds: Vec<Cond>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Select(Select),
    CreateLogin {
        name: String,
        password: Expr,
    },
    AlterLoginPassword {
        name: String,
        password: Expr,
    },
    DropLogin {
        name: String,
    },
    CreateUser {
        name: String,
        login: Option<String>,
    },
    DropUser {
        name: String,
    },
    CreateRole {
        name: String,
    },
    DropRole {
        name: String,
    },
    AlterRoleMember {
        role: String,
        member: String,
        add: bool,
    },
    RenameRole {
        role: String,
        to: String,
    },
    CreateSchema {
        name: String,
        owner: Option<String>,
    },
    DropSchema {
        name: String,
    },
    Permission {
        verb: PermVerb,
        perms: Vec<String>,
        on: Securable,
        to: Vec<String>,
    },
    CreateTable {
        schema: String,
        name: String,
        columns: Vec<String>,
    },
    DropTable {
        schema: String,
        name: String,
    },
    Insert {
        schema: String,
        table: String,
        columns: Vec<String>,
        values: Vec<Expr>,
    },
    Update {
        schema: String,
        table: String,
        column: String,
        value: Expr,
        conds: Vec<Cond>,
    },
    Delete {
        schema: String,
        table: String,
        conds: Vec<Cond>,
    },
    If {
        exists: bool,
        query: Select,
        then: Box<Stmt>,
    },
    Use {
        database: String,
    },
    /// `SET …` session options: accepted, no effect.
    Set,
}

impl Stmt {
    /// Statements that must open their batch (SQL Server's 111).
    pub fn must_be_first(&self) -> Option<&'static str> {
        match self {
            Stmt::CreateSchema { .. } => Some("CREATE SCHEMA"),
            _ => None,
        }
    }
}

struct Parser<'a> {
    t: Vec<Tok>,
    i: usize,
    params: &'a BTreeMap<String, Value>,
}

type P<T> = Result<T, SyntaxError>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn err<T>(&self) -> P<T> {
        Err(SyntaxError(self.peek().map(Tok::text).unwrap_or_default()))
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.is_kw(kw);
        if yes {
            self.i += 1;
        }
        yes
    }
    fn kw(&mut self, kw: &str) -> P<()> {
        if self.eat_kw(kw) { Ok(()) } else { self.err() }
    }
    fn eat_sym(&mut self, s: char) -> bool {
        let yes = self.peek() == Some(&Tok::Sym(s));
        if yes {
            self.i += 1;
        }
        yes
    }
    fn sym(&mut self, s: char) -> P<()> {
        if self.eat_sym(s) { Ok(()) } else { self.err() }
    }
    fn name(&mut self) -> P<String> {
        match self.peek().cloned() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
                self.i += 1;
                Ok(w)
            }
            _ => self.err(),
        }
    }
    /// `name` or `schema.name`; the default schema is dbo.
    fn two_part(&mut self) -> P<(String, String)> {
        let first = self.name()?;
        if self.eat_sym('.') {
            Ok((first, self.name()?))
        } else {
            Ok(("dbo".into(), first))
        }
    }
    fn names(&mut self) -> P<Vec<String>> {
        let mut v = vec![self.name()?];
        while self.eat_sym(',') {
            v.push(self.name()?);
        }
        Ok(v)
    }

    fn statement(&mut self) -> P<Stmt> {
        if self.eat_kw("SELECT") {
            return Ok(Stmt::Select(self.select_rest()?));
        }
        if self.eat_kw("CREATE") {
            return self.create();
        }
        if self.eat_kw("DROP") {
            return self.drop();
        }
        if self.eat_kw("ALTER") {
            return self.alter();
        }
        for (kw, verb) in [
            ("GRANT", PermVerb::Grant),
            ("REVOKE", PermVerb::Revoke),
            ("DENY", PermVerb::Deny),
        ] {
            if self.eat_kw(kw) {
                return self.permission(verb);
            }
        }
        if self.eat_kw("INSERT") {
            self.eat_kw("INTO");
            let (schema, table) = self.two_part()?;
            self.sym('(')?;
            let columns = self.names()?;
            self.sym(')')?;
            self.kw("VALUES")?;
            self.sym('(')?;
            let mut values = vec![self.expr()?];
            while self.eat_sym(',') {
                values.push(self.expr()?);
            }
            self.sym(')')?;
            return Ok(Stmt::Insert {
                schema,
                table,
                columns,
                values,
            });
        }
        if self.eat_kw("UPDATE") {
            let (schema, table) = self.two_part()?;
            self.kw("SET")?;
            let column = self.name()?;
            self.sym('=')?;
            let value = self.expr()?;
            let conds = self.where_clause()?;
            return Ok(Stmt::Update {
                schema,
                table,
                column,
                value,
                conds,
            });
        }
        if self.eat_kw("DELETE") {
            self.eat_kw("FROM");
            let (schema, table) = self.two_part()?;
            let conds = self.where_clause()?;
            return Ok(Stmt::Delete {
                schema,
                table,
                conds,
            });
        }
        if self.eat_kw("IF") {
            let exists = !self.eat_kw("NOT");
            self.kw("EXISTS")?;
            self.sym('(')?;
            self.kw("SELECT")?;
            let query = self.select_rest()?;
            self.sym(')')?;
            let then = Box::new(self.statement()?);
            return Ok(Stmt::If {
                exists,
                query,
                then,
            });
        }
        if self.eat_kw("USE") {
            return Ok(Stmt::Use {
                database: self.name()?,
            });
        }
        if self.eat_kw("SET") {
            // Options up to the end of the statement.
            while self.peek().is_some_and(|t| *t != Tok::Sym(';')) && !self.starts_statement() {
                self.i += 1;
            }
            return Ok(Stmt::Set);
        }
        self.err()
    }

    fn starts_statement(&self) -> bool {
        [
            "SELECT", "CREATE", "DROP", "ALTER", "GRANT", "REVOKE", "DENY", "INSERT", "UPDATE",
            "DELETE", "IF", "USE",
        ]
        .iter()
        .any(|k| self.is_kw(k))
    }

    fn password_clause(&mut self) -> P<Expr> {
        self.kw("WITH")?;
        self.kw("PASSWORD")?;
        self.sym('=')?;
        self.expr()
    }

    fn create(&mut self) -> P<Stmt> {
        if self.eat_kw("LOGIN") {
            let name = self.name()?;
            let password = self.password_clause()?;
            return Ok(Stmt::CreateLogin { name, password });
        }
        if self.eat_kw("USER") {
            let name = self.name()?;
            let login = if self.eat_kw("FROM") || self.eat_kw("FOR") {
                self.kw("LOGIN")?;
                Some(self.name()?)
            } else {
                None
            };
            return Ok(Stmt::CreateUser { name, login });
        }
        if self.eat_kw("ROLE") {
            let name = self.name()?;
            if self.eat_kw("AUTHORIZATION") {
                self.name()?;
            }
            return Ok(Stmt::CreateRole { name });
        }
        if self.eat_kw("SCHEMA") {
            let name = self.name()?;
            let owner = if self.eat_kw("AUTHORIZATION") {
                Some(self.name()?)
            } else {
                None
            };
            return Ok(Stmt::CreateSchema { name, owner });
        }
        if self.eat_kw("TABLE") {
            let (schema, name) = self.two_part()?;
            self.sym('(')?;
            let mut columns = Vec::new();
            loop {
                columns.push(self.name()?);
                // The column's type and NULL/NOT NULL: kept as nothing; every column holds an int.
                self.kw("int").or_else(|_| self.kw("integer"))?;
                if self.eat_kw("NOT") {
                    self.kw("NULL")?;
                } else {
                    self.eat_kw("NULL");
                }
                if !self.eat_sym(',') {
                    break;
                }
            }
            self.sym(')')?;
            return Ok(Stmt::CreateTable {
                schema,
                name,
                columns,
            });
        }
        self.err()
    }

    fn drop(&mut self) -> P<Stmt> {
        if self.eat_kw("LOGIN") {
            return Ok(Stmt::DropLogin { name: self.name()? });
        }
        if self.eat_kw("USER") {
            return Ok(Stmt::DropUser { name: self.name()? });
        }
        if self.eat_kw("ROLE") {
            return Ok(Stmt::DropRole { name: self.name()? });
        }
        if self.eat_kw("SCHEMA") {
            return Ok(Stmt::DropSchema { name: self.name()? });
        }
        if self.eat_kw("TABLE") {
            let (schema, name) = self.two_part()?;
            return Ok(Stmt::DropTable { schema, name });
        }
        self.err()
    }

    fn alter(&mut self) -> P<Stmt> {
        if self.eat_kw("LOGIN") {
            let name = self.name()?;
            let password = self.password_clause()?;
            return Ok(Stmt::AlterLoginPassword { name, password });
        }
        if self.eat_kw("ROLE") {
            let role = self.name()?;
            if self.eat_kw("ADD") || self.is_kw("DROP") {
                let add = !self.eat_kw("DROP");
                self.kw("MEMBER")?;
                let member = self.name()?;
                return Ok(Stmt::AlterRoleMember { role, member, add });
            }
            self.kw("WITH")?;
            self.kw("NAME")?;
            self.sym('=')?;
            return Ok(Stmt::RenameRole {
                role,
                to: self.name()?,
            });
        }
        self.err()
    }

    /// A permission's name: one to three words (`CREATE TABLE`, `ALTER ANY USER`).
    fn perm(&mut self) -> P<String> {
        let mut words = vec![self.name()?];
        while let Some(Tok::Word(w)) = self.peek() {
            if ["ON", "TO", "FROM"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
            {
                break;
            }
            words.push(w.clone());
            self.i += 1;
        }
        Ok(words.join(" ").to_ascii_uppercase())
    }

    fn permission(&mut self, verb: PermVerb) -> P<Stmt> {
        let mut perms = vec![self.perm()?];
        while self.eat_sym(',') {
            perms.push(self.perm()?);
        }
        let on = if self.eat_kw("ON") {
            let class = self.name()?;
            if self.peek() == Some(&Tok::Scope) {
                self.i += 1;
                match class.to_ascii_uppercase().as_str() {
                    "SCHEMA" => Securable::Schema(self.name()?),
                    "ROLE" => Securable::Role(self.name()?),
                    "DATABASE" => {
                        self.name()?;
                        Securable::Database
                    }
                    "OBJECT" => {
                        let (s, n) = self.two_part()?;
                        Securable::Object(s, n)
                    }
                    _ => return self.err(),
                }
            } else if self.eat_sym('.') {
                Securable::Object(class, self.name()?)
            } else {
                Securable::Object("dbo".into(), class)
            }
        } else {
            Securable::Database
        };
        if !(self.eat_kw("TO") || self.eat_kw("FROM")) {
            return self.err();
        }
        let to = self.names()?;
        Ok(Stmt::Permission {
            verb,
            perms,
            on,
            to,
        })
    }

    fn select_rest(&mut self) -> P<Select> {
        let mut items = Vec::new();
        loop {
            let e = self.expr()?;
            let alias = if self.eat_kw("AS") {
                Some(self.name()?)
            } else {
                None
            };
            items.push((e, alias));
            if !self.eat_sym(',') {
                break;
            }
        }
        let from = if self.eat_kw("FROM") {
            let first = self.name()?;
            if first.eq_ignore_ascii_case("fn_my_permissions") {
                self.sym('(')?;
                let a = self.expr()?;
                self.sym(',')?;
                let b = self.expr()?;
                self.sym(')')?;
                Some(Source::MyPermissions(a, b))
            } else if self.eat_sym('.') {
                let second = self.name()?;
                if first.eq_ignore_ascii_case("sys") {
                    Some(Source::View(format!("sys.{}", second.to_ascii_lowercase())))
                } else {
                    Some(Source::Table(first, second))
                }
            } else {
                Some(Source::Table("dbo".into(), first))
            }
        } else {
            None
        };
        let conds = self.where_clause()?;
        Ok(Select { items, from, conds })
    }

    fn where_clause(&mut self) -> P<Vec<Cond>> {
        let mut conds = Vec::new();
        if self.eat_kw("WHERE") {
            loop {
                let left = self.expr()?;
                let equal = if self.eat_sym('=') {
                    true
                } else if self.peek() == Some(&Tok::NotEq) {
                    self.i += 1;
                    false
                } else {
                    return self.err();
                };
                let right = self.expr()?;
                conds.push(Cond { left, equal, right });
                if !self.eat_kw("AND") {
                    break;
                }
            }
        }
        Ok(conds)
    }

    fn expr(&mut self) -> P<Expr> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(Expr::Lit(Value::Int(n)))
            }
            Some(Tok::Str(s)) => {
                self.i += 1;
                Ok(Expr::Lit(Value::Str(s)))
            }
            Some(Tok::Var(v)) => {
                self.i += 1;
                if v.starts_with("@@") {
                    return Ok(Expr::Func(v.to_ascii_uppercase(), vec![]));
                }
                match self.params.get(&v.to_ascii_lowercase()) {
                    Some(val) => Ok(Expr::Lit(val.clone())),
                    // SQL Server's 137: an undeclared variable; reported as syntax here.
                    None => Err(SyntaxError(v)),
                }
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => {
                self.i += 1;
                Ok(Expr::Lit(Value::Null))
            }
            Some(Tok::Word(_)) | Some(Tok::Quoted(_)) => {
                let name = self.name()?;
                if self.eat_sym('(') {
                    let f = name.to_ascii_uppercase();
                    if f == "COUNT" && self.eat_sym('*') {
                        self.sym(')')?;
                        return Ok(Expr::CountStar);
                    }
                    let mut args = Vec::new();
                    if !self.eat_sym(')') {
                        loop {
                            args.push(self.expr()?);
                            if !self.eat_sym(',') {
                                break;
                            }
                        }
                        self.sym(')')?;
                    }
                    Ok(Expr::Func(f, args))
                } else if self.eat_sym('.') {
                    // `alias.column`: the fake has no joins, so the column alone.
                    Ok(Expr::Col(self.name()?.to_ascii_lowercase()))
                } else {
                    Ok(Expr::Col(name.to_ascii_lowercase()))
                }
            }
            _ => self.err(),
        }
    }
}

/// Parses a batch into its statements.
pub fn parse_batch(sql: &str, params: &BTreeMap<String, Value>) -> Result<Vec<Stmt>, SyntaxError> {
    let mut p = Parser {
        t: tokenize(sql)?,
        i: 0,
        params,
    };
    let mut out = Vec::new();
    while p.peek().is_some() {
        if p.eat_sym(';') {
            continue;
        }
        out.push(p.statement()?);
        if p.peek().is_some() && !p.eat_sym(';') && !p.starts_statement() {
            return p.err();
        }
    }
    Ok(out)
}
