/** Which database this process runs on; decided once at boot from DATABASE_URL. */
export type DatabaseKind = 'pglite' | 'postgres';

/** What the connected database can do, detected at start. */
export interface DatabaseCapabilities {
  kind: DatabaseKind;
  serverVersion: string;
  /** pgvector's `vector` extension is installed: embeddings and similarity search are on. */
  pgvector: boolean;
}

export const DATABASE_CAPABILITIES = Symbol('DATABASE_CAPABILITIES');
