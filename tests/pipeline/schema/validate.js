#!/usr/bin/env node
// Validate Azure Pipelines YAML files the way the editor extension does: the
// `azure-pipelines-language-service` npm package (the extension's validator) with the extension's own
// `service-schema.json` (vendored here gzipped; provenance in SOURCE.json).
//
//   node tests/pipeline/schema/validate.js FILE...
//
// Prints one JSON object: {"<file>": [{"severity": "error"|"warning", "line": N, "message": "..."}]}.
// Exit 0 when it ran (whatever it found), 2 on bad usage.
"use strict";

const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const service = require("azure-pipelines-language-service");

// The schema service logs every lookup with console.log: keep stdout for the result.
console.log = (...args) => { if (process.env.VALIDATE_DEBUG) process.stderr.write(args.join(" ") + "\n"); };

const SCHEMA_URI = "file:///azure-pipelines/service-schema.json";

async function main(files) {
  if (files.length === 0) {
    process.stderr.write("usage: validate.js FILE...\n");
    return 2;
  }
  const schema = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(__dirname, "service-schema.json.gz"))).toString("utf8"));
  const requestService = (uri) => Promise.reject(new Error(`no network: ${uri}`));
  const workspace = { resolveRelativePath: (relative, resource) => new URL(relative, resource).toString() };
  const ls = service.getLanguageService(requestService, [], null, workspace);
  ls.configure({ validate: true, schemas: [{ uri: SCHEMA_URI, fileMatch: ["*"], schema }] });

  const out = {};
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    const uri = "file://" + path.resolve(file);
    const doc = service.TextDocument.create(uri, "azure-pipelines", 1, text);
    const diagnostics = await ls.doValidation(doc, service.parse(text));
    out[file] = diagnostics.map((d) => ({
      severity: d.severity === service.DiagnosticSeverity.Error ? "error" : d.severity === service.DiagnosticSeverity.Warning ? "warning" : "hint",
      line: d.range.start.line + 1,
      message: d.message,
    }));
  }
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`validate.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
