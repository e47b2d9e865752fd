// Edge vision sugar: suspend twins of the long vision calls (inference, model loading, a
// pipeline's waits and stop) on Dispatchers.IO, named `…Async` like the others in
// Suspending.kt, and frames read in place from direct `ByteBuffer`s. No rule lives here.
// (`Pipeline` is `AutoCloseable`: `use { }` stops the camera, discarding what is still queued;
// call `stop()` first to process it.)

package dev.aisle

import com.sun.jna.Native
import com.sun.jna.Pointer
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.lang.ref.Reference
import java.nio.ByteBuffer

/** [Model.load] on [Dispatchers.IO]: reads, verifies (SHA-256) and optimises the model. */
suspend fun Model.Companion.loadAsync(path: String): Model = withContext(Dispatchers.IO) { Model.load(path) }

/** [Detector.detect] on [Dispatchers.IO]: one frame's objects, best first. */
suspend fun Detector.detectAsync(frame: Frame): List<Detection> = withContext(Dispatchers.IO) { detect(frame) }

/** [Pipeline.pushBlocking] on [Dispatchers.IO]: suspends until the queue has room. */
suspend fun Pipeline.pushBlockingAsync(frame: Frame) = withContext(Dispatchers.IO) { pushBlocking(frame) }

/** [Pipeline.waitIdle] on [Dispatchers.IO]. */
suspend fun Pipeline.waitIdleAsync(timeoutMs: Long): Boolean = withContext(Dispatchers.IO) { waitIdle(timeoutMs) }

/** [Pipeline.stop] on [Dispatchers.IO]: drains (or discards) the queue and joins the worker. */
suspend fun Pipeline.stopAsync(discard: Boolean = false): StopReport = withContext(Dispatchers.IO) { stop(discard) }

// ---- frames in direct ByteBuffers ----------------------------------------------------------
//
// A direct buffer's memory lies outside the Java heap at a fixed address, so Rust can read it
// where it is: the functions below take that address with JNA (which the generated code loads
// the library with anyway) and hand `address + position` and `remaining()` to the raw
// `unsafe…At` methods of vision.rs, which borrow the memory for the duration of the call and
// check the frame's sizes against `remaining()` before reading a byte.
//
// The safety contract, for every function taking a `buffer`:
// - the buffer is direct (`ByteBuffer.allocateDirect`, a camera plane, a mapped file): a heap
//   buffer is refused (`AisleException.FrameInvalid`), never copied behind the caller's back;
// - the frame is the `remaining()` bytes from `position()`; neither is changed;
// - the buffer is kept reachable until the native call has returned (a direct buffer's memory
//   is freed when the buffer is collected): `keepReachable` in a `finally`;
// - the caller must not free the memory (`Image.close()`, `ImageProxy.close()`, unmapping) nor
//   write to it from another thread until the call returns. Once it has returned nothing refers
//   to the buffer: a pushed frame was copied.

/**
 * The objects in one frame read **in place** from a direct [buffer] (no copy): `height` rows of
 * `stride` bytes (`null`: packed, `width × bytes per pixel`; the last row may stop after its
 * pixels) from the buffer's `position()`, within its `remaining()` bytes, taken at
 * [timestampMs]. The same detections as [Detector.detect] of a [Frame] with those bytes.
 *
 * From a camera, e.g. CameraX `ImageAnalysis` with `OUTPUT_IMAGE_FORMAT_RGBA_8888`:
 * `detector.detect(plane.buffer, image.width, image.height, PixelFormat.RGBA8, ts, plane.rowStride)`,
 * before `image.close()`.
 *
 * The buffer must be direct (`isDirect`), and neither freed (`Image.close()`) nor written to
 * by another thread until this returns; its position and limit are not changed. Blocks for the
 * inference ([detectAsync] suspends instead).
 *
 * @throws AisleException.FrameInvalid a heap buffer, or sizes that do not fit in `remaining()`
 *   bytes (the message says which).
 */
fun Detector.detect(
    buffer: ByteBuffer,
    width: Int,
    height: Int,
    format: PixelFormat,
    timestampMs: Long = 0,
    stride: Int? = null,
): List<Detection> = inPlace(buffer) { address, len -> unsafeDetectAt(address, len, width, height, format, timestampMs, stride) }

/** [Detector.detect] of a direct [buffer] on [Dispatchers.IO] (the buffer is read in place there). */
suspend fun Detector.detectAsync(
    buffer: ByteBuffer,
    width: Int,
    height: Int,
    format: PixelFormat,
    timestampMs: Long = 0,
    stride: Int? = null,
): List<Detection> = withContext(Dispatchers.IO) { detect(buffer, width, height, format, timestampMs, stride) }

/**
 * Queues the frame in a direct [buffer] (sizes as in [Detector.detect] of a buffer) and returns
 * at once, never waiting for inference: `QUEUED`, or `DROPPED_OLDEST` when the queue was full and
 * its oldest frame was dropped for this one. The frame's rows are copied **once**, into the frame
 * the queue owns (the worker runs after this has returned), so the buffer is free to be reused
 * or closed on return: a camera's `image.close()` right after `push` is right.
 *
 * @throws AisleException.FrameInvalid a heap buffer, or sizes that do not fit in `remaining()`.
 * @throws AisleException.InvalidArgument the pipeline is stopped.
 */
fun Pipeline.push(
    buffer: ByteBuffer,
    width: Int,
    height: Int,
    format: PixelFormat,
    timestampMs: Long = 0,
    stride: Int? = null,
): Pushed = inPlace(buffer) { address, len -> unsafePushAt(address, len, width, height, format, timestampMs, stride) }

/**
 * [Pipeline.push] of a direct [buffer] that waits for room instead of dropping (recorded video,
 * files). The frame is copied once before the wait; the buffer is held until this returns.
 */
fun Pipeline.pushBlocking(
    buffer: ByteBuffer,
    width: Int,
    height: Int,
    format: PixelFormat,
    timestampMs: Long = 0,
    stride: Int? = null,
) = inPlace(buffer) { address, len -> unsafePushBlockingAt(address, len, width, height, format, timestampMs, stride) }

/** [Pipeline.pushBlocking] of a direct [buffer] on [Dispatchers.IO]: suspends until the queue has room. */
suspend fun Pipeline.pushBlockingAsync(
    buffer: ByteBuffer,
    width: Int,
    height: Int,
    format: PixelFormat,
    timestampMs: Long = 0,
    stride: Int? = null,
) = withContext(Dispatchers.IO) { pushBlocking(buffer, width, height, format, timestampMs, stride) }

/**
 * Runs [call] with the address of [buffer]'s `position()` and its remaining byte count, keeping
 * the buffer reachable until [call] has returned. The range is read once from position and limit
 * (`position ≤ limit ≤ capacity` each time they are read), so even a buffer whose position
 * another thread moves meanwhile yields a range inside the buffer.
 */
private inline fun <T> inPlace(buffer: ByteBuffer, call: (address: ULong, len: ULong) -> T): T {
    if (!buffer.isDirect) {
        throw AisleException.FrameInvalid(
            "FRAME_INVALID: a heap ByteBuffer has no fixed address to read in place: pass a direct " +
                "buffer (ByteBuffer.allocateDirect, a camera plane) or a Frame over a ByteArray",
        )
    }
    try {
        val position = buffer.position()
        val len = maxOf(0, buffer.limit() - position)
        // null only for a buffer without memory (capacity 0): Rust then sees no bytes at all.
        val base = Native.getDirectBufferPointer(buffer)?.let { Pointer.nativeValue(it) } ?: 0L
        // Unsigned: Android's tagged heap pointers have the top byte set.
        val address = if (base == 0L) 0uL else base.toULong() + position.toULong()
        return call(address, len.toULong())
    } finally {
        keepReachable(buffer)
    }
}

/** `Reference.reachabilityFence` is Java 9 and Android API 28; older Androids get a volatile write. */
private val hasReachabilityFence =
    runCatching { Reference::class.java.getMethod("reachabilityFence", Any::class.java) }.isSuccess

@Volatile
private var reachable: Any? = null

/** Keeps [o] reachable (not collected, a direct buffer's memory not freed) up to this point. */
private fun keepReachable(o: Any) {
    if (hasReachabilityFence) {
        Reference.reachabilityFence(o)
    } else {
        // A volatile store cannot be elided, so `o` stays a live reference until here.
        reachable = o
        reachable = null
    }
}
