//! The `junction` binary: the server and the command line.

use anyhow::{Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use junction_core::runner::RunOptions;
use junction_core::{CheckContext, TestStatus, ValidationTest};
use junction_host::auth::{self, Role};
use junction_host::body::{self, Format};
use junction_host::host::Settings;
use junction_host::serve::{ServeOptions, serve};
use junction_host::store::Store;
use junction_host::store::sqlite::SqliteStore;
use junction_host::util::{parse_duration, scrub, secret_strings};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "junction",
    version,
    about = "Junction: a control plane for integrations with data platforms."
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the database and the key file live.
        #[arg(long, default_value = "junction-data", env = "JUNCTION_DATA_DIR")]
        data_dir: PathBuf,
        /// How long an operation's lease lasts without renewal.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        lease_ttl: Duration,
        /// An operation running longer fails.
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        operation_timeout: Duration,
        /// Default timeout of one validation test.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        check_timeout: Duration,
        /// On SIGTERM, how long to wait for running operations.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        shutdown_grace: Duration,
        /// Load every shared-library plugin in this directory.
        #[arg(long, env = "JUNCTION_PLUGIN_DIR")]
        plugin_dir: Option<PathBuf>,
    },
    /// Run a payload's validation tests directly against the platform.
    Validate {
        /// A payload {type, autoBootstrap, config}, JSON or YAML.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        check_timeout: Duration,
        /// Also load the shared-library plugins in this directory.
        #[arg(long, env = "JUNCTION_PLUGIN_DIR")]
        plugin_dir: Option<PathBuf>,
    },
    /// List the platforms this binary supports (and the plugin libraries of --plugin-dir).
    Plugins {
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        #[arg(long, env = "JUNCTION_PLUGIN_DIR")]
        plugin_dir: Option<PathBuf>,
    },
    /// Manage API keys (directly in the data directory's store).
    Keys {
        #[arg(
            long,
            default_value = "junction-data",
            env = "JUNCTION_DATA_DIR",
            global = true
        )]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Talk to a running server.
    Integrations {
        #[arg(
            long,
            default_value = "http://127.0.0.1:8080",
            env = "JUNCTION_SERVER",
            global = true
        )]
        server: String,
        #[arg(long, env = "JUNCTION_KEY", global = true, hide_env_values = true)]
        key: Option<String>,
        #[command(subcommand)]
        command: ClientCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it (shown once).
    Create {
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List keys (never the keys themselves).
    List,
}

#[derive(Subcommand)]
enum ClientCommand {
    List,
    Get {
        id: i64,
    },
    Status {
        id: i64,
    },
    History {
        id: i64,
    },
    /// Create from a payload file (JSON or YAML).
    Create {
        file: PathBuf,
    },
    /// Edit from a payload file.
    Edit {
        id: i64,
        file: PathBuf,
    },
    /// Delete; FILE holds privileged credentials when needed.
    Delete {
        id: i64,
        file: Option<PathBuf>,
    },
    Migrate {
        id: i64,
    },
}

fn init_logs(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("junction: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("junction: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            data_dir,
            lease_ttl,
            operation_timeout,
            check_timeout,
            shutdown_grace,
            plugin_dir,
        } => {
            init_logs(cli.log_format, "info");
            let opts = ServeOptions {
                listen,
                data_dir,
                settings: Settings {
                    lease_ttl,
                    operation_timeout,
                    check_timeout,
                },
                shutdown_grace,
                admin_key: std::env::var("JUNCTION_ADMIN_KEY")
                    .ok()
                    .filter(|k| !k.is_empty()),
                plugin_dir,
            };
            serve(opts, |addr, new_key| {
                let mut out = std::io::stdout().lock();
                if let Some(k) = new_key {
                    let _ = writeln!(
                        out,
                        "No API key existed, so an admin key was created. It is shown only this once:\n  {k}"
                    );
                }
                let _ = writeln!(out, "junction listening on http://{addr}");
                let _ = out.flush();
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate {
            file,
            output,
            check_timeout,
            plugin_dir,
        } => {
            init_logs(cli.log_format, "warn");
            validate(file, output, check_timeout, plugin_dir).await
        }
        Command::Plugins { output, plugin_dir } => {
            init_logs(cli.log_format, "warn");
            plugins(output, plugin_dir)
        }
        Command::Keys { data_dir, command } => {
            init_logs(cli.log_format, "warn");
            let store = SqliteStore::open(&data_dir)?;
            match command {
                KeysCommand::Create { role, name } => {
                    let k = auth::generate(role, &name)
                        .map_err(|e| anyhow::anyhow!("cannot make a random key: {e}"))?;
                    store.insert_key(&k.record, &k.hash).await?;
                    println!("{}", k.secret);
                    eprintln!(
                        "Created {} key {} (shown only this once).",
                        role.as_str(),
                        k.record.id
                    );
                }
                KeysCommand::List => {
                    for k in store.list_keys().await? {
                        println!(
                            "{}\t{}\t{}\t{}",
                            k.id,
                            k.role.as_str(),
                            junction_host::util::rfc3339(k.created_at),
                            k.name
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Integrations {
            server,
            key,
            command,
        } => {
            init_logs(cli.log_format, "warn");
            client(&server, key.as_deref(), command).await
        }
    }
}

fn read_payload_file(file: &std::path::Path) -> Result<(Vec<u8>, Format), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let starts_like_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    let format = if ext == "yaml" || ext == "yml" || (ext != "json" && !starts_like_json) {
        Format::Yaml
    } else {
        Format::Json
    };
    Ok((bytes, format))
}

fn print_error(e: &junction_host::error::ApiError) {
    eprintln!("junction: {}", e.message);
    for d in &e.details {
        eprintln!(
            "  {}: {}",
            if d.path.is_empty() { "(body)" } else { &d.path },
            d.message
        );
    }
}

async fn validate(
    file: PathBuf,
    output: Output,
    check_timeout: Duration,
    plugin_dir: Option<PathBuf>,
) -> Result<ExitCode> {
    let bad = ExitCode::from(2);
    let (bytes, format) = match read_payload_file(&file) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("junction: {e}");
            return Ok(bad);
        }
    };
    let payload = match body::parse_value(&bytes, format).and_then(body::payload) {
        Ok(p) => p,
        Err(e) => {
            print_error(&e);
            return Ok(bad);
        }
    };
    let (registry, _) =
        junction_host::registry_with_plugins(plugin_dir.as_deref(), Duration::from_secs(600))?;
    let Some(platform) = registry.get(&payload.type_name) else {
        let names: Vec<&str> = registry.names().collect();
        eprintln!(
            "junction: type: unknown integration type \"{}\"; this binary supports: {}",
            payload.type_name,
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        );
        return Ok(bad);
    };
    let paths = platform.descriptor().secret_paths;
    let secrets = secret_strings(&payload.config, &paths);
    let ctx = CheckContext {
        integration_id: None,
        auto_bootstrap: payload.auto_bootstrap,
        peers: Default::default(),
    };
    let options = RunOptions {
        default_timeout: check_timeout,
        timeout_override: None,
        platform: payload.type_name.clone(),
    };
    let progress_secrets = secrets.clone();
    let progress = move |t: &ValidationTest| {
        let msg = t
            .message
            .as_deref()
            .map(|m| scrub(m, &progress_secrets))
            .unwrap_or_default();
        eprintln!(
            "  {:<8} {}{}",
            t.status.as_str(),
            t.name,
            if msg.is_empty() {
                String::new()
            } else {
                format!(" — {msg}")
            }
        );
    };
    let results = match platform
        .validate(&payload.config, ctx, &options, Some(&progress))
        .await
    {
        Ok(r) => junction_host::host::scrub_results(r, &secrets),
        Err(e) => {
            print_error(&junction_host::error::ApiError::invalid(e).scrubbed(&secrets));
            return Ok(bad);
        }
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&results)?),
        Output::Table => {
            let width = results
                .validation_tests
                .iter()
                .map(|t| t.name.len())
                .max()
                .unwrap_or(4)
                .max(4);
            println!("{:<8}  {:<width$}  MESSAGE", "STATUS", "TEST");
            for t in &results.validation_tests {
                println!(
                    "{:<8}  {:<width$}  {}",
                    t.status.as_str(),
                    t.name,
                    t.message.as_deref().unwrap_or("")
                );
            }
            println!("overall: {}", results.status);
        }
    }
    Ok(if results.status == TestStatus::Failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn plugins(output: Output, plugin_dir: Option<PathBuf>) -> Result<ExitCode> {
    let (registry, loads) =
        junction_host::registry_with_plugins(plugin_dir.as_deref(), Duration::from_secs(600))?;
    let descriptors: Vec<_> = registry.iter().map(|p| p.descriptor()).collect();
    match output {
        Output::Json => {
            if plugin_dir.is_some() {
                let v = serde_json::json!({"platforms": descriptors, "libraries": loads});
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&descriptors)?);
            }
        }
        Output::Table => {
            if descriptors.is_empty() {
                println!("No platform is compiled into this binary.");
            }
            for d in &descriptors {
                println!(
                    "{}  (set-up version {}, modes {:?}, delete credentials {:?})\n  {}",
                    d.type_name,
                    d.bootstrap_version,
                    d.bootstrap_modes,
                    d.delete_credentials,
                    d.description
                );
                for c in &d.checks {
                    let req = if c.requires.is_empty() {
                        String::new()
                    } else {
                        format!(" [requires: {}]", c.requires.join(", "))
                    };
                    println!("    - {}{}", c.name, req);
                }
            }
            for l in &loads {
                match (&l.r#type, &l.refused) {
                    (Some(t), _) => println!("library {}: loaded ({t})", l.path),
                    (None, Some(why)) => println!("library {}: REFUSED: {why}", l.path),
                    (None, None) => {}
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn client(server: &str, key: Option<&str>, command: ClientCommand) -> Result<ExitCode> {
    use hyper::Method;
    let load = |f: &PathBuf| -> Result<(Vec<u8>, &'static str)> {
        let (bytes, format) = read_payload_file(f).map_err(anyhow::Error::msg)?;
        Ok((
            bytes,
            if format == Format::Yaml {
                "application/yaml"
            } else {
                "application/json"
            },
        ))
    };
    let (method, path, body) = match &command {
        ClientCommand::List => (Method::GET, "/integrations".to_owned(), None),
        ClientCommand::Get { id } => (Method::GET, format!("/integrations/{id}"), None),
        ClientCommand::Status { id } => (Method::GET, format!("/integrations/{id}/status"), None),
        ClientCommand::History { id } => (Method::GET, format!("/integrations/{id}/history"), None),
        ClientCommand::Create { file } => {
            (Method::POST, "/integrations".to_owned(), Some(load(file)?))
        }
        ClientCommand::Edit { id, file } => (
            Method::PUT,
            format!("/integrations/{id}"),
            Some(load(file)?),
        ),
        ClientCommand::Delete { id, file } => (
            Method::DELETE,
            format!("/integrations/{id}"),
            file.as_ref().map(load).transpose()?,
        ),
        ClientCommand::Migrate { id } => {
            (Method::POST, format!("/integrations/{id}/migrate"), None)
        }
    };
    if key.is_none() {
        bail!("an API key is required: pass --key or set JUNCTION_KEY");
    }
    let reply = junction_host::client::request(server, key, method, &path, body).await?;
    let text = String::from_utf8_lossy(&reply.body);
    match serde_json::from_slice::<serde_json::Value>(&reply.body) {
        Ok(v) => println!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())
        ),
        Err(_) => println!("{text}"),
    }
    Ok(if (200..300).contains(&reply.status) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
