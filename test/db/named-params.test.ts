import { describe, expect, it } from 'vitest';
import { hasMultipleStatements, toPositional } from '../../shared/db/named-params.js';

describe('toPositional', () => {
  it('numbers each distinct name once, in order of first use', () => {
    expect(toPositional('select * from v where a = :a and b = :b or a2 = :a')).toEqual({
      text: 'select * from v where a = $1 and b = $2 or a2 = $1',
      names: ['a', 'b'],
    });
  });

  it('leaves casts, literals, identifiers, comments and dollar quotes alone', () => {
    const sql = `select :id::uuid, ':nope', E'it\\'s :nope', "col:nope", $$ :nope $$, $t$ :nope $t$ -- :nope\n/* :nope */ , :yes`;
    const { text, names } = toPositional(sql);
    expect(names).toEqual(['id', 'yes']);
    expect(text).toBe(`select $1::uuid, ':nope', E'it\\'s :nope', "col:nope", $$ :nope $$, $t$ :nope $t$ -- :nope\n/* :nope */ , $2`);
  });

  it('treats doubled quotes as escapes', () => {
    expect(toPositional("select 'it''s :x', :y").names).toEqual(['y']);
  });
});

describe('hasMultipleStatements', () => {
  it('accepts one statement with or without a trailing semicolon', () => {
    expect(hasMultipleStatements('select 1')).toBe(false);
    expect(hasMultipleStatements('select 1;  \n')).toBe(false);
    expect(hasMultipleStatements("select ';' , $$;$$ -- ;x\n")).toBe(false);
  });

  it('spots a second statement', () => {
    expect(hasMultipleStatements('select 1; select 2')).toBe(true);
    expect(hasMultipleStatements('create table t(a int);drop table t;')).toBe(true);
  });
});
