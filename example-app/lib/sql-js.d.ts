// The few sql.js calls the example makes (the package ships no types; @types/sql.js is not needed for four methods).
declare module 'sql.js' {
  type Value = string | number | null | Uint8Array;
  interface Statement {
    bind(values: Value[] | Record<string, Value>): boolean;
    step(): boolean;
    getAsObject(): Record<string, Value>;
    free(): boolean;
  }
  interface Database {
    run(sql: string, params?: Value[] | Record<string, Value>): Database;
    exec(sql: string): unknown;
    prepare(sql: string): Statement;
    export(): Uint8Array;
  }
  interface SqlJs {
    Database: new (data?: Uint8Array) => Database;
  }
  export type { Database, Statement, Value };
  export default function initSqlJs(config?: { locateFile?: (file: string) => string }): Promise<SqlJs>;
}
