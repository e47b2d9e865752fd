package dev.aisle

import java.math.BigDecimal

/**
 * Just enough JSON for the tests, so the suite needs no JSON library: a reader into
 * `Map<String, Any?>` (insertion-ordered) / `List<Any?>` / `String` / [Json.Num] / `Boolean` /
 * `null`, a writer back to text, and the shared vectors' subset matcher.
 *
 * Numbers stay as written ([Json.Num]): a request is sent to the core exactly as the vector
 * has it, so `12.5` stays a float the core must refuse and `1250` stays an integer.
 */
object Json {
    /** A JSON number as written; equal to another if they are the same decimal value. */
    class Num(val text: String) {
        val value: BigDecimal = BigDecimal(text)

        override fun equals(other: Any?) = other is Num && value.compareTo(other.value) == 0

        override fun hashCode() = value.stripTrailingZeros().hashCode()

        override fun toString() = text
    }

    fun parse(text: String): Any? = Reader(text).document()

    /** Parses a JSON object (what every Aisle result is). */
    @Suppress("UNCHECKED_CAST")
    fun obj(text: String): Map<String, Any?> =
        parse(text) as? Map<String, Any?> ?: throw IllegalArgumentException("not a JSON object: ${text.take(80)}")

    fun write(value: Any?): String = StringBuilder().also { write(value, it) }.toString()

    /**
     * `null` if [actual] matches [expected], else the JSON path of the first difference and
     * why (tests/vectors/README.md): objects must contain every expected key with a matching
     * value (other keys are ignored); arrays must have the same length and match element-wise;
     * anything else must be equal.
     */
    fun firstMismatch(expected: Any?, actual: Any?, path: String = "$"): String? = when {
        expected is Map<*, *> && actual is Map<*, *> -> expected.entries.firstNotNullOfOrNull { (k, ev) ->
            if (!actual.containsKey(k)) "$path.$k: missing (expected ${write(ev)})" else firstMismatch(ev, actual[k], "$path.$k")
        }
        expected is List<*> && actual is List<*> ->
            if (expected.size != actual.size) {
                "$path: expected ${expected.size} elements, got ${actual.size}: ${write(actual)}"
            } else {
                expected.indices.firstNotNullOfOrNull { i -> firstMismatch(expected[i], actual[i], "$path[$i]") }
            }
        expected == actual -> null
        else -> "$path: expected ${write(expected)}, got ${write(actual)}"
    }

    private fun write(value: Any?, out: StringBuilder) {
        when (value) {
            null -> out.append("null")
            is Boolean -> out.append(value)
            is Num -> out.append(value.text)
            is Number -> out.append(value.toString())
            is String -> quote(value, out)
            is Map<*, *> -> {
                out.append('{')
                value.entries.forEachIndexed { n, (k, v) ->
                    if (n > 0) out.append(',')
                    quote(k as String, out)
                    out.append(':')
                    write(v, out)
                }
                out.append('}')
            }
            is List<*> -> {
                out.append('[')
                value.forEachIndexed { n, v ->
                    if (n > 0) out.append(',')
                    write(v, out)
                }
                out.append(']')
            }
            else -> throw IllegalArgumentException("cannot write ${value.javaClass} as JSON")
        }
    }

    private fun quote(s: String, out: StringBuilder) {
        out.append('"')
        for (c in s) {
            when {
                c == '"' -> out.append("\\\"")
                c == '\\' -> out.append("\\\\")
                c < ' ' -> out.append("\\u%04x".format(c.code))
                else -> out.append(c)
            }
        }
        out.append('"')
    }

    private class Reader(private val s: String) {
        private var i = 0

        fun document(): Any? {
            val v = value()
            space()
            if (i != s.length) fail("trailing characters")
            return v
        }

        private fun fail(why: String): Nothing = throw IllegalArgumentException("JSON at offset $i: $why")

        private fun space() {
            while (i < s.length && s[i] in " \t\r\n") i++
        }

        private fun expect(c: Char) {
            space()
            if (i >= s.length || s[i] != c) fail("expected '$c'")
            i++
        }

        private fun at(c: Char): Boolean {
            space()
            return i < s.length && s[i] == c
        }

        private fun value(): Any? {
            space()
            if (i >= s.length) fail("unexpected end")
            val c = s[i]
            return when {
                c == '{' -> obj()
                c == '[' -> array()
                c == '"' -> string()
                c == '-' || c.isDigit() -> number()
                s.startsWith("true", i) -> true.also { i += 4 }
                s.startsWith("false", i) -> false.also { i += 5 }
                s.startsWith("null", i) -> null.also { i += 4 }
                else -> fail("unexpected '$c'")
            }
        }

        private fun obj(): Map<String, Any?> {
            expect('{')
            val map = LinkedHashMap<String, Any?>()
            if (at('}')) return map.also { i++ }
            while (true) {
                if (!at('"')) fail("expected a key")
                val key = string()
                if (map.containsKey(key)) fail("duplicate key \"$key\"")
                expect(':')
                map[key] = value()
                if (at(',')) i++ else return map.also { expect('}') }
            }
        }

        private fun array(): List<Any?> {
            expect('[')
            val list = ArrayList<Any?>()
            if (at(']')) return list.also { i++ }
            while (true) {
                list.add(value())
                if (at(',')) i++ else return list.also { expect(']') }
            }
        }

        private fun string(): String {
            expect('"')
            val out = StringBuilder()
            while (true) {
                if (i >= s.length) fail("unterminated string")
                val c = s[i++]
                when {
                    c == '"' -> return out.toString()
                    c < ' ' -> fail("control character in a string")
                    c != '\\' -> out.append(c)
                    else -> {
                        if (i >= s.length) fail("unterminated escape")
                        when (val e = s[i++]) {
                            '"', '\\', '/' -> out.append(e)
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000C')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                val hex = s.substring(i, minOf(i + 4, s.length))
                                val code = hex.takeIf { it.length == 4 }?.toIntOrNull(16) ?: fail("bad \\u escape")
                                out.append(code.toChar())
                                i += 4
                            }
                            else -> fail("bad escape \\$e")
                        }
                    }
                }
            }
        }

        private fun number(): Num {
            val start = i
            while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
            val text = s.substring(start, i)
            if (!Regex("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?").matches(text)) fail("bad number $text")
            return Num(text)
        }
    }
}
