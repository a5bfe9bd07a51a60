import { RUN_DATABASE_ENV, createRunDatabase } from './test-database';

export default async function globalSetup(): Promise<void> {
  process.env[RUN_DATABASE_ENV] = await createRunDatabase();
}
