// Edge vision sugar: suspend twins of the long vision calls (inference, model loading, a
// pipeline's waits and stop) on Dispatchers.IO, named `…Async` like the others in
// Suspending.kt. No rule lives here. (`Pipeline` is `AutoCloseable`: `use { }` stops the camera,
// discarding what is still queued; call `stop()` first to process it.)

package dev.aisle

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

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
