// Builds the native addon (debug profile, shared workspace target dir) with the napi CLI into
// .napi/, then copies the addon next to the committed loader.
//
// The generated loader (index.js) and typings (index.d.ts) are committed and are NOT
// overwritten by a plain build: test/generated.test.mjs compares them with the fresh ones in
// .napi/, so a Rust API change that was not regenerated fails the tests. After changing the
// Rust API, run `npm run generate` (this script with --update) and commit the result.
import { spawnSync } from 'node:child_process'
import { copyFileSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(pkg, '.napi')
const update = process.argv.includes('--update')
const release = process.argv.includes('--release')

rmSync(out, { recursive: true, force: true })
const napi = join(pkg, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
const args = [napi, 'build', '--platform', '--output-dir', out, ...(release ? ['--release'] : [])]
const run = spawnSync(process.execPath, args, { cwd: pkg, stdio: 'inherit' })
if (run.status !== 0) {
  console.error(`napi build failed (${run.signal ?? `exit ${run.status}`})`)
  process.exit(1)
}

const addons = readdirSync(out).filter((f) => f.endsWith('.node'))
if (addons.length === 0) {
  console.error(`napi build produced no .node file in ${out}`)
  process.exit(1)
}
for (const f of addons) copyFileSync(join(out, f), join(pkg, f))
if (update) {
  for (const f of ['index.js', 'index.d.ts']) copyFileSync(join(out, f), join(pkg, f))
  console.log('updated index.js and index.d.ts from the fresh build')
}
