//! Promise-returning calls: the `*Async` twin of each long call (opening a store, pricing,
//! completing a sale, returns, receipt text) runs the same core call on libuv's thread pool,
//! so the event loop keeps serving while SQLite and the pricing engine work.
//!
//! The JS arguments are read on the main thread (they are JS values); only plain Rust values
//! (the core's handles are `Arc`s, `Send + Sync`) cross to the pool. A failure rejects the
//! Promise with the same `Error` the sync call throws: same `code`, same `message`. napi's
//! `Task` can only fail with napi's own `Status` as the code, so a core error travels as the
//! task's *output* and becomes the JS error on the main thread, in [`Job::resolve`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, JsError, Status, Task};

use crate::error::Code;

type Work<T> = Box<dyn FnOnce() -> napi::Result<T, Code> + Send>;

/// One call to run off the main thread; `T` is what the Promise resolves to.
pub struct Job<T> {
    work: Option<Work<T>>,
}

impl<T: ToNapiValue + TypeName + Send + 'static> Job<T> {
    /// A Promise of `work`, run on the thread pool.
    pub fn spawn(work: impl FnOnce() -> napi::Result<T, Code> + Send + 'static) -> AsyncTask<Job<T>> {
        AsyncTask::new(Job { work: Some(Box::new(work)) })
    }

    /// A Promise that rejects with `err` (an argument that could not be read): an `*Async`
    /// call reports every failure through its Promise, never by throwing.
    pub fn fail(err: napi::Error<Code>) -> AsyncTask<Job<T>> {
        Job::spawn(move || Err(err))
    }

    /// `Job::spawn(work)` once `args` are read, else a rejected Promise.
    pub fn spawn_with<A: Send + 'static>(
        args: napi::Result<A, Code>,
        work: impl FnOnce(A) -> napi::Result<T, Code> + Send + 'static,
    ) -> AsyncTask<Job<T>> {
        match args {
            Ok(args) => Job::spawn(move || work(args)),
            Err(err) => Job::fail(err),
        }
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Job<T> {
    type Output = napi::Result<T, Code>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let Some(work) = self.work.take() else {
            return Ok(Err(napi::Error::new(Code::Napi(Status::GenericFailure), "the task already ran".to_owned())));
        };
        // A panic must not unwind into libuv (that aborts the process): it rejects instead.
        Ok(catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(napi::Error::new(Code::Napi(Status::GenericFailure), format!("aisle panicked: {what}")))
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<T> {
        // Make the JS error here, with our code, and hand napi a reference to it: napi rejects
        // with that very object.
        output.map_err(|err| napi::Error::from(JsError::from(err).into_unknown(env)))
    }
}
