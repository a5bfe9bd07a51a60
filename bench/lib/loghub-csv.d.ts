/** Types of loghub-csv.js, for the TypeScript tests that read the shared LogHub files. */
export function parseCsv(text: string): string[][];
export function loghubContents(csvPath: string): string[];
export function loghubRows(csvPath: string): { content: string; eventId: string }[];
