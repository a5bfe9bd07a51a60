'use strict';
const fs = require('node:fs');

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. Returns rows of fields. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * The Content column of a LogHub CSV, one message per entry. A newline inside a message (none in
 * the shared files) becomes a space, so that one message stays one line on `fixloop group`'s stdin.
 */
function loghubContents(csvPath) {
  const [header, ...rows] = parseCsv(fs.readFileSync(csvPath, 'utf8'));
  const column = header.indexOf('Content');
  if (column < 0) throw new Error(`${csvPath}: no Content column`);
  return rows.map((row) => row[column].replace(/[\r\n]+/g, ' '));
}

/** The Content and EventId (the labelled template) columns of a LogHub CSV, one entry per message. */
function loghubRows(csvPath) {
  const [header, ...rows] = parseCsv(fs.readFileSync(csvPath, 'utf8'));
  const content = header.indexOf('Content');
  const eventId = header.indexOf('EventId');
  if (content < 0 || eventId < 0) throw new Error(`${csvPath}: no Content or EventId column`);
  return rows.map((row) => ({ content: row[content], eventId: row[eventId] }));
}

module.exports = { parseCsv, loghubContents, loghubRows };
