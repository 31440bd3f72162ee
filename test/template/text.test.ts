import { describe, expect, it } from "vitest";
import { firstInvalidUtf8 } from "../../src/file-access.js";
import { decodeText } from "../../src/template/text.js";

describe("firstInvalidUtf8", () => {
  it("points at the first byte of the ill-formed sequence, not where a decoder gives up", () => {
    expect(firstInvalidUtf8(Buffer.from("name: caf\xe9\n", "latin1"))).toBe(9); // a Latin-1 é before a newline
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc3]))).toBe(1); // cut off at the end
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0); // overlong
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // a surrogate
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // past U+10FFFF
    expect(firstInvalidUtf8(Buffer.from([0x80]))).toBe(0); // a lone continuation byte
    expect(firstInvalidUtf8(Buffer.from("ok: ünïcødé 🚀", "utf8"))).toBe(Buffer.byteLength("ok: ünïcødé 🚀"));
  });

  it("agrees with a strict decoder on thousands of random byte strings", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    const strict = new TextDecoder("utf-8", { fatal: true });
    for (let n = 0; n < 5000; n++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 8) }, () => (random() < 0.5 ? 0x80 + Math.floor(random() * 0x80) : Math.floor(random() * 0x80)));
      const at = firstInvalidUtf8(bytes);
      let valid = true;
      try {
        strict.decode(bytes);
      } catch {
        valid = false;
      }
      expect(at === bytes.length, Buffer.from(bytes).toString("hex")).toBe(valid);
      expect(() => strict.decode(bytes.subarray(0, at)), Buffer.from(bytes).toString("hex")).not.toThrow();
    }
  });

  it("places the bad byte at its line and column", () => {
    expect(decodeText(Buffer.from("a: 1\nname: caf\xe9\n", "latin1"), undefined)).toMatchObject({ problem: "not valid UTF-8 text (bad byte 0xe9 at offset 14)", line: 2, column: 10 });
  });
});
