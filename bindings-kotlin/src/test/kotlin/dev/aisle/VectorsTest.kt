package dev.aisle

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import java.io.File

/**
 * The shared pricing vectors (the JSON files in `tests/vectors/commerce` at the repository root), run
 * through [priceJson]: the same files the Rust, Python and Node suites run, with the same
 * matcher, so the languages cannot disagree by a cent. One JUnit test per vector, named after
 * it, so every failing vector is reported by name.
 *
 * scripts/test-kotlin.sh passes the folder as `-Daisle.vectors.dir=` (the pom defaults it to
 * `../tests/vectors/commerce`). A missing folder is a failure, never a skip.
 */
class VectorsTest {
    private fun vectorsDir(): File {
        val path = System.getProperty("aisle.vectors.dir")?.takeIf { it.isNotBlank() }
            ?: fail("no vectors folder: set -Daisle.vectors.dir (scripts/test-kotlin.sh does) to tests/vectors/commerce")
        val dir = File(path)
        if (!dir.isDirectory) {
            fail<Unit>(
                "the shared test vectors are missing: ${dir.canonicalPath} is not a folder " +
                    "(tests/vectors/commerce at the repository root; see tests/vectors/README.md)",
            )
        }
        return dir
    }

    private fun vectorFiles(): List<File> =
        vectorsDir().listFiles { f -> f.isFile && f.name.endsWith(".json") }.orEmpty().sortedBy { it.name }

    @Suppress("UNCHECKED_CAST")
    private fun load(file: File): Map<String, Any?> =
        try {
            Json.obj(file.readText())
        } catch (e: IllegalArgumentException) {
            fail("${file.name}: not a JSON object: ${e.message}")
        }

    @TestFactory
    fun `every shared vector prices the same in Kotlin`(): List<DynamicTest> =
        vectorFiles().map { file ->
            val vector = load(file)
            val name = vector["name"] as? String ?: file.name.removeSuffix(".json")
            DynamicTest.dynamicTest(name) {
                // The vector's name leads the message, so the console summary names it too.
                try {
                    runVector(vector)
                } catch (e: AssertionError) {
                    throw AssertionError("vector $name: ${e.message}", e)
                }
            }
        }

    @Test
    fun `the vectors folder is complete and well-formed`() {
        val files = vectorFiles()
        assertTrue(files.size >= 40, "only ${files.size} vectors in ${vectorsDir()}; expected at least 40")
        val problems = mutableListOf<String>()
        for (file in files) {
            val v = load(file)
            val name = v["name"] as? String
            if (name.isNullOrEmpty() || (v["description"] as? String).isNullOrEmpty()) {
                problems += "${file.name}: needs a \"name\" and a \"description\""
            } else if ("$name.json" != file.name) {
                problems += "${file.name}: should be named after the vector, $name.json"
            }
            if (!v.containsKey("request")) problems += "${file.name}: no \"request\""
            if (v.containsKey("expect") == v.containsKey("error")) {
                problems += "${file.name}: needs exactly one of \"expect\" and \"error\""
            }
        }
        assertTrue(problems.isEmpty(), problems.joinToString("\n  ", "${problems.size} malformed vectors:\n  "))
    }

    /** Runs one vector: a result matching `expect`, or the typed exception `error` describes. */
    private fun runVector(vector: Map<String, Any?>) {
        val request = Json.write(vector["request"] ?: fail("no \"request\""))
        val expect = vector["expect"]
        @Suppress("UNCHECKED_CAST")
        val error = vector["error"] as Map<String, Any?>?
        val result = try {
            Result.success(priceJson(request))
        } catch (e: AisleException) {
            Result.failure(e)
        }
        when {
            expect != null && error == null -> {
                val json = result.getOrElse { fail("expected a result, got the error ${it.message}") }
                val mismatch = Json.firstMismatch(expect, Json.parse(json))
                if (mismatch != null) fail<Unit>(mismatch)
            }
            error != null && expect == null -> {
                val e = result.exceptionOrNull() as AisleException? ?: fail("expected the error ${Json.write(error)}, got a result")
                val code = error["code"] as? String ?: fail("error without \"code\"")
                assertEquals(code, e.code, "error code (${e.message})")
                // The typed subclass, not the catch-all for codes newer than the binding.
                assertTrue(e !is AisleException.Other, "$code arrived as AisleException.Other: ${e.message}")
                val part = error["message_contains"] as? String
                if (part != null) {
                    assertTrue(e.message.orEmpty().contains(part), "message should contain \"$part\", got: ${e.message}")
                }
            }
            else -> fail("a vector needs exactly one of \"expect\" and \"error\"")
        }
    }

    @Test
    fun `the matcher follows the documented rules`() {
        val actual = Json.parse("""{"a":{"minor":5,"currency":"EUR"},"b":[1,{"c":2,"d":3}],"e":"x"}""")
        fun mismatch(expected: String) = Json.firstMismatch(Json.parse(expected), actual)
        assertNull(mismatch("{}"))
        assertNull(mismatch("""{"b":[1,{"d":3}]}"""))
        assertEquals("$.a.minor: expected 6, got 5", mismatch("""{"a":{"minor":6}}"""))
        assertTrue(mismatch("""{"b":[1]}""")!!.startsWith("$.b: expected 1 elements, got 2"))
        assertEquals("$.b[1].z: missing (expected 1)", mismatch("""{"b":[1,{"z":1}]}"""))
        assertEquals("$.e: expected 1, got \"x\"", mismatch("""{"e":1}"""))
        assertEquals("$.a: expected null, got {\"minor\":5,\"currency\":\"EUR\"}", mismatch("""{"a":null}"""))
    }

    @Test
    fun `the JSON reader keeps what the vectors say`() {
        val text = """{"s":"a\"b\\c\u00e9\n","n":[0,-12,12.5,1e3],"t":true,"f":false,"z":null,"o":{}}"""
        val v = Json.obj(text)
        assertEquals("a\"b\\c\u00e9\n", v["s"])
        assertEquals(listOf("0", "-12", "12.5", "1e3"), (v["n"] as List<*>).map { it.toString() })
        assertEquals(Json.Num("1000"), (v["n"] as List<*>)[3])
        assertEquals(Json.obj(text), Json.obj(Json.write(v)))
        for (bad in listOf("", "{", "[1,]", "{\"a\" 1}", "01", "\"x", "{} x", "{\"a\":1,\"a\":2}")) {
            assertTrue(runCatching { Json.parse(bad) }.isFailure, "accepted: $bad")
        }
    }
}
