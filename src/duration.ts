/**
 * A duration as people read it in progress lines and results: `42s`,
 * `3m 5s`, `1h 2m`. One formatter for the build's output, the fleet's live
 * lines and tables and the cost details, so the same time reads the same
 * everywhere.
 */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m ${total % 60}s`;
  const minutes = Math.round(total / 60);
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}
