/** A Content-Disposition header (RFC 6266): an ASCII `filename` for old clients, the exact name in `filename*`. */
export function contentDisposition(disposition: 'inline' | 'attachment', fileName: string | null): string {
  if (!fileName) return disposition;
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
