//! The plugin's side of the ABI: the functions of the table that
//! [`crate::export_platform!`] exports. Each catches panics; async work runs
//! on the plugin's own tokio runtime and reports through the host's callbacks.

use crate::ffi::{self, Buffer, Completion, HostApi, PluginVTable, Slice, Status, VTableHeader};
use crate::wire::{self, WireError};
use junction_core::{DynPlatform, OpContext, ValidationTest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::ffi::c_void;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

/// Makes the library's platform; set by the entry symbol.
type MakeFn = fn() -> Box<dyn DynPlatform>;

static MAKE: OnceLock<MakeFn> = OnceLock::new();
/// One platform and one runtime per loaded library, for the life of the process.
static STATE: OnceLock<Result<State, String>> = OnceLock::new();
static HOST: OnceLock<HostLog> = OnceLock::new();

static VTABLE: PluginVTable = PluginVTable {
    header: VTableHeader {
        abi_major: ffi::ABI_MAJOR,
        abi_minor: ffi::ABI_MINOR,
        size: std::mem::size_of::<PluginVTable>(),
    },
    init,
    free_buffer,
    call,
    start,
    cancel,
};

/// What the entry symbol returns. Called by [`crate::export_platform!`] only.
#[doc(hidden)]
pub fn entry(make: MakeFn) -> *const VTableHeader {
    // A library exports one platform: the first maker wins.
    let _ = MAKE.set(make);
    // The pointer covers the whole table (not only the header field), so the
    // host may read the rest once it has checked the header.
    std::ptr::from_ref(&VTABLE).cast::<VTableHeader>()
}

struct State {
    platform: Box<dyn DynPlatform>,
    runtime: tokio::runtime::Runtime,
    tasks: Mutex<HashMap<u64, tokio::task::AbortHandle>>,
    next_task: AtomicU64,
}

/// The host's log callback.
struct HostLog {
    ctx: *const c_void,
    log: ffi::LogFn,
    max_level: u32,
}

// SAFETY: the host guarantees (HostApi's contract) that `ctx` lives for the
// whole process and that `log` may be called from any thread.
unsafe impl Send for HostLog {}
// SAFETY: as above; the fields are never mutated.
unsafe impl Sync for HostLog {}

impl HostLog {
    fn log(&self, level: u32, target: &str, message: &str) {
        // SAFETY: `log` and `ctx` are the host's, valid for the process (HostApi's
        // contract); the slices borrow live strings for the duration of the call.
        unsafe {
            (self.log)(
                self.ctx,
                level,
                Slice::of(target.as_bytes()),
                Slice::of(message.as_bytes()),
            )
        }
    }
}

/// Runs `f`, turning a panic into [`ffi::STATUS_PANIC`]: nothing unwinds into the host.
fn guard(f: impl FnOnce() -> Status) -> Status {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(ffi::STATUS_PANIC)
}

fn state_of(handle: *const c_void) -> Option<&'static State> {
    // The handle must be the one init gave out; anything else is refused
    // without dereferencing it.
    match STATE.get() {
        Some(Ok(state)) if std::ptr::eq(std::ptr::from_ref(state).cast::<c_void>(), handle) => {
            Some(state)
        }
        _ => None,
    }
}

unsafe extern "C" fn init(
    host: *const HostApi,
    handle: *mut *const c_void,
    error: *mut Buffer,
) -> Status {
    guard(|| {
        if handle.is_null() {
            return ffi::STATUS_ERROR;
        }
        // SAFETY: the host passes null or a HostApi valid for this call; we copy
        // its fields, which it guarantees for the life of the process.
        if let Some(api) =
            unsafe { host.as_ref() }.filter(|api| api.size >= std::mem::size_of::<HostApi>())
        {
            install_logging(HostLog {
                ctx: api.ctx,
                log: api.log,
                max_level: api.max_level,
            });
        }
        let state = STATE.get_or_init(new_state);
        match state {
            Ok(state) => {
                // SAFETY: checked non-null above; the host passes a writable slot.
                unsafe { handle.write(std::ptr::from_ref(state).cast::<c_void>()) };
                ffi::STATUS_OK
            }
            Err(message) => {
                if !error.is_null() {
                    // SAFETY: non-null; the host passes a writable slot it frees with free_buffer.
                    unsafe { error.write(Buffer::from_vec(message.clone().into_bytes())) };
                }
                ffi::STATUS_ERROR
            }
        }
    })
}

fn new_state() -> Result<State, String> {
    let make = MAKE
        .get()
        .ok_or_else(|| "the entry symbol was not called before init".to_owned())?;
    let platform =
        catch_unwind(make).map_err(|_| "the platform panicked while being made".to_owned())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("junction-plugin")
        .enable_all()
        .build()
        .map_err(|e| format!("the plugin's runtime could not start: {e}"))?;
    Ok(State {
        platform,
        runtime,
        tasks: Mutex::new(HashMap::new()),
        next_task: AtomicU64::new(1),
    })
}

fn install_logging(host: HostLog) {
    if HOST.set(host).is_err() {
        return;
    }
    let Some(host) = HOST.get() else { return };
    // This library has its own copies of `tracing` and `std`: their global
    // subscriber and panic hook are this library's alone.
    let _ = tracing::subscriber::set_global_default(Forward {
        max: level_filter(host.max_level),
    });
    std::panic::set_hook(Box::new(|info| {
        // The payload may quote a secret: only the location is logged.
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "an unknown location".into());
        if let Some(host) = HOST.get() {
            host.log(
                ffi::LEVEL_ERROR,
                "junction_plugin::panic",
                &format!("the plugin panicked at {at}"),
            );
        }
    }));
}

fn level_filter(level: u32) -> tracing::level_filters::LevelFilter {
    use tracing::level_filters::LevelFilter;
    match level {
        ffi::LEVEL_OFF => LevelFilter::OFF,
        ffi::LEVEL_ERROR => LevelFilter::ERROR,
        ffi::LEVEL_WARN => LevelFilter::WARN,
        ffi::LEVEL_INFO => LevelFilter::INFO,
        ffi::LEVEL_DEBUG => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

fn level_code(level: &tracing::Level) -> u32 {
    match *level {
        tracing::Level::ERROR => ffi::LEVEL_ERROR,
        tracing::Level::WARN => ffi::LEVEL_WARN,
        tracing::Level::INFO => ffi::LEVEL_INFO,
        tracing::Level::DEBUG => ffi::LEVEL_DEBUG,
        tracing::Level::TRACE => ffi::LEVEL_TRACE,
    }
}

/// A subscriber that sends each event, flattened to one line, to the host.
/// Spans are not forwarded (kept simple): events carry their own fields.
struct Forward {
    max: tracing::level_filters::LevelFilter,
}

impl tracing::Subscriber for Forward {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        self.max >= *metadata.level()
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(self.max)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let Some(host) = HOST.get() else { return };
        let mut line = Line::default();
        event.record(&mut line);
        let meta = event.metadata();
        host.log(level_code(meta.level()), meta.target(), &line.finish());
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_owned()
        } else {
            format!("{}{}", self.message, self.fields)
        }
    }
}

impl tracing::field::Visit for Line {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        use std::fmt::Write;
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

unsafe extern "C" fn free_buffer(buffer: Buffer) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host gives back only buffers this library handed out,
        // once each (the ABI's ownership rule).
        drop(unsafe { buffer.into_vec() });
    }));
}

unsafe extern "C" fn call(
    handle: *const c_void,
    method: Slice,
    input: Slice,
    output: *mut Buffer,
) -> Status {
    guard(|| {
        // SAFETY: the host passes slices valid for the duration of this call.
        let (method, input) = unsafe { (method.as_bytes(), input.as_bytes()) };
        let (status, bytes) = match state_of(handle) {
            Some(state) => {
                // Inside the plugin's runtime context, so that a synchronous method
                // may use tokio handles as it would when linked into the host.
                let _context = state.runtime.enter();
                dispatch_sync(&*state.platform, method, input)
            }
            None => bad_request("unknown plugin handle"),
        };
        if !output.is_null() {
            // SAFETY: non-null; the host passes a writable slot it frees with free_buffer.
            unsafe { output.write(Buffer::from_vec(bytes)) };
        }
        status
    })
}

type Answer = (Status, Vec<u8>);

fn ok<T: Serialize>(value: &T) -> Answer {
    match serde_json::to_vec(value) {
        Ok(bytes) => (ffi::STATUS_OK, bytes),
        Err(e) => refuse(WireError::Failed {
            message: format!("the plugin could not write its answer as JSON: {e}"),
        }),
    }
}

fn refuse(error: WireError) -> Answer {
    // A WireError always serialises; the fallback keeps the status honest anyway.
    (
        ffi::STATUS_ERROR,
        serde_json::to_vec(&error).unwrap_or_default(),
    )
}

fn bad_request(message: impl Into<String>) -> Answer {
    refuse(WireError::BadRequest {
        message: message.into(),
    })
}

fn decode<T: DeserializeOwned>(input: &[u8]) -> Result<T, Answer> {
    // serde's message may quote an input value (a secret): only its position is kept.
    serde_json::from_slice(input).map_err(|e| {
        bad_request(format!(
            "the host's request is not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

fn dispatch_sync(platform: &dyn DynPlatform, method: &[u8], input: &[u8]) -> Answer {
    let run = || -> Result<Answer, Answer> {
        Ok(match method {
            m if m == ffi::method::DESCRIPTOR.as_bytes() => {
                ok(&wire::WireDescriptor::from(platform.descriptor()))
            }
            m if m == ffi::method::PARSE.as_bytes() => {
                let i: wire::ParseIn<'_> = decode(input)?;
                match platform.parse(&i.config, i.auto_bootstrap) {
                    Ok(p) => ok(&wire::ParseOut::from(p)),
                    Err(errors) => refuse(WireError::config(errors)),
                }
            }
            m if m == ffi::method::PARSE_DELETE_CREDENTIALS.as_bytes() => {
                let i: wire::DeleteCredentialsIn<'_> = decode(input)?;
                match platform.parse_delete_credentials(&i.body) {
                    Ok(()) => ok(&()),
                    Err(errors) => refuse(WireError::config(errors)),
                }
            }
            m if m == ffi::method::SCRIPT.as_bytes() => {
                let i: wire::ScriptIn<'_> = decode(input)?;
                match platform.script(i.kind.into(), &i.config, i.previous.as_deref()) {
                    Ok(script) => ok(&wire::WireScript::from(script)),
                    Err(e) => refuse(e.into()),
                }
            }
            other => bad_request(format!(
                "unknown synchronous method \"{}\"",
                String::from_utf8_lossy(other)
            )),
        })
    };
    run().unwrap_or_else(|answer| answer)
}

/// The host's completion, shared by the task and its progress callback.
struct HostCompletion(Completion);

// SAFETY: the host guarantees (Completion's contract) that `ctx`, `progress`
// and `done` may be used from any thread until `done` is called.
unsafe impl Send for HostCompletion {}
// SAFETY: as above; the fields are never mutated.
unsafe impl Sync for HostCompletion {}

impl HostCompletion {
    fn progress(&self, item: &[u8]) {
        // SAFETY: called only before `done` (the task's progress happens inside
        // the task, `done` after it), with a slice valid for the call.
        unsafe { (self.0.progress)(self.0.ctx, Slice::of(item)) }
    }
}

/// Calls the host's `done` exactly once: with the task's answer, or, when
/// dropped without one (cancelled, or a panic in `start`), with CANCELLED.
struct DoneGuard {
    completion: Arc<HostCompletion>,
    answer: Option<Answer>,
    forget: Option<(&'static State, u64)>,
}

impl Drop for DoneGuard {
    fn drop(&mut self) {
        let task = self.forget.take().map(|(state, id)| {
            state
                .tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            id
        });
        let (status, bytes) = self.answer.take().unwrap_or_else(|| {
            tracing::debug!(
                task,
                "a task was abandoned before it finished (cancelled by the host)"
            );
            (ffi::STATUS_CANCELLED, Vec::new())
        });
        let c = &self.completion.0;
        // SAFETY: this guard exists once per start call and drops once, so
        // `done` is called exactly once, as the Completion contract requires.
        unsafe { (c.done)(c.ctx, status, Slice::of(&bytes)) }
    }
}

/// Polls a future inside `catch_unwind`: a panicking platform becomes an answer.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Option<F::Output>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.get_mut().0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Some(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

unsafe extern "C" fn start(
    handle: *const c_void,
    method: Slice,
    input: Slice,
    completion: Completion,
    task: *mut u64,
) -> Status {
    // First of all, so that `done` is called whatever happens below.
    let mut done = DoneGuard {
        completion: Arc::new(HostCompletion(completion)),
        answer: None,
        forget: None,
    };
    guard(move || {
        let Some(state) = state_of(handle) else {
            done.answer = Some(bad_request("unknown plugin handle"));
            drop(done); // reports the refusal through `done`, as the contract says
            return ffi::STATUS_ERROR;
        };
        // SAFETY: the host passes slices valid for the duration of this call; they are copied.
        let (method, input) = unsafe { (method.as_bytes().to_vec(), input.as_bytes().to_vec()) };
        let id = state.next_task.fetch_add(1, Ordering::Relaxed);
        if !task.is_null() {
            // SAFETY: non-null; the host passes a writable slot.
            unsafe { task.write(id) };
        }
        done.forget = Some((state, id));
        let completion = Arc::clone(&done.completion);
        let work = CatchUnwind(Box::pin(async move {
            dispatch_async(&*state.platform, &method, &input, &completion).await
        }));
        // The guard moves into the task: dropped unpolled (aborted early) or
        // after finishing, it reports exactly once.
        let job = state.runtime.spawn(async move {
            let mut done = done;
            done.answer = Some(work.await.unwrap_or((ffi::STATUS_PANIC, Vec::new())));
        });
        let mut tasks = state.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        // A task that finished in between may still leave its entry here; aborting
        // a finished task is a no-op, so such an entry is harmless.
        if !job.is_finished() {
            tasks.insert(id, job.abort_handle());
        }
        ffi::STATUS_OK
    })
}

async fn dispatch_async(
    platform: &dyn DynPlatform,
    method: &[u8],
    input: &[u8],
    completion: &HostCompletion,
) -> Answer {
    let run = async || -> Result<Answer, Answer> {
        Ok(match method {
            m if m == ffi::method::VALIDATE.as_bytes() => {
                let i: wire::ValidateIn<'_> = decode(input)?;
                let options = i.options.into();
                let progress = |test: &ValidationTest| {
                    if let Ok(bytes) =
                        serde_json::to_vec(&wire::WireValidationTest::from(test.clone()))
                    {
                        completion.progress(&bytes);
                    }
                };
                let progress: Option<junction_core::runner::Progress<'_>> =
                    if i.progress { Some(&progress) } else { None };
                match platform
                    .validate(&i.config, i.ctx.into(), &options, progress)
                    .await
                {
                    Ok(results) => ok(&wire::WireValidationResults::from(results)),
                    Err(errors) => refuse(WireError::config(errors)),
                }
            }
            m if m == ffi::method::CREATE.as_bytes() => {
                let i: wire::CreateIn<'_> = decode(input)?;
                let op = OpContext::from(i.op);
                op_answer(platform.create(&op, &i.config).await)
            }
            m if m == ffi::method::EDIT.as_bytes() => {
                let i: wire::EditIn<'_> = decode(input)?;
                let op = OpContext::from(i.op);
                op_answer(platform.edit(&op, &i.old, &i.new).await)
            }
            m if m == ffi::method::DELETE.as_bytes() => {
                let i: wire::DeleteIn<'_> = decode(input)?;
                let op = OpContext::from(i.op);
                match platform
                    .delete(&op, &i.config, i.privileged.as_deref())
                    .await
                {
                    Ok(()) => ok(&()),
                    Err(e) => refuse(e.into()),
                }
            }
            m if m == ffi::method::MIGRATE.as_bytes() => {
                let i: wire::CreateIn<'_> = decode(input)?;
                let op = OpContext::from(i.op);
                op_answer(platform.migrate(&op, &i.config).await)
            }
            other => bad_request(format!(
                "unknown asynchronous method \"{}\"",
                String::from_utf8_lossy(other)
            )),
        })
    };
    run().await.unwrap_or_else(|answer| answer)
}

fn op_answer(result: Result<junction_core::DynOutput, junction_core::OpError>) -> Answer {
    match result {
        Ok(out) => ok(&wire::OpOut::from(out)),
        Err(e) => refuse(e.into()),
    }
}

unsafe extern "C" fn cancel(handle: *const c_void, task: u64) {
    let _ = catch_unwind(|| {
        if let Some(state) = state_of(handle) {
            let abort = state
                .tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&task);
            if let Some(abort) = abort {
                abort.abort();
            }
        }
    });
}
