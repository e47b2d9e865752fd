#!/usr/bin/env bash
# Builds the Kotlin binding from scratch and runs its JUnit 5 suite against the real native
# library. Needs only cargo, a JDK 17 and Maven; Maven fetches Kotlin, JNA and JUnit itself.
#
#   bash scripts/test-kotlin.sh            # from the repository root (or anywhere)
#
# Steps: build the cdylib (debug profile, shared workspace target dir) → generate the Kotlin
# sources from it with the workspace's own uniffi-bindgen → write a store file with the Rust
# core → prepare the vision models (scripts/models.sh, $AISLE_MODELS) → `mvn test`, which reads
# that file back, runs the shared vectors in tests/vectors/commerce and the real vision models
# → write the test classpath and the native library's folder for the cross-language sync agent.
#
# The Kotlin sync agent (tests/sync-cross/PROTOCOL.md) then runs, from bindings-kotlin/, as
#   java -Djna.library.path="$(cat target/native-dir.txt)" \
#        -cp "target/classes:target/test-classes:$(cat target/test-classpath.txt)" dev.aisle.SyncAgentKt
# (jna.library.path is the one system property the suite itself needs: Surefire sets it the same way.)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-$root/target}"
# With CARGO_BUILD_TARGET set (the Makefile sets it), artifacts live under target/<triple>/.
profile_dir="$target_dir/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}debug"
case "$(uname -s)" in
    Darwin) lib="$profile_dir/libaisle_kotlin.dylib" ;;
    *) lib="$profile_dir/libaisle_kotlin.so" ;;
esac
generated="$root/bindings-kotlin/target/generated-sources/uniffi"
fixture_dir="$root/bindings-kotlin/target/fixtures"
fixture="$fixture_dir/rust-writer.db"
# The shared pricing vectors (VectorsTest fails, never skips, if the folder is missing).
vectors="$root/tests/vectors/commerce"

echo "==> cargo build -p aisle-kotlin"
cargo build -p aisle-kotlin

echo "==> uniffi-bindgen generate (Kotlin) -> ${generated#"$root"/}"
# Stale sources of a removed type must not survive: regenerate from scratch every time.
rm -rf "$generated"
mkdir -p "$generated"
cargo run -q -p uniffi-bindgen -- generate --library "$lib" --language kotlin --no-format --out-dir "$generated"

echo "==> write_fixture -> ${fixture#"$root"/}"
mkdir -p "$fixture_dir"
rm -f "$fixture" "$fixture-wal" "$fixture-shm"
cargo run -q -p aisle-examples --bin write_fixture -- "$fixture"

# The real models and photos of VisionTest (cheap when cached); Surefire's JVM inherits the env.
export AISLE_MODELS="${AISLE_MODELS:-$root/target/models}"
echo "==> models.sh ensure -> $AISLE_MODELS"
bash "$root/scripts/models.sh" ensure

echo "==> mvn test (bindings-kotlin)"
cd "$root/bindings-kotlin"
# -B -ntp: no colours, no download progress; Surefire's "Tests run: N, Failures: 0" still prints.
AISLE_FIXTURE="$fixture" mvn -B -ntp \
    -Daisle.fixture="$fixture" \
    -Daisle.native.dir="$(dirname "$lib")" \
    -Daisle.vectors.dir="$vectors" \
    test

echo "==> test classpath -> bindings-kotlin/target/test-classpath.txt (for dev.aisle.SyncAgentKt)"
mvn -B -ntp -q dependency:build-classpath \
    -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
printf '%s\n' "$(dirname "$lib")" > target/native-dir.txt
