import { findIdentifiers, parseRevert } from './identifier-matcher';

describe(findIdentifiers.name, () => {
  it('finds identifiers in title, branch and body, word-bounded and case-insensitive', () => {
    const hits = findIdentifiers('CHIPP', {
      title: 'Fix null cart (CHIPP-42)',
      branch: 'fix/chipp-42-null-cart',
      body: 'Also closes CHIPP-7.\nNot XCHIPP-9, not CHIPP-10a, not CHIPP-',
    });
    expect(hits).toEqual([
      { identifier: 'CHIPP-42', foundIn: ['title', 'branch'] },
      { identifier: 'CHIPP-7', foundIn: ['body'] },
    ]);
  });

  it('does not read CHIPP-421 as CHIPP-42 and drops leading zeros', () => {
    expect(
      findIdentifiers('CHIPP', { title: 'CHIPP-421 and CHIPP-007', branch: null, body: null }).map((h) => h.identifier),
    ).toEqual(['CHIPP-421', 'CHIPP-7']);
  });

  it('finds nothing in a PR without identifiers', () => {
    expect(findIdentifiers('CHIPP', { title: 'Bump deps', branch: 'main', body: null })).toEqual([]);
  });
});

describe(parseRevert.name, () => {
  it('recognises GitHub revert PRs with the reverted PR number', () => {
    expect(parseRevert('Revert "Fix null cart (CHIPP-42)"', 'Reverts acme/shop#17')).toEqual({
      prNumber: 17,
      originalTitle: 'Fix null cart (CHIPP-42)',
    });
    expect(parseRevert('Revert "Fix it"', 'the fix broke checkout')).toEqual({
      prNumber: null,
      originalTitle: 'Fix it',
    });
    expect(parseRevert('Reverting the cache change', null)).toBeNull();
  });

  it('names no PR number that no PR can have (0, past the integer column): the title is used', () => {
    for (const body of ['Reverts acme/shop#99999999999', 'Reverts #2147483648', 'Reverts #0']) {
      expect(parseRevert('Revert "Fix it"', body)).toEqual({ prNumber: null, originalTitle: 'Fix it' });
    }
    expect(parseRevert('Revert "Fix it"', 'Reverts #2147483647')?.prNumber).toBe(2_147_483_647);
  });
});
