// Preloaded into the jsii kernel's Node process (NODE_OPTIONS=--require, set by _lazy_bindings.py).
//
// The prebuilt provider npm packages' lib/index.js is nothing but `exports.<name> = require("./<dir>");`
// for every resource (1,527 of them for azurerm): loading it compiles every resource's JavaScript, although
// the kernel only ever reaches a type through `exports.<submodule>.<Type>`. This hook runs such an
// index.js as lazy getters instead: each submodule is required on first access and then cached as a plain
// property, so what the kernel sees is the same object graph. An index.js with any other statement (a
// different package version or generator) is run unchanged, and so is every other file.
//
// It also runs `terraform version` once per kernel instead of once per cdktf version check (see below).
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

// EMOTION_PLATFORM_LAZY_BINDINGS=0 turns every part of this file off, also when NODE_OPTIONS still preloads it.
const ENABLED = !/^\s*(0|false|no|off)\s*$/i.test(process.env.EMOTION_PLATFORM_LAZY_BINDINGS || "");

const compileJs = Module._extensions[".js"];
Module._extensions[".js"] = function lazyProviderIndex(module, filename) {
  const target = PACKAGES.exec(filename);
  if (target && ENABLED) {
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

// `terraform version`, once per kernel. cdktf checks the local Terraform at synth for every construct that
// needs a newer one (terraform_data: >= 1.4; moved blocks and imports: >= 1.5), each time by running the
// command through execSync: four runs for the Phase 2 app, ~50 ms and a ~50 MB process each, on the synth's
// critical path and at its memory peak. The output of its first successful run is kept and handed to the
// later ones (cdktf's own check then reads it as before); a failure is never kept, so a missing or broken
// Terraform fails every check exactly as without this hook. With EMOTION_PLATFORM_TERRAFORM_PREFETCH=1
// (emotion_platform.app sets it for the kernel it starts) the first run starts in the background as the
// kernel starts, when the process tree is small; a check that comes before it has finished runs its own.
const childProcess = require("child_process");

const TERRAFORM_VERSION = `${process.env.TERRAFORM_BINARY_NAME || "terraform"} version`; // cdktf's versionCommand
let terraformVersion = null; // stdout of the first successful run

function execSyncOnce(execSync) {
  return function execSyncOnce(command, options) {
    const plain = command === TERRAFORM_VERSION && options && options.stdio === "pipe" && !options.encoding;
    if (plain && terraformVersion !== null) {
      log("terraform version: reused");
      return Buffer.from(terraformVersion);
    }
    const out = execSync.apply(this, arguments);
    if (plain) {
      log("terraform version: ran");
      terraformVersion = Buffer.from(out);
    }
    return out;
  };
}
if (ENABLED) childProcess.execSync = execSyncOnce(childProcess.execSync);

// jsii starts two Node processes, bin/jsii-runtime.js and the kernel, lib/program.js: only the kernel checks.
const IS_KERNEL = /[\\/]lib[\\/]program\.js$/.test(process.argv[1] || "");
if (ENABLED && IS_KERNEL && process.env.EMOTION_PLATFORM_TERRAFORM_PREFETCH === "1") {
  childProcess.exec(TERRAFORM_VERSION, { encoding: "buffer" }, (error, stdout) => {
    if (!error && terraformVersion === null) {
      log("terraform version: prefetched");
      terraformVersion = Buffer.from(stdout);
    }
  });
}
