package dev.aisle

import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.fail
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.io.path.listDirectoryEntries
import kotlin.io.path.readBytes
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Store-and-forward as an Android or JVM app would use it: streams in the store's SQLite file,
 * a callback exporter run on the forwarding worker, a directory exporter, and `Ingest` on the
 * receiving side applying what they produced exactly once.
 */
class ForwardTest {
    @TempDir
    lateinit var dir: Path

    private val config = EdgeConfig(storeId = "store-042", deviceId = "register-1", currency = "EUR")

    private val path get() = dir.resolve("store.db").toString()

    /** Retries fast, so a failing callback is retried within the test's patience. */
    private val quickRetry = RetryPolicy(initialMs = 5, maxMs = 20, probeMs = 5)

    private fun <T> withStore(block: (Edge, Streams) -> T): T = Edge.open(path, config).use { edge -> block(edge, edge.streams()) }

    /** For the tests' bodies: JUnit runs only test methods that return nothing. */
    private fun store(block: (Edge, Streams) -> Unit) = withStore(block)

    private fun seqs(batches: Collection<Batch>) = synchronized(batches) { batches.flatMap { b -> b.records.map { it.seq } } }

    @Test
    fun `a stream round trip`() = store { _, streams ->
        // Every store has the commerce stream from the start.
        assertTrue(streams.list().any { it.name == "commerce" })

        streams.create(StreamConfig("insights", 1L shl 20, WhenFull.DROP_OLDEST, priority = 1))
        assertEquals(
            StreamConfig("insights", 1L shl 20, WhenFull.DROP_OLDEST, Storage.DURABLE, null, 1, PayloadFormat.JSON),
            streams.config("insights"),
        )
        assertEquals(1L, streams.append("insights", """{"type":"footfall","count":12}"""))
        assertEquals(2L, streams.append("insights", """{"type":"footfall","count":7}""".encodeToByteArray()))
        assertEquals(listOf(3L, 4L, 5L), streams.appendBatch("insights", listOf("1", "[2]", "\"three\"")))

        val records = streams.read("insights", 0, 100)
        assertEquals((1L..5L).toList(), records.map { it.seq })
        assertEquals("""{"type":"footfall","count":12}""", records[0].text)
        assertEquals(listOf("1", "[2]", "\"three\""), records.drop(2).map { it.text })
        assertTrue(records.all { it.atMs > 0 })
        assertEquals(listOf(4L, 5L), streams.read("insights", 3, 100).map { it.seq })
        assertEquals(listOf(1L, 2L), streams.read("insights", 0, 2).map { it.seq })

        val status = streams.streamStatus("insights")
        assertEquals(5L, status.records)
        assertEquals(1L, status.firstSeq)
        assertEquals(5L, status.lastSeq)
        assertEquals(records.sumOf { it.payload.size.toLong() }, status.bytes)
        assertEquals(status, streams.status().single { it.name == "insights" }.copy(oldestAgeMs = status.oldestAgeMs))
        assertTrue(streams.statusJson().contains("\"insights\""))

        // A bytes stream takes anything; a JSON stream only one JSON value.
        streams.create(StreamConfig("frames", 1L shl 20, WhenFull.REJECT, format = PayloadFormat.BYTES))
        val raw = byteArrayOf(0, -1, 42, 13, 10)
        streams.append("frames", raw)
        assertTrue(raw.contentEquals(streams.read("frames", 0, 1).single().payload))
        val bad = assertThrows<AisleException.InvalidPayload> { streams.append("insights", "{not json") }
        assertEquals("INVALID_PAYLOAD", bad.code)
        assertEquals(ErrorKind.FORWARD, bad.kind)
        // A batch is all or none.
        assertThrows<AisleException.InvalidPayload> { streams.appendBatch("insights", listOf("6", "oops")) }
        assertEquals(5L, streams.streamStatus("insights").lastSeq)

        // Status to a stream, as HQ would receive it.
        val seq = streams.emitStatus("insights")
        assertEquals(6L, seq)
        assertTrue(streams.read("insights", 5, 1).single().text.contains("\"commerce\""))

        assertThrows<AisleException.StreamNotFound> { streams.append("nope", "1") }
        assertThrows<AisleException.StreamNotFound> { streams.read("nope", 0, 1) }
        assertThrows<AisleException.InvalidArgument> { streams.read("insights", -1, 10) }
        streams.delete("frames")
        assertThrows<AisleException.StreamNotFound> { streams.config("frames") }
    }

    @Test
    fun `configs are checked by the core, naming the field`() = store { _, streams ->
        val negative = assertThrows<AisleException.InvalidArgument> { streams.create(StreamConfig("s", -1, WhenFull.REJECT)) }
        assertTrue(negative.message!!.contains("max_bytes"), negative.message)
        val noPolicy = assertThrows<AisleException.InvalidArgument> { streams.createJson("""{"name":"s","max_bytes":10}""") }
        assertTrue(noPolicy.message!!.contains("when_full"), noPolicy.message)
        val badName = assertThrows<AisleException.InvalidArgument> { streams.create(StreamConfig("has space", 10, WhenFull.REJECT)) }
        assertTrue(badName.message!!.contains("has space"), badName.message)
        streams.createJson("""{"name":"events","max_bytes":4096,"when_full":"reject","storage":"memory"}""")
        assertEquals(Storage.MEMORY, streams.config("events").storage)
        // Same name, other storage.
        val exists = assertThrows<AisleException.StreamExists> { streams.create(StreamConfig.durable("events", 4096, WhenFull.REJECT)) }
        assertEquals("STREAM_EXISTS", exists.code)

        val url = assertThrows<AisleException.InvalidArgument> { streams.addExporter("events", ExporterConfig("hq", Sink.Http("ftp://hq.example"))) }
        assertTrue(url.message!!.contains("url must start with http"), url.message)
        val batch = assertThrows<AisleException.InvalidArgument> {
            streams.addExporter("events", ExporterConfig("usb", Sink.Directory(dir.toString()), batchMaxRecords = -5))
        }
        assertTrue(batch.message!!.contains("batch_max_records"), batch.message)
        val json = assertThrows<AisleException.InvalidArgument> {
            streams.addExporterJson("events", """{"name":"hq","sink":{"type":"http","url":"http://x","timeout_ms":"soon"}}""")
        }
        assertTrue(json.message!!.contains("sink") && json.message!!.contains("soon"), json.message)
        assertThrows<AisleException.StreamNotFound> { streams.addExporter("nope", ExporterConfig("app", Sink.Callback)) }

        // Every sink and option goes through; the callback must be registered on a callback sink.
        streams.addExporter(
            "events",
            ExporterConfig(
                "hq",
                Sink.Http("https://hq.example/ingest", BatchFormat.NDJSON, Compression.ZSTD, mapOf("Authorization" to "Bearer t"), 5_000),
                batchMaxRecords = 100, batchIntervalMs = 50, maxBytesPerSec = 1L shl 20, startAt = StartAt.Seq(1),
                enabled = false, retry = quickRetry,
            ),
        )
        streams.addExporter("events", ExporterConfig("broker", Sink.Mqtt("127.0.0.1", 1883, topic = "shop/{store}"), enabled = false))
        streams.addExporter("events", ExporterConfig("app", Sink.Callback, startAt = StartAt.Latest))
        val kinds = streams.streamStatus("events").exporters.associate { it.name to it.kind }
        assertEquals(mapOf("app" to "callback", "broker" to "mqtt", "hq" to "http"), kinds)
        assertEquals(ExporterState.DISABLED, streams.streamStatus("events").exporters.single { it.name == "hq" }.state)
        val notCallback = assertThrows<AisleException.InvalidArgument> { streams.setCallback("events", "hq") { } }
        assertTrue(notCallback.message!!.contains("not to a callback"), notCallback.message)
        val missing = assertThrows<AisleException.ExporterNotFound> { streams.setCallback("events", "nobody") { } }
        assertEquals("EXPORTER_NOT_FOUND", missing.code)
        assertThrows<AisleException.ExporterNotFound> { streams.removeExporter("events", "nobody") }
        streams.removeExporter("events", "broker")
        assertEquals(listOf("app", "hq"), streams.streamStatus("events").exporters.map { it.name }.sorted())
    }

    @Test
    fun `durable across reopen, memory streams are not`() {
        store { _, streams ->
            streams.create(StreamConfig("sales-copy", 1L shl 20, WhenFull.REJECT))
            streams.create(StreamConfig.memory("live", 1L shl 20, WhenFull.DROP_OLDEST))
            streams.appendBatch("sales-copy", (1..3).map { """{"n":$it}""" })
            streams.append("live", "1")
        }
        store { _, streams ->
            assertEquals(listOf("""{"n":1}""", """{"n":2}""", """{"n":3}"""), streams.read("sales-copy", 0, 10).map { it.text })
            assertEquals(4L, streams.append("sales-copy", """{"n":4}"""))
            assertFalse(streams.list().any { it.name == "live" })
            assertThrows<AisleException.StreamNotFound> { streams.append("live", "2") }
        }
    }

    @Test
    fun `a full stream rejects, or drops its oldest, and counts it`() = store { _, streams ->
        streams.create(StreamConfig("tiny", 20, WhenFull.REJECT))
        streams.append("tiny", """{"n":1234567}""") // 13 bytes
        val full = assertThrows<AisleException.StreamFull> { streams.append("tiny", """{"n":7654321}""") }
        assertEquals("STREAM_FULL", full.code)
        assertEquals(ErrorKind.FORWARD, full.kind)
        assertTrue(full.message!!.startsWith("STREAM_FULL: stream \"tiny\""), full.message)
        val tiny = streams.streamStatus("tiny")
        assertEquals(1L, tiny.records)
        assertEquals(1L, tiny.rejectedFull)
        // Larger than the whole cap: refused whatever the policy.
        assertThrows<AisleException.InvalidPayload> { streams.append("tiny", "\"" + "x".repeat(30) + "\"") }

        streams.create(StreamConfig("ring", 20, WhenFull.DROP_OLDEST))
        streams.append("ring", """{"n":1234567}""")
        streams.append("ring", """{"n":7654321}""")
        assertEquals(listOf(2L), streams.read("ring", 0, 10).map { it.seq })
        assertEquals(1L, streams.streamStatus("ring").droppedFull)
    }

    @Test
    fun `a callback exporter delivers every record in order on the worker's thread`() = store { _, streams ->
        streams.create(StreamConfig("events", 1L shl 20, WhenFull.REJECT))
        streams.addExporter("events", ExporterConfig("app", Sink.Callback, batchMaxRecords = 4))
        streams.start()
        assertTrue(streams.isRunning())
        streams.append("events", """{"n":1}""")
        // No function registered yet: the exporter waits and keeps its place.
        assertEquals(ExporterState.WAITING_FOR_CALLBACK, streams.streamStatus("events").exporters.single().state)
        assertFalse(streams.flush(50.milliseconds))

        val batches = Collections.synchronizedList(mutableListOf<Batch>())
        val threads = Collections.synchronizedSet(mutableSetOf<Thread>())
        streams.setCallback("events", "app") { batch ->
            threads += Thread.currentThread()
            batches += batch
        }
        streams.appendBatch("events", (2..10).map { """{"n":$it}""" })
        assertTrue(streams.flush(10.seconds))

        assertEquals((1L..10L).toList(), seqs(batches))
        for (b in batches) {
            assertTrue(b.records.size in 1..4, "batch of ${b.records.size}")
            assertEquals(Triple("store-042", "register-1", "events"), Triple(b.store, b.device, b.stream))
            assertEquals(PayloadFormat.JSON, b.format)
            assertEquals(b.records.first().seq, b.firstSeq)
            assertEquals(b.records.last().seq, b.lastSeq)
            assertEquals("store-042/register-1/events/${b.firstSeq}-${b.lastSeq}", b.idempotencyKey)
        }
        assertEquals((1..10).map { """{"n":$it}""" }, batches.flatMap { b -> b.records.map { it.text } })
        assertFalse(Thread.currentThread() in threads, "the callback ran on the caller's thread")

        val exporter = streams.streamStatus("events").exporters.single()
        assertEquals(10L, exporter.ackedSeq)
        assertEquals(0L, exporter.backlogRecords)
        assertEquals(10L, exporter.deliveredRecords)
        assertEquals(ExporterState.IDLE, exporter.state)
        assertNull(exporter.lastError)
        // Acknowledged by its only exporter: the records are freed.
        assertEquals(0L, streams.streamStatus("events").records)

        streams.stop()
        assertFalse(streams.isRunning())
        assertEquals(ExporterState.STOPPED, streams.streamStatus("events").exporters.single().state)
    }

    @Test
    fun `a callback that throws is retried, an Error included, and nothing is acknowledged before it returns`() = store { _, streams ->
        streams.create(StreamConfig("events", 1L shl 20, WhenFull.REJECT))
        streams.addExporter("events", ExporterConfig("app", Sink.Callback, retry = quickRetry))
        val up = AtomicBoolean(false)
        val failures = CountDownLatch(2)
        val delivered = Collections.synchronizedList(mutableListOf<Batch>())
        streams.setCallback("events", "app") { batch ->
            if (!up.get()) {
                failures.countDown()
                throw IllegalStateException("HQ is down")
            }
            delivered += batch
        }
        streams.start()
        streams.appendBatch("events", listOf("1", "2", "3"))
        assertTrue(failures.await(10, TimeUnit.SECONDS), "the failed batch was not retried")

        val failing = streams.streamStatus("events").exporters.single()
        assertEquals(0L, failing.ackedSeq)
        assertEquals(3L, failing.backlogRecords)
        assertEquals("java.lang.IllegalStateException: HQ is down", failing.lastError)
        assertTrue(failing.lastErrorMs != null)
        assertFalse(streams.flush(20.milliseconds))

        up.set(true)
        assertTrue(streams.flush(10.seconds))
        assertEquals(listOf(1L, 2L, 3L), seqs(delivered))

        // A java.lang.Error (here a failed assertion) refuses the batch too: uniffi's glue alone
        // would take it as a normal return and acknowledge what the app never handled.
        val thrown = AtomicInteger()
        delivered.clear()
        streams.setCallback("events", "app") { batch ->
            if (thrown.getAndIncrement() == 0) throw AssertionError("not yet")
            delivered += batch
        }
        streams.append("events", "4")
        assertTrue(streams.flush(10.seconds))
        assertEquals(listOf(4L), seqs(delivered))
        assertTrue(thrown.get() >= 2)
        assertEquals("java.lang.AssertionError: not yet", streams.streamStatus("events").exporters.single().lastError)
    }

    @Test
    fun `flushAsync leaves the caller's thread free for a callback that needs it`() = store { _, streams ->
        streams.create(StreamConfig("events", 1L shl 20, WhenFull.REJECT))
        streams.addExporter("events", ExporterConfig("app", Sink.Callback))
        // A single "main" thread, as on Android: the callback hands each batch to it.
        Executors.newSingleThreadExecutor { r -> Thread(r, "main") }.asCoroutineDispatcher().use { main ->
            val mainThread = runBlocking(main) { Thread.currentThread() }
            val onMain = Collections.synchronizedList(mutableListOf<Long>())
            val elsewhere = AtomicInteger()
            streams.setCallback("events", "app") { batch ->
                runBlocking(main) {
                    if (Thread.currentThread() != mainThread) elsewhere.incrementAndGet()
                    onMain += batch.records.map { it.seq }
                }
            }
            streams.start()
            runBlocking(main) {
                streams.appendBatch("events", (1..5).map { "$it" })
                streams.appendAsync("events", "6")
                // The blocking flush() here would hold "main" until its timeout; the callback
                // waits for "main", so nothing could be delivered.
                assertTrue(streams.flushAsync(10.seconds))
            }
            assertEquals((1L..6L).toList(), onMain.toList())
            assertEquals(0, elsewhere.get())
            runBlocking(main) { streams.stopAsync() }
            assertFalse(streams.isRunning())
        }
    }

    @Test
    fun `Ingest applies a directory exporter's files exactly once`() {
        val usb = dir.resolve("usb")
        store { _, streams ->
            streams.create(StreamConfig("sales-copy", 1L shl 20, WhenFull.REJECT))
            // Small batches and files, so the stick gets several files.
            streams.addExporter("sales-copy", ExporterConfig("stick", Sink.Directory(usb.toString(), maxFileBytes = 300), batchMaxRecords = 3))
            streams.appendBatch("sales-copy", (1..12).map { """{"receipt":"register-1-${"%06d".format(it)}"}""" })
            streams.start()
            assertTrue(streams.flush(10.seconds))
            streams.stop()
        }
        val files = usb.listDirectoryEntries("*.ndjson").sorted()
        assertTrue(files.size >= 2, "files: $files")

        Ingest.open(dir.resolve("hq.db").toString()).use { hq ->
            val applied = mutableListOf<Long>()
            var total = 0L
            for (f in files) {
                val report = hq.receive(f.readBytes()) { batch ->
                    assertEquals("sales-copy", batch.stream)
                    applied += batch.records.map { it.seq }
                }
                assertEquals(Triple("store-042", "register-1", "sales-copy"), Triple(report.store, report.device, report.stream))
                assertEquals(0L, report.duplicates)
                assertEquals(applied.last(), report.highSeq)
                total += report.applied
            }
            assertEquals((1L..12L).toList(), applied)
            assertEquals(12L, total)
            assertEquals(12L, hq.highWater("store-042", "register-1", "sales-copy"))

            // The same file again (a re-sent stick): nothing new, the function is not called.
            val again = hq.receive(files[0].readBytes()) { fail("a duplicate was handed to the application") }
            assertEquals(0L, again.applied)
            assertTrue(again.duplicates > 0)
            assertEquals(12L, again.highSeq)
        }
        // The mark is in the receiver's file.
        Ingest.open(dir.resolve("hq.db").toString()).use { hq ->
            assertEquals(12L, hq.highWater("store-042", "register-1", "sales-copy"))
            assertEquals(0L, hq.highWater("store-042", "register-2", "sales-copy"))
        }
    }

    @Test
    fun `Ingest records nothing when the application throws`() {
        val body = withStore { _, streams ->
            streams.create(StreamConfig("events", 1L shl 20, WhenFull.REJECT))
            streams.appendBatch("events", listOf("""{"n":1}""", """{"n":2}"""))
            encode(Batch("store-042", "register-1", "events", PayloadFormat.JSON, "", 1, 2, streams.read("events", 0, 10)))
        }
        Ingest.openInMemory().use { hq ->
            val e = assertThrows<AisleException.IngestRejected> { hq.receive(body) { throw IllegalStateException("warehouse DB down") } }
            assertEquals("INGEST_REJECTED", e.code)
            assertEquals(ErrorKind.FORWARD, e.kind)
            assertTrue(e.message!!.contains("warehouse DB down"), e.message)
            assertEquals(0L, hq.highWater("store-042", "register-1", "events"))

            assertThrows<AisleException.IngestRejected> { hq.receive("not a batch".encodeToByteArray()) { fail("not a batch") } }

            val texts = mutableListOf<String>()
            val report = hq.receive(body) { batch -> texts += batch.records.map { it.text } }
            assertEquals(listOf("""{"n":1}""", """{"n":2}"""), texts)
            assertEquals(IngestReport("store-042/register-1/events/1-2", "store-042", "register-1", "events", 2, 0, 2), report)
        }
    }

    @Test
    fun `a callback exporter feeding Ingest in one process`() = store { _, streams ->
        Ingest.openInMemory().use { hq ->
            val applied = Collections.synchronizedList(mutableListOf<String>())
            streams.create(StreamConfig("events", 1L shl 20, WhenFull.REJECT))
            streams.addExporter("events", ExporterConfig("hq", Sink.Callback, batchMaxRecords = 5, retry = quickRetry))
            val dropFirst = AtomicBoolean(true)
            streams.setCallback("events", "hq") { batch ->
                hq.receive(encode(batch)) { b -> applied += b.records.map { it.text } }
                // The response is lost once after HQ applied the batch: it comes again.
                if (dropFirst.getAndSet(false)) throw IllegalStateException("connection reset")
            }
            streams.start()
            streams.appendBatch("events", (1..12).map { """{"n":$it}""" })
            assertTrue(streams.flush(10.seconds))
            // Sent at least once, applied exactly once.
            assertEquals((1..12).map { """{"n":$it}""" }, applied.toList())
            assertEquals(12L, hq.highWater("store-042", "register-1", "events"))
            assertNotEquals(null, streams.streamStatus("events").exporters.single().lastError)
        }
    }

    /** The JSON body an HTTP exporter sends (`docs/schemas/forward-batch.schema.json`). */
    private fun encode(batch: Batch): ByteArray {
        fun str(s: String) = Json.write(s)
        val records = batch.records.joinToString(",") { """{"seq":${it.seq},"at_ms":${it.atMs},"data":${it.text}}""" }
        return """{"store":${str(batch.store)},"device":${str(batch.device)},"stream":${str(batch.stream)},"records":[$records]}"""
            .encodeToByteArray()
    }
}
