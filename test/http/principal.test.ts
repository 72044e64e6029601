import { describe, expect, it } from 'vitest';
import { parseAdminGroup, parseGroups, principalFromClaims } from '../../shared/http/principal.js';
import { httpFunctionConfigFromEnv } from '../../shared/runtime/config.js';

const adminGroupFromEnv = (env: Record<string, string>) => httpFunctionConfigFromEnv(env).adminGroup;

const isAdmin = (groups: string | string[], adminGroup = 'admin') => principalFromClaims({ sub: 'mallory', 'cognito:groups': groups }, adminGroup)?.admin;

describe('cognito:groups in each form it reaches a Lambda', () => {
  it.each([
    // API Gateway's HTTP API JWT authorizer renders Cognito's array claim as "[a b]".
    ['[admin editors]', ['admin', 'editors']],
    ['[admin]', ['admin']],
    ['[x,admin]', ['x,admin']],
    ['[[admin] admin]]', ['[admin]', 'admin]']],
    ['[]', []],
    // A JSON array in a string claim: every item whole, commas and spaces included.
    ['["admin","editors"]', ['admin', 'editors']],
    ['["x,admin"]', ['x,admin']],
    ['["x admin", "editors"]', ['x admin', 'editors']],
    // Any other string is one group of exactly that name.
    ['admin', ['admin']],
    ['x,admin', ['x,admin']],
    ['admin,editors', ['admin,editors']],
    ['x admin', ['x admin']],
    [' admin ', [' admin ']],
  ])('reads %j as %j', (claim, groups) => {
    expect(parseGroups(claim)).toEqual(groups);
  });

  it('reads a real array (a direct invocation) name by name', () => {
    expect(parseGroups(['admin', 'x,admin', 'x admin'])).toEqual(['admin', 'x,admin', 'x admin']);
  });

  it.each([
    // An empty item in the bracket form proves a name with a space: the claim cannot be read safely.
    '[ admin]',
    '[admin ]',
    '[x  admin]',
    '[ ]',
    '',
    '[""]',
    '["admin", ""]',
  ])('reads %j as no groups at all', (claim) => {
    expect(parseGroups(claim)).toEqual([]);
  });

  it('reads numbers, booleans, arrays with empty or non-string items and a missing claim as no groups', () => {
    expect(parseGroups(undefined)).toEqual([]);
    expect(parseGroups(1)).toEqual([]);
    expect(parseGroups(true)).toEqual([]);
    expect(parseGroups(['admin', ''])).toEqual([]);
    expect(parseGroups(['admin', 7] as unknown as string[])).toEqual([]);
  });
});

describe('admin means exactly the admin group', () => {
  it.each([
    ['x,admin'],
    ['x admin'],
    [' admin '],
    ['admin,x'],
    ['[x,admin]'],
    ['[admin,x]'],
    ['[ admin]'],
    ['[admin ]'],
    ['[ admin ]'],
    ['["x,admin"]'],
    ['["x admin"]'],
    ['[" admin"]'],
    ['Admin'],
    ['[ADMIN]'],
    ['[administrators not-admin]'],
    ['admin\u0000'],
    ['\uff41dmin'],
  ])('does not make %j an admin', (claim) => {
    expect(isAdmin(claim)).toBe(false);
  });

  it.each([[['x,admin']], [['x admin']], [[' admin']], [['admin ']], [['Admin']]])('does not make the array %j an admin', (groups) => {
    expect(isAdmin(groups)).toBe(false);
  });

  it.each([['[admin]'], ['[editors admin]'], ['["editors","admin"]'], ['admin'], [['editors', 'admin']]])('makes %j an admin', (claim) => {
    expect(isAdmin(claim)).toBe(true);
  });

  it('compares against the configured group, not "admin"', () => {
    expect(isAdmin('[admin]', 'reelay-ops')).toBe(false);
    expect(isAdmin('[editors reelay-ops]', 'reelay-ops')).toBe(true);
    expect(isAdmin('[x,reelay-ops]', 'reelay-ops')).toBe(false);
  });
});

describe('the admin group setting', () => {
  it('is admin when unset or empty', () => {
    expect(adminGroupFromEnv({})).toBe('admin');
    expect(adminGroupFromEnv({ ADMIN_GROUP: '' })).toBe('admin');
    expect(adminGroupFromEnv({ ADMIN_GROUP: 'reelay-ops' })).toBe('reelay-ops');
    expect(parseAdminGroup('ops,eu')).toBe('ops,eu');
  });

  it.each(['x admin', ' admin', 'admin\n', 'a\u0000b', 'x'.repeat(129)])('refuses %j, a name no Cognito group can have', (name) => {
    expect(() => parseAdminGroup(name)).toThrow(/ADMIN_GROUP/);
  });
});

describe('the principal', () => {
  it('is the token subject, admin when the groups hold admin', () => {
    expect(principalFromClaims({ sub: 'alice', 'cognito:groups': '[editors admin]' }, 'admin')).toMatchObject({ sub: 'alice', admin: true, groups: ['editors', 'admin'] });
    expect(principalFromClaims({ sub: 'bob' }, 'admin')).toMatchObject({ sub: 'bob', admin: false, groups: [] });
  });

  it('does not exist without claims or without a subject', () => {
    expect(principalFromClaims(undefined, 'admin')).toBeUndefined();
    expect(principalFromClaims({ 'cognito:groups': '[admin]' }, 'admin')).toBeUndefined();
    expect(principalFromClaims({ sub: '' }, 'admin')).toBeUndefined();
  });
});
