// Drift check: the committed loader (index.js) and typings (index.d.ts) must be what a fresh
// `napi build` of the current Rust code generates. `npm run build` (scripts/test-node.sh runs
// it) writes the fresh ones to .napi/ without touching the committed files.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
const fresh = join(pkg, '.napi')

test('committed index.d.ts and index.js match a fresh napi build', () => {
  assert.ok(existsSync(fresh), 'no fresh build in .napi/: run `npm run build` first')
  const built = statSync(join(fresh, 'index.d.ts')).mtimeMs
  const sources = [
    join(pkg, 'Cargo.toml'),
    join(pkg, 'scripts', 'dts-header.txt'), // the head of index.d.ts (package.json napi.dtsHeaderFile)
    ...readdirSync(join(pkg, 'src')).map((f) => join(pkg, 'src', f)),
  ]
  for (const source of sources) {
    assert.ok(statSync(source).mtimeMs <= built, `${source} changed after the last build: run \`npm run build\``)
  }
  for (const file of ['index.d.ts', 'index.js']) {
    assert.equal(
      readFileSync(join(pkg, file), 'utf8'),
      readFileSync(join(fresh, file), 'utf8'),
      `${file} differs from a fresh build: run \`npm run generate\` and commit it`,
    )
  }
})
