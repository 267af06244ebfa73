//! Typed configuration from environment variables.
//!
//! A service reads every variable it needs through one [`Env`]; problems are
//! collected rather than reported one at a time, so a misconfigured process
//! says everything that is wrong at once. Values are never echoed back: a
//! malformed secret must not end up in a log.
//!
//! A service's settings are declared once each, field and reader together,
//! with [`read_env!`](crate::read_env): every reader runs (so every problem
//! is collected), then the struct is built if none failed. Each reader names
//! its variable's meaning and default too, so the same declaration yields
//! the configuration reference ([`declared`], docs/CONFIG.md).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;

/// `Some($ty)` from one reader per field, each an `Option` (`None`: a
/// problem was recorded); `None` if any failed. Every reader runs before
/// any is unwrapped, so all problems are reported at once. (Each field's
/// name is a local while the readers run: a reader must not name another
/// field's local.)
///
/// ```ignore
/// read_env!(Config {
///     http: HttpSettings::from_env(env, DEFAULT_LISTEN),
///     fee_bps: env.or("POST_FEE_BPS", 0u64, "the platform's fee in basis points"),
/// })
/// ```
#[macro_export]
macro_rules! read_env {
    ($ty:ident { $($field:ident: $read:expr),* $(,)? }) => {{
        $( let $field = $read; )*
        (move || Some($ty { $( $field: $field?, )* }))()
    }};
}

/// A source of variables, either the process environment or a map (tests).
pub struct Env {
    vars: HashMap<String, String>,
    problems: Vec<String>,
    /// Every name looked up, so deployment files can be checked against
    /// what the services really read.
    asked: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// Every variable read, as its reader declared it, in reading order.
    declared: Vec<Declared>,
    /// Answer "set" for every variable, so a reader also declares what it
    /// reads only when another variable is set (see [`declared`]).
    exploring: bool,
}

/// A variable as its reader declares it: the configuration reference's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    /// `required`, `—` (unset is allowed), or the default as it would be written.
    pub default: String,
    pub meaning: String,
    /// Read only when a [`switch`](Env::switch) turns its feature on.
    pub conditional: bool,
}

/// Marks a variable that may be left unset in [`Declared::default`].
pub const UNSET: &str = "—";

/// Everything wrong with a configuration, one line per variable.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl Env {
    pub fn from_process() -> Self {
        Self::from_map(std::env::vars())
    }

    pub fn from_map<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            problems: Vec::new(),
            asked: Default::default(),
            declared: Vec::new(),
            exploring: false,
        }
    }

    fn declare(&mut self, name: &str, default: impl Into<String>, meaning: &str) {
        if !self.declared.iter().any(|d| d.name == name) {
            self.declared.push(Declared {
                name: name.to_owned(),
                default: default.into(),
                meaning: meaning.to_owned(),
                conditional: self.exploring,
            });
        }
    }

    /// Runs `read` and returns its result, or every problem it recorded.
    /// `read` evaluates all its variables before combining them, so one
    /// missing variable does not hide the next.
    pub fn load<T>(mut self, read: impl FnOnce(&mut Env) -> Option<T>) -> Result<T, ConfigError> {
        let value = read(&mut self);
        match value {
            Some(value) if self.problems.is_empty() => Ok(value),
            _ => {
                if self.problems.is_empty() {
                    self.problems.push("configuration incomplete".to_owned());
                }
                Err(ConfigError { problems: self.problems })
            }
        }
    }

    /// Records a problem found while combining variables (e.g. two that must
    /// be set together).
    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.asked.borrow_mut().insert(name.to_owned());
        self.vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.exploring || self.raw(name).is_some()
    }

    /// Whether the variable that turns a feature on is set; `what` says
    /// what it turns on. The feature's own variables are read after it.
    pub fn switch(&mut self, name: &str, what: &str) -> bool {
        self.declare(name, UNSET, what);
        self.is_set(name)
    }

    /// A variable that must be present and parse as `T`; `what` says what it is.
    pub fn required<T>(&mut self, name: &str, what: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.declare(name, "required", what);
        if self.raw(name).is_none() {
            self.problems.push(format!("{name} is required ({what})"));
            return None;
        }
        self.parsed(name)
    }

    /// A variable that may be absent (`what` says what unset means); present
    /// but malformed is a problem.
    pub fn optional<T>(&mut self, name: &str, what: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.declare(name, UNSET, what);
        self.parsed(name)
    }

    fn parsed<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let raw = self.raw(name)?;
        match raw.parse::<T>() {
            Ok(value) => Some(value),
            Err(err) => {
                self.problems.push(format!("{name} is malformed: {err}"));
                None
            }
        }
    }

    /// A variable with a default. Returns `None` only when it is malformed.
    pub fn or<T>(&mut self, name: &str, default: T, what: &str) -> Option<T>
    where
        T: FromStr + fmt::Display,
        T::Err: fmt::Display,
    {
        self.declare(name, default.to_string(), what);
        if self.raw(name).is_none() {
            return Some(default);
        }
        self.parsed(name)
    }

    /// A variable with a default that must also satisfy `rule`; when it
    /// does not, `problem` is recorded.
    pub fn or_where<T>(
        &mut self,
        name: &str,
        (default, what): (T, &str),
        rule: impl Fn(&T) -> bool,
        problem: &str,
    ) -> Option<T>
    where
        T: FromStr + fmt::Display,
        T::Err: fmt::Display,
    {
        let value = self.or(name, default, what)?;
        if rule(&value) {
            return Some(value);
        }
        self.problems.push(format!("{name} {problem}"));
        None
    }

    /// A comma-separated list; empty items are ignored; unset is empty.
    pub fn list<T>(&mut self, name: &str, what: &str) -> Option<Vec<T>>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.declare(name, "none", what);
        let Some(raw) = self.raw(name) else {
            return Some(Vec::new());
        };
        let parsed = split_parsed(raw);
        self.items(parsed, || format!("{name} is malformed"))
    }

    fn items<T, E: fmt::Display>(
        &mut self,
        parsed: Result<Vec<T>, E>,
        problem: impl FnOnce() -> String,
    ) -> Option<Vec<T>> {
        parsed.map_err(|err| self.problems.push(format!("{}: {err}", problem()))).ok()
    }

    /// A key list (`KEY_ID=/path/to/key.pem,…`, see [`KeyFile`]), each file
    /// read by `load`: every file that cannot be is a problem named after
    /// the variable and the key. Empty when unset; `None` when malformed.
    pub fn keys<K>(
        &mut self,
        name: &str,
        what: &str,
        load: impl FnMut(&KeyFile) -> Result<K, String>,
    ) -> Option<Vec<(crate::ids::KeyId, K)>> {
        let files: Vec<KeyFile> = self.list(name, what)?;
        self.load_keys(name, &files, load)
    }

    /// A list with a default, written as it would be set (`"https"`).
    pub fn list_or<T>(&mut self, name: &str, default: &str, what: &str) -> Option<Vec<T>>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let items = self.list(name, what)?;
        self.declared.retain(|d| d.name != name);
        self.declare(name, default, what);
        if !items.is_empty() {
            return Some(items);
        }
        self.items(split_parsed(default), || format!("{name}'s default is malformed"))
    }

    /// A list that may not be empty.
    pub fn required_list<T>(&mut self, name: &str, what: &str) -> Option<Vec<T>>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let items = self.list(name, what);
        self.declared.retain(|d| d.name != name);
        self.declare(name, "required", what);
        if items.as_ref().is_some_and(Vec::is_empty) {
            self.problems.push(format!("{name} is required ({what})"));
            return None;
        }
        items
    }

    /// [`keys`](Self::keys) that may not be empty.
    pub fn required_keys<K>(
        &mut self,
        name: &str,
        what: &str,
        load: impl FnMut(&KeyFile) -> Result<K, String>,
    ) -> Option<Vec<(crate::ids::KeyId, K)>> {
        let files: Vec<KeyFile> = self.required_list(name, what)?;
        self.load_keys(name, &files, load)
    }

    fn load_keys<K>(
        &mut self,
        name: &str,
        files: &[KeyFile],
        mut load: impl FnMut(&KeyFile) -> Result<K, String>,
    ) -> Option<Vec<(crate::ids::KeyId, K)>> {
        let mut keys = Vec::with_capacity(files.len());
        for file in files {
            match load(file) {
                Ok(key) => keys.push((file.key_id.clone(), key)),
                Err(err) => self.problem(format!("{name}: key {}: {err}", file.key_id)),
            }
        }
        Some(keys)
    }

    /// A secret that may be unset (`Some(None)`), else at least `min_len`
    /// bytes; `None` when too short.
    pub fn optional_secret(
        &mut self,
        name: &str,
        what: &str,
        min_len: usize,
    ) -> Option<Option<SecretString>> {
        self.declare(name, UNSET, what);
        if self.raw(name).is_none() {
            return Some(None);
        }
        self.checked_secret(name, min_len).map(Some)
    }

    /// A secret of at least `min_len` bytes. Its value never appears in a message.
    pub fn secret(&mut self, name: &str, what: &str, min_len: usize) -> Option<SecretString> {
        self.declare(name, "required", what);
        if self.raw(name).is_none() {
            self.problems.push(format!("{name} is required ({what})"));
            return None;
        }
        self.checked_secret(name, min_len)
    }

    fn checked_secret(&mut self, name: &str, min_len: usize) -> Option<SecretString> {
        let raw = self.raw(name)?;
        if raw.len() < min_len {
            self.problems.push(format!("{name} is too short: at least {min_len} bytes are required"));
            return None;
        }
        Some(SecretString::from(raw.to_owned()))
    }
}

/// A comma-separated list's items, empty ones left out.
fn split_parsed<T: FromStr>(text: &str) -> Result<Vec<T>, T::Err> {
    text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::parse::<T>).collect()
}

/// Every variable `T`'s configuration reads, as declared, in reading order:
/// read once with nothing set, then once with every variable answering
/// "set", so what is read only beside another variable is declared too.
pub fn declared<T: FromEnv>() -> Vec<Declared> {
    let mut all: Vec<Declared> = Vec::new();
    for exploring in [false, true] {
        let mut env = Env { exploring, ..Env::from_map(Vec::<(String, String)>::new()) };
        let _ = T::read(&mut env);
        for variable in env.declared {
            if !all.iter().any(|d| d.name == variable.name) {
                all.push(variable);
            }
        }
    }
    all
}

/// The variables `T`'s configuration looks up when given `vars` (whether or
/// not they make a valid configuration).
pub fn variables_read<T: FromEnv>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> std::collections::BTreeSet<String> {
    let mut env = Env::from_map(vars);
    let _ = T::read(&mut env);
    env.asked.into_inner()
}

/// A configuration read from environment variables. Implement [`FromEnv::read`];
/// `from_env` (the process) and `load` (any [`Env`], for tests) come with it.
pub trait FromEnv: Sized {
    /// Reads every variable before combining them (see [`Env::load`]).
    fn read(env: &mut Env) -> Option<Self>;

    fn from_env() -> Result<Self, ConfigError> {
        Self::load(Env::from_process())
    }

    fn load(env: Env) -> Result<Self, ConfigError> {
        env.load(Self::read)
    }
}

/// `KEY_ID=/path/to/key.pem`: one entry of a key list (`AUTH_SIGNING_KEYS`,
/// `SIGNER_KEYS`, `EDGE_PUBLIC_KEYS`). Ids are letters, digits, `_`, `.`, `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub key_id: crate::ids::KeyId,
    pub path: std::path::PathBuf,
}

impl FromStr for KeyFile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key_id, path) =
            s.split_once('=').ok_or_else(|| format!("{s:?} is not KEY_ID=/path/to/key.pem"))?;
        let (key_id, path) = (key_id.trim(), path.trim());
        if key_id.is_empty() || !key_id.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            return Err(format!("{key_id:?} is not a key id (letters, digits, '_', '.', '-')"));
        }
        if path.is_empty() {
            return Err(format!("key {key_id} names no file"));
        }
        let key_id = crate::ids::KeyId::parse(key_id).map_err(|err| format!("{key_id:?} {err}"))?;
        Ok(Self { key_id, path: path.into() })
    }
}

/// A duration given in whole seconds (`30`) or with a unit (`250ms`, `30s`, `5m`, `1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub std::time::Duration);

impl FromStr for Seconds {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, unit) = number_and_unit(s, "ms, s, m or h")?;
        let d = match unit {
            "ms" => std::time::Duration::from_millis(n),
            "" | "s" => std::time::Duration::from_secs(n),
            "m" => std::time::Duration::from_secs(n * 60),
            "h" => std::time::Duration::from_secs(n * 3600),
            other => return Err(format!("unknown unit {other:?}; use ms, s, m or h")),
        };
        Ok(Seconds(d))
    }
}

/// The largest unit that says it exactly: `7s`, `10m`, `168h`, `250ms`.
impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (millis, secs) = (self.0.as_millis(), self.0.as_secs());
        match secs {
            _ if millis % 1000 != 0 => write!(f, "{millis}ms"),
            s if s >= 3600 && s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s >= 60 && s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

/// `30s` as (30, "s").
fn number_and_unit<'a>(s: &'a str, units: &str) -> Result<(u64, &'a str), String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n = digits.parse().map_err(|_| format!("expected a whole number optionally followed by {units}"))?;
    Ok((n, unit.trim()))
}

/// A size in bytes: `1048576`, or with a binary unit (`64KiB`, `256MiB`, `2GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| "expected a whole number optionally followed by KiB, MiB or GiB".to_owned())?;
        let scale: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            other => return Err(format!("unknown unit {other:?}; use KiB, MiB or GiB")),
        };
        n.checked_mul(scale).map(Size).ok_or_else(|| "too large".to_owned())
    }
}

/// The largest binary unit that says it exactly: `256MiB`, `1GiB`, `1000`.
impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n >= 1 << 30 && n % (1 << 30) == 0 => write!(f, "{}GiB", n >> 30),
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{}MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => write!(f, "{}KiB", n >> 10),
            n => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Sample {
        port: u16,
        name: String,
        secret: SecretString,
    }

    fn read(env: &mut Env) -> Option<Sample> {
        let port = env.or("PORT", 8080u16, "a port");
        let name = env.required("NAME", "a name");
        let secret = env.secret("SECRET", "shared secret", 32);
        Some(Sample { port: port?, name: name?, secret: secret? })
    }

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!("1048576".parse::<Size>(), Ok(Size(1 << 20)));
        assert_eq!("256MiB".parse::<Size>(), Ok(Size(256 << 20)));
        assert_eq!("2GiB".parse::<Size>(), Ok(Size(2 << 30)));
        assert!("12MB".parse::<Size>().is_err());
        assert!("-1".parse::<Size>().is_err());
        assert!("99999999999GiB".parse::<Size>().is_err());
    }

    #[test]
    fn every_problem_is_reported_with_the_variable_name() {
        let err = Env::from_map([("PORT", "eighty"), ("SECRET", "short-secret-value")])
            .load(read)
            .expect_err("must fail");
        let text = err.to_string();
        assert!(text.contains("PORT is malformed"), "{text}");
        assert!(text.contains("NAME is required"), "{text}");
        assert!(text.contains("SECRET is too short"), "{text}");
        assert!(!text.contains("short-secret-value"), "a secret leaked: {text}");
        assert_eq!(err.problems.len(), 3);
    }

    #[test]
    fn defaults_apply_and_values_parse() {
        let sample =
            Env::from_map([("NAME", " shutter "), ("SECRET", &"s".repeat(32))]).load(read).expect("valid");
        assert_eq!(sample.port, 8080);
        assert_eq!(sample.name, "shutter");
        assert!(!format!("{:?}", sample.secret).contains("sss"));
    }

    #[test]
    fn key_lists_name_an_id_and_a_file() {
        let parsed: KeyFile = " K1EXAMPLE = /keys/a.pem ".parse().unwrap();
        assert_eq!(
            parsed,
            KeyFile { key_id: crate::ids::KeyId::parse("K1EXAMPLE").unwrap(), path: "/keys/a.pem".into() }
        );
        for bad in ["/keys/a.pem", "=/keys/a.pem", "K1=", "K 1=/a.pem", "K/1=/a.pem"] {
            assert!(bad.parse::<KeyFile>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_list_loads_every_file_and_names_each_one_that_does_not() {
        let load = |file: &KeyFile| match file.path.to_str() {
            Some("/good.pem") => Ok(file.key_id.as_str().len()),
            _ => Err("unreadable".to_owned()),
        };
        let loaded = Env::from_map([("KEYS", "k1=/good.pem, k22=/good.pem")])
            .load(|env| env.keys("KEYS", "keys", load))
            .unwrap();
        assert_eq!(
            loaded,
            [(crate::ids::KeyId::parse("k1").unwrap(), 2), (crate::ids::KeyId::parse("k22").unwrap(), 3)]
        );
        let unset: [(&str, &str); 0] = [];
        assert_eq!(Env::from_map(unset).load(|env| env.keys("KEYS", "keys", load)).unwrap(), []);
        let err = Env::from_map([("KEYS", "k1=/good.pem,k2=/bad.pem")])
            .load(|env| env.keys("KEYS", "keys", load))
            .expect_err("a file that cannot be read");
        assert_eq!(err.problems, ["KEYS: key k2: unreadable"]);
        let err = Env::from_map([("KEYS", "no-path")])
            .load(|env| env.keys("KEYS", "keys", load))
            .expect_err("malformed");
        assert!(err.problems[0].starts_with("KEYS is malformed"), "{:?}", err.problems);
    }

    #[test]
    fn durations_take_units() {
        assert_eq!("250ms".parse::<Seconds>().map(|s| s.0.as_millis()), Ok(250));
        assert_eq!("30".parse::<Seconds>().map(|s| s.0.as_secs()), Ok(30));
        assert_eq!("5m".parse::<Seconds>().map(|s| s.0.as_secs()), Ok(300));
        assert!("5 days".parse::<Seconds>().is_err());
        assert!("".parse::<Seconds>().is_err());
    }

    #[test]
    fn durations_and_sizes_are_written_as_they_are_read() {
        for text in ["250ms", "7s", "10m", "168h", "0s"] {
            assert_eq!(text.parse::<Seconds>().unwrap().to_string(), text);
        }
        for text in ["1000", "64KiB", "256MiB", "1GiB"] {
            assert_eq!(text.parse::<Size>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn every_variable_read_is_declared_even_one_read_only_beside_another() {
        struct Gated;
        impl FromEnv for Gated {
            fn read(env: &mut Env) -> Option<Self> {
                let _ = env.or("A", Seconds(std::time::Duration::from_secs(60)), "a duration");
                if env.switch("B", "turns C on") {
                    let _ = env.required::<String>("C", "needed beside B");
                }
                Some(Gated)
            }
        }
        let rows: Vec<(String, String, String, bool)> =
            declared::<Gated>().into_iter().map(|d| (d.name, d.default, d.meaning, d.conditional)).collect();
        let row = |n: &str, d: &str, m: &str, c| (n.to_owned(), d.to_owned(), m.to_owned(), c);
        assert_eq!(
            rows,
            [
                row("A", "1m", "a duration", false),
                row("B", UNSET, "turns C on", false),
                row("C", "required", "needed beside B", true)
            ]
        );
    }
}
