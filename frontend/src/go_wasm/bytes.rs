//! [`JsBytes`]: bytes that stay in JavaScript.

use js_sys::{Array, Uint8Array};
use send_wrapper::SendWrapper;
use wasm_bindgen::{JsCast as _, JsValue};

/// Bytes that stay in JavaScript: the chunks of a streamed body (or one
/// buffer), never copied into this module's memory. Counting a download
/// costs a length read per chunk; the chunks are joined only when the
/// inspector asks for them.
#[derive(Debug, Clone)]
pub struct JsBytes {
    // Browser-only and single-threaded; the wrapper lets Leptos signals hold it.
    chunks: SendWrapper<Array>,
    len: u64,
}

impl Default for JsBytes {
    fn default() -> Self {
        Self {
            chunks: SendWrapper::new(Array::new()),
            len: 0,
        }
    }
}

impl JsBytes {
    pub(super) fn from_buffer(buffer: &JsValue) -> Self {
        let mut bytes = Self::default();
        bytes.push(&Uint8Array::new(buffer));
        bytes
    }

    pub(super) fn push(&mut self, chunk: &Uint8Array) {
        self.len += u64::from(chunk.length());
        self.chunks.push(chunk);
    }

    /// Number of bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One contiguous array (the single chunk itself when there is only one).
    pub(super) fn joined(&self) -> Uint8Array {
        if self.chunks.length() == 1 {
            return self.chunks.get(0).unchecked_into();
        }
        let joined = Uint8Array::new_with_length(self.len as u32);
        let mut offset = 0;
        for chunk in self.chunks.iter() {
            let chunk: Uint8Array = chunk.unchecked_into();
            joined.set(&chunk, offset);
            offset += chunk.length();
        }
        joined
    }

    /// A copy in this module's memory (tests and small inputs).
    pub fn to_vec(&self) -> Vec<u8> {
        self.joined().to_vec()
    }
}

impl<'a> FromIterator<&'a [u8]> for JsBytes {
    /// Copies each slice into its own JS chunk.
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(chunks: I) -> Self {
        let mut out = Self::default();
        for chunk in chunks {
            out.push(&Uint8Array::from(chunk));
        }
        out
    }
}
