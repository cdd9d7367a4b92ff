// Where the example keeps its files and its database. Both can be moved by environment, so the
// same build serves the tests (a fresh DATA_DIR proves the database is created on first run).
import path from 'node:path';

/** The protected files: users/<id>/… (only that user), shared/… (anyone signed in), invoices/… (via the database). */
export const mediaRoot = process.env.MEDIA_ROOT ?? path.join(process.cwd(), 'media');

/** The SQLite database file, created on first run. */
export const dataDir = process.env.DATA_DIR ?? path.join(process.cwd(), '.data');
