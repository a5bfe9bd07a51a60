import { dropRunDatabase } from './test-database';

export default async function globalTeardown(): Promise<void> {
  await dropRunDatabase();
}
