package dev.aisle

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.nio.file.Path

/**
 * Edge vision as a JVM or Android app uses it, with the real models and photos
 * (scripts/models.sh; scripts/test-kotlin.sh sets AISLE_MODELS): persons where they stand,
 * frames from ByteArrays (padded rows, BGR/BGRA), a camera pipeline panning over the crowd that
 * puts insights in the store's forward stream, drops counted, hot model replacement, typed errors.
 */
class VisionTest {
    @TempDir
    lateinit var dir: Path

    private val models = File(System.getenv("AISLE_MODELS") ?: "../target/models").absoluteFile
    private fun model(name: String) = File(models, name).path
    private val person by lazy { Model.load(model("person-ssdlite.model.json")) }
    private val city by lazy { loadImage(model("city.jpg")) }

    private fun region(x0: Float, y0: Float, x1: Float, y1: Float) = BBox(x0, y0, x1, y1)

    private fun iou(a: BBox, b: BBox): Float {
        val w = maxOf(0f, minOf(a.x1, b.x1) - maxOf(a.x0, b.x0))
        val h = maxOf(0f, minOf(a.y1, b.y1) - maxOf(a.y0, b.y0))
        val union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - w * h
        return if (union > 0) w * h / union else 0f
    }

    private fun edge() = Edge.open(dir.resolve("store.db").toString(), EdgeConfig("store-1", "cam-box-1", "EUR"))

    /** The insight events of a stream, parsed. */
    private fun events(edge: Edge, stream: String = "vision"): List<Map<String, Any?>> =
        edge.streams().read(stream, 0, 1000).map { Json.obj(it.payload.decodeToString()) }

    @Suppress("UNCHECKED_CAST")
    private fun Map<String, Any?>.obj(key: String) = this[key] as Map<String, Any?>

    @Suppress("UNCHECKED_CAST")
    private fun Map<String, Any?>.list(key: String) = this[key] as List<Map<String, Any?>>

    private fun Map<String, Any?>.long(key: String) = (this[key] as Json.Num?)?.value?.toLong()

    /** A window of the photo: `width` columns from `x0`, the photo's own stride (one copy of the bytes from x0 on). */
    private fun window(x0: Int, width: Int, ts: Long) =
        Frame(city.pixels.copyOfRange(x0 * 3, city.pixels.size), width, city.height, PixelFormat.RGB8, ts, city.stride)

    @Test
    fun `persons and faces are found where they are`() {
        assertEquals("person-ssdlite-mobilenetv2", person.name())
        assertEquals(listOf("background", "person"), person.classes())
        assertEquals(64, person.sha256().length)
        assertEquals(300L, Json.obj(person.descriptorJson()).obj("input").long("width"))
        assertTrue(Model.load(model("blazeface-128.model.json")).fixes().isNotEmpty())
        val detector = Detector(person)
        val astronaut = detector.detect(loadImage(model("astronaut.png")))
        assertEquals(listOf("person"), astronaut.map { it.label })
        assertTrue(iou(astronaut[0].bbox, region(15f, 15f, 370f, 512f)) > 0.6f, astronaut.toString())
        val crowd = detector.detect(city)
        for (r in listOf(region(290f, 115f, 410f, 470f), region(540f, 135f, 690f, 515f), region(173f, 98f, 320f, 475f), region(20f, 118f, 135f, 525f))) {
            assertTrue(crowd.maxOf { iou(it.bbox, r) } > 0.6f, "$r in $crowd")
        }
        assertTrue(crowd.all { it.classId == 1 && it.score >= 0.5f && it.keypoints.isEmpty() })
        val faces = Detector(Model.load(model("centerface.model.json"))).detect(city)
        assertTrue(faces.size >= 4 && faces.all { it.label == "face" && it.keypoints.size == 5 }, faces.toString())
    }

    @Test
    fun `ByteArray frames with padded rows, BGR and BGRA give the same detections`() = runBlocking {
        val detector = Detector(person)
        val expected = detector.detect(city)
        assertEquals(Triple(800, 564, 2400), Triple(city.width, city.height, city.stride))
        val rgb = city.pixels
        val bgr = ByteArray(rgb.size)
        val stride = 800 * 4 + 32
        val bgra = ByteArray(stride * 564)
        for (y in 0 until 564) for (x in 0 until 800) {
            val p = (y * 800 + x) * 3
            val q = y * stride + x * 4
            bgr[p] = rgb[p + 2]; bgr[p + 1] = rgb[p + 1]; bgr[p + 2] = rgb[p]
            bgra[q] = rgb[p + 2]; bgra[q + 1] = rgb[p + 1]; bgra[q + 2] = rgb[p]; bgra[q + 3] = -1
        }
        assertEquals(expected, detector.detect(Frame(bgr, 800, 564, PixelFormat.BGR8)))
        assertEquals(expected, detector.detect(Frame(bgra, 800, 564, PixelFormat.BGRA8, stride = stride)))
        assertEquals(expected, detector.detectAsync(city))
        assertEquals(1, detector.detect(decodeImage(File(models, "astronaut.png").readBytes(), 7)).size)
    }

    @Test
    fun `bad frames, images and descriptors are typed exceptions`() {
        val detector = Detector(person)
        val e = assertThrows<AisleException.FrameInvalid> { detector.detect(Frame(ByteArray(3), 2, 2, PixelFormat.RGB8)) }
        assertTrue(e.message!!.contains("needs 12 bytes, the buffer has 3"), e.message)
        assertEquals("FRAME_INVALID", e.code)
        assertEquals(ErrorKind.VISION, e.kind)
        assertThrows<AisleException.FrameInvalid> { detector.detect(Frame(ByteArray(12), -2, 2, PixelFormat.RGB8)) }
        assertThrows<AisleException.FrameInvalid> { detector.detect(Frame(ByteArray(12), 2, 2, PixelFormat.RGB8, stride = 5)) }
        assertThrows<AisleException.ImageInvalid> { decodeImage("not an image".encodeToByteArray()) }
        assertThrows<AisleException.ImageInvalid> { loadImage(model("manifest.json")) }

        val descriptor = File(models, "person-ssdlite.model.json").readText()
        val onnx = Json.obj(descriptor)["model"] as String
        fun edited(text: String): String {
            val f = dir.resolve("edited.model.json").toFile()
            f.writeText(text.replace("\"$onnx\"", "\"${File(models, onnx).path}\""))
            return f.path
        }
        val sha = Json.obj(descriptor)["sha256"] as String
        assertThrows<AisleException.ModelHashMismatch> { Model.load(edited(descriptor.replace(sha, "0".repeat(64)))) }
        assertThrows<AisleException.ModelDescriptorInvalid> { Model.load(edited(descriptor.replace("\"layout\"", "\"colour_order\": \"rgb\", \"layout\""))) }
        assertThrows<AisleException.ModelIo> { Model.load(edited(descriptor.replace("\"$onnx\"", "\"missing.onnx\""))) }
        assertThrows<AisleException.ModelHashMismatch> { runBlocking { Model.loadAsync(edited(descriptor.replace(sha, "0".repeat(64)))) } }
        val bytes = File(models, onnx).readBytes()
        assertEquals(sha, Model.fromBytes(descriptor, bytes).sha256())
        assertThrows<AisleException.ModelHashMismatch> { Model.fromBytes(descriptor, bytes.copyOf(bytes.size - 1)) }
    }

    @Test
    fun `a camera panning over the crowd puts insights in the forward stream`() = runBlocking {
        val edge = edge()
        val analytics = """{ "camera": "entrance-1", "interval_ms": 1000, "track_timeout_ms": 500,
            "lines": [ { "name": "door", "from": [300, -100], "to": [300, 700], "hysteresis_px": 10 } ],
            "zones": [ { "name": "till-1", "kind": "queue", "polygon": [[0,300],[200,300],[200,564],[0,564]] } ] }"""
        val camera = Pipeline(edge, person, analytics)
        assertEquals(listOf("entrance-1", "vision", person.name()), listOf(camera.camera(), camera.stream(), camera.model().name()))
        // A 560-px window panning right by 12 px per frame at 10 fps.
        for (f in 0 until 20) camera.pushBlockingAsync(window(12 * f, 560, f * 100L))
        val report = camera.stopAsync()
        val s = report.stats
        assertEquals(listOf(20L, 20L, 0L, 0L), listOf(s.framesIn, s.framesProcessed, s.framesDropped, s.framesFailed))
        assertEquals(listOf(2L, 0L), listOf(s.insights, s.insightsFailed), s.toString())
        assertTrue(s.tracker.matchedHigh > 0.8 * s.tracker.high, s.toString())
        assertEquals(1000L, Json.obj(report.finalInsightJson!!).long("start_ms"))
        assertEquals(report, camera.stop()) // a second stop: the same report

        val got = events(edge)
        assertEquals(listOf(1000L, 2000L), got.map { it.long("at_ms") })
        var ins = 0L
        var outs = 0L
        for (e in got) {
            assertEquals("VisionInsight", e["type"])
            val data = e.obj("data")
            assertEquals(listOf("entrance-1", 10L, 0L, person.name()), listOf(data["camera"], data.long("frames"), data.long("frames_dropped"), data["model"]))
            assertTrue(data.list("zones")[0].long("occupancy_max")!! >= 1, data.toString())
            ins += data.list("lines")[0].long("in") ?: 0
            outs += data.list("lines")[0].long("out") ?: 0
        }
        // The scene slides left: people cross the door line one way only.
        assertTrue(ins >= 2 && outs == 0L, got.toString())
        assertThrows<AisleException.InvalidArgument> { camera.push(city) }
        camera.close()
        edge.close()
    }

    @Test
    fun `pushing faster than inference drops the oldest frames and counts them`() {
        edge().use { edge ->
            Pipeline(edge, person, """{"camera": "till-2", "interval_ms": 1000}""", queueCapacity = 1, stream = "till").use { camera ->
                val pushed = (0 until 30).map { camera.push(city.copy(timestampMs = it * 10L)) }
                assertEquals(Pushed.QUEUED, pushed[0])
                assertTrue(Pushed.DROPPED_OLDEST in pushed)
                assertTrue(camera.waitIdle(30_000))
                val s = camera.stats()
                assertEquals(listOf(30L, 1L, 1L), listOf(s.framesIn, s.queueCapacity, s.queuedMax))
                assertEquals(pushed.count { it == Pushed.DROPPED_OLDEST }.toLong(), s.framesDropped)
                assertEquals(30L, s.framesProcessed + s.framesDropped)
                assertEquals(0L, camera.stop().discarded)
                assertEquals(s.framesDropped, events(edge, "till").single().obj("data").long("frames_dropped"))
            }
        }
    }

    @Test
    fun `the model is replaced without stopping the camera`() = runBlocking {
        edge().use { edge ->
            // Only people (class 1 of the person model) count, in a zone that is the whole picture.
            val analytics = """{"camera": "aisle-4", "interval_ms": 1000, "classes": [1],
                "zones": [{"name": "all", "polygon": [[0,0],[800,0],[800,564],[0,564]]}]}"""
            Pipeline(edge, person, analytics).use { camera ->
                for (ts in listOf(0L, 100L, 200L)) camera.pushBlocking(city.copy(timestampMs = ts))
                assertTrue(camera.waitIdleAsync(30_000))
                val old = camera.replaceModel(Model.loadAsync(model("centerface.model.json")))
                assertEquals(listOf(person.name(), "centerface"), listOf(old.name(), camera.model().name()))
                for (ts in listOf(1000L, 1100L, 1200L)) camera.pushBlocking(city.copy(timestampMs = ts))
                val s = camera.stop().stats
                assertEquals(listOf(6L, 1L, 0L), listOf(s.framesProcessed, s.modelReplacements, s.framesFailed))
                val (first, second) = events(edge).map { it.obj("data") }
                assertTrue(first.list("zones")[0].long("occupancy_max")!! >= 4, first.toString())
                assertEquals(0L, second.list("zones")[0].long("occupancy_max"))
                assertEquals("centerface", second["model"])
                // A detector's model is replaced the same way.
                val detector = Detector(person)
                assertEquals(person.name(), detector.replaceModel(camera.model()).name())
                assertTrue(detector.detect(city).all { it.label == "face" })
            }
        }
    }

    @Test
    fun `bad pipeline settings are typed exceptions`() {
        edge().use { edge ->
            assertThrows<AisleException.AnalyticsConfigInvalid> { Pipeline(edge, person, """{"camera": "c", "zones": [{"name": "z", "polygon": [[0,0]]}]}""") }
            assertThrows<AisleException.AnalyticsConfigInvalid> { Pipeline(edge, person, """{"camera": "c", "colour": 1}""") }
            assertThrows<AisleException.InvalidArgument> { Pipeline(edge, person, """{"camera": "c"}""", queueCapacity = 0) }
            Pipeline(edge, person, """{"camera": "c"}""").use { camera ->
                assertThrows<AisleException.FrameInvalid> { camera.push(Frame(ByteArray(10), 4, 4, PixelFormat.RGB8)) }
                assertThrows<AisleException.InvalidArgument> { camera.waitIdle(-1) }
                assertNotNull(camera.stop(discard = true))
                assertEquals(0L, camera.stats().framesIn)
            }
        }
    }
}
