//! The only types that cross the library boundary: integers, byte buffers,
//! opaque pointers and `extern "C"` function pointers. Everything richer
//! travels as UTF-8 JSON inside a buffer (see [`crate::wire`]).
//!
//! Ownership: a [`Slice`] is borrowed for the duration of the call that
//! receives it; a [`Buffer`] is allocated by the plugin and freed only by the
//! plugin's [`PluginVTable::free_buffer`].

use std::ffi::c_void;

/// Bumped on any change that an older host or plugin cannot read.
pub const ABI_MAJOR: u32 = 1;
/// Bumped when fields are appended to the end of [`PluginVTable`] or [`HostApi`].
pub const ABI_MINOR: u32 = 0;

/// The one symbol a plugin library exports (see [`crate::export_platform!`]).
pub const ENTRY_SYMBOL: &str = "junction_plugin_entry";

/// Status codes of every call. Plain integers: an out-of-range enum
/// discriminant read across the boundary would be undefined behaviour.
pub type Status = u32;
/// Success; the output holds the call's JSON result.
pub const STATUS_OK: Status = 0;
/// The platform said no; the output holds a [`crate::wire::WireError`].
pub const STATUS_ERROR: Status = 1;
/// The plugin panicked; no output (a panic's payload may quote a secret).
pub const STATUS_PANIC: Status = 2;
/// The task was cancelled before it finished; no output.
pub const STATUS_CANCELLED: Status = 3;

/// Log levels of [`HostApi::log`] and [`HostApi::max_level`].
pub const LEVEL_OFF: u32 = 0;
pub const LEVEL_ERROR: u32 = 1;
pub const LEVEL_WARN: u32 = 2;
pub const LEVEL_INFO: u32 = 3;
pub const LEVEL_DEBUG: u32 = 4;
pub const LEVEL_TRACE: u32 = 5;

/// Bytes borrowed from the caller for the duration of one call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Slice {
    pub ptr: *const u8,
    pub len: usize,
}

impl Slice {
    pub fn of(bytes: &[u8]) -> Self {
        Slice {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// # Safety
    /// `ptr` must be null or valid for reads of `len` bytes for `'a`.
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            // SAFETY: non-null and, by this function's contract, valid for `len` bytes.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

/// Bytes allocated by the plugin and handed to the host, which reads them and
/// gives them back to [`PluginVTable::free_buffer`].
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    pub ptr: *mut u8,
    pub len: usize,
}

impl Buffer {
    pub const EMPTY: Buffer = Buffer {
        ptr: std::ptr::null_mut(),
        len: 0,
    };

    /// Hands a vector over; only [`Buffer::into_vec`] in the same library may take it back.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            return Buffer::EMPTY;
        }
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        Buffer {
            ptr: Box::into_raw(boxed).cast::<u8>(),
            len,
        }
    }

    /// # Safety
    /// The buffer must come from [`Buffer::from_vec`] in this same library
    /// (its allocator) and must not have been taken back before.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        if self.ptr.is_null() {
            return Vec::new();
        }
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr, self.len);
        // SAFETY: by this function's contract the pointer is a `Box<[u8]>` of
        // `len` bytes leaked by `from_vec` in this library.
        unsafe { Box::from_raw(slice) }.into_vec()
    }
}

/// Forwards one log event of the plugin to the host's `tracing`.
pub type LogFn =
    unsafe extern "C" fn(ctx: *const c_void, level: u32, target: Slice, message: Slice);

/// What the host gives the plugin at [`PluginVTable::init`]. `ctx` and `log`
/// stay valid for the life of the process and may be used from any thread.
#[repr(C)]
pub struct HostApi {
    /// `size_of::<HostApi>()` as the host knows it.
    pub size: usize,
    pub ctx: *const c_void,
    pub log: LogFn,
    /// The most verbose level worth forwarding (`LEVEL_*`).
    pub max_level: u32,
}

/// Called by the plugin with one progress item (a JSON `ValidationTest`).
pub type ProgressFn = unsafe extern "C" fn(ctx: *mut c_void, item: Slice);
/// Called by the plugin exactly once per [`PluginVTable::start`], with the
/// task's status and output (borrowed for the duration of the call).
pub type DoneFn = unsafe extern "C" fn(ctx: *mut c_void, status: Status, output: Slice);

/// How the plugin reports an asynchronous task back to the host. `ctx` is
/// the host's; the plugin may call `progress` from any thread until it calls
/// `done`, exactly once, after which it never touches `ctx` again.
#[repr(C)]
pub struct Completion {
    pub ctx: *mut c_void,
    pub progress: ProgressFn,
    pub done: DoneFn,
}

/// The start of every version's table: what the host reads before anything else.
#[repr(C)]
#[derive(Debug)]
pub struct VTableHeader {
    pub abi_major: u32,
    pub abi_minor: u32,
    /// `size_of::<PluginVTable>()` as the plugin knows it.
    pub size: usize,
}

/// Initialises the plugin (its runtime, its platform) once; later calls
/// return the same handle. On failure, `error` receives a UTF-8 message.
pub type InitFn = unsafe extern "C" fn(
    host: *const HostApi,
    handle: *mut *const c_void,
    error: *mut Buffer,
) -> Status;
/// Frees a buffer this library allocated.
pub type FreeBufferFn = unsafe extern "C" fn(buffer: Buffer);
/// A synchronous call by method name: JSON in, JSON out in `output`.
pub type CallFn = unsafe extern "C" fn(
    handle: *const c_void,
    method: Slice,
    input: Slice,
    output: *mut Buffer,
) -> Status;
/// Starts an asynchronous call on the plugin's own runtime; `task` receives
/// an id for [`CancelFn`]. `completion.done` is called exactly once whatever
/// this returns.
pub type StartFn = unsafe extern "C" fn(
    handle: *const c_void,
    method: Slice,
    input: Slice,
    completion: Completion,
    task: *mut u64,
) -> Status;
/// Asks the plugin to abandon a started task; its `done` then reports
/// [`STATUS_CANCELLED`] (unless it had finished already).
pub type CancelFn = unsafe extern "C" fn(handle: *const c_void, task: u64);

/// The plugin's table. Fields are only ever appended (with a minor bump).
#[repr(C)]
pub struct PluginVTable {
    pub header: VTableHeader,
    pub init: InitFn,
    pub free_buffer: FreeBufferFn,
    pub call: CallFn,
    pub start: StartFn,
    pub cancel: CancelFn,
}

/// The entry symbol's type: returns a pointer to a static [`PluginVTable`],
/// typed as its header because that is all a host may read before checking it.
pub type EntryFn = unsafe extern "C" fn() -> *const VTableHeader;

/// Method names of [`CallFn`] and [`StartFn`].
pub mod method {
    pub const DESCRIPTOR: &str = "descriptor";
    pub const PARSE: &str = "parse";
    pub const PARSE_DELETE_CREDENTIALS: &str = "parseDeleteCredentials";
    pub const SCRIPT: &str = "script";
    pub const VALIDATE: &str = "validate";
    pub const CREATE: &str = "create";
    pub const EDIT: &str = "edit";
    pub const DELETE: &str = "delete";
    pub const MIGRATE: &str = "migrate";
}
