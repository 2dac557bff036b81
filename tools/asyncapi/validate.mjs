// Validates an AsyncAPI document with the reference parser (@asyncapi/parser, pinned in package.json).
// Usage: node tools/asyncapi/validate.mjs docs/asyncapi.json
// Prints the parser's diagnostics as JSON lines; exits 1 on any error (warnings are printed, not fatal).
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs DOCUMENT");
  process.exit(64);
}
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(path, "utf8"), { source: path });
for (const d of diagnostics) {
  const severity = Object.keys(DiagnosticSeverity).find((k) => DiagnosticSeverity[k] === d.severity);
  console.log(JSON.stringify({ severity, code: d.code, message: d.message, path: d.path.join(".") }));
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (!document || errors.length) {
  console.error(`${path}: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(JSON.stringify({ ok: true, version: document.version(), messages: document.allMessages().length }));
