//! The `junction` binary: the server and the command line.

mod commands;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use commands::Output;
use commands::client::{ClientCommand, Conn, client};
use commands::out::{errln, outln};
use commands::plugins::plugins;
use commands::validate::validate;
use junction_host::auth::{self, Role};
use junction_host::host::Settings;
use junction_host::serve::{ServeOptions, serve};
use junction_host::util::parse_duration;
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
        /// The store: a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL shared
        /// by several hosts; without it, SQLite in the data directory.
        #[arg(long, env = "JUNCTION_STORE", hide_env_values = true)]
        store: Option<String>,
        /// How long an operation's lease lasts without renewal.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        lease_ttl: Duration,
        /// An operation running longer fails.
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        operation_timeout: Duration,
        /// Default timeout of one validation test.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        check_timeout: Duration,
        /// How often each enabled integration is re-validated (±10%), unless
        /// it has its own `revalidateEvery`: `1h`, `30m`, `90s`; `0` or `off`: never.
        #[arg(long, default_value = "1h", value_parser = junction_host::store::recurring::Revalidate::parse_str)]
        revalidate_every: junction_host::store::recurring::Revalidate,
        /// On SIGTERM, how long to wait for running operations.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        shutdown_grace: Duration,
        /// Load every shared-library plugin in this directory.
        #[arg(long, env = "JUNCTION_PLUGIN_DIR")]
        plugin_dir: Option<PathBuf>,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, env = "JUNCTION_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key (PEM) of --tls-cert.
        #[arg(long, env = "JUNCTION_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Run a payload's validation tests directly against the platform.
    Validate {
        /// A payload {type, autoBootstrap, config}, JSON or YAML.
        file: PathBuf,
        /// How to print the results.
        #[arg(short, long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Timeout of one validation test (unless the test has its own).
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        check_timeout: Duration,
        /// Also load the shared-library plugins in this directory.
        #[arg(long, env = "JUNCTION_PLUGIN_DIR")]
        plugin_dir: Option<PathBuf>,
    },
    /// List the platforms this binary supports (and the plugin libraries of --plugin-dir).
    Plugins {
        /// How to print the list.
        #[arg(short, long, value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Also load the shared-library plugins in this directory.
        #[arg(long, env = "JUNCTION_PLUGIN_DIR")]
        plugin_dir: Option<PathBuf>,
    },
    /// Manage API keys (directly in the data directory's store).
    Keys {
        /// Where the database and the key file live.
        #[arg(
            long,
            default_value = "junction-data",
            env = "JUNCTION_DATA_DIR",
            global = true
        )]
        data_dir: PathBuf,
        /// The store, as for `serve --store`.
        #[arg(long, env = "JUNCTION_STORE", hide_env_values = true, global = true)]
        store: Option<String>,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage the stored secrets' encryption key.
    Secrets {
        /// Where the database and the key file live.
        #[arg(
            long,
            default_value = "junction-data",
            env = "JUNCTION_DATA_DIR",
            global = true
        )]
        data_dir: PathBuf,
        /// The store, as for `serve --store`.
        #[arg(long, env = "JUNCTION_STORE", hide_env_values = true, global = true)]
        store: Option<String>,
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Talk to a running server.
    Integrations {
        /// The server's URL, http:// or https://.
        #[arg(
            long,
            default_value = "http://127.0.0.1:8080",
            env = "JUNCTION_SERVER",
            global = true
        )]
        server: String,
        /// An API key (admin, or read for what only reads).
        #[arg(long, env = "JUNCTION_KEY", global = true, hide_env_values = true)]
        key: Option<String>,
        /// A CA certificate (PEM) to trust besides the web PKI roots, for an
        /// https:// server with a private CA.
        #[arg(long, env = "JUNCTION_CA_CERT", global = true)]
        ca_cert: Option<PathBuf>,
        /// How to print answers: a table, or the API's JSON or YAML.
        #[arg(short, long, value_enum, default_value_t = Output::Table, global = true)]
        output: Output,
        #[command(subcommand)]
        command: ClientCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it (shown once).
    Create {
        /// What the key may do: admin (everything) or read (GET only).
        #[arg(long, value_enum)]
        role: Role,
        /// A name to know the key by.
        #[arg(long, default_value = "")]
        name: String,
        /// The key is refused after this long (`30d`, `12h`, `90m`).
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by its id (`key_…`): every host refuses it within
    /// five seconds (the key cache's lifetime).
    Revoke {
        /// The key's id, `key_…` (from `junction keys list`).
        id: String,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-encrypt every stored secret under a new key (stop the hosts
    /// first). Safe against a crash: run it again to finish.
    Rotate,
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
            errln!("junction: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            errln!("junction: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            data_dir,
            store,
            lease_ttl,
            operation_timeout,
            check_timeout,
            revalidate_every,
            shutdown_grace,
            plugin_dir,
            tls_cert,
            tls_key,
        } => {
            init_logs(cli.log_format, "info");
            let opts = ServeOptions {
                listen,
                data_dir,
                store,
                settings: Settings {
                    lease_ttl,
                    operation_timeout,
                    check_timeout,
                    revalidate_every: revalidate_every.interval(None),
                },
                shutdown_grace,
                admin_key: std::env::var("JUNCTION_ADMIN_KEY")
                    .ok()
                    .filter(|k| !k.is_empty()),
                plugin_dir,
                tls: tls_cert.zip(tls_key),
            };
            let scheme = if opts.tls.is_some() { "https" } else { "http" };
            serve(opts, |addr, new_key| {
                if let Some(k) = new_key {
                    outln!(
                        "No API key existed, so an admin key was created. It is shown only this once:\n  {k}"
                    );
                }
                outln!("junction listening on {scheme}://{addr}");
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
        Command::Keys {
            data_dir,
            store,
            command,
        } => {
            init_logs(cli.log_format, "warn");
            let store = junction_host::store::open_shared(store.as_deref(), &data_dir).await?;
            match command {
                KeysCommand::Create {
                    role,
                    name,
                    expires_in,
                } => {
                    let mut k = auth::generate(role, &name)
                        .map_err(|e| anyhow::anyhow!("cannot make a random key: {e}"))?;
                    k.record.expires_at = expires_in.map(|d| {
                        k.record.created_at + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
                    });
                    store.insert_key(&k.record, &k.hash).await?;
                    outln!("{}", k.secret);
                    errln!(
                        "Created {} key {} (shown only this once).",
                        role.as_str(),
                        k.record.id
                    );
                }
                KeysCommand::List => {
                    let now = junction_host::util::now_ms();
                    for k in store.list_keys().await? {
                        let state = match (k.revoked_at, k.expires_at) {
                            (Some(at), _) => {
                                format!("revoked {}", junction_host::util::rfc3339(at))
                            }
                            (None, Some(at)) if at <= now => {
                                format!("expired {}", junction_host::util::rfc3339(at))
                            }
                            (None, Some(at)) => {
                                format!("expires {}", junction_host::util::rfc3339(at))
                            }
                            (None, None) => "active".to_owned(),
                        };
                        outln!(
                            "{}\t{}\t{}\t{}\t{}",
                            k.id,
                            k.role.as_str(),
                            junction_host::util::rfc3339(k.created_at),
                            state,
                            k.name
                        );
                    }
                }
                KeysCommand::Revoke { id } => {
                    if !store.revoke_key(&id, junction_host::util::now_ms()).await? {
                        errln!("junction: no key has the id {id}");
                        return Ok(ExitCode::from(1));
                    }
                    errln!(
                        "Revoked {id}: every host refuses it within {} s.",
                        junction_host::host::KEY_CACHE_TTL.as_secs()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Secrets {
            data_dir,
            store,
            command: SecretsCommand::Rotate,
        } => {
            init_logs(cli.log_format, "warn");
            commands::secrets::rotate_command(&data_dir, store.as_deref()).await
        }
        Command::Integrations {
            server,
            key,
            ca_cert,
            output,
            command,
        } => {
            init_logs(cli.log_format, "warn");
            client(
                Conn {
                    server,
                    key,
                    ca_cert,
                },
                output,
                command,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// The commands and arguments without a help line, as `junction … ARG`.
    fn without_help(cmd: &clap::Command, parent: &str, seen: &mut usize) -> Vec<String> {
        let path = format!("{parent} {}", cmd.get_name()).trim().to_owned();
        let mut missing = Vec::new();
        *seen += 1;
        if cmd.get_about().is_none() && cmd.get_long_about().is_none() {
            missing.push(path.clone());
        }
        for a in cmd.get_arguments() {
            *seen += 1;
            if a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{path} {}", a.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            missing.extend(without_help(sub, &path, seen));
        }
        missing
    }

    #[test]
    fn every_command_and_argument_has_a_help_line() {
        let mut cmd = Cli::command();
        // Built: global arguments copied down, `help` and `--version` added.
        cmd.build();
        let mut seen = 0;
        let missing = without_help(&cmd, "", &mut seen);
        assert!(missing.is_empty(), "without a help line: {missing:?}");
        // The walk reached the leaves (`integrations create --wait`).
        let create = cmd
            .find_subcommand("integrations")
            .and_then(|i| i.find_subcommand("create"));
        assert!(create.is_some_and(|c| c.get_arguments().any(|a| a.get_id() == "wait")));
        assert!(seen > 60, "only {seen} commands and arguments walked");
    }
}
