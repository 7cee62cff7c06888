// as-pect runs the AssemblyScript unit specs under assembly/__tests__.
export default {
  entries: ["assembly/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  // Besides as-pect's own imports and the memory, one oracle: JavaScript's
  // Number() of an AssemblyScript string (numparse.spec.ts checks the decimal
  // parser against it; Number() is correctly rounded).
  async instantiate(memory, createImports, instantiate, binary) {
    let mem = memory;
    const jsNumber = (ptr) => {
      const bytes = new DataView(mem.buffer).getUint32(ptr - 4, true);
      return Number(Buffer.from(mem.buffer, ptr, bytes).toString("utf16le"));
    };
    const result = await instantiate(binary, createImports({ env: { memory, jsNumber } }));
    mem = (result.exports ?? result.instance?.exports)?.memory ?? memory;
    return result;
  },
  outputBinary: false,
};
