// ESM entry point: the same native binding as index.js (the generated CommonJS loader).
// Node detects the loader's named exports (`module.exports.X = ...`), so this stays in step
// with the Rust API without edits; test/esm.test.mjs checks that it does.
export * from './index.js'
export { default } from './index.js'
