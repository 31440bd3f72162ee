import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { writeFileAtomic } from "../src/write-file-atomic.js";

// A disk that fails while the temporary file is flushed: the data is written, the write is not done.
const disk = vi.hoisted(() => ({ failFsync: false }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  return {
    ...fs,
    fsync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) =>
      disk.failFsync ? callback(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" })) : fs.fsync(fd, callback),
  };
});

describe("writeFileAtomic", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cws-atomic-"));
    file = join(dir, "amis.json");
    disk.failFsync = false;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("creates a file, then replaces it, leaving nothing else in the directory", async () => {
    await writeFileAtomic(file, "first\n");
    expect(readFileSync(file, "utf8")).toBe("first\n");
    await writeFileAtomic(file, Buffer.from([0xef, 0xbb, 0xbf, 0x61]));
    expect([...readFileSync(file)]).toEqual([0xef, 0xbb, 0xbf, 0x61]);
    expect(readdirSync(dir)).toEqual(["amis.json"]);
  });

  it("gives the file exactly the mode asked for, whatever the umask", async () => {
    await writeFileAtomic(file, "x", { mode: 0o640 });
    expect(statSync(file).mode & 0o777).toBe(0o640);
    await writeFileAtomic(file, "y", { mode: 0o757, fsync: false });
    expect(statSync(file).mode & 0o777).toBe(0o757);
  });

  it("leaves the old file intact and no temporary file when the disk fails mid-write", async () => {
    writeFileSync(file, "old\n");
    disk.failFsync = true;
    // The machine failed, not the path: exit 1, named, no errno.
    await expect(writeFileAtomic(file, "new\n")).rejects.toMatchObject({ code: "IO_ERROR", exitCode: 1, message: `${file}: cannot be written: input/output error` });
    expect(readFileSync(file, "utf8")).toBe("old\n");
    expect(readdirSync(dir)).toEqual(["amis.json"]);
  });

  it("leaves the old file intact and no temporary file when beforeRename refuses", async () => {
    writeFileSync(file, "old\n");
    const refused = new Error("the file changed");
    let complete = "";
    await expect(
      writeFileAtomic(file, "new\n", {
        beforeRename: () => {
          complete = readFileSync(join(dir, readdirSync(dir).find((name) => name.endsWith(".tmp"))!), "utf8");
          throw refused;
        },
      }),
    ).rejects.toBe(refused);
    expect(complete).toBe("new\n");
    expect(readFileSync(file, "utf8")).toBe("old\n");
    expect(readdirSync(dir)).toEqual(["amis.json"]);
  });

  it("leaves no temporary file when the rename fails", async () => {
    // A directory with something in it cannot be replaced by a file.
    const occupied = join(dir, "occupied");
    mkdirSync(occupied);
    writeFileSync(join(occupied, "keep"), "kept");
    await expect(writeFileAtomic(occupied, "a file")).rejects.toMatchObject({ code: "NOT_A_FILE", exitCode: 2, message: `${occupied}: is a directory, not a regular file` });
    expect(readdirSync(dir)).toEqual(["occupied"]);
    expect(readFileSync(join(occupied, "keep"), "utf8")).toBe("kept");
  });

  it("writes through a symbolic link: the file it names changes and the link stays a link", async () => {
    mkdirSync(join(dir, "shared"));
    writeFileSync(join(dir, "shared", "real.json"), "old\n");
    symlinkSync(join("shared", "real.json"), file);
    await writeFileAtomic(file, "new\n");
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, "shared", "real.json"), "utf8")).toBe("new\n");
    expect(readdirSync(join(dir, "shared"))).toEqual(["real.json"]);
  });

  it("names the path at fault when the target's directory is missing or is a file (exit 2)", async () => {
    await expect(writeFileAtomic(join(dir, "missing", "amis.json"), "x")).rejects.toMatchObject({
      exitCode: 2,
      message: `${join(dir, "missing", "amis.json")}: cannot be written: its directory ${join(dir, "missing")} does not exist`,
    });
    writeFileSync(join(dir, "plain"), "a file");
    await expect(writeFileAtomic(join(dir, "plain", "amis.json"), "x")).rejects.toMatchObject({
      exitCode: 2,
      message: `${join(dir, "plain", "amis.json")}: is inside ${join(dir, "plain")}, which is a regular file, not a directory`,
    });
    expect(readdirSync(dir).sort()).toEqual(["plain"]);
  });

  it("lets concurrent writers each replace the whole file", async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `${String(i).repeat(10_000)}\n`);
    await Promise.all(texts.map((text) => writeFileAtomic(file, text)));
    expect(texts).toContain(readFileSync(file, "utf8"));
    expect(readdirSync(dir)).toEqual(["amis.json"]);
  });
});
