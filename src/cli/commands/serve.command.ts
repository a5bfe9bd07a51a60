import { startApp } from '../../app.factory';
import { ConfigValidationError } from '../../shared/config/app-config';
import { loadConfig } from '../../shared/config/config.loader';
import { DataDirLockedError } from '../../shared/database/data-dir-lock';
import { CliCommand, parseOptions } from '../cli-command';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Start the service (embedded database unless DATABASE_URL is set)',
  usage: 'serve',
  async run(args, io) {
    parseOptions(args);
    try {
      const config = loadConfig();
      await startApp(config);
      return await new Promise<number>(() => undefined); // runs until a signal stops it
    } catch (err) {
      if (err instanceof ConfigValidationError || err instanceof DataDirLockedError) {
        io.stderr.write(`fixloop: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
