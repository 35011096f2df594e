#!/usr/bin/env node
/**
 * Builds the package (npm run build; npm pack runs it as prepack): takes the version from
 * the repository's VERSION file, the one place Cairn's version is set (the root package.json,
 * which `cairn --version` reads, must say the same; npm run build copies it into this
 * package.json, and npm pack refuses while the two differ), then compiles
 * src/ and the generated code it imports into dist/ (JavaScript, ESM, with .d.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const ROOT_MANIFEST = join(PACKAGE_DIR, '..', '..', 'package.json');
const OWN_MANIFEST = join(PACKAGE_DIR, 'package.json');

const VERSION_FILE = join(PACKAGE_DIR, '..', '..', 'VERSION');
const version = readFileSync(VERSION_FILE, 'utf8').trim();
if (version === '') throw new Error(`${VERSION_FILE} is empty`);
const rootVersion = JSON.parse(readFileSync(ROOT_MANIFEST, 'utf8')).version;
if (rootVersion !== version) {
  console.error(`the root package.json says ${rootVersion} but VERSION says ${version}: set the root package.json's version to VERSION's`);
  process.exit(1);
}
const ownText = readFileSync(OWN_MANIFEST, 'utf8');
const own = JSON.parse(ownText);
if (own.version !== version) {
  // npm pack has read the manifest (and named the tarball) before running prepack, so
  // changing it now would ship a package.json that disagrees with its tarball: refuse.
  if (process.env.npm_lifecycle_event === 'prepack') {
    console.error(`${own.name} is at ${own.version} but Cairn is at ${version} (root package.json): run \`npm run build\` here first`);
    process.exit(1);
  }
  own.version = version;
  writeFileSync(OWN_MANIFEST, `${JSON.stringify(own, null, 2)}\n`);
  console.log(`${own.name}: version ${version}, from VERSION`);
}

rmSync(join(PACKAGE_DIR, 'dist'), { recursive: true, force: true });
// The TypeScript of the repository (a devDependency of the root package, not of this one).
const tsc = createRequire(ROOT_MANIFEST).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(PACKAGE_DIR, 'tsconfig.json')], { stdio: 'inherit' });
