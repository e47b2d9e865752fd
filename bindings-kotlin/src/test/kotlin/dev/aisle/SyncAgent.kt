// The Kotlin agent of the cross-language sync test (tests/sync-cross/PROTOCOL.md): one replica
// in a real store file, driven by JSON lines on stdin, answering one JSON line per command on
// stdout. The orchestrator moves the bytes between agents of every language.
//
// Launch (after `bash scripts/test-kotlin.sh`, from bindings-kotlin/):
//   java -Djna.library.path=<dir of libaisle_kotlin.so> \
//        -cp target/classes:target/test-classes:$(cat target/test-classpath.txt) dev.aisle.SyncAgentKt
//
// Test-scoped, so it uses the suite's own JSON (Json.kt) and needs no dependency. Only answers go
// to stdout; anything else goes to stderr.

package dev.aisle

import java.util.Base64
import kotlin.system.exitProcess

private val b64e = Base64.getEncoder()
private val b64d = Base64.getDecoder()

/** A command that does not follow the protocol (as opposed to an error of the binding). */
private class BadCommand(message: String) : Exception(message)

private class Agent {
    private var edge: Edge? = null
    private var sync: Replication? = null

    private fun sync(): Replication = sync ?: throw BadCommand("no store open: send \"open\" first")

    private fun Map<String, Any?>.str(key: String): String =
        this[key] as? String ?: throw BadCommand("\"$key\" must be a string")

    private fun Map<String, Any?>.long(key: String): Long {
        val n = this[key] as? Json.Num ?: throw BadCommand("\"$key\" must be a number")
        return try {
            n.value.longValueExact()
        } catch (e: ArithmeticException) {
            throw BadCommand("\"$key\" must be a 64-bit integer, got ${n.text}")
        }
    }

    private fun Map<String, Any?>.bytes(key: String): ByteArray = try {
        b64d.decode(str(key))
    } catch (e: IllegalArgumentException) {
        throw BadCommand("\"$key\" must be base64: ${e.message}")
    }

    private fun plain(v: SyncValue): Any? = when (v) {
        SyncValue.Null -> null
        is SyncValue.Int -> v.value
        is SyncValue.Text -> v.value
        is SyncValue.Bytes -> b64e.encodeToString(v.value)
    }

    fun close() {
        sync?.close()
        edge?.close()
        sync = null
        edge = null
    }

    /** Runs one command; the answer's fields besides `"ok"`. */
    fun run(cmd: Map<String, Any?>): Map<String, Any?> = when (val op = cmd["op"]) {
        "open" -> {
            close()
            val role = when (val r = cmd.str("role")) {
                "store" -> Role.STORE
                "hq" -> Role.HQ
                else -> throw BadCommand("role must be \"store\" or \"hq\", got \"$r\"")
            }
            val e = Edge.open(cmd.str("path"), EdgeConfig(cmd.str("store"), cmd.str("device"), "EUR"))
            edge = e
            sync = e.sync().also { it.setRole(role) }
            mapOf("card" to sync().identity().toJson())
        }
        "enroll" -> mapOf<String, Any?>().also { sync().enroll(Device.fromJson(cmd.str("card"))) }
        "request" -> mapOf("bytes" to b64e.encodeToString(sync().request()))
        "changes_since" -> mapOf("chunks" to sync().changesSince(cmd.bytes("bytes")).map { b64e.encodeToString(it) })
        "apply" -> mapOf("changed" to sync().apply(cmd.bytes("bytes")).changed)
        "stock_add" -> mapOf("level" to sync().stockAdd(cmd.str("sku"), cmd.str("location"), cmd.long("delta")))
        "stocktake" -> mapOf<String, Any?>().also { sync().stocktake(cmd.str("sku"), cmd.str("location"), cmd.long("count")) }
        "cart_add" -> mapOf<String, Any?>().also { sync().cartAdd(cmd.str("cart"), cmd.str("sku"), cmd.long("quantity")) }
        "cart_remove" -> mapOf<String, Any?>().also { sync().cartRemove(cmd.str("cart"), cmd.str("sku")) }
        "customer_upsert" -> {
            val fields = cmd["fields"] as? Map<*, *> ?: throw BadCommand("\"fields\" must be an object")
            val values = fields.entries.associate { (k, v) ->
                k as String to when (v) {
                    is String -> SyncValue.Text(v)
                    is Json.Num -> SyncValue.Int(
                        runCatching { v.value.longValueExact() }.getOrElse { throw BadCommand("field \"$k\": not a 64-bit integer") },
                    )
                    null -> SyncValue.Null
                    else -> throw BadCommand("field \"$k\" must be a string or an integer")
                }
            }
            sync().upsertCustomer(cmd.str("id"), values)
            mapOf()
        }
        "customer_delete" -> mapOf("deleted" to sync().deleteCustomer(cmd.str("id")))
        "price" -> {
            val e = edge ?: throw BadCommand("no store open: send \"open\" first")
            e.upsertProduct(Product(cmd.str("sku"), cmd.str("name"), Money(cmd.long("price_minor"), "EUR"), "standard"))
            mapOf()
        }
        "state" -> {
            val e = edge ?: throw BadCommand("no store open: send \"open\" first")
            val s = sync()
            val sku = cmd.str("sku")
            mapOf(
                "level" to s.stockLevel(sku, cmd.str("location")),
                "lines" to s.cartLines(cmd.str("cart")).map { listOf(it.sku, it.quantity) },
                "customer" to s.customer(cmd.str("customer"))?.let { c -> c.toSortedMap().mapValues { (_, v) -> plain(v) } },
                "price_minor" to e.findProduct(sku)?.price?.minor,
            )
        }
        "digest" -> mapOf("digest" to sync().digestIn(cmd.str("scope")))
        "quit" -> mapOf()
        else -> throw BadCommand("unknown op ${Json.write(op)}")
    }
}

fun main() {
    val agent = Agent()
    val out = System.out
    fun answer(fields: Map<String, Any?>) {
        out.println(Json.write(fields))
        out.flush()
    }
    while (true) {
        val line = readLine() ?: break
        if (line.isBlank()) continue
        var quit = false
        try {
            val cmd = Json.obj(line)
            quit = cmd["op"] == "quit"
            answer(linkedMapOf<String, Any?>("ok" to true) + agent.run(cmd))
        } catch (e: AisleException) {
            answer(linkedMapOf("ok" to false, "code" to e.code, "message" to e.message))
        } catch (e: Exception) {
            // A malformed command: say so and keep running, as for a typed error.
            System.err.println("sync agent: $e")
            answer(linkedMapOf("ok" to false, "code" to "AGENT_BAD_COMMAND", "message" to (e.message ?: e.toString())))
        }
        if (quit) break
    }
    agent.close()
    exitProcess(0)
}
