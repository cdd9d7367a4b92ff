// The example's database: SQLite compiled to WebAssembly (sql.js), so `npm install` is all it
// takes (no native build, no server). Created with its seed rows on first run in DATA_DIR and
// saved back after each write. One instance per process (globalThis), because Next may load this
// module once per route bundle.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import initSqlJs, { type Database, type Value } from 'sql.js';
import { dataDir } from './config';

export interface Invoice {
  id: string;
  owner: string;
  number: string;
  /** Key of the PDF under the media root. */
  file: string;
  amountCents: number;
  updatedAt: string;
}

export interface DownloadRow {
  at: string;
  user: string;
  path: string;
  outcome: string;
  status: number;
  bytes: number;
}

const SCHEMA = `
  CREATE TABLE invoices (id TEXT PRIMARY KEY, owner TEXT NOT NULL, number TEXT NOT NULL, file TEXT NOT NULL, amount_cents INTEGER NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE downloads (at TEXT NOT NULL, user TEXT NOT NULL, path TEXT NOT NULL, outcome TEXT NOT NULL, status INTEGER NOT NULL, bytes INTEGER NOT NULL);
`;
const SEED: Invoice[] = [
  { id: '1', owner: 'alice', number: '2026-001', file: 'invoices/2026-001.pdf', amountCents: 12000, updatedAt: '2026-03-01T09:00:00Z' },
  { id: '2', owner: 'bob', number: '2026-002', file: 'invoices/2026-002.pdf', amountCents: 8000, updatedAt: '2026-03-02T09:00:00Z' },
  { id: '3', owner: 'alice', number: '2026-003', file: 'invoices/2026-003.pdf', amountCents: 4200, updatedAt: '2026-04-01T09:00:00Z' },
];

const file = () => path.join(dataDir, 'example.sqlite');
const key = Symbol.for('next-downloadview.example.db');
type Global = typeof globalThis & { [key]?: Promise<Database> };

/** The database, opened (or created and seeded) once per process. */
export function database(): Promise<Database> {
  const g = globalThis as Global;
  return (g[key] ??= open());
}

async function open(): Promise<Database> {
  // Loaded by Node itself (serverExternalPackages), so sql.js finds its .wasm next to its own file.
  const SQL = await initSqlJs();
  if (existsSync(file())) return new SQL.Database(readFileSync(file()));
  const db = new SQL.Database();
  db.exec(SCHEMA);
  for (const invoice of SEED) {
    db.run('INSERT INTO invoices VALUES (?, ?, ?, ?, ?, ?)', [invoice.id, invoice.owner, invoice.number, invoice.file, invoice.amountCents, invoice.updatedAt]);
  }
  save(db);
  console.log(`[example] created ${file()} with ${SEED.length} invoices`);
  return db;
}

/** Write the whole file (small) via a rename, so a crash never leaves half a database. */
function save(db: Database): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(`${file()}.tmp`, db.export());
  renameSync(`${file()}.tmp`, file());
}

function all(db: Database, sql: string, params: Value[]): Record<string, Value>[] {
  const statement = db.prepare(sql);
  try {
    statement.bind(params);
    const rows: Record<string, Value>[] = [];
    while (statement.step()) rows.push(statement.getAsObject());
    return rows;
  } finally {
    statement.free();
  }
}

const toInvoice = (row: Record<string, Value>): Invoice => ({
  id: String(row.id),
  owner: String(row.owner),
  number: String(row.number),
  file: String(row.file),
  amountCents: Number(row.amount_cents),
  updatedAt: String(row.updated_at),
});

export async function findInvoice(id: string): Promise<Invoice | undefined> {
  const [row] = all(await database(), 'SELECT * FROM invoices WHERE id = ?', [id]);
  return row && toInvoice(row);
}

export async function invoicesOf(owner: string): Promise<Invoice[]> {
  return all(await database(), 'SELECT * FROM invoices WHERE owner = ? ORDER BY number', [owner]).map(toInvoice);
}

/** Every invoice (the page shows the other user's too, to demonstrate the refusal). */
export async function allInvoices(): Promise<Invoice[]> {
  return all(await database(), 'SELECT * FROM invoices ORDER BY number', []).map(toInvoice);
}

export async function recordDownload(row: DownloadRow): Promise<void> {
  const db = await database();
  db.run('INSERT INTO downloads VALUES (?, ?, ?, ?, ?, ?)', [row.at, row.user, row.path, row.outcome, row.status, row.bytes]);
  save(db);
}

export async function recentDownloads(limit = 8): Promise<DownloadRow[]> {
  return all(await database(), 'SELECT * FROM downloads ORDER BY rowid DESC LIMIT ?', [limit]).map((row) => ({
    at: String(row.at),
    user: String(row.user),
    path: String(row.path),
    outcome: String(row.outcome),
    status: Number(row.status),
    bytes: Number(row.bytes),
  }));
}
