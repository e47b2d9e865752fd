package dev.aisle

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.nio.ByteBuffer
import java.nio.file.Path

/**
 * Frames read in place from direct `ByteBuffer`s (what Android's camera planes are), with the
 * real models and photos (scripts/test-kotlin.sh sets AISLE_MODELS): the same detections as the
 * ByteArray frames, position and limit honoured (windows, slices, read-only views, padded rows
 * with a short last row), heap and short buffers refused with the typed exception, and a camera
 * pipeline fed from one reused buffer producing the same insights as ByteArray frames.
 */
class VisionBufferTest {
    @TempDir
    lateinit var dir: Path

    private val models = File(System.getenv("AISLE_MODELS") ?: "../target/models").absoluteFile
    private val person by lazy { Model.load(File(models, "person-ssdlite.model.json").path) }
    private val city by lazy { loadImage(File(models, "city.jpg").path) }

    /** [bytes] in a new direct buffer from position [offset] (junk before it) to its capacity. */
    private fun direct(bytes: ByteArray, offset: Int = 0): ByteBuffer {
        val buffer = ByteBuffer.allocateDirect(offset + bytes.size)
        repeat(offset) { buffer.put(0x5a) }
        buffer.put(bytes)
        buffer.position(offset)
        return buffer
    }

    /** The photo as BGRA rows of [stride] bytes; the last row stops after its pixels. */
    private fun bgra(stride: Int): ByteArray {
        val rgb = city.pixels
        val out = ByteArray(stride * (city.height - 1) + city.width * 4)
        for (y in 0 until city.height) for (x in 0 until city.width) {
            val p = y * city.stride!! + x * 3
            val q = y * stride + x * 4
            out[q] = rgb[p + 2]; out[q + 1] = rgb[p + 1]; out[q + 2] = rgb[p]; out[q + 3] = -1
        }
        return out
    }

    private fun assertFrameInvalid(expected: String, call: () -> Unit) {
        val e = assertThrows<AisleException.FrameInvalid> { call() }
        assertTrue(e.message!!.contains(expected), e.message)
        assertEquals("FRAME_INVALID", e.code)
        assertEquals(ErrorKind.VISION, e.kind)
    }

    @Test
    fun `a direct buffer gives the same detections as the ByteArray frame`() = runBlocking {
        val detector = Detector(person)
        val expected = detector.detect(city)
        assertTrue(expected.size >= 4, expected.toString())
        val (w, h) = city.width to city.height
        assertEquals(expected, detector.detect(direct(city.pixels), w, h, PixelFormat.RGB8))
        assertEquals(expected, detector.detectAsync(direct(city.pixels), w, h, PixelFormat.RGB8, 42, stride = city.stride))

        // From a position: the junk before it is not read, and position and limit stay as they were.
        val offset = direct(city.pixels, offset = 4099)
        assertEquals(expected, detector.detect(offset, w, h, PixelFormat.RGB8))
        assertEquals(listOf(4099, 4099 + city.pixels.size), listOf(offset.position(), offset.limit()))
        // A slice (its own address) and a read-only view (what camera planes are) of it.
        assertEquals(expected, detector.detect(offset.slice(), w, h, PixelFormat.RGB8))
        assertEquals(expected, detector.detect(offset.asReadOnlyBuffer(), w, h, PixelFormat.RGB8))

        // Padded BGRA rows whose last row stops after its pixels, as camera planes end.
        val stride = w * 4 + 64
        val padded = direct(bgra(stride), offset = 7)
        assertEquals(stride * (h - 1) + w * 4, padded.remaining())
        assertEquals(expected, detector.detect(padded, w, h, PixelFormat.BGRA8, stride = stride))

        // A window of the photo: the position is its first pixel, the stride the photo's.
        val window = Frame(city.pixels.copyOfRange(120 * 3, city.pixels.size), 560, h, PixelFormat.RGB8, 0, city.stride)
        val photo = direct(city.pixels).position(120 * 3)
        assertEquals(detector.detect(window), detector.detect(photo, 560, h, PixelFormat.RGB8, stride = city.stride))
    }

    @Test
    fun `heap and too short buffers are refused with the typed exception`() {
        val detector = Detector(person)
        val (w, h) = city.width to city.height
        val size = city.pixels.size
        assertFrameInvalid("heap ByteBuffer") { detector.detect(ByteBuffer.wrap(city.pixels), w, h, PixelFormat.RGB8) }
        assertFrameInvalid("heap ByteBuffer") { detector.detect(ByteBuffer.allocate(size), w, h, PixelFormat.RGB8) }
        // The limit and the position bound what is read, not the capacity.
        val short = direct(city.pixels).limit(size - 1)
        assertFrameInvalid("needs $size bytes, the buffer has ${size - 1}") { detector.detect(short, w, h, PixelFormat.RGB8) }
        val late = direct(city.pixels).position(size - 100)
        assertFrameInvalid("the buffer has 100") { detector.detect(late, w, h, PixelFormat.RGB8) }
        assertFrameInvalid("the buffer has 0") { detector.detect(ByteBuffer.allocateDirect(0), 2, 2, PixelFormat.RGB8) }
        val tiny = ByteBuffer.allocateDirect(12)
        assertFrameInvalid("width must be >= 0") { detector.detect(tiny, -2, 2, PixelFormat.RGB8) }
        assertFrameInvalid("stride 5 is shorter than a row") { detector.detect(tiny, 2, 2, PixelFormat.RGB8, stride = 5) }
        assertFrameInvalid("pixels on each side") { detector.detect(tiny, 0, 2, PixelFormat.RGB8) }
        assertFrameInvalid("needs 16 bytes, the buffer has 12") { detector.detect(tiny, 2, 2, PixelFormat.RGBA8) }
        assertTrue(detector.detect(tiny, 2, 2, PixelFormat.RGB8).isEmpty()) // exactly remaining() bytes: fits

        Edge.open(dir.resolve("store.db").toString(), EdgeConfig("store-1", "cam-box-1", "EUR")).use { edge ->
            Pipeline(edge, person, """{"camera": "c"}""").use { camera ->
                assertFrameInvalid("heap ByteBuffer") { camera.push(ByteBuffer.wrap(city.pixels), w, h, PixelFormat.RGB8) }
                assertFrameInvalid("heap ByteBuffer") { camera.pushBlocking(ByteBuffer.wrap(city.pixels), w, h, PixelFormat.RGB8) }
                assertFrameInvalid("the buffer has ${size - 1}") { camera.push(short, w, h, PixelFormat.RGB8) }
                assertFrameInvalid("the buffer has ${size - 1}") { camera.pushBlocking(short, w, h, PixelFormat.RGB8) }
                assertEquals(0L, camera.stats().framesIn)
            }
        }
    }

    @Test
    fun `a pipeline fed from one reused direct buffer yields the insights ByteArray frames yield`() = runBlocking {
        val analytics = """{ "camera": "entrance-1", "interval_ms": 1000, "track_timeout_ms": 500,
            "lines": [ { "name": "door", "from": [300, -100], "to": [300, 700], "hysteresis_px": 10 } ],
            "zones": [ { "name": "till-1", "kind": "queue", "polygon": [[0,300],[200,300],[200,564],[0,564]] } ] }"""
        val h = city.height
        Edge.open(dir.resolve("store.db").toString(), EdgeConfig("store-1", "cam-box-1", "EUR")).use { edge ->
            // A 560-px window panning right by 12 px per frame at 10 fps: ByteArray frames …
            Pipeline(edge, person, analytics, stream = "bytes").use { camera ->
                for (f in 0 until 20) {
                    val x0 = 12 * f * 3
                    camera.pushBlockingAsync(Frame(city.pixels.copyOfRange(x0, city.pixels.size), 560, h, PixelFormat.RGB8, f * 100L, city.stride))
                }
                assertEquals(20L, camera.stopAsync().stats.framesProcessed)
            }
            // … and one direct buffer a camera refills for every frame, wiped as soon as the
            // frame is pushed: the pipeline works on its copy.
            val buffer = ByteBuffer.allocateDirect(city.pixels.size)
            val zeros = ByteArray(city.pixels.size)
            Pipeline(edge, person, analytics, queueCapacity = 32, stream = "direct").use { camera ->
                for (f in 0 until 20) {
                    buffer.clear()
                    buffer.put(city.pixels)
                    buffer.position(12 * f * 3)
                    if (f % 2 == 0) {
                        assertEquals(Pushed.QUEUED, camera.push(buffer, 560, h, PixelFormat.RGB8, f * 100L, city.stride))
                    } else {
                        camera.pushBlockingAsync(buffer, 560, h, PixelFormat.RGB8, f * 100L, city.stride)
                    }
                    buffer.clear()
                    buffer.put(zeros)
                }
                val s = camera.stopAsync().stats
                assertEquals(listOf(20L, 20L, 0L, 0L), listOf(s.framesIn, s.framesProcessed, s.framesDropped, s.framesFailed))
                assertEquals(2L, s.insights, s.toString())
            }
            fun insights(stream: String) = edge.streams().read(stream, 0, 100).map { it.payload.decodeToString() }
            val direct = insights("direct")
            assertEquals(insights("bytes"), direct)
            // People were seen and crossed the door (the scene slides left: one way only).
            val lines = direct.map { Json.obj(it)["data"] as Map<*, *> }.flatMap { it["lines"] as List<*> }.map { it as Map<*, *> }
            val ins = lines.sumOf { (it["in"] as Json.Num).value.toLong() }
            assertTrue(ins >= 2 && lines.all { (it["out"] as Json.Num).value.toLong() == 0L }, direct.toString())
        }
    }
}
