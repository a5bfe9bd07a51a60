import { cooldownEnd } from './spawn-gate.service';

describe(cooldownEnd.name, () => {
  const ended = new Date('2026-11-20T10:00:00Z');
  const link = new Date('2026-11-25T10:00:00Z');
  const none = { cooldownUntil: null, cooldownHours: null };

  it('is nothing without a previous investigation or a cooled link', () => {
    expect(cooldownEnd(none, { lastEnded: null, linkCooldown: null }, 24)).toBeNull();
  });

  it('is SPAWN_COOLDOWN_HOURS after the last investigation, or the link’s own cooldown when later', () => {
    expect(cooldownEnd(none, { lastEnded: ended, linkCooldown: null }, 24)).toEqual(new Date('2026-11-21T10:00:00Z'));
    expect(cooldownEnd(none, { lastEnded: ended, linkCooldown: link }, 24)).toEqual(link);
  });

  it('uses the per-issue cooldown_hours instead of the default and the links', () => {
    expect(
      cooldownEnd({ cooldownUntil: null, cooldownHours: 1 }, { lastEnded: ended, linkCooldown: link }, 24),
    ).toEqual(new Date('2026-11-20T11:00:00Z'));
    expect(
      cooldownEnd({ cooldownUntil: null, cooldownHours: 0 }, { lastEnded: null, linkCooldown: link }, 24),
    ).toBeNull();
  });

  it('lets an explicit cooldown_until win in either direction', () => {
    const until = new Date('2026-11-20T10:30:00Z');
    expect(
      cooldownEnd({ cooldownUntil: until, cooldownHours: 99 }, { lastEnded: ended, linkCooldown: link }, 24),
    ).toEqual(until);
  });
});
