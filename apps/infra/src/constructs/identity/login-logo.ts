/**
 * The deployment's name as a PNG image, for the logo slot of Cognito's hosted login page (classic hosted UI,
 * `aws_cognito_user_pool_ui_customization.image_file`), so that people recognise where they sign in. Drawn here
 * with a 5x7 pixel font into an uncompressed-palette PNG: no image library, no font file, the same bytes on every
 * synth (the image is part of the plan).
 */
import { deflateSync } from "node:zlib";

/** 5x7 glyphs, one string of 7 rows of 5 pixels each ("#" set). Letters are drawn upper case. */
const GLYPHS: Record<string, string> = {
  A: ".###.#...##...#######...##...##...#",
  B: "####.#...##...#####.#...##...#####.",
  C: ".###.#...##....#....#....#...#.###.",
  D: "###..#..#.#...##...##...##..#.###..",
  E: "######....#....####.#....#....#####",
  F: "######....#....####.#....#....#....",
  G: ".###.#...##....#.####...##...#.####",
  H: "#...##...##...#######...##...##...#",
  I: ".###...#....#....#....#....#...###.",
  J: "..###...#....#....#....#.#..#..##..",
  K: "#...##..#.#.#..##...#.#..#..#.#...#",
  L: "#....#....#....#....#....#....#####",
  M: "#...###.###.#.##.#.##...##...##...#",
  N: "#...##...###..##.#.##..###...##...#",
  O: ".###.#...##...##...##...##...#.###.",
  P: "####.#...##...#####.#....#....#....",
  Q: ".###.#...##...##...##.#.##..#..##.#",
  R: "####.#...##...#####.#.#..#..#.#...#",
  S: ".#####....#.....###.....#....#####.",
  T: "#####..#....#....#....#....#....#..",
  U: "#...##...##...##...##...##...#.###.",
  V: "#...##...##...##...##...#.#.#...#..",
  W: "#...##...##...##.#.##.#.##.#.#.#.#.",
  X: "#...##...#.#.#...#...#.#.#...##...#",
  Y: "#...##...#.#.#...#....#....#....#..",
  Z: "#####....#...#...#...#...#....#####",
  "0": ".###.#...##..###.#.###..##...#.###.",
  "1": "..#...##....#....#....#....#...###.",
  "2": ".###.#...#....#...#...#...#...#####",
  "3": "#####...#...#...###.....##...#.###.",
  "4": "...#...##..#.#.#..#.#####...#....#.",
  "5": "######....####.....#....##...#.###.",
  "6": "..##..#...#....####.#...##...#.###.",
  "7": "#####....#...#...#...#....#....#...",
  "8": ".###.#...##...#.###.#...##...#.###.",
  "9": ".###.#...##...#.####....#...#..##..",
  " ": "...................................",
  "-": "................###................",
  ".": "..........................##...##..",
};

/** What a display name may hold: the glyphs above (letters in either case). */
export const LOGO_TEXT_PATTERN = /^[A-Za-z0-9 .-]{1,32}$/;

const SCALE = 4;
const PAD = 2;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A PNG (palette: transparent background, one ink colour) showing `text` upper case.
 * @param ink the text colour as `#rrggbb`
 */
export function loginLogoPng(text: string, ink = "#2f5bd3"): Buffer {
  if (!LOGO_TEXT_PATTERN.test(text)) {
    throw new Error(`login logo text ${JSON.stringify(text)} is not 1-32 letters, digits, spaces, dots or hyphens`);
  }
  if (!/^#[0-9a-f]{6}$/i.test(ink)) throw new Error(`login logo ink ${JSON.stringify(ink)} is not a #rrggbb colour`);
  const glyphs = [...text.toUpperCase()].map((c) => GLYPHS[c]!);
  const columns = glyphs.length * 6 - 1 + PAD * 2;
  const rows = 7 + PAD * 2;
  const width = columns * SCALE;
  const height = rows * SCALE;
  const on = (x: number, y: number): boolean => {
    const gx = x - PAD;
    const gy = y - PAD;
    if (gx < 0 || gy < 0 || gy >= 7) return false;
    const glyph = glyphs[Math.floor(gx / 6)];
    const col = gx % 6;
    return glyph !== undefined && col < 5 && glyph[gy * 5 + col] === "#";
  };
  // One filter byte (0, none) per scanline, then one palette index per pixel.
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = on(Math.floor(x / SCALE), Math.floor(y / SCALE)) ? 1 : 0;
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 3, 0, 0, 0], 8); // 8-bit palette indices, deflate, no interlace
  const palette = Buffer.from([0, 0, 0, ...Buffer.from(ink.slice(1), "hex")]);
  const transparency = Buffer.from([0, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("PLTE", palette),
    chunk("tRNS", transparency),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
