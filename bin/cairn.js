#!/usr/bin/env node
// The cairn command; the TypeScript sources are compiled into dist/ by `npm run build`.
import '../dist/server/cli/cairn.js';
