/**
 * A plain text table as cws prints results on stdout: columns two spaces
 * apart, each as wide as its widest cell, the last one not padded, no
 * trailing blanks. For build-all's table and reap's; grep and awk read them
 * as whitespace-separated columns.
 */
export function alignColumns(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, column) => (column === values.length - 1 ? value : value.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}
