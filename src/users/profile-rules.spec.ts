import {
  displayNameFor,
  generatedUsername,
  isExternalId,
  preferredUsername,
  USERNAME_PATTERN,
} from './profile-rules';

describe('outside profile rules', () => {
  it('takes preferred_username only when registration would accept it', () => {
    expect(preferredUsername('ada_99')).toBe('ada_99');
    expect(preferredUsername('Ada')).toBeNull();
    expect(preferredUsername('ab')).toBeNull();
    expect(preferredUsername('a'.repeat(33))).toBeNull();
    expect(preferredUsername('ada@example.com')).toBeNull();
    expect(preferredUsername(42)).toBeNull();
    expect(preferredUsername(undefined)).toBeNull();
  });

  it('generates a valid username from a readable stem and the suffix', () => {
    const fixed = (): string => 'k3x9q2mz';
    expect(generatedUsername('Ada Lovelace', fixed)).toBe('ada_lovelace_k3x9q2mz');
    // Accents dropped, other characters one underscore, the stem cut to 20 characters.
    expect(generatedUsername('José.Martí@example.com', fixed)).toBe(
      'jose_marti_example_c_k3x9q2mz',
    );
    expect(generatedUsername('a_very_long_name_abc_', fixed)).toBe('a_very_long_name_abc_k3x9q2mz');
    expect(generatedUsername('a_very_long_name_ab_cd', fixed)).toBe('a_very_long_name_ab_k3x9q2mz');
    expect(generatedUsername('ada', fixed)).toBe('ada_k3x9q2mz');
    expect(generatedUsername('--', fixed)).toBe('user_k3x9q2mz');
    expect(generatedUsername(undefined, fixed)).toBe('user_k3x9q2mz');
    expect(generatedUsername({ not: 'a string' }, fixed)).toBe('user_k3x9q2mz');
  });

  it('always generates usernames registration accepts, and different ones', () => {
    const hints = ['Ada Lovelace', 'x'.repeat(300), '日本語', 'a__b__', '___', 'ÅÄÖ åäö', ''];
    const made = new Set<string>();
    for (const hint of hints)
      for (let i = 0; i < 20; i++) {
        const username = generatedUsername(hint);
        expect(username).toMatch(USERNAME_PATTERN);
        made.add(username);
      }
    expect(made.size).toBe(hints.length * 20);
  });

  it('makes a display name of `name`: cleaned, bounded, else the username', () => {
    expect(displayNameFor('  Ada   Lovelace \n', 'ada')).toBe('Ada Lovelace');
    expect(displayNameFor('tab\there\u0007bell', 'ada')).toBe('tab here bell');
    expect(displayNameFor('   ', 'ada')).toBe('ada');
    expect(displayNameFor(undefined, 'ada')).toBe('ada');
    expect(displayNameFor('nul\u0000inside', 'ada')).toBe('ada');
    // 64 characters, counted as code points: an emoji is not cut in half.
    const long = `${'a'.repeat(63)}😀😀`;
    expect(displayNameFor(long, 'ada')).toBe(`${'a'.repeat(63)}😀`);
  });

  it('accepts any 1-255 character sub that can be stored as it is', () => {
    expect(isExternalId('auth0|5f7c8ec7c33c6c004bbafe82')).toBe(true);
    expect(isExternalId('x'.repeat(255))).toBe(true);
    expect(isExternalId('😀'.repeat(255))).toBe(true);
    expect(isExternalId('x'.repeat(256))).toBe(false);
    expect(isExternalId('')).toBe(false);
    expect(isExternalId('a\u0000b')).toBe(false);
    expect(isExternalId('lone \uD800 surrogate')).toBe(false);
    expect(isExternalId(12345)).toBe(false);
  });
});
