import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fileError, FileAccessError, readDirectoryNames, readRegularFile } from "../src/file-access.js";

/**
 * Every kind of file system entry cws may be pointed at, read through the one
 * reader: a regular file is read; anything else is one FileAccessError naming
 * the path and what it is, at once (a pipe or /dev/zero must not be read).
 */
describe("readRegularFile", () => {
  let dir: string;
  const at = (name: string) => join(dir, name);
  const read = (name: string, maxBytes = 1024) => readRegularFile(at(name), { expected: "file", maxBytes });
  const failure = (name: string, maxBytes = 1024): FileAccessError => {
    try {
      read(name, maxBytes);
    } catch (error) {
      expect(error).toBeInstanceOf(FileAccessError);
      return error as FileAccessError;
    }
    throw new Error(`${name} was read`);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cws-file-access-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a regular file, through a link too, and an empty one", () => {
    writeFileSync(at("t.yml"), "name: x\n");
    symlinkSync("t.yml", at("link.yml"));
    writeFileSync(at("empty.yml"), "");
    expect(read("t.yml").bytes.toString()).toBe("name: x\n");
    expect(read("link.yml").bytes.toString()).toBe("name: x\n");
    expect(read("empty.yml")).toMatchObject({ size: 0, bytes: Buffer.alloc(0) });
  });

  it("reads one byte more than allowed of a huge file, and tells its real size", () => {
    writeFileSync(at("huge.yml"), "");
    truncateSync(at("huge.yml"), 3 * 1024 * 1024 * 1024); // sparse: 3 GiB that take no disk
    const { bytes, size } = read("huge.yml", 1024);
    expect(bytes.byteLength).toBe(1025);
    expect(size).toBe(3 * 1024 * 1024 * 1024);
  });

  it("refuses a directory, a link to one, a named pipe, a socket and devices, saying what each is, without waiting", async () => {
    mkdirSync(at("dir.yml"));
    symlinkSync("dir.yml", at("to-dir.yml"));
    execFileSync("mkfifo", [at("fifo.yml")]);
    symlinkSync("/dev/zero", at("zero.yml"));
    symlinkSync("/dev/null", at("null.yml"));
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(at("socket.yml"), resolve));
    try {
      const started = Date.now();
      expect(failure("dir.yml")).toMatchObject({ code: "NOT_A_FILE", exitCode: 2, message: `${at("dir.yml")}: is a directory, not a regular file` });
      expect(failure("to-dir.yml").problem).toBe('is a symbolic link to "dir.yml", which is a directory, not a regular file');
      expect(failure("fifo.yml").problem).toBe("is a named pipe (FIFO), not a regular file (reading it would wait for a writer)");
      expect(failure("zero.yml").problem).toBe('is a symbolic link to "/dev/zero", which is a character device, not a regular file');
      expect(failure("null.yml").problem).toBe('is a symbolic link to "/dev/null", which is a character device, not a regular file');
      expect(failure("socket.yml").problem).toBe("is a socket, not a regular file");
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("tells a user to name another file, never to remove a device or anything under /dev; the user's own pipe or a link to a device may be removed", () => {
    execFileSync("mkfifo", [at("fifo.yml")]);
    symlinkSync("/dev/null", at("null.yml"));
    for (const device of ["/dev/null", "/dev/zero"]) {
      expect(() => readRegularFile(device, { expected: "file", maxBytes: 10 })).toThrow(expect.objectContaining({ message: `${device}: is a character device, not a regular file`, suggestion: "name a regular file instead" }));
    }
    expect(() => readRegularFile("/dev", { expected: "file", maxBytes: 10 })).toThrow(expect.objectContaining({ suggestion: "name a regular file instead" }));
    expect(failure("fifo.yml").suggestion).toBe("remove it or replace it with a regular file");
    expect(failure("null.yml").suggestion).toBe("remove it or replace it with a regular file");
  });

  it("names a dangling link, a link loop, a missing file and a path through a file", () => {
    symlinkSync("nowhere.yml", at("dangling.yml"));
    symlinkSync("loop-b.yml", at("loop-a.yml"));
    symlinkSync("loop-a.yml", at("loop-b.yml"));
    writeFileSync(at("plain"), "x");
    expect(failure("dangling.yml")).toMatchObject({ code: "DANGLING_LINK", problem: 'is a symbolic link to "nowhere.yml", which does not exist' });
    expect(failure("loop-a.yml")).toMatchObject({ code: "LINK_LOOP", exitCode: 2 });
    expect(failure("missing.yml")).toMatchObject({ code: "NOT_FOUND", problem: "does not exist" });
    expect(failure(join("plain", "amis.json")).problem).toBe(`is inside ${at("plain")}, which is a regular file, not a directory`);
  });

  it("with ifMissing, is undefined only when nothing at all is there (a dangling link is still an error)", () => {
    symlinkSync("nowhere.json", at("dangling.json"));
    expect(readRegularFile(at("missing.json"), { expected: "file", maxBytes: 10, ifMissing: "undefined" })).toBeUndefined();
    expect(() => readRegularFile(at("dangling.json"), { expected: "file", maxBytes: 10, ifMissing: "undefined" })).toThrow("which does not exist");
  });

  it("puts the path's role and the caller's suggestion into the message", () => {
    mkdirSync(at("amis.json"));
    expect(() => readRegularFile(at("amis.json"), { expected: "file", role: "the registry", shownAs: "registry/amis.json", suggestion: "pass --registry FILE", maxBytes: 10 })).toThrow(
      expect.objectContaining({ message: "registry/amis.json: the registry is a directory, not a regular file", suggestion: "pass --registry FILE" }),
    );
  });
});

describe("readDirectoryNames", () => {
  it("lists a directory and names whatever else it is given", () => {
    const dir = mkdtempSync(join(tmpdir(), "cws-file-access-"));
    try {
      writeFileSync(join(dir, "a.yml"), "");
      execFileSync("mkfifo", [join(dir, "fifo")]);
      expect(readDirectoryNames(dir).sort()).toEqual(["a.yml", "fifo"]);
      expect(() => readDirectoryNames(join(dir, "a.yml"), { role: "the templates directory" })).toThrow(`${join(dir, "a.yml")}: the templates directory is a regular file, not a directory`);
      expect(() => readDirectoryNames(join(dir, "fifo"))).toThrow("is a named pipe (FIFO), not a directory");
      expect(() => readDirectoryNames(join(dir, "missing"))).toThrow(`${join(dir, "missing")}: does not exist`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fileError", () => {
  const errno = (code: string) => Object.assign(new Error(`${code}: something, open 'x'`), { code });

  it("maps what the path is at fault for to exit 2, and what the machine is at fault for to exit 1", () => {
    const cases: [code: string, exitCode: number, problem: string][] = [
      ["EACCES", 2, "cannot be read: permission denied"],
      ["EPERM", 2, "cannot be read: permission denied"],
      ["ENAMETOOLONG", 2, "is too long a path for the file system"],
      ["EROFS", 2, "cannot be read: the file system is read-only"],
      ["EMFILE", 1, "cannot be read: too many open files"],
      ["ENFILE", 1, "cannot be read: too many open files"],
      ["EIO", 1, "cannot be read: input/output error"],
      ["ENOSPC", 1, "cannot be read: no space left on the device"],
      ["EBUSY", 1, "cannot be read (EBUSY)"],
    ];
    for (const [code, exitCode, problem] of cases) {
      expect(fileError("some/file", errno(code), { expected: "file" }), code).toMatchObject({ exitCode, problem, message: `some/file: ${problem}`, value: "some/file" });
    }
    expect(fileError("some/file", errno("EACCES"), { expected: "file", action: "write" })).toMatchObject({ problem: "cannot be written: permission denied" });
  });

  it("leaves anything that is not a file system error alone: a bug stays a bug", () => {
    const bug = new TypeError("x is undefined");
    expect(fileError("f", bug, { expected: "file" })).toBe(bug);
    const coded = Object.assign(new Error("odd"), { code: "ERR_SOMETHING" });
    expect(fileError("f", coded, { expected: "file" })).toBe(coded);
  });
});
