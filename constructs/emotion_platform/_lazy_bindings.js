// Preloaded into the jsii kernel's Node process (NODE_OPTIONS=--require, set by _lazy_bindings.py).
//
// The prebuilt provider npm packages' lib/index.js is nothing but `exports.<name> = require("./<dir>");`
// for every resource (1,527 of them for azurerm): loading it compiles every resource's JavaScript, although
// the kernel only ever reaches a type through `exports.<submodule>.<Type>`. This hook runs such an
// index.js as lazy getters instead: each submodule is required on first access and then cached as a plain
// property, so what the kernel sees is the same object graph. An index.js with any other statement (a
// different package version or generator) is run unchanged, and so is every other file.
"use strict";

const fs = require("fs");
const Module = require("module");

const PACKAGES = /[\\/](@cdktf[\\/]provider-(?:azurerm|time))[\\/]lib[\\/]index\.js$/;
const EXPORT_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\(("\.\/[^"\\]+")\);$/;
const HEADER = [
  /^"use strict";$/,
  /^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/,
  /^exports\.[\w$]+ = (?:exports\.[\w$]+ = )*void 0;$/, // TypeScript's hoisted declarations
  /^\/\/.*$/,
  /^\/\*\*?.*$/, /^\s*\*.*$/, // the licence comment
];

// EMOTION_PLATFORM_LAZY_BINDINGS_LOG=<file>: one line per index made lazy and per submodule loaded (tests, bench).
const LOG = process.env.EMOTION_PLATFORM_LAZY_BINDINGS_LOG;
function log(line) {
  if (!LOG) return;
  try {
    fs.appendFileSync(LOG, `${line}\n`);
  } catch {
    // a diagnostic must never break a synth
  }
}

/** [[name, "./path"], ...] when `source` is only the header and export lines, else null. */
function lazyExports(source) {
  const entries = [];
  for (const raw of source.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    const match = EXPORT_LINE.exec(line);
    if (match) {
      entries.push([match[1], JSON.parse(match[2])]);
    } else if (!HEADER.some((re) => re.test(line))) {
      return null;
    }
  }
  return entries.length > 0 ? entries : null;
}

const compileJs = Module._extensions[".js"];
Module._extensions[".js"] = function lazyProviderIndex(module, filename) {
  const target = PACKAGES.exec(filename);
  if (target && !/^\s*(0|false|no|off)\s*$/i.test(process.env.EMOTION_PLATFORM_LAZY_BINDINGS || "")) {
    const entries = lazyExports(fs.readFileSync(filename, "utf8"));
    if (entries) {
      const pkg = target[1].replace(/\\/g, "/");
      log(`lazy ${pkg} ${entries.length}`);
      Object.defineProperty(module.exports, "__esModule", { value: true });
      for (const [name, path] of entries) {
        Object.defineProperty(module.exports, name, {
          configurable: true,
          enumerable: true,
          get() {
            const value = module.require(path);
            log(`load ${pkg} ${name}`);
            Object.defineProperty(module.exports, name, { value, configurable: true, enumerable: true, writable: true });
            return value;
          },
        });
      }
      return;
    }
  }
  return compileJs.call(this, module, filename);
};
