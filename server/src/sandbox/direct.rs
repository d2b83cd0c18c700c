//! [`Sandbox::call`]'s shorthands for callers outside the server: tests,
//! examples and benchmarks call guests directly, without the server's
//! pipeline (no gate, no metrics). The server's code never does (`xtask`
//! tidy `only_the_pipeline_calls_guests`).

use bytes::Bytes;

use super::{
    CallOptions, Compiled, GuestKey, GuestRef, Invocation, Output, Sandbox, SandboxError, Work,
};

impl Sandbox {
    /// `key`'s `wip_process` on `input` (see the ABI in docs/sandbox.md).
    pub async fn invoke(
        &self,
        key: &GuestKey,
        tenant: &str,
        input: Bytes,
        options: CallOptions,
    ) -> Invocation {
        self.call(
            GuestRef::Installed(key),
            tenant,
            Work::Process(input),
            options,
        )
        .await
    }

    /// [`Self::invoke`] on a module that is not installed (an upload's
    /// smoke call).
    pub async fn invoke_compiled(
        &self,
        compiled: &Compiled,
        tenant: &str,
        input: Bytes,
        options: CallOptions,
    ) -> Invocation {
        self.call(
            GuestRef::Compiled(compiled),
            tenant,
            Work::Process(input),
            options,
        )
        .await
    }

    /// [`Self::invoke`] under the server's limits, for callers without an
    /// async runtime (examples, benchmarks, tests): blocks the calling thread.
    pub fn invoke_blocking(
        &self,
        key: &GuestKey,
        tenant: &str,
        input: &[u8],
    ) -> Result<Output, SandboxError> {
        let input = Bytes::copy_from_slice(input);
        block_on(self.invoke(key, tenant, input, self.default_options())).result
    }

    /// Task 4: the `add` export of the built-in guest `name`, under the
    /// server's limits (examples and tests).
    pub async fn call_add(&self, name: &str, a: i32, b: i32) -> Result<i32, SandboxError> {
        let key = GuestKey::Builtin(name.to_owned());
        let work = Work::Add(a, b);
        let call = self.call(
            GuestRef::Installed(&key),
            "host",
            work,
            self.default_options(),
        );
        let output = call.await.result?;
        Ok(output.returned.expect("Work::Add returns an i32"))
    }

    /// [`Self::call_add`], blocking the calling thread.
    pub fn call_add_blocking(&self, name: &str, a: i32, b: i32) -> Result<i32, SandboxError> {
        block_on(self.call_add(name, a, b))
    }
}

/// Drives `future` to completion on the calling thread. The sandbox's own
/// executor runs the guest; this thread only waits for the result.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
        .block_on(future)
}
