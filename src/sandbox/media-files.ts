/**
 * Small real files for the sandbox's media, one per kind, made from a seed so that two messages
 * never carry the same bytes: a PNG image, an Ogg Opus voice note, a PDF, an MP4 box skeleton and
 * a lossless WebP sticker. Each opens in the programs that read its type (the MP4 holds no
 * playable track: its boxes are right, its media data is filler).
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export const MEDIA_MIME_TYPES: Record<MediaKind, string> = {
  image: 'image/png',
  video: 'video/mp4',
  audio: 'audio/ogg; codecs=opus',
  document: 'application/pdf',
  sticker: 'image/webp',
};

/** A deterministic byte stream from a seed. */
function seedBytes(seed: string, length: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < length; i++) out.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(out).subarray(0, length);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A 16×16 RGB PNG of coloured stripes. */
function png(seed: string): Buffer {
  const size = 16;
  const palette = seedBytes(seed, size * 3);
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) rows.push(Buffer.concat([Buffer.from([0]), ...Array.from({ length: size }, () => palette.subarray(y * 3, y * 3 + 3))]));
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Ogg's CRC-32 (polynomial 0x04c11db7, not reflected). */
const OGG_CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let r = i << 24;
  for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
  return r >>> 0;
});
function oggCrc(data: Buffer): number {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) ^ OGG_CRC_TABLE[((crc >>> 24) & 0xff) ^ byte]!) >>> 0;
  return crc;
}

function oggPage(packets: Buffer[], opts: { serial: number; sequence: number; granule: bigint; flags: number }): Buffer {
  const lacing: number[] = [];
  for (const p of packets) {
    for (let left = p.length; ; left -= 255) {
      lacing.push(Math.min(left, 255));
      if (left < 255) break;
    }
  }
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'ascii');
  header[5] = opts.flags;
  header.writeBigUInt64LE(opts.granule, 6);
  header.writeUInt32LE(opts.serial, 14);
  header.writeUInt32LE(opts.sequence, 18);
  header[26] = lacing.length;
  header.set(lacing, 27);
  const page = Buffer.concat([header, ...packets]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/** An Ogg Opus stream of `frames` 20 ms frames of silence (about a second). */
function oggOpus(seed: string, frames = 50): Buffer {
  const serial = seedBytes(seed, 4).readUInt32LE(0);
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'ascii');
  head.set([1, 1], 8); // version, one channel
  head.writeUInt16LE(312, 10); // pre-skip
  head.writeUInt32LE(48_000, 12);
  const vendor = Buffer.from('sandbox');
  const comment = Buffer.from(`seed=${seed}`);
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4 + 4 + comment.length);
  tags.write('OpusTags', 0, 'ascii');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  tags.writeUInt32LE(1, 12 + vendor.length);
  tags.writeUInt32LE(comment.length, 16 + vendor.length);
  comment.copy(tags, 20 + vendor.length);
  // TOC 0xf8: CELT fullband 20 ms, one frame; 0xff 0xfe codes silence.
  const silence = Array.from({ length: frames }, () => Buffer.from([0xf8, 0xff, 0xfe]));
  return Buffer.concat([
    oggPage([head], { serial, sequence: 0, granule: 0n, flags: 0x02 }),
    oggPage([tags], { serial, sequence: 1, granule: 0n, flags: 0 }),
    oggPage(silence, { serial, sequence: 2, granule: BigInt(frames * 960), flags: 0x04 }),
  ]);
}

/** A one-page PDF that says `text`, with a correct cross-reference table. */
function pdf(seed: string, text: string): Buffer {
  const safe = text.replace(/[\\()]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, '?');
  const stream = `BT /F1 18 Tf 72 720 Td (${safe}) Tj 0 -28 Td /F1 10 Tf (${seed}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

function mp4Box(type: string, ...content: Buffer[]): Buffer {
  const data = Buffer.concat(content);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + data.length, 0);
  head.write(type, 4, 'ascii');
  return Buffer.concat([head, data]);
}

/** `ftyp`, `free` and `mdat` boxes: an MP4 by its signature, with filler as media data. */
function mp4(seed: string): Buffer {
  const brands = Buffer.from('isom\0\0\x02\0isomiso2mp41', 'latin1');
  return Buffer.concat([mp4Box('ftyp', brands), mp4Box('free', Buffer.from(`sandbox ${seed}`)), mp4Box('mdat', seedBytes(seed, 512))]);
}

/** A 1×1 lossless WebP. */
const WEBP = Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');

/** The bytes of a new file of this kind; `seed` makes them unique, `label` is what a document says. */
export function sampleFile(kind: MediaKind, seed: string, label = 'Sandbox document'): Buffer {
  switch (kind) {
    case 'image':
      return png(seed);
    case 'audio':
      return oggOpus(seed);
    case 'document':
      return pdf(seed, label);
    case 'video':
      return mp4(seed);
    case 'sticker':
      return WEBP;
  }
}

export function isMediaKind(value: unknown): value is MediaKind {
  return typeof value === 'string' && value in MEDIA_MIME_TYPES;
}
