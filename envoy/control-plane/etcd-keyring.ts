// APISIX's Admin API does not store private keys as sent: with
// `apisix.data_encryption` (on by default, with a default keyring) it writes
// ssls[].key, ssls[].keys[] and an upstream's tls.client_key as base64 of
// AES-CBC ciphertext, the key and the IV both being one keyring entry
// (16 bytes: AES-128, 32 bytes: AES-256). A value that starts with "---" is
// PEM already and stays as it is; otherwise each keyring entry is tried in
// order, as APISIX's data_encryption.decrypt does.
import crypto from "node:crypto";

/** APISIX's default `apisix.data_encryption.keyring` (conf/config-default / cli/config.lua). */
export const APISIX_DEFAULT_KEYRING = ["qeddd145sfvddff3", "edd1c9f0985e76a2"];

export function checkKeyring(keyring: string[]): void {
  for (const k of keyring) {
    const n = Buffer.byteLength(k);
    if (n !== 16 && n !== 32) throw new Error(`--data-encryption-keyring: an entry is ${n} bytes; APISIX accepts 16 (AES-128) or 32 (AES-256)`);
  }
}

/** The PEM text of a stored private key, or an error message when no keyring entry opens it. */
export function decryptPkey(stored: string, keyring: string[]): { pem: string } | { error: string } {
  if (stored.startsWith("---")) return { pem: stored };
  const data = Buffer.from(stored, "base64");
  if (data.length === 0 || data.length % 16 !== 0) return { error: "not PEM, and not base64 of AES-CBC ciphertext" };
  for (const k of keyring) {
    const key = Buffer.from(k);
    try {
      const d = crypto.createDecipheriv(key.length === 32 ? "aes-256-cbc" : "aes-128-cbc", key, key.subarray(0, 16));
      const pem = Buffer.concat([d.update(data), d.final()]).toString("utf8");
      if (pem.startsWith("---")) return { pem };
    } catch {
      /* wrong key: padding check failed; try the next entry */
    }
  }
  return { error: keyring.length ? "no --data-encryption-keyring entry decrypts it" : "it is encrypted and no --data-encryption-keyring is set" };
}

/** Encrypts like APISIX's Admin API (tests and the worked example write what APISIX would store). */
export function encryptPkey(pem: string, keyring: string[] = APISIX_DEFAULT_KEYRING): string {
  const key = Buffer.from(keyring[0]);
  const c = crypto.createCipheriv(key.length === 32 ? "aes-256-cbc" : "aes-128-cbc", key, key.subarray(0, 16));
  return Buffer.concat([c.update(pem, "utf8"), c.final()]).toString("base64");
}
