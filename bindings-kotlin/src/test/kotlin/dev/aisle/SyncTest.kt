package dev.aisle

import com.sun.net.httpserver.HttpServer
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.fail
import org.junit.jupiter.api.io.TempDir
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.nio.ByteBuffer
import java.nio.file.Path

/**
 * CRDT sync as a JVM app uses it: an HQ replica and store devices in real store files, moving
 * signed bytes by hand, through a hub written in Kotlin (the JDK's HttpServer around
 * `handleHttp`), over the store LAN, and with the background `Syncer`; every refusal typed.
 */
class SyncTest {
    @TempDir
    lateinit var dir: Path

    private val opened = mutableListOf<AutoCloseable>()

    @AfterEach
    fun closeAll() {
        opened.asReversed().forEach { it.close() }
    }

    private fun <T : AutoCloseable> T.closing(): T = also { opened += it }

    private fun edge(store: String, device: String): Edge =
        Edge.open(dir.resolve("$store-$device.db").toString(), EdgeConfig(store, device, "EUR")).closing()

    private fun hq(): Edge = edge("hq", "hq-1").also { it.sync().setRole(Role.HQ) }

    /** Each side learns the other's card (out of band in real life). */
    private fun enroll(a: Edge, b: Edge) {
        a.sync().enroll(b.sync().identity())
        b.sync().enroll(a.sync().identity())
    }

    /** One pull by hand: the puller's request, the peer's chunks, applied by the puller. */
    private fun pull(puller: Edge, from: Edge): List<ApplyReport> =
        from.sync().changesSince(puller.sync().request()).map { puller.sync().apply(it) }

    private fun milk(minor: Long) = Product("MILK-1L", "Milk 1 l", Money(minor, "EUR"), "standard")

    private fun freePort(): Int = ServerSocket(0).use { it.localPort }

    /** Waits up to 10 s for [ok]. */
    private fun eventually(what: String, ok: () -> Boolean) {
        val until = System.nanoTime() + 10_000_000_000L
        while (!ok()) {
            if (System.nanoTime() > until) fail("timed out waiting for $what")
            Thread.sleep(20)
        }
    }

    /** A sync hub in Kotlin: the JDK's HTTP server, one `handleHttp` call per request. */
    private fun hub(replication: Replication): HttpServer {
        val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/") { exchange ->
            exchange.use {
                val body = it.requestBody.readBytes()
                val reply = replication.handleHttp(it.requestMethod, it.requestURI.rawPath, body)
                it.responseHeaders.add("Content-Type", reply.contentType)
                it.sendResponseHeaders(reply.status, if (reply.body.isEmpty()) -1 else reply.body.size.toLong())
                it.responseBody.write(reply.body)
            }
        }
        server.start()
        opened += AutoCloseable { server.stop(0) }
        return server
    }

    private fun HttpServer.url() = "http://127.0.0.1:${address.port}"

    @Test
    fun `two replicas converge by exchanging bytes`() {
        val hq = hq()
        val reg = edge("store-1", "register-1")
        enroll(hq, reg)
        assertEquals(Role.HQ, hq.sync().identity().role)
        assertEquals(setOf("hq/hq-1", "store-1/register-1"), hq.sync().devices().map { "${it.storeId}/${it.deviceId}" }.toSet())

        // HQ publishes a price; the register pulls it into its catalog.
        hq.upsertProduct(milk(119))
        val reports = pull(reg, hq)
        assertTrue(reports.isNotEmpty())
        assertTrue(reports.all { it.from == "hq/hq-1" })
        assertTrue(reports.sumOf { it.changed } > 0)
        assertTrue(reports.last().batchComplete)
        assertEquals(Money(119, "EUR"), reg.product("MILK-1L").price)

        // The register sells, counts, fills a shared cart and records a customer; HQ pulls.
        assertEquals(24L, reg.sync().stockAdd("MILK-1L", "shelf", 24))
        assertEquals(23L, reg.sync().stockAdd("MILK-1L", "shelf", -1))
        reg.sync().stocktake("MILK-1L", "back", 10)
        reg.sync().cartAdd("cart-7", "MILK-1L", 2)
        reg.sync().cartAdd("cart-7", "BREAD", 1)
        reg.sync().cartSet("cart-7", "BREAD", 3)
        reg.sync().cartAdd("cart-7", "EGGS", 1)
        reg.sync().cartRemove("cart-7", "EGGS")
        reg.sync().upsertCustomer("C-1", "name" to "Ada", "visits" to 3, "photo" to byteArrayOf(1, 2), "note" to null)
        assertTrue(reg.sync().updateCustomer("C-1", "visits", SyncValue.Int(4)))
        assertFalse(reg.sync().updateCustomer("C-404", "visits", SyncValue.Int(1)))
        reg.sync().upsertCustomer("C-2", mapOf("name" to SyncValue.Text("Bob")))
        assertTrue(reg.sync().deleteCustomer("C-2"))
        assertFalse(reg.sync().deleteCustomer("C-2"))
        assertEquals(listOf(SharedCartLine("BREAD", 3), SharedCartLine("MILK-1L", 2)), reg.sync().cartLines("cart-7"))
        assertEquals(mapOf("BREAD" to 3L, "MILK-1L" to 2L), reg.sync().cartQuantities("cart-7"))
        val customer = reg.sync().customer("C-1") ?: fail("no customer C-1")
        assertEquals(SyncValue.Text("Ada"), customer["name"])
        assertEquals(4L, customer["visits"]?.plain)
        assertArrayEquals(byteArrayOf(1, 2), customer["photo"]?.plain as ByteArray)
        assertEquals(SyncValue.Null, customer["note"])
        assertNull(reg.sync().customer("C-2"))

        pull(hq, reg)
        assertEquals(23L, hq.sync().stockLevelIn("store:store-1", "MILK-1L", "shelf"))
        assertEquals(10L, hq.sync().stockLevelIn("store:store-1", "MILK-1L", "back"))
        assertEquals(23L, reg.sync().stockLevel("MILK-1L", "shelf"))

        // Same data, same digests, scope by scope; the whole digest is 64 hex digits.
        for (scope in listOf("global", "store:store-1")) {
            assertEquals(reg.sync().digestIn(scope), hq.sync().digestIn(scope), scope)
        }
        assertTrue(Regex("[0-9a-f]{64}").matches(hq.sync().digest()))
        assertNotEquals(hq.sync().digestIn("global"), hq.sync().digestIn("store:store-1"))

        // Vectors: scope → site (16 hex digits) → clock; both know the register's writes.
        val hqVector = hq.sync().vector()
        val regSite = hqVector.getValue("store:store-1").keys.single()
        assertTrue(Regex("[0-9a-f]{16}").matches(regSite), regSite)
        assertEquals(reg.sync().vector()["store:store-1"], hqVector["store:store-1"])

        // A pull with nothing new changes nothing.
        assertEquals(0L, pull(reg, hq).sumOf { it.changed })

        val stats = hq.sync().stats()
        assertTrue(stats.slots > 0 && stats.dataBytes > 0 && stats.metadataBytes > 0, stats.toString())
        val compacted = reg.sync().compact()
        assertTrue(compacted.removedSlots >= 0 && compacted.waiting >= 0)
    }

    @Test
    fun `device cards travel as JSON`() {
        val reg = edge("store-1", "register-1")
        val card = reg.sync().identity()
        assertTrue(Regex("[0-9a-f]{64}").matches(card.publicKey))
        val json = card.toJson()
        assertTrue(json.contains("\"device_id\":\"register-1\""), json)
        assertEquals(card, Device.fromJson(json))
        assertEquals(json, deviceToJson(card))
        assertEquals(card, deviceFromJson(json))

        val bad = assertThrows<AisleException.InvalidArgument> { Device.fromJson("""{"public_key":"00"}""") }
        assertEquals("INVALID_ARGUMENT", bad.code)
        assertThrows<AisleException.InvalidArgument> { reg.sync().enroll(card.copy(publicKey = "zz")) }
        assertThrows<AisleException.InvalidArgument> { card.copy(storeId = "").toJson() }
    }

    @Test
    fun `a register syncs with a hub written in Kotlin`() {
        val hq = hq()
        val reg = edge("store-1", "register-1")
        enroll(hq, reg)
        hq.upsertProduct(milk(129))
        reg.sync().stockAdd("MILK-1L", "shelf", 12)
        val server = hub(hq.sync())

        val round = reg.sync().syncWithHub(HttpSyncConfig(server.url(), headers = mapOf("X-Store" to "store-1")))
        assertEquals(server.url(), round.peer)
        assertTrue(round.pulled >= 1 && round.pulledChanged > 0, round.toString())
        assertTrue(round.pushed.applied >= 1 && round.pushed.changed > 0, round.toString())
        assertEquals(Money(129, "EUR"), reg.product("MILK-1L").price)
        assertEquals(12L, hq.sync().stockLevelIn("store:store-1", "MILK-1L", "shelf"))

        // The suspend twin, from a coroutine: a second round has nothing new.
        hq.upsertProduct(milk(139))
        val again = runBlocking { reg.sync().syncWithHubAsync(HttpSyncConfig(server.url(), timeoutMs = 5_000)) }
        assertTrue(again.pulledChanged > 0)
        assertEquals(Money(139, "EUR"), reg.product("MILK-1L").price)
        assertEquals(hq.sync().digestIn("store:store-1"), reg.sync().digestIn("store:store-1"))

        // What the hub answers anything else, without throwing.
        val notFound = hq.sync().handleHttp("GET", "/nope", ByteArray(0))
        assertEquals(404, notFound.status)
        assertEquals("application/json", notFound.contentType)
        assertEquals(405, hq.sync().handleHttp("GET", "/v1/sync/exchange", ByteArray(0)).status)
        val garbage = hq.sync().handleHttp("POST", "/v1/sync/exchange", byteArrayOf(9, 9, 9))
        assertEquals(400, garbage.status)
        assertTrue(garbage.body.decodeToString().contains("\"code\":\"SYNC_DECODE\""))

        // A device HQ never enrolled: the hub refuses, the client throws SyncPeerRefused.
        val stranger = edge("store-2", "register-9")
        stranger.sync().enroll(hq.sync().identity())
        val refused = assertThrows<AisleException.SyncPeerRefused> { stranger.sync().syncWithHub(HttpSyncConfig(server.url())) }
        assertEquals("SYNC_PEER_REFUSED", refused.code)
        assertEquals(ErrorKind.SYNC, refused.kind)
        assertTrue(refused.message!!.contains("SYNC_UNKNOWN_DEVICE"), refused.message)

        // Bad configs are the core's InvalidArgument.
        assertThrows<AisleException.InvalidArgument> { reg.sync().syncWithHub(HttpSyncConfig("ftp://hq")) }
        assertThrows<AisleException.InvalidArgument> { reg.sync().syncWithHub(HttpSyncConfig(server.url(), timeoutMs = -1)) }
    }

    @Test
    fun `registers sync over the LAN and relay what HQ published`() {
        val hq = hq()
        val reg1 = edge("store-1", "register-1")
        val reg2 = edge("store-1", "register-2")
        enroll(hq, reg1)
        enroll(hq, reg2)
        enroll(reg1, reg2)
        hq.upsertProduct(milk(149))
        pull(reg1, hq)                            // only register 1 reached HQ

        val server = reg1.sync().listenLan("127.0.0.1:0").closing()
        assertTrue(server.isRunning())
        assertTrue(server.addr().startsWith("127.0.0.1:"), server.addr())
        reg1.sync().cartAdd("cart-7", "MILK-1L", 1)
        reg2.sync().cartAdd("cart-7", "MILK-1L", 1)

        val round = reg2.sync().syncWithPeer(server.addr(), 5_000)
        assertEquals("tcp://${server.addr()}", round.peer)
        assertEquals(Money(149, "EUR"), reg2.product("MILK-1L").price)   // HQ's chunk, relayed verbatim
        assertEquals(listOf(SharedCartLine("MILK-1L", 2)), reg1.sync().cartLines("cart-7"))
        assertEquals(listOf(SharedCartLine("MILK-1L", 2)), reg2.sync().cartLines("cart-7"))
        assertEquals(reg1.sync().digest(), reg2.sync().digest())

        val again = runBlocking { reg2.sync().syncWithPeerAsync(server.addr(), 5_000) }
        assertEquals(0L, again.pulledChanged)

        server.stop()
        server.stop()                             // twice is fine
        assertFalse(server.isRunning())
        assertThrows<AisleException.SyncUnreachable> { reg2.sync().syncWithPeer(server.addr(), 1_000) }
    }

    @Test
    fun `refused messages are typed and change nothing`() {
        val hq = hq()
        val reg = edge("store-1", "register-1")
        enroll(hq, reg)
        hq.upsertProduct(milk(119))
        val chunk = hq.sync().changesSince(reg.sync().request()).first()
        val before = reg.sync().digest()

        val decode = assertThrows<AisleException.SyncDecode> { reg.sync().apply(byteArrayOf(1, 2, 3)) }
        assertEquals("SYNC_DECODE", decode.code)
        assertThrows<AisleException.SyncDecode> { reg.sync().apply(chunk.copyOf(chunk.size - 1)) }
        val forged = chunk.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        assertThrows<AisleException.SyncBadSignature> { reg.sync().apply(forged) }
        val newer = chunk.copyOf().also { it[2] = 99 }
        assertThrows<AisleException.SyncUnsupportedVersion> { reg.sync().apply(newer) }
        assertThrows<AisleException.SyncDecode> { hq.sync().servePush(byteArrayOf(0, 0)) }
        assertThrows<AisleException.SyncDecode> { hq.sync().changesSince(ByteArray(0)) }
        assertEquals(before, reg.sync().digest())

        // Applied once; the same chunk again is a replay.
        reg.sync().apply(chunk)
        assertThrows<AisleException.SyncReplay> { reg.sync().apply(chunk) }

        // A device this replica never enrolled.
        val stranger = edge("store-1", "register-9")
        stranger.sync().enroll(reg.sync().identity())   // it knows the register; not the other way round
        stranger.sync().stockAdd("MILK-1L", "shelf", 5)
        val unknown = assertThrows<AisleException.SyncUnknownDevice> {
            reg.sync().apply(stranger.sync().changesSince(reg.sync().request()).first())
        }
        assertEquals(ErrorKind.SYNC, unknown.kind)
        assertThrows<AisleException.SyncUnknownDevice> { hq.sync().serveExchange(stranger.sync().request()) }

        // Another store's data, sent by one of its devices to another: refused by this store.
        val other = edge("store-2", "register-1")
        val other2 = edge("store-2", "register-2")
        enroll(other, other2)
        reg.sync().enroll(other.sync().identity())
        other.sync().stockAdd("MILK-1L", "shelf", 5)
        val foreign = other.sync().changesSince(other2.sync().request()).first()
        assertThrows<AisleException.SyncScope> { reg.sync().apply(foreign) }

        // Nobody listening.
        val port = freePort()
        val dead = assertThrows<AisleException.SyncUnreachable> { reg.sync().syncWithPeer("127.0.0.1:$port", 1_000) }
        assertEquals("SYNC_UNREACHABLE", dead.code)
        assertThrows<AisleException.SyncUnreachable> { reg.sync().syncWithHub(HttpSyncConfig("http://127.0.0.1:$port", timeoutMs = 2_000)) }
        assertThrows<AisleException.InvalidArgument> { reg.sync().syncWithPeer("127.0.0.1:$port", -5) }
    }

    @Test
    fun `serving by hand - exchange then push`() {
        val hq = hq()
        val reg = edge("store-1", "register-1")
        enroll(hq, reg)
        hq.upsertProduct(milk(119))
        reg.sync().stockAdd("MILK-1L", "shelf", 7)

        // The exchange answer is framed: our request first, then the chunks the client lacks.
        val answer = unframe(hq.sync().serveExchange(reg.sync().request()))
        assertTrue(answer.size >= 2)
        answer.drop(1).forEach { reg.sync().apply(it) }
        val push = hq.sync().servePush(frame(reg.sync().changesSince(answer.first())))
        assertEquals(PushReport(push.chunks, push.chunks, 0, push.changed), push)
        assertTrue(push.changed > 0)
        assertEquals(7L, hq.sync().stockLevelIn("store:store-1", "MILK-1L", "shelf"))
        assertEquals(Money(119, "EUR"), reg.product("MILK-1L").price)
    }

    @Test
    fun `a syncer keeps a register in step with the hub`() {
        val hq = hq()
        val reg = edge("store-1", "register-1")
        enroll(hq, reg)
        hq.upsertProduct(milk(119))
        val server = hub(hq.sync())
        val deadPort = freePort()

        val syncer = reg.sync().startSyncer(
            hubs = listOf(HttpSyncConfig(server.url(), timeoutMs = 5_000)),
            peers = listOf("127.0.0.1:$deadPort"),
            intervalMs = 50,
            backoffMaxMs = 200,
            peerTimeoutMs = 500,
        ).closing()
        assertTrue(syncer.isRunning())
        eventually("the first round with the hub") { syncer.status()[0].rounds >= 1 }
        assertEquals(Money(119, "EUR"), reg.product("MILK-1L").price)

        hq.upsertProduct(milk(99))
        syncer.syncNow()
        eventually("HQ's new price") { reg.product("MILK-1L").price == Money(99, "EUR") }
        reg.sync().stockAdd("MILK-1L", "shelf", 3)
        syncer.syncNow()
        eventually("the register's stock at HQ") { hq.sync().stockLevelIn("store:store-1", "MILK-1L", "shelf") == 3L }

        eventually("a failure on the dead peer") { syncer.status()[1].failures >= 1 }
        val (hubStatus, deadStatus) = syncer.status()
        assertEquals(server.url(), hubStatus.peer)
        assertEquals(0L, hubStatus.failures)
        assertTrue(hubStatus.lastRound != null)
        assertEquals("tcp://127.0.0.1:$deadPort", deadStatus.peer)
        assertEquals(0L, deadStatus.rounds)
        assertEquals("SYNC_UNREACHABLE", deadStatus.lastErrorCode)
        assertTrue(deadStatus.lastErrorMessage!!.startsWith("SYNC_UNREACHABLE"), deadStatus.lastErrorMessage)

        runBlocking { syncer.stopAsync() }
        assertFalse(syncer.isRunning())
        assertTrue(syncer.status()[0].rounds >= 2)     // as it was when stopped
        syncer.syncNow()                               // a no-op once stopped
        syncer.stop()

        assertThrows<AisleException.InvalidArgument> { reg.sync().startSyncer(listOf(), listOf(), intervalMs = 0) }
    }

    @Test
    fun `a closed store refuses sync calls`() {
        val reg = Edge.open(dir.resolve("closed.db").toString(), EdgeConfig("store-1", "register-1", "EUR"))
        val sync = reg.sync()
        reg.close()
        assertThrows<AisleException.StoreClosed> { sync.request() }
        sync.close()
    }

    companion object {
        /** The framing of `serveExchange`/`servePush` bodies: a u32 count, then u32 length + bytes each. */
        fun frame(messages: List<ByteArray>): ByteArray {
            val buf = ByteBuffer.allocate(4 + messages.sumOf { 4 + it.size })
            buf.putInt(messages.size)
            messages.forEach { buf.putInt(it.size).put(it) }
            return buf.array()
        }

        fun unframe(body: ByteArray): List<ByteArray> {
            val buf = ByteBuffer.wrap(body)
            return List(buf.int) { ByteArray(buf.int).also { m -> buf.get(m) } }
        }
    }
}
