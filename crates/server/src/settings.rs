//! Where setting values come from, for the settings declared in [`crate::cli`]: a command-line
//! flag wins over the environment variable, which wins over the TOML file's key, which wins
//! over the declared default. The file is loaded through the same declaration (its values
//! become clap's defaults), so a file key is checked by the setting's own value parser, and an
//! unknown key is an error. An environment variable set to the empty string counts as unset.
//!
//! This module (with clap, which it drives) is the only place that reads the environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Args, Command, CommandFactory, FromArgMatches};

use crate::cli::{Cli, RunArgs};

/// Subcommands whose arguments are [`RunArgs`], and so read the settings file.
const SETTINGS_SUBCOMMANDS: &[&str] = &["run", "rotate-keys"];

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// `--help`, `--version` or a usage mistake (unknown flag, missing subcommand): clap's own
    /// output, shown with [`clap::Error::exit`].
    #[error("{0}")]
    Usage(clap::Error),
    /// A setting's value is wrong: one line naming the setting.
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Parses the process's command line, with the environment and the `--config` file.
pub fn parse_cli() -> Result<Cli, SettingsError> {
    parse_cli_from(std::env::args_os())
}

/// Parses `args` (the first is the program name), with the environment and the `--config`
/// file.
pub fn parse_cli_from<I, T>(args: I) -> Result<Cli, SettingsError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let declared = Cli::command();
    let cmd = with_environment(declared.clone());
    let matches = matches(cmd.clone(), &declared, &args)?;
    let matches = match config_path(&matches) {
        Some(path) => {
            let file = SettingsFile::load(&path)?;
            let cmd = SETTINGS_SUBCOMMANDS.iter().try_fold(cmd, |cmd, name| {
                file.check(cmd.find_subcommand(name).expect("declared subcommand"))?;
                Ok::<_, SettingsError>(cmd.mut_subcommand(name, |sub| file.apply(sub)))
            })?;
            self::matches(cmd, &declared, &args)?
        }
        None => matches,
    };
    Cli::from_arg_matches(&matches).map_err(SettingsError::Usage)
}

impl RunArgs {
    /// The settings given as flags (without the program or subcommand name), ignoring the
    /// environment and any file: for embedding the server (the demo) and for tests.
    pub fn from_flags<I, T>(flags: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        parse_run(flags, None)
    }

    /// Every setting at its declared default.
    pub fn defaults() -> Self {
        Self::from_flags(std::iter::empty::<OsString>()).expect("the declared defaults are valid")
    }
}

/// The settings of `run`, from flags and optionally a file; never the environment.
fn parse_run<I, T>(flags: I, file: Option<&SettingsFile>) -> Result<RunArgs, SettingsError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let declared = settings_command();
    let mut cmd = declared.clone().mut_args(|a| a.env(None));
    if let Some(file) = file {
        file.check(&cmd)?;
        cmd = file.apply(cmd);
    }
    let args: Vec<OsString> = std::iter::once(OsString::from("run"))
        .chain(flags.into_iter().map(Into::into))
        .collect();
    let matches = matches(cmd, &declared, &args)?;
    RunArgs::from_arg_matches(&matches).map_err(SettingsError::Usage)
}

/// As [`RunArgs::from_flags`], with a settings file's text (tests of precedence).
#[cfg(test)]
pub(crate) fn run_args_with_file(flags: &[&str], toml: &str) -> Result<RunArgs, SettingsError> {
    let file = SettingsFile::parse(Path::new("test.toml"), toml)?;
    parse_run(flags, Some(&file))
}

/// The declaration of the settings alone (the `run` subcommand's arguments).
fn settings_command() -> Command {
    RunArgs::augment_args(Command::new("run"))
}

/// Parses `args` with `cmd`; errors name settings as `declared` declares them.
fn matches(
    cmd: Command,
    declared: &Command,
    args: &[OsString],
) -> Result<clap::ArgMatches, SettingsError> {
    cmd.try_get_matches_from(args)
        .map_err(|e| invalid_value(declared, e))
}

/// `--config` / `NEXTCLOUD_MCP_CONFIG`, given before or after the subcommand.
fn config_path(matches: &clap::ArgMatches) -> Option<PathBuf> {
    matches
        .get_one::<PathBuf>("config")
        .or_else(|| {
            matches
                .subcommand()
                .and_then(|(_, sub)| sub.get_one::<PathBuf>("config"))
        })
        .cloned()
}

/// Treats environment variables set to the empty string as unset (`KEY=` in an env file
/// means "not configured", not "configured as nothing").
fn with_environment(cmd: Command) -> Command {
    fn clear_empty(cmd: Command) -> Command {
        cmd.mut_args(|arg| {
            let empty = arg
                .get_env()
                .and_then(std::env::var_os)
                .is_some_and(|v| v.is_empty());
            if empty { arg.env(None) } else { arg }
        })
        .mut_subcommands(clear_empty)
    }
    clear_empty(cmd)
}

/// A clap error about one setting's value as one line naming the setting (flag and
/// environment variable); other errors stay clap's.
fn invalid_value(cmd: &Command, e: clap::Error) -> SettingsError {
    if !matches!(
        e.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return SettingsError::Usage(e);
    }
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => return SettingsError::Usage(e),
    };
    let long = flag
        .split_whitespace()
        .find_map(|w| w.trim_end_matches(',').strip_prefix("--"))
        .unwrap_or_default()
        .to_string();
    let arg = find_long(cmd, &long);
    let name = match arg.and_then(Arg::get_env) {
        Some(env) => format!("--{long} ({})", env.to_string_lossy()),
        None => format!("--{long}"),
    };
    let secret = arg.is_some_and(Arg::is_hide_env_values_set);
    SettingsError::Invalid(format!("{name}: {}", reason(&e, secret)))
}

/// What is wrong with the value, quoting it unless it is a secret.
fn reason(e: &clap::Error, secret: bool) -> String {
    let value = match e.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) if !secret => format!("`{v}`: "),
        _ => String::new(),
    };
    let why = match (e.kind(), e.get(ContextKind::ValidValue)) {
        (ErrorKind::InvalidValue, Some(ContextValue::Strings(valid))) => {
            format!("expected one of {}", valid.join(", "))
        }
        _ => std::error::Error::source(e)
            .map(ToString::to_string)
            .unwrap_or_else(|| "invalid value".into()),
    };
    format!("{value}{why}")
}

fn find_long<'a>(cmd: &'a Command, long: &str) -> Option<&'a Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .or_else(|| cmd.get_subcommands().find_map(|s| find_long(s, long)))
}

/// The TOML settings file.
struct SettingsFile {
    path: PathBuf,
    table: toml::Table,
}

impl SettingsFile {
    fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SettingsError::Invalid(format!("cannot read config file {}: {e}", path.display()))
        })?;
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Self, SettingsError> {
        let table = text.parse::<toml::Table>().map_err(|e| {
            SettingsError::Invalid(format!("config file {}: {}", path.display(), e.message()))
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            table,
        })
    }

    fn error(&self, key: &str, message: impl std::fmt::Display) -> SettingsError {
        SettingsError::Invalid(format!(
            "config file {}: `{key}`: {message}",
            self.path.display()
        ))
    }

    /// Checks every key against the settings declared in `cmd`, and every value with its
    /// setting's own parser, so a mistake in the file is reported as the file's even when a
    /// flag or variable overrides it.
    fn check(&self, cmd: &Command) -> Result<(), SettingsError> {
        for (key, value) in &self.table {
            let Some(arg) = file_setting(cmd, key) else {
                return Err(self.error(
                    key,
                    "unknown setting (keys are the settings' names, e.g. `nextcloud_host`)",
                ));
            };
            let values = self.values(key, arg, value)?;
            let (Some(long), false) = (arg.get_long(), is_flag(arg)) else {
                continue;
            };
            let probe = Command::new("file").no_binary_name(true).arg(
                arg.clone()
                    .env(None)
                    .default_value(None)
                    .required(false)
                    .global(false),
            );
            if let Err(e) =
                probe.try_get_matches_from(values.iter().map(|v| format!("--{long}={v}")))
            {
                let secret = arg.is_hide_env_values_set();
                return Err(self.error(key, reason(&e, secret)));
            }
        }
        Ok(())
    }

    /// The file's values as the defaults of the settings in `cmd`; call [`Self::check`] first.
    fn apply(&self, mut cmd: Command) -> Command {
        for (key, value) in &self.table {
            let Some(arg) = file_setting(&cmd, key) else {
                continue;
            };
            let Ok(values) = self.values(key, arg, value) else {
                continue;
            };
            cmd = cmd.mut_arg(key, |a| a.default_values(values));
        }
        cmd
    }

    /// A TOML value as the strings clap parses: a list for settings that take several.
    fn values(
        &self,
        key: &str,
        arg: &Arg,
        value: &toml::Value,
    ) -> Result<Vec<String>, SettingsError> {
        use toml::Value;
        let scalar = |v: &Value| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Integer(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            Value::Boolean(b) => Ok(b.to_string()),
            _ => Err(self.error(key, "expected a string, a number or true/false")),
        };
        match value {
            Value::Array(items) if takes_many(arg) => items.iter().map(scalar).collect(),
            Value::Array(_) => Err(self.error(key, "takes one value, not a list")),
            Value::Boolean(b) if is_flag(arg) => Ok(vec![b.to_string()]),
            _ if is_flag(arg) => Err(self.error(key, "expected true or false")),
            Value::String(s) if takes_many(arg) => Ok(match arg.get_value_delimiter() {
                Some(d) => s.split(d).map(str::to_string).collect(),
                None => vec![s.clone()],
            }),
            v => Ok(vec![scalar(v)?]),
        }
    }
}

/// The setting a file key names: a visible argument of `cmd` with that id (the field name).
fn file_setting<'a>(cmd: &'a Command, key: &str) -> Option<&'a Arg> {
    cmd.get_arguments()
        .find(|a| a.get_id() == key && is_setting(a) && !a.is_global_set())
}

/// Declared settings, not clap's own `--help` / `--version` or hidden test switches.
fn is_setting(arg: &Arg) -> bool {
    !arg.is_hide_set() && !matches!(arg.get_action(), ArgAction::Help | ArgAction::Version)
}

fn is_flag(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue)
}

fn takes_many(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

/// One row of the settings table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingDoc {
    /// `--name`.
    pub flag: String,
    pub env: Option<String>,
    /// Key in the TOML file (`None` for `--config` itself).
    pub file_key: Option<String>,
    pub default: Option<DefaultDoc>,
    /// The help text, with the accepted values when the declaration lists them.
    pub help: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefaultDoc {
    /// A declared default value.
    Value(String),
    /// A default worked out from other settings, as the help's `[default: …]` note says it.
    Note(String),
}

/// Every setting as its declaration describes it: `--config`, then those of `run`.
pub fn documented() -> Vec<SettingDoc> {
    let cli = Cli::command();
    let config = cli
        .get_arguments()
        .find(|a| a.get_id() == "config")
        .map(|a| doc(a, None));
    let settings = settings_command();
    config
        .into_iter()
        .chain(
            settings
                .get_arguments()
                .filter(|a| is_setting(a))
                .map(|a| doc(a, Some(a.get_id().to_string()))),
        )
        .collect()
}

fn doc(arg: &Arg, file_key: Option<String>) -> SettingDoc {
    let help = arg
        .get_long_help()
        .or_else(|| arg.get_help())
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut default = None;
    if let Some(at) = help.rfind("[default: ")
        && help.ends_with(']')
    {
        default = Some(DefaultDoc::Note(
            help[at + "[default: ".len()..help.len() - 1].to_string(),
        ));
        help = help[..at].trim_end().to_string();
    }
    let declared: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !declared.is_empty() {
        default = Some(DefaultDoc::Value(declared.join(",")));
    } else if is_flag(arg) {
        default = Some(DefaultDoc::Value("false".into()));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !values.is_empty() && !is_flag(arg) {
        help = format!("{help}: {}", values.join(", "));
    }
    SettingDoc {
        flag: format!("--{}", arg.get_long().unwrap_or_default()),
        env: arg.get_env().map(|e| e.to_string_lossy().into_owned()),
        file_key,
        default,
        help,
    }
}

/// The settings as README's Markdown table.
pub fn markdown_table() -> String {
    let code = |s: &str| format!("`{s}`");
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "| Flag | Environment | File key | Default | Meaning |\n|---|---|---|---|---|\n",
    );
    for s in documented() {
        let default = match &s.default {
            Some(DefaultDoc::Value(v)) => code(v),
            Some(DefaultDoc::Note(note)) => note.clone(),
            None => "—".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            code(&s.flag),
            s.env.as_deref().map_or("—".into(), code),
            s.file_key.as_deref().map_or("—".into(), code),
            cell(&default),
            cell(&s.help),
        ));
    }
    out
}
