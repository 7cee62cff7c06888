#!/usr/bin/env node
// `npx apisix-wasm ...` (package.json "bin"): the CLI is TypeScript, run
// through tsx's loader as `npm run cli` does.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./apisix-wasm.ts");
process.exit(await main(process.argv.slice(2)));
