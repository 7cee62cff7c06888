// Types for the tests that import the transform's packer (tests/filter/strings.test.ts).
/** LZ77-pack the catalogue's bytes (the token format is described in the .mjs). */
export function pack(bytes: Uint8Array): number[];
declare const StringCatalogue: unknown;
export default StringCatalogue;
