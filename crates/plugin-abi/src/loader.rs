//! The host's side: opens a plugin library, checks its table, and drives it
//! as an ordinary [`DynPlatform`] (JSON over the C ABI).
//!
//! ```ignore
//! use junction_plugin_abi::loader::{self, LoadOptions};
//! for loaded in loader::load_dir(dir, &LoadOptions::default()) {
//!     match loaded {
//!         Ok(platform) => registry.add(platform)?,      // Arc<DynamicPlatform> → Arc<dyn DynPlatform>
//!         Err(refused) => tracing::warn!("{refused}"),  // names the file and the reason
//!     }
//! }
//! ```
//!
//! Libraries are never unloaded: the plugin's runtime threads and any code
//! they run live as long as the process. The asynchronous methods must be
//! awaited inside a tokio runtime with timers enabled (the host's). Load
//! plugins after the host's `tracing` subscriber is installed: a plugin
//! forwards events up to the level in force when it is loaded.

use crate::ffi::{self, Buffer, Completion, HostApi, PluginVTable, Slice, Status};
use crate::wire::{self, WireError};
use junction_core::{
    CheckContext, ConfigErrors, DynOutput, DynPlatform, OpContext, OpError, ParsedConfig,
    PlatformDescriptor, Registry, RegistryError, RunOptions, Script, ScriptKind, TestStatus,
    ValidationResults, ValidationTest, async_trait, runner::Progress,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Why a library was not loaded. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin directory {path}: {source}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("plugin {path}: not loadable as a shared library: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: libloading::Error,
    },
    #[error(
        "plugin {path}: no `{symbol}` symbol, so it is not a Junction plugin (export one with junction_plugin_abi::export_platform!)"
    )]
    MissingSymbol { path: PathBuf, symbol: &'static str },
    #[error("plugin {path}: its entry symbol returned no plugin table")]
    NullTable { path: PathBuf },
    #[error(
        "plugin {path}: built for plugin ABI {found}.{found_minor}, but this host speaks ABI {expected}.x; rebuild it against junction-plugin-abi with ABI {expected}"
    )]
    AbiMajor {
        path: PathBuf,
        found: u32,
        found_minor: u32,
        expected: u32,
    },
    #[error(
        "plugin {path}: its plugin table is {found} bytes, smaller than the {expected} bytes of ABI {major}.{minor}; it is damaged or was built wrongly"
    )]
    TableSize {
        path: PathBuf,
        found: usize,
        expected: usize,
        major: u32,
        minor: u32,
    },
    #[error("plugin {path}: failed to start: {message}")]
    Init { path: PathBuf, message: String },
    #[error("plugin {path}: its platform description could not be read: {message}")]
    Descriptor { path: PathBuf, message: String },
    #[error(
        "plugin {path}: its platform type \"{type_name}\" is already registered (built in, or by another plugin); it was not loaded"
    )]
    Clash { path: PathBuf, type_name: String },
    #[error("plugin {path}: its platform has an empty type name")]
    EmptyTypeName { path: PathBuf },
}

impl LoadError {
    /// The file (or directory) the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::ReadDir { path, .. }
            | LoadError::Open { path, .. }
            | LoadError::MissingSymbol { path, .. }
            | LoadError::NullTable { path }
            | LoadError::AbiMajor { path, .. }
            | LoadError::TableSize { path, .. }
            | LoadError::Init { path, .. }
            | LoadError::Descriptor { path, .. }
            | LoadError::Clash { path, .. }
            | LoadError::EmptyTypeName { path } => path,
        }
    }
}

/// Host-side limits on a plugin.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// How long create, edit, delete or migrate may take before the host gives
    /// up on it (the plugin's task is cancelled) and reports `OpError::Failed`.
    pub op_timeout: Duration,
    /// Added to the longest possible run of the checks (each check has its own
    /// timeout inside the plugin) before the host gives up on a validation.
    pub validate_grace: Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            // Generous: a real set-up can create many objects on a slow platform.
            op_timeout: Duration::from_secs(30 * 60),
            validate_grace: Duration::from_secs(30),
        }
    }
}

/// Whether a file's name looks like a shared library of this OS.
pub fn is_library(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == std::env::consts::DLL_EXTENSION)
}

/// Loads every shared library in `dir` (sorted by name; other files are
/// ignored). One refusal does not stop the others.
pub fn load_dir(dir: &Path, options: &LoadOptions) -> Vec<Result<Arc<DynamicPlatform>, LoadError>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            return vec![Err(LoadError::ReadDir {
                path: dir.to_owned(),
                source,
            })];
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_library(p))
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p, options)).collect()
}

/// Loads every library in `dir` (as [`load_dir`]) and adds each platform to
/// `registry`; a type name already there (a built-in platform, or an earlier
/// library) is refused as [`LoadError::Clash`]. Returns every library's fate,
/// in file-name order, for the log and for `junction plugins`.
pub fn register_dir(
    registry: &mut Registry,
    dir: &Path,
    options: &LoadOptions,
) -> Vec<Result<Arc<DynamicPlatform>, LoadError>> {
    load_dir(dir, options)
        .into_iter()
        .map(|loaded| {
            let platform = loaded?;
            match registry.add(platform.clone()) {
                Ok(()) => Ok(platform),
                Err(RegistryError::Duplicate(type_name)) => Err(LoadError::Clash {
                    path: platform.path.clone(),
                    type_name,
                }),
                Err(RegistryError::EmptyName) => Err(LoadError::EmptyTypeName {
                    path: platform.path.clone(),
                }),
            }
        })
        .collect()
}

/// Loads one plugin library.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Arc<DynamicPlatform>, LoadError> {
    // SAFETY: opening a library runs its initialisers. A plugin directory holds
    // code the operator chose to run, exactly like the host binary itself.
    let library = unsafe { libloading::Library::new(path) }.map_err(|source| LoadError::Open {
        path: path.to_owned(),
        source,
    })?;
    // Never unloaded: the plugin's threads may run its code at any time.
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    // SAFETY: the symbol's type is the one export_platform! defines (EntryFn);
    // a library exporting this name with another type is outside the contract.
    let entry: libloading::Symbol<'static, ffi::EntryFn> = unsafe {
        library.get(ffi::ENTRY_SYMBOL.as_bytes())
    }
    .map_err(|_| LoadError::MissingSymbol {
        path: path.to_owned(),
        symbol: ffi::ENTRY_SYMBOL,
    })?;
    // SAFETY: the entry takes no arguments and returns a pointer to a static table.
    let table = unsafe { entry() };
    if table.is_null() {
        return Err(LoadError::NullTable {
            path: path.to_owned(),
        });
    }
    // SAFETY: non-null, and every ABI version's table starts with this header.
    let header = unsafe { &*table };
    if header.abi_major != ffi::ABI_MAJOR {
        return Err(LoadError::AbiMajor {
            path: path.to_owned(),
            found: header.abi_major,
            found_minor: header.abi_minor,
            expected: ffi::ABI_MAJOR,
        });
    }
    let expected = std::mem::size_of::<PluginVTable>();
    if header.size < expected {
        return Err(LoadError::TableSize {
            path: path.to_owned(),
            found: header.size,
            expected,
            major: ffi::ABI_MAJOR,
            minor: ffi::ABI_MINOR,
        });
    }
    // SAFETY: same major and at least our size: the table holds every field we
    // know, in this layout (fields are only appended), in a library never unloaded.
    let vtable: &'static PluginVTable = unsafe { &*table.cast::<PluginVTable>() };

    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    // Leaked on purpose: the plugin may log for the rest of the process.
    let log_ctx: &'static LogContext = Box::leak(Box::new(LogContext { library: name }));
    let api = HostApi {
        size: std::mem::size_of::<HostApi>(),
        ctx: std::ptr::from_ref(log_ctx).cast::<c_void>(),
        log: host_log,
        max_level: level_code(tracing::level_filters::LevelFilter::current()),
    };
    let mut handle: *const c_void = std::ptr::null();
    let mut error = Buffer::EMPTY;
    // SAFETY: the table passed the checks above; the pointers are to live locals.
    let status = unsafe { (vtable.init)(&api, &mut handle, &mut error) };
    let error = take(vtable, error);
    if status != ffi::STATUS_OK || handle.is_null() {
        let message = match status {
            ffi::STATUS_PANIC => "it panicked".to_owned(),
            _ if error.is_empty() => format!("init returned status {status}"),
            _ => String::from_utf8_lossy(&error).into_owned(),
        };
        return Err(LoadError::Init {
            path: path.to_owned(),
            message,
        });
    }
    let mut platform = DynamicPlatform {
        path: path.to_owned(),
        abi_minor: header.abi_minor,
        vtable,
        handle: Handle(handle),
        descriptor: None,
        options: options.clone(),
    };
    let descriptor = platform
        .call_sync::<wire::WireDescriptor>(ffi::method::DESCRIPTOR, &())
        .map_err(|e| LoadError::Descriptor {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    platform.descriptor = Some(descriptor.into());
    Ok(Arc::new(platform))
}

/// A platform served by a shared library.
pub struct DynamicPlatform {
    path: PathBuf,
    abi_minor: u32,
    vtable: &'static PluginVTable,
    handle: Handle,
    /// Read once at load: it cannot change while the library is loaded.
    descriptor: Option<PlatformDescriptor>,
    options: LoadOptions,
}

impl std::fmt::Debug for DynamicPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicPlatform")
            .field("type", &self.type_name())
            .field("path", &self.path)
            .field(
                "abi",
                &format_args!("{}.{}", ffi::ABI_MAJOR, self.abi_minor),
            )
            .finish()
    }
}

/// The plugin's opaque handle.
struct Handle(*const c_void);

// SAFETY: the handle is an opaque token the plugin checks on every call; the
// plugin's functions are thread-safe by the ABI's contract.
unsafe impl Send for Handle {}
// SAFETY: as above; the host never dereferences it.
unsafe impl Sync for Handle {}

impl DynamicPlatform {
    /// The library's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ABI version the library was built with.
    pub fn abi_version(&self) -> (u32, u32) {
        (ffi::ABI_MAJOR, self.abi_minor)
    }

    fn descriptor_ref(&self) -> Option<&PlatformDescriptor> {
        self.descriptor.as_ref()
    }

    fn call_sync<T: DeserializeOwned>(
        &self,
        method: &'static str,
        input: &impl Serialize,
    ) -> Result<T, CallError> {
        let input = serde_json::to_vec(input).map_err(|_| CallError::Encode(method))?;
        let mut output = Buffer::EMPTY;
        // SAFETY: the table was checked at load; the handle is the one init gave;
        // the slices and the output slot are live for the call.
        let status = unsafe {
            (self.vtable.call)(
                self.handle.0,
                Slice::of(method.as_bytes()),
                Slice::of(&input),
                &mut output,
            )
        };
        let bytes = take(self.vtable, output);
        answer(method, status, &bytes)
    }

    /// Starts a task; the receiver yields its progress and then its end.
    fn start(
        &self,
        method: &'static str,
        input: &[u8],
    ) -> Result<(mpsc::UnboundedReceiver<Event>, u64), CallError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let ctx = Box::into_raw(Box::new(TaskCtx { tx }));
        let completion = Completion {
            ctx: ctx.cast::<c_void>(),
            progress: host_progress,
            done: host_done,
        };
        let mut task = 0u64;
        // SAFETY: as in call_sync. `ctx` now belongs to the plugin until it calls
        // `done` (exactly once, whatever `start` returns), which frees it.
        let status = unsafe {
            (self.vtable.start)(
                self.handle.0,
                Slice::of(method.as_bytes()),
                Slice::of(input),
                completion,
                &mut task,
            )
        };
        match status {
            ffi::STATUS_OK => Ok((rx, task)),
            // The refusal's details come through `done`.
            ffi::STATUS_ERROR => Ok((rx, task)),
            other => Err(status_error(method, other)),
        }
    }

    async fn call_async<T: DeserializeOwned>(
        &self,
        method: &'static str,
        input: &impl Serialize,
        timeout: Duration,
        progress: Option<Progress<'_>>,
    ) -> Result<T, CallError> {
        let input = serde_json::to_vec(input).map_err(|_| CallError::Encode(method))?;
        let (mut rx, task) = self.start(method, &input)?;
        let mut cancel = CancelOnDrop {
            platform: self,
            task,
            armed: true,
        };
        let now = tokio::time::Instant::now();
        // An absurd timeout (Duration::MAX) means "a year": `+` would overflow.
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Event::Progress(bytes))) => {
                    if let (Some(progress), Ok(test)) = (
                        progress,
                        serde_json::from_slice::<wire::WireValidationTest>(&bytes),
                    ) {
                        progress(&test.into());
                    }
                }
                Ok(Some(Event::Done(status, bytes))) => {
                    cancel.armed = false;
                    return answer(method, status, &bytes);
                }
                Ok(None) => {
                    cancel.armed = false;
                    return Err(CallError::Lost(method));
                }
                // Dropping `cancel` asks the plugin to abandon the task.
                Err(_) => return Err(CallError::TimedOut(method, timeout)),
            }
        }
    }

    /// How long a validation may take: every check in turn at its longest
    /// timeout, plus the grace.
    fn validation_budget(&self, options: &RunOptions) -> Duration {
        let checks = self
            .descriptor_ref()
            .map(|d| d.checks.as_slice())
            .unwrap_or(&[]);
        let per_check = options.timeout_override.unwrap_or_else(|| {
            checks
                .iter()
                .filter_map(|c| c.timeout_seconds)
                .filter_map(|s| Duration::try_from_secs_f64(s).ok())
                .fold(options.default_timeout, Duration::max)
        });
        let n = u32::try_from(checks.len()).unwrap_or(u32::MAX).max(1);
        per_check
            .saturating_mul(n)
            .saturating_add(self.options.validate_grace)
    }

    /// Every declared check failed with `message`: what a validation that the
    /// plugin could not finish returns.
    fn all_failed(&self, message: &str) -> ValidationResults {
        let tests = self
            .descriptor_ref()
            .map(|d| d.checks.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(|c| ValidationTest {
                name: c.name.clone(),
                status: TestStatus::Failed,
                message: Some(message.to_owned()),
            })
            .collect();
        ValidationResults::new(tests)
    }
}

/// Cancels the plugin's task if the host stops waiting for it (timeout, or
/// the caller's future dropped).
struct CancelOnDrop<'a> {
    platform: &'a DynamicPlatform,
    task: u64,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            // SAFETY: the table was checked at load; cancel takes plain values.
            unsafe { (self.platform.vtable.cancel)(self.platform.handle.0, self.task) };
        }
    }
}

/// What went wrong calling the plugin. Its messages never quote the input.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("{1:?}")]
    Plugin(&'static str, WireError),
    #[error("the platform plugin failed unexpectedly during {0} (it panicked); see the host's log")]
    Panicked(&'static str),
    #[error("the platform plugin did not finish {method} within {after}; it was cancelled", method = .0, after = human(*.1))]
    TimedOut(&'static str, Duration),
    #[error("the platform plugin cancelled {0} before it finished")]
    Cancelled(&'static str),
    #[error("the platform plugin dropped {0} without an answer")]
    Lost(&'static str),
    #[error("the platform plugin's answer to {0} was not understood ({1})")]
    BadAnswer(&'static str, String),
    #[error("the platform plugin answered {0} with an unknown status {1}")]
    UnknownStatus(&'static str, Status),
    #[error("the request for {0} could not be written as JSON")]
    Encode(&'static str),
}

impl CallError {
    fn into_config_errors(self) -> ConfigErrors {
        match self {
            CallError::Plugin(_, WireError::Config { errors } | WireError::Invalid { errors }) => {
                errors.into()
            }
            CallError::Plugin(
                _,
                WireError::Unsupported { message } | WireError::Failed { message },
            ) => ConfigErrors::one("config", message),
            CallError::Plugin(method, WireError::BadRequest { message }) => ConfigErrors::one(
                "config",
                format!("the platform plugin refused the host's {method} request: {message}"),
            ),
            other => ConfigErrors::one("config", other.to_string()),
        }
    }

    fn into_op_error(self) -> OpError {
        match self {
            CallError::Plugin(_, WireError::Config { errors } | WireError::Invalid { errors }) => {
                OpError::Invalid(errors.into())
            }
            CallError::Plugin(_, WireError::Unsupported { message }) => {
                OpError::Unsupported(message)
            }
            CallError::Plugin(_, WireError::Failed { message }) => OpError::Failed(message),
            CallError::Plugin(method, WireError::BadRequest { message }) => OpError::Failed(
                format!("the platform plugin refused the host's {method} request: {message}"),
            ),
            other => OpError::Failed(other.to_string()),
        }
    }
}

fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

fn status_error(method: &'static str, status: Status) -> CallError {
    match status {
        ffi::STATUS_PANIC => CallError::Panicked(method),
        ffi::STATUS_CANCELLED => CallError::Cancelled(method),
        other => CallError::UnknownStatus(method, other),
    }
}

fn answer<T: DeserializeOwned>(
    method: &'static str,
    status: Status,
    bytes: &[u8],
) -> Result<T, CallError> {
    // serde's messages may quote a value (a secret): only the position is kept.
    let bad = |e: serde_json::Error| {
        CallError::BadAnswer(method, format!("line {}, column {}", e.line(), e.column()))
    };
    match status {
        ffi::STATUS_OK => serde_json::from_slice(bytes).map_err(bad),
        ffi::STATUS_ERROR => Err(CallError::Plugin(
            method,
            serde_json::from_slice(bytes).map_err(bad)?,
        )),
        other => Err(status_error(method, other)),
    }
}

/// Copies a plugin buffer and gives it back to the plugin's allocator.
fn take(vtable: &PluginVTable, buffer: Buffer) -> Vec<u8> {
    let bytes = if buffer.ptr.is_null() {
        Vec::new()
    } else {
        // SAFETY: the plugin handed this buffer over: `len` readable bytes,
        // alive until we give it back just below.
        unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec()
    };
    // SAFETY: the buffer is the plugin's, given back exactly once.
    unsafe { (vtable.free_buffer)(buffer) };
    bytes
}

enum Event {
    Progress(Vec<u8>),
    Done(Status, Vec<u8>),
}

/// The host's side of one task; owned by the plugin until `done`.
struct TaskCtx {
    tx: mpsc::UnboundedSender<Event>,
}

unsafe extern "C" fn host_progress(ctx: *mut c_void, item: Slice) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` is the TaskCtx boxed in `start`; the plugin calls
        // progress only before `done`, which is what frees it.
        let Some(task) = (unsafe { ctx.cast::<TaskCtx>().as_ref() }) else {
            return;
        };
        // SAFETY: the plugin passes a slice valid for this call; it is copied.
        let bytes = unsafe { item.as_bytes() }.to_vec();
        // The host may have stopped listening (timeout): then nobody needs it.
        let _ = task.tx.send(Event::Progress(bytes));
    }));
}

unsafe extern "C" fn host_done(ctx: *mut c_void, status: Status, output: Slice) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if ctx.is_null() {
            return;
        }
        // SAFETY: `ctx` is the TaskCtx boxed in `start`, and `done` is called
        // exactly once per task, so it is taken back exactly once.
        let task = unsafe { Box::from_raw(ctx.cast::<TaskCtx>()) };
        // SAFETY: the plugin passes a slice valid for this call; it is copied.
        let bytes = unsafe { output.as_bytes() }.to_vec();
        let _ = task.tx.send(Event::Done(status, bytes));
    }));
}

/// Names the library in its forwarded log events.
struct LogContext {
    library: String,
}

unsafe extern "C" fn host_log(ctx: *const c_void, level: u32, target: Slice, message: Slice) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` is the LogContext leaked in `load` (lives forever).
        let library =
            unsafe { ctx.cast::<LogContext>().as_ref() }.map_or("?", |c| c.library.as_str());
        // SAFETY: the plugin passes slices valid for this call.
        let (target, message) = unsafe { (target.as_bytes(), message.as_bytes()) };
        let target = String::from_utf8_lossy(target);
        let message = String::from_utf8_lossy(message);
        // tracing's macros need a constant level and target: the plugin's own
        // target travels as a field.
        match level {
            ffi::LEVEL_ERROR => {
                tracing::error!(target: "junction::plugin", plugin = library, module = %target, "{message}")
            }
            ffi::LEVEL_WARN => {
                tracing::warn!(target: "junction::plugin", plugin = library, module = %target, "{message}")
            }
            ffi::LEVEL_INFO => {
                tracing::info!(target: "junction::plugin", plugin = library, module = %target, "{message}")
            }
            ffi::LEVEL_DEBUG => {
                tracing::debug!(target: "junction::plugin", plugin = library, module = %target, "{message}")
            }
            _ => {
                tracing::trace!(target: "junction::plugin", plugin = library, module = %target, "{message}")
            }
        }
    }));
}

fn level_code(filter: tracing::level_filters::LevelFilter) -> u32 {
    use tracing::level_filters::LevelFilter;
    match filter {
        LevelFilter::OFF => ffi::LEVEL_OFF,
        LevelFilter::ERROR => ffi::LEVEL_ERROR,
        LevelFilter::WARN => ffi::LEVEL_WARN,
        LevelFilter::INFO => ffi::LEVEL_INFO,
        LevelFilter::DEBUG => ffi::LEVEL_DEBUG,
        _ => ffi::LEVEL_TRACE,
    }
}

#[async_trait]
impl DynPlatform for DynamicPlatform {
    fn descriptor(&self) -> PlatformDescriptor {
        // Set by `load` before the platform is handed out.
        self.descriptor
            .clone()
            .unwrap_or_else(|| PlatformDescriptor {
                type_name: String::new(),
                description: String::new(),
                bootstrap_modes: junction_core::BootstrapModes::Both,
                delete_credentials: junction_core::DeleteCredentials::Never,
                bootstrap_version: 0,
                checks: Vec::new(),
                config_schema: Value::Null,
                delete_credentials_schema: Value::Null,
                secret_paths: Vec::new(),
                example_config: Value::Null,
            })
    }

    fn type_name(&self) -> &str {
        self.descriptor_ref().map_or("", |d| d.type_name.as_str())
    }

    fn parse(&self, config: &Value, auto_bootstrap: bool) -> Result<ParsedConfig, ConfigErrors> {
        let input = wire::ParseIn {
            config: Cow::Borrowed(config),
            auto_bootstrap,
        };
        self.call_sync::<wire::ParseOut>(ffi::method::PARSE, &input)
            .map(ParsedConfig::from)
            .map_err(CallError::into_config_errors)
    }

    fn parse_delete_credentials(&self, body: &Value) -> Result<(), ConfigErrors> {
        let input = wire::DeleteCredentialsIn {
            body: Cow::Borrowed(body),
        };
        self.call_sync(ffi::method::PARSE_DELETE_CREDENTIALS, &input)
            .map_err(CallError::into_config_errors)
    }

    async fn validate(
        &self,
        config: &Value,
        ctx: CheckContext,
        options: &RunOptions,
        progress: Option<Progress<'_>>,
    ) -> Result<ValidationResults, ConfigErrors> {
        let budget = self.validation_budget(options);
        let input = wire::ValidateIn {
            config: Cow::Borrowed(config),
            ctx: (&ctx).into(),
            options: options.into(),
            progress: progress.is_some(),
        };
        match self
            .call_async::<wire::WireValidationResults>(
                ffi::method::VALIDATE,
                &input,
                budget,
                progress,
            )
            .await
        {
            Ok(results) => Ok(results.into()),
            Err(CallError::Plugin(_, WireError::Config { errors })) => Err(errors.into()),
            // The plugin could not finish: every test fails, with the reason.
            Err(other) => {
                tracing::error!(plugin = %self.path.display(), "validation through the plugin failed: {other}");
                Ok(self.all_failed(&format!("The test could not run: {other}.")))
            }
        }
    }

    async fn create(&self, op: &OpContext, config: &Value) -> Result<DynOutput, OpError> {
        let input = wire::CreateIn {
            op: op.into(),
            config: Cow::Borrowed(config),
        };
        self.op(ffi::method::CREATE, &input).await
    }

    async fn edit(&self, op: &OpContext, old: &Value, new: &Value) -> Result<DynOutput, OpError> {
        let input = wire::EditIn {
            op: op.into(),
            old: Cow::Borrowed(old),
            new: Cow::Borrowed(new),
        };
        self.op(ffi::method::EDIT, &input).await
    }

    async fn delete(
        &self,
        op: &OpContext,
        config: &Value,
        privileged: Option<&Value>,
    ) -> Result<(), OpError> {
        let input = wire::DeleteIn {
            op: op.into(),
            config: Cow::Borrowed(config),
            privileged: privileged.map(Cow::Borrowed),
        };
        self.call_async::<()>(ffi::method::DELETE, &input, self.options.op_timeout, None)
            .await
            .map_err(CallError::into_op_error)
    }

    async fn migrate(&self, op: &OpContext, config: &Value) -> Result<DynOutput, OpError> {
        let input = wire::CreateIn {
            op: op.into(),
            config: Cow::Borrowed(config),
        };
        self.op(ffi::method::MIGRATE, &input).await
    }

    fn script(
        &self,
        kind: ScriptKind,
        config: &Value,
        previous: Option<&Value>,
    ) -> Result<Script, OpError> {
        let input = wire::ScriptIn {
            kind: kind.into(),
            config: Cow::Borrowed(config),
            previous: previous.map(Cow::Borrowed),
        };
        self.call_sync::<wire::WireScript>(ffi::method::SCRIPT, &input)
            .map(Script::from)
            .map_err(CallError::into_op_error)
    }
}

impl DynamicPlatform {
    async fn op(&self, method: &'static str, input: &impl Serialize) -> Result<DynOutput, OpError> {
        let out: wire::OpOut = self
            .call_async(method, input, self.options.op_timeout, None)
            .await
            .map_err(|e| {
                if !matches!(e, CallError::Plugin(..)) {
                    tracing::error!(plugin = %self.path.display(), "{method} through the plugin failed: {e}");
                }
                e.into_op_error()
            })?;
        Ok(out.into())
    }
}
